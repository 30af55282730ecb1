//! Login tokens: HS256-signed JWTs naming the user, with an expiry, the
//! issue time in ms (`iat_ms`, compared with an account's `tokens_before`) and,
//! for a login, the session it belongs to (`sid`, the key of its revocation).
//!
//! The signing secret is configured (`token_secret`) or generated once and
//! kept: in the data dir (owner-only) for an embedded node, in PostgreSQL for a
//! cluster, so that every node accepts every node's tokens (see
//! [`crate::engines`]). A configured secret shorter than
//! [`crate::config::MIN_TOKEN_SECRET_BYTES`] is refused at start.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use koi_core::{ErrorCode, KoiError, UserId};
use serde::{Deserialize, Serialize};

/// Issues and verifies tokens.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_s: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    /// Expiry, seconds since the epoch (checked by the library).
    exp: u64,
    iat: u64,
    /// Issue time in ms: finer than `iat`, so that a token issued right after
    /// a wholesale revocation is not caught by it.
    #[serde(default)]
    iat_ms: u64,
    /// The login session; absent for tokens the admin issues
    /// (`POST /v1/admin/tokens`), which only wholesale revocation ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub user: UserId,
    pub session: Option<String>,
    /// Issue time, ms since the epoch.
    pub issued_ms: u64,
    /// Expiry, seconds since the epoch.
    pub expires_s: u64,
}

/// A freshly issued token.
pub struct Issued {
    pub token: String,
    /// Milliseconds since the epoch.
    pub expires_at: u64,
    /// When it was issued, ms since the epoch.
    pub issued_at: u64,
}

impl Tokens {
    /// Tokens signed with `secret`, valid for `ttl_s` seconds.
    pub fn new(secret: &[u8], ttl_s: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_s,
        }
    }

    /// The secret configured, or the one kept in `data/token.key` (made on first use).
    pub fn load_secret(configured: Option<&str>, data: &Path) -> anyhow::Result<Vec<u8>> {
        if let Some(secret) = configured {
            return Ok(secret.as_bytes().to_vec());
        }
        let path = data.join("token.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => hex::decode(text.trim()).context("token.key is not hex"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret: [u8; 32] = rand::random();
                crate::edge::private_files::write_private(&path, hex::encode(secret).as_bytes())
                    .context("writing token.key")?;
                Ok(secret.to_vec())
            }
            Err(e) => Err(e).context("reading token.key"),
        }
    }

    /// A token for `user`, of login session `session` if any.
    pub fn issue(&self, user: &UserId, session: Option<&str>) -> Issued {
        let now_ms = now_ms();
        let now = now_ms / 1000;
        let claims = Claims {
            sub: user.to_string(),
            exp: now + self.ttl_s,
            iat: now,
            iat_ms: now_ms,
            sid: session.map(str::to_owned),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail");
        Issued {
            token,
            expires_at: (now + self.ttl_s) * 1000,
            issued_at: now_ms,
        }
    }

    /// How long a token lives, in seconds.
    pub fn ttl_s(&self) -> u64 {
        self.ttl_s
    }

    /// What a token says, if it is ours and not expired (revocation is
    /// checked apart, by [`crate::revocation::Revocations`]).
    pub fn verify(&self, token: &str) -> Result<Verified, KoiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| KoiError::new(ErrorCode::Unauthorized, format!("invalid token: {e}")))?;
        let claims = data.claims;
        let user = UserId::parse(&claims.sub)
            .map_err(|_| KoiError::new(ErrorCode::Unauthorized, "invalid token subject"))?;
        Ok(Verified {
            user,
            session: claims.sid,
            issued_ms: if claims.iat_ms > 0 {
                claims.iat_ms
            } else {
                claims.iat * 1000
            },
            expires_s: claims.exp,
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_its_own_tokens_only() {
        let tokens = Tokens::new(b"secret-one", 60);
        let alice = UserId::parse("alice").unwrap();
        let issued = tokens.issue(&alice, Some("s1"));
        let verified = tokens.verify(&issued.token).unwrap();
        assert_eq!(verified.user, alice);
        assert_eq!(verified.session.as_deref(), Some("s1"));
        assert_eq!(verified.issued_ms, issued.issued_at);
        assert_eq!(verified.expires_s * 1000, issued.expires_at);
        let other = Tokens::new(b"secret-two", 60);
        assert_eq!(
            other.verify(&issued.token).unwrap_err().code,
            ErrorCode::Unauthorized
        );
        assert!(tokens.verify("not.a.token").is_err());
    }
}
