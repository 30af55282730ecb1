//! What may be set as an avatar (§13): a raster image (`image/png`,
//! `image/jpeg`, `image/gif`, `image/webp`) that the caller uploaded. A file
//! that does not exist, or that someone else uploaded, is `not_found` alike,
//! so that an id reveals nothing about other users' files; a file of another
//! type is `bad_request`. The empty string clears the avatar.

use koi_core::{KoiError, UserId};

use super::Logic;

/// The types an avatar may have: images every browser shows, never SVG.
pub(super) const AVATAR_MIMES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

impl Logic {
    /// The avatar to store for `raw` set by `user`, or the refusal.
    pub(super) async fn checked_avatar(
        &self,
        user: &UserId,
        raw: &str,
    ) -> Result<String, KoiError> {
        if raw.is_empty() {
            return Ok(String::new());
        }
        let not_found = || KoiError::not_found(format!("no file {raw} of yours"));
        let file = self.store.file(raw).await?.ok_or_else(not_found)?;
        if file.owner != user.as_str() {
            return Err(not_found());
        }
        if !AVATAR_MIMES.contains(&file.mime.as_str()) {
            return Err(KoiError::bad_request(format!(
                "an avatar is a PNG, JPEG, GIF or WebP image, not {}",
                file.mime
            )));
        }
        Ok(file.id)
    }
}
