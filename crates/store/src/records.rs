use koi_core::{ConvId, UserId};
use koi_proto::{Event, File, Message, ReplyPreview};

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: UserId,
    /// The argon2id PHC string.
    pub password_hash: String,
    pub display_name: Option<String>,
}

/// A message to append. The store assigns `seq`, `id` and `ts`.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub conv: ConvId,
    /// The sender; `"system"` for server pushes.
    pub from: String,
    pub kind: String,
    pub text: Option<String>,
    pub file: Option<File>,
    pub meta: Option<String>,
    /// With `from`, the idempotency key; empty means "no idempotency".
    pub client_msg_id: String,
    /// The connection the message came from. Not stored: it is handed to the
    /// commit listener so that fan-out skips the sending connection itself.
    pub origin: Option<u64>,
    /// What the message refers to (§11); empty for most messages.
    pub extra: MessageExtra,
}

/// What a message carries beyond its content (§11): its event, the message it
/// replies to and whom it mentions. Stored with the message as one column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageExtra {
    /// Set on messages of kind `event`.
    pub event: Option<Event>,
    pub reply_to: Option<u64>,
    pub reply_preview: Option<ReplyPreview>,
    pub mentions: Vec<String>,
}

impl NewMessage {
    /// The message as stored: in conversation `conv` (its name), at `seq`,
    /// with the store's `id` and `ts`; and the connection it came from.
    pub(crate) fn stored(
        self,
        conv: String,
        seq: u64,
        id: String,
        ts: u64,
    ) -> (Message, Option<u64>) {
        let message = Message {
            conv,
            seq,
            id,
            from: self.from,
            kind: self.kind,
            text: self.text,
            file: self.file,
            meta: self.meta,
            ts,
            client_msg_id: self.client_msg_id,
            event: self.extra.event,
            reply_to: self.extra.reply_to,
            reply_preview: self.extra.reply_preview,
            mentions: self.extra.mentions,
            ..Message::default()
        };
        (message, self.origin)
    }
}

/// A message as the commit listener sees it: just committed, with its origin.
/// Shared with the store's own view of recent messages: the listener takes a
/// copy where it needs one (fan-out does, off the store's threads).
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    pub message: std::sync::Arc<Message>,
    /// `NewMessage::origin` of the append that stored it.
    pub origin: Option<u64>,
}

/// The result of an append.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended {
    /// The stored message (the earlier one when this was a duplicate).
    pub message: Message,
    /// True when `(from, client_msg_id)` was stored before and nothing new was.
    pub duplicate: bool,
}

/// A group to create, with its first members (the owner is added as `owner`).
#[derive(Debug, Clone)]
pub struct NewGroup {
    pub id: String,
    pub name: String,
    pub owner: UserId,
    pub public: bool,
    /// Added as `member`; the owner and duplicates are skipped.
    pub members: Vec<UserId>,
    /// The group may not grow past this many members.
    pub max_members: u32,
}

/// A stored group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub public: bool,
    pub size: u32,
    /// Set by `group_update`; empty when unset.
    pub description: String,
    /// A file id; empty when unset.
    pub avatar: String,
}

/// The outcome of adding members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddMembers {
    /// The users that were not members before and are now.
    pub added: Vec<String>,
}

/// One row of a user's contact list, from their side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactEdge {
    pub user: String,
    pub i_added: bool,
    pub i_blocked: bool,
    pub they_added: bool,
}

/// An uploaded file's index entry; the bytes live in the file store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub id: String,
    pub owner: String,
    pub name: String,
    pub size: u64,
    pub mime: String,
    /// Lowercase hex.
    pub sha256: String,
    pub created_ms: u64,
}
