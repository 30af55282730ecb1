//! Who may read an uploaded file (§15): its uploader, and every user who can
//! read a conversation holding a message that carries it.
//!
//! A message's reference is stored with the message and removed by its
//! recall, so a recalled message grants nothing (the uploader keeps access).
//!
//! Seam for avatars: §15 also lets every user who may see a profile read the
//! file set as its `avatar` (a group's avatar: its members, or anyone for a
//! public group). Profiles do not exist yet; when they do, the avatar check
//! belongs in [`Logic::may_read_file`], after the uploader and before the
//! message references.

use koi_core::{ErrorCode, KoiError, UserId};
use koi_store::FileRecord;

use super::Logic;
use super::authorize::Access;

impl Logic {
    /// Whether `user` may download `file`. Conversations the user cannot read
    /// (or that no longer exist) grant nothing; store failures are errors.
    pub async fn may_read_file(&self, user: &UserId, file: &FileRecord) -> Result<bool, KoiError> {
        if file.owner == user.as_str() {
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
}
