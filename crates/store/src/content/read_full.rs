//! Reading an upload in pieces of a bounded size, for stores that take it a
//! piece at a time (PostgreSQL rows, S3 parts).

use tokio::io::AsyncReadExt;

/// Reads until `buffer` is full or the file ends; returns the bytes read.
pub(crate) async fn read_full(
    file: &mut tokio::fs::File,
    buffer: &mut [u8],
) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let read = file.read(&mut buffer[filled..]).await?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(filled)
}
