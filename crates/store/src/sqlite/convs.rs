//! Conversations: their seq counters, who lists them, and read cursors.

use koi_core::{ConvId, UserId};
use koi_proto::ConvSummary;
use rusqlite::{Connection, OptionalExtension, params};

use super::activity::Activity;
use super::groups;
use super::recent::Recent;
use super::writer::Tx;
use crate::StoreError;

/// A conversation's counter row, as an append finds it.
pub(super) struct ConvRow {
    pub(super) id: i64,
    pub(super) last_seq: u64,
    pub(super) last_ts: u64,
}

/// The conversation an append goes to, created on the first message of a direct
/// or system conversation (listing it for its users). Group conversations are
/// created with their group, so an unknown one is `NotFound`.
pub(super) fn open_for_append(
    tx: &mut Tx<'_>,
    conv: &ConvId,
    name: &str,
    activity: &Activity,
) -> Result<ConvRow, StoreError> {
    let conn = tx.conn;
    let found = conn
        .prepare_cached("SELECT id, last_seq, last_ts FROM convs WHERE name = ?1")?
        .query_row([name], |row| {
            Ok(ConvRow {
                id: row.get(0)?,
                last_seq: row.get::<_, i64>(1)? as u64,
                last_ts: row.get::<_, i64>(2)? as u64,
            })
        })
        .optional()?;
    if let Some(found) = found {
        return Ok(found);
    }
    if let ConvId::Group(id) = conv {
        return Err(StoreError::NotFound(format!("group {id}")));
    }
    // Several writes, then the message's own: undone together if one fails.
    tx.savepoint()?;
    let users = conv.named_users();
    let id = create(conn, name, 0, activity)?;
    let mut list =
        conn.prepare_cached("INSERT OR IGNORE INTO conv_users (user, conv) VALUES (?1, ?2)")?;
    for user in users {
        list.execute(params![user.as_str(), id])?;
    }
    Ok(ConvRow {
        id,
        last_seq: 0,
        last_ts: 0,
    })
}

/// Creates a conversation's counter row; returns its id.
pub(super) fn create(
    conn: &Connection,
    name: &str,
    last_ts: u64,
    activity: &Activity,
) -> Result<i64, StoreError> {
    let id = conn
        .prepare_cached(
            "INSERT INTO convs (name, last_seq, last_ts, activity) VALUES (?1, 0, ?2, ?3) \
             RETURNING id",
        )?
        .query_row(params![name, last_ts as i64, activity.next()], |row| {
            row.get(0)
        })?;
    Ok(id)
}

/// The highest seq of `conv`, 0 when it has none: from its newest message in
/// the journal, else from `convs` (read second, see [`Recent`]).
pub(super) fn last_seq(
    conn: &Connection,
    recent: &Recent,
    conv: &ConvId,
) -> Result<u64, StoreError> {
    let name = conv.to_string();
    let pending = recent.latest(&name).map(|latest| latest.seq);
    let seq: Option<i64> = conn
        .prepare_cached("SELECT last_seq FROM convs WHERE name = ?1")?
        .query_row([name], |row| row.get(0))
        .optional()?;
    Ok(pending.unwrap_or(0).max(seq.unwrap_or(0) as u64))
}

/// Moves the cursor forward only: `max` in the upsert makes a late, lower
/// `set_read` (a slow device) harmless.
pub(super) fn set_read(
    conn: &Connection,
    user: &UserId,
    conv: &ConvId,
    seq: u64,
) -> Result<u64, StoreError> {
    move_cursor(conn, user.as_str(), &conv.to_string(), seq)
}

/// [`set_read`] by the user's and the conversation's names.
pub(super) fn move_cursor(
    conn: &Connection,
    user: &str,
    conv: &str,
    seq: u64,
) -> Result<u64, StoreError> {
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    let cursor: i64 = conn
        .prepare_cached(
            "INSERT INTO read_cursors (user, conv, read_seq) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user, conv) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq) \
             RETURNING read_seq",
        )?
        .query_row(params![user, conv, seq], |row| row.get(0))?;
    Ok(cursor as u64)
}

/// The user's direct and system conversations that have a message, and their
/// groups; newest activity first (a counter bumped by every append, so two
/// conversations that moved within one millisecond still list in order). The
/// counters of conversations with messages in the journal come from there
/// (read before the counters in SQLite, see [`Recent`]; the user's groups are
/// read before that, in a read of their own, so a group joined meanwhile may
/// list without what it has in the journal, as if listed a moment earlier).
pub(super) fn conversations(
    conn: &Connection,
    recent: &Recent,
    user: &UserId,
) -> Result<Vec<ConvSummary>, StoreError> {
    let groups = groups::conv_names(conn, user)?;
    let pending = recent.latest_for(user.as_str(), &groups);
    let mut stmt = conn.prepare_cached(
        "SELECT c.name, c.last_seq, c.last_ts, coalesce(r.read_seq, 0), NULL, NULL, c.activity \
         FROM conv_users u JOIN convs c ON c.id = u.conv \
         LEFT JOIN read_cursors r ON r.user = u.user AND r.conv = c.name \
         WHERE u.user = ?1 \
         UNION ALL \
         SELECT c.name, c.last_seq, c.last_ts, coalesce(r.read_seq, 0), g.id, g.name, c.activity \
         FROM group_members m JOIN groups g ON g.id = m.group_id JOIN convs c ON c.id = g.conv \
         LEFT JOIN read_cursors r ON r.user = m.user AND r.conv = c.name \
         WHERE m.user = ?1",
    )?;
    let rows = stmt.query_map([user.as_str()], |row| {
        let activity: i64 = row.get(6)?;
        let summary = ConvSummary {
            conv: row.get(0)?,
            kind: String::new(),
            peer: None,
            group: row.get(4)?,
            name: row.get(5)?,
            last_seq: row.get::<_, i64>(1)? as u64,
            read_seq: row.get::<_, i64>(3)? as u64,
            last_ts: row.get::<_, i64>(2)? as u64,
            ..ConvSummary::default()
        };
        Ok((activity, summary))
    })?;
    let mut listed = rows
        .map(|row| {
            let (mut activity, mut summary) = row?;
            if let Some(latest) = pending.get(&summary.conv)
                && latest.seq > summary.last_seq
            {
                (summary.last_seq, summary.last_ts) = (latest.seq, latest.ts);
                activity = latest.activity;
            }
            Ok((activity, summary))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    listed.sort_by(|(a, x), (b, y)| b.cmp(a).then_with(|| x.conv.cmp(&y.conv)));
    listed
        .into_iter()
        .map(|(_, mut summary)| {
            crate::conv_summary::complete(&mut summary, user)?;
            Ok(summary)
        })
        .collect()
}
