use thiserror::Error;

/// A frame that could not be decoded into a known operation.
#[derive(Debug, Error)]
#[error("{reason}")]
pub struct DecodeError {
    /// The frame's `id`, when it could be read, so the error reply can carry it.
    pub id: Option<u64>,
    /// What was wrong, for the error message sent back.
    pub reason: String,
}

impl DecodeError {
    pub(crate) fn new(id: Option<u64>, reason: impl Into<String>) -> Self {
        Self {
            id,
            reason: reason.into(),
        }
    }
}
