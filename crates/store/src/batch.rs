//! What the two stores' writers share: one writer drains a bounded queue of
//! type-erased jobs in batches, each batch one transaction (group commit), and
//! every caller waits for its job's reply, sent only once the batch holding
//! the job committed (for SQLite: once that commit was synced).
//!
//! The writers differ in how they run a batch (a thread and a savepoint per
//! writing job; a task with lock-ordered jobs and retries), not in how jobs
//! come in and replies go out: that part is here, once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};

use crate::{StoreError, WriterStats};

/// Where a job's result goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// How many jobs may wait for a writer whose batches hold `max_batch`:
/// beyond this, callers wait to enqueue, which pushes back on them instead of
/// growing memory without bound.
pub(crate) const fn queue_depth(max_batch: usize) -> usize {
    8 * max_batch
}

/// What a writer counts of its work, read by [`Counters::stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Jobs taken off the queue.
    pub(crate) jobs: AtomicU64,
    /// Transactions committed; shared, so that another thread (SQLite's
    /// checkpointer) can follow them.
    pub(crate) commits: Arc<AtomicU64>,
}

impl Counters {
    /// The counts so far, with `syncs` syncs that made commits durable.
    pub(crate) fn stats(&self, syncs: impl FnOnce(u64) -> u64) -> WriterStats {
        let commits = self.commits.load(Ordering::Relaxed);
        WriterStats {
            jobs: self.jobs.load(Ordering::Relaxed),
            commits,
            syncs: syncs(commits),
            journal: 0,
        }
    }
}

/// Moves the jobs already waiting in `queue` into `batch`, without waiting,
/// until `batch` holds `max`.
pub(crate) fn take_queued<J>(queue: &mut mpsc::Receiver<J>, batch: &mut Vec<J>, max: usize) {
    while batch.len() < max {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

/// Queues the job that `make` builds around its reply, and waits for that
/// reply.
pub(crate) async fn submit<J, T>(
    jobs: &mpsc::Sender<J>,
    make: impl FnOnce(Reply<T>) -> J,
) -> Result<T, StoreError> {
    let (reply, result) = oneshot::channel();
    jobs.send(make(reply))
        .await
        .map_err(|_| StoreError::Unavailable("the store writer has stopped".into()))?;
    result
        .await
        .map_err(|_| StoreError::Unavailable("the store writer stopped before replying".into()))?
}

/// Sends a job's result: `failure` when its batch did not commit, else what
/// the job returned (nothing when it panicked).
pub(crate) fn settle<T>(
    reply: Reply<T>,
    failure: Option<&StoreError>,
    result: Option<Result<T, StoreError>>,
) {
    let result = match (failure, result) {
        (Some(failure), _) => Err(failure.clone()),
        (None, Some(result)) => result,
        (None, None) => Err(StoreError::Internal("the write panicked".into())),
    };
    // The caller may have stopped waiting; the write stands regardless.
    let _ = reply.send(result);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_batch_fails_its_jobs_even_when_they_succeeded() {
        let (reply, result) = oneshot::channel::<Result<u32, StoreError>>();
        settle(
            reply,
            Some(&StoreError::Internal("commit".into())),
            Some(Ok(1)),
        );
        assert!(matches!(result.await, Ok(Err(StoreError::Internal(_)))));

        let (reply, result) = oneshot::channel::<Result<u32, StoreError>>();
        settle(reply, None, Some(Ok(1)));
        assert!(matches!(result.await, Ok(Ok(1))));

        let (reply, result) = oneshot::channel::<Result<u32, StoreError>>();
        settle(reply, None, None);
        assert!(matches!(result.await, Ok(Err(StoreError::Internal(_)))));
    }

    #[tokio::test]
    async fn take_queued_stops_at_the_batch_limit_without_waiting() {
        let (tx, mut rx) = mpsc::channel(8);
        for i in 0..5 {
            tx.send(i).await.unwrap();
        }
        let mut batch = vec![100];
        take_queued(&mut rx, &mut batch, 3);
        assert_eq!(batch, [100, 0, 1]);
        take_queued(&mut rx, &mut batch, 10);
        assert_eq!(batch, [100, 0, 1, 2, 3, 4]);
    }
}
