//! Password hashing with argon2id. Deliberately slow, so it runs on the blocking
//! pool, never on the async workers — and at most one hash per core at a time:
//! each takes 19 MiB, and `register` needs no login, so unbounded concurrency
//! would let anyone grow the node's memory by gigabytes.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use koi_core::{ErrorCode, KoiError};
use tokio::sync::Semaphore;

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Hashes running at once: one per core.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// A valid hash of a password nobody has, verified for unknown users so that a
/// login takes as long whether or not the name exists.
static DECOY: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::encode_b64(&[7u8; 16]).expect("16 bytes encode");
    Argon2::default()
        .hash_password(b"no user has this password", &salt)
        .expect("hashing a constant")
        .to_string()
});

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<String, KoiError> {
    let internal = |e: String| KoiError::new(ErrorCode::Internal, e);
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| internal(format!("salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| internal(format!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| internal(e.to_string()))?
}

/// Whether `password` matches the PHC string `hash`; with no hash (no such
/// user) a decoy is verified, so the answer takes the same time, and is false.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DECOY.clone());
        let matches = PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        known && matches
    })
    .await
    .unwrap_or(false)
}
