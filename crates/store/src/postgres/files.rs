//! The index of uploaded files.

use super::connect::{Db, execute, query_opt, unsigned};
use crate::{FileRecord, StoreError};

/// Records an uploaded file; `Conflict` when the id is taken.
pub(super) async fn put_file(db: &Db, file: FileRecord) -> Result<(), StoreError> {
    let inserted = execute(
        db,
        "INSERT INTO files (id, owner, name, size, mime, sha256, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        &[
            &file.id,
            &file.owner,
            &file.name,
            &(file.size as i64),
            &file.mime,
            &file.sha256,
            &(file.created_ms as i64),
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!("file {}", file.id)));
    }
    Ok(())
}

/// A file's record, `None` when unknown.
pub(super) async fn file(db: &Db, id: &str) -> Result<Option<FileRecord>, StoreError> {
    let row = query_opt(
        db,
        "SELECT id, owner, name, size, mime, sha256, created_ms FROM files WHERE id = $1",
        &[&id],
    )
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(FileRecord {
        id: row.try_get(0)?,
        owner: row.try_get(1)?,
        name: row.try_get(2)?,
        size: unsigned(row.try_get(3)?),
        mime: row.try_get(4)?,
        sha256: row.try_get(5)?,
        created_ms: unsigned(row.try_get(6)?),
    }))
}
