//! Login sessions and account standing (token revocation).

use koi_core::UserId;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::{AccountState, NewSession, RevocationState, SessionRecord, StoreError};

/// Records a session and forgets the user's expired ones.
pub(super) fn create_session(conn: &Connection, session: NewSession) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM sessions WHERE user = ?1 AND expires_ms <= ?2")?
        .execute(params![session.user.as_str(), session.created_at as i64])?;
    conn.prepare_cached(
        "INSERT INTO sessions (id, user, created_ms, used_ms, expires_ms, user_agent) \
         VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
    )?
    .execute(params![
        session.id,
        session.user.as_str(),
        session.created_at as i64,
        session.expires_at as i64,
        session.user_agent
    ])?;
    Ok(())
}

const COLUMNS: &str = "id, user, created_ms, used_ms, expires_ms, user_agent, revoked";

fn record(row: &Row<'_>) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        id: row.get(0)?,
        user: row.get(1)?,
        created_at: row.get::<_, i64>(2)? as u64,
        last_used_at: row.get::<_, i64>(3)? as u64,
        expires_at: row.get::<_, i64>(4)? as u64,
        user_agent: row.get(5)?,
        revoked: row.get(6)?,
    })
}

/// The user's live sessions, oldest first.
pub(super) fn sessions(
    conn: &Connection,
    user: &UserId,
    now_ms: u64,
) -> Result<Vec<SessionRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sessions WHERE user = ?1 AND revoked = 0 AND expires_ms > ?2 \
         ORDER BY created_ms, id"
    ))?;
    let rows = stmt.query_map(params![user.as_str(), now_ms as i64], record)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Revokes one of the user's sessions, returning it as it was.
pub(super) fn revoke_session(
    conn: &Connection,
    user: &UserId,
    id: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE id = ?1 AND user = ?2 AND revoked = 0"
        ))?
        .query_row(params![id, user.as_str()], record)
        .optional()?;
    if found.is_some() {
        conn.prepare_cached("UPDATE sessions SET revoked = 1 WHERE id = ?1")?
            .execute([id])?;
    }
    Ok(found)
}

/// Revokes every session of the user and every token issued before `before_ms`.
pub(super) fn revoke_all_sessions(
    conn: &Connection,
    user: &UserId,
    before_ms: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE sessions SET revoked = 1 WHERE user = ?1 AND revoked = 0")?
        .execute([user.as_str()])?;
    conn.prepare_cached("UPDATE users SET tokens_before = max(tokens_before, ?2) WHERE name = ?1")?
        .execute(params![user.as_str(), before_ms as i64])?;
    Ok(())
}

/// Moves a session's last use forward.
pub(super) fn touch_session(conn: &Connection, id: &str, at_ms: u64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE sessions SET used_ms = max(used_ms, ?2) WHERE id = ?1")?
        .execute(params![id, at_ms as i64])?;
    Ok(())
}

fn state(row: &Row<'_>, from: usize) -> rusqlite::Result<AccountState> {
    Ok(AccountState {
        disabled: row.get(from)?,
        deleted: row.get(from + 1)?,
        tokens_before: row.get::<_, i64>(from + 2)? as u64,
    })
}

/// The account's standing.
pub(super) fn account_state(
    conn: &Connection,
    user: &UserId,
) -> Result<Option<AccountState>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT disabled, deleted, tokens_before FROM users WHERE name = ?1")?
        .query_row([user.as_str()], |row| state(row, 0))
        .optional()?)
}

/// Replaces the password hash.
pub(super) fn set_password(
    conn: &Connection,
    user: &UserId,
    password_hash: &str,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached("UPDATE users SET password_hash = ?2 WHERE name = ?1 AND deleted = 0")?
        .execute(params![user.as_str(), password_hash])?;
    Ok(changed > 0)
}

/// Disables or enables the account.
pub(super) fn set_disabled(
    conn: &Connection,
    user: &UserId,
    disabled: bool,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached("UPDATE users SET disabled = ?2 WHERE name = ?1")?
        .execute(params![user.as_str(), disabled])?;
    Ok(changed > 0)
}

/// Deletes the account, keeping the name taken.
pub(super) fn delete_account(
    conn: &Connection,
    user: &UserId,
    at_ms: u64,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE users SET deleted = 1, password_hash = '', display_name = NULL, \
             avatar = '', status = '', \
             tokens_before = max(tokens_before, ?2) WHERE name = ?1",
        )?
        .execute(params![user.as_str(), at_ms as i64])?;
    if changed == 0 {
        return Ok(false);
    }
    conn.prepare_cached("UPDATE sessions SET revoked = 1 WHERE user = ?1")?
        .execute([user.as_str()])?;
    Ok(true)
}

/// What a starting node must know to refuse revoked tokens.
pub(super) fn revocations(
    conn: &Connection,
    now_ms: u64,
    since_ms: u64,
) -> Result<RevocationState, StoreError> {
    let sessions = conn
        .prepare_cached(
            "SELECT id, expires_ms FROM sessions WHERE revoked = 1 AND expires_ms > ?1",
        )?
        .query_map([now_ms as i64], |row| {
            Ok((row.get(0)?, row.get::<_, i64>(1)? as u64))
        })?
        .collect::<Result<_, _>>()?;
    let accounts = conn
        .prepare_cached(
            "SELECT name, disabled, deleted, tokens_before FROM users \
             WHERE disabled = 1 OR deleted = 1 OR tokens_before > ?1",
        )?
        .query_map([since_ms as i64], |row| Ok((row.get(0)?, state(row, 1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(RevocationState { sessions, accounts })
}
