//! The cluster store: PostgreSQL, shared by every node.
//!
//! - [`writer`]: one task per store commits every write in shared transactions
//!   (group commit) on a connection of its own; a write returns once committed.
//!   Appends side by side in a batch are stored with one statement
//!   ([`batched_append`]).
//! - Reads run on a pool of connections and never wait for the writer.
//! - [`schema`]: the migrations, recorded in `koi_schema_migrations` and applied
//!   under an advisory lock, so nodes starting together do not race.
//! - One file of queries per domain: messages, conversations, users, groups,
//!   contacts, files; [`secrets`] holds what every node must share.
//!
//! Several nodes, each with its own `PostgresStore`, may write the same
//! conversation at once: the seq counter is a row that every append locks (see
//! [`convs`]), so seqs stay gapless and rise in commit order across nodes, and
//! the idempotency key is a unique index, so a retry racing on another node
//! returns the first message. Each node's commit listener sees the messages its
//! own store committed.
//!
//! When the server cannot be reached, requests fail with
//! [`StoreError::Unavailable`]; pooled connections found closed are dropped and
//! new ones opened, so service resumes by itself once the server is back.

mod append_job;
mod batched_append;
mod connect;
mod contacts;
mod content;
mod convs;
mod error;
mod files;
mod groups;
mod lifecycle;
mod messages;
mod people;
mod schema;
mod search;
mod search_index;
mod secrets;
mod sessions;
mod users;
mod writer;

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};
use koi_core::{ConvId, HistoryRange, Privacy, Role, Search, UserId};
use koi_proto::{ConvSummary, Message};
use tokio_postgres::NoTls;

pub use self::content::PgContent;
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

/// How many reads run at once per store.
const READERS: usize = 8;

/// The PostgreSQL implementation of [`Store`].
pub struct PostgresStore {
    readers: Pool,
    writer: Writer,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`
    /// or a `key=value` string; no TLS) and brings its schema up to date.
    ///
    /// `Unavailable` when the server cannot be reached, `Internal` for a bad URL
    /// or a database whose schema is newer than this build.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let config = connect::config(url)?;
        let (mut client, connection) = config.connect(NoTls).await.map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot connect to PostgreSQL: {}",
                error::describe(&e)
            ))
        })?;
        let connection = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "the migration connection failed");
            }
        });
        let migrated = schema::migrate(&mut client).await;
        drop(client);
        let _ = connection.await;
        migrated?;
        let readers = connect::pool(&config, READERS)?;
        let writer = Writer::start(connect::pool(&config, 1)?);
        Ok(PostgresStore { readers, writer })
    }

    /// How many write jobs ran and in how many commits, since connecting.
    pub fn stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// Uploaded files' bytes, kept in this database so every node can serve them.
    pub fn content(&self) -> PgContent {
        PgContent::new(self.readers.clone())
    }

    /// Appends `message` in the writer's next batch; when a user `sent` it,
    /// not if its recipient blocked its sender (`None`), and moving the
    /// sender's read cursor ([`Store::append_sent`]).
    async fn append_job(
        &self,
        message: NewMessage,
        sent: bool,
    ) -> Result<Option<Appended>, StoreError> {
        let key = conv_key(&message.conv);
        self.writer
            .submit(|reply| Box::new(append_job::Append::new(key, message, sent, reply)))
            .await
    }

    /// A pooled connection for a read.
    async fn reader(&self) -> Result<Object, StoreError> {
        Ok(self.readers.get().await?)
    }
}

/// This node's clock in milliseconds since the epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The writer's lock keys (see [`writer`]): the row each kind of write locks
/// first, so that batches lock rows in one global order.
fn conv_key(conv: &ConvId) -> String {
    format!("c:{conv}")
}

fn group_key(id: &str) -> String {
    format!("g:{id}")
}

fn pair_key(prefix: &str, a: &UserId, b: &UserId) -> String {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    format!("{prefix}:{low}:{high}")
}

#[async_trait]
impl Store for PostgresStore {
    fn set_commit_listener(&self, listener: CommitListener) {
        self.writer.set_listener(listener);
    }

    fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    async fn create_user(&self, user: NewUser) -> Result<(), StoreError> {
        self.writer
            .call(format!("u:{}", user.name), move |db, _| {
                Box::pin(users::create_user(db, user.clone(), now_ms()))
            })
            .await
    }

    async fn password_hash(&self, user: &UserId) -> Result<Option<String>, StoreError> {
        let db = self.reader().await?;
        users::password_hash(&db, user).await
    }

    async fn users_exist(&self, users: &[UserId]) -> Result<Vec<bool>, StoreError> {
        let users: Vec<&UserId> = users.iter().collect();
        let db = self.reader().await?;
        users::users_exist(&db, &users).await
    }

    async fn append(&self, message: NewMessage) -> Result<Appended, StoreError> {
        self.append_job(message, false).await?.ok_or_else(|| {
            StoreError::Internal("an append without a block check was refused".into())
        })
    }

    async fn append_sent(&self, message: NewMessage) -> Result<Option<Appended>, StoreError> {
        self.append_job(message, true).await
    }

    async fn history(
        &self,
        conv: &ConvId,
        range: HistoryRange,
    ) -> Result<Vec<Message>, StoreError> {
        let db = self.reader().await?;
        messages::history(&db, conv, range).await
    }

    async fn message(&self, conv: &ConvId, seq: u64) -> Result<Option<Message>, StoreError> {
        let db = self.reader().await?;
        messages::message(&db, conv, seq).await
    }

    async fn sent_message(
        &self,
        from: &str,
        client_msg_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let db = self.reader().await?;
        messages::by_client_msg_id(&db, from, client_msg_id).await
    }

    async fn recall(&self, conv: &ConvId, seq: u64) -> Result<(), StoreError> {
        let conv = conv.clone();
        self.writer
            .call(format!("m:{conv}:{seq}"), move |db, _| {
                let conv = conv.clone();
                Box::pin(async move { messages::recall(db, &conv, seq).await })
            })
            .await
    }

    async fn last_seq(&self, conv: &ConvId) -> Result<u64, StoreError> {
        let db = self.reader().await?;
        convs::last_seq(&db, conv).await
    }

    async fn conversations(&self, user: &UserId) -> Result<Vec<ConvSummary>, StoreError> {
        let db = self.reader().await?;
        convs::conversations(&db, user).await
    }

    async fn set_read(&self, user: &UserId, conv: &ConvId, seq: u64) -> Result<u64, StoreError> {
        let (user, conv) = (user.clone(), conv.clone());
        self.writer
            .call(format!("r:{user}:{conv}"), move |db, _| {
                let (user, conv) = (user.clone(), conv.clone());
                Box::pin(async move { convs::set_read(db, &user, &conv, seq).await })
            })
            .await
    }

    async fn create_group(&self, group: NewGroup) -> Result<GroupRecord, StoreError> {
        self.writer
            .call(group_key(&group.id), move |db, _| {
                Box::pin(groups::create_group(db, group.clone(), now_ms()))
            })
            .await
    }

    async fn group(&self, id: &str) -> Result<Option<GroupRecord>, StoreError> {
        let db = self.reader().await?;
        groups::group(&db, id).await
    }

    async fn group_members(&self, id: &str, limit: u32) -> Result<Vec<(String, Role)>, StoreError> {
        let db = self.reader().await?;
        groups::group_members(&db, id, limit).await
    }

    async fn member_role(&self, id: &str, user: &UserId) -> Result<Option<Role>, StoreError> {
        let db = self.reader().await?;
        groups::member_role(&db, id, user).await
    }

    async fn add_members(
        &self,
        id: &str,
        users: &[UserId],
        max_members: u32,
    ) -> Result<AddMembers, StoreError> {
        let (id, users) = (id.to_owned(), users.to_vec());
        self.writer
            .call(group_key(&id), move |db, _| {
                let (id, users) = (id.clone(), users.clone());
                Box::pin(async move { groups::add_members(db, &id, &users, max_members).await })
            })
            .await
    }

    async fn set_role(&self, id: &str, user: &UserId, role: Role) -> Result<bool, StoreError> {
        let (id, user) = (id.to_owned(), user.clone());
        self.writer
            .call(group_key(&id), move |db, _| {
                let (id, user) = (id.clone(), user.clone());
                Box::pin(async move { groups::set_role(db, &id, &user, role).await })
            })
            .await
    }

    async fn remove_member(&self, id: &str, user: &UserId) -> Result<bool, StoreError> {
        let (id, user) = (id.to_owned(), user.clone());
        self.writer
            .call(group_key(&id), move |db, _| {
                let (id, user) = (id.clone(), user.clone());
                Box::pin(async move { groups::remove_member(db, &id, &user).await })
            })
            .await
    }

    async fn user_groups(&self, user: &UserId) -> Result<Vec<String>, StoreError> {
        let db = self.reader().await?;
        groups::user_groups(&db, user).await
    }

    async fn contact_add(&self, user: &UserId, other: &UserId) -> Result<(), StoreError> {
        let (user, other) = (user.clone(), other.clone());
        self.writer
            .call(pair_key("k", &user, &other), move |db, _| {
                let (user, other) = (user.clone(), other.clone());
                Box::pin(async move { contacts::contact_add(db, &user, &other).await })
            })
            .await
    }

    async fn contact_remove(&self, user: &UserId, other: &UserId) -> Result<(), StoreError> {
        let (user, other) = (user.clone(), other.clone());
        self.writer
            .call(pair_key("k", &user, &other), move |db, _| {
                let (user, other) = (user.clone(), other.clone());
                Box::pin(async move { contacts::contact_remove(db, &user, &other).await })
            })
            .await
    }

    async fn set_blocked(
        &self,
        user: &UserId,
        other: &UserId,
        blocked: bool,
    ) -> Result<(), StoreError> {
        let (user, other) = (user.clone(), other.clone());
        self.writer
            .call(pair_key("k", &user, &other), move |db, _| {
                let (user, other) = (user.clone(), other.clone());
                Box::pin(async move { contacts::set_blocked(db, &user, &other, blocked).await })
            })
            .await
    }

    async fn is_blocked(&self, user: &UserId, other: &UserId) -> Result<bool, StoreError> {
        let db = self.reader().await?;
        contacts::is_blocked(&db, user, other).await
    }

    async fn contacts(&self, user: &UserId) -> Result<Vec<ContactEdge>, StoreError> {
        let db = self.reader().await?;
        contacts::contacts(&db, user).await
    }

    async fn put_file(&self, file: FileRecord) -> Result<(), StoreError> {
        self.writer
            .call(format!("f:{}", file.id), move |db, _| {
                Box::pin(files::put_file(db, file.clone()))
            })
            .await
    }

    async fn file(&self, id: &str) -> Result<Option<FileRecord>, StoreError> {
        let db = self.reader().await?;
        files::file(&db, id).await
    }

    async fn file_convs(&self, id: &str) -> Result<Vec<ConvId>, StoreError> {
        let db = self.reader().await?;
        files::file_convs(&db, id).await
    }

    async fn user_file_bytes(&self, owner: &UserId) -> Result<u64, StoreError> {
        let db = self.reader().await?;
        files::user_file_bytes(&db, owner.as_str()).await
    }

    async fn unreferenced_files(
        &self,
        created_before_ms: u64,
        limit: u32,
    ) -> Result<Vec<FileRecord>, StoreError> {
        let db = self.reader().await?;
        files::unreferenced_files(&db, created_before_ms, limit).await
    }

    async fn delete_unreferenced_file(
        &self,
        id: &str,
        created_before_ms: u64,
    ) -> Result<bool, StoreError> {
        // Its own transaction on a pooled connection, like the bytes it
        // deletes: never in the writer's batches of messages.
        let mut db = self.reader().await?;
        files::delete_unreferenced_file(&mut db, id, created_before_ms).await
    }

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.writer
            .call(format!("u:{}", session.user), move |db, _| {
                let session = session.clone();
                Box::pin(async move { sessions::create_session(db, &session).await })
            })
            .await
    }

    async fn sessions(&self, user: &UserId, now_ms: u64) -> Result<Vec<SessionRecord>, StoreError> {
        let db = self.reader().await?;
        sessions::sessions(&db, user, now_ms).await
    }

    async fn revoke_session(
        &self,
        user: &UserId,
        id: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let (user, id) = (user.clone(), id.to_owned());
        self.writer
            .call(format!("u:{user}"), move |db, _| {
                let (user, id) = (user.clone(), id.clone());
                Box::pin(async move { sessions::revoke_session(db, &user, &id).await })
            })
            .await
    }

    async fn revoke_all_sessions(&self, user: &UserId, before_ms: u64) -> Result<(), StoreError> {
        let user = user.clone();
        self.writer
            .call(format!("u:{user}"), move |db, _| {
                let user = user.clone();
                Box::pin(async move { sessions::revoke_all_sessions(db, &user, before_ms).await })
            })
            .await
    }

    async fn touch_session(&self, id: &str, at_ms: u64) -> Result<(), StoreError> {
        let db = self.reader().await?;
        sessions::touch_session(&db, id, at_ms).await
    }

    async fn account_state(&self, user: &UserId) -> Result<Option<AccountState>, StoreError> {
        let db = self.reader().await?;
        sessions::account_state(&db, user).await
    }

    async fn set_password(&self, user: &UserId, password_hash: String) -> Result<bool, StoreError> {
        let user = user.clone();
        self.writer
            .call(format!("u:{user}"), move |db, _| {
                let (user, hash) = (user.clone(), password_hash.clone());
                Box::pin(async move { sessions::set_password(db, &user, &hash).await })
            })
            .await
    }

    async fn set_disabled(&self, user: &UserId, disabled: bool) -> Result<bool, StoreError> {
        let user = user.clone();
        self.writer
            .call(format!("u:{user}"), move |db, _| {
                let user = user.clone();
                Box::pin(async move { sessions::set_disabled(db, &user, disabled).await })
            })
            .await
    }

    async fn delete_account(&self, user: &UserId, at_ms: u64) -> Result<bool, StoreError> {
        let user = user.clone();
        self.writer
            .call(format!("u:{user}"), move |db, _| {
                let user = user.clone();
                Box::pin(async move { sessions::delete_account(db, &user, at_ms).await })
            })
            .await
    }

    async fn revocations(&self, now_ms: u64, since_ms: u64) -> Result<RevocationState, StoreError> {
        let db = self.reader().await?;
        sessions::revocations(&db, now_ms, since_ms).await
    }

    // ---- profiles, privacy, conversation and group settings (§13, people) ----

    async fn set_profile(&self, user: &UserId, update: ProfileUpdate) -> Result<bool, StoreError> {
        let user = user.clone();
        self.writer
            .call(format!("u:{user}"), move |db, _| {
                let (user, update) = (user.clone(), update.clone());
                Box::pin(async move { people::set_profile(db, &user, &update).await })
            })
            .await
    }

    async fn profiles(&self, users: &[UserId]) -> Result<Vec<ProfileRecord>, StoreError> {
        let db = self.reader().await?;
        people::profiles(&db, users).await
    }

    async fn set_last_seen(&self, user: &UserId, at_ms: u64) -> Result<(), StoreError> {
        let user = user.clone();
        self.writer
            .call(format!("u:{user}"), move |db, _| {
                let user = user.clone();
                Box::pin(async move { people::set_last_seen(db, &user, at_ms).await })
            })
            .await
    }

    async fn set_privacy(
        &self,
        user: &UserId,
        update: PrivacyUpdate,
    ) -> Result<Privacy, StoreError> {
        let user = user.clone();
        self.writer
            .call(format!("u:{user}"), move |db, _| {
                let user = user.clone();
                Box::pin(async move { people::set_privacy(db, &user, update).await })
            })
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
            .call(format!("s:{user}:{conv}"), move |db, _| {
                let (user, conv) = (user.clone(), conv.clone());
                Box::pin(async move { people::set_conv_settings(db, &user, &conv, update).await })
            })
            .await
    }

    async fn conv_settings(
        &self,
        user: &UserId,
    ) -> Result<Vec<(String, ConvSettings)>, StoreError> {
        let db = self.reader().await?;
        people::conv_settings(&db, user).await
    }

    async fn update_group(
        &self,
        id: &str,
        update: GroupUpdate,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let id = id.to_owned();
        self.writer
            .call(group_key(&id), move |db, _| {
                let (id, update) = (id.clone(), update.clone());
                Box::pin(async move { people::update_group(db, &id, &update).await })
            })
            .await
    }

    async fn transfer_owner(&self, id: &str, user: &UserId) -> Result<bool, StoreError> {
        let (id, user) = (id.to_owned(), user.clone());
        self.writer
            .call(group_key(&id), move |db, _| {
                let (id, user) = (id.clone(), user.clone());
                Box::pin(async move { people::transfer_owner(db, &id, &user).await })
            })
            .await
    }

    async fn avatar_groups(&self, file_id: &str) -> Result<Vec<GroupRecord>, StoreError> {
        let db = self.reader().await?;
        people::avatar_groups(&db, file_id).await
    }

    async fn blocked_by(&self, user: &UserId) -> Result<Vec<String>, StoreError> {
        let db = self.reader().await?;
        people::blocked_by(&db, user).await
    }

    // ---- message lifecycle (§11, branch `lifecycle`) ---------------------------

    async fn edit(&self, conv: &ConvId, seq: u64, edit: EditRecord) -> Result<(), StoreError> {
        let conv = conv.clone();
        self.writer
            .call(format!("m:{conv}:{seq}"), move |db, _| {
                let (conv, edit) = (conv.clone(), edit.clone());
                Box::pin(async move { lifecycle::edit(db, &conv, seq, &edit).await })
            })
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
            .call(format!("m:{conv}:{seq}"), move |db, _| {
                let (conv, user, emoji) = (conv.clone(), user.clone(), emoji.clone());
                Box::pin(
                    async move { lifecycle::react(db, &conv, seq, &user, &emoji, max_emoji).await },
                )
            })
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
            .call(format!("m:{conv}:{seq}"), move |db, _| {
                let (conv, user, emoji) = (conv.clone(), user.clone(), emoji.clone());
                Box::pin(async move { lifecycle::unreact(db, &conv, seq, &user, &emoji).await })
            })
            .await
    }

    async fn message_states(
        &self,
        viewer: &UserId,
        conv: &ConvId,
        first: u64,
        last: u64,
    ) -> Result<MessageStates, StoreError> {
        let db = self.reader().await?;
        lifecycle::message_states(&db, viewer, conv, first, last).await
    }

    async fn hide(&self, user: &UserId, conv: &ConvId, seq: u64) -> Result<(), StoreError> {
        let (user, conv) = (user.clone(), conv.clone());
        self.writer
            .call(format!("h:{user}:{conv}:{seq}"), move |db, _| {
                let (user, conv) = (user.clone(), conv.clone());
                Box::pin(async move { lifecycle::hide(db, &user, &conv, seq).await })
            })
            .await
    }

    async fn hidden(
        &self,
        user: &UserId,
        conv: &ConvId,
        after: u64,
        before: u64,
    ) -> Result<Vec<u64>, StoreError> {
        let db = self.reader().await?;
        lifecycle::hidden(&db, user, conv, after, before).await
    }

    async fn read_by(
        &self,
        conv: &ConvId,
        seq: u64,
        except: &UserId,
        limit: u32,
    ) -> Result<ReadBy, StoreError> {
        let db = self.reader().await?;
        lifecycle::read_by(&db, conv, seq, except, limit).await
    }

    async fn unread_counts(
        &self,
        user: &UserId,
        convs: &[(ConvId, u64, u64)],
    ) -> Result<Vec<(u64, u64)>, StoreError> {
        let db = self.reader().await?;
        lifecycle::unread_counts(&db, user, convs).await
    }

    // ---- search (issue #22) ----

    async fn search(&self, user: &UserId, search: &Search) -> Result<Vec<Message>, StoreError> {
        let db = self.reader().await?;
        search::search(&db, user, search).await
    }
}
