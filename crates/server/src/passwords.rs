//! Password hashing with argon2id. Deliberately slow, so it runs on the blocking
//! pool, never on the async workers.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use koi_core::{ErrorCode, KoiError};

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<String, KoiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| KoiError::new(ErrorCode::Internal, format!("salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| KoiError::new(ErrorCode::Internal, format!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| KoiError::new(ErrorCode::Internal, e.to_string()))?
}

/// Whether `password` matches the PHC string `hash`.
pub async fn verify(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}
