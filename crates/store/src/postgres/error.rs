//! How PostgreSQL and pool failures map onto [`StoreError`].

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

use crate::StoreError;

impl From<tokio_postgres::Error> for StoreError {
    /// Unique keys mean "exists already"; a lost connection, a server shutting
    /// down or out of resources, and lock or statement time-outs mean "try
    /// again"; anything else is unexpected. Operations that can hit a unique key
    /// check for it themselves to give a precise message; this is the fallback.
    fn from(e: tokio_postgres::Error) -> Self {
        let message = describe(&e);
        match e.code() {
            Some(code) if *code == SqlState::UNIQUE_VIOLATION => StoreError::Conflict(message),
            Some(code) if is_transient(code) => StoreError::Unavailable(message),
            Some(_) => StoreError::Internal(message),
            None if is_connection_failure(&e) => StoreError::Unavailable(message),
            None => StoreError::Internal(message),
        }
    }
}

impl From<PoolError> for StoreError {
    /// Every way of not getting a connection is `Unavailable`, except a pool
    /// built wrongly.
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Backend(e) => match StoreError::from(e) {
                // A server refusing a new session (authentication, unknown
                // database) is a configuration problem, but the node can do
                // nothing without a connection either way: report it as such.
                StoreError::Internal(message) | StoreError::Conflict(message) => {
                    StoreError::Unavailable(format!("cannot connect to PostgreSQL: {message}"))
                }
                other => other,
            },
            PoolError::Timeout(kind) => StoreError::Unavailable(format!(
                "no PostgreSQL connection in time ({kind:?} timed out)"
            )),
            PoolError::Closed => StoreError::Unavailable("the connection pool is closed".into()),
            PoolError::NoRuntimeSpecified => {
                StoreError::Internal("the connection pool has no runtime".into())
            }
            PoolError::PostCreateHook(e) => {
                StoreError::Unavailable(format!("setting up a PostgreSQL connection: {e}"))
            }
        }
    }
}

/// SQLSTATEs after which the same operation may well succeed later.
fn is_transient(code: &SqlState) -> bool {
    let class = &code.code()[..2];
    matches!(
        class,
        "08" // connection exception
        | "53" // insufficient resources (disk full, too many connections)
        | "57" // operator intervention: shutdown, cannot connect now, query canceled
        | "58" // system error (I/O)
    ) || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::LOCK_NOT_AVAILABLE
}

/// A failure of the connection itself (closed, I/O, time-out) rather than of a
/// statement.
fn is_connection_failure(e: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    e.is_closed()
        || e.source()
            .is_some_and(|source| source.downcast_ref::<std::io::Error>().is_some())
        || e.to_string() == "timeout waiting for server"
}

/// The error with its SQLSTATE and the server's message, when it has them.
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    use std::error::Error as _;
    match e.as_db_error() {
        Some(db) => format!("{} ({}): {}", db.severity(), db.code().code(), db.message()),
        None => match e.source() {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}
