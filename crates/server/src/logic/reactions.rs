//! `react` and `unreact` (§11): one of each emoji per user per message, at
//! most [`MAX_EMOJI`] distinct emoji per message. Each change appends a
//! `react` or `unreact` event; a repeat changes nothing and appends none.

use koi_core::{ErrorCode, KoiError};
use koi_proto::{Event, React};
use koi_store::StoreError;

use super::authorize::Access;
use super::events::{EVENT_KIND, about};
use super::{Caller, Logic};

/// At most this many distinct emoji on one message.
pub(crate) const MAX_EMOJI: u32 = 20;

/// An emoji is 1 to this many bytes.
pub(crate) const MAX_EMOJI_BYTES: usize = 32;

impl Logic {
    /// `react` when `add`, else `unreact`.
    pub(super) async fn react(
        &self,
        caller: &Caller,
        req: React,
        add: bool,
    ) -> Result<(), KoiError> {
        let me = &caller.user;
        let conv = self.authorize(me, &req.conv, Access::Write).await?;
        check_emoji(&req.emoji)?;
        let message = self
            .store
            .message(&conv, req.seq)
            .await?
            .ok_or_else(|| KoiError::not_found(format!("no message {} in {conv}", req.seq)))?;
        if message.kind == "recalled" || message.kind == EVENT_KIND {
            return Err(KoiError::forbidden(format!(
                "a {} message takes no reactions",
                message.kind
            )));
        }
        let changed = if add {
            self.store
                .react(&conv, req.seq, me, &req.emoji, MAX_EMOJI)
                .await
                .map_err(|e| match e {
                    StoreError::Limit(why) => KoiError::new(ErrorCode::TooLarge, why),
                    other => other.into(),
                })?
        } else {
            self.store.unreact(&conv, req.seq, me, &req.emoji).await?
        };
        if changed {
            let event = Event {
                emoji: Some(req.emoji),
                ..about(if add { "react" } else { "unreact" }, req.seq)
            };
            self.append_event(&conv, me.as_str(), event, caller.conn)
                .await?;
        }
        Ok(())
    }
}

fn check_emoji(emoji: &str) -> Result<(), KoiError> {
    if emoji.is_empty() {
        return Err(KoiError::bad_request("`emoji` is empty"));
    }
    if emoji.len() > MAX_EMOJI_BYTES {
        return Err(KoiError::new(
            ErrorCode::TooLarge,
            format!("`emoji` is over {MAX_EMOJI_BYTES} bytes"),
        ));
    }
    if emoji.contains('\0') {
        return Err(KoiError::bad_request("`emoji` may not contain NUL"));
    }
    Ok(())
}
