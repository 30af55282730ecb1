//! The writer's job for [`Store::append`](crate::Store::append) and
//! [`Store::append_sent`](crate::Store::append_sent): its message (with its
//! mentions and, for a send, its sender's read cursor) is stored with its
//! neighbours' in one statement ([`batched_append`](super::batched_append)),
//! or, when that cannot be, appended alone ([`messages::append`]).

use super::batched_append::{Pending, Placed};
use super::connect::Db;
use super::writer::{Ctx, Job, Run, Runs};
use super::{contacts, messages};
use crate::batch::Reply;
use crate::{Appended, NewMessage, StoreError, new_id};

/// What the job returns: `None` when the message was refused because its
/// recipient blocked its sender.
type Refusable = Option<Appended>;

pub(super) struct Append {
    key: String,
    message: NewMessage,
    /// The id the message is stored under.
    id: String,
    /// Whether a user sent it: then a direct message whose recipient blocked
    /// its sender is refused, and the append moves the sender's read cursor.
    sent: bool,
    runs: Runs<Refusable>,
    reply: Reply<Refusable>,
}

impl Append {
    /// The job appending `message`, locking `key` (its conversation's); when
    /// a user `sent` it, not if its recipient blocked its sender, and moving
    /// the sender's read cursor.
    pub(super) fn new(
        key: String,
        message: NewMessage,
        sent: bool,
        reply: Reply<Refusable>,
    ) -> Self {
        Self {
            key,
            message,
            id: new_id(),
            sent,
            runs: Runs::default(),
            reply,
        }
    }

    /// The recipient who must not have blocked the sender, if any.
    fn checked_recipient(&self) -> Option<(&koi_core::UserId, &koi_core::UserId)> {
        self.message.direct_parties().filter(|_| self.sent)
    }

    /// The slow path: the block check, then [`messages::append`].
    async fn append(&self, db: &Db, ctx: &mut Ctx) -> Result<Refusable, StoreError> {
        if let Some((recipient, sender)) = self.checked_recipient()
            && contacts::is_blocked(db, recipient, sender).await?
        {
            return Ok(None);
        }
        messages::append(db, self.message.clone(), self.sent, super::now_ms(), ctx)
            .await
            .map(Some)
    }
}

impl Job for Append {
    fn key(&self) -> &str {
        &self.key
    }

    fn appends(&self) -> Option<Pending<'_>> {
        Some(Pending {
            message: &self.message,
            id: &self.id,
            unless_blocked_by: self.checked_recipient().map(|(r, _)| r.as_str()),
            moves_cursor: self.sent,
        })
    }

    fn placed(&mut self, placed: Placed, ctx: &mut Ctx) {
        let appended = messages::announce(
            self.message.clone(),
            placed.seq,
            self.id.clone(),
            placed.ts,
            ctx,
        );
        self.runs.set(Ok(Some(appended)));
    }

    fn run<'a>(&'a mut self, db: &'a Db, ctx: &'a mut Ctx) -> Run<'a> {
        Box::pin(async move {
            self.runs.start();
            let result = self.append(db, ctx).await;
            self.runs.finish(result)
        })
    }

    fn reply(self: Box<Self>, failure: Option<&StoreError>) {
        self.runs.settle(self.reply, failure);
    }
}
