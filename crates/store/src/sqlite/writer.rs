//! The writer: one OS thread owning the only write connection, committing
//! concurrent writes in shared transactions (group commit).
//!
//! The thread takes every job queued while it ran the previous transaction,
//! runs them all in one transaction and commits. A job that writes runs in
//! its own savepoint, so one failing (a conflict, a limit) is undone alone;
//! appending a message to an existing conversation needs none, its one write
//! being a single statement, atomic by itself (see [`Tx::savepoint`]). The commit
//! is not durable yet: the [`Syncer`] syncs it while the writer goes on with
//! the next transaction, and no job's result is sent before that sync.
//!
//! Jobs that store messages write them to the [`Journal`]; once the sync
//! covers their commit, and before any reply, readers can see them and the
//! commit listener gets them in commit order: fan-out never pushes a message
//! that could still be lost, and has it before its sender gets the ack. Each
//! transaction ends by moving the conversations that are due from the journal
//! into `messages`.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use rusqlite::Connection;
use tokio::sync::mpsc;

use super::checkpointer::Checkpointer;
use super::connect;
use super::journal::Journal;
use super::recent::Recent;
use super::syncer::{SyncState, Syncer, stopped_writing};
use super::worker::Worker;
use crate::batch::{self, Counters, Reply};
use crate::listener::ListenerSlot;
use crate::{CommitListener, StoreError, WriterStats};

/// The most jobs in one transaction; bounds the latency a batch adds to its
/// first job and the work lost to a failed commit.
const MAX_BATCH: usize = 1024;

/// How many jobs may wait for the writer ([`batch::queue_depth`]).
const QUEUE: usize = batch::queue_depth(MAX_BATCH);

/// Every this many commits the writer sizes its page cache again for the
/// database's size ([`connect::fit_writer_cache`]): a few seconds under load.
const FIT_CACHE_EVERY: u64 = 4096;

/// What a job works with: the write connection, in the open transaction, and
/// the journal that messages go to.
pub(super) struct Tx<'a> {
    pub(super) conn: &'a Connection,
    pub(super) journal: &'a mut Journal,
    /// Whether the job opened its savepoint.
    savepoint: bool,
}

impl Tx<'_> {
    /// Opens the job's savepoint, once: when the job fails, what it wrote
    /// after this is undone and the other jobs of the batch stand.
    ///
    /// A job calls it before it writes, unless its only write is one
    /// statement after which it cannot fail: a statement that fails changes
    /// nothing. The savepoint is not free (each page the job changes is
    /// copied first, and it takes two statements), and appending a message,
    /// most of the writer's work, does without. Work given to
    /// [`Writer::call`] always has it.
    pub(super) fn savepoint(&mut self) -> Result<(), StoreError> {
        if !self.savepoint {
            self.conn.prepare_cached("SAVEPOINT job")?.execute([])?;
            self.savepoint = true;
        }
        Ok(())
    }
}

/// One write operation, type-erased so that every kind shares the queue.
pub(super) trait Job: Send {
    /// Runs the operation in the open transaction; true when it succeeded.
    fn run(&mut self, tx: &mut Tx<'_>) -> bool;
    /// Sends the operation's result, or `failure` when its batch did not commit.
    fn reply(self: Box<Self>, failure: Option<&StoreError>);
}

struct Call<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: Reply<T>,
}

impl<T, F> Job for Call<T, F>
where
    T: Send,
    F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, tx: &mut Tx<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = work(tx);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn reply(self: Box<Self>, failure: Option<&StoreError>) {
        batch::settle(self.reply, failure, self.result);
    }
}

/// The handle to the writer thread.
///
/// Field order matters: dropping `jobs` first closes the queue, so the thread
/// finishes the queued jobs and exits, which `_thread` then waits for; the
/// checkpoint thread stops after the last commit.
pub(super) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
    counters: Arc<Counters>,
    listener: Arc<ListenerSlot>,
    sync: Arc<SyncState>,
    /// Joined on drop: the last commit is made before the store is gone, so
    /// the file is closed and can be reopened at once.
    _thread: Worker,
    _checkpointer: Checkpointer,
}

impl Writer {
    /// Starts the writer thread on `conn` with `journal`, the sync thread on
    /// `wal` (the database's write-ahead log, published to `recent`), and the
    /// checkpoint thread on `checkpoint` (a second connection to the same
    /// database).
    pub(super) fn start(
        conn: Connection,
        journal: Journal,
        wal: File,
        recent: Arc<Recent>,
        checkpoint: Connection,
    ) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        let checkpointer = Checkpointer::start(checkpoint, counters.commits.clone())?;
        let listener = Arc::new(ListenerSlot::default());
        let sync = Arc::new(SyncState::default());
        let syncer = Syncer::start(wal, recent, listener.clone(), sync.clone())?;
        let thread = Worker::start("koi-store-writer", {
            let (counters, sync) = (counters.clone(), sync.clone());
            move || run(conn, journal, queue, &counters, syncer, &sync)
        })?;
        Ok(Self {
            jobs,
            counters,
            listener,
            sync,
            _thread: thread,
            _checkpointer: checkpointer,
        })
    }

    /// Runs `work` in the writer's next transaction and returns its result once
    /// that transaction committed.
    ///
    /// `work` runs inside a savepoint: when it returns an error, its changes are
    /// rolled back and the other jobs of the batch are unaffected.
    pub(super) async fn call<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.call_in_tx(move |tx| {
            tx.savepoint()?;
            work(tx.conn)
        })
        .await
    }

    /// [`Writer::call`] for work that uses the journal: what it appends there
    /// goes to readers and the commit listener once committed (and is
    /// forgotten when the work fails). The work opens its savepoint itself
    /// ([`Tx::savepoint`]) before it writes.
    pub(super) async fn call_in_tx<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        batch::submit(&self.jobs, |reply| -> Box<dyn Job> {
            Box::new(Call {
                work: Some(work),
                result: None,
                reply,
            })
        })
        .await
    }

    /// Installs the function called with each commit's new messages.
    pub(super) fn set_listener(&self, listener: CommitListener) {
        self.listener.set(listener);
    }

    /// Jobs and commits so far; `commits < jobs` shows batching at work.
    pub(super) fn stats(&self) -> WriterStats {
        self.counters.stats(|_| self.sync.syncs())
    }
}

/// The thread: block for a job, take whatever else is queued, commit them
/// together, and hand the commit to the syncer.
fn run(
    conn: Connection,
    mut journal: Journal,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    counters: &Counters,
    syncer: Syncer,
    sync: &SyncState,
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        batch::take_queued(&mut queue, &mut batch, MAX_BATCH);
        counters
            .jobs
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        if sync.failed() {
            let failure = stopped_writing();
            for job in batch.drain(..) {
                job.reply(Some(&failure));
            }
            continue;
        }
        journal.published(sync.published());
        match commit(&conn, &mut journal, &mut batch) {
            Ok(()) => {
                let commits = counters.commits.fetch_add(1, Ordering::Relaxed) + 1;
                if commits.is_multiple_of(FIT_CACHE_EVERY)
                    && let Err(e) = connect::fit_writer_cache(&conn)
                {
                    tracing::warn!(error = %e, "could not size the writer's page cache");
                }
                let jobs = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
                syncer.send(journal.committed(), jobs);
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = batch.len(), "store batch failed to commit");
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                journal.aborted();
                for job in batch.drain(..) {
                    job.reply(Some(&e));
                }
            }
        }
    }
    // The last commits are synced and replied to before the connection closes.
    drop(syncer);
    drop(conn);
}

/// Runs `batch` in one transaction, each job in the savepoint it opened, then
/// the journal's due moves, and commits.
fn commit(
    conn: &Connection,
    journal: &mut Journal,
    batch: &mut [Box<dyn Job>],
) -> Result<(), StoreError> {
    let exec = |sql: &str| conn.prepare_cached(sql)?.execute([]).map(drop);
    exec("BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        let mark = journal.mark();
        let mut tx = Tx {
            conn,
            journal: &mut *journal,
            savepoint: false,
        };
        let ok = catch_unwind(AssertUnwindSafe(|| job.run(&mut tx))).unwrap_or(false);
        let savepoint = tx.savepoint;
        // Some failures (I/O, disk full) make SQLite roll back the whole
        // transaction; the next job would then autocommit on its own, so stop.
        if conn.is_autocommit() {
            return Err(StoreError::Internal(
                "the transaction was rolled back by SQLite".into(),
            ));
        }
        if !ok {
            journal.undo_to(mark);
            if savepoint {
                exec("ROLLBACK TO job")?;
            }
        }
        if savepoint {
            exec("RELEASE job")?;
        }
    }
    journal.move_due(conn)?;
    exec("COMMIT")?;
    Ok(())
}
