use thiserror::Error;

/// The protocol's error codes (§9), the one vocabulary every failure is mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is malformed: bad frame, unknown operation, invalid field.
    BadRequest,
    /// No valid session or token.
    Unauthorized,
    /// The user may not do this (not a member, not the sender, not an admin).
    Forbidden,
    /// The thing asked for does not exist.
    NotFound,
    /// The thing to create exists already.
    Conflict,
    /// The recipient blocked the sender.
    Blocked,
    /// A frame or field over its bound.
    TooLarge,
    /// Over the connection's rate limit.
    RateLimited,
    /// An engine (store, router) is unreachable; retry later.
    Unavailable,
    /// A bug or an unexpected failure.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Blocked => "blocked",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status that carries this code on the HTTP API.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden | ErrorCode::Blocked => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::TooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }
}

/// A failed request: a code and a human-readable message.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{}: {message}", code.as_str())]
pub struct KoiError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
}

impl KoiError {
    /// A failure with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// `bad_request` with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// `forbidden` with a message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// `not_found` with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// The error as a protocol `error` body. An `internal` error's message
    /// may hold engine or file-system detail: clients get a generic one, and
    /// whoever answers logs [`KoiError::message`].
    pub fn to_wire(&self) -> koi_proto::Error {
        koi_proto::Error {
            code: self.code.as_str().to_owned(),
            message: self.public_message().to_owned(),
        }
    }

    /// The message a client may see.
    pub fn public_message(&self) -> &str {
        match self.code {
            ErrorCode::Internal => "internal error",
            _ => &self.message,
        }
    }
}
