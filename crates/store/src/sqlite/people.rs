//! Profiles, privacy settings, last seen, per-user conversation settings and
//! group settings (§13).

use koi_core::{Audience, ConvId, Privacy, UserId};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::groups::{self, GROUP_COLUMNS};
use crate::{
    ConvSettings, ConvSettingsUpdate, GroupRecord, GroupUpdate, PrivacyUpdate, ProfileRecord,
    ProfileUpdate, StoreError,
};

/// Sets the fields given; false for no such user or a deleted one.
pub(super) fn set_profile(
    conn: &Connection,
    user: &UserId,
    update: &ProfileUpdate,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE users SET display_name = coalesce(?2, display_name), \
             avatar = coalesce(?3, avatar), status = coalesce(?4, status) \
             WHERE name = ?1 AND deleted = 0",
        )?
        .execute(params![
            user.as_str(),
            update.display_name,
            update.avatar,
            update.status
        ])?;
    Ok(changed > 0)
}

/// The profiles of those of `users` that exist, in order, each once.
pub(super) fn profiles(
    conn: &Connection,
    users: &[UserId],
) -> Result<Vec<ProfileRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, coalesce(display_name, ''), avatar, status, last_seen, deleted, \
         dm, presence, group_add FROM users WHERE name = ?1",
    )?;
    let mut seen = std::collections::HashSet::new();
    let mut found = Vec::new();
    for user in users.iter().filter(|u| seen.insert(*u)) {
        let row = stmt
            .query_row([user.as_str()], |row| {
                Ok((
                    ProfileRecord {
                        user: row.get(0)?,
                        display_name: row.get(1)?,
                        avatar: row.get(2)?,
                        status: row.get(3)?,
                        last_seen: row.get::<_, Option<i64>>(4)?.map(|ms| ms.max(0) as u64),
                        deleted: row.get(5)?,
                        privacy: Privacy::default(),
                    },
                    [row.get::<_, String>(6)?, row.get(7)?, row.get(8)?],
                ))
            })
            .optional()?;
        if let Some((mut profile, [dm, presence, group_add])) = row {
            profile.privacy = Privacy {
                dm: audience(&dm)?,
                presence: audience(&presence)?,
                group_add: audience(&group_add)?,
            };
            found.push(profile);
        }
    }
    Ok(found)
}

fn audience(stored: &str) -> Result<Audience, StoreError> {
    Audience::parse(stored)
        .ok_or_else(|| StoreError::Internal(format!("stored privacy setting {stored:?}")))
}

/// Moves `user`'s last seen forward to `at_ms`.
pub(super) fn set_last_seen(
    conn: &Connection,
    user: &UserId,
    at_ms: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE users SET last_seen = max(coalesce(last_seen, 0), ?2) WHERE name = ?1",
    )?
    .execute(params![user.as_str(), clamp(at_ms)])?;
    Ok(())
}

/// Sets the privacy settings given and returns them all.
pub(super) fn set_privacy(
    conn: &Connection,
    user: &UserId,
    update: PrivacyUpdate,
) -> Result<Privacy, StoreError> {
    let spelled = |a: Option<Audience>| a.map(Audience::as_str);
    conn.prepare_cached(
        "UPDATE users SET dm = coalesce(?2, dm), presence = coalesce(?3, presence), \
         group_add = coalesce(?4, group_add) WHERE name = ?1",
    )?
    .execute(params![
        user.as_str(),
        spelled(update.dm),
        spelled(update.presence),
        spelled(update.group_add)
    ])?;
    profiles(conn, std::slice::from_ref(user))?
        .pop()
        .map(|p| p.privacy)
        .ok_or_else(|| StoreError::NotFound(format!("user {user}")))
}

/// Applies `update` to `user`'s settings of `conv` and returns them.
pub(super) fn set_conv_settings(
    conn: &Connection,
    user: &UserId,
    conv: &ConvId,
    update: ConvSettingsUpdate,
) -> Result<ConvSettings, StoreError> {
    let (user, conv) = (user.as_str(), conv.to_string());
    let before = conn
        .prepare_cached(
            "SELECT muted_until, pinned, archived FROM conv_settings WHERE user = ?1 AND conv = ?2",
        )?
        .query_row(params![user, conv], settings)
        .optional()?
        .unwrap_or_default();
    let after = before.updated(update);
    conn.prepare_cached(
        "INSERT INTO conv_settings (user, conv, muted_until, pinned, archived) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user, conv) DO UPDATE SET \
         muted_until = excluded.muted_until, pinned = excluded.pinned, archived = excluded.archived",
    )?
    .execute(params![
        user,
        conv,
        clamp(after.muted_until),
        after.pinned,
        after.archived
    ])?;
    Ok(after)
}

/// `user`'s settings of every conversation they changed any for.
pub(super) fn conv_settings(
    conn: &Connection,
    user: &UserId,
) -> Result<Vec<(String, ConvSettings)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT conv, muted_until, pinned, archived FROM conv_settings WHERE user = ?1",
    )?;
    let rows = stmt
        .query_map([user.as_str()], |row| {
            Ok((
                row.get(0)?,
                ConvSettings {
                    muted_until: row.get::<_, i64>(1)?.max(0) as u64,
                    pinned: row.get(2)?,
                    archived: row.get(3)?,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn settings(row: &Row<'_>) -> rusqlite::Result<ConvSettings> {
    Ok(ConvSettings {
        muted_until: row.get::<_, i64>(0)?.max(0) as u64,
        pinned: row.get(1)?,
        archived: row.get(2)?,
    })
}

/// Applies `update` to the group; the group after, `None` when there is none.
pub(super) fn update_group(
    conn: &Connection,
    id: &str,
    update: &GroupUpdate,
) -> Result<Option<GroupRecord>, StoreError> {
    conn.prepare_cached(
        "UPDATE groups SET name = coalesce(?2, name), description = coalesce(?3, description), \
         avatar = coalesce(?4, avatar), public = coalesce(?5, public) WHERE id = ?1",
    )?
    .execute(params![
        id,
        update.name,
        update.description,
        update.avatar,
        update.public
    ])?;
    groups::group(conn, id)
}

/// Makes `user` the owner and the owner an admin; false when `user` is not a
/// member.
pub(super) fn transfer_owner(
    conn: &Connection,
    id: &str,
    user: &UserId,
) -> Result<bool, StoreError> {
    if groups::member_role(conn, id, user)?.is_none() {
        return Ok(false);
    }
    conn.prepare_cached(
        "UPDATE group_members SET role = 'admin' WHERE group_id = ?1 AND role = 'owner'",
    )?
    .execute([id])?;
    conn.prepare_cached(
        "UPDATE group_members SET role = 'owner' WHERE group_id = ?1 AND user = ?2",
    )?
    .execute(params![id, user.as_str()])?;
    conn.prepare_cached("UPDATE groups SET owner = ?2 WHERE id = ?1")?
        .execute(params![id, user.as_str()])?;
    Ok(true)
}

/// The groups whose avatar is `file_id`.
pub(super) fn avatar_groups(
    conn: &Connection,
    file_id: &str,
) -> Result<Vec<GroupRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {GROUP_COLUMNS} FROM groups WHERE avatar = ?1 AND avatar <> ''"
    ))?;
    let found = stmt
        .query_map([file_id], groups::record)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(found)
}

/// The users who blocked `user`.
pub(super) fn blocked_by(conn: &Connection, user: &UserId) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT user FROM contacts WHERE other = ?1 AND blocked = 1")?;
    let found = stmt
        .query_map([user.as_str()], |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(found)
}

/// SQLite integers are signed; a time past `i64::MAX` is kept as that.
fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
