//! Writing one upload to a file: every byte written, flushed and synced before
//! it counts as received, and a full disk told apart from other failures.

use std::path::Path;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// An upload that is completely on disk.
#[derive(Debug)]
pub(super) struct Spooled {
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// Why an upload was not kept; the part file is gone in every case.
#[derive(Debug, thiserror::Error)]
pub(super) enum SpoolError {
    /// Refused by the caller's `admit`, with its reason.
    #[error("{0}")]
    TooLarge(String),
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    /// No space, quota or file size left on the file system.
    #[error("the file store is full")]
    DiskFull(#[source] std::io::Error),
    #[error("the file store failed")]
    Io(#[source] std::io::Error),
}

impl From<std::io::Error> for SpoolError {
    fn from(e: std::io::Error) -> Self {
        if is_disk_full(&e) {
            SpoolError::DiskFull(e)
        } else {
            SpoolError::Io(e)
        }
    }
}

/// ENOSPC, EDQUOT and EFBIG: the file system cannot take more bytes.
pub(super) fn is_disk_full(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge
    )
}

/// Writes `body` to a new file at `path`; `admit` is asked about each chunk's
/// length before it is written and refuses it with a reason. Returns only once
/// every byte is written, flushed and synced; on any failure the partial file
/// is removed (and what is left of `body` unread).
pub(super) async fn spool<S, E>(
    path: &Path,
    body: &mut S,
    admit: impl FnMut(usize) -> Result<(), String>,
) -> Result<Spooled, SpoolError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let result = write(path, body, admit).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(path).await;
    }
    result
}

async fn write<S, E>(
    path: &Path,
    body: &mut S,
    mut admit: impl FnMut(usize) -> Result<(), String>,
) -> Result<Spooled, SpoolError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut file = tokio::fs::File::create(path).await?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| SpoolError::Interrupted(e.to_string()))?;
        admit(chunk.len()).map_err(SpoolError::TooLarge)?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
        file.write_all(&chunk).await?;
    }
    // tokio's File hands writes to a blocking thread: flush waits for the
    // last one (and reports its error) before sync_all asks for the disk.
    file.flush().await?;
    file.sync_all().await?;
    Ok(Spooled {
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(sizes: &[usize]) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        let chunks: Vec<_> = sizes
            .iter()
            .map(|&n| Ok(Bytes::from(vec![7u8; n])))
            .collect();
        futures::stream::iter(chunks)
    }

    fn at_most(limit: usize) -> impl FnMut(usize) -> Result<(), String> {
        let mut total = 0;
        move |n| {
            total += n;
            if total <= limit {
                Ok(())
            } else {
                Err("over".into())
            }
        }
    }

    /// A write that fails for lack of space is `DiskFull` (not a short
    /// success), on the real device that is always full.
    #[tokio::test]
    async fn a_full_device_is_disk_full() {
        let path = Path::new("/dev/full");
        if !path.exists() {
            return;
        }
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .await
            .expect("open /dev/full");
        let write = async {
            file.write_all(&[1u8; 64 * 1024]).await?;
            file.flush().await
        };
        let error = SpoolError::from(write.await.expect_err("/dev/full takes nothing"));
        assert!(matches!(error, SpoolError::DiskFull(_)), "{error:?}");
    }

    /// Every byte is on disk with its SHA-256; over the limit nothing is left.
    #[tokio::test]
    async fn spools_whole_or_not_at_all() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.part");
        let spooled = spool(&path, &mut chunks(&[1000, 24]), at_most(1024))
            .await
            .expect("spool");
        assert_eq!(spooled.size, 1024);
        assert_eq!(spooled.sha256, hex::encode(Sha256::digest(vec![7u8; 1024])));
        assert_eq!(std::fs::read(&path).expect("read").len(), 1024);

        let over = dir.path().join("b.part");
        let error = spool(&over, &mut chunks(&[1000, 25]), at_most(1024))
            .await
            .expect_err("over");
        assert!(matches!(error, SpoolError::TooLarge(_)));
        assert!(!over.exists(), "the partial file is removed");
    }
}
