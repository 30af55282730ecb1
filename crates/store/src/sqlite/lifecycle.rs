//! The message lifecycle (§11): edits, reactions, hidden messages, read_by.
//!
//! None of it touches the journal or `messages`: the state lives in tables
//! of its own (see [`crate::lifecycle`]), so a message still in the journal
//! is edited or reacted to like one that has moved.

use koi_core::{ConvId, UserId};
use rusqlite::{Connection, OptionalExtension, params};

use super::recent::Recent;
use crate::lifecycle::{
    DELETE_REACTION, EDITS, EMOJI_COUNT, FORGET_EDITS, FORGET_REACTIONS, INSERT_MENTION,
    INSERT_REACTION, REACTIONS, UNREAD_CAP, UPSERT_EDIT, too_many_emoji,
};
use crate::{EditRecord, MessageStates, ReadBy, StoreError};

pub(super) fn edit(
    conn: &Connection,
    conv: &ConvId,
    seq: u64,
    edit: &EditRecord,
) -> Result<(), StoreError> {
    conn.prepare_cached(UPSERT_EDIT)?.execute(params![
        conv.to_string(),
        clamp(seq),
        edit.text,
        edit.meta,
        clamp(edit.edited_ts)
    ])?;
    // Search finds the message by what it says now.
    super::search_index::reindex(conn, &conv.to_string(), seq)
}

pub(super) fn react(
    conn: &Connection,
    conv: &ConvId,
    seq: u64,
    user: &UserId,
    emoji: &str,
    max_emoji: u32,
) -> Result<bool, StoreError> {
    let name = conv.to_string();
    let (distinct, present): (i64, i64) = conn
        .prepare_cached(EMOJI_COUNT)?
        .query_row(params![emoji, name, clamp(seq)], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    if present == 0 && distinct >= i64::from(max_emoji) {
        return Err(too_many_emoji(max_emoji));
    }
    let added = conn.prepare_cached(INSERT_REACTION)?.execute(params![
        clamp(seq),
        emoji,
        user.as_str(),
        name
    ])?;
    Ok(added > 0)
}

pub(super) fn unreact(
    conn: &Connection,
    conv: &ConvId,
    seq: u64,
    user: &UserId,
    emoji: &str,
) -> Result<bool, StoreError> {
    let removed = conn.prepare_cached(DELETE_REACTION)?.execute(params![
        conv.to_string(),
        clamp(seq),
        emoji,
        user.as_str()
    ])?;
    Ok(removed > 0)
}

/// What recalling a message drops besides its content: its edit and reactions.
pub(super) fn forget(conn: &Connection, conv: &str, seq: u64) -> Result<(), StoreError> {
    conn.prepare_cached(FORGET_EDITS)?
        .execute(params![conv, clamp(seq)])?;
    conn.prepare_cached(FORGET_REACTIONS)?
        .execute(params![conv, clamp(seq)])?;
    Ok(())
}

pub(super) fn message_states(
    conn: &Connection,
    viewer: &UserId,
    conv: &ConvId,
    first: u64,
    last: u64,
) -> Result<MessageStates, StoreError> {
    let name = conv.to_string();
    let mut states = MessageStates::default();
    let mut edits = conn.prepare_cached(EDITS)?;
    let mut rows = edits.query(params![name, clamp(first), clamp(last)])?;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let edited_ts: i64 = row.get(3)?;
        states.edits.insert(
            unsigned(seq),
            EditRecord {
                text: row.get(1)?,
                meta: row.get(2)?,
                edited_ts: unsigned(edited_ts),
            },
        );
    }
    let mut reactions = conn.prepare_cached(REACTIONS)?;
    let mut rows = reactions.query(params![viewer.as_str(), name, clamp(first), clamp(last)])?;
    while let Some(row) = rows.next()? {
        let (seq, count, mine): (i64, i64, i64) = (row.get(0)?, row.get(3)?, row.get(4)?);
        states.add_reaction(
            unsigned(seq),
            row.get(1)?,
            row.get(2)?,
            u32::try_from(count).unwrap_or(u32::MAX),
            mine != 0,
        );
    }
    Ok(states)
}

pub(super) fn hide(
    conn: &Connection,
    user: &UserId,
    conv: &ConvId,
    seq: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO hidden_messages (user, conv, seq) \
         VALUES (?1, (SELECT id FROM convs WHERE name = ?2), ?3) ON CONFLICT DO NOTHING",
    )?
    .execute(params![user.as_str(), conv.to_string(), clamp(seq)])?;
    Ok(())
}

pub(super) fn hidden(
    conn: &Connection,
    user: &UserId,
    conv: &ConvId,
    after: u64,
    before: u64,
) -> Result<Vec<u64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq FROM hidden_messages \
         WHERE user = ?1 AND conv = (SELECT id FROM convs WHERE name = ?2) \
         AND seq > ?3 AND seq < ?4 ORDER BY seq",
    )?;
    let seqs = stmt
        .query_map(
            params![user.as_str(), conv.to_string(), clamp(after), clamp(before)],
            |row| row.get::<_, i64>(0),
        )?
        .map(|seq| seq.map(unsigned))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(seqs)
}

pub(super) fn read_by(
    conn: &Connection,
    conv: &ConvId,
    seq: u64,
    except: &UserId,
    limit: u32,
) -> Result<ReadBy, StoreError> {
    let name = conv.to_string();
    match conv {
        ConvId::Group(id) => {
            let count: i64 = conn
                .prepare_cached(
                    "SELECT count(*) FROM group_members g JOIN read_cursors r \
                     ON r.user = g.user AND r.conv = ?1 \
                     WHERE g.group_id = ?2 AND g.user <> ?3 AND r.read_seq >= ?4",
                )?
                .query_row(params![name, id, except.as_str(), clamp(seq)], |row| {
                    row.get(0)
                })?;
            let users = conn
                .prepare_cached(
                    "SELECT g.user FROM group_members g JOIN read_cursors r \
                     ON r.user = g.user AND r.conv = ?1 \
                     WHERE g.group_id = ?2 AND g.user <> ?3 AND r.read_seq >= ?4 \
                     ORDER BY g.joined LIMIT ?5",
                )?
                .query_map(
                    params![name, id, except.as_str(), clamp(seq), i64::from(limit)],
                    |row| row.get(0),
                )?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(ReadBy {
                count: u32::try_from(count).unwrap_or(u32::MAX),
                users,
            })
        }
        ConvId::Direct(..) => {
            let Some(peer) = conv.peer_of(except) else {
                return Ok(ReadBy::default());
            };
            let cursor: Option<i64> = conn
                .prepare_cached("SELECT read_seq FROM read_cursors WHERE user = ?1 AND conv = ?2")?
                .query_row(params![peer.as_str(), name], |row| row.get(0))
                .optional()?;
            Ok(match cursor {
                Some(cursor) if cursor >= clamp(seq) => ReadBy {
                    count: 1,
                    users: vec![peer.to_string()]
                        .into_iter()
                        .take(limit as usize)
                        .collect(),
                },
                _ => ReadBy::default(),
            })
        }
        ConvId::System(_) => Ok(ReadBy::default()),
    }
}

pub(super) fn add_mentions(
    conn: &Connection,
    conv: &ConvId,
    seq: u64,
    users: &[String],
) -> Result<(), StoreError> {
    let mut insert = conn.prepare_cached(INSERT_MENTION)?;
    for user in users {
        insert.execute(params![user, conv.to_string(), clamp(seq)])?;
    }
    Ok(())
}

/// [`crate::Store::unread_counts`]: the messages still in the journal are
/// counted in memory ([`Recent`]), those that moved in `messages` below them.
pub(super) fn unread_counts(
    conn: &Connection,
    recent: &Recent,
    user: &UserId,
    convs: &[(ConvId, u64, u64)],
) -> Result<Vec<(u64, u64)>, StoreError> {
    let mut stored = conn.prepare_cached(
        "SELECT count(*) FROM (SELECT 1 FROM messages \
         WHERE conv = (SELECT id FROM convs WHERE name = ?1) AND seq > ?2 AND seq < ?3 \
         AND kind <> 'event' LIMIT ?4)",
    )?;
    let mut mentions = conn.prepare_cached(
        // A message that names the reader and `all` is one mention.
        "SELECT count(*) FROM (SELECT DISTINCT seq FROM mentions \
         WHERE user_id IN (?1, 'all') AND conv = (SELECT id FROM convs WHERE name = ?2) \
         AND seq > ?3 AND seq <= ?5 LIMIT ?4)",
    )?;
    let cap = clamp(UNREAD_CAP);
    let mut counts = Vec::with_capacity(convs.len());
    for (conv, read_seq, up_to) in convs {
        let name = conv.to_string();
        let (below, pending) = recent
            .unread_after(&name, *read_seq, *up_to)
            .unwrap_or((u64::MAX, 0));
        // Stored messages run below the journal's and up to `up_to`.
        let below = below.min(up_to.saturating_add(1));
        let moved: i64 = stored
            .query_row(params![name, clamp(*read_seq), clamp(below), cap], |row| {
                row.get(0)
            })?;
        let mentioned: i64 = mentions.query_row(
            params![user.as_str(), name, clamp(*read_seq), cap, clamp(*up_to)],
            |row| row.get(0),
        )?;
        counts.push((
            (unsigned(moved) + pending).min(UNREAD_CAP),
            unsigned(mentioned),
        ));
    }
    Ok(counts)
}

fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
