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

impl From<StoreError> for KoiError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::Conflict(_) => ErrorCode::Conflict,
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::Limit(_) => ErrorCode::Forbidden,
            StoreError::Unavailable(_) => ErrorCode::Unavailable,
            StoreError::Internal(_) => ErrorCode::Internal,
        };
        KoiError::new(code, e.to_string())
    }
}
