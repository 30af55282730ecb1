//! Uploaded files' bytes in PostgreSQL, in chunks of [`CHUNK`] bytes.
//!
//! Stored outside the writer's group commits: a file is written in a
//! transaction of its own on a pooled connection, so a large upload never holds
//! up other nodes' messages.

use std::path::Path;

use async_trait::async_trait;
use deadpool_postgres::Pool;

use crate::content::part_file::PartFile;
use crate::content::read_full::read_full;
use crate::{FileContent, StoreError};

/// Bytes per row: bounded rows, bounded memory per read or write.
const CHUNK: usize = 1024 * 1024;

/// [`FileContent`] kept in the cluster's database.
#[derive(Clone)]
pub struct PgContent {
    pool: Pool,
}

impl PgContent {
    pub(super) fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

impl std::fmt::Debug for PgContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgContent").finish_non_exhaustive()
    }
}

fn io_error(what: &str, e: std::io::Error) -> StoreError {
    StoreError::Internal(format!("{what}: {e}"))
}

#[async_trait]
impl FileContent for PgContent {
    async fn keep(&self, id: &str, path: &Path) -> Result<(), StoreError> {
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| io_error("opening the upload", e))?;
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let insert = tx
            .prepare_cached("INSERT INTO file_chunks (file_id, n, data) VALUES ($1, $2, $3)")
            .await?;
        let mut buffer = vec![0; CHUNK];
        let mut n: i32 = 0;
        loop {
            let filled = read_full(&mut file, &mut buffer)
                .await
                .map_err(|e| io_error("reading the upload", e))?;
            // An empty file still gets one (empty) chunk, so that it exists.
            if filled == 0 && n > 0 {
                break;
            }
            tx.execute(&insert, &[&id, &n, &&buffer[..filled]]).await?;
            n += 1;
            if filled < CHUNK {
                break;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn fetch(&self, id: &str, path: &Path) -> Result<bool, StoreError> {
        if tokio::fs::try_exists(path).await.unwrap_or(false) {
            return Ok(true);
        }
        let db = self.pool.get().await?;
        let select = db
            .prepare_cached("SELECT data FROM file_chunks WHERE file_id = $1 AND n = $2")
            .await?;
        let mut copy = PartFile::create(path).await?;
        let mut n: i32 = 0;
        let copied = async {
            while let Some(row) = db.query_opt(&select, &[&id, &n]).await? {
                let data: &[u8] = row.try_get(0)?;
                copy.write(data).await?;
                n += 1;
            }
            Ok::<_, StoreError>(n > 0)
        }
        .await;
        match copied {
            Ok(true) => {
                copy.finish(path).await?;
                Ok(true)
            }
            other => {
                copy.abandon().await;
                other
            }
        }
    }

    /// The chunks go with the record, in the same transaction
    /// (`delete_unreferenced_file`).
    async fn forget(&self, _id: &str) -> Result<(), StoreError> {
        Ok(())
    }
}
