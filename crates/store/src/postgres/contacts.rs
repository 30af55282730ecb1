//! Contacts: directed edges `(user_id, other, added, blocked)`.
//!
//! An edge with neither flag says nothing, so it is deleted rather than kept.

use koi_core::UserId;

use super::connect::{Db, execute, query, query_opt};
use crate::{ContactEdge, StoreError};

/// Records that `user` added `other`.
pub(super) async fn contact_add(db: &Db, user: &UserId, other: &UserId) -> Result<(), StoreError> {
    execute(
        db,
        "INSERT INTO contacts (user_id, other, added) VALUES ($1, $2, true) \
         ON CONFLICT (user_id, other) DO UPDATE SET added = true",
        &[&user.as_str(), &other.as_str()],
    )
    .await?;
    Ok(())
}

/// Clears `added` both ways; blocks stay.
pub(super) async fn contact_remove(
    db: &Db,
    user: &UserId,
    other: &UserId,
) -> Result<(), StoreError> {
    execute(
        db,
        "UPDATE contacts SET added = false \
         WHERE (user_id = $1 AND other = $2) OR (user_id = $2 AND other = $1)",
        &[&user.as_str(), &other.as_str()],
    )
    .await?;
    prune(db, user, other).await
}

/// Sets or clears `user`'s block of `other`.
pub(super) async fn set_blocked(
    db: &Db,
    user: &UserId,
    other: &UserId,
    blocked: bool,
) -> Result<(), StoreError> {
    execute(
        db,
        "INSERT INTO contacts (user_id, other, blocked) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, other) DO UPDATE SET blocked = excluded.blocked",
        &[&user.as_str(), &other.as_str(), &blocked],
    )
    .await?;
    prune(db, user, other).await
}

/// Whether `user` has blocked `other`.
pub(super) async fn is_blocked(db: &Db, user: &UserId, other: &UserId) -> Result<bool, StoreError> {
    let row = query_opt(
        db,
        "SELECT blocked FROM contacts WHERE user_id = $1 AND other = $2",
        &[&user.as_str(), &other.as_str()],
    )
    .await?;
    match row {
        Some(row) => Ok(row.try_get(0)?),
        None => Ok(false),
    }
}

/// Everyone `user` added or blocked, and everyone who added `user`, by name.
/// A block *of* `user` alone is not listed: people do not learn who blocked them.
pub(super) async fn contacts(db: &Db, user: &UserId) -> Result<Vec<ContactEdge>, StoreError> {
    let rows = query(
        db,
        "SELECT o.name, coalesce(mine.added, false), coalesce(mine.blocked, false), \
                coalesce(theirs.added, false) \
         FROM (SELECT other AS name FROM contacts WHERE user_id = $1 \
               UNION SELECT user_id FROM contacts WHERE other = $1 AND added) o \
         LEFT JOIN contacts mine ON mine.user_id = $1 AND mine.other = o.name \
         LEFT JOIN contacts theirs ON theirs.user_id = o.name AND theirs.other = $1 \
         ORDER BY o.name",
        &[&user.as_str()],
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ContactEdge {
                user: row.try_get(0)?,
                i_added: row.try_get(1)?,
                i_blocked: row.try_get(2)?,
                they_added: row.try_get(3)?,
            })
        })
        .collect()
}

/// Deletes the edges between the two that no longer carry a flag.
async fn prune(db: &Db, user: &UserId, other: &UserId) -> Result<(), StoreError> {
    execute(
        db,
        "DELETE FROM contacts WHERE NOT added AND NOT blocked \
         AND ((user_id = $1 AND other = $2) OR (user_id = $2 AND other = $1))",
        &[&user.as_str(), &other.as_str()],
    )
    .await?;
    Ok(())
}
