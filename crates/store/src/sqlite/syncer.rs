//! The syncer: makes the writer's commits durable, and only then lets anyone
//! know of them.
//!
//! The writer commits with `synchronous=NORMAL`: SQLite writes a commit's
//! frames to the WAL without syncing it (it still syncs the WAL's header when
//! the WAL starts over, and both files around each checkpoint). This thread
//! syncs the WAL file (`fdatasync`), then, for every commit the sync covered
//! and in commit order, publishes it to readers ([`Recent`]), hands its new
//! messages to the commit listener and replies to its jobs. Meanwhile the
//! writer runs the next transaction: the sync no longer stops it (it was
//! about 40 % of the writer's time, docs/benchmarks.md), and one sync covers
//! every commit written before it.
//!
//! Durability is that of `synchronous=FULL`: no reply, push or read of a
//! message comes before a sync that covers its commit. What may come earlier:
//! reader connections see a committed transaction's other rows (a new user, a
//! membership) before its sync. Killing the process loses none of it (the
//! frames are in the OS's page cache); an OS crash or power loss in that
//! window can, and then no job of that transaction had its reply.
//!
//! A failed sync leaves no way to know what is durable (the kernel may have
//! dropped the pages it could not write), so the store stops writing: the
//! jobs of the commits that sync covered, and all later ones, fail with
//! `Unavailable`.

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;

use super::journal::Commit;
use super::recent::Recent;
use super::worker::Worker;
use super::writer::Job;
use crate::StoreError;
use crate::listener::ListenerSlot;

/// How many commits may wait for the syncer beyond the ones it is syncing;
/// past this the writer waits, so a slow disk pushes back on it.
const WAITING: usize = 2;

/// What the syncer tells the writer.
#[derive(Default)]
pub(super) struct SyncState {
    /// The number of the last commit published to readers.
    published: AtomicU64,
    /// `fdatasync` calls that succeeded.
    syncs: AtomicU64,
    /// A sync failed: nothing more is written.
    failed: AtomicBool,
}

impl SyncState {
    pub(super) fn published(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    pub(super) fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    pub(super) fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }
}

/// A commit and the jobs it ran, waiting for their sync.
struct Written {
    commit: Commit,
    jobs: Vec<Box<dyn Job>>,
}

/// The syncer thread; on drop it syncs what was sent, replies, and stops
/// (`written` drops first, which ends the thread's queue).
pub(super) struct Syncer {
    written: mpsc::SyncSender<Written>,
    _thread: Worker,
}

impl Syncer {
    /// Starts syncing `wal`, the database's write-ahead log.
    pub(super) fn start(
        wal: File,
        recent: Arc<Recent>,
        listener: Arc<ListenerSlot>,
        state: Arc<SyncState>,
    ) -> Result<Self, StoreError> {
        let (written, queue) = mpsc::sync_channel(WAITING);
        let thread = Worker::start("koi-store-sync", move || {
            run(&wal, &queue, &recent, &listener, &state)
        })?;
        Ok(Self {
            written,
            _thread: thread,
        })
    }

    /// Hands over a commit, to be published and its jobs replied to once a
    /// sync covers it; waits while [`WAITING`] commits already wait.
    pub(super) fn send(&self, commit: Commit, jobs: Vec<Box<dyn Job>>) {
        if let Err(mpsc::SendError(written)) = self.written.send(Written { commit, jobs }) {
            // The thread is gone (it panicked): the commit's durability is unknown.
            tracing::error!("the store sync thread has stopped");
            let failure = StoreError::Unavailable("the store sync thread has stopped".into());
            for job in written.jobs {
                job.reply(Some(&failure));
            }
        }
    }
}

/// What every write gets once a sync failed.
pub(super) fn stopped_writing() -> StoreError {
    StoreError::Unavailable("the store stopped writing after a failed sync".into())
}

fn run(
    wal: &File,
    queue: &mpsc::Receiver<Written>,
    recent: &Recent,
    listener: &ListenerSlot,
    state: &SyncState,
) {
    let mut covered = Vec::new();
    while let Ok(first) = queue.recv() {
        covered.push(first);
        covered.extend(queue.try_iter());
        let synced = if state.failed() {
            Err(stopped_writing())
        } else {
            wal.sync_data().map_err(|e| {
                tracing::error!(error = %e, "syncing the write-ahead log failed; the store stops writing");
                state.failed.store(true, Ordering::Release);
                StoreError::Unavailable(format!("the store could not sync its log: {e}"))
            })
        };
        if synced.is_ok() {
            state.syncs.fetch_add(1, Ordering::Relaxed);
        }
        for Written { commit, jobs } in covered.drain(..) {
            if synced.is_ok() {
                let number = commit.number;
                listener.announce(commit.publish(recent));
                state.published.store(number, Ordering::Release);
            }
            for job in jobs {
                job.reply(synced.as_ref().err());
            }
        }
    }
}
