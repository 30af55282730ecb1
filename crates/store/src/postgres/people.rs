//! Profiles, privacy settings, last seen, per-user conversation settings and
//! group settings (§13).

use std::collections::{HashMap, HashSet};

use koi_core::{Audience, ConvId, Privacy, UserId};

use super::connect::{Db, clamp, execute, query, query_opt, unsigned};
use super::groups::{self, GROUP_COLUMNS};
use crate::{
    ConvSettings, ConvSettingsUpdate, GroupRecord, GroupUpdate, PrivacyUpdate, ProfileRecord,
    ProfileUpdate, StoreError,
};

/// Sets the fields given; false for no such user or a deleted one.
pub(super) async fn set_profile(
    db: &Db,
    user: &UserId,
    update: &ProfileUpdate,
) -> Result<bool, StoreError> {
    let changed = execute(
        db,
        "UPDATE users SET display_name = coalesce($2, display_name), \
         avatar = coalesce($3, avatar), status = coalesce($4, status) \
         WHERE name = $1 AND NOT deleted",
        &[
            &user.as_str(),
            &update.display_name,
            &update.avatar,
            &update.status,
        ],
    )
    .await?;
    Ok(changed > 0)
}

/// The profiles of those of `users` that exist, in order, each once; one
/// query for all.
pub(super) async fn profiles(db: &Db, users: &[UserId]) -> Result<Vec<ProfileRecord>, StoreError> {
    let mut seen = HashSet::new();
    let names: Vec<&str> = users
        .iter()
        .map(|u| u.as_str())
        .filter(|u| seen.insert(*u))
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let rows = query(
        db,
        "SELECT name, coalesce(display_name, ''), avatar, status, last_seen, deleted, \
         dm, presence, group_add FROM users WHERE name = ANY($1::text[])",
        &[&names],
    )
    .await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in &rows {
        let record = ProfileRecord {
            user: row.try_get(0)?,
            display_name: row.try_get(1)?,
            avatar: row.try_get(2)?,
            status: row.try_get(3)?,
            last_seen: row.try_get::<_, Option<i64>>(4)?.map(unsigned),
            deleted: row.try_get(5)?,
            privacy: Privacy {
                dm: audience(row.try_get(6)?)?,
                presence: audience(row.try_get(7)?)?,
                group_add: audience(row.try_get(8)?)?,
            },
        };
        found.insert(record.user.clone(), record);
    }
    Ok(names.iter().filter_map(|n| found.remove(*n)).collect())
}

fn audience(stored: &str) -> Result<Audience, StoreError> {
    Audience::parse(stored)
        .ok_or_else(|| StoreError::Internal(format!("stored privacy setting {stored:?}")))
}

/// Moves `user`'s last seen forward to `at_ms`.
pub(super) async fn set_last_seen(db: &Db, user: &UserId, at_ms: u64) -> Result<(), StoreError> {
    execute(
        db,
        "UPDATE users SET last_seen = greatest(coalesce(last_seen, 0), $2) WHERE name = $1",
        &[&user.as_str(), &clamp(at_ms)],
    )
    .await?;
    Ok(())
}

/// Sets the privacy settings given and returns them all.
pub(super) async fn set_privacy(
    db: &Db,
    user: &UserId,
    update: PrivacyUpdate,
) -> Result<Privacy, StoreError> {
    let spelled = |a: Option<Audience>| a.map(Audience::as_str);
    let row = query_opt(
        db,
        "UPDATE users SET dm = coalesce($2, dm), presence = coalesce($3, presence), \
         group_add = coalesce($4, group_add) WHERE name = $1 RETURNING dm, presence, group_add",
        &[
            &user.as_str(),
            &spelled(update.dm),
            &spelled(update.presence),
            &spelled(update.group_add),
        ],
    )
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("user {user}")))?;
    Ok(Privacy {
        dm: audience(row.try_get(0)?)?,
        presence: audience(row.try_get(1)?)?,
        group_add: audience(row.try_get(2)?)?,
    })
}

/// Applies `update` to `user`'s settings of `conv` and returns them; the
/// row is locked while it is read and written.
pub(super) async fn set_conv_settings(
    db: &Db,
    user: &UserId,
    conv: &ConvId,
    update: ConvSettingsUpdate,
) -> Result<ConvSettings, StoreError> {
    let (user, conv) = (user.as_str(), conv.to_string());
    execute(
        db,
        "INSERT INTO conv_settings (user_id, conv) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&user, &conv],
    )
    .await?;
    let row = query_opt(
        db,
        "SELECT muted_until, pinned, archived FROM conv_settings \
         WHERE user_id = $1 AND conv = $2 FOR UPDATE",
        &[&user, &conv],
    )
    .await?;
    let before = match row {
        Some(row) => settings(&row, 0)?,
        None => ConvSettings::default(),
    };
    let after = before.updated(update);
    execute(
        db,
        "UPDATE conv_settings SET muted_until = $3, pinned = $4, archived = $5 \
         WHERE user_id = $1 AND conv = $2",
        &[
            &user,
            &conv,
            &clamp(after.muted_until),
            &after.pinned,
            &after.archived,
        ],
    )
    .await?;
    Ok(after)
}

/// `user`'s settings of every conversation they changed any for.
pub(super) async fn conv_settings(
    db: &Db,
    user: &UserId,
) -> Result<Vec<(String, ConvSettings)>, StoreError> {
    let rows = query(
        db,
        "SELECT conv, muted_until, pinned, archived FROM conv_settings WHERE user_id = $1",
        &[&user.as_str()],
    )
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, settings(row, 1)?)))
        .collect()
}

fn settings(row: &tokio_postgres::Row, from: usize) -> Result<ConvSettings, StoreError> {
    Ok(ConvSettings {
        muted_until: unsigned(row.try_get(from)?),
        pinned: row.try_get(from + 1)?,
        archived: row.try_get(from + 2)?,
    })
}

/// Applies `update` to the group; the group after, `None` when there is none.
pub(super) async fn update_group(
    db: &Db,
    id: &str,
    update: &GroupUpdate,
) -> Result<Option<GroupRecord>, StoreError> {
    let row = query_opt(
        db,
        &format!(
            "UPDATE groups SET name = coalesce($2, name), \
             description = coalesce($3, description), avatar = coalesce($4, avatar), \
             public = coalesce($5, public) WHERE id = $1 RETURNING {GROUP_COLUMNS}"
        ),
        &[
            &id,
            &update.name,
            &update.description,
            &update.avatar,
            &update.public,
        ],
    )
    .await?;
    row.as_ref().map(groups::record).transpose()
}

/// Makes `user` the owner and the owner an admin, under the group's row
/// lock; false when `user` is not a member.
pub(super) async fn transfer_owner(db: &Db, id: &str, user: &UserId) -> Result<bool, StoreError> {
    if groups::lock(db, id).await?.is_none() || groups::member_role(db, id, user).await?.is_none() {
        return Ok(false);
    }
    execute(
        db,
        "UPDATE group_members SET role = 'admin' WHERE group_id = $1 AND role = 'owner'",
        &[&id],
    )
    .await?;
    execute(
        db,
        "UPDATE group_members SET role = 'owner' WHERE group_id = $1 AND user_id = $2",
        &[&id, &user.as_str()],
    )
    .await?;
    execute(
        db,
        "UPDATE groups SET owner = $2 WHERE id = $1",
        &[&id, &user.as_str()],
    )
    .await?;
    Ok(true)
}

/// The groups whose avatar is `file_id`.
pub(super) async fn avatar_groups(db: &Db, file_id: &str) -> Result<Vec<GroupRecord>, StoreError> {
    let rows = query(
        db,
        &format!("SELECT {GROUP_COLUMNS} FROM groups WHERE avatar = $1 AND avatar <> ''"),
        &[&file_id],
    )
    .await?;
    rows.iter().map(groups::record).collect()
}

/// The users who blocked `user`.
pub(super) async fn blocked_by(db: &Db, user: &UserId) -> Result<Vec<String>, StoreError> {
    let rows = query(
        db,
        "SELECT user_id FROM contacts WHERE other = $1 AND blocked",
        &[&user.as_str()],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?)
}
