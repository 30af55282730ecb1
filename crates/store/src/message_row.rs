//! A stored message as both stores read it back: the columns they select
//! ([`message_columns!`]), the mapping from those columns to a [`Message`]
//! ([`message`]), and the window a history range reads ([`Window`]).
//!
//! The two backends differ only in how a column is fetched (rusqlite's `Row`
//! or tokio-postgres's), which [`Columns`] abstracts; what the columns mean is
//! written once, here.

use koi_core::HistoryRange;
use koi_proto::{File, Message};

/// The columns of `messages m` that [`message`] reads, in its order.
macro_rules! message_columns {
    () => {
        "m.seq, m.id, m.sender, m.kind, m.text, m.file_id, m.file_name, m.file_size, \
         m.file_mime, m.meta, m.ts, m.client_msg_id, m.extra"
    };
}
pub(crate) use message_columns;

/// One result row, read column by column as the types a message needs.
pub(crate) trait Columns {
    /// What a failed read returns.
    type Error;
    fn text(&self, index: usize) -> Result<String, Self::Error>;
    fn optional_text(&self, index: usize) -> Result<Option<String>, Self::Error>;
    /// A BIGINT / INTEGER column.
    fn integer(&self, index: usize) -> Result<i64, Self::Error>;
    fn optional_bytes(&self, index: usize) -> Result<Option<Vec<u8>>, Self::Error>;
}

impl Columns for rusqlite::Row<'_> {
    type Error = rusqlite::Error;
    fn text(&self, index: usize) -> rusqlite::Result<String> {
        self.get(index)
    }
    fn optional_text(&self, index: usize) -> rusqlite::Result<Option<String>> {
        self.get(index)
    }
    fn integer(&self, index: usize) -> rusqlite::Result<i64> {
        self.get(index)
    }
    fn optional_bytes(&self, index: usize) -> rusqlite::Result<Option<Vec<u8>>> {
        self.get(index)
    }
}

impl Columns for tokio_postgres::Row {
    type Error = tokio_postgres::Error;
    fn text(&self, index: usize) -> Result<String, tokio_postgres::Error> {
        self.try_get(index)
    }
    fn optional_text(&self, index: usize) -> Result<Option<String>, tokio_postgres::Error> {
        self.try_get(index)
    }
    fn integer(&self, index: usize) -> Result<i64, tokio_postgres::Error> {
        self.try_get(index)
    }
    fn optional_bytes(&self, index: usize) -> Result<Option<Vec<u8>>, tokio_postgres::Error> {
        self.try_get(index)
    }
}

/// An integer column read back as the unsigned value it was stored from.
fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The message of `conv` in [`message_columns!`], starting at column `first`.
pub(crate) fn message<R: Columns + ?Sized>(
    conv: String,
    row: &R,
    first: usize,
) -> Result<Message, R::Error> {
    let col = |i: usize| first + i;
    let file = match row.optional_text(col(5))? {
        Some(file_id) => Some(File {
            file_id,
            name: row.text(col(6))?,
            size: unsigned(row.integer(col(7))?),
            mime: row.text(col(8))?,
        }),
        None => None,
    };
    let extra = decode_extra(row.optional_bytes(col(12))?);
    Ok(Message {
        conv,
        seq: unsigned(row.integer(col(0))?),
        id: row.text(col(1))?,
        from: row.text(col(2))?,
        kind: row.text(col(3))?,
        text: row.optional_text(col(4))?,
        file,
        meta: row.optional_text(col(9))?,
        ts: unsigned(row.integer(col(10))?),
        client_msg_id: row.text(col(11))?,
        event: extra.event,
        reply_to: extra.reply_to,
        reply_preview: extra.reply_preview,
        mentions: extra.mentions,
        ..Message::default()
    })
}

/// The `extra` column of `m`: the protobuf encoding of a [`Message`] holding
/// only its §11 references (event, reply, mentions), or NULL when it has none.
pub(crate) fn encode_extra(m: &Message) -> Option<Vec<u8>> {
    if m.event.is_none() && m.reply_to.is_none() && m.mentions.is_empty() {
        return None;
    }
    let only = Message {
        event: m.event.clone(),
        reply_to: m.reply_to,
        reply_preview: m.reply_preview.clone(),
        mentions: m.mentions.clone(),
        ..Message::default()
    };
    Some(prost::Message::encode_to_vec(&only))
}

/// The message [`encode_extra`] stored; an unreadable column (never written
/// by Koi) reads as none, and is logged.
fn decode_extra(bytes: Option<Vec<u8>>) -> Message {
    let Some(bytes) = bytes else {
        return Message::default();
    };
    <Message as prost::Message>::decode(bytes.as_slice()).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a stored message's extra column does not decode");
        Message::default()
    })
}

/// The seqs a history range reads: every shape is an open interval
/// `(after, before)` read from one end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) after: u64,
    pub(crate) before: u64,
    /// Read from the newest end (then reversed to ascending).
    pub(crate) newest_first: bool,
}

/// A history window's query, read from its newest end. Parameters: the
/// conversation's name, `after`, `before`, the limit. Written with `$N`, which
/// PostgreSQL numbers and SQLite takes as parameters named `$1` … `$4`,
/// numbered in order of first appearance: both bind them by position.
const NEWEST_FIRST: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages m WHERE m.conv = (SELECT id FROM convs WHERE name = $1) \
     AND m.seq > $2 AND m.seq < $3 ORDER BY m.seq DESC LIMIT $4"
);

/// [`NEWEST_FIRST`], read from the oldest end.
const OLDEST_FIRST: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages m WHERE m.conv = (SELECT id FROM convs WHERE name = $1) \
     AND m.seq > $2 AND m.seq < $3 ORDER BY m.seq ASC LIMIT $4"
);

impl Window {
    /// The query that reads this window from the right end.
    pub(crate) fn sql(&self) -> &'static str {
        if self.newest_first {
            NEWEST_FIRST
        } else {
            OLDEST_FIRST
        }
    }

    pub(crate) fn of(range: &HistoryRange) -> Window {
        let (after, before, newest_first) = match *range {
            HistoryRange::Latest { .. } => (0, u64::MAX, true),
            HistoryRange::After { after, .. } => (after, u64::MAX, false),
            HistoryRange::Before { before, .. } => (0, before, true),
            HistoryRange::Between { after, before, .. } => (after, before, false),
        };
        Window {
            after,
            before,
            newest_first,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_range_reads_its_open_interval_from_the_right_end() {
        let w = |range| {
            let w = Window::of(&range);
            (w.after, w.before, w.newest_first)
        };
        assert_eq!(w(HistoryRange::Latest { limit: 5 }), (0, u64::MAX, true));
        assert_eq!(
            w(HistoryRange::After { after: 3, limit: 5 }),
            (3, u64::MAX, false)
        );
        assert_eq!(
            w(HistoryRange::Before {
                before: 9,
                limit: 5
            }),
            (0, 9, true)
        );
        assert_eq!(
            w(HistoryRange::Between {
                after: 3,
                before: 9,
                limit: 5
            }),
            (3, 9, false)
        );
    }
}
