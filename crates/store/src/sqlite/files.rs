//! The index of uploaded files.

use rusqlite::{Connection, OptionalExtension, params};

use crate::{FileRecord, StoreError};

/// Records an uploaded file; `Conflict` when the id is taken.
pub(super) fn put_file(conn: &Connection, file: FileRecord) -> Result<(), StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO files (id, owner, name, size, mime, sha256, created_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            file.id,
            file.owner,
            file.name,
            file.size as i64,
            file.mime,
            file.sha256,
            file.created_ms as i64
        ])?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!("file {}", file.id)));
    }
    Ok(())
}

/// A file's record, `None` when unknown.
pub(super) fn file(conn: &Connection, id: &str) -> Result<Option<FileRecord>, StoreError> {
    let found = conn
        .prepare_cached(
            "SELECT id, owner, name, size, mime, sha256, created_ms FROM files WHERE id = ?1",
        )?
        .query_row([id], |row| {
            Ok(FileRecord {
                id: row.get(0)?,
                owner: row.get(1)?,
                name: row.get(2)?,
                size: row.get::<_, i64>(3)? as u64,
                mime: row.get(4)?,
                sha256: row.get(5)?,
                created_ms: row.get::<_, i64>(6)? as u64,
            })
        })
        .optional()?;
    Ok(found)
}
