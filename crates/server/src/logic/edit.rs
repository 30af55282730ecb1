//! `edit` (§11): the sender changes a message's text or meta within
//! `edit_window_s`; an `edit` event carries the change to everyone.

use koi_core::{KoiError, validate_send};
use koi_proto::{Edit, EditOk, Event};
use koi_store::EditRecord;

use super::authorize::Access;
use super::events::{EVENT_KIND, about};
use super::messaging::now_ms;
use super::{Caller, Logic};

/// Kinds that are the server's, not a sender's: never edited.
const UNEDITABLE_KINDS: [&str; 3] = ["recalled", "system", EVENT_KIND];

impl Logic {
    pub(super) async fn edit(&self, caller: &Caller, req: Edit) -> Result<EditOk, KoiError> {
        let me = &caller.user;
        let conv = self.authorize(me, &req.conv, Access::Write).await?;
        if req.text.is_none() && req.meta.is_none() {
            return Err(KoiError::bad_request("edit needs `text` or `meta`"));
        }
        let mut message = self
            .store
            .message(&conv, req.seq)
            .await?
            .ok_or_else(|| KoiError::not_found(format!("no message {} in {conv}", req.seq)))?;
        if UNEDITABLE_KINDS.contains(&message.kind.as_str()) {
            return Err(KoiError::forbidden(format!(
                "a {} message cannot be edited",
                message.kind
            )));
        }
        if message.from != me.as_str() {
            return Err(KoiError::forbidden("only the sender may edit a message"));
        }
        let age_ms = now_ms().saturating_sub(message.ts);
        if age_ms >= self.limits.edit_window_s.saturating_mul(1000) {
            return Err(KoiError::forbidden(format!(
                "the edit window of {} s has passed",
                self.limits.edit_window_s
            )));
        }
        // What is left unchanged is the message as it is now (edited before?).
        self.show_current(me, &conv, std::slice::from_mut(&mut message))
            .await?;
        let text = req.text.clone().or(message.text.clone());
        let meta = req.meta.clone().or(message.meta.clone());
        // The bounds of `send`, for the message as it would be.
        validate_send(&koi_proto::Send {
            conv: Some(conv.to_string()),
            kind: message.kind.clone(),
            text: text.clone(),
            file: message.file.clone(),
            meta: meta.clone(),
            ..koi_proto::Send::default()
        })?;
        let text = self.filtered(text)?;
        self.store
            .edit(
                &conv,
                req.seq,
                EditRecord {
                    text: text.clone(),
                    meta: meta.clone(),
                    edited_ts: now_ms(),
                },
            )
            .await?;
        let event = Event {
            text: req.text.and(text),
            meta: req.meta.and(meta),
            ..about("edit", req.seq)
        };
        let stored = self
            .append_event(&conv, me.as_str(), event, caller.conn)
            .await?;
        Ok(EditOk { seq: stored.seq })
    }
}
