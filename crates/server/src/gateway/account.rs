//! `DELETE /v1/account {password}`: the caller deletes their account. The
//! name stays taken for good, the profile is erased, every token is revoked;
//! their messages stay, `from` the same name.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use koi_core::{ErrorCode, KoiError};
use serde::Deserialize;

use super::Gateway;
use super::bearer::UserAuth;
use super::new_account::MAX_PASSWORD_BYTES;
use crate::http_error::HttpError;
use crate::passwords;
use crate::revocation::{Revocation, now_ms};

#[derive(Deserialize)]
pub(super) struct DeleteAccount {
    password: String,
}

pub(super) async fn delete(
    State(gateway): State<Arc<Gateway>>,
    UserAuth(user): UserAuth,
    body: Result<Json<DeleteAccount>, JsonRejection>,
) -> Result<StatusCode, HttpError> {
    let Json(req) = body.map_err(|e| KoiError::bad_request(e.body_text()))?;
    let store = gateway.logic.store();
    let hash = store.password_hash(&user).await?;
    if req.password.len() > MAX_PASSWORD_BYTES || !passwords::check(req.password, hash).await? {
        return Err(KoiError::new(ErrorCode::Unauthorized, "wrong password").into());
    }
    if !store.delete_account(&user, now_ms()).await? {
        return Err(KoiError::new(ErrorCode::Unauthorized, "the account is gone").into());
    }
    let state = store.account_state(&user).await?.unwrap_or_default();
    gateway
        .revoke(Revocation::account(user.as_str(), state))
        .await;
    Ok(StatusCode::NO_CONTENT)
}
