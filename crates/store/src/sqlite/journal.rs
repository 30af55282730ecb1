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

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, params};

use super::appends::{Appends, Staged};
use super::recent::{Due, Latest, Pending, Published, Recent, recall};
use super::search_index;
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
         ts, client_msg_id, extra"
    };
}

/// Journal rows are deleted once this many at the front have moved.
const DELETE_STEP: i64 = 256;

/// A committed transaction that is not durable yet: readers do not see it
/// until the syncer has published it, so the writer keeps its own view of it.
struct Unsynced {
    number: u64,
    appends: Appends,
    /// The conversations it moved or recalled messages of. No move may take
    /// them until readers see the commit: a move copies messages from
    /// [`Recent`], which would still have them unrecalled, or not yet moved
    /// (and would take them twice).
    busy: Vec<String>,
}

/// A committed transaction as the syncer gets it, to publish once durable.
pub(super) struct Commit {
    /// Commits are numbered from 1 in commit order.
    pub(super) number: u64,
    moved: Vec<(String, u64)>,
    recalled: Vec<(String, u64)>,
    appended: Vec<(Pending, Option<u64>)>,
}

impl Commit {
    /// Makes the commit visible to readers; returns its new messages for the
    /// commit listener. Commits must be published in their order.
    pub(super) fn publish(self, recent: &Recent) -> Vec<Committed> {
        let announced = self
            .appended
            .iter()
            .map(|(pending, origin)| Committed {
                message: Arc::clone(&pending.message),
                origin: *origin,
            })
            .collect();
        recent.publish(Published {
            moved: self.moved,
            recalled: self.recalled,
            appended: self.appended.into_iter().map(|(p, _)| p).collect(),
        });
        announced
    }
}

/// The writer's side of the journal: what the open transaction added, recalled
/// and moved, and what committed transactions readers cannot see yet.
pub(super) struct Journal {
    recent: Arc<Recent>,
    policy: JournalPolicy,
    /// The next journal row; rows are numbered by the writer, so a rolled-back
    /// job leaves a harmless gap.
    next_row: i64,
    /// Journal rows below this are deleted.
    deleted_below: i64,
    /// What the open transaction appended.
    open: Appends,
    recalled: Vec<(String, u64)>,
    /// What the open transaction moved: each conversation up to a seq.
    moved: Vec<(String, u64)>,
    /// Committed, not yet published, oldest first.
    unsynced: VecDeque<Unsynced>,
    next_commit: u64,
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
            open: Appends::default(),
            recalled: Vec::new(),
            moved: Vec::new(),
            unsynced: VecDeque::new(),
            next_commit: 1,
        })
    }

    /// The committed transactions readers cannot see yet, newest first.
    fn unsynced_appends(&self) -> impl Iterator<Item = &Appends> {
        self.unsynced.iter().rev().map(|u| &u.appends)
    }

    /// The counters of `conv` as its newest message in the journal (committed or
    /// in the open transaction) left them; `None` when it has none there, and
    /// `convs` is up to date.
    pub(super) fn latest(&self, conv: &str) -> Option<Latest> {
        self.open
            .latest(conv)
            .or_else(|| self.unsynced_appends().find_map(|a| a.latest(conv)))
            .or_else(|| self.recent.latest(conv))
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
        ))?;
        bind_message(&mut insert, conv_id, &message)?;
        insert.raw_bind_parameter(15, n)?;
        insert.raw_bind_parameter(16, activity)?;
        insert.raw_execute()?;
        self.open.push(Staged {
            pending: Pending {
                n,
                conv_id,
                activity,
                message: Arc::new(message),
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
        let written = self.open.by_key(from, client_msg_id).or_else(|| {
            self.unsynced_appends()
                .find_map(|a| a.by_key(from, client_msg_id))
        });
        match written {
            Some(message) => Some(message.clone()),
            None => self.recent.by_key(from, client_msg_id),
        }
    }

    /// Recalls a message if it is in the journal; false when it is not (it has
    /// moved into `messages`, or does not exist).
    pub(super) fn recall(
        &mut self,
        conn: &Connection,
        conv: &str,
        seq: u64,
    ) -> Result<bool, StoreError> {
        // Where the message is: in the open transaction, a commit readers do
        // not see yet, or one they do.
        let in_open = self.open.row(conv, seq);
        let in_unsynced = || {
            self.unsynced
                .iter()
                .enumerate()
                .rev()
                .find_map(|(i, u)| Some((i, u.appends.row(conv, seq)?)))
        };
        let (row, unsynced) = if let Some(n) = in_open {
            (n, None)
        } else if let Some((i, n)) = in_unsynced() {
            (n, Some(i))
        } else if let Some(n) = self.recent.row(conv, seq) {
            (n, None)
        } else {
            return Ok(false);
        };
        conn.prepare_cached(
            "UPDATE journal SET kind = 'recalled', text = NULL, file_id = NULL, \
             file_name = NULL, file_size = NULL, file_mime = NULL, meta = NULL WHERE n = ?1",
        )?
        .execute([row])?;
        if in_open.is_some() {
            if let Some(pending) = self.open.get_mut(conv, seq) {
                recall(Arc::make_mut(&mut pending.message));
            }
            return Ok(true);
        }
        // The writer's own copy, for what it looks up before the commit is
        // published; readers get the recall with this transaction.
        if let Some(pending) = unsynced.and_then(|i| self.unsynced[i].appends.get_mut(conv, seq)) {
            recall(Arc::make_mut(&mut pending.message));
        }
        self.recalled.push((conv.to_owned(), seq));
        Ok(true)
    }

    /// Where the next job's changes start.
    pub(super) fn mark(&self) -> Mark {
        Mark {
            staged: self.open.len(),
            recalled: self.recalled.len(),
        }
    }

    /// Forgets the changes of a job that failed (its savepoint is rolled back).
    pub(super) fn undo_to(&mut self, mark: Mark) {
        self.open.truncate(mark.staged);
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
            .chain(
                self.unsynced
                    .iter()
                    .flat_map(|u| u.busy.iter().map(String::as_str)),
            )
            .collect();
        let budget = self.policy.move_budget.max(2 * self.open.len());
        let due = self.recent.due(self.policy.move_age, budget, &skip);
        if due.is_empty() {
            return Ok(());
        }
        let exec = |sql: &str| conn.prepare_cached(sql)?.execute([]).map(drop);
        exec("SAVEPOINT move")?;
        // Rows before the oldest one still pending have all moved: readers'
        // pending rows come first, then the unpublished commits', then the
        // open transaction's.
        let lowest = [
            self.recent.lowest_row(&due),
            self.unsynced.iter().find_map(|u| u.appends.first_row()),
            self.open.first_row(),
        ]
        .into_iter()
        .flatten()
        .min()
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

    /// After `COMMIT`: the transaction's changes, for the syncer to publish
    /// once they are durable. Until then the writer keeps its own view of them.
    pub(super) fn committed(&mut self) -> Commit {
        let number = self.next_commit;
        self.next_commit += 1;
        let appends = std::mem::take(&mut self.open);
        let moved = std::mem::take(&mut self.moved);
        let recalled = std::mem::take(&mut self.recalled);
        let busy: Vec<String> = moved
            .iter()
            .chain(&recalled)
            .map(|(conv, _)| conv.clone())
            .collect();
        let commit = Commit {
            number,
            moved,
            recalled,
            appended: appends.shared(),
        };
        if appends.len() > 0 || !busy.is_empty() {
            self.unsynced.push_back(Unsynced {
                number,
                appends,
                busy,
            });
        }
        commit
    }

    /// Forgets its own view of the commits up to `number`, which readers now see.
    pub(super) fn published(&mut self, number: u64) {
        while self.unsynced.front().is_some_and(|u| u.number <= number) {
            self.unsynced.pop_front();
        }
    }

    /// After a failed commit: forgets the transaction's changes, as SQLite did.
    pub(super) fn aborted(&mut self) {
        self.open = Appends::default();
        self.recalled.clear();
        self.moved.clear();
        // A deletion may have been rolled back with it: the next move deletes
        // from the start again (rows already gone cost nothing).
        self.deleted_below = 1;
    }
}

/// Inserts the due conversations' messages into `messages`, in (conv, seq)
/// order, indexes them for search, and brings their counters in `convs` up to their newest.
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
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    ))?;
    for conv in due {
        for p in &conv.messages {
            bind_message(&mut insert, p.conv_id, &p.message)?;
            insert.raw_execute()?;
            search_index::add(conn, p.conv_id, &p.message)?;
        }
    }
    Ok(())
}

/// Binds parameters 1 to 14 of an insert into `messages` or `journal`: the
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
    stmt.raw_bind_parameter(14, crate::message_row::encode_extra(m))?;
    Ok(())
}

/// Moves every journal row into `messages`, brings the counters in `convs` up
/// to them, indexes them for search, and empties the journal, in one
/// transaction. Rows that had moved before a crash (their deletion had not come yet) are already there and are
/// skipped.
fn drain(conn: &Connection) -> Result<(), StoreError> {
    let columns = shared_columns!();
    let left: i64 = conn.query_row("SELECT count(*) FROM journal", [], |row| row.get(0))?;
    if left == 0 {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    search_index::add_unmoved(conn)?;
    conn.execute_batch(&format!(
        "INSERT OR IGNORE INTO messages ({columns}) \
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::{connect, schema};

    const CONV: &str = "d:alice:bob";

    fn message(seq: u64, key: &str) -> koi_proto::Message {
        koi_proto::Message {
            conv: CONV.into(),
            seq,
            id: format!("m{seq}"),
            from: "alice".into(),
            kind: "text".into(),
            text: Some("hi".into()),
            ts: seq,
            client_msg_id: key.into(),
            ..koi_proto::Message::default()
        }
    }

    /// Runs `work` in one transaction, with the due moves, and commits.
    fn transaction(
        conn: &Connection,
        journal: &mut Journal,
        work: impl FnOnce(&mut Journal),
    ) -> Commit {
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        work(journal);
        journal.move_due(conn).expect("move");
        conn.execute_batch("COMMIT").expect("commit");
        journal.committed()
    }

    fn moved(conn: &Connection) -> Vec<(u64, String)> {
        let mut stmt = conn
            .prepare("SELECT seq, kind FROM messages ORDER BY seq")
            .expect("prepare");
        stmt.query_map([], |row| Ok((row.get::<_, i64>(0)? as u64, row.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    /// Until the syncer publishes a commit, the writer alone sees its
    /// messages: the next transactions number after them, find their keys
    /// and recall them, and move nothing of theirs, nor anything recalled
    /// by a commit readers do not see yet.
    #[test]
    fn the_writer_builds_on_commits_readers_do_not_see_yet() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = connect::open_writer(&dir.path().join("koi.db")).expect("open");
        schema::migrate(&mut conn).expect("migrate");
        let conv_id: i64 = conn
            .query_row(
                "INSERT INTO convs (name, last_seq, last_ts, activity) \
                 VALUES (?1, 0, 0, 0) RETURNING id",
                [CONV],
                |row| row.get(0),
            )
            .expect("conv");
        let recent = Arc::new(Recent::new(1..=1));
        let mut journal =
            Journal::open(&conn, recent.clone(), JournalPolicy::eager()).expect("journal");

        let first = transaction(&conn, &mut journal, |j| {
            j.append(&conn, conv_id, 1, message(1, "k1"), None)
                .expect("append");
        });
        assert_eq!(recent.latest(CONV), None, "readers do not see it yet");
        assert_eq!(journal.latest(CONV).map(|l| l.seq), Some(1));
        assert_eq!(journal.by_key("alice", "k1").map(|m| m.seq), Some(1));

        let recall = transaction(&conn, &mut journal, |j| {
            assert!(j.recall(&conn, CONV, 1).expect("recall"));
        });
        let number = first.number;
        assert_eq!(first.publish(&recent).len(), 1, "one new message");
        journal.published(number);
        assert_eq!(recent.message(CONV, 1).map(|m| m.kind), Some("text".into()));

        // Due (crowd 1, age 0), but its recall is not published yet.
        let held = transaction(&conn, &mut journal, |_| {});
        assert!(
            moved(&conn).is_empty(),
            "nothing moved before the recall is seen"
        );
        assert!(recall.publish(&recent).is_empty());
        let number = held.number;
        assert!(held.publish(&recent).is_empty());
        journal.published(number);
        assert_eq!(
            recent.message(CONV, 1).map(|m| m.kind),
            Some("recalled".into())
        );

        let moving = transaction(&conn, &mut journal, |_| {});
        assert_eq!(moved(&conn), [(1, "recalled".to_owned())]);
        let number = moving.number;
        moving.publish(&recent);
        journal.published(number);
        assert_eq!(recent.len(), 0, "moved out of memory");
        assert_eq!(journal.latest(CONV), None, "convs has it now");
    }
}
