//! `group_create`, `group_info`, `group_join`, `group_add`, `group_kick`, `group_leave`.
//!
//! Each change of membership after creation appends an event (§11):
//! `member_added`, `role_changed`, `member_kicked`, `member_left`.

use std::sync::Arc;

use koi_cluster::Push;
use koi_core::{ConvId, ErrorCode, KoiError, Role, UserId};
use koi_proto::frame::Op;
use koi_proto::{
    Event, Group, GroupAdd, GroupCreate, GroupInfoOk, GroupKick, GroupOk, GroupRef, Member,
};
use koi_store::{GroupRecord, NewGroup, StoreError};

use super::events::member;
use super::group_name::group_name;
use super::messaging::unavailable;
use super::{Caller, Logic};

/// At most this many members are listed by `group_info`.
const INFO_MEMBERS: u32 = 1000;

impl Logic {
    pub(super) async fn group_create(
        &self,
        caller: &Caller,
        req: GroupCreate,
    ) -> Result<GroupOk, KoiError> {
        let name = group_name(&req.name)?;
        let members = req
            .members
            .iter()
            .map(|m| UserId::parse(m))
            .collect::<Result<Vec<_>, _>>()?;
        self.refuse_blocked_adds(caller, &members).await?;
        let record = self
            .store
            .create_group(NewGroup {
                id: koi_store::new_id(),
                name,
                owner: caller.user.clone(),
                public: req.public,
                members: members.clone(),
                max_members: self.limits.max_group_members,
            })
            .await
            .map_err(group_full)?;
        // A new group has no message yet.
        self.router
            .group_joined(&record.id, caller.user.as_str(), 0)
            .await
            .map_err(unavailable)?;
        for member in &members {
            self.router
                .group_joined(&record.id, member.as_str(), 0)
                .await
                .map_err(unavailable)?;
        }
        Ok(GroupOk {
            group: Some(to_wire(record)),
        })
    }

    pub(super) async fn group_info(
        &self,
        caller: &Caller,
        req: GroupRef,
    ) -> Result<GroupInfoOk, KoiError> {
        let (group, _) = self.group_as_member(caller, &req.group).await?;
        let members = self
            .store
            .group_members(&group.id, INFO_MEMBERS)
            .await?
            .into_iter()
            .map(|(user, role)| Member {
                user,
                role: role.as_str().to_owned(),
            })
            .collect();
        Ok(GroupInfoOk {
            group: Some(to_wire(group)),
            members,
        })
    }

    pub(super) async fn group_join(&self, caller: &Caller, req: GroupRef) -> Result<(), KoiError> {
        let group = self.existing_group(&req.group).await?;
        if self
            .store
            .member_role(&group.id, &caller.user)
            .await?
            .is_some()
        {
            return Ok(());
        }
        if !group.public {
            return Err(KoiError::forbidden(
                "this group is private: ask an admin to add you",
            ));
        }
        let after_seq = self.last_seq_before_joining(&group.id).await?;
        self.store
            .add_members(
                &group.id,
                std::slice::from_ref(&caller.user),
                self.limits.max_group_members,
            )
            .await
            .map_err(group_full)?;
        self.router
            .group_joined(&group.id, caller.user.as_str(), after_seq)
            .await
            .map_err(unavailable)?;
        let me = caller.user.as_str();
        self.append_event(
            &group_conv(&group.id),
            me,
            member("member_added", me),
            caller.conn,
        )
        .await?;
        Ok(())
    }

    /// Adds users as members; with `role` (owner only) adds them with that role
    /// or sets it for those who are members already.
    pub(super) async fn group_add(&self, caller: &Caller, req: GroupAdd) -> Result<(), KoiError> {
        let (group, caller_role) = self.group_as_member(caller, &req.group).await?;
        if !caller_role.can_manage() {
            return Err(KoiError::forbidden(
                "only the owner or an admin may add members",
            ));
        }
        let role = match req.role.as_deref() {
            None => None,
            Some("admin") => Some(Role::Admin),
            Some("member") => Some(Role::Member),
            Some(other) => {
                return Err(KoiError::bad_request(format!(
                    "role {other:?}: expected admin or member"
                )));
            }
        };
        if role.is_some() && caller_role != Role::Owner {
            return Err(KoiError::forbidden("only the owner may set roles"));
        }
        let users = req
            .users
            .iter()
            .map(|u| UserId::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        self.refuse_blocked_adds(caller, &users).await?;
        let after_seq = self.last_seq_before_joining(&group.id).await?;
        let added = self
            .store
            .add_members(&group.id, &users, self.limits.max_group_members)
            .await
            .map_err(group_full)?;
        for user in &added.added {
            self.router
                .group_joined(&group.id, user, after_seq)
                .await
                .map_err(unavailable)?;
        }
        let conv = group_conv(&group.id);
        let me = caller.user.as_str();
        for user in &added.added {
            self.append_event(&conv, me, member("member_added", user), caller.conn)
                .await?;
        }
        if let Some(role) = role {
            for user in &users {
                if self.store.set_role(&group.id, user, role).await? {
                    let event = Event {
                        role: Some(role.as_str().to_owned()),
                        ..member("role_changed", user.as_str())
                    };
                    self.append_event(&conv, me, event, caller.conn).await?;
                }
            }
        }
        Ok(())
    }

    pub(super) async fn group_kick(&self, caller: &Caller, req: GroupKick) -> Result<(), KoiError> {
        let (group, role) = self.group_as_member(caller, &req.group).await?;
        if !role.can_manage() {
            return Err(KoiError::forbidden(
                "only the owner or an admin may kick members",
            ));
        }
        let target = UserId::parse(&req.user)?;
        match self.store.member_role(&group.id, &target).await? {
            None => return Err(KoiError::not_found(format!("{target} is not a member"))),
            Some(Role::Owner) => return Err(KoiError::forbidden("the owner cannot be kicked")),
            Some(Role::Admin) if role != Role::Owner => {
                return Err(KoiError::forbidden("only the owner may kick an admin"));
            }
            Some(_) => {}
        }
        self.store.remove_member(&group.id, &target).await?;
        self.router
            .group_left(&group.id, target.as_str())
            .await
            .map_err(unavailable)?;
        let event = member("member_kicked", target.as_str());
        let kicked = self
            .append_event(
                &group_conv(&group.id),
                caller.user.as_str(),
                event,
                caller.conn,
            )
            .await?;
        // The fan-out reaches the members, which the kicked user no longer
        // is: their devices are told directly (best effort, like any push;
        // their next `sync` no longer lists the group).
        let push = Arc::new(Push::new(Op::Msg(kicked)));
        self.router
            .to_user(target.as_str(), push, None)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub(super) async fn group_leave(&self, caller: &Caller, req: GroupRef) -> Result<(), KoiError> {
        let group = self.existing_group(&req.group).await?;
        if !self.store.remove_member(&group.id, &caller.user).await? {
            return Err(KoiError::not_found("not a member of this group"));
        }
        self.router
            .group_left(&group.id, caller.user.as_str())
            .await
            .map_err(unavailable)?;
        let me = caller.user.as_str();
        let conv = group_conv(&group.id);
        self.append_event(&conv, me, member("member_left", me), caller.conn)
            .await?;
        // An owner who leaves hands the group on (an admin first): a change
        // of role like any other, made by the server. The last member
        // leaves no owner, and nobody to tell.
        if group.owner == me
            && let Some(after) = self.store.group(&group.id).await?
            && after.owner != me
            && !after.owner.is_empty()
        {
            let event = Event {
                role: Some(Role::Owner.as_str().to_owned()),
                ..member("role_changed", &after.owner)
            };
            self.append_event(&conv, "system", event, caller.conn)
                .await?;
        }
        Ok(())
    }

    /// The group's last seq, read before members are added: every message up
    /// to it was sent before they joined, so its push (which may still be
    /// queued for fan-out, or on its way from another node) is not theirs. A
    /// message sent while the join commits may fall either side: it is pushed
    /// to them or not, and either way is theirs to read.
    async fn last_seq_before_joining(&self, id: &str) -> Result<u64, KoiError> {
        let conv = koi_core::ConvId::Group(id.to_owned());
        Ok(self.store.last_seq(&conv).await?)
    }

    /// Blocks and privacy bind in groups too (§13): nobody is added to a group
    /// by a user they blocked, or whose `group_add` setting excludes them;
    /// `forbidden` names the first such user.
    async fn refuse_blocked_adds(&self, caller: &Caller, users: &[UserId]) -> Result<(), KoiError> {
        let me = &caller.user;
        let others: Vec<&UserId> = users.iter().filter(|u| *u != me).collect();
        // A few lookups at a time: each is a query on a cluster's store.
        for chunk in others.chunks(16) {
            let checks = chunk.iter().map(|user| self.store.is_blocked(user, me));
            let blocked = futures::future::try_join_all(checks).await?;
            if let Some((user, _)) = chunk.iter().zip(blocked).find(|(_, b)| *b) {
                return Err(KoiError::forbidden(format!(
                    "{user} does not accept being added by you"
                )));
            }
        }
        self.check_group_adds(me, &others).await
    }

    pub(super) async fn existing_group(&self, id: &str) -> Result<GroupRecord, KoiError> {
        self.store
            .group(id)
            .await?
            .ok_or_else(|| KoiError::not_found(format!("no group {id}")))
    }

    /// The group and the caller's role in it; `forbidden` for non-members.
    pub(super) async fn group_as_member(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(GroupRecord, Role), KoiError> {
        let group = self.existing_group(id).await?;
        let role = self
            .store
            .member_role(id, &caller.user)
            .await?
            .ok_or_else(|| KoiError::forbidden("not a member of this group"))?;
        Ok((group, role))
    }
}

fn group_full(e: StoreError) -> KoiError {
    match e {
        StoreError::Limit(what) => {
            KoiError::new(ErrorCode::Forbidden, format!("group is full: {what}"))
        }
        other => other.into(),
    }
}

pub(super) fn group_conv(id: &str) -> ConvId {
    ConvId::Group(id.to_owned())
}

fn to_wire(g: GroupRecord) -> Group {
    Group {
        id: g.id,
        name: g.name,
        owner: g.owner,
        public: g.public,
        size: g.size,
        description: g.description,
        avatar: g.avatar,
    }
}
