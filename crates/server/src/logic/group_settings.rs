//! `group_update` and `group_role` (§13).
//!
//! `group_update` changes a group's name, description, avatar or openness:
//! the owner or an admin. `group_role` is the owner's: `admin` or `member`
//! for another member, or `owner` to hand the group over (the old owner
//! becomes an admin).

use koi_core::{KoiError, Role, UserId};
use koi_proto::{Event, GroupRole, GroupUpdate};

use super::group_name::group_name;
use super::groups::group_conv;
use super::profile_text::{DESCRIPTION_CHARS, Lines, checked_text};
use super::{Caller, Logic};

impl Logic {
    pub(super) async fn group_update(
        &self,
        caller: &Caller,
        req: GroupUpdate,
    ) -> Result<(), KoiError> {
        let (group, role) = self.group_as_member(caller, &req.group).await?;
        if !role.can_manage() {
            return Err(KoiError::forbidden(
                "only the owner or an admin may change the group",
            ));
        }
        let update = koi_store::GroupUpdate {
            name: req.name.as_deref().map(group_name).transpose()?,
            description: req
                .description
                .as_deref()
                .map(|d| checked_text("description", d, DESCRIPTION_CHARS, Lines::Many))
                .transpose()?,
            avatar: match req.avatar.as_deref() {
                Some(raw) => Some(self.checked_avatar(&caller.user, raw).await?),
                None => None,
            },
            public: req.public,
        };
        let event = Event {
            r#type: "group_updated".to_owned(),
            name: update.name.clone(),
            description: update.description.clone(),
            avatar: update.avatar.clone(),
            public: update.public,
            ..Event::default()
        };
        self.store
            .update_group(&group.id, update)
            .await?
            .ok_or_else(|| KoiError::not_found(format!("no group {}", group.id)))?;
        let conv = group_conv(&group.id);
        self.append_event(&conv, caller.user.as_str(), event, caller.conn)
            .await?;
        Ok(())
    }

    pub(super) async fn group_role(&self, caller: &Caller, req: GroupRole) -> Result<(), KoiError> {
        let (group, role) = self.group_as_member(caller, &req.group).await?;
        if role != Role::Owner {
            return Err(KoiError::forbidden("only the owner may change roles"));
        }
        let new_role = Role::parse(&req.role).ok_or_else(|| {
            KoiError::bad_request(format!(
                "role {:?}: expected admin, member or owner",
                req.role
            ))
        })?;
        let target = UserId::parse(&req.user)?;
        if target == caller.user {
            return match new_role {
                Role::Owner => Ok(()),
                _ => Err(KoiError::bad_request(
                    "the owner hands the group over with role `owner` to another member",
                )),
            };
        }
        if self.store.member_role(&group.id, &target).await?.is_none() {
            return Err(KoiError::not_found(format!("{target} is not a member")));
        }
        let changed = match new_role {
            Role::Owner => self.store.transfer_owner(&group.id, &target).await?,
            role => self.store.set_role(&group.id, &target, role).await?,
        };
        if !changed {
            // They left between the two reads.
            return Err(KoiError::not_found(format!("{target} is not a member")));
        }
        let conv = group_conv(&group.id);
        let me = caller.user.as_str();
        let mut changes = vec![(target.as_str(), new_role)];
        if new_role == Role::Owner {
            // The old owner stays on as an admin.
            changes.push((me, Role::Admin));
        }
        for (user, role) in changes {
            let event = Event {
                r#type: "role_changed".to_owned(),
                user: Some(user.to_owned()),
                role: Some(role.as_str().to_owned()),
                ..Event::default()
            };
            self.append_event(&conv, me, event, caller.conn).await?;
        }
        Ok(())
    }
}
