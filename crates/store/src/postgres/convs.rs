//! Conversations: their seq counters, who lists them, and read cursors.

use koi_core::{ConvId, UserId};
use koi_proto::ConvSummary;

use super::connect::{Db, clamp, execute, query, query_one, query_opt, unsigned};
use crate::StoreError;

/// A conversation's counter row after an append took the next seq from it.
pub(super) struct Bumped {
    pub(super) id: i64,
    pub(super) seq: u64,
    pub(super) ts: u64,
}

/// Takes the next seq of `conv` for a message at `now_ms`, creating the
/// conversation on the first message of a direct or system conversation
/// (listing it for its users). Group conversations are created with their group,
/// so an unknown one is `NotFound`.
///
/// The UPDATE locks the counter row until the transaction ends: appends to one
/// conversation from every node queue there, so seqs are gapless and rise in
/// commit order. `last_ts` never goes back, so ts rises with seq even when the
/// nodes' clocks disagree.
pub(super) async fn bump(db: &Db, conv: &ConvId, now_ms: u64) -> Result<Bumped, StoreError> {
    let name = conv.to_string();
    let now = clamp(now_ms);
    let bumped = |row: tokio_postgres::Row| -> Result<Bumped, StoreError> {
        Ok(Bumped {
            id: row.try_get(0)?,
            seq: unsigned(row.try_get(1)?),
            ts: unsigned(row.try_get(2)?),
        })
    };
    // Twice at most: when a concurrent first message created the row between
    // our UPDATE and INSERT, the second UPDATE finds it.
    for _ in 0..2 {
        let row = query_opt(
            db,
            "UPDATE convs SET last_seq = last_seq + 1, last_ts = GREATEST(last_ts, $2), \
             activity = nextval('conv_activity') \
             WHERE name = $1 RETURNING id, last_seq, last_ts",
            &[&name, &now],
        )
        .await?;
        if let Some(row) = row {
            return bumped(row);
        }
        let users: Vec<&str> = match conv {
            ConvId::Direct(a, b) => vec![a.as_str(), b.as_str()],
            ConvId::System(user) => vec![user.as_str()],
            ConvId::Group(id) => return Err(StoreError::NotFound(format!("group {id}"))),
        };
        // Waits for a concurrent creation of the same row to commit or roll back.
        let row = query_opt(
            db,
            "INSERT INTO convs (name, last_seq, last_ts) VALUES ($1, 1, $2) \
             ON CONFLICT (name) DO NOTHING RETURNING id, last_seq, last_ts",
            &[&name, &now],
        )
        .await?;
        if let Some(row) = row {
            let created = bumped(row)?;
            execute(
                db,
                "INSERT INTO conv_users (user_id, conv) \
                 SELECT u, $2 FROM unnest($1::text[]) AS u ON CONFLICT DO NOTHING",
                &[&users, &created.id],
            )
            .await?;
            return Ok(created);
        }
    }
    Err(StoreError::Internal(format!(
        "conversation {name} neither exists nor can be created"
    )))
}

/// Creates a conversation's counter row (a group's); `None` when the name exists.
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
            };
            if summary.group.is_some() {
                summary.kind = "group".into();
            } else {
                let conv = ConvId::parse(&summary.conv).map_err(|e| {
                    StoreError::Internal(format!("stored conversation {:?}: {e}", summary.conv))
                })?;
                summary.kind = conv.kind().into();
                summary.peer = conv.peer_of(user).map(|peer| peer.to_string());
            }
            Ok(summary)
        })
        .collect()
}
