//! `POST /v1/register` and `POST /v1/login`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use koi_core::{ErrorCode, KoiError, UserId};
use koi_store::NewUser;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Gateway;
use super::new_account::NewAccount;
use crate::http_error::HttpError;
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

pub(super) async fn register(
    State(gateway): State<Arc<Gateway>>,
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
    headers: axum::http::HeaderMap,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, HttpError> {
    let Json(req) = body.map_err(|e| KoiError::bad_request(e.body_text()))?;
    if gateway.throttle.is_locked(&req.username) {
        return Err(KoiError::new(
            ErrorCode::RateLimited,
            "too many failed logins; try again later",
        )
        .into());
    }
    let denied = || KoiError::new(ErrorCode::Unauthorized, "wrong user name or password");
    let Ok(name) = UserId::parse(&req.username) else {
        login_sync::failed(&gateway, &req.username).await;
        return Err(denied().into());
    };
    let hash = gateway.logic.store().password_hash(&name).await?;
    let ok = passwords::verify(req.password, hash).await;
    if !ok {
        login_sync::failed(&gateway, &req.username).await;
        return Err(denied().into());
    }
    login_sync::succeeded(&gateway, &req.username).await;
    // The password was right: only now say that the account is disabled.
    let state = gateway.logic.store().account_state(&name).await?;
    if state.is_some_and(|s| s.disabled) {
        return Err(KoiError::forbidden("this account is disabled").into());
    }
    let issued = super::login_session::start(&gateway, &name, &headers).await?;
    Ok(Json(
        json!({"token": issued.token, "user": name.as_str(), "expires_at": issued.expires_at}),
    ))
}

/// Failed logins per user name: after [`LoginThrottle::MAX_FAILURES`] within the
/// window, logins for that name answer 429 until the window has passed.
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginThrottle {
    const MAX_FAILURES: u32 = 5;
    const WINDOW: Duration = Duration::from_secs(60);
    /// Bound on remembered names, so a flood of made-up names cannot grow it forever.
    const MAX_ENTRIES: usize = 100_000;

    pub(crate) fn is_locked(&self, name: &str) -> bool {
        let failures = self.failures.lock();
        failures
            .get(name)
            .is_some_and(|(n, since)| *n >= Self::MAX_FAILURES && since.elapsed() < Self::WINDOW)
    }

    pub(crate) fn failed(&self, name: &str) {
        let mut failures = self.failures.lock();
        if failures.len() >= Self::MAX_ENTRIES {
            failures.retain(|_, (_, since)| since.elapsed() < Self::WINDOW);
        }
        let entry = failures
            .entry(name.to_owned())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= Self::WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub(crate) fn succeeded(&self, name: &str) {
        self.failures.lock().remove(name);
    }
}
