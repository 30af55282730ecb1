//! The writer: one task committing concurrent writes in shared transactions
//! (group commit).
//!
//! Every commit costs the server a WAL flush and the node a round trip, which
//! dominate the cost of a small write. So the task takes every job queued while
//! the previous commit was running, runs them all in one transaction on its own
//! connection and commits once. Each job runs in its own savepoint, so one failing
//! (a conflict, a limit) is undone alone, and no job's result is sent before the
//! transaction holding it committed.
//!
//! Jobs that store messages announce them; after the commit, and before any
//! reply, the commit listener gets them in commit order: fan-out never pushes a
//! message that could still be lost, and has it before its sender gets the ack.
//!
//! Several nodes write to the same database. A job's row locks (a conversation's
//! seq counter, a group's row) are held until its batch commits, so two batches
//! taking the same locks in opposite orders would deadlock. Each job names the
//! lock it takes and a batch runs its jobs sorted by that key, so every batch
//! takes its locks in one global order. A job that still loses a deadlock, or
//! times out waiting for a lock, is rolled back alone and run again in the next
//! transaction, after this one released its locks.
//!
//! Appends, the bulk of the writes, have a faster path: each run of
//! consecutive appends in a batch (consecutive in key order) is stored with
//! one statement in one savepoint ([`batched_append`]); only when that
//! statement cannot store them all are they run one by one as above. A batch
//! of appends only, the common case, is that one statement and no
//! transaction block around it ([`commit_appends`]): one round trip.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use deadpool_postgres::{Object, Pool};
use futures::FutureExt;
use tokio::sync::mpsc;

use super::batched_append::{self, Pending, Placed, Unstored};
use super::connect::Db;
use crate::batch::{self, Counters, Reply};
use crate::listener::ListenerSlot;
use crate::{CommitListener, Committed, StoreError, WriterStats};

/// The most jobs in one transaction; bounds the latency a batch adds to its
/// first job and the work lost to a failed commit.
///
/// Each job that writes is a subtransaction with an id of its own. PostgreSQL
/// tracks up to 64 of them per transaction in shared memory; past that, every
/// other session's snapshots taken while the batch is open are "suboverflowed"
/// and their visibility checks go through `pg_subtrans`, slowing every node's
/// reads. A batch of 64 already spreads a commit's fixed cost (a WAL flush, a
/// round trip) over enough jobs that larger ones would gain little.
const MAX_BATCH: usize = 64;

/// How many jobs may wait for the writer ([`batch::queue_depth`]).
const QUEUE: usize = batch::queue_depth(MAX_BATCH);

/// How often a job whose failure was transient (a deadlock, a lock time-out) is
/// run, in successive transactions, before its error is returned.
const MAX_ATTEMPTS: u32 = 3;

/// The longest a batch may take from BEGIN to COMMIT. Past it the connection is
/// dropped (the server then rolls back whatever did not commit) and every job
/// of the batch fails.
const BATCH_TIMEOUT: Duration = Duration::from_secs(60);

/// What a job sees besides the connection.
#[derive(Default)]
pub(super) struct Ctx {
    /// The messages stored so far in this transaction, for the commit listener.
    /// A job pushes the ones it stored; they are dropped again if it fails.
    pub(super) announced: Vec<Committed>,
    /// Set by a job that succeeds but wants its changes undone (an append that
    /// found, late, that its message was stored already).
    pub(super) undo: bool,
}

/// The future of one run of a job's work.
pub(super) type Work<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The future of one run of a job.
pub(super) type Run<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// How a job's run ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Outcome {
    Done,
    Failed,
    /// Failed for a transient reason: run it again in the next transaction.
    Again,
}

/// A job's runs so far, and the result of the last one.
pub(super) struct Runs<T> {
    attempts: u32,
    result: Option<Result<T, StoreError>>,
}

impl<T> Default for Runs<T> {
    fn default() -> Self {
        Self {
            attempts: 0,
            result: None,
        }
    }
}

impl<T> Runs<T> {
    /// A run starts (a panic in it leaves no result).
    pub(super) fn start(&mut self) {
        self.attempts += 1;
        self.result = None;
    }

    /// The run ended with `result`: how it counts.
    pub(super) fn finish(&mut self, result: Result<T, StoreError>) -> Outcome {
        let outcome = match &result {
            Ok(_) => Outcome::Done,
            Err(StoreError::Unavailable(_)) if self.attempts < MAX_ATTEMPTS => Outcome::Again,
            Err(_) => Outcome::Failed,
        };
        self.result = Some(result);
        outcome
    }

    /// Sets the result without a run (a job the writer completed itself).
    pub(super) fn set(&mut self, result: Result<T, StoreError>) {
        self.result = Some(result);
    }

    /// Sends the result to `reply`, or `failure` when the batch did not commit.
    pub(super) fn settle(self, reply: Reply<T>, failure: Option<&StoreError>) {
        batch::settle(reply, failure, self.result);
    }
}

/// One write operation, type-erased so that every kind shares the queue.
pub(super) trait Job: Send {
    /// The lock the job takes; batches run their jobs in key order.
    fn key(&self) -> &str;
    /// The message, when the job appends one and does nothing else: the
    /// writer may then store it together with its neighbours' instead of
    /// running the job ([`batched_append`]).
    fn appends(&self) -> Option<Pending<'_>> {
        None
    }
    /// Completes an [`appends`](Job::appends) job whose message the writer
    /// stored at `placed`, in place of a run.
    fn placed(&mut self, _placed: Placed, _ctx: &mut Ctx) {}
    /// Runs the operation in the open transaction (inside its savepoint).
    fn run<'a>(&'a mut self, db: &'a Db, ctx: &'a mut Ctx) -> Run<'a>;
    /// Sends the operation's result, or `failure` when its batch did not commit.
    fn reply(self: Box<Self>, failure: Option<&StoreError>);
}

struct Call<T, F> {
    key: String,
    work: F,
    runs: Runs<T>,
    reply: Reply<T>,
}

impl<T, F> Job for Call<T, F>
where
    T: Send,
    F: for<'a> Fn(&'a Db, &'a mut Ctx) -> Work<'a, T> + Send,
{
    fn key(&self) -> &str {
        &self.key
    }

    fn run<'a>(&'a mut self, db: &'a Db, ctx: &'a mut Ctx) -> Run<'a> {
        Box::pin(async move {
            self.runs.start();
            let result = (self.work)(db, ctx).await;
            self.runs.finish(result)
        })
    }

    fn reply(self: Box<Self>, failure: Option<&StoreError>) {
        self.runs.settle(self.reply, failure);
    }
}

/// The handle to the writer task. Dropping it closes the queue: the task
/// finishes the queued jobs and ends.
pub(super) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
    counters: Arc<Counters>,
    listener: Arc<ListenerSlot>,
}

impl Writer {
    /// Starts the writer task, writing through `pool` (its own, of one
    /// connection, so that reads never delay a commit).
    pub(super) fn start(pool: Pool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        let listener = Arc::new(ListenerSlot::default());
        tokio::spawn(run(pool, queue, counters.clone(), listener.clone()));
        Self {
            jobs,
            counters,
            listener,
        }
    }

    /// Runs `work` in the writer's next transaction and returns its result once
    /// that transaction committed.
    ///
    /// `work` runs inside a savepoint: when it returns an error, its changes are
    /// rolled back and the other jobs of the batch are unaffected. It may run
    /// more than once (in successive transactions) when it failed transiently,
    /// hence `Fn`. `key` names the row lock it takes (see the module docs).
    pub(super) async fn call<T, F>(&self, key: String, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'a> Fn(&'a Db, &'a mut Ctx) -> Work<'a, T> + Send + 'static,
    {
        batch::submit(&self.jobs, |reply| -> Box<dyn Job> {
            Box::new(Call {
                key,
                work,
                runs: Runs::default(),
                reply,
            })
        })
        .await
    }

    /// Queues the job that `make` builds around its reply (an append) for the
    /// writer's next transaction, and returns its result once that
    /// transaction committed.
    pub(super) async fn submit<T: Send + 'static>(
        &self,
        make: impl FnOnce(Reply<T>) -> Box<dyn Job>,
    ) -> Result<T, StoreError> {
        batch::submit(&self.jobs, make).await
    }

    /// Installs the function called with each commit's new messages.
    pub(super) fn set_listener(&self, listener: CommitListener) {
        self.listener.set(listener);
    }

    /// Jobs and commits so far; `commits < jobs` shows batching at work.
    pub(super) fn stats(&self) -> WriterStats {
        // PostgreSQL syncs within each commit.
        self.counters.stats(|commits| commits)
    }
}

/// The task: wait for a job, take whatever else is queued, commit them together.
async fn run(
    pool: Pool,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    counters: Arc<Counters>,
    listener: Arc<ListenerSlot>,
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    let mut again: Vec<Box<dyn Job>> = Vec::new();
    let mut outcomes = Vec::with_capacity(MAX_BATCH);
    let mut ctx = Ctx::default();
    loop {
        // Jobs to run again go first: they have waited longest.
        batch.append(&mut again);
        let carried = batch.len();
        if batch.is_empty() {
            match queue.recv().await {
                Some(job) => batch.push(job),
                None => break,
            }
        }
        batch::take_queued(&mut queue, &mut batch, MAX_BATCH);
        counters
            .jobs
            .fetch_add((batch.len() - carried) as u64, Ordering::Relaxed);
        // Stable: jobs with the same key keep their queue order.
        batch.sort_by(|a, b| a.key().cmp(b.key()));

        outcomes.clear();
        ctx.announced.clear();
        let committed = commit(&pool, &mut batch, &mut outcomes, &mut ctx).await;
        match &committed {
            Ok(()) => {
                counters.commits.fetch_add(1, Ordering::Relaxed);
                listener.announce(std::mem::take(&mut ctx.announced));
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = batch.len(), "store batch failed to commit");
            }
        }
        for (index, job) in batch.drain(..).enumerate() {
            if committed.is_ok() && outcomes.get(index) == Some(&Outcome::Again) {
                again.push(job);
            } else {
                job.reply(committed.as_ref().err());
            }
        }
    }
}

/// Runs `batch` in one transaction on a connection of `pool` and commits.
///
/// On any failure the connection is dropped rather than returned to the pool:
/// its transaction may still be open, or its state unknown. Closing it makes the
/// server roll back whatever did not commit.
async fn commit(
    pool: &Pool,
    batch: &mut [Box<dyn Job>],
    outcomes: &mut Vec<Outcome>,
    ctx: &mut Ctx,
) -> Result<(), StoreError> {
    let db = pool.get().await?;
    let work = async {
        let batched = match commit_appends(&db, batch, outcomes, ctx).await? {
            Alone::Committed => return Ok(()),
            Alone::NotAppendsOnly => true,
            // The statement would fail again inside the transaction.
            Alone::Refused => false,
        };
        transaction(&db, batch, outcomes, ctx, batched).await
    };
    let result = tokio::time::timeout(BATCH_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the transaction timed out; its outcome is unknown".into(),
            ))
        });
    if result.is_err() {
        drop(Object::take(db));
    }
    result
}

/// BEGIN, each job in the savepoint `job` (each run of appends in one when
/// `batched`), COMMIT.
async fn transaction(
    db: &Db,
    batch: &mut [Box<dyn Job>],
    outcomes: &mut Vec<Outcome>,
    ctx: &mut Ctx,
    batched: bool,
) -> Result<(), StoreError> {
    db.batch_execute("BEGIN; SAVEPOINT job").await?;
    // Whether the savepoint holds finished jobs' changes, to keep (release)
    // before the next job opens a fresh one. After ROLLBACK TO it is empty again
    // and the next job can use it as it is.
    let mut holds_changes = false;
    let mut start = 0;
    while start < batch.len() {
        let appends = batch[start..]
            .iter()
            .take_while(|job| job.appends().is_some())
            .count();
        // A lone append gains nothing from the batched statement.
        if batched && appends >= 2 {
            let run = &mut batch[start..start + appends];
            if store_appends(db, run, ctx, &mut holds_changes).await? {
                outcomes.extend(std::iter::repeat_n(Outcome::Done, appends));
            } else {
                for job in run.iter_mut() {
                    outcomes.push(run_job(db, job.as_mut(), ctx, &mut holds_changes).await?);
                }
            }
            start += appends;
        } else {
            let job = batch[start].as_mut();
            outcomes.push(run_job(db, job, ctx, &mut holds_changes).await?);
            start += 1;
        }
    }
    // RELEASE fails if the transaction is in an aborted state, where COMMIT
    // would quietly roll back instead: never report that as success.
    db.batch_execute("RELEASE SAVEPOINT job; COMMIT")
        .await
        .map_err(|e| match StoreError::from(e) {
            // The connection broke or the server shut down around the COMMIT:
            // it may or may not have happened.
            StoreError::Unavailable(e) => {
                StoreError::Unavailable(format!("the commit's outcome is unknown: {e}"))
            }
            e => StoreError::Internal(format!("the commit failed: {e}")),
        })
}

/// Releases the savepoint when it holds changes, and opens a fresh one.
///
/// This goes out together with the next job's first statement (the client
/// pipelines requests sent before either answer), which saves a round trip
/// per job. Should the RELEASE fail, the transaction is aborted, the job fails
/// too, and so does the batch.
async fn release(db: &Db, holds_changes: bool) -> Result<(), StoreError> {
    if holds_changes {
        db.batch_execute("RELEASE SAVEPOINT job; SAVEPOINT job")
            .await?;
    }
    Ok(())
}

/// Runs one job in the savepoint; a job that fails, or asks for it (`undo`),
/// is rolled back alone.
async fn run_job(
    db: &Db,
    job: &mut dyn Job,
    ctx: &mut Ctx,
    holds_changes: &mut bool,
) -> Result<Outcome, StoreError> {
    let before = ctx.announced.len();
    ctx.undo = false;
    let run = AssertUnwindSafe(job.run(db, ctx)).catch_unwind();
    let (released, outcome) = futures::join!(release(db, *holds_changes), run);
    released?;
    let outcome = outcome.unwrap_or(Outcome::Failed);
    if outcome == Outcome::Done && !ctx.undo {
        *holds_changes = true;
    } else {
        ctx.announced.truncate(before);
        // Also fails when the connection is gone, which ends the batch.
        db.batch_execute("ROLLBACK TO SAVEPOINT job").await?;
        *holds_changes = false;
    }
    Ok(outcome)
}

/// Stores a run of append jobs with one statement in the savepoint and
/// completes them. False when the statement could not store them all: its
/// changes are rolled back, and the jobs are to be run one by one.
async fn store_appends(
    db: &Db,
    run: &mut [Box<dyn Job>],
    ctx: &mut Ctx,
    holds_changes: &mut bool,
) -> Result<bool, StoreError> {
    let pending: Vec<Pending<'_>> = run.iter().filter_map(|job| job.appends()).collect();
    let (released, stored) = futures::join!(
        release(db, *holds_changes),
        batched_append::store(db, &pending, super::now_ms())
    );
    drop(pending);
    released?;
    match stored {
        Ok(placed) => {
            place(run, placed, ctx);
            *holds_changes = true;
            Ok(true)
        }
        Err(e) => {
            tracing::debug!(error = ?e, "batched append failed; appending one by one");
            // Also fails when the connection is gone, which ends the batch.
            db.batch_execute("ROLLBACK TO SAVEPOINT job").await?;
            *holds_changes = false;
            Ok(false)
        }
    }
}

/// Completes the append jobs of `run`, stored at `placed`.
fn place(run: &mut [Box<dyn Job>], placed: Vec<Placed>, ctx: &mut Ctx) {
    for (job, placed) in run.iter_mut().zip(placed) {
        job.placed(placed, ctx);
    }
}

/// What [`commit_appends`] did with a batch.
enum Alone {
    /// Stored and committed it.
    Committed,
    /// Nothing: the batch holds other jobs than appends. It is to be run as a
    /// transaction.
    NotAppendsOnly,
    /// The server refused the statement, which stored nothing: the batch is
    /// to be run as a transaction, its appends one by one.
    Refused,
}

/// Stores a batch made of appends only with the batched statement alone,
/// outside any transaction block: PostgreSQL runs it as a transaction of its
/// own and answers once that committed. One round trip for the whole batch,
/// where a transaction takes three (BEGIN and a savepoint, the statement,
/// RELEASE and COMMIT) and four more statements.
///
/// Fails when the statement's outcome is unknown.
async fn commit_appends(
    db: &Db,
    batch: &mut [Box<dyn Job>],
    outcomes: &mut Vec<Outcome>,
    ctx: &mut Ctx,
) -> Result<Alone, StoreError> {
    let pending: Option<Vec<Pending<'_>>> = batch.iter().map(|job| job.appends()).collect();
    let Some(pending) = pending else {
        return Ok(Alone::NotAppendsOnly);
    };
    let stored = batched_append::store(db, &pending, super::now_ms()).await;
    drop(pending);
    match stored {
        Ok(placed) => {
            place(batch, placed, ctx);
            outcomes.extend(std::iter::repeat_n(Outcome::Done, batch.len()));
            Ok(Alone::Committed)
        }
        Err(Unstored::Refused(e)) => {
            tracing::debug!(error = %e, "batched append refused; appending one by one");
            Ok(Alone::Refused)
        }
        Err(Unstored::Lost(e)) => Err(StoreError::Unavailable(format!(
            "the batched append's outcome is unknown: {e}"
        ))),
    }
}
