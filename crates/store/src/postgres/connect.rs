//! Connection settings, the pools, and small query helpers.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, NoTls, Row};

use super::error::describe;
use crate::StoreError;

/// A pooled connection, with its statement cache.
pub(super) type Db = deadpool_postgres::ClientWrapper;

/// Query parameters.
pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// How long opening a connection may take before the request is `Unavailable`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request waits for a free pooled connection.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Server-side limits for every pooled session, so that no request hangs on a
/// lock or a runaway statement, and a node that vanished mid-transaction does
/// not hold row locks (a conversation's seq counter) for long. Options given in
/// the URL come after these and win.
const SESSION_OPTIONS: &str = "-c statement_timeout=30000 -c lock_timeout=10000 \
     -c idle_in_transaction_session_timeout=60000";

/// Parses `url` (a `postgres://` URL or a `key=value` string) and adds the
/// store's settings: time-outs and TCP keepalives, so that a dead server or a
/// lost network is noticed and the connection dropped instead of reused.
pub(super) fn config(url: &str) -> Result<Config, StoreError> {
    let mut config: Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| StoreError::Internal(describe(&e)))?;
    if config.get_application_name().is_none() {
        config.application_name("koi");
    }
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .keepalives_interval(Duration::from_secs(10))
        .keepalives_retries(3);
    Ok(config)
}

/// A pool of at most `size` connections.
///
/// Recycling checks that the connection is still open: once the server went
/// away, its connections are closed and dropped, and the next request opens a
/// new one, so service resumes by itself when the server is back.
pub(super) fn pool(config: &Config, size: usize) -> Result<Pool, StoreError> {
    let mut config = config.clone();
    let options = match config.get_options() {
        Some(theirs) => format!("{SESSION_OPTIONS} {theirs}"),
        None => SESSION_OPTIONS.to_owned(),
    };
    config.options(options);
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT * 2))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| StoreError::Internal(format!("cannot build the connection pool: {e}")))
}

/// Runs a statement (prepared once per connection), returning the rows changed.
pub(super) async fn execute(db: &Db, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
    let statement = db.prepare_cached(sql).await?;
    Ok(db.execute(&statement, params).await?)
}

/// Runs a query, returning every row.
pub(super) async fn query(db: &Db, sql: &str, params: Params<'_>) -> Result<Vec<Row>, StoreError> {
    let statement = db.prepare_cached(sql).await?;
    Ok(db.query(&statement, params).await?)
}

/// Runs a query returning at most one row.
pub(super) async fn query_opt(
    db: &Db,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Row>, StoreError> {
    let statement = db.prepare_cached(sql).await?;
    Ok(db.query_opt(&statement, params).await?)
}

/// Runs a query returning exactly one row.
pub(super) async fn query_one(db: &Db, sql: &str, params: Params<'_>) -> Result<Row, StoreError> {
    let statement = db.prepare_cached(sql).await?;
    Ok(db.query_one(&statement, params).await?)
}

/// A seq or count as PostgreSQL's BIGINT; past `i64::MAX` means "no bound".
pub(super) fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A BIGINT read back as the unsigned value it was stored from.
pub(super) fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
