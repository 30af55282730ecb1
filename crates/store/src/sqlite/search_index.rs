//! Keeping the search index (`message_search`, FTS5) in step with `messages`.
//!
//! A message is indexed when it moves from the journal into `messages`, in the
//! same transaction ([`super::journal`]), so the index never holds a message
//! that is not in `messages`; messages still in the journal are searched in
//! memory ([`super::search`]). Indexing at the move rather than at the append
//! keeps the append one statement without a savepoint, and a savepoint would
//! make FTS5 flush its pending terms for every message. A recall takes the
//! message out ([`unindex`]); an edit of a message already in `messages`
//! calls [`index`] again with the new text.
//!
//! The rowid of a message's entry is its (conv, seq), [`doc`]: no mapping
//! table to keep, and a recall or an edit finds the entry without a lookup.

use koi_core::{search_terms, searchable_text};
use koi_proto::Message;
use rusqlite::{Connection, OptionalExtension, params};

use crate::StoreError;

/// The rowid of the entry of message `seq` of conversation `conv_id`
/// (`convs.id`): the conversation in the high 31 bits, the seq in the low 32.
/// `None` beyond those bounds (two billion conversations, four billion
/// messages in one): such a message is not indexed.
pub(super) fn doc(conv_id: i64, seq: u64) -> Option<i64> {
    let seq = i64::try_from(seq)
        .ok()
        .filter(|s| *s <= i64::from(u32::MAX))?;
    (0..=i64::from(i32::MAX))
        .contains(&conv_id)
        .then_some((conv_id << 32) | seq)
}

/// The indexed text of a message: its tokens, separated by spaces. `None`
/// when the message is not searched (an event, recalled, system, no text).
fn document(message: &Message) -> Option<String> {
    let text = searchable_text(&message.kind, message.text.as_deref())?;
    let tokens = search_terms::tokens(text);
    (!tokens.is_empty()).then(|| tokens.join(" "))
}

/// Indexes `message` of conversation `conv_id` as it is now, replacing its
/// entry if it has one, or removing it when it is no longer searched. The
/// one function to call when a stored message's text changes (an edit), in
/// the writer's transaction, once the message is in `messages`.
#[allow(
    dead_code,
    reason = "the hook for edits, which the lifecycle branch brings"
)]
pub(super) fn index(conn: &Connection, conv_id: i64, message: &Message) -> Result<(), StoreError> {
    if add(conn, conv_id, message)? {
        return Ok(());
    }
    if let Some(doc) = doc(conv_id, message.seq) {
        conn.prepare_cached("DELETE FROM message_search WHERE rowid = ?1")?
            .execute([doc])?;
    }
    Ok(())
}

/// Indexes `message` (replacing any entry it has) if it is searched; whether
/// it is. What a move does for each message it moves.
pub(super) fn add(conn: &Connection, conv_id: i64, message: &Message) -> Result<bool, StoreError> {
    let (Some(doc), Some(tokens)) = (doc(conv_id, message.seq), document(message)) else {
        return Ok(false);
    };
    conn.prepare_cached(
        "INSERT OR REPLACE INTO message_search (rowid, tokens, sender, id) \
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![doc, tokens, message.from, message.id])?;
    Ok(true)
}

/// Removes the entry of message `seq` of conversation `conv` (a recall).
pub(super) fn unindex(conn: &Connection, conv: &str, seq: u64) -> Result<(), StoreError> {
    let conv_id: Option<i64> = conn
        .prepare_cached("SELECT id FROM convs WHERE name = ?1")?
        .query_row([conv], |row| row.get(0))
        .optional()?;
    if let Some(doc) = conv_id.and_then(|id| doc(id, seq)) {
        conn.prepare_cached("DELETE FROM message_search WHERE rowid = ?1")?
            .execute([doc])?;
    }
    Ok(())
}

/// Indexes the journal's rows that are not in `messages` yet: what opening
/// the store is about to move there ([`super::journal`]'s drain), in its
/// transaction.
pub(super) fn add_unmoved(conn: &Connection) -> Result<(), StoreError> {
    index_rows(
        conn,
        "SELECT conv, seq, id, sender, kind, text FROM journal j \
         WHERE text IS NOT NULL AND kind NOT IN ('event', 'recalled', 'system') \
         AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conv = j.conv AND m.seq = j.seq)",
    )?;
    Ok(())
}

/// Indexes every message in `messages` if the migration that made the index
/// asked for it, in one transaction, then forgets the request. Runs when the
/// store opens, before the journal is drained (which indexes what it moves).
pub(super) fn backfill(conn: &Connection) -> Result<(), StoreError> {
    let pending: i64 =
        conn.query_row("SELECT count(*) FROM search_backfill", [], |row| row.get(0))?;
    if pending == 0 {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let indexed = index_all(conn).and_then(|count| {
        conn.execute_batch("DELETE FROM search_backfill; COMMIT")?;
        Ok(count)
    });
    match indexed {
        Ok(count) => {
            tracing::info!(messages = count, "indexed the stored messages for search");
            Ok(())
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// [`add`] for every searchable message of `messages`; how many.
fn index_all(conn: &Connection) -> Result<u64, StoreError> {
    index_rows(
        conn,
        "SELECT conv, seq, id, sender, kind, text FROM messages \
         WHERE text IS NOT NULL AND kind NOT IN ('event', 'recalled', 'system')",
    )
}

/// [`add`] for each row `select` returns (conv, seq, id, sender, kind,
/// text); how many.
fn index_rows(conn: &Connection, select: &str) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare(select)?;
    let mut rows = stmt.query([])?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let conv_id: i64 = row.get(0)?;
        let message = Message {
            seq: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
            id: row.get(2)?,
            from: row.get(3)?,
            kind: row.get(4)?,
            text: row.get(5)?,
            ..Message::default()
        };
        count += u64::from(add(conn, conv_id, &message)?);
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_pack_conv_and_seq() {
        assert_eq!(doc(1, 2), Some((1 << 32) | 2));
        assert_eq!(
            doc(i64::from(i32::MAX), u64::from(u32::MAX)),
            Some(i64::MAX)
        );
        assert_eq!(doc(1, 1 << 32), None);
        assert_eq!(doc(-1, 1), None);
    }
}
