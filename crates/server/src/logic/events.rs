//! Events (§11): every change to a stored message and to a group's members
//! is also appended to its conversation as a message of kind `event`, so a
//! client that missed a push catches up through `sync` + `history` alone.
//!
//! [`Logic::append_event`] is the one way to append one: it takes the normal
//! path (append, commit listener, fan-out), so an event costs what a message
//! costs — one stored row, one fan-out.

use koi_cluster::ConnId;
use koi_core::{ConvId, KoiError};
use koi_proto::{Event, Message};
use koi_store::{MessageExtra, NewMessage};

use super::Logic;

/// The kind of event messages; a `send` with it is `bad_request`.
pub(crate) const EVENT_KIND: &str = "event";

impl Logic {
    /// Appends `event` to `conv` from `from` (the acting user; `"system"` for
    /// the server's own actions) and returns the stored event. `origin`, the
    /// acting connection, gets no push of it (it has the reply).
    pub(crate) async fn append_event(
        &self,
        conv: &ConvId,
        from: &str,
        event: Event,
        origin: Option<ConnId>,
    ) -> Result<Message, KoiError> {
        let appended = self
            .store
            .append(NewMessage {
                conv: conv.clone(),
                from: from.to_owned(),
                kind: EVENT_KIND.to_owned(),
                text: None,
                file: None,
                meta: None,
                client_msg_id: String::new(),
                origin,
                extra: MessageExtra {
                    event: Some(event),
                    ..MessageExtra::default()
                },
            })
            .await?;
        Ok(appended.message)
    }
}

/// An event about message `seq`.
pub(crate) fn about(kind: &str, seq: u64) -> Event {
    Event {
        r#type: kind.to_owned(),
        r#ref: Some(seq),
        ..Event::default()
    }
}

/// An event about member `user` of a group.
pub(crate) fn member(kind: &str, user: &str) -> Event {
    Event {
        r#type: kind.to_owned(),
        user: Some(user.to_owned()),
        ..Event::default()
    }
}
