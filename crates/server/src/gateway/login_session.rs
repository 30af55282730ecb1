//! A login session: recorded in the store, then a token carrying its id, so
//! that it can be listed and revoked on its own.

use axum::http::HeaderMap;
use koi_core::{KoiError, UserId};
use koi_store::NewSession;

use super::Gateway;
use crate::revocation::now_ms;
use crate::tokens::Issued;

/// The most characters of a `User-Agent` kept with a session.
const MAX_USER_AGENT_CHARS: usize = 256;

/// Records a new session of `user` and issues its token.
pub(super) async fn start(
    gateway: &Gateway,
    user: &UserId,
    headers: &HeaderMap,
) -> Result<Issued, KoiError> {
    let id = koi_store::new_id();
    let issued = gateway.tokens.issue(user, Some(&id));
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER_AGENT_CHARS)
        .collect();
    gateway
        .logic
        .store()
        .create_session(NewSession {
            id,
            user: user.clone(),
            created_at: issued.issued_at.min(now_ms()),
            expires_at: issued.expires_at,
            user_agent,
        })
        .await?;
    Ok(issued)
}
