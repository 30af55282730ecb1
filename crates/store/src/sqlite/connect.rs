//! Opening connections with the settings the store's guarantees rely on.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// How long a connection waits on a lock before reporting `Unavailable`. Only
/// checkpoints and schema changes take locks that readers or the writer wait on.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The writer's automatic checkpoint threshold, in WAL pages (40 MiB): only a
/// backstop, as the checkpoint thread normally copies the WAL long before.
pub(super) const WRITER_AUTOCHECKPOINT: u32 = 10_000;

/// The writer's page cache, in KiB (SQLite's default is 2 MiB). Every append
/// walks the messages tree, the idempotency index and the conversation row; the
/// pages that serve the active conversations must stay cached, or each append
/// reads them back from the OS. Grown only as pages are used.
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// Enough for every distinct statement a connection runs, so none is re-parsed.
const STATEMENT_CACHE: usize = 64;

/// Opens (creating if needed) the one connection that writes.
///
/// WAL lets readers proceed while the writer commits. `synchronous=NORMAL`
/// leaves the sync of each commit to the [`Syncer`](super::syncer), which
/// syncs the WAL before any reply, so an acknowledged write survives power
/// loss as with `FULL`; SQLite still syncs the WAL header when the WAL starts
/// over, and both files around checkpoints.
pub(super) fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Internal(format!(
            "could not enable WAL (journal_mode is {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Opens the write-ahead log of the database at `path`, for the syncer to
/// sync; call once the writer has read the database, which creates the log.
/// SQLite keeps the log's file while any connection is open (it only
/// truncates it or writes it over), so this handle stays the log's.
pub(super) fn open_wal(path: &Path) -> Result<File, StoreError> {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    File::open(&name).map_err(|e| {
        StoreError::Internal(format!(
            "cannot open the write-ahead log {}: {e}",
            Path::new(&name).display()
        ))
    })
}

/// Opens a read-only connection; call after the writer set up the database.
pub(super) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Opens the connection the checkpoint thread copies the WAL with.
pub(super) fn open_checkpointer(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Never run a checkpoint of its own accord: it writes nothing but this.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    Ok(conn)
}
