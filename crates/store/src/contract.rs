//! The contract every [`Store`] implementation must pass.
//!
//! [`run_all`] runs every check against one store. Each check is also public, so a
//! failing one can be run alone. Checks use their own users, groups and
//! conversations, suffixed with a tag drawn once per process, so they share a
//! store (and a persistent database can run the suite again). They assume a
//! multi-threaded tokio runtime, where concurrent tasks really race.
//!
//! ```no_run
//! # use std::{path::Path, sync::Arc};
//! # async fn contract() -> Result<(), koi_store::StoreError> {
//! // In a #[tokio::test(flavor = "multi_thread")]:
//! let store = koi_store::sqlite::SqliteStore::open(Path::new("/tmp/koi-contract.db"))?;
//! koi_store::contract::run_all(Arc::new(store)).await;
//! # Ok(())
//! # }
//! ```

mod accounts;
mod append;
mod batched;
mod conversations;
mod files;
mod groups;
mod history;
mod lifecycle;
mod membership;
mod people;
mod search;
mod sessions;

use std::sync::{Arc, OnceLock};

use koi_core::{ConvId, HistoryRange, UserId};
use koi_proto::Message;

pub use self::accounts::{contacts, files, users, users_concurrent_conflicts};
pub use self::append::{
    commit_listener, gapless_seq_under_concurrency, idempotent_append, idempotent_append_concurrent,
};
pub use self::batched::{mixed_batches, sent_reads_and_mentions, sent_unless_blocked};
pub use self::conversations::{
    conversation_list, conversation_order_within_a_millisecond, set_read_only_moves_forward,
};
pub use self::files::{file_references, unreferenced_file_sweep};
pub use self::groups::{group_create, group_create_rejects};
pub use self::history::{history_shapes, message_lookup, recall};
pub use self::lifecycle::{
    edits_and_reactions, hidden_messages, message_extras, read_by_and_unread,
};
pub use self::membership::{group_add_members, group_remove_and_handoff, group_roles};
pub use self::people::{
    conv_settings, group_settings_and_ownership, privacy_settings, profiles_and_last_seen,
};
pub use self::search::{
    search_hidden, search_many_conversations, search_paging, search_scope, search_words,
};
pub use self::sessions::{account_standing, sessions};
use crate::{NewMessage, NewUser, Store};

/// Runs every check, one after the other.
pub async fn run_all(store: Arc<dyn Store>) {
    let store = &store;
    users(store).await;
    users_concurrent_conflicts(store).await;
    gapless_seq_under_concurrency(store).await;
    idempotent_append(store).await;
    idempotent_append_concurrent(store).await;
    history_shapes(store).await;
    message_lookup(store).await;
    recall(store).await;
    commit_listener(store).await;
    conversation_list(store).await;
    conversation_order_within_a_millisecond(store).await;
    set_read_only_moves_forward(store).await;
    group_create(store).await;
    group_create_rejects(store).await;
    group_add_members(store).await;
    group_remove_and_handoff(store).await;
    group_roles(store).await;
    contacts(store).await;
    files(store).await;
    file_references(store).await;
    unreferenced_file_sweep(store).await;
    sessions(store).await;
    account_standing(store).await;
    // Profiles, privacy, conversation and group settings (§13, people).
    profiles_and_last_seen(store).await;
    privacy_settings(store).await;
    conv_settings(store).await;
    group_settings_and_ownership(store).await;
    // Message lifecycle (§11).
    message_extras(store).await;
    edits_and_reactions(store).await;
    hidden_messages(store).await;
    read_by_and_unread(store).await;
    // Search (issue #22); `search_hidden` needs a way to hide, each store's
    // own tests run it.
    search_words(store).await;
    search_scope(store).await;
    search_paging(store).await;
    search_many_conversations(store).await;
    // pgwrite
    sent_unless_blocked(store).await;
    sent_reads_and_mentions(store).await;
    mixed_batches(store).await;
}

/// This run's suffix for names, so that runs never collide.
fn tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    // The tail of an id is random lowercase base32: valid in user names.
    TAG.get_or_init(|| crate::new_id()[20..].to_owned())
}

/// `base` made unique to this run (bases stay under 26 characters).
fn unique(base: &str) -> String {
    format!("{base}.{}", tag())
}

/// A group id made unique to this run (group ids allow no dots).
fn group_id(base: &str) -> String {
    format!("{base}-{}", tag())
}

/// The user named `base` in this run (not created).
fn user_id(base: &str) -> UserId {
    UserId::parse(&unique(base)).expect("check names are valid user names")
}

/// Creates the users named by `bases` and returns their ids.
async fn create_users<const N: usize>(store: &Arc<dyn Store>, bases: [&str; N]) -> [UserId; N] {
    let ids = bases.map(user_id);
    for id in &ids {
        store
            .create_user(NewUser {
                name: id.clone(),
                password_hash: format!("hash-of-{id}"),
                display_name: None,
            })
            .await
            .expect("creating a fresh user");
    }
    ids
}

/// A text message from `from`, without origin.
fn text(conv: &ConvId, from: &UserId, body: &str, client_msg_id: &str) -> NewMessage {
    NewMessage {
        conv: conv.clone(),
        from: from.to_string(),
        kind: "text".into(),
        text: Some(body.into()),
        file: None,
        meta: None,
        client_msg_id: client_msg_id.into(),
        origin: None,
        extra: Default::default(),
    }
}

/// The whole conversation, read in pages of 200 with `After`.
async fn read_all(store: &Arc<dyn Store>, conv: &ConvId) -> Vec<Message> {
    let mut all: Vec<Message> = Vec::new();
    loop {
        let after = all.last().map_or(0, |m| m.seq);
        let page = store
            .history(conv, HistoryRange::After { after, limit: 200 })
            .await
            .expect("history");
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// The seqs of `messages`, in their order.
fn seqs(messages: &[Message]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}
