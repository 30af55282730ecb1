//! Who may read an uploaded file (§15): its uploader; every user who may see
//! the profile whose `avatar` it is (everyone but those the owner blocked);
//! a group's avatar, its members (anyone for a public group); and every user
//! who can read a conversation holding a message that carries it.
//!
//! A message's reference is stored with the message and removed by its
//! recall, so a recalled message grants nothing (the uploader keeps access).
//! An avatar grants access only while it is set.

use koi_core::{ErrorCode, KoiError, UserId};
use koi_store::FileRecord;

use super::Logic;
use super::authorize::Access;
use super::avatar::AVATAR_MIMES;

impl Logic {
    /// Whether `user` may download `file`. Conversations the user cannot read
    /// (or that no longer exist) grant nothing; store failures are errors.
    pub async fn may_read_file(&self, user: &UserId, file: &FileRecord) -> Result<bool, KoiError> {
        if file.owner == user.as_str() {
            return Ok(true);
        }
        if AVATAR_MIMES.contains(&file.mime.as_str()) && self.avatar_visible(user, file).await? {
            return Ok(true);
        }
        for conv in self.store.file_convs(&file.id).await? {
            match self.authorize(user, &conv.to_string(), Access::Read).await {
                Ok(_) => return Ok(true),
                Err(e)
                    if matches!(
                        e.code,
                        ErrorCode::Forbidden | ErrorCode::NotFound | ErrorCode::BadRequest
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    /// Whether `file` is an avatar `user` may see: its uploader's own (only
    /// the uploader can set a file as their avatar), or a group's.
    async fn avatar_visible(&self, user: &UserId, file: &FileRecord) -> Result<bool, KoiError> {
        let owner = UserId::parse(&file.owner)?;
        let profile = self.store.profiles(std::slice::from_ref(&owner)).await?;
        if profile.first().is_some_and(|p| p.avatar == file.id)
            && self.may_see_profile(user, &owner).await?
        {
            return Ok(true);
        }
        for group in self.store.avatar_groups(&file.id).await? {
            if group.public || self.store.member_role(&group.id, user).await?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
