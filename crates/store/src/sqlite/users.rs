//! User accounts.

use koi_core::UserId;
use rusqlite::{Connection, OptionalExtension, params};

use crate::{NewUser, StoreError};

/// Creates a user; `Conflict` when the name is taken.
pub(super) fn create_user(conn: &Connection, user: NewUser, now_ms: u64) -> Result<(), StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO users (name, password_hash, display_name, created_ms) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (name) DO NOTHING",
        )?
        .execute(params![
            user.name.as_str(),
            user.password_hash,
            user.display_name,
            now_ms as i64
        ])?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!("user {}", user.name)));
    }
    Ok(())
}

/// The user's password hash, `None` when there is no such user.
pub(super) fn password_hash(
    conn: &Connection,
    user: &UserId,
) -> Result<Option<String>, StoreError> {
    let hash = conn
        .prepare_cached("SELECT password_hash FROM users WHERE name = ?1")?
        .query_row([user.as_str()], |row| row.get(0))
        .optional()?;
    Ok(hash)
}

/// Whether each of `users` exists, in order.
pub(super) fn users_exist(conn: &Connection, users: &[UserId]) -> Result<Vec<bool>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)")?;
    users
        .iter()
        .map(|user| Ok(stmt.query_row([user.as_str()], |row| row.get(0))?))
        .collect()
}

/// The first of `users` that does not exist, as `NotFound`.
pub(super) fn require(conn: &Connection, users: &[&UserId]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)")?;
    for user in users {
        let exists: bool = stmt.query_row([user.as_str()], |row| row.get(0))?;
        if !exists {
            return Err(StoreError::NotFound(format!("user {user}")));
        }
    }
    Ok(())
}
