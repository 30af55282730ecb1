//! Groups and their members.
//!
//! Every membership change locks the group's row first (`FOR NO KEY UPDATE`),
//! so changes to one group from any node run one after the other: `size`, the
//! member limit and the owner hand-off stay consistent.

use std::collections::HashSet;

use koi_core::{Role, UserId};

use super::connect::{Db, execute, query, query_opt, unsigned};
use super::{convs, users};
use crate::{AddMembers, GroupRecord, NewGroup, StoreError};

/// Creates the group, its conversation (listed from now on, with no message) and
/// its first members. Any error leaves nothing behind: the writer rolls the
/// job's savepoint back. A taken id is `Conflict`, also when another node
/// creates it concurrently.
pub(super) async fn create_group(
    db: &Db,
    group: NewGroup,
    now_ms: u64,
) -> Result<GroupRecord, StoreError> {
    let members = distinct(std::iter::once(&group.owner).chain(&group.members));
    if members.len() > group.max_members as usize {
        return Err(StoreError::Limit(format!(
            "a group may have {} members, not {}",
            group.max_members,
            members.len()
        )));
    }
    users::require(db, &members).await?;
    let Some(conv) = convs::create(db, &format!("g:{}", group.id), now_ms).await? else {
        return Err(StoreError::Conflict(format!("group {}", group.id)));
    };
    let inserted = execute(
        db,
        "INSERT INTO groups (id, conv, name, owner, public, size, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        &[
            &group.id,
            &conv,
            &group.name,
            &group.owner.as_str(),
            &group.public,
            &(members.len() as i64),
            &(now_ms as i64),
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!("group {}", group.id)));
    }
    // The owner first, then the members in the order given.
    let (owner, rest) = members.split_at(1);
    insert_members(db, &group.id, owner, Role::Owner).await?;
    insert_members(db, &group.id, rest, Role::Member).await?;
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
pub(super) async fn group(db: &Db, id: &str) -> Result<Option<GroupRecord>, StoreError> {
    let row = query_opt(
        db,
        &format!("SELECT {GROUP_COLUMNS} FROM groups WHERE id = $1"),
        &[&id],
    )
    .await?;
    row.as_ref().map(record).transpose()
}

/// The columns [`record`] reads, in order.
pub(super) const GROUP_COLUMNS: &str = "id, name, owner, public, size, description, avatar";

/// A group from a row of [`GROUP_COLUMNS`].
pub(super) fn record(row: &tokio_postgres::Row) -> Result<GroupRecord, StoreError> {
    Ok(GroupRecord {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        owner: row.try_get(2)?,
        public: row.try_get(3)?,
        size: size(row.try_get(4)?),
        description: row.try_get(5)?,
        avatar: row.try_get(6)?,
    })
}

/// The first `limit` members in joining order.
pub(super) async fn group_members(
    db: &Db,
    id: &str,
    limit: u32,
) -> Result<Vec<(String, Role)>, StoreError> {
    let rows = query(
        db,
        "SELECT user_id, role FROM group_members WHERE group_id = $1 ORDER BY joined LIMIT $2",
        &[&id, &i64::from(limit)],
    )
    .await?;
    rows.iter()
        .map(|row| {
            let role: &str = row.try_get(1)?;
            Ok((row.try_get(0)?, parse_role(role)?))
        })
        .collect()
}

/// `user`'s role, `None` when not a member.
pub(super) async fn member_role(
    db: &Db,
    id: &str,
    user: &UserId,
) -> Result<Option<Role>, StoreError> {
    let row = query_opt(
        db,
        "SELECT role FROM group_members WHERE group_id = $1 AND user_id = $2",
        &[&id, &user.as_str()],
    )
    .await?;
    match row {
        Some(row) => Ok(Some(parse_role(row.try_get(0)?)?)),
        None => Ok(None),
    }
}

/// Adds the users who are not members yet, all or none.
pub(super) async fn add_members(
    db: &Db,
    id: &str,
    users: &[UserId],
    max_members: u32,
) -> Result<AddMembers, StoreError> {
    let size = lock(db, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("group {id}")))?;
    let wanted = distinct(users);
    let names: Vec<&str> = wanted.iter().map(|user| user.as_str()).collect();
    let rows = query(
        db,
        "SELECT user_id FROM group_members WHERE group_id = $1 AND user_id = ANY($2::text[])",
        &[&id, &names],
    )
    .await?;
    let members = rows
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<HashSet<&str>, _>>()?;
    let new: Vec<&UserId> = wanted
        .into_iter()
        .filter(|user| !members.contains(user.as_str()))
        .collect();
    users::require(db, &new).await?;
    let total = size as usize + new.len();
    if total > max_members as usize {
        return Err(StoreError::Limit(format!(
            "a group may have {max_members} members, not {total}"
        )));
    }
    insert_members(db, id, &new, Role::Member).await?;
    execute(
        db,
        "UPDATE groups SET size = size + $2 WHERE id = $1",
        &[&id, &(new.len() as i64)],
    )
    .await?;
    Ok(AddMembers {
        added: new.into_iter().map(|user| user.to_string()).collect(),
    })
}

/// Removes a member; when the owner leaves, the longest-standing admin, else
/// member, takes over, and a group left empty has no owner (`""`).
pub(super) async fn remove_member(db: &Db, id: &str, user: &UserId) -> Result<bool, StoreError> {
    if lock(db, id).await?.is_none() {
        return Ok(false);
    }
    let row = query_opt(
        db,
        "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2 RETURNING role",
        &[&id, &user.as_str()],
    )
    .await?;
    let Some(row) = row else { return Ok(false) };
    let role = parse_role(row.try_get(0)?)?;
    execute(
        db,
        "UPDATE groups SET size = size - 1 WHERE id = $1",
        &[&id],
    )
    .await?;
    if role != Role::Owner {
        return Ok(true);
    }
    let successor: Option<String> = query_opt(
        db,
        "SELECT user_id FROM group_members WHERE group_id = $1 \
         ORDER BY role <> 'admin', joined LIMIT 1",
        &[&id],
    )
    .await?
    .map(|row| row.try_get(0))
    .transpose()?;
    if let Some(successor) = &successor {
        execute(
            db,
            "UPDATE group_members SET role = 'owner' WHERE group_id = $1 AND user_id = $2",
            &[&id, successor],
        )
        .await?;
    }
    execute(
        db,
        "UPDATE groups SET owner = $2 WHERE id = $1",
        &[&id, &successor.unwrap_or_default()],
    )
    .await?;
    Ok(true)
}

/// The ids of `user`'s groups, in the order they joined them.
pub(super) async fn set_role(
    db: &Db,
    id: &str,
    user: &UserId,
    role: Role,
) -> Result<bool, StoreError> {
    let changed = execute(
        db,
        "UPDATE group_members SET role = $3 WHERE group_id = $1 AND user_id = $2 AND role <> 'owner'",
        &[&id, &user.as_str(), &role.as_str()],
    )
    .await?;
    Ok(changed > 0)
}

pub(super) async fn user_groups(db: &Db, user: &UserId) -> Result<Vec<String>, StoreError> {
    let rows = query(
        db,
        "SELECT group_id FROM group_members WHERE user_id = $1 ORDER BY joined",
        &[&user.as_str()],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?)
}

/// Locks the group's row until the transaction ends; its size, `None` when
/// there is no such group.
pub(super) async fn lock(db: &Db, id: &str) -> Result<Option<u32>, StoreError> {
    let row = query_opt(
        db,
        "SELECT size FROM groups WHERE id = $1 FOR NO KEY UPDATE",
        &[&id],
    )
    .await?;
    match row {
        Some(row) => Ok(Some(size(row.try_get(0)?))),
        None => Ok(None),
    }
}

/// Adds `users` with `role`, joining in the order given: the rows are inserted,
/// and so numbered by `joined`, in `ORDER BY` order.
async fn insert_members(
    db: &Db,
    id: &str,
    users: &[&UserId],
    role: Role,
) -> Result<(), StoreError> {
    if users.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = users.iter().map(|user| user.as_str()).collect();
    execute(
        db,
        "INSERT INTO group_members (group_id, user_id, role) \
         SELECT $1, u.name, $3 FROM unnest($2::text[]) WITH ORDINALITY AS u (name, position) \
         ORDER BY u.position",
        &[&id, &names, &role.as_str()],
    )
    .await?;
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

fn size(stored: i64) -> u32 {
    u32::try_from(unsigned(stored)).unwrap_or(u32::MAX)
}

fn parse_role(role: &str) -> Result<Role, StoreError> {
    Role::parse(role).ok_or_else(|| StoreError::Internal(format!("stored role {role:?}")))
}
