//! The embedded store: one SQLite file in WAL mode.
//!
//! - [`writer`]: one thread owns the write connection and commits every write in
//!   shared transactions (group commit); a write returns once durable.
//! - [`journal`]: messages are written to an append-only journal and moved into
//!   their conversation's place in `messages` later, many at a time;
//!   [`recent`] serves them to readers until they have moved.
//! - [`readers`]: a pool of read-only connections; reads never wait for writes.
//! - [`schema`]: the migrations, tracked by `PRAGMA user_version`.
//! - One file of queries per domain: messages, conversations, users, groups,
//!   contacts, files; [`search`] and [`search_index`] for message search.

mod activity;
mod appends;
mod blocks;
mod checkpointer;
mod connect;
mod contacts;
mod convs;
mod error;
mod files;
mod groups;
mod journal;
mod lifecycle;
mod messages;
mod people;
mod readers;
mod recent;
mod schema;
mod search;
mod search_index;
mod sent_keys;
mod sessions;
mod syncer;
mod users;
mod worker;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use koi_core::{ConvId, HistoryRange, Privacy, Role, Search, UserId};
use koi_proto::{ConvSummary, Message};

use self::activity::Activity;
use self::blocks::Blocks;
use self::journal::Journal;
pub use self::journal::JournalPolicy;
use self::readers::Readers;
use self::recent::Recent;
use self::writer::Writer;
pub use crate::WriterStats;
use crate::{AccountState, NewSession, RevocationState, SessionRecord};
use crate::{
    AddMembers, Appended, CommitListener, ContactEdge, FileRecord, GroupRecord, NewGroup,
    NewMessage, NewUser, Store, StoreError,
};
use crate::{
    ConvSettings, ConvSettingsUpdate, GroupUpdate, PrivacyUpdate, ProfileRecord, ProfileUpdate,
};
use crate::{EditRecord, MessageStates, ReadBy};

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    // Readers first: fields drop in order, and the writer's drop waits for its
    // last commit, after which no connection is left open.
    readers: Arc<Readers>,
    writer: Writer,
    recent: Arc<Recent>,
    activity: Arc<Activity>,
    blocks: Arc<Blocks>,
}

impl SqliteStore {
    /// Opens the database at `path`, creating it and its directory when missing,
    /// and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_with(path, JournalPolicy::default())
    }

    /// [`SqliteStore::open`] with messages moved out of the journal by `policy`.
    pub fn open_with(path: &Path, policy: JournalPolicy) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Internal(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut conn = connect::open_writer(path)?;
        schema::migrate(&mut conn)?;
        search_index::backfill(&conn)?;
        // Moves what the last run left in the journal, before the activity
        // counter is read from `convs`.
        let recent = Arc::new(Recent::new(policy.crowd()));
        let journal = Journal::open(&conn, recent.clone(), policy)?;
        let activity = Arc::new(Activity::load(&conn)?);
        let blocks = Arc::new(Blocks::load(&conn)?);
        let readers = Readers::open(path)?;
        let writer = Writer::start(
            conn,
            journal,
            connect::open_wal(path)?,
            recent.clone(),
            connect::open_checkpointer(path)?,
        )?;
        Ok(SqliteStore {
            readers,
            writer,
            recent,
            activity,
            blocks,
        })
    }

    /// How many write jobs ran and in how many commits, since opening, and how
    /// many messages are in the journal, not yet moved into `messages`.
    pub fn stats(&self) -> WriterStats {
        WriterStats {
            journal: self.recent.len() as u64,
            ..self.writer.stats()
        }
    }
}

/// The server's clock in milliseconds since the epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[async_trait]
impl Store for SqliteStore {
    fn set_commit_listener(&self, listener: CommitListener) {
        self.writer.set_listener(listener);
    }

    fn writer_stats(&self) -> WriterStats {
        self.stats()
    }

    async fn create_user(&self, user: NewUser) -> Result<(), StoreError> {
        self.writer
            .call(move |c| users::create_user(c, user, now_ms()))
            .await
    }

    async fn password_hash(&self, user: &UserId) -> Result<Option<String>, StoreError> {
        let user = user.clone();
        self.readers
            .read(move |c| users::password_hash(c, &user))
            .await
    }

    async fn users_exist(&self, users: &[UserId]) -> Result<Vec<bool>, StoreError> {
        let users = users.to_vec();
        self.readers
            .read(move |c| users::users_exist(c, &users))
            .await
    }

    async fn append(&self, message: NewMessage) -> Result<Appended, StoreError> {
        let activity = self.activity.clone();
        self.writer
            .call_in_tx(move |tx| messages::append(tx, message, false, now_ms(), &activity))
            .await
    }

    async fn append_sent(&self, message: NewMessage) -> Result<Option<Appended>, StoreError> {
        // The blocks are held in memory: checking costs no read.
        if let Some((recipient, sender)) = message.direct_parties()
            && self.blocks.is_blocked(recipient.as_str(), sender.as_str())
        {
            return Ok(None);
        }
        let activity = self.activity.clone();
        self.writer
            .call_in_tx(move |tx| messages::append(tx, message, true, now_ms(), &activity))
            .await
            .map(Some)
    }

    async fn history(
        &self,
        conv: &ConvId,
        range: HistoryRange,
    ) -> Result<Vec<Message>, StoreError> {
        let (conv, recent) = (conv.clone(), self.recent.clone());
        self.readers
            .read(move |c| messages::history(c, &recent, &conv, range))
            .await
    }

    async fn message(&self, conv: &ConvId, seq: u64) -> Result<Option<Message>, StoreError> {
        let (conv, recent) = (conv.clone(), self.recent.clone());
        self.readers
            .read(move |c| messages::message(c, &recent, &conv, seq))
            .await
    }

    async fn sent_message(
        &self,
        from: &str,
        client_msg_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let (from, cmid) = (from.to_owned(), client_msg_id.to_owned());
        self.readers
            .read({
                let recent = self.recent.clone();
                move |c| messages::by_client_msg_id(c, &recent, &from, &cmid)
            })
            .await
    }

    async fn recall(&self, conv: &ConvId, seq: u64) -> Result<(), StoreError> {
        let conv = conv.clone();
        self.writer
            .call_in_tx(move |tx| messages::recall(tx, &conv, seq))
            .await
    }

    async fn last_seq(&self, conv: &ConvId) -> Result<u64, StoreError> {
        let conv = conv.clone();
        let recent = self.recent.clone();
        self.readers
            .read(move |c| convs::last_seq(c, &recent, &conv))
            .await
    }

    async fn conversations(&self, user: &UserId) -> Result<Vec<ConvSummary>, StoreError> {
        let user = user.clone();
        self.readers
            .read({
                let recent = self.recent.clone();
                move |c| convs::conversations(c, &recent, &user)
            })
            .await
    }

    async fn set_read(&self, user: &UserId, conv: &ConvId, seq: u64) -> Result<u64, StoreError> {
        let (user, conv) = (user.clone(), conv.clone());
        self.writer
            .call(move |c| convs::set_read(c, &user, &conv, seq))
            .await
    }

    async fn create_group(&self, group: NewGroup) -> Result<GroupRecord, StoreError> {
        self.writer
            .call({
                let activity = self.activity.clone();
                move |c| groups::create_group(c, group, now_ms(), &activity)
            })
            .await
    }

    async fn group(&self, id: &str) -> Result<Option<GroupRecord>, StoreError> {
        let id = id.to_owned();
        self.readers.read(move |c| groups::group(c, &id)).await
    }

    async fn group_members(&self, id: &str, limit: u32) -> Result<Vec<(String, Role)>, StoreError> {
        let id = id.to_owned();
        self.readers
            .read(move |c| groups::group_members(c, &id, limit))
            .await
    }

    async fn member_role(&self, id: &str, user: &UserId) -> Result<Option<Role>, StoreError> {
        let (id, user) = (id.to_owned(), user.clone());
        self.readers
            .read(move |c| groups::member_role(c, &id, &user))
            .await
    }

    async fn add_members(
        &self,
        id: &str,
        users: &[UserId],
        max_members: u32,
    ) -> Result<AddMembers, StoreError> {
        let (id, users) = (id.to_owned(), users.to_vec());
        self.writer
            .call(move |c| groups::add_members(c, &id, &users, max_members))
            .await
    }

    async fn set_role(&self, id: &str, user: &UserId, role: Role) -> Result<bool, StoreError> {
        let (id, user) = (id.to_owned(), user.clone());
        self.writer
            .call(move |c| groups::set_role(c, &id, &user, role))
            .await
    }

    async fn remove_member(&self, id: &str, user: &UserId) -> Result<bool, StoreError> {
        let (id, user) = (id.to_owned(), user.clone());
        self.writer
            .call(move |c| groups::remove_member(c, &id, &user))
            .await
    }

    async fn user_groups(&self, user: &UserId) -> Result<Vec<String>, StoreError> {
        let user = user.clone();
        self.readers
            .read(move |c| groups::user_groups(c, &user))
            .await
    }

    async fn contact_add(&self, user: &UserId, other: &UserId) -> Result<(), StoreError> {
        let (user, other) = (user.clone(), other.clone());
        self.writer
            .call(move |c| contacts::contact_add(c, &user, &other))
            .await
    }

    async fn contact_remove(&self, user: &UserId, other: &UserId) -> Result<(), StoreError> {
        let (user, other) = (user.clone(), other.clone());
        self.writer
            .call(move |c| contacts::contact_remove(c, &user, &other))
            .await
    }

    async fn set_blocked(
        &self,
        user: &UserId,
        other: &UserId,
        blocked: bool,
    ) -> Result<(), StoreError> {
        let (u, o, blocks) = (user.clone(), other.clone(), self.blocks.clone());
        let stamp = self
            .writer
            .call(move |c| {
                contacts::set_blocked(c, &u, &o, blocked)?;
                Ok(blocks.stamp())
            })
            .await?;
        self.blocks
            .apply(user.as_str(), other.as_str(), stamp, blocked);
        Ok(())
    }

    async fn is_blocked(&self, user: &UserId, other: &UserId) -> Result<bool, StoreError> {
        Ok(self.blocks.is_blocked(user.as_str(), other.as_str()))
    }

    async fn contacts(&self, user: &UserId) -> Result<Vec<ContactEdge>, StoreError> {
        let user = user.clone();
        self.readers
            .read(move |c| contacts::contacts(c, &user))
            .await
    }

    async fn put_file(&self, file: FileRecord) -> Result<(), StoreError> {
        self.writer.call(move |c| files::put_file(c, file)).await
    }

    async fn file(&self, id: &str) -> Result<Option<FileRecord>, StoreError> {
        let id = id.to_owned();
        self.readers.read(move |c| files::file(c, &id)).await
    }

    async fn file_convs(&self, id: &str) -> Result<Vec<ConvId>, StoreError> {
        let id = id.to_owned();
        self.readers.read(move |c| files::file_convs(c, &id)).await
    }

    async fn user_file_bytes(&self, owner: &UserId) -> Result<u64, StoreError> {
        let owner = owner.to_string();
        self.readers
            .read(move |c| files::user_file_bytes(c, &owner))
            .await
    }

    async fn unreferenced_files(
        &self,
        created_before_ms: u64,
        limit: u32,
    ) -> Result<Vec<FileRecord>, StoreError> {
        self.readers
            .read(move |c| files::unreferenced_files(c, created_before_ms, limit))
            .await
    }

    async fn delete_unreferenced_file(
        &self,
        id: &str,
        created_before_ms: u64,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.writer
            .call(move |c| files::delete_unreferenced_file(c, &id, created_before_ms))
            .await
    }

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.writer
            .call(move |c| sessions::create_session(c, session))
            .await
    }

    async fn sessions(&self, user: &UserId, now_ms: u64) -> Result<Vec<SessionRecord>, StoreError> {
        let user = user.clone();
        self.readers
            .read(move |c| sessions::sessions(c, &user, now_ms))
            .await
    }

    async fn revoke_session(
        &self,
        user: &UserId,
        id: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let (user, id) = (user.clone(), id.to_owned());
        self.writer
            .call(move |c| sessions::revoke_session(c, &user, &id))
            .await
    }

    async fn revoke_all_sessions(&self, user: &UserId, before_ms: u64) -> Result<(), StoreError> {
        let user = user.clone();
        self.writer
            .call(move |c| sessions::revoke_all_sessions(c, &user, before_ms))
            .await
    }

    async fn touch_session(&self, id: &str, at_ms: u64) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.writer
            .call(move |c| sessions::touch_session(c, &id, at_ms))
            .await
    }

    async fn account_state(&self, user: &UserId) -> Result<Option<AccountState>, StoreError> {
        let user = user.clone();
        self.readers
            .read(move |c| sessions::account_state(c, &user))
            .await
    }

    async fn set_password(&self, user: &UserId, password_hash: String) -> Result<bool, StoreError> {
        let user = user.clone();
        self.writer
            .call(move |c| sessions::set_password(c, &user, &password_hash))
            .await
    }

    async fn set_disabled(&self, user: &UserId, disabled: bool) -> Result<bool, StoreError> {
        let user = user.clone();
        self.writer
            .call(move |c| sessions::set_disabled(c, &user, disabled))
            .await
    }

    async fn delete_account(&self, user: &UserId, at_ms: u64) -> Result<bool, StoreError> {
        let user = user.clone();
        self.writer
            .call(move |c| sessions::delete_account(c, &user, at_ms))
            .await
    }

    async fn revocations(&self, now_ms: u64, since_ms: u64) -> Result<RevocationState, StoreError> {
        self.readers
            .read(move |c| sessions::revocations(c, now_ms, since_ms))
            .await
    }

    // ---- profiles, privacy, conversation and group settings (§13, people) ----

    async fn set_profile(&self, user: &UserId, update: ProfileUpdate) -> Result<bool, StoreError> {
        let user = user.clone();
        self.writer
            .call(move |c| people::set_profile(c, &user, &update))
            .await
    }

    async fn profiles(&self, users: &[UserId]) -> Result<Vec<ProfileRecord>, StoreError> {
        let users = users.to_vec();
        self.readers
            .read(move |c| people::profiles(c, &users))
            .await
    }

    async fn set_last_seen(&self, user: &UserId, at_ms: u64) -> Result<(), StoreError> {
        let user = user.clone();
        self.writer
            .call(move |c| people::set_last_seen(c, &user, at_ms))
            .await
    }

    async fn set_privacy(
        &self,
        user: &UserId,
        update: PrivacyUpdate,
    ) -> Result<Privacy, StoreError> {
        let user = user.clone();
        self.writer
            .call(move |c| people::set_privacy(c, &user, update))
            .await
    }

    async fn set_conv_settings(
        &self,
        user: &UserId,
        conv: &ConvId,
        update: ConvSettingsUpdate,
    ) -> Result<ConvSettings, StoreError> {
        let (user, conv) = (user.clone(), conv.clone());
        self.writer
            .call(move |c| people::set_conv_settings(c, &user, &conv, update))
            .await
    }

    async fn conv_settings(
        &self,
        user: &UserId,
    ) -> Result<Vec<(String, ConvSettings)>, StoreError> {
        let user = user.clone();
        self.readers
            .read(move |c| people::conv_settings(c, &user))
            .await
    }

    async fn update_group(
        &self,
        id: &str,
        update: GroupUpdate,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let id = id.to_owned();
        self.writer
            .call(move |c| people::update_group(c, &id, &update))
            .await
    }

    async fn transfer_owner(&self, id: &str, user: &UserId) -> Result<bool, StoreError> {
        let (id, user) = (id.to_owned(), user.clone());
        self.writer
            .call(move |c| people::transfer_owner(c, &id, &user))
            .await
    }

    async fn avatar_groups(&self, file_id: &str) -> Result<Vec<GroupRecord>, StoreError> {
        let file_id = file_id.to_owned();
        self.readers
            .read(move |c| people::avatar_groups(c, &file_id))
            .await
    }

    async fn blocked_by(&self, user: &UserId) -> Result<Vec<String>, StoreError> {
        let user = user.clone();
        self.readers
            .read(move |c| people::blocked_by(c, &user))
            .await
    }

    // ---- message lifecycle (§11, branch `lifecycle`) ---------------------------

    async fn edit(&self, conv: &ConvId, seq: u64, edit: EditRecord) -> Result<(), StoreError> {
        let conv = conv.clone();
        self.writer
            .call(move |c| lifecycle::edit(c, &conv, seq, &edit))
            .await
    }

    async fn react(
        &self,
        conv: &ConvId,
        seq: u64,
        user: &UserId,
        emoji: &str,
        max_emoji: u32,
    ) -> Result<bool, StoreError> {
        let (conv, user, emoji) = (conv.clone(), user.clone(), emoji.to_owned());
        self.writer
            .call(move |c| lifecycle::react(c, &conv, seq, &user, &emoji, max_emoji))
            .await
    }

    async fn unreact(
        &self,
        conv: &ConvId,
        seq: u64,
        user: &UserId,
        emoji: &str,
    ) -> Result<bool, StoreError> {
        let (conv, user, emoji) = (conv.clone(), user.clone(), emoji.to_owned());
        self.writer
            .call(move |c| lifecycle::unreact(c, &conv, seq, &user, &emoji))
            .await
    }

    async fn message_states(
        &self,
        viewer: &UserId,
        conv: &ConvId,
        first: u64,
        last: u64,
    ) -> Result<MessageStates, StoreError> {
        let (viewer, conv) = (viewer.clone(), conv.clone());
        self.readers
            .read(move |c| lifecycle::message_states(c, &viewer, &conv, first, last))
            .await
    }

    async fn hide(&self, user: &UserId, conv: &ConvId, seq: u64) -> Result<(), StoreError> {
        let (user, conv) = (user.clone(), conv.clone());
        self.writer
            .call(move |c| lifecycle::hide(c, &user, &conv, seq))
            .await
    }

    async fn hidden(
        &self,
        user: &UserId,
        conv: &ConvId,
        after: u64,
        before: u64,
    ) -> Result<Vec<u64>, StoreError> {
        let (user, conv) = (user.clone(), conv.clone());
        self.readers
            .read(move |c| lifecycle::hidden(c, &user, &conv, after, before))
            .await
    }

    async fn read_by(
        &self,
        conv: &ConvId,
        seq: u64,
        except: &UserId,
        limit: u32,
    ) -> Result<ReadBy, StoreError> {
        let (conv, except) = (conv.clone(), except.clone());
        self.readers
            .read(move |c| lifecycle::read_by(c, &conv, seq, &except, limit))
            .await
    }

    async fn unread_counts(
        &self,
        user: &UserId,
        convs: &[(ConvId, u64, u64)],
    ) -> Result<Vec<(u64, u64)>, StoreError> {
        let (user, convs, recent) = (user.clone(), convs.to_vec(), self.recent.clone());
        self.readers
            .read(move |c| lifecycle::unread_counts(c, &recent, &user, &convs))
            .await
    }

    // ---- search (issue #22) ----

    async fn search(&self, user: &UserId, search: &Search) -> Result<Vec<Message>, StoreError> {
        let (user, search, recent) = (user.clone(), search.clone(), self.recent.clone());
        self.readers
            .read(move |c| search::search(c, &recent, &user, &search))
            .await
    }
}
