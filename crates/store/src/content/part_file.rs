//! A node's local copy of a file, fetched from the shared copy: written to a
//! part file of its own and renamed into place only once complete and synced,
//! so that a reader never sees half a file. Requests fetching the same file at
//! once each write their own part file; the renames replace one complete copy
//! with another.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

use crate::StoreError;

/// A local copy being written.
pub(crate) struct PartFile {
    part: PathBuf,
    file: tokio::fs::File,
}

fn io_error(what: &str, e: std::io::Error) -> StoreError {
    StoreError::Internal(format!("{what}: {e}"))
}

impl PartFile {
    /// Starts a copy that [`finish`](Self::finish) will place at `path`.
    pub(crate) async fn create(path: &Path) -> Result<Self, StoreError> {
        let part = path.with_extension(format!("fetch-{}", crate::new_id()));
        let file = tokio::fs::File::create(&part)
            .await
            .map_err(|e| io_error("creating the local copy", e))?;
        Ok(Self { part, file })
    }

    pub(crate) async fn write(&mut self, data: &[u8]) -> Result<(), StoreError> {
        self.file
            .write_all(data)
            .await
            .map_err(|e| io_error("writing the local copy", e))
    }

    /// Syncs the copy and renames it to `path`; removes it when that fails.
    pub(crate) async fn finish(mut self, path: &Path) -> Result<(), StoreError> {
        let placed = async {
            self.file.flush().await?;
            self.file.sync_all().await?;
            tokio::fs::rename(&self.part, path).await
        }
        .await;
        if let Err(e) = placed {
            self.abandon().await;
            return Err(io_error("placing the local copy", e));
        }
        Ok(())
    }

    /// Removes the unfinished copy.
    pub(crate) async fn abandon(self) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.part).await;
    }
}
