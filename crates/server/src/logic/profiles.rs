//! `profile_set` and `profiles` (§13).
//!
//! A profile (`display_name`, `avatar`, `status`) shows to every user but
//! those its owner blocked, who get an empty one: a block reveals nothing.
//! `last_seen` shows only where the owner's `presence` setting lets the
//! caller see them online. Unknown users are left out of the answer; deleted
//! accounts are listed empty with `deleted_user: true`.
//!
//! A change is pushed as `profile {user}` to the user's other devices, their
//! mutual contacts and the co-members of their groups of at most 100 members:
//! never a fan-out to a large group's members, who fetch profiles when they
//! show them.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use koi_cluster::Push;
use koi_core::{ErrorCode, KoiError, UserId};
use koi_proto::frame::Op;
use koi_proto::{Profile, ProfileSet, Profiles, ProfilesOk, UserRef};
use koi_store::{ProfileRecord, ProfileUpdate};

use super::messaging::unavailable;
use super::presence_visibility::SMALL_GROUP;
use super::profile_text::{DISPLAY_NAME_CHARS, Lines, STATUS_CHARS, checked_text};
use super::{Caller, Logic};

/// The most users one `profiles` request may name.
const MAX_PROFILES: usize = 500;

impl Logic {
    pub(super) async fn profile_set(
        &self,
        caller: &Caller,
        req: ProfileSet,
    ) -> Result<(), KoiError> {
        let me = &caller.user;
        let text = |field, raw: Option<String>, max| {
            raw.map(|raw| checked_text(field, &raw, max, Lines::One))
                .transpose()
        };
        let update = ProfileUpdate {
            display_name: text("display_name", req.display_name, DISPLAY_NAME_CHARS)?,
            status: text("status", req.status, STATUS_CHARS)?,
            avatar: match req.avatar {
                Some(raw) => Some(self.checked_avatar(me, &raw).await?),
                None => None,
            },
        };
        if !self.store.set_profile(me, update).await? {
            return Err(KoiError::not_found("this account is gone"));
        }
        let push = Arc::new(Push::new(Op::Profile(UserRef {
            user: me.to_string(),
        })));
        let audience: Vec<String> = self.profile_audience(me).await?.into_iter().collect();
        self.router
            .to_users(&audience, push, caller.conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub(super) async fn profiles(
        &self,
        caller: &Caller,
        req: Profiles,
    ) -> Result<ProfilesOk, KoiError> {
        if req.users.len() > MAX_PROFILES {
            return Err(KoiError::new(
                ErrorCode::TooLarge,
                format!("at most {MAX_PROFILES} users per profiles request"),
            ));
        }
        let users = req
            .users
            .iter()
            .map(|u| UserId::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        let me = &caller.user;
        let found = self.store.profiles(&users).await?;
        let names: Vec<String> = found.iter().map(|p| p.user.clone()).collect();
        let sees_presence = self
            .visible_online(me, &names, vec![true; names.len()], None)
            .await?;
        let blockers: HashSet<String> = self.store.blocked_by(me).await?.into_iter().collect();
        let profiles = found
            .into_iter()
            .zip(sees_presence)
            .map(|(record, sees_presence)| {
                let blocked = blockers.contains(&record.user);
                wire(record, blocked, sees_presence)
            })
            .collect();
        Ok(ProfilesOk { profiles })
    }

    /// Who gets `user`'s `profile` push: the user (other devices), mutual
    /// contacts they did not block, and co-members of their small groups.
    async fn profile_audience(&self, user: &UserId) -> Result<BTreeSet<String>, KoiError> {
        let mut audience: BTreeSet<String> = self.mutual_contacts(user).await?;
        audience.insert(user.to_string());
        for group in self.small_groups(user).await? {
            for (member, _) in self.store.group_members(&group, SMALL_GROUP).await? {
                audience.insert(member);
            }
        }
        Ok(audience)
    }

    /// Whether `viewer` may see `owner`'s profile, and so read their avatar
    /// (§15): everyone but a user the owner blocked.
    pub(super) async fn may_see_profile(
        &self,
        viewer: &UserId,
        owner: &UserId,
    ) -> Result<bool, KoiError> {
        Ok(viewer == owner || !self.store.is_blocked(owner, viewer).await?)
    }
}

/// A profile as `viewer` may see it: empty for a blocked viewer, without
/// `last_seen` unless they see the owner's presence.
fn wire(record: ProfileRecord, blocked: bool, sees_presence: bool) -> Profile {
    if blocked {
        return Profile {
            user: record.user,
            ..Profile::default()
        };
    }
    Profile {
        user: record.user,
        display_name: record.display_name,
        avatar: record.avatar,
        status: record.status,
        last_seen: record.last_seen.filter(|_| sees_presence),
        deleted_user: record.deleted.then_some(true),
    }
}
