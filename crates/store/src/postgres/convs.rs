//! Conversations: their seq counters, who lists them, and read cursors.

use koi_core::{ConvId, UserId};
use koi_proto::ConvSummary;

use super::connect::{Db, clamp, execute, query, query_one, query_opt, unsigned};
use crate::StoreError;

/// Creates the counter row of a direct or system conversation at its first
/// message, listing it for its users; a row created meanwhile by another node
/// is left as it is (the insert waits for that node's transaction). Group
/// conversations are created with their group, so an unknown one is `NotFound`.
///
/// The caller then bumps the row (see `messages::BUMP_AND_INSERT`): that UPDATE
/// locks it until the transaction ends, so appends to one conversation from
/// every node queue there and seqs are gapless, rising in commit order.
pub(super) async fn open(db: &Db, conv: &ConvId) -> Result<(), StoreError> {
    if let ConvId::Group(id) = conv {
        return Err(StoreError::NotFound(format!("group {id}")));
    }
    let users: Vec<&str> = conv.named_users().into_iter().map(UserId::as_str).collect();
    if let Some(id) = create(db, &conv.to_string(), 0).await? {
        execute(
            db,
            "INSERT INTO conv_users (user_id, conv) \
             SELECT u, $2 FROM unnest($1::text[]) AS u ON CONFLICT DO NOTHING",
            &[&users, &id],
        )
        .await?;
    }
    Ok(())
}

/// Creates a conversation's counter row; `None` when the name exists.
pub(super) async fn create(db: &Db, name: &str, last_ts: u64) -> Result<Option<i64>, StoreError> {
    let row = query_opt(
        db,
        "INSERT INTO convs (name, last_seq, last_ts) VALUES ($1, 0, $2) \
         ON CONFLICT (name) DO NOTHING RETURNING id",
        &[&name, &clamp(last_ts)],
    )
    .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// The highest seq of `conv`, 0 when it has none.
pub(super) async fn last_seq(db: &Db, conv: &ConvId) -> Result<u64, StoreError> {
    let row = query_opt(
        db,
        "SELECT last_seq FROM convs WHERE name = $1",
        &[&conv.to_string()],
    )
    .await?;
    match row {
        Some(row) => Ok(unsigned(row.try_get(0)?)),
        None => Ok(0),
    }
}

/// Moves the cursor forward only: `GREATEST` in the upsert makes a late, lower
/// `set_read` (a slow device) harmless.
pub(super) async fn set_read(
    db: &Db,
    user: &UserId,
    conv: &ConvId,
    seq: u64,
) -> Result<u64, StoreError> {
    let row = query_one(
        db,
        "INSERT INTO read_cursors (user_id, conv, read_seq) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, conv) \
         DO UPDATE SET read_seq = GREATEST(read_cursors.read_seq, excluded.read_seq) \
         RETURNING read_seq",
        &[&user.as_str(), &conv.to_string(), &clamp(seq)],
    )
    .await?;
    Ok(unsigned(row.try_get(0)?))
}

/// The user's direct and system conversations that have a message, and their
/// groups; newest activity first (a counter bumped by every append, so two
/// conversations that moved within one millisecond still list in order).
pub(super) async fn conversations(db: &Db, user: &UserId) -> Result<Vec<ConvSummary>, StoreError> {
    let rows = query(
        db,
        "SELECT c.name, c.last_seq, c.last_ts, coalesce(r.read_seq, 0), NULL::text, NULL::text, \
         c.activity \
         FROM conv_users u JOIN convs c ON c.id = u.conv \
         LEFT JOIN read_cursors r ON r.user_id = u.user_id AND r.conv = c.name \
         WHERE u.user_id = $1 \
         UNION ALL \
         SELECT c.name, c.last_seq, c.last_ts, coalesce(r.read_seq, 0), g.id, g.name, c.activity \
         FROM group_members m JOIN groups g ON g.id = m.group_id JOIN convs c ON c.id = g.conv \
         LEFT JOIN read_cursors r ON r.user_id = m.user_id AND r.conv = c.name \
         WHERE m.user_id = $1 \
         ORDER BY 7 DESC, 1",
        &[&user.as_str()],
    )
    .await?;
    rows.iter()
        .map(|row| {
            let mut summary = ConvSummary {
                conv: row.try_get(0)?,
                kind: String::new(),
                peer: None,
                group: row.try_get(4)?,
                name: row.try_get(5)?,
                last_seq: unsigned(row.try_get(1)?),
                read_seq: unsigned(row.try_get(3)?),
                last_ts: unsigned(row.try_get(2)?),
                ..ConvSummary::default()
            };
            crate::conv_summary::complete(&mut summary, user)?;
            Ok(summary)
        })
        .collect()
}
