//! Appending a run of messages in one statement: the fast path of the writer.
//!
//! A batch's appends could each run [`messages::append`] in a savepoint of its
//! own: a subtransaction, a round trip and a counter bump per message, most of
//! PostgreSQL's work per message. Instead the writer hands every run of
//! consecutive appends in its batch to [`store`], which stores them with one
//! statement ([`statement`], prepared once per connection): the messages go in
//! as one array per column (`unnest`), every conversation's counter is bumped
//! once by its number of messages, and the rows are inserted with their seqs.
//! One statement, one bump per conversation. Everything else a message's
//! append does is part of the statement too: a direct send's
//! block check ([`Store::append_sent`]) instead of a read of its own before
//! the append, the users it mentions, and the sender's read cursor, moved to
//! their newest message of the run in each conversation.
//!
//! The statement takes the conversations' counter rows in name order (`FOR
//! UPDATE` under `ORDER BY`), the order of the writer's lock keys, so batches of
//! several nodes still take their locks in one global order; the senders' read
//! cursors come after every counter, as [`Store::set_read`]'s key sorts after
//! every conversation's. It stores all of
//! its messages or none: when one cannot be stored this way — a repeat of an
//! idempotency key (the plain insert fails on the unique index, so no seq is
//! skipped), the first message of a conversation that has no counter row
//! yet, or a message refused because its recipient blocked its sender — the
//! statement fails (the last two through the guard `koi_all_stored`, schema
//! step 11), and the caller runs the appends one by one, the path that
//! handles those cases. Because a failed statement stored nothing, the writer
//! can also run it as a transaction of its own, outside any transaction
//! block: PostgreSQL then commits it before it answers, and a batch of
//! appends costs one round trip.
//!
//! [`messages::append`]: super::messages::append
//! [`Store::append_sent`]: crate::Store::append_sent
//! [`Store::set_read`]: crate::Store::set_read

use std::fmt::Write as _;
use std::sync::OnceLock;

use tokio_postgres::error::Severity;
use tokio_postgres::types::ToSql;

use super::connect::{Db, clamp, unsigned};
use super::messages::extra_bytes;
use super::search_index;
use crate::{NewMessage, StoreError};

/// One message of the run, with the id the store gives it.
pub(super) struct Pending<'a> {
    pub(super) message: &'a NewMessage,
    pub(super) id: &'a str,
    /// The recipient, when the message is not to be stored if they blocked
    /// its sender.
    pub(super) unless_blocked_by: Option<&'a str>,
    /// Whether the message moves its sender's read cursor (a send).
    pub(super) moves_cursor: bool,
}

/// Where and when a message of the run was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Placed {
    pub(super) seq: u64,
    pub(super) ts: u64,
}

/// One column of `messages` that the statement fills from the run, one array
/// element per message.
struct Column<'a> {
    name: &'static str,
    /// The element's SQL type; the parameter is an array of it.
    sql_type: &'static str,
    /// A cast from `sql_type` to the column's own type, where PostgreSQL
    /// makes none by itself (`""` when none is needed).
    cast: &'static str,
    values: Box<dyn ToSql + Send + Sync + 'a>,
}

/// The column `name` of type `sql_type`, `value` of each message.
fn column<'a, T>(
    name: &'static str,
    sql_type: &'static str,
    run: &[Pending<'a>],
    value: impl Fn(&Pending<'a>) -> T,
) -> Column<'a>
where
    T: ToSql + Send + Sync + 'a,
{
    Column {
        name,
        sql_type,
        cast: "",
        values: Box::new(run.iter().map(value).collect::<Vec<T>>()),
    }
}

/// Every column of `messages` but `conv`, `seq` and `ts`, which the statement
/// computes. A new column of `messages` is one more line here.
fn columns<'a>(run: &[Pending<'a>]) -> Vec<Column<'a>> {
    vec![
        column("id", "text", run, |p| p.id),
        column("sender", "text", run, |p| p.message.from.as_str()),
        column("kind", "text", run, |p| p.message.kind.as_str()),
        column("text", "text", run, |p| p.message.text.as_deref()),
        column("file_id", "text", run, |p| {
            p.message.file.as_ref().map(|f| f.file_id.as_str())
        }),
        column("file_name", "text", run, |p| {
            p.message.file.as_ref().map(|f| f.name.as_str())
        }),
        column("file_size", "bigint", run, |p| {
            p.message.file.as_ref().map(|f| clamp(f.size))
        }),
        column("file_mime", "text", run, |p| {
            p.message.file.as_ref().map(|f| f.mime.as_str())
        }),
        column("meta", "text", run, |p| p.message.meta.as_deref()),
        column("client_msg_id", "text", run, |p| {
            p.message.client_msg_id.as_str()
        }),
        column("extra", "bytea", run, |p| extra_bytes(p.message)),
        Column {
            cast: "::tsvector",
            ..column("search", "text", run, |p| {
                search_index::document(&p.message.kind, p.message.text.as_deref())
            })
        },
    ]
}

/// The statement for `columns`. `$1` holds each message's conversation name,
/// `$2` the writer's clock, `$3` each message's `unless_blocked_by`, `$4`
/// whether it moves its sender's read cursor; `$5` and `$6` are the mentions,
/// a message's position in the run and a user each; each column's array
/// follows.
///
/// - `m`: the run, one row per message, `n` its position; without the
///   messages whose recipient blocked their sender.
/// - `c`: each conversation's counter row, locked in name order, bumped by its
///   count of messages; `base` is its seq before the run.
/// - `r`: each message with its seq (`base` + its rank in its conversation,
///   in run order) and the conversation's new `last_ts` as its ts, the value
///   a single append gives it; `r` is inserted and returned.
/// - `x`: the mentions of the messages in `r`.
/// - `rc`: each sender's read cursor in each conversation they sent to, moved
///   to their last message there (one row each: an upsert may not touch a row
///   twice), in (user, conversation) order.
///
/// A message whose conversation has no counter row has no row in `r`; the
/// guard `koi_all_stored` then fails the statement, as it does when the
/// recipient of one blocked its sender.
fn build(columns: &[Column<'_>]) -> String {
    let mut arrays = String::from("$1::text[], $3::text[], $4::boolean[]");
    let mut names = String::new();
    let mut values = String::new();
    for (index, column) in columns.iter().enumerate() {
        let _ = write!(arrays, ", ${}::{}[]", index + 7, column.sql_type);
        let _ = write!(names, ", {}", column.name);
        let _ = write!(values, ", {}{}", column.name, column.cast);
    }
    format!(
        "WITH m AS ( \
             SELECT * FROM unnest({arrays}) \
                 WITH ORDINALITY AS m(conv_name, unless_blocked_by, moves_cursor{names}, n) \
             WHERE NOT EXISTS (SELECT 1 FROM contacts b WHERE b.user_id = m.unless_blocked_by \
                               AND b.other = m.sender AND b.blocked)), \
         k AS (SELECT conv_name, count(*) AS count FROM m GROUP BY conv_name), \
         c AS ( \
             UPDATE convs SET last_seq = convs.last_seq + k.count, \
                 last_ts = GREATEST(convs.last_ts, $2::bigint), \
                 activity = nextval('conv_activity') \
             FROM (SELECT id, name FROM convs WHERE name = ANY ($1::text[]) \
                   ORDER BY name FOR UPDATE) AS l \
             JOIN k ON k.conv_name = l.name \
             WHERE convs.id = l.id \
             RETURNING convs.id, l.name, convs.last_seq - k.count AS base, convs.last_ts), \
         r AS MATERIALIZED ( \
             SELECT m.*, c.id AS conv, c.last_ts AS ts, \
                 c.base + row_number() OVER (PARTITION BY m.conv_name ORDER BY m.n) AS seq \
             FROM m JOIN c ON c.name = m.conv_name), \
         i AS (INSERT INTO messages (conv, seq, ts{names}) SELECT conv, seq, ts{values} FROM r), \
         x AS (INSERT INTO mentions (user_id, conv, seq) \
               SELECT u.user_id, r.conv, r.seq \
               FROM unnest($5::bigint[], $6::text[]) AS u(n, user_id) JOIN r ON r.n = u.n \
               ON CONFLICT DO NOTHING), \
         rc AS (INSERT INTO read_cursors (user_id, conv, read_seq) \
                SELECT sender, conv_name, max(seq) FROM r WHERE moves_cursor \
                GROUP BY sender, conv_name ORDER BY sender, conv_name \
                ON CONFLICT (user_id, conv) \
                DO UPDATE SET read_seq = GREATEST(read_cursors.read_seq, excluded.read_seq)) \
         SELECT n, seq, ts FROM r \
         WHERE koi_all_stored((SELECT count(*) FROM r), cardinality($1::text[]))"
    )
}

/// The statement, built once: the same text every time, so each connection
/// prepares it once (its statement cache, `prepare_cached`) and PostgreSQL
/// parses it once per connection.
fn statement() -> &'static str {
    static STATEMENT: OnceLock<String> = OnceLock::new();
    STATEMENT.get_or_init(|| build(&columns(&[])))
}

/// Why a run was not stored by [`store`].
#[derive(Debug)]
pub(super) enum Unstored {
    /// The server refused the statement, which stored nothing: a message
    /// that cannot be stored this way (see the module docs), or any other
    /// error of the statement. The appends are to be run one by one.
    Refused(StoreError),
    /// The connection failed, or the server ended the session: whether the
    /// statement ran is unknown.
    Lost(StoreError),
}

impl Unstored {
    fn of(e: tokio_postgres::Error) -> Self {
        // An ERROR ends the statement, which is rolled back; FATAL and PANIC
        // end the session, maybe after it committed.
        let refused = e
            .as_db_error()
            .is_some_and(|db| db.parsed_severity() == Some(Severity::Error));
        if refused {
            Self::Refused(e.into())
        } else {
            Self::Lost(e.into())
        }
    }
}

/// Stores `run` in one statement: each message's place, in run order. Stores
/// nothing when one of its messages cannot be stored this way ([`Unstored`]).
pub(super) async fn store(
    db: &Db,
    run: &[Pending<'_>],
    now_ms: u64,
) -> Result<Vec<Placed>, Unstored> {
    let convs: Vec<String> = run.iter().map(|p| p.message.conv.to_string()).collect();
    let now = clamp(now_ms);
    let columns = columns(run);
    let blocked_by: Vec<Option<&str>> = run.iter().map(|p| p.unless_blocked_by).collect();
    let moves_cursor: Vec<bool> = run.iter().map(|p| p.moves_cursor).collect();
    let (mut mentioning, mut mentioned) = (Vec::new(), Vec::new());
    for (n, pending) in (1_i64..).zip(run) {
        for user in &pending.message.extra.mentions {
            mentioning.push(n);
            mentioned.push(user.as_str());
        }
    }
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![
        &convs,
        &now,
        &blocked_by,
        &moves_cursor,
        &mentioning,
        &mentioned,
    ];
    params.extend(columns.iter().map(|c| &*c.values as &(dyn ToSql + Sync)));
    let statement = db.prepare_cached(statement()).await.map_err(Unstored::of)?;
    let rows = db.query(&statement, &params).await.map_err(Unstored::of)?;
    let mut placed = vec![None; run.len()];
    // The rows came after the statement ended: a bad one is a bug, and the
    // statement has run.
    let lost = |e: tokio_postgres::Error| Unstored::Lost(e.into());
    for row in rows {
        let n = unsigned(row.try_get(0).map_err(lost)?) as usize;
        if let Some(slot) = n.checked_sub(1).and_then(|i| placed.get_mut(i)) {
            *slot = Some(Placed {
                seq: unsigned(row.try_get(1).map_err(lost)?),
                ts: unsigned(row.try_get(2).map_err(lost)?),
            });
        }
    }
    // The guard makes this all or none: when the run had no row at all
    // (each message refused), nothing was stored either.
    placed.into_iter().collect::<Option<_>>().ok_or_else(|| {
        Unstored::Refused(StoreError::Internal(
            "no message of the run could be stored in one statement".into(),
        ))
    })
}
