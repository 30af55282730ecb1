//! User accounts.

use std::collections::HashSet;

use koi_core::UserId;

use super::connect::{Db, execute, query, query_opt};
use crate::{NewUser, StoreError};

/// Creates a user; `Conflict` when the name is taken (also by a creation still
/// in flight on another node, which this one waits for).
pub(super) async fn create_user(db: &Db, user: NewUser, now_ms: u64) -> Result<(), StoreError> {
    let inserted = execute(
        db,
        "INSERT INTO users (name, password_hash, display_name, created_ms) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
        &[
            &user.name.as_str(),
            &user.password_hash,
            &user.display_name,
            &(now_ms as i64),
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!("user {}", user.name)));
    }
    Ok(())
}

/// The user's password hash, `None` when there is no such user.
pub(super) async fn password_hash(db: &Db, user: &UserId) -> Result<Option<String>, StoreError> {
    let row = query_opt(
        db,
        "SELECT password_hash FROM users WHERE name = $1",
        &[&user.as_str()],
    )
    .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// Whether each of `users` exists, in order; one query for all.
pub(super) async fn users_exist(db: &Db, users: &[&UserId]) -> Result<Vec<bool>, StoreError> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = users.iter().map(|user| user.as_str()).collect();
    let rows = query(
        db,
        "SELECT name FROM users WHERE name = ANY($1::text[])",
        &[&names],
    )
    .await?;
    let found = rows
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<HashSet<String>, _>>()?;
    Ok(names.iter().map(|name| found.contains(*name)).collect())
}

/// The first of `users` that does not exist, as `NotFound`.
pub(super) async fn require(db: &Db, users: &[&UserId]) -> Result<(), StoreError> {
    let exist = users_exist(db, users).await?;
    match users.iter().zip(exist).find(|(_, exists)| !exists) {
        Some((user, _)) => Err(StoreError::NotFound(format!("user {user}"))),
        None => Ok(()),
    }
}
