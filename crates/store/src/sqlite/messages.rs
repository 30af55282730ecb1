//! Appending, reading and recalling messages.

use koi_core::{ConvId, HistoryRange};
use koi_proto::Message;
use rusqlite::{Connection, OptionalExtension, params};

use super::activity::Activity;
use super::convs::{self, ConvRow};
use super::files;
use super::lifecycle;
use super::recent::Recent;
use super::search_index;
use super::writer::Tx;
use crate::message_row::{Window, message as from_row, message_columns};
use crate::{Appended, NewMessage, StoreError, new_id};

/// Appends `message` with its conversation's next seq, to the journal, unless it
/// is a repeat. Runs in the writer's transaction; the writer alone moves
/// `last_seq`, in the journal and then in `convs`, so reading and bumping it is
/// atomic.
///
/// A repeat is looked for in the journal (in memory) and then in the
/// idempotency index of `messages`, which the writer's cache keeps warm: a read,
/// while the insert it saves would have dirtied a page of that index.
///
/// It records whom the message mentions and, when its sender `sent` it
/// ([`crate::Store::append_sent`]), moves their read cursor to it, in the
/// same transaction.
///
/// Its one write is the journal's insert, last, so it needs no savepoint
/// ([`Tx::savepoint`]) unless it creates the conversation first or writes
/// more (a file reference, mentions, the sender's cursor).
pub(super) fn append(
    tx: &mut Tx<'_>,
    message: NewMessage,
    sent: bool,
    now_ms: u64,
    activity: &Activity,
) -> Result<Appended, StoreError> {
    let conn = tx.conn;
    let earlier = match tx.journal.by_key(&message.from, &message.client_msg_id) {
        Some(earlier) => Some(earlier),
        None => stored_by_client_msg_id(conn, &message.from, &message.client_msg_id)?,
    };
    if let Some(earlier) = earlier {
        return Ok(Appended {
            message: earlier,
            duplicate: true,
        });
    }
    let name = message.conv.to_string();
    // A conversation with messages in the journal has its row and its
    // counters there; only one without reads (or creates) its row in `convs`.
    let conv = match tx.journal.latest(&name) {
        Some(latest) => ConvRow {
            id: latest.conv_id,
            last_seq: latest.seq,
            last_ts: latest.ts,
        },
        None => convs::open_for_append(tx, &message.conv, &name, activity)?,
    };
    let seq = conv.last_seq + 1;
    // Clocks step backwards; ts must not, so history stays ordered by time too.
    let ts = now_ms.max(conv.last_ts);
    // The file reference is a second write: it needs the savepoint, so that a
    // failing journal insert takes it back too. Only file messages pay for it.
    if let Some(file) = &message.file {
        tx.savepoint()?;
        files::add_ref(conn, &name, seq, &file.file_id)?;
    }
    if !message.extra.mentions.is_empty() {
        tx.savepoint()?;
        lifecycle::add_mentions(conn, &message.conv, seq, &message.extra.mentions)?;
    }
    if sent {
        tx.savepoint()?;
        convs::move_cursor(conn, &message.from, &name, seq)?;
    }
    let (stored, origin) = message.stored(name, seq, new_id(), ts);
    tx.journal
        .append(conn, conv.id, activity.next(), stored.clone(), origin)?;
    Ok(Appended {
        message: stored,
        duplicate: false,
    })
}

/// The message sent earlier under this idempotency key, if any.
pub(super) fn by_client_msg_id(
    conn: &Connection,
    recent: &Recent,
    from: &str,
    client_msg_id: &str,
) -> Result<Option<Message>, StoreError> {
    if let Some(pending) = recent.by_key(from, client_msg_id) {
        return Ok(Some(pending));
    }
    stored_by_client_msg_id(conn, from, client_msg_id)
}

/// [`by_client_msg_id`] in `messages` only.
fn stored_by_client_msg_id(
    conn: &Connection,
    from: &str,
    client_msg_id: &str,
) -> Result<Option<Message>, StoreError> {
    if client_msg_id.is_empty() {
        return Ok(None);
    }
    // The `<> ''` term lets SQLite use the partial unique index.
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT c.name, ",
        message_columns!(),
        " FROM messages m JOIN convs c ON c.id = m.conv \
         WHERE m.sender = ?1 AND m.client_msg_id = ?2 AND m.client_msg_id <> ''"
    ))?;
    let found = stmt
        .query_row(params![from, client_msg_id], |row| {
            let conv: String = row.get(0)?;
            from_row(conv, row, 1)
        })
        .optional()?;
    Ok(found)
}

/// The messages of `conv` in `range`, ascending by seq: those still in the
/// journal (read first, see [`Recent`]) merged with those in `messages`.
pub(super) fn history(
    conn: &Connection,
    recent: &Recent,
    conv: &ConvId,
    range: HistoryRange,
) -> Result<Vec<Message>, StoreError> {
    let window = Window::of(&range);
    let name = conv.to_string();
    let pending = recent.range(&name, window.after, window.before);
    let mut stmt = conn.prepare_cached(window.sql())?;
    let rows = stmt.query_map(
        params![
            name,
            clamp(window.after),
            clamp(window.before),
            range.limit()
        ],
        |row| from_row(name.clone(), row, 0),
    )?;
    let mut messages = rows.collect::<Result<Vec<_>, _>>()?;
    if window.newest_first {
        messages.reverse();
    }
    if pending.is_empty() {
        return Ok(messages);
    }
    Ok(merge(
        messages,
        pending,
        range.limit() as usize,
        window.newest_first,
    ))
}

/// Merges two ascending runs of one conversation, keeping `stored`'s copy of a
/// seq found in both (it is the later), then keeps `limit` from the end the
/// range is read from.
fn merge(
    stored: Vec<Message>,
    pending: Vec<Message>,
    limit: usize,
    newest_first: bool,
) -> Vec<Message> {
    let mut by_seq: std::collections::BTreeMap<u64, Message> =
        pending.into_iter().map(|m| (m.seq, m)).collect();
    by_seq.extend(stored.into_iter().map(|m| (m.seq, m)));
    let skip = if newest_first {
        by_seq.len().saturating_sub(limit)
    } else {
        0
    };
    by_seq.into_values().skip(skip).take(limit).collect()
}

/// One message of `conv`, from the journal or `messages`.
pub(super) fn message(
    conn: &Connection,
    recent: &Recent,
    conv: &ConvId,
    seq: u64,
) -> Result<Option<Message>, StoreError> {
    let name = conv.to_string();
    if let Some(pending) = recent.message(&name, seq) {
        return Ok(Some(pending));
    }
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages m WHERE m.conv = (SELECT id FROM convs WHERE name = ?1) AND m.seq = ?2"
    ))?;
    let found = stmt
        .query_row(params![name, clamp(seq)], |row| {
            from_row(name.clone(), row, 0)
        })
        .optional()?;
    Ok(found)
}

/// Clears a message's content and marks it `recalled`; its seq, id, sender, ts
/// and client_msg_id stay, so the gap is visible and a retried send still dedups.
pub(super) fn recall(tx: &mut Tx<'_>, conv: &ConvId, seq: u64) -> Result<(), StoreError> {
    tx.savepoint()?;
    files::drop_ref(tx.conn, &conv.to_string(), seq)?;
    lifecycle::forget(tx.conn, &conv.to_string(), seq)?;
    search_index::unindex(tx.conn, &conv.to_string(), seq)?;
    if tx.journal.recall(tx.conn, &conv.to_string(), seq)? {
        return Ok(());
    }
    let changed = tx
        .conn
        .prepare_cached(
            "UPDATE messages SET kind = 'recalled', text = NULL, file_id = NULL, file_name = NULL, \
             file_size = NULL, file_mime = NULL, meta = NULL \
             WHERE conv = (SELECT id FROM convs WHERE name = ?1) AND seq = ?2",
        )?
        .execute(params![conv.to_string(), clamp(seq)])?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("message {conv}/{seq}")));
    }
    Ok(())
}

/// SQLite integers are signed; a seq bound past `i64::MAX` means "no bound".
fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
