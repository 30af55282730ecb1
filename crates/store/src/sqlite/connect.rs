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

/// The writer's page cache while the database ends before the lock-byte
/// page ([`LOCK_BYTE_OFFSET`]). A commit whose inserts split a B-tree page so that the
/// new pages come out of order renumbers one of them through the lock-byte
/// page's number (page 262,145 at 4 KiB pages) for a moment. That leaves the
/// cache's highest page number beyond the end of the file, and the commit's
/// end then walks every slot of the cache's hash table to drop pages past
/// the end: about one commit in nine, and a walk as long as the cache is
/// large (16,384 slots at 64 MiB). A quarter of the cache walks a quarter of
/// the slots: at 30,000 msgs/s the writer spent 1–8 % less CPU per message
/// in three alternating pairs (docs/benchmarks.md, "A fast Intel VM").
const SMALL_DB_CACHE_KIB: i64 = 16 * 1024;

/// The byte offset of SQLite's lock-byte page (`PENDING_BYTE`, 1 GiB): once
/// the file reaches past it, the renumbering above stays inside the file and
/// the walk no longer happens, so the full cache costs nothing extra.
const LOCK_BYTE_OFFSET: i64 = 1 << 30;

/// Sets the writer's page cache for the database as large as it is now (see
/// [`SMALL_DB_CACHE_KIB`]). Cheap: two reads of the file's header, which the
/// writer has cached.
pub(super) fn fit_writer_cache(conn: &Connection) -> Result<(), StoreError> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |row| row.get(0))?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
    conn.pragma_update(None, "cache_size", -writer_cache_kib(pages, page_size))?;
    Ok(())
}

fn writer_cache_kib(pages: i64, page_size: i64) -> i64 {
    if pages * page_size <= LOCK_BYTE_OFFSET + page_size {
        SMALL_DB_CACHE_KIB
    } else {
        WRITER_CACHE_KIB
    }
}

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
    fit_writer_cache(&conn)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_small_until_the_file_reaches_past_the_lock_byte_page() {
        let page = 4096;
        let lock_byte_page = LOCK_BYTE_OFFSET / page + 1;
        assert_eq!(writer_cache_kib(1, page), SMALL_DB_CACHE_KIB);
        assert_eq!(writer_cache_kib(lock_byte_page, page), SMALL_DB_CACHE_KIB);
        assert_eq!(writer_cache_kib(lock_byte_page + 1, page), WRITER_CACHE_KIB);
        // At 64 KiB pages the lock-byte page comes much sooner in pages.
        assert_eq!(writer_cache_kib(16_386, 65_536), WRITER_CACHE_KIB);
    }

    #[test]
    fn a_new_database_gets_the_small_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_writer(&dir.path().join("koi.db")).expect("open");
        let kib: i64 = conn
            .query_row("PRAGMA cache_size", [], |row| row.get(0))
            .expect("cache_size");
        assert_eq!(-kib, SMALL_DB_CACHE_KIB);
    }
}
