//! The index of uploaded files, and which messages carry them.

use koi_core::ConvId;
use rusqlite::{Connection, OptionalExtension, Row, params};

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
        .query_row([id], record)
        .optional()?;
    Ok(found)
}

/// Records that message `conv`/`seq` carries `file_id`; part of the append.
pub(super) fn add_ref(
    conn: &Connection,
    conv: &str,
    seq: u64,
    file_id: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO file_refs (conv, seq, file_id) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![conv, clamp(seq), file_id])?;
    Ok(())
}

/// Forgets message `conv`/`seq`'s file reference; part of its recall.
pub(super) fn drop_ref(conn: &Connection, conv: &str, seq: u64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM file_refs WHERE conv = ?1 AND seq = ?2")?
        .execute(params![conv, clamp(seq)])?;
    Ok(())
}

/// The conversations with a message that carries `id`.
pub(super) fn file_convs(conn: &Connection, id: &str) -> Result<Vec<ConvId>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT conv FROM file_refs WHERE file_id = ?1")?;
    let names = stmt
        .query_map([id], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    names
        .iter()
        .map(|name| {
            ConvId::parse(name)
                .map_err(|e| StoreError::Internal(format!("stored conversation {name:?}: {e}")))
        })
        .collect()
}

/// The total size of `owner`'s files.
pub(super) fn user_file_bytes(conn: &Connection, owner: &str) -> Result<u64, StoreError> {
    let total: i64 = conn
        .prepare_cached("SELECT coalesce(sum(size), 0) FROM files WHERE owner = ?1")?
        .query_row([owner], |row| row.get(0))?;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// Files older than `created_before_ms` that no message references.
pub(super) fn unreferenced_files(
    conn: &Connection,
    created_before_ms: u64,
    limit: u32,
) -> Result<Vec<FileRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, owner, name, size, mime, sha256, created_ms FROM files f \
         WHERE created_ms < ?1 \
           AND NOT EXISTS (SELECT 1 FROM file_refs r WHERE r.file_id = f.id) \
           AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar = f.id) \
           AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.avatar = f.id) \
         ORDER BY created_ms LIMIT ?2",
    )?;
    let found = stmt
        .query_map(params![clamp(created_before_ms), limit], record)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(found)
}

/// Deletes `id`'s record if it is old enough and unreferenced.
pub(super) fn delete_unreferenced_file(
    conn: &Connection,
    id: &str,
    created_before_ms: u64,
) -> Result<bool, StoreError> {
    let deleted = conn
        .prepare_cached(
            "DELETE FROM files WHERE id = ?1 AND created_ms < ?2 \
             AND NOT EXISTS (SELECT 1 FROM file_refs WHERE file_id = ?1) \
             AND NOT EXISTS (SELECT 1 FROM users WHERE avatar = ?1) \
             AND NOT EXISTS (SELECT 1 FROM groups WHERE avatar = ?1)",
        )?
        .execute(params![id, clamp(created_before_ms)])?;
    Ok(deleted > 0)
}

fn record(row: &Row<'_>) -> rusqlite::Result<FileRecord> {
    Ok(FileRecord {
        id: row.get(0)?,
        owner: row.get(1)?,
        name: row.get(2)?,
        size: row.get::<_, i64>(3)? as u64,
        mime: row.get(4)?,
        sha256: row.get(5)?,
        created_ms: row.get::<_, i64>(6)? as u64,
    })
}

/// SQLite integers are signed; a bound past `i64::MAX` means "no bound".
fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
