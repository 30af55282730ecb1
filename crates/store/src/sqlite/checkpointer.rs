//! WAL checkpoints on a thread of their own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the WAL's
//! size threshold, on the writer thread: every message waiting for that commit
//! waited for the copy of the WAL into the database file as well (12 % of the
//! node's time at saturation, docs/benchmarks.md). Instead, this thread copies
//! what was committed, every [`BUSY_INTERVAL`] while commits happen, with a
//! `PASSIVE` checkpoint: it takes no lock the writer or the readers wait on.
//!
//! Often, because each checkpoint ends with a sync of the database file, and
//! the WAL syncs behind it on the same disk wait for it: small copies keep
//! that wait short. While the writer synced inside its commits (2026-12-03,
//! docs/benchmarks.md), send→ack p99 at 7,800 msgs/s was 16–17 ms with a
//! checkpoint every 100 ms, 10.5 ms every 25 ms and 5.9–6.4 ms every 5 ms.
//! Since the sync has a thread of its own (2026-12-04), every 25 ms is as
//! good or better at half the sustained rate (median p99 5.8 against 6.8 ms
//! for 5 ms, 6.3 for 50 ms) and halves the checkpoints' CPU; every 1 ms the
//! sustained rate fell by a fifth.
//! The writer keeps a much higher automatic threshold
//! ([`WRITER_AUTOCHECKPOINT`](super::connect::WRITER_AUTOCHECKPOINT)) as a
//! backstop should this thread fall behind.
//!
//! Durability does not depend on checkpoints: a commit is durable once its WAL
//! frames are synced, which the writer does before any reply.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

use super::worker::Worker;
use crate::StoreError;

/// How often the thread copies while commits keep coming.
const BUSY_INTERVAL: Duration = Duration::from_millis(25);
/// The longest it waits between looks while none come (it backs off to it).
const IDLE_INTERVAL: Duration = Duration::from_millis(100);

/// The checkpoint thread; stopped and joined on drop (`_stop` drops first,
/// which ends the thread's wait).
pub(super) struct Checkpointer {
    _stop: mpsc::Sender<()>,
    _thread: Worker,
}

impl Checkpointer {
    /// Starts checkpointing `conn`'s database whenever `commits` moved.
    pub(super) fn start(conn: Connection, commits: Arc<AtomicU64>) -> Result<Self, StoreError> {
        let (stop, stopped) = mpsc::channel();
        let thread = Worker::start("koi-store-checkpoint", move || {
            run(&conn, &commits, &stopped)
        })?;
        Ok(Self {
            _stop: stop,
            _thread: thread,
        })
    }
}

fn run(conn: &Connection, commits: &AtomicU64, stopped: &mpsc::Receiver<()>) {
    let mut copied_up_to = commits.load(Ordering::Relaxed);
    let mut interval = BUSY_INTERVAL;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
        let now = commits.load(Ordering::Relaxed);
        if now == copied_up_to {
            interval = (interval * 2).min(IDLE_INTERVAL);
            continue;
        }
        interval = BUSY_INTERVAL;
        // Busy (the writer's backstop checkpoint is running) is fine: try later.
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            row.get::<_, i64>(0)
        }) {
            Ok(_) => copied_up_to = now,
            Err(e) => tracing::debug!(error = %e, "checkpoint skipped"),
        }
    }
}
