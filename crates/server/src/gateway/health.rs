//! `/healthz`, `/metrics` and the JSON 404.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use koi_core::KoiError;

use super::Gateway;
use crate::http_error::HttpError;

pub(super) async fn healthz(State(gateway): State<Arc<Gateway>>) -> Response {
    if gateway.serving.load(Ordering::Relaxed) {
        (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "stopping"})),
        )
            .into_response()
    }
}

pub(super) async fn metrics(State(gateway): State<Arc<Gateway>>) -> Response {
    crate::monitor::record_resident_memory();
    crate::monitor::record_writer(gateway.logic.store().writer_stats());
    let body = gateway
        .prometheus
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

pub(super) async fn not_found() -> Response {
    HttpError(KoiError::not_found("no such endpoint")).into_response()
}
