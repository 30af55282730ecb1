//! Who may read and write which conversation (§5 Authorization).

use koi_core::{ConvId, KoiError, UserId};

use super::Logic;

/// What the caller wants to do with a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Write,
}

impl Logic {
    /// Parses `conv` and checks that `user` may access it: their direct
    /// conversations, groups they are members of, their own system conversation
    /// (read only). A group that does not exist is `not_found`.
    pub(super) async fn authorize(
        &self,
        user: &UserId,
        conv: &str,
        access: Access,
    ) -> Result<ConvId, KoiError> {
        let conv = ConvId::parse(conv)?;
        match &conv {
            ConvId::Direct(a, b) if a == user || b == user => {}
            ConvId::Direct(..) => return Err(KoiError::forbidden("not your conversation")),
            ConvId::System(owner) if owner == user && access == Access::Read => {}
            ConvId::System(owner) if owner == user => {
                return Err(KoiError::forbidden("the system conversation is read-only"));
            }
            ConvId::System(_) => return Err(KoiError::forbidden("not your conversation")),
            ConvId::Group(id) => {
                if self.store.member_role(id, user).await?.is_none() {
                    return Err(if self.store.group(id).await?.is_none() {
                        KoiError::not_found(format!("no group {id}"))
                    } else {
                        KoiError::forbidden("not a member of this group")
                    });
                }
            }
        }
        Ok(conv)
    }

    /// Parses a user name from a request and checks the user exists.
    pub(super) async fn existing_user(&self, name: &str) -> Result<UserId, KoiError> {
        let user = UserId::parse(name)?;
        if self.known_users.contains(&user) {
            return Ok(user);
        }
        if self.store.users_exist(std::slice::from_ref(&user)).await?[0] {
            self.known_users.insert(user.clone());
            Ok(user)
        } else {
            Err(KoiError::not_found(format!("no user {name}")))
        }
    }
}
