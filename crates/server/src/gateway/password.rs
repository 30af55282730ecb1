//! `POST /v1/password {old_password, new_password}`: a new password, a new
//! token, and every other token of the user revoked.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::HeaderMap;
use koi_core::{ErrorCode, KoiError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::bearer::SessionAuth;
use super::new_account::MAX_PASSWORD_BYTES;
use super::{Gateway, login_session};
use crate::http_error::HttpError;
use crate::passwords::{self, MIN_PASSWORD_LEN};
use crate::revocation::now_ms;

#[derive(Deserialize)]
pub(super) struct ChangePassword {
    old_password: String,
    new_password: String,
}

pub(super) async fn change(
    State(gateway): State<Arc<Gateway>>,
    SessionAuth(token): SessionAuth,
    headers: HeaderMap,
    body: Result<Json<ChangePassword>, JsonRejection>,
) -> Result<Json<Value>, HttpError> {
    let Json(req) = body.map_err(|e| KoiError::bad_request(e.body_text()))?;
    if req.new_password.chars().count() < MIN_PASSWORD_LEN
        || req.new_password.len() > MAX_PASSWORD_BYTES
    {
        return Err(KoiError::bad_request(format!(
            "the new password must have {MIN_PASSWORD_LEN} characters to {MAX_PASSWORD_BYTES} bytes"
        ))
        .into());
    }
    let store = gateway.logic.store();
    let hash = store.password_hash(&token.user).await?;
    if req.old_password.len() > MAX_PASSWORD_BYTES
        || !passwords::check(req.old_password, hash).await?
    {
        return Err(KoiError::new(ErrorCode::Unauthorized, "wrong password").into());
    }
    let new_hash = passwords::hash(req.new_password).await?;
    if !store.set_password(&token.user, new_hash).await? {
        return Err(KoiError::new(ErrorCode::Unauthorized, "the account is gone").into());
    }
    // Every token so far, this one included, then a new session.
    gateway.revoke_all(&token.user, now_ms()).await?;
    let issued = login_session::start(&gateway, &token.user, &headers).await?;
    Ok(Json(
        json!({"token": issued.token, "expires_at": issued.expires_at}),
    ))
}
