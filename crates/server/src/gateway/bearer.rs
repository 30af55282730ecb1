//! Bearer-token extractors: a user's login token, or the admin token.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use koi_core::{ErrorCode, KoiError, UserId};

use super::Gateway;
use crate::http_error::HttpError;
use crate::tokens::Verified;

/// The user named by a valid `Authorization: Bearer <token>`. A token is never
/// taken from the URL: URLs end up in logs, histories and `Referer` headers,
/// and the web page fetches files with the header (§15).
pub struct UserAuth(pub UserId);

/// A valid, unrevoked token with everything it says: for the endpoints
/// about the caller's own sessions.
pub struct SessionAuth(pub Verified);

/// The admin, authenticated by the configured `admin_token`, from the
/// `Authorization` header only: a query string ends up in access logs,
/// browser history and `Referer` headers.
pub struct AdminAuth;

fn bearer(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned())
}

impl FromRequestParts<Arc<Gateway>> for UserAuth {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        gateway: &Arc<Gateway>,
    ) -> Result<Self, HttpError> {
        let SessionAuth(token) = SessionAuth::from_request_parts(parts, gateway).await?;
        Ok(UserAuth(token.user))
    }
}

impl FromRequestParts<Arc<Gateway>> for SessionAuth {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        gateway: &Arc<Gateway>,
    ) -> Result<Self, HttpError> {
        let token = bearer(parts)
            .ok_or_else(|| KoiError::new(ErrorCode::Unauthorized, "missing bearer token"))?;
        let token = gateway.tokens.verify(&token)?;
        gateway.revocations.check(&token)?;
        Ok(SessionAuth(token))
    }
}

impl FromRequestParts<Arc<Gateway>> for AdminAuth {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        gateway: &Arc<Gateway>,
    ) -> Result<Self, HttpError> {
        let Some(admin) = &gateway.admin_token else {
            return Err(KoiError::forbidden("no admin_token is configured").into());
        };
        let token = bearer(parts).ok_or_else(|| {
            KoiError::new(
                ErrorCode::Unauthorized,
                "missing bearer token (the admin token is taken from the Authorization header only)",
            )
        })?;
        if constant_time_eq(token.as_bytes(), admin.as_bytes()) {
            Ok(AdminAuth)
        } else {
            Err(KoiError::forbidden("not the admin token").into())
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
