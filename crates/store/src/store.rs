use async_trait::async_trait;
use koi_core::{ConvId, HistoryRange, Privacy, Role, Search, UserId};
use koi_proto::{ConvSummary, Message};

use crate::{AccountState, NewSession, RevocationState, SessionRecord};
use crate::{
    AddMembers, Appended, CommitListener, ContactEdge, FileRecord, GroupRecord, NewGroup,
    NewMessage, NewUser, StoreError, WriterStats,
};
use crate::{
    ConvSettings, ConvSettingsUpdate, GroupUpdate, PrivacyUpdate, ProfileRecord, ProfileUpdate,
};
use crate::{EditRecord, MessageStates, ReadBy};

/// Everything Koi keeps durably. Implementations: [`crate::sqlite`] (embedded) and
/// PostgreSQL (cluster); both pass [`crate::contract`].
///
/// Every method is a complete unit: it either happened (and is durable when it
/// returns) or returned an error and did not happen.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Installs the function called after every commit that stored new messages,
    /// with those messages in commit order (which is seq order within each
    /// conversation), before any of their appends returns. Duplicates (idempotent
    /// repeats) are not passed. The listener must not block: it hands the messages
    /// to the fan-out stage. Replaces any earlier listener.
    fn set_commit_listener(&self, listener: CommitListener);

    /// The writer's jobs and commits since the store opened, and the messages
    /// waiting in its journal (for `/metrics`).
    fn writer_stats(&self) -> WriterStats;

    // ---- users ------------------------------------------------------------

    /// Creates a user; `Conflict` when the name is taken.
    async fn create_user(&self, user: NewUser) -> Result<(), StoreError>;

    /// The user's password hash, `None` when there is no such user.
    async fn password_hash(&self, user: &UserId) -> Result<Option<String>, StoreError>;

    /// Which of `users` exist, in the order given.
    async fn users_exist(&self, users: &[UserId]) -> Result<Vec<bool>, StoreError>;

    // ---- messages ---------------------------------------------------------

    /// Appends a message with the conversation's next seq, committed before return,
    /// and records whom it mentions (`extra.mentions`, for
    /// [`Store::unread_counts`]) in the same transaction.
    ///
    /// Idempotent on `(from, client_msg_id)` when `client_msg_id` is not empty: a
    /// repeat returns the first message with `duplicate: true` and stores nothing.
    /// For a direct conversation, the first message makes it appear in both users'
    /// `conversations`. Concurrent appends are committed in shared transactions.
    async fn append(&self, message: NewMessage) -> Result<Appended, StoreError>;

    /// A message a user sent (`send`): [`append`](Store::append), unless it is a
    /// direct message whose recipient has blocked its sender
    /// ([`is_blocked`](Store::is_blocked)), when nothing is stored and the
    /// result is `None` (other conversations are not checked). In the append's
    /// transaction it also moves the sender's read cursor to the message (§11:
    /// one's own message is read), as [`set_read`](Store::set_read) would. A
    /// repeat changes nothing.
    ///
    /// One write per send: the block check, the message, its mentions and the
    /// cursor go to the store together (PostgreSQL: one statement for a
    /// batch's sends).
    async fn append_sent(&self, message: NewMessage) -> Result<Option<Appended>, StoreError>;

    /// The messages of `conv` in `range`, ascending by seq.
    async fn history(&self, conv: &ConvId, range: HistoryRange)
    -> Result<Vec<Message>, StoreError>;

    /// One message, `None` when `conv` has no such seq.
    async fn message(&self, conv: &ConvId, seq: u64) -> Result<Option<Message>, StoreError>;

    /// The message `from` sent with `client_msg_id`, if any (empty ids match
    /// nothing): lets a retried `send` get its first reply even when a check
    /// would now refuse it.
    async fn sent_message(
        &self,
        from: &str,
        client_msg_id: &str,
    ) -> Result<Option<Message>, StoreError>;

    /// Turns a message into kind `recalled` with no text, file or meta.
    /// `NotFound` when there is no such message.
    async fn recall(&self, conv: &ConvId, seq: u64) -> Result<(), StoreError>;

    /// The highest seq of `conv` (0 when empty).
    async fn last_seq(&self, conv: &ConvId) -> Result<u64, StoreError>;

    /// Every conversation `user` takes part in that has a message, plus every group
    /// they belong to; newest activity first. `read_seq` is the user's cursor.
    async fn conversations(&self, user: &UserId) -> Result<Vec<ConvSummary>, StoreError>;

    /// Moves `user`'s read cursor in `conv` to `seq` unless it is already further;
    /// returns the cursor after the move.
    async fn set_read(&self, user: &UserId, conv: &ConvId, seq: u64) -> Result<u64, StoreError>;

    // ---- groups -----------------------------------------------------------

    /// Creates a group with its owner and first members; `Limit` when they exceed
    /// `max_members`; unknown users in `members` are `NotFound`.
    async fn create_group(&self, group: NewGroup) -> Result<GroupRecord, StoreError>;

    /// A group, `None` when it does not exist.
    async fn group(&self, id: &str) -> Result<Option<GroupRecord>, StoreError>;

    /// The first `limit` members in joining order, with their roles.
    async fn group_members(&self, id: &str, limit: u32) -> Result<Vec<(String, Role)>, StoreError>;

    /// `user`'s role in the group, `None` when not a member.
    async fn member_role(&self, id: &str, user: &UserId) -> Result<Option<Role>, StoreError>;

    /// Adds users as `member`; existing members are skipped; `Limit` when the group
    /// would exceed `max_members` (nothing is added then).
    async fn add_members(
        &self,
        id: &str,
        users: &[UserId],
        max_members: u32,
    ) -> Result<AddMembers, StoreError>;

    /// Removes a member; false when they were not one. An owner leaving hands the
    /// group to the longest-standing admin, else member; the last one leaving
    /// leaves an empty group.
    async fn remove_member(&self, id: &str, user: &UserId) -> Result<bool, StoreError>;

    /// Sets a member's role to `admin` or `member`; the owner's role is never
    /// changed here. False when `user` is not a member or is the owner.
    async fn set_role(&self, id: &str, user: &UserId, role: Role) -> Result<bool, StoreError>;

    /// The ids of the groups `user` belongs to.
    async fn user_groups(&self, user: &UserId) -> Result<Vec<String>, StoreError>;

    // ---- contacts ---------------------------------------------------------

    /// Records that `user` added `other`.
    async fn contact_add(&self, user: &UserId, other: &UserId) -> Result<(), StoreError>;

    /// Ends the contact between the two, from both sides (blocks stay).
    async fn contact_remove(&self, user: &UserId, other: &UserId) -> Result<(), StoreError>;

    /// Sets or clears `user`'s block of `other`.
    async fn set_blocked(
        &self,
        user: &UserId,
        other: &UserId,
        blocked: bool,
    ) -> Result<(), StoreError>;

    /// Whether `user` has blocked `other`.
    async fn is_blocked(&self, user: &UserId, other: &UserId) -> Result<bool, StoreError>;

    /// Every user `user` has a relation with, from `user`'s side, sorted by name.
    async fn contacts(&self, user: &UserId) -> Result<Vec<ContactEdge>, StoreError>;

    // ---- files ------------------------------------------------------------

    /// Records an uploaded file.
    async fn put_file(&self, file: FileRecord) -> Result<(), StoreError>;

    /// A file's record, `None` when unknown.
    async fn file(&self, id: &str) -> Result<Option<FileRecord>, StoreError>;

    /// The conversations holding a message that carries file `id`, each once.
    /// A message's reference is stored with the message (in the same
    /// transaction as its append) and goes away when it is recalled.
    async fn file_convs(&self, id: &str) -> Result<Vec<ConvId>, StoreError>;

    /// The total size of the files `owner` uploaded that are still kept.
    async fn user_file_bytes(&self, owner: &UserId) -> Result<u64, StoreError>;

    /// Up to `limit` files created before `created_before_ms` that no message
    /// references: the candidates for [`Store::delete_unreferenced_file`].
    async fn unreferenced_files(
        &self,
        created_before_ms: u64,
        limit: u32,
    ) -> Result<Vec<FileRecord>, StoreError>;

    /// Deletes file `id`'s record (and, in a cluster, its bytes) when it was
    /// created before `created_before_ms` and no message references it; true
    /// when it deleted it. Idempotent: a file already gone is `false`.
    async fn delete_unreferenced_file(
        &self,
        id: &str,
        created_before_ms: u64,
    ) -> Result<bool, StoreError>;

    // ---- accounts and sessions -----------------------------------------------

    /// Records a login session; expired sessions of the same user are
    /// forgotten on the way.
    async fn create_session(&self, session: NewSession) -> Result<(), StoreError>;

    /// `user`'s sessions that are neither revoked nor expired at `now_ms`,
    /// oldest first.
    async fn sessions(&self, user: &UserId, now_ms: u64) -> Result<Vec<SessionRecord>, StoreError>;

    /// Revokes `user`'s session `id`; the record as it was, `None` when `user`
    /// has no such unrevoked session.
    async fn revoke_session(
        &self,
        user: &UserId,
        id: &str,
    ) -> Result<Option<SessionRecord>, StoreError>;

    /// Revokes every session of `user` and every token issued before
    /// `before_ms` (the account's `tokens_before` only moves forward).
    async fn revoke_all_sessions(&self, user: &UserId, before_ms: u64) -> Result<(), StoreError>;

    /// Notes that session `id` was used at `at_ms`.
    async fn touch_session(&self, id: &str, at_ms: u64) -> Result<(), StoreError>;

    /// The account's standing, `None` when there is no such user.
    async fn account_state(&self, user: &UserId) -> Result<Option<AccountState>, StoreError>;

    /// Replaces the user's password hash; false when there is no such user.
    async fn set_password(&self, user: &UserId, password_hash: String) -> Result<bool, StoreError>;

    /// Disables or enables the account; false when there is no such user.
    async fn set_disabled(&self, user: &UserId, disabled: bool) -> Result<bool, StoreError>;

    /// Deletes the account at `at_ms`: the name stays taken (and its messages
    /// stay), its password and profile are erased, every token is revoked.
    /// False when there is no such user.
    async fn delete_account(&self, user: &UserId, at_ms: u64) -> Result<bool, StoreError>;

    /// Revoked sessions unexpired at `now_ms`, and the accounts that are
    /// disabled, deleted or revoked their tokens after `since_ms`.
    async fn revocations(&self, now_ms: u64, since_ms: u64) -> Result<RevocationState, StoreError>;

    // ---- profiles, privacy, conversation and group settings (§13, people) ----

    /// Changes `user`'s profile; false when there is no such user or the
    /// account was deleted.
    async fn set_profile(&self, user: &UserId, update: ProfileUpdate) -> Result<bool, StoreError>;

    /// The profiles (and privacy settings) of those of `users` that exist, in
    /// the order given, each once.
    async fn profiles(&self, users: &[UserId]) -> Result<Vec<ProfileRecord>, StoreError>;

    /// Records that `user`'s last connection closed at `at_ms`; never moves
    /// back.
    async fn set_last_seen(&self, user: &UserId, at_ms: u64) -> Result<(), StoreError>;

    /// Changes `user`'s privacy settings and returns them; `NotFound` when
    /// there is no such user.
    async fn set_privacy(
        &self,
        user: &UserId,
        update: PrivacyUpdate,
    ) -> Result<Privacy, StoreError>;

    /// Changes `user`'s settings of `conv` and returns them.
    async fn set_conv_settings(
        &self,
        user: &UserId,
        conv: &ConvId,
        update: ConvSettingsUpdate,
    ) -> Result<ConvSettings, StoreError>;

    /// `user`'s settings of each conversation they changed any for.
    async fn conv_settings(&self, user: &UserId)
    -> Result<Vec<(String, ConvSettings)>, StoreError>;

    /// Changes a group's settings and returns the group; `None` when there
    /// is no such group.
    async fn update_group(
        &self,
        id: &str,
        update: GroupUpdate,
    ) -> Result<Option<GroupRecord>, StoreError>;

    /// Hands the group to `user`, a member; the owner becomes an admin.
    /// False when `user` is not a member.
    async fn transfer_owner(&self, id: &str, user: &UserId) -> Result<bool, StoreError>;

    /// The groups whose avatar is file `file_id`.
    async fn avatar_groups(&self, file_id: &str) -> Result<Vec<GroupRecord>, StoreError>;

    /// The users who have blocked `user`.
    async fn blocked_by(&self, user: &UserId) -> Result<Vec<String>, StoreError>;
    // ---- message lifecycle (§11, branch `lifecycle`) ---------------------------

    /// Records an edit of message `seq` of `conv`: reads show its text, meta
    /// and `edited_ts` from now on (until it is recalled).
    async fn edit(&self, conv: &ConvId, seq: u64, edit: EditRecord) -> Result<(), StoreError>;

    /// Adds `user`'s reaction `emoji` to message `seq`; false when it was
    /// there already. `Limit` when the message has `max_emoji` distinct
    /// emoji already and `emoji` is not one of them.
    async fn react(
        &self,
        conv: &ConvId,
        seq: u64,
        user: &UserId,
        emoji: &str,
        max_emoji: u32,
    ) -> Result<bool, StoreError>;

    /// Removes `user`'s reaction `emoji` from message `seq`; false when there
    /// was none.
    async fn unreact(
        &self,
        conv: &ConvId,
        seq: u64,
        user: &UserId,
        emoji: &str,
    ) -> Result<bool, StoreError>;

    /// The edits and reactions of the messages `first..=last` of `conv`, as
    /// `viewer` sees them (`me`): two queries, whatever the page holds.
    async fn message_states(
        &self,
        viewer: &UserId,
        conv: &ConvId,
        first: u64,
        last: u64,
    ) -> Result<MessageStates, StoreError>;

    /// Hides message `seq` of `conv` from `user` ("delete for me"); a repeat
    /// changes nothing. The message must exist.
    async fn hide(&self, user: &UserId, conv: &ConvId, seq: u64) -> Result<(), StoreError>;

    /// The seqs of `conv` that `user` hid, strictly between `after` and
    /// `before`, ascending.
    async fn hidden(
        &self,
        user: &UserId,
        conv: &ConvId,
        after: u64,
        before: u64,
    ) -> Result<Vec<u64>, StoreError>;

    /// The members of `conv` other than `except` whose read cursor is at or
    /// past `seq`: how many, and the first `limit` of them (groups: in joining
    /// order).
    async fn read_by(
        &self,
        conv: &ConvId,
        seq: u64,
        except: &UserId,
        limit: u32,
    ) -> Result<ReadBy, StoreError>;

    /// For each `(conv, read_seq, up_to)`: how many messages after `read_seq`
    /// and at most `up_to` are not events, and how many of those mention
    /// `user` or `all`; each count stops at [`crate::UNREAD_CAP`]. `up_to` is
    /// the `last_seq` reported beside the counts, so that a message appended
    /// meanwhile is not counted in both (a client adds the pushes after
    /// `last_seq` to the counts). One query per conversation at most, over its
    /// unread messages only.
    async fn unread_counts(
        &self,
        user: &UserId,
        convs: &[(ConvId, u64, u64)],
    ) -> Result<Vec<(u64, u64)>, StoreError>;

    // ---- search (issue #22) -------------------------------------------------

    /// The newest messages matching `search` (descending by id, at most
    /// `search.limit`) among those `user` may read now: their direct
    /// conversations, the groups they are a member of now; never events,
    /// recalled or system messages, nor those `user` hid ("delete for me",
    /// the `hidden_messages` table). Edited messages are found by their
    /// current text.
    async fn search(&self, user: &UserId, search: &Search) -> Result<Vec<Message>, StoreError>;
}
