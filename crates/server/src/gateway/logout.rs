//! `POST /v1/logout {all?}`: revokes the caller's token, or with `all: true`
//! every token of the caller; their connections are kicked `token_revoked`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use koi_core::KoiError;
use serde::Deserialize;

use super::Gateway;
use super::bearer::SessionAuth;
use crate::http_error::HttpError;
use crate::revocation::{Revocation, now_ms};

#[derive(Deserialize, Default)]
struct Logout {
    #[serde(default)]
    all: bool,
}

pub(super) async fn logout(
    State(gateway): State<Arc<Gateway>>,
    SessionAuth(token): SessionAuth,
    body: Bytes,
) -> Result<StatusCode, HttpError> {
    // The body is optional: an empty one is a plain logout.
    let req: Logout = if body.iter().all(u8::is_ascii_whitespace) {
        Logout::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| KoiError::bad_request(e.to_string()))?
    };
    match (&token.session, req.all) {
        (Some(session), false) => {
            let store = gateway.logic.store();
            // Already revoked elsewhere meanwhile: revoking again is harmless.
            let expires_at = store
                .revoke_session(&token.user, session)
                .await?
                .map_or(token.expires_s * 1000, |s| s.expires_at);
            gateway
                .revoke(Revocation::Session {
                    user: token.user.to_string(),
                    id: session.clone(),
                    expires_at,
                })
                .await;
        }
        // A token without a session (issued by the admin) ends with all of them.
        _ => gateway.revoke_all(&token.user, now_ms()).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}
