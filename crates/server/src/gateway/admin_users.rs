//! `POST /v1/admin/users/{user}/disable` and `.../enable` (admin): a disabled
//! user cannot log in (403) and every token of theirs is refused, their
//! connections kicked `token_revoked`. Disabling also revokes every token
//! issued so far, so enabling lets them log in again without reviving any.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use koi_core::{KoiError, UserId};

use super::Gateway;
use super::bearer::AdminAuth;
use crate::http_error::HttpError;
use crate::revocation::{Revocation, now_ms};

pub(super) async fn disable(
    State(gateway): State<Arc<Gateway>>,
    _admin: AdminAuth,
    Path(user): Path<String>,
) -> Result<StatusCode, HttpError> {
    set_disabled(&gateway, &user, true).await
}

pub(super) async fn enable(
    State(gateway): State<Arc<Gateway>>,
    _admin: AdminAuth,
    Path(user): Path<String>,
) -> Result<StatusCode, HttpError> {
    set_disabled(&gateway, &user, false).await
}

async fn set_disabled(
    gateway: &Gateway,
    user: &str,
    disabled: bool,
) -> Result<StatusCode, HttpError> {
    let unknown = || KoiError::not_found(format!("no user {user}"));
    let user = UserId::parse(user).map_err(|_| unknown())?;
    let store = gateway.logic.store();
    if !store.set_disabled(&user, disabled).await? {
        return Err(unknown().into());
    }
    if disabled {
        store.revoke_all_sessions(&user, now_ms()).await?;
    }
    let state = store.account_state(&user).await?.ok_or_else(unknown)?;
    gateway
        .revoke(Revocation::account(user.as_str(), state))
        .await;
    Ok(StatusCode::NO_CONTENT)
}
