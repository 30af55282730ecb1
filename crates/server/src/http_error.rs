//! The one place where protocol errors become HTTP responses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use koi_core::KoiError;

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
        let body =
            serde_json::json!({"error": {"code": self.0.code.as_str(), "message": self.0.message}});
        (status, Json(body)).into_response()
    }
}
