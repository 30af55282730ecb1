//! How SQLite failures map onto [`StoreError`].

use rusqlite::ErrorCode;
use rusqlite::ffi;

use crate::StoreError;

impl From<rusqlite::Error> for StoreError {
    /// Unique keys mean "exists already"; lock timeouts mean "try again";
    /// anything else is unexpected. Operations that can hit a unique key check for
    /// it themselves to give a precise message; this is the fallback.
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error() {
            Some(cause)
                if matches!(
                    cause.extended_code,
                    ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
            {
                StoreError::Conflict(e.to_string())
            }
            Some(cause)
                if matches!(
                    cause.code,
                    ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked
                ) =>
            {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Internal(e.to_string()),
        }
    }
}
