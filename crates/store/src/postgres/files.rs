//! The index of uploaded files, and which messages carry them.

use deadpool_postgres::Object;
use koi_core::ConvId;
use tokio_postgres::Row;

use super::connect::{Db, clamp, execute, query, query_one, query_opt, unsigned};
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
    row.as_ref().map(record).transpose()
}

/// The conversations with a message that carries `id`: a message's
/// `file_id` is its reference (cleared by a recall).
pub(super) async fn file_convs(db: &Db, id: &str) -> Result<Vec<ConvId>, StoreError> {
    let rows = query(
        db,
        "SELECT DISTINCT c.name FROM messages m JOIN convs c ON c.id = m.conv \
         WHERE m.file_id = $1",
        &[&id],
    )
    .await?;
    rows.iter()
        .map(|row| {
            let name: String = row.try_get(0)?;
            ConvId::parse(&name)
                .map_err(|e| StoreError::Internal(format!("stored conversation {name:?}: {e}")))
        })
        .collect()
}

/// The total size of `owner`'s files.
pub(super) async fn user_file_bytes(db: &Db, owner: &str) -> Result<u64, StoreError> {
    let row = query_one(
        db,
        "SELECT coalesce(sum(size), 0)::BIGINT FROM files WHERE owner = $1",
        &[&owner],
    )
    .await?;
    Ok(unsigned(row.try_get(0)?))
}

/// Files older than `created_before_ms` that no message references.
pub(super) async fn unreferenced_files(
    db: &Db,
    created_before_ms: u64,
    limit: u32,
) -> Result<Vec<FileRecord>, StoreError> {
    let rows = query(
        db,
        "SELECT id, owner, name, size, mime, sha256, created_ms FROM files f \
         WHERE created_ms < $1 \
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.file_id = f.id) \
           AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar = f.id) \
           AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.avatar = f.id) \
         ORDER BY created_ms LIMIT $2",
        &[&clamp(created_before_ms), &i64::from(limit)],
    )
    .await?;
    rows.iter().map(record).collect()
}

/// Deletes `id`'s record and bytes, in one transaction, if it is old enough
/// and unreferenced. Every node may sweep: the row lock lets one of them
/// delete it and the others find nothing.
pub(super) async fn delete_unreferenced_file(
    db: &mut Object,
    id: &str,
    created_before_ms: u64,
) -> Result<bool, StoreError> {
    let tx = db.transaction().await?;
    let deleted = tx
        .execute(
            "DELETE FROM files f WHERE id = $1 AND created_ms < $2 \
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.file_id = f.id) \
             AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar = f.id) \
             AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.avatar = f.id)",
            &[&id, &clamp(created_before_ms)],
        )
        .await?;
    if deleted > 0 {
        tx.execute("DELETE FROM file_chunks WHERE file_id = $1", &[&id])
            .await?;
    }
    tx.commit().await?;
    Ok(deleted > 0)
}

fn record(row: &Row) -> Result<FileRecord, StoreError> {
    Ok(FileRecord {
        id: row.try_get(0)?,
        owner: row.try_get(1)?,
        name: row.try_get(2)?,
        size: unsigned(row.try_get(3)?),
        mime: row.try_get(4)?,
        sha256: row.try_get(5)?,
        created_ms: unsigned(row.try_get(6)?),
    })
}
