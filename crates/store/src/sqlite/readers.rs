//! A small pool of read-only connections.
//!
//! In WAL mode readers see the last commit and never wait for the writer, so
//! reads scale with connections instead of queueing behind group commits. SQLite
//! calls block, so each read runs on tokio's blocking pool; a semaphore makes
//! callers wait asynchronously for a free connection rather than park a thread.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::connect;
use crate::StoreError;

/// How many reads run at once. Small: the machine's cores are shared with the
/// writer and the server itself, and SQLite reads are short.
const READERS: usize = 4;

pub(super) struct Readers {
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    /// Opens the pool's connections to the database at `path`.
    pub(super) fn open(path: &Path) -> Result<Arc<Self>, StoreError> {
        let idle = (0..READERS)
            .map(|_| connect::open_reader(path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(Self {
            idle: Mutex::new(idle),
            permits: Arc::new(Semaphore::new(READERS)),
        }))
    }

    /// Runs `read` on a free connection.
    pub(super) async fn read<T, F>(self: &Arc<Self>, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            // Declared after the permit, so dropped before it: the connection is
            // back in the pool before the next reader may take one.
            let _permit = permit;
            let lease = Lease::take(&pool);
            read(lease.conn())
        })
        .await
        .map_err(|e| StoreError::Internal(format!("a store read panicked: {e}")))?
    }
}

/// A connection out of the pool, returned on drop (also when the read panics).
struct Lease<'a> {
    pool: &'a Readers,
    conn: Option<Connection>,
}

impl<'a> Lease<'a> {
    fn take(pool: &'a Readers) -> Self {
        let conn = pool
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        Self { pool, conn }
    }

    fn conn(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a permit guarantees an idle connection")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }
}
