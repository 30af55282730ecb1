//! Appending, reading and recalling messages.

use koi_core::{ConvId, HistoryRange};
use koi_proto::Message;
use tokio_postgres::Row;

use super::connect::{Db, clamp, execute, query, query_opt, unsigned};
use super::convs;
use super::search_index;
use super::writer::Ctx;
use crate::message_row::{self, Window, message_columns};
use crate::{Appended, Committed, NewMessage, StoreError, new_id};

/// Appends `message` with its conversation's next seq, announcing it unless it
/// is a repeat; records whom it mentions and, when its sender `sent` it
/// ([`crate::Store::append_sent`]), moves their read cursor to it. Runs in the
/// writer's transaction, which holds the conversation's counter row from the
/// bump to the commit.
///
/// One round trip in the common case: the counter bump, the insert, the
/// mentions and the cursor are one statement ([`BUMP_AND_INSERT`]). A repeat
/// (committed earlier, earlier in this transaction, or racing on another node,
/// whose transaction the insert waits for) inserts nothing: the job then asks
/// for its changes (the bumped counter) to be undone and returns the message
/// stored first. The first message of a direct or system conversation creates
/// its counter row, then runs the statement again.
pub(super) async fn append(
    db: &Db,
    message: NewMessage,
    sent: bool,
    now_ms: u64,
    ctx: &mut Ctx,
) -> Result<Appended, StoreError> {
    let id = new_id();
    let (seq, ts, inserted) = match bump_and_insert(db, &message, &id, sent, now_ms).await? {
        Some(found) => found,
        None => {
            convs::open(db, &message.conv).await?;
            bump_and_insert(db, &message, &id, sent, now_ms)
                .await?
                .ok_or_else(|| {
                    StoreError::Internal(format!("conversation {} cannot be opened", message.conv))
                })?
        }
    };
    if !inserted {
        ctx.undo = true;
        let earlier = by_client_msg_id(db, &message.from, &message.client_msg_id)
            .await?
            .ok_or_else(|| {
                StoreError::Internal(format!(
                    "message ({}, {}) conflicts yet cannot be found",
                    message.from, message.client_msg_id
                ))
            })?;
        return Ok(Appended {
            message: earlier,
            duplicate: true,
        });
    }
    Ok(announce(message, seq, id, ts, ctx))
}

/// `message`, stored at `seq` with `id` and `ts` in the open transaction:
/// announced to the commit listener, and what its append returns.
pub(super) fn announce(
    message: NewMessage,
    seq: u64,
    id: String,
    ts: u64,
    ctx: &mut Ctx,
) -> Appended {
    let name = message.conv.to_string();
    let (stored, origin) = message.stored(name, seq, id, ts);
    ctx.announced.push(Committed {
        message: std::sync::Arc::new(stored.clone()),
        origin,
    });
    Appended {
        message: stored,
        duplicate: false,
    }
}

/// Bumps an existing conversation's counter and inserts the message at the new
/// seq, with its mentions (`$15`) and, with `$16`, its sender's read cursor at
/// it; one row `(seq, ts, inserted)`, or none when the conversation has no
/// counter row yet. `inserted` is false for a repeat of `(sender,
/// client_msg_id)`, whose bump the caller undoes.
const BUMP_AND_INSERT: &str = "\
    WITH c AS ( \
        UPDATE convs SET last_seq = last_seq + 1, last_ts = GREATEST(last_ts, $2::bigint), \
               activity = nextval('conv_activity') \
        WHERE name = $1::text RETURNING id, last_seq, last_ts), \
    m AS ( \
        INSERT INTO messages (conv, seq, id, sender, kind, text, file_id, file_name, \
                              file_size, file_mime, meta, ts, client_msg_id, extra, search) \
        SELECT c.id, c.last_seq, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, \
               $9::bigint, $10::text, $11::text, c.last_ts, $12::text, $13::bytea, \
               $14::text::tsvector FROM c \
        ON CONFLICT (sender, client_msg_id) WHERE client_msg_id <> '' DO NOTHING \
        RETURNING conv, seq), \
    x AS ( \
        INSERT INTO mentions (user_id, conv, seq) \
        SELECT u, m.conv, m.seq FROM m, unnest($15::text[]) AS u ON CONFLICT DO NOTHING), \
    r AS ( \
        INSERT INTO read_cursors (user_id, conv, read_seq) \
        SELECT $4::text, $1::text, m.seq FROM m WHERE $16::boolean \
        ON CONFLICT (user_id, conv) \
        DO UPDATE SET read_seq = GREATEST(read_cursors.read_seq, excluded.read_seq)) \
    SELECT c.last_seq, c.last_ts, EXISTS (SELECT 1 FROM m) FROM c";

/// Runs [`BUMP_AND_INSERT`] for `message`: `(seq, ts, inserted)`, or `None`
/// when the conversation has no counter row yet.
async fn bump_and_insert(
    db: &Db,
    message: &NewMessage,
    id: &str,
    sent: bool,
    now_ms: u64,
) -> Result<Option<(u64, u64, bool)>, StoreError> {
    let file = message.file.as_ref();
    let extra = extra_bytes(message);
    let row = query_opt(
        db,
        BUMP_AND_INSERT,
        &[
            &message.conv.to_string(),
            &clamp(now_ms),
            &id,
            &message.from,
            &message.kind,
            &message.text,
            &file.map(|f| f.file_id.as_str()),
            &file.map(|f| f.name.as_str()),
            &file.map(|f| clamp(f.size)),
            &file.map(|f| f.mime.as_str()),
            &message.meta,
            &message.client_msg_id,
            &extra,
            &search_index::document(&message.kind, message.text.as_deref()),
            &message.extra.mentions,
            &sent,
        ],
    )
    .await?;
    row.map(|row| {
        Ok((
            unsigned(row.try_get(0)?),
            unsigned(row.try_get(1)?),
            row.try_get::<_, bool>(2)?,
        ))
    })
    .transpose()
}

/// The message stored under this idempotency key, if any.
pub(super) async fn by_client_msg_id(
    db: &Db,
    from: &str,
    client_msg_id: &str,
) -> Result<Option<Message>, StoreError> {
    if client_msg_id.is_empty() {
        return Ok(None);
    }
    // The `<> ''` term lets the planner use the partial unique index.
    let row = query_opt(
        db,
        concat!(
            "SELECT c.name, ",
            message_columns!(),
            " FROM messages m JOIN convs c ON c.id = m.conv \
             WHERE m.sender = $1 AND m.client_msg_id = $2 AND m.client_msg_id <> ''"
        ),
        &[&from, &client_msg_id],
    )
    .await?;
    row.map(|row| from_row(row.try_get(0)?, &row, 1))
        .transpose()
}

/// The messages of `conv` in `range`, ascending by seq.
pub(super) async fn history(
    db: &Db,
    conv: &ConvId,
    range: HistoryRange,
) -> Result<Vec<Message>, StoreError> {
    let window = Window::of(&range);
    let name = conv.to_string();
    let rows = query(
        db,
        window.sql(),
        &[
            &name,
            &clamp(window.after),
            &clamp(window.before),
            &i64::from(range.limit()),
        ],
    )
    .await?;
    let mut messages = rows
        .iter()
        .map(|row| from_row(name.clone(), row, 0))
        .collect::<Result<Vec<_>, _>>()?;
    if window.newest_first {
        messages.reverse();
    }
    Ok(messages)
}

/// One message of `conv`.
pub(super) async fn message(
    db: &Db,
    conv: &ConvId,
    seq: u64,
) -> Result<Option<Message>, StoreError> {
    let name = conv.to_string();
    let row = query_opt(
        db,
        concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages m WHERE m.conv = (SELECT id FROM convs WHERE name = $1) \
             AND m.seq = $2"
        ),
        &[&name, &clamp(seq)],
    )
    .await?;
    row.map(|row| from_row(name, &row, 0)).transpose()
}

/// Clears a message's content and marks it `recalled`; its seq, id, sender, ts
/// and client_msg_id stay, so the gap is visible and a retried send still dedups.
pub(super) async fn recall(db: &Db, conv: &ConvId, seq: u64) -> Result<(), StoreError> {
    let changed = execute(
        db,
        "UPDATE messages SET kind = 'recalled', text = NULL, file_id = NULL, file_name = NULL, \
         file_size = NULL, file_mime = NULL, meta = NULL, search = NULL \
         WHERE conv = (SELECT id FROM convs WHERE name = $1) AND seq = $2",
        &[&conv.to_string(), &clamp(seq)],
    )
    .await?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("message {conv}/{seq}")));
    }
    super::lifecycle::forget(db, &conv.to_string(), seq).await
}

/// Reads [`message_columns!`] starting at column `first`.
fn from_row(conv: String, row: &Row, first: usize) -> Result<Message, StoreError> {
    Ok(message_row::message(conv, row, first)?)
}

/// What `message` refers to (its event, reply, mentions), as stored in
/// `messages.extra`; `None` when nothing.
pub(super) fn extra_bytes(message: &NewMessage) -> Option<Vec<u8>> {
    crate::message_row::encode_extra(&koi_proto::Message {
        event: message.extra.event.clone(),
        reply_to: message.extra.reply_to,
        reply_preview: message.extra.reply_preview.clone(),
        mentions: message.extra.mentions.clone(),
        ..koi_proto::Message::default()
    })
}
