//! The journal: where a commit writes its messages, in commit order.
//!
//! `messages` is clustered on `(conv, seq)`, so a commit of a hundred messages to
//! a hundred conversations dirtied a hundred leaf pages of it, and as many of
//! the idempotency index: 19–26 KB synced per 100-byte message. The journal
//! is a rowid table written only at its end, so the same commit fills a few
//! contiguous pages. Each conversation's messages are moved into `messages`
//! later, many at a time (when it has [`JournalPolicy::move_count`] pending or
//! its oldest has waited [`JournalPolicy::move_age`]), so that one page write
//! carries many of them; journal rows are deleted from the front once every
//! row before them has moved.
//!
//! Until a message moves, readers find it in [`Recent`], which the writer
//! updates after each commit. Opening the store moves whatever the journal
//! still holds (a move is idempotent), so a crash at any point loses nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, params};

use super::recent::{Due, Latest, Pending, Published, Recent, recall};
use super::sent_keys::SentKeys;
use crate::{Committed, StoreError};

/// When the writer moves a conversation's messages from the journal into
/// `messages`.
#[derive(Debug, Clone, Copy)]
pub struct JournalPolicy {
    /// Move a conversation once this many of its messages are pending, or
    /// as few as half as many: the number is drawn for each conversation
    /// each time it starts having pending messages, so that conversations
    /// busy at the same pace spread their moves over time.
    pub move_count: usize,
    /// Move a conversation once its oldest pending message waited this long.
    pub move_age: Duration,
    /// The fewest messages one commit may move; it may move twice as many as it
    /// appended when that is more. This bounds what moving adds to a commit's
    /// latency while keeping up with any rate of appends; due conversations
    /// beyond it wait for the next commit.
    pub move_budget: usize,
}

impl Default for JournalPolicy {
    /// A conversation busy enough to matter fills a few pages per move; a
    /// quiet one moves within five seconds.
    fn default() -> Self {
        Self {
            move_count: 64,
            move_age: Duration::from_secs(5),
            move_budget: 64,
        }
    }
}

impl JournalPolicy {
    /// The range each conversation's number of pending messages that makes
    /// it due is drawn from.
    pub(super) fn crowd(&self) -> std::ops::RangeInclusive<usize> {
        self.move_count.div_ceil(2)..=self.move_count
    }

    /// Moves every message at the first commit after its own: for tests, so that
    /// both places a message can be in are exercised.
    pub fn eager() -> Self {
        Self {
            move_count: 1,
            move_age: Duration::ZERO,
            move_budget: usize::MAX,
        }
    }
}

/// The columns `journal` shares with `messages`, in both tables' order and in
/// [`bind_message`]'s.
macro_rules! shared_columns {
    () => {
        "conv, seq, id, sender, kind, text, file_id, file_name, file_size, file_mime, meta, \
         ts, client_msg_id"
    };
}

/// Journal rows are deleted once this many at the front have moved.
const DELETE_STEP: i64 = 256;

/// A message appended in the open transaction.
struct Staged {
    pending: Pending,
    origin: Option<u64>,
}

/// The writer's side of the journal: what the open transaction added, recalled
/// and moved, published to [`Recent`] once it commits.
pub(super) struct Journal {
    recent: Arc<Recent>,
    policy: JournalPolicy,
    /// The next journal row; rows are numbered by the writer, so a rolled-back
    /// job leaves a harmless gap.
    next_row: i64,
    /// Journal rows below this are deleted.
    deleted_below: i64,
    staged: Vec<Staged>,
    /// `(sender, client_msg_id)` of staged messages → index in `staged`.
    staged_keys: SentKeys<usize>,
    /// Conversation → index in `staged` of its newest staged message.
    staged_latest: HashMap<String, usize>,
    recalled: Vec<(String, u64)>,
    /// What the open transaction moved: each conversation up to a seq.
    moved: Vec<(String, u64)>,
}

/// Where a job's changes to the journal start, to undo them when it fails.
#[derive(Clone, Copy)]
pub(super) struct Mark {
    staged: usize,
    recalled: usize,
}

impl Journal {
    /// Moves what an earlier process left in the journal, then starts empty.
    pub(super) fn open(
        conn: &Connection,
        recent: Arc<Recent>,
        policy: JournalPolicy,
    ) -> Result<Self, StoreError> {
        drain(conn)?;
        Ok(Self {
            recent,
            policy,
            next_row: 1,
            deleted_below: 1,
            staged: Vec::new(),
            staged_keys: SentKeys::default(),
            staged_latest: HashMap::new(),
            recalled: Vec::new(),
            moved: Vec::new(),
        })
    }

    /// The counters of `conv` as its newest message in the journal (committed or
    /// in the open transaction) left them; `None` when it has none there, and
    /// `convs` is up to date.
    pub(super) fn latest(&self, conv: &str) -> Option<Latest> {
        match self.staged_latest.get(conv) {
            Some(&i) => Some(Latest::of(&self.staged[i].pending)),
            None => self.recent.latest(conv),
        }
    }

    /// Writes a message to the journal in the open transaction, stamping its
    /// conversation with `activity`.
    pub(super) fn append(
        &mut self,
        conn: &Connection,
        conv_id: i64,
        activity: i64,
        message: koi_proto::Message,
        origin: Option<u64>,
    ) -> Result<(), StoreError> {
        let n = self.next_row;
        self.next_row += 1;
        let mut insert = conn.prepare_cached(concat!(
            "INSERT INTO journal (",
            shared_columns!(),
            ", n, activity) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        ))?;
        bind_message(&mut insert, conv_id, &message)?;
        insert.raw_bind_parameter(14, n)?;
        insert.raw_bind_parameter(15, activity)?;
        insert.raw_execute()?;
        if !message.client_msg_id.is_empty() {
            self.staged_keys
                .insert(&message.from, &message.client_msg_id, self.staged.len());
        }
        self.staged_latest
            .insert(message.conv.clone(), self.staged.len());
        self.staged.push(Staged {
            pending: Pending {
                n,
                conv_id,
                activity,
                message,
            },
            origin,
        });
        Ok(())
    }

    /// The message `from` sent with `client_msg_id`, if it is in the journal
    /// (committed or in the open transaction).
    pub(super) fn by_key(&self, from: &str, client_msg_id: &str) -> Option<koi_proto::Message> {
        if client_msg_id.is_empty() {
            return None;
        }
        let staged = self
            .staged_keys
            .get(from, client_msg_id)
            .map(|&i| self.staged[i].pending.message.clone());
        staged.or_else(|| self.recent.by_key(from, client_msg_id))
    }

    /// Recalls a message if it is in the journal; false when it is not (it has
    /// moved into `messages`, or does not exist).
    pub(super) fn recall(
        &mut self,
        conn: &Connection,
        conv: &str,
        seq: u64,
    ) -> Result<bool, StoreError> {
        let staged = self
            .staged
            .iter()
            .position(|s| s.pending.message.seq == seq && s.pending.message.conv == conv);
        let row = match staged {
            Some(i) => self.staged[i].pending.n,
            None => match self.recent.row(conv, seq) {
                Some(n) => n,
                None => return Ok(false),
            },
        };
        conn.prepare_cached(
            "UPDATE journal SET kind = 'recalled', text = NULL, file_id = NULL, \
             file_name = NULL, file_size = NULL, file_mime = NULL, meta = NULL WHERE n = ?1",
        )?
        .execute([row])?;
        match staged {
            Some(i) => recall(&mut self.staged[i].pending.message),
            None => self.recalled.push((conv.to_owned(), seq)),
        }
        Ok(true)
    }

    /// Where the next job's changes start.
    pub(super) fn mark(&self) -> Mark {
        Mark {
            staged: self.staged.len(),
            recalled: self.recalled.len(),
        }
    }

    /// Forgets the changes of a job that failed (its savepoint is rolled back).
    pub(super) fn undo_to(&mut self, mark: Mark) {
        if self.staged.len() > mark.staged {
            for undone in self.staged.drain(mark.staged..) {
                let message = &undone.pending.message;
                if !message.client_msg_id.is_empty() {
                    self.staged_keys
                        .remove(&message.from, &message.client_msg_id);
                }
            }
            // A conversation whose newest staged message was undone may have an
            // older one left.
            self.staged_latest.clear();
            for (i, staged) in self.staged.iter().enumerate() {
                self.staged_latest
                    .insert(staged.pending.message.conv.clone(), i);
            }
        }
        self.recalled.truncate(mark.recalled);
    }

    /// Moves the conversations that are due from the journal into `messages`,
    /// in the open transaction, after its jobs ran. A failed move is undone
    /// alone (its messages stay in the journal, readable) and retried later.
    pub(super) fn move_due(&mut self, conn: &Connection) -> Result<(), StoreError> {
        let skip: Vec<&str> = self
            .recalled
            .iter()
            .map(|(conv, _)| conv.as_str())
            .collect();
        let budget = self.policy.move_budget.max(2 * self.staged.len());
        let due = self.recent.due(self.policy.move_age, budget, &skip);
        if due.is_empty() {
            return Ok(());
        }
        let exec = |sql: &str| conn.prepare_cached(sql)?.execute([]).map(drop);
        exec("SAVEPOINT move")?;
        // Rows before the oldest one still pending have all moved.
        let lowest = self
            .recent
            .lowest_row(&due)
            .or_else(|| self.staged.first().map(|s| s.pending.n))
            .unwrap_or(self.next_row);
        let delete = lowest - self.deleted_below >= DELETE_STEP;
        let moved = write_moves(conn, &due).and_then(|()| {
            if delete {
                conn.prepare_cached("DELETE FROM journal WHERE n < ?1")?
                    .execute([lowest])?;
            }
            Ok(())
        });
        match moved {
            Ok(()) => {
                exec("RELEASE move")?;
                if delete {
                    self.deleted_below = lowest;
                }
                self.moved = due
                    .into_iter()
                    .filter_map(|d| Some((d.conv, d.messages.last()?.message.seq)))
                    .collect();
            }
            Err(e) => {
                tracing::error!(error = %e, "moving messages out of the journal failed");
                exec("ROLLBACK TO move")?;
                exec("RELEASE move")?;
            }
        }
        Ok(())
    }

    /// After `COMMIT`: makes the transaction's changes visible to readers and
    /// returns its new messages for the commit listener.
    pub(super) fn committed(&mut self) -> Vec<Committed> {
        let staged = std::mem::take(&mut self.staged);
        self.staged_keys.clear();
        self.staged_latest.clear();
        let announced = staged
            .iter()
            .map(|s| Committed {
                message: s.pending.message.clone(),
                origin: s.origin,
            })
            .collect();
        self.recent.publish(Published {
            moved: std::mem::take(&mut self.moved),
            recalled: std::mem::take(&mut self.recalled),
            appended: staged.into_iter().map(|s| s.pending).collect(),
        });
        announced
    }

    /// After a failed commit: forgets the transaction's changes, as SQLite did.
    pub(super) fn aborted(&mut self) {
        self.staged.clear();
        self.staged_keys.clear();
        self.staged_latest.clear();
        self.recalled.clear();
        self.moved.clear();
        // A deletion may have been rolled back with it: the next move deletes
        // from the start again (rows already gone cost nothing).
        self.deleted_below = 1;
    }
}

/// Inserts the due conversations' messages into `messages`, in (conv, seq)
/// order, and brings their counters in `convs` up to their newest.
fn write_moves(conn: &Connection, due: &[Due]) -> Result<(), StoreError> {
    let mut counters = conn.prepare_cached(
        "UPDATE convs SET last_seq = ?2, last_ts = ?3, activity = ?4 WHERE id = ?1",
    )?;
    for conv in due {
        if let Some(newest) = conv.messages.last() {
            let latest = Latest::of(newest);
            counters.execute(params![
                newest.conv_id,
                latest.seq as i64,
                latest.ts as i64,
                latest.activity
            ])?;
        }
    }
    let mut insert = conn.prepare_cached(concat!(
        "INSERT INTO messages (",
        shared_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))?;
    for conv in due {
        for p in &conv.messages {
            bind_message(&mut insert, p.conv_id, &p.message)?;
            insert.raw_execute()?;
        }
    }
    Ok(())
}

/// Binds parameters 1 to 13 of an insert into `messages` or `journal`: the
/// conversation and the message's columns, in the tables' order.
fn bind_message(
    stmt: &mut rusqlite::CachedStatement<'_>,
    conv_id: i64,
    m: &koi_proto::Message,
) -> rusqlite::Result<()> {
    let file = m.file.as_ref();
    stmt.raw_bind_parameter(1, conv_id)?;
    stmt.raw_bind_parameter(2, m.seq as i64)?;
    stmt.raw_bind_parameter(3, &m.id)?;
    stmt.raw_bind_parameter(4, &m.from)?;
    stmt.raw_bind_parameter(5, &m.kind)?;
    stmt.raw_bind_parameter(6, &m.text)?;
    stmt.raw_bind_parameter(7, file.map(|f| &f.file_id))?;
    stmt.raw_bind_parameter(8, file.map(|f| &f.name))?;
    stmt.raw_bind_parameter(9, file.map(|f| f.size as i64))?;
    stmt.raw_bind_parameter(10, file.map(|f| &f.mime))?;
    stmt.raw_bind_parameter(11, &m.meta)?;
    stmt.raw_bind_parameter(12, m.ts as i64)?;
    stmt.raw_bind_parameter(13, &m.client_msg_id)?;
    Ok(())
}

/// Moves every journal row into `messages`, brings the counters in `convs` up
/// to them, and empties the journal, in one transaction. Rows that had moved
/// before a crash (their deletion had not come yet) are already there and are
/// skipped.
fn drain(conn: &Connection) -> Result<(), StoreError> {
    let columns = shared_columns!();
    let left: i64 = conn.query_row("SELECT count(*) FROM journal", [], |row| row.get(0))?;
    if left == 0 {
        return Ok(());
    }
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE; \
         INSERT OR IGNORE INTO messages ({columns}) \
             SELECT {columns} FROM journal ORDER BY conv, seq; \
         UPDATE convs SET last_seq = j.seq, last_ts = j.ts, activity = j.activity \
             FROM (SELECT conv, max(seq) AS seq, max(ts) AS ts, max(activity) AS activity \
                   FROM journal GROUP BY conv) AS j \
             WHERE convs.id = j.conv AND j.seq > convs.last_seq; \
         DELETE FROM journal; \
         COMMIT;"
    ))?;
    tracing::info!(
        messages = left,
        "moved the journal left by the last run into messages"
    );
    Ok(())
}
