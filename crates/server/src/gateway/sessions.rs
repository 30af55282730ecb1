//! `GET /v1/sessions` and `DELETE /v1/sessions/{id}`: the caller's login
//! sessions, and ending one of them (its connections are kicked).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use koi_core::KoiError;
use serde_json::{Value, json};

use super::Gateway;
use super::bearer::SessionAuth;
use crate::http_error::HttpError;
use crate::revocation::{Revocation, now_ms};

pub(super) async fn list(
    State(gateway): State<Arc<Gateway>>,
    SessionAuth(token): SessionAuth,
) -> Result<Json<Value>, HttpError> {
    let sessions = gateway
        .logic
        .store()
        .sessions(&token.user, now_ms())
        .await?;
    // Sessions revoked wholesale are marked in the store too; what is left is live.
    let sessions: Vec<Value> = sessions
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id,
                "created_at": s.created_at,
                "last_used_at": s.last_used_at,
                "user_agent": s.user_agent,
                "current": token.session.as_deref() == Some(s.id.as_str()),
            })
        })
        .collect();
    Ok(Json(json!({ "sessions": sessions })))
}

pub(super) async fn revoke(
    State(gateway): State<Arc<Gateway>>,
    SessionAuth(token): SessionAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, HttpError> {
    let Some(session) = gateway
        .logic
        .store()
        .revoke_session(&token.user, &id)
        .await?
    else {
        return Err(KoiError::not_found(format!("no session {id}")).into());
    };
    gateway
        .revoke(Revocation::Session {
            user: token.user.to_string(),
            id: session.id,
            expires_at: session.expires_at,
        })
        .await;
    Ok(StatusCode::NO_CONTENT)
}
