//! Groups and their members.

use std::collections::HashSet;

use koi_core::{Role, UserId};
use rusqlite::{Connection, OptionalExtension, params};

use super::activity::Activity;
use super::{convs, users};
use crate::{AddMembers, GroupRecord, NewGroup, StoreError};

/// Creates the group, its conversation (listed from now on, with no message) and
/// its first members. Any error leaves nothing behind: the writer rolls the
/// job's savepoint back.
pub(super) fn create_group(
    conn: &Connection,
    group: NewGroup,
    now_ms: u64,
    activity: &Activity,
) -> Result<GroupRecord, StoreError> {
    let members = distinct(std::iter::once(&group.owner).chain(&group.members));
    if members.len() > group.max_members as usize {
        return Err(StoreError::Limit(format!(
            "a group may have {} members, not {}",
            group.max_members,
            members.len()
        )));
    }
    users::require(conn, &members)?;
    if self::group(conn, &group.id)?.is_some() {
        return Err(StoreError::Conflict(format!("group {}", group.id)));
    }
    let conv = convs::create(conn, &format!("g:{}", group.id), now_ms, activity)?;
    conn.prepare_cached(
        "INSERT INTO groups (id, conv, name, owner, public, size, created_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        group.id,
        conv,
        group.name,
        group.owner.as_str(),
        group.public,
        members.len() as i64,
        now_ms as i64
    ])?;
    for (index, user) in members.iter().enumerate() {
        let role = if index == 0 {
            Role::Owner
        } else {
            Role::Member
        };
        insert_member(conn, &group.id, user, role)?;
    }
    let size = members.len() as u32;
    Ok(GroupRecord {
        id: group.id,
        name: group.name,
        owner: group.owner.into_string(),
        public: group.public,
        size,
        description: String::new(),
        avatar: String::new(),
    })
}

/// A group, `None` when it does not exist.
pub(super) fn group(conn: &Connection, id: &str) -> Result<Option<GroupRecord>, StoreError> {
    let found = conn
        .prepare_cached(&format!("SELECT {GROUP_COLUMNS} FROM groups WHERE id = ?1"))?
        .query_row([id], record)
        .optional()?;
    Ok(found)
}

/// The columns [`record`] reads, in order.
pub(super) const GROUP_COLUMNS: &str = "id, name, owner, public, size, description, avatar";

/// A group from a row of [`GROUP_COLUMNS`].
pub(super) fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<GroupRecord> {
    Ok(GroupRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        owner: row.get(2)?,
        public: row.get(3)?,
        size: row.get(4)?,
        description: row.get(5)?,
        avatar: row.get(6)?,
    })
}

/// The first `limit` members in joining order.
pub(super) fn group_members(
    conn: &Connection,
    id: &str,
    limit: u32,
) -> Result<Vec<(String, Role)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user, role FROM group_members WHERE group_id = ?1 ORDER BY joined LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![id, limit], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    rows.map(|row| {
        let (user, role) = row?;
        Ok((user, parse_role(&role)?))
    })
    .collect()
}

/// `user`'s role, `None` when not a member.
pub(super) fn member_role(
    conn: &Connection,
    id: &str,
    user: &UserId,
) -> Result<Option<Role>, StoreError> {
    let role: Option<String> = conn
        .prepare_cached("SELECT role FROM group_members WHERE group_id = ?1 AND user = ?2")?
        .query_row(params![id, user.as_str()], |row| row.get(0))
        .optional()?;
    role.as_deref().map(parse_role).transpose()
}

/// Adds the users who are not members yet, all or none.
pub(super) fn add_members(
    conn: &Connection,
    id: &str,
    users: &[UserId],
    max_members: u32,
) -> Result<AddMembers, StoreError> {
    let size = group(conn, id)?
        .ok_or_else(|| StoreError::NotFound(format!("group {id}")))?
        .size;
    let mut new = Vec::new();
    for user in distinct(users) {
        if member_role(conn, id, user)?.is_none() {
            new.push(user);
        }
    }
    users::require(conn, &new)?;
    let total = size as usize + new.len();
    if total > max_members as usize {
        return Err(StoreError::Limit(format!(
            "a group may have {max_members} members, not {total}"
        )));
    }
    for user in &new {
        insert_member(conn, id, user, Role::Member)?;
    }
    conn.prepare_cached("UPDATE groups SET size = size + ?2 WHERE id = ?1")?
        .execute(params![id, new.len() as i64])?;
    Ok(AddMembers {
        added: new.into_iter().map(|user| user.to_string()).collect(),
    })
}

/// Removes a member; when the owner leaves, the longest-standing admin, else
/// member, takes over, and a group left empty has no owner (`""`).
pub(super) fn remove_member(
    conn: &Connection,
    id: &str,
    user: &UserId,
) -> Result<bool, StoreError> {
    let role: Option<String> = conn
        .prepare_cached(
            "DELETE FROM group_members WHERE group_id = ?1 AND user = ?2 RETURNING role",
        )?
        .query_row(params![id, user.as_str()], |row| row.get(0))
        .optional()?;
    let Some(role) = role else { return Ok(false) };
    conn.prepare_cached("UPDATE groups SET size = size - 1 WHERE id = ?1")?
        .execute([id])?;
    if parse_role(&role)? != Role::Owner {
        return Ok(true);
    }
    let successor: Option<String> = conn
        .prepare_cached(
            "SELECT user FROM group_members WHERE group_id = ?1 \
             ORDER BY role <> 'admin', joined LIMIT 1",
        )?
        .query_row([id], |row| row.get(0))
        .optional()?;
    if let Some(successor) = &successor {
        conn.prepare_cached(
            "UPDATE group_members SET role = 'owner' WHERE group_id = ?1 AND user = ?2",
        )?
        .execute(params![id, successor])?;
    }
    conn.prepare_cached("UPDATE groups SET owner = ?2 WHERE id = ?1")?
        .execute(params![id, successor.unwrap_or_default()])?;
    Ok(true)
}

/// The ids of `user`'s groups, in the order they joined them.
pub(super) fn set_role(
    conn: &Connection,
    id: &str,
    user: &UserId,
    role: Role,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE group_members SET role = ?3 WHERE group_id = ?1 AND user = ?2 AND role <> 'owner'",
        )?
        .execute(params![id, user.as_str(), role.as_str()])?;
    Ok(changed > 0)
}

pub(super) fn user_groups(conn: &Connection, user: &UserId) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT group_id FROM group_members WHERE user = ?1 ORDER BY joined")?;
    let ids = stmt
        .query_map([user.as_str()], |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// The conversation names (`g:<id>`) of the groups `user` belongs to.
pub(super) fn conv_names(conn: &Connection, user: &UserId) -> Result<Vec<String>, StoreError> {
    let names = conn
        .prepare_cached(
            "SELECT c.name FROM group_members m JOIN groups g ON g.id = m.group_id \
             JOIN convs c ON c.id = g.conv WHERE m.user = ?1",
        )?
        .query_map([user.as_str()], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names)
}

fn insert_member(conn: &Connection, id: &str, user: &UserId, role: Role) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO group_members (group_id, user, role) VALUES (?1, ?2, ?3)")?
        .execute(params![id, user.as_str(), role.as_str()])?;
    Ok(())
}

/// `users` without repeats, in first-seen order.
fn distinct<'a>(users: impl IntoIterator<Item = &'a UserId>) -> Vec<&'a UserId> {
    let mut seen = HashSet::new();
    users
        .into_iter()
        .filter(|user| seen.insert(*user))
        .collect()
}

fn parse_role(role: &str) -> Result<Role, StoreError> {
    Role::parse(role).ok_or_else(|| StoreError::Internal(format!("stored role {role:?}")))
}
