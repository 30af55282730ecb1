//! The one error type of the crate.

use thiserror::Error;

/// Anything that can go wrong talking to a Koi server.
#[derive(Debug, Error)]
pub enum ClientError {
    /// An HTTP call answered with a non-success status. `code` and `message` come
    /// from the `{"error": {"code", "message"}}` body when there is one.
    #[error("HTTP {status}: {}: {message}", code.as_deref().unwrap_or("-"))]
    Http {
        /// The HTTP status, e.g. 401.
        status: u16,
        /// The protocol error code (`unauthorized`, `conflict`, ...), if the body had one.
        code: Option<String>,
        /// The error message, or the raw body when it was not a Koi error.
        message: String,
    },
    /// The server answered a request with an `error` reply.
    #[error("server error {code}: {message}")]
    Server {
        /// The protocol error code (`forbidden`, `rate_limited`, ...).
        code: String,
        /// The server's explanation.
        message: String,
    },
    /// The connection is closed (or closed while the request was in flight).
    #[error("connection closed")]
    Closed,
    /// No reply (or no connection) within the configured time.
    #[error("timed out")]
    Timeout,
    /// The server sent something that could not be decoded.
    #[error("decode error: {0}")]
    Decode(String),
    /// A reply of a different kind than the request calls for.
    #[error("unexpected reply: expected {expected}, got {got}")]
    UnexpectedReply {
        /// The reply body the request calls for.
        expected: &'static str,
        /// The reply body that came.
        got: &'static str,
    },
    /// Dispatch listed no node.
    #[error("dispatch returned no node")]
    NoNode,
    /// An address or URL that cannot be used.
    #[error("invalid address: {0}")]
    Address(String),
    /// Certificate authorities that cannot be read (see [`crate::Trust`]).
    #[error("trusted certificates: {0}")]
    Trust(String),
    /// A socket error.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A WebSocket protocol or handshake error.
    #[error("websocket: {0}")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// An HTTP transport error (connection refused, bad body, ...).
    #[error("http: {0}")]
    Request(#[from] reqwest::Error),
}

impl ClientError {
    /// The protocol error code of an `error` reply or an HTTP error body.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Server { code, .. } => Some(code),
            ClientError::Http { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status of a failed HTTP call.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when the failure is the connection going away, not the request itself.
    pub fn is_closed(&self) -> bool {
        matches!(
            self,
            ClientError::Closed | ClientError::Io(_) | ClientError::WebSocket(_)
        )
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for ClientError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        ClientError::WebSocket(Box::new(e))
    }
}

impl From<koi_proto::Error> for ClientError {
    fn from(e: koi_proto::Error) -> Self {
        ClientError::Server {
            code: e.code,
            message: e.message,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        let e = ClientError::from(koi_proto::Error {
            code: "forbidden".into(),
            message: "no".into(),
        });
        assert_eq!(e.code(), Some("forbidden"));
        assert_eq!(e.status(), None);
        let h = ClientError::Http {
            status: 409,
            code: Some("conflict".into()),
            message: "taken".into(),
        };
        assert_eq!((h.code(), h.status()), (Some("conflict"), Some(409)));
        assert_eq!(h.to_string(), "HTTP 409: conflict: taken");
        assert!(ClientError::Closed.is_closed());
        assert!(!ClientError::Timeout.is_closed());
    }
}
