use thiserror::Error;

/// A failure of the routing or registry engine.
#[derive(Debug, Clone, Error)]
pub enum ClusterError {
    /// The engine cannot be reached; the caller may retry.
    #[error("cluster engine unavailable: {0}")]
    Unavailable(String),
}
