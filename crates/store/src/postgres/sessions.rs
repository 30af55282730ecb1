//! Login sessions and account standing (token revocation).

use koi_core::UserId;
use tokio_postgres::Row;

use super::connect::{Db, clamp, execute, query, query_opt, unsigned};
use crate::{AccountState, NewSession, RevocationState, SessionRecord, StoreError};

/// Records a session and forgets the user's expired ones.
pub(super) async fn create_session(db: &Db, session: &NewSession) -> Result<(), StoreError> {
    execute(
        db,
        "DELETE FROM sessions WHERE \"user\" = $1 AND expires_ms <= $2",
        &[&session.user.as_str(), &clamp(session.created_at)],
    )
    .await?;
    execute(
        db,
        "INSERT INTO sessions (id, \"user\", created_ms, used_ms, expires_ms, user_agent) \
         VALUES ($1, $2, $3, $3, $4, $5)",
        &[
            &session.id,
            &session.user.as_str(),
            &clamp(session.created_at),
            &clamp(session.expires_at),
            &session.user_agent,
        ],
    )
    .await?;
    Ok(())
}

const COLUMNS: &str = "id, \"user\", created_ms, used_ms, expires_ms, user_agent, revoked";

fn record(row: &Row) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: row.try_get(0)?,
        user: row.try_get(1)?,
        created_at: unsigned(row.try_get(2)?),
        last_used_at: unsigned(row.try_get(3)?),
        expires_at: unsigned(row.try_get(4)?),
        user_agent: row.try_get(5)?,
        revoked: row.try_get(6)?,
    })
}

/// The user's live sessions, oldest first.
pub(super) async fn sessions(
    db: &Db,
    user: &UserId,
    now_ms: u64,
) -> Result<Vec<SessionRecord>, StoreError> {
    let rows = query(
        db,
        &format!(
            "SELECT {COLUMNS} FROM sessions WHERE \"user\" = $1 AND NOT revoked \
             AND expires_ms > $2 ORDER BY created_ms, id"
        ),
        &[&user.as_str(), &clamp(now_ms)],
    )
    .await?;
    rows.iter().map(record).collect()
}

/// Revokes one of the user's sessions, returning it as it was.
pub(super) async fn revoke_session(
    db: &Db,
    user: &UserId,
    id: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    let row = query_opt(
        db,
        &format!(
            "UPDATE sessions SET revoked = TRUE WHERE id = $1 AND \"user\" = $2 AND NOT revoked \
             RETURNING {COLUMNS}"
        ),
        &[&id, &user.as_str()],
    )
    .await?;
    row.as_ref()
        .map(|row| {
            record(row).map(|mut r| {
                r.revoked = false;
                r
            })
        })
        .transpose()
}

/// Revokes every session of the user and every token issued before `before_ms`.
pub(super) async fn revoke_all_sessions(
    db: &Db,
    user: &UserId,
    before_ms: u64,
) -> Result<(), StoreError> {
    execute(
        db,
        "UPDATE sessions SET revoked = TRUE WHERE \"user\" = $1 AND NOT revoked",
        &[&user.as_str()],
    )
    .await?;
    execute(
        db,
        "UPDATE users SET tokens_before = greatest(tokens_before, $2) WHERE name = $1",
        &[&user.as_str(), &clamp(before_ms)],
    )
    .await?;
    Ok(())
}

/// Moves a session's last use forward.
pub(super) async fn touch_session(db: &Db, id: &str, at_ms: u64) -> Result<(), StoreError> {
    execute(
        db,
        "UPDATE sessions SET used_ms = greatest(used_ms, $2) WHERE id = $1",
        &[&id, &clamp(at_ms)],
    )
    .await?;
    Ok(())
}

fn state(row: &Row, from: usize) -> Result<AccountState, StoreError> {
    Ok(AccountState {
        disabled: row.try_get(from)?,
        deleted: row.try_get(from + 1)?,
        tokens_before: unsigned(row.try_get(from + 2)?),
    })
}

/// The account's standing.
pub(super) async fn account_state(
    db: &Db,
    user: &UserId,
) -> Result<Option<AccountState>, StoreError> {
    let row = query_opt(
        db,
        "SELECT disabled, deleted, tokens_before FROM users WHERE name = $1",
        &[&user.as_str()],
    )
    .await?;
    row.as_ref().map(|row| state(row, 0)).transpose()
}

/// Replaces the password hash.
pub(super) async fn set_password(
    db: &Db,
    user: &UserId,
    password_hash: &str,
) -> Result<bool, StoreError> {
    let changed = execute(
        db,
        "UPDATE users SET password_hash = $2 WHERE name = $1 AND NOT deleted",
        &[&user.as_str(), &password_hash],
    )
    .await?;
    Ok(changed > 0)
}

/// Disables or enables the account.
pub(super) async fn set_disabled(
    db: &Db,
    user: &UserId,
    disabled: bool,
) -> Result<bool, StoreError> {
    let changed = execute(
        db,
        "UPDATE users SET disabled = $2 WHERE name = $1",
        &[&user.as_str(), &disabled],
    )
    .await?;
    Ok(changed > 0)
}

/// Deletes the account, keeping the name taken.
pub(super) async fn delete_account(db: &Db, user: &UserId, at_ms: u64) -> Result<bool, StoreError> {
    let changed = execute(
        db,
        "UPDATE users SET deleted = TRUE, password_hash = '', display_name = NULL, \
         avatar = '', status = '', \
         tokens_before = greatest(tokens_before, $2) WHERE name = $1",
        &[&user.as_str(), &clamp(at_ms)],
    )
    .await?;
    if changed == 0 {
        return Ok(false);
    }
    execute(
        db,
        "UPDATE sessions SET revoked = TRUE WHERE \"user\" = $1",
        &[&user.as_str()],
    )
    .await?;
    Ok(true)
}

/// What a starting node must know to refuse revoked tokens.
pub(super) async fn revocations(
    db: &Db,
    now_ms: u64,
    since_ms: u64,
) -> Result<RevocationState, StoreError> {
    let sessions = query(
        db,
        "SELECT id, expires_ms FROM sessions WHERE revoked AND expires_ms > $1",
        &[&clamp(now_ms)],
    )
    .await?
    .iter()
    .map(|row| Ok((row.try_get(0)?, unsigned(row.try_get(1)?))))
    .collect::<Result<_, StoreError>>()?;
    let accounts = query(
        db,
        "SELECT name, disabled, deleted, tokens_before FROM users \
         WHERE disabled OR deleted OR tokens_before > $1",
        &[&clamp(since_ms)],
    )
    .await?
    .iter()
    .map(|row| Ok((row.try_get(0)?, state(row, 1)?)))
    .collect::<Result<_, StoreError>>()?;
    Ok(RevocationState { sessions, accounts })
}
