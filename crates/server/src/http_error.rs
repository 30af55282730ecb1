//! The one place where protocol errors become HTTP responses.
//!
//! An `internal` error's detail (store or file-system text) goes to the log,
//! never to the client, which gets a generic message.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use koi_core::{ErrorCode, KoiError};

/// A `KoiError` answered over HTTP: its code's status and `{"error": {code, message}}`.
#[derive(Debug)]
pub struct HttpError(pub KoiError);

impl From<KoiError> for HttpError {
    fn from(e: KoiError) -> Self {
        Self(e)
    }
}

impl From<koi_store::StoreError> for HttpError {
    fn from(e: koi_store::StoreError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if self.0.code == ErrorCode::Internal {
            tracing::error!(error = %self.0.message, "request failed");
        }
        let body = serde_json::json!({
            "error": {"code": self.0.code.as_str(), "message": self.0.public_message()}
        });
        let mut response = (status, Json(body)).into_response();
        if matches!(self.0.code, ErrorCode::RateLimited | ErrorCode::Unavailable) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// 429 `rate_limited` with `Retry-After` in whole seconds (rounded up).
#[derive(Debug)]
pub struct RetryLater {
    pub message: &'static str,
    pub after: Duration,
}

impl IntoResponse for RetryLater {
    fn into_response(self) -> Response {
        let seconds = self.after.as_secs() + u64::from(self.after.subsec_nanos() > 0);
        let mut response =
            HttpError(KoiError::new(ErrorCode::RateLimited, self.message)).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        response
    }
}
