//! Login tokens: HS256-signed JWTs naming the user, with an expiry.
//!
//! The signing secret is configured (`token_secret`, needed when several nodes
//! must accept each other's tokens) or generated once and kept in the data dir
//! (owner-only). A configured secret shorter than
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
}

/// A freshly issued token.
pub struct Issued {
    pub token: String,
    /// Milliseconds since the epoch.
    pub expires_at: u64,
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

    /// A token for `user`.
    pub fn issue(&self, user: &UserId) -> Issued {
        let now = now_s();
        let claims = Claims {
            sub: user.to_string(),
            exp: now + self.ttl_s,
            iat: now,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail");
        Issued {
            token,
            expires_at: (now + self.ttl_s) * 1000,
        }
    }

    /// The user a token names, if it is ours and not expired.
    pub fn verify(&self, token: &str) -> Result<UserId, KoiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| KoiError::new(ErrorCode::Unauthorized, format!("invalid token: {e}")))?;
        UserId::parse(&data.claims.sub)
            .map_err(|_| KoiError::new(ErrorCode::Unauthorized, "invalid token subject"))
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_its_own_tokens_only() {
        let tokens = Tokens::new(b"secret-one", 60);
        let alice = UserId::parse("alice").unwrap();
        let issued = tokens.issue(&alice);
        assert_eq!(tokens.verify(&issued.token).unwrap(), alice);
        let other = Tokens::new(b"secret-two", 60);
        assert_eq!(
            other.verify(&issued.token).unwrap_err().code,
            ErrorCode::Unauthorized
        );
        assert!(tokens.verify("not.a.token").is_err());
    }
}
