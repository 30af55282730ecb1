//! `POST /v1/push`: the server push API (admin).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use koi_core::KoiError;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Gateway;
use super::bearer::AdminAuth;
use crate::http_error::HttpError;

#[derive(Deserialize)]
pub(super) struct PushBody {
    users: Vec<String>,
    text: String,
    meta: Option<String>,
}

pub(super) async fn push(
    State(gateway): State<Arc<Gateway>>,
    _admin: AdminAuth,
    body: Result<Json<PushBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, HttpError> {
    let Json(body) = body.map_err(|e| KoiError::bad_request(e.body_text()))?;
    let outcome = gateway
        .logic
        .system_push(&body.users, body.text, body.meta)
        .await?;
    Ok(Json(
        json!({"delivered_online": outcome.delivered_online, "stored": outcome.stored}),
    ))
}
