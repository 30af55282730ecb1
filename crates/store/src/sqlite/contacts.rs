//! Contacts: directed edges `(user, other, added, blocked)`.
//!
//! An edge with neither flag says nothing, so it is deleted rather than kept.

use koi_core::UserId;
use rusqlite::{Connection, params};

use crate::{ContactEdge, StoreError};

/// Records that `user` added `other`.
pub(super) fn contact_add(
    conn: &Connection,
    user: &UserId,
    other: &UserId,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO contacts (user, other, added) VALUES (?1, ?2, 1) \
         ON CONFLICT (user, other) DO UPDATE SET added = 1",
    )?
    .execute(params![user.as_str(), other.as_str()])?;
    Ok(())
}

/// Clears `added` both ways; blocks stay.
pub(super) fn contact_remove(
    conn: &Connection,
    user: &UserId,
    other: &UserId,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE contacts SET added = 0 \
         WHERE (user = ?1 AND other = ?2) OR (user = ?2 AND other = ?1)",
    )?
    .execute(params![user.as_str(), other.as_str()])?;
    prune(conn, user, other)
}

/// Sets or clears `user`'s block of `other`.
pub(super) fn set_blocked(
    conn: &Connection,
    user: &UserId,
    other: &UserId,
    blocked: bool,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO contacts (user, other, blocked) VALUES (?1, ?2, ?3) \
         ON CONFLICT (user, other) DO UPDATE SET blocked = excluded.blocked",
    )?
    .execute(params![user.as_str(), other.as_str(), blocked])?;
    prune(conn, user, other)
}

/// Everyone `user` added or blocked, and everyone who added `user`, by name.
/// A block *of* `user` alone is not listed: people do not learn who blocked them.
pub(super) fn contacts(conn: &Connection, user: &UserId) -> Result<Vec<ContactEdge>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.name, coalesce(mine.added, 0), coalesce(mine.blocked, 0), coalesce(theirs.added, 0) \
         FROM (SELECT other AS name FROM contacts WHERE user = ?1 \
               UNION SELECT user FROM contacts WHERE other = ?1 AND added) o \
         LEFT JOIN contacts mine ON mine.user = ?1 AND mine.other = o.name \
         LEFT JOIN contacts theirs ON theirs.user = o.name AND theirs.other = ?1 \
         ORDER BY o.name",
    )?;
    let edges = stmt
        .query_map([user.as_str()], |row| {
            Ok(ContactEdge {
                user: row.get(0)?,
                i_added: row.get(1)?,
                i_blocked: row.get(2)?,
                they_added: row.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(edges)
}

/// Deletes the edges between the two that no longer carry a flag.
fn prune(conn: &Connection, user: &UserId, other: &UserId) -> Result<(), StoreError> {
    conn.prepare_cached(
        "DELETE FROM contacts WHERE added = 0 AND blocked = 0 \
         AND ((user = ?1 AND other = ?2) OR (user = ?2 AND other = ?1))",
    )?
    .execute(params![user.as_str(), other.as_str()])?;
    Ok(())
}
