//! `POST /v1/register` and `POST /v1/login`, behind the per-address limits
//! ([`super::addr_limits`]) and, for login, the failed-login slow-down
//! ([`super::login_throttle`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use koi_core::{ErrorCode, KoiError, UserId};
use koi_store::NewUser;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Gateway;
use super::addr_limits::{AddrKey, AddrUse};
use super::login_throttle::AttemptKey;
use super::new_account::NewAccount;
use crate::http_error::{HttpError, RetryLater};
use crate::login_sync;
use crate::passwords;

#[derive(Deserialize)]
pub(super) struct Register {
    username: String,
    password: String,
    display_name: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Login {
    username: String,
    password: String,
}

/// The client address the limits count (the TCP peer; see `addr_limits`).
type Peer = ConnectInfo<SocketAddr>;

pub(super) async fn register(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): Peer,
    body: Result<Json<Register>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(after) =
        crate::addr_sync::take(&gateway, AddrUse::Register, AddrKey::of(peer.ip())).await
    {
        return RetryLater {
            message: "too many registrations from this address; try again later",
            after,
        }
        .into_response();
    }
    create(&gateway, body).await.into_response()
}

async fn create(
    gateway: &Gateway,
    body: Result<Json<Register>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), HttpError> {
    let Json(req) = body.map_err(|e| KoiError::bad_request(e.body_text()))?;
    let NewAccount {
        name,
        password,
        display_name,
    } = NewAccount::check(&req.username, req.password, req.display_name)?;
    // A taken name is refused before paying for a hash.
    if gateway
        .logic
        .store()
        .users_exist(std::slice::from_ref(&name))
        .await?[0]
    {
        return Err(
            KoiError::new(ErrorCode::Conflict, format!("user {name} exists already")).into(),
        );
    }
    let password_hash = passwords::hash(password).await?;
    gateway
        .logic
        .store()
        .create_user(NewUser {
            name: name.clone(),
            password_hash,
            display_name,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"user": name.as_str()}))))
}

pub(super) async fn login(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): Peer,
    headers: axum::http::HeaderMap,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let addr = AddrKey::of(peer.ip());
    if let Err(after) = crate::addr_sync::take(&gateway, AddrUse::Login, addr).await {
        return RetryLater {
            message: "too many logins from this address; try again later",
            after,
        }
        .into_response();
    }
    let Json(req) = match body {
        Ok(body) => body,
        Err(e) => return HttpError(KoiError::bad_request(e.body_text())).into_response(),
    };
    let denied = || {
        HttpError(KoiError::new(
            ErrorCode::Unauthorized,
            "wrong user name or password",
        ))
    };
    // An invalid name is nobody's: no hash, and nothing remembered of it.
    let Ok(name) = UserId::parse(&req.username) else {
        return denied().into_response();
    };
    let attempt = AttemptKey::new(addr, &name);
    if let Some(after) = gateway.throttle.retry_after(&attempt) {
        return RetryLater {
            message: "too many failed logins for this name from this address; try again later",
            after,
        }
        .into_response();
    }
    let hash = match gateway.logic.store().password_hash(&name).await {
        Ok(hash) => hash,
        Err(e) => return HttpError::from(e).into_response(),
    };
    match passwords::check(req.password, hash).await {
        Ok(true) => {}
        Ok(false) => {
            login_sync::failed(&gateway, attempt).await;
            return denied().into_response();
        }
        Err(e) => return HttpError(e).into_response(),
    }
    login_sync::succeeded(&gateway, attempt).await;
    // The password was right: only now say that the account is disabled.
    match gateway.logic.store().account_state(&name).await {
        Ok(state) if state.is_some_and(|s| s.disabled) => {
            return HttpError(KoiError::forbidden("this account is disabled")).into_response();
        }
        Ok(_) => {}
        Err(e) => return HttpError::from(e).into_response(),
    }
    match super::login_session::start(gateway.as_ref(), &name, &headers).await {
        Ok(issued) => Json(
            json!({"token": issued.token, "user": name.as_str(), "expires_at": issued.expires_at}),
        )
        .into_response(),
        Err(e) => HttpError(e).into_response(),
    }
}
