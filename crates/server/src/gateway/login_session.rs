//! A login session: recorded in the store, then a token carrying its id, so
//! that it can be listed and revoked on its own.
//!
//! A user keeps at most `max_sessions_per_user` live sessions: each one is a
//! row kept until its token expires, so without a bound a password holder
//! could make the store keep any number. A login beyond the bound ends the
//! least recently used sessions, as a revocation (their connections are
//! kicked `token_revoked`), the way a phone signed in again replaces a device
//! forgotten long ago.

use axum::http::HeaderMap;
use koi_core::{KoiError, UserId};
use koi_store::NewSession;

use super::Gateway;
use crate::revocation::{Revocation, now_ms};
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
            id: id.clone(),
            user: user.clone(),
            created_at: issued.issued_at.min(now_ms()),
            expires_at: issued.expires_at,
            user_agent,
        })
        .await?;
    end_least_recently_used(gateway, user, &id).await?;
    Ok(issued)
}

/// Ends `user`'s least recently used sessions beyond the bound, never `kept`
/// (the one just started).
async fn end_least_recently_used(
    gateway: &Gateway,
    user: &UserId,
    kept: &str,
) -> Result<(), KoiError> {
    let store = gateway.logic.store();
    let mut live = store.sessions(user, now_ms()).await?;
    let Some(excess) = live.len().checked_sub(gateway.max_sessions_per_user) else {
        return Ok(());
    };
    live.retain(|s| s.id != kept);
    live.sort_by_key(|s| (s.last_used_at, s.created_at));
    for session in live.into_iter().take(excess) {
        // Another login may have ended it first: then there is nothing to do.
        if let Some(ended) = store.revoke_session(user, &session.id).await? {
            gateway
                .revoke(Revocation::Session {
                    user: user.to_string(),
                    id: ended.id,
                    expires_at: ended.expires_at,
                })
                .await;
        }
    }
    Ok(())
}
