use koi_core::{ErrorCode, KoiError};
use thiserror::Error;

/// A store failure.
///
/// `Clone` so that one failed group commit can be reported to every job in it.
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    /// A unique key exists already (user name taken).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The row to change does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A bound of the data model would be exceeded (group size).
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// The engine cannot be reached or is shutting down; the caller may retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corrupt data.
    #[error("store failure: {0}")]
    Internal(String),
}

/// Conflict, not-found and limit messages are Koi's own and reach the client;
/// an engine's text (SQL, paths, hosts) only reaches the log.
impl From<StoreError> for KoiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::Conflict(_) => KoiError::new(ErrorCode::Conflict, e.to_string()),
            StoreError::NotFound(_) => KoiError::new(ErrorCode::NotFound, e.to_string()),
            StoreError::Limit(_) => KoiError::new(ErrorCode::Forbidden, e.to_string()),
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                KoiError::new(
                    ErrorCode::Unavailable,
                    "the store is unavailable; try again",
                )
            }
            StoreError::Internal(_) => {
                tracing::error!(error = %e, "store failure");
                KoiError::new(ErrorCode::Internal, INTERNAL_MESSAGE)
            }
        }
    }
}

/// What a client is told of an internal failure; the detail is logged.
pub const INTERNAL_MESSAGE: &str = "internal error";
