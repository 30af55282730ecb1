//! The logic role: authorizes, filters, de-duplicates, stores, then fans out.
//!
//! [`Logic::handle`] takes one request from an authenticated caller and returns
//! the reply body or a protocol error; it knows nothing of sockets.

mod authorize;
mod contacts;
mod edit;
mod events;
mod fanout;
mod file_access;
mod group_name;
mod groups;
mod hide;
mod known_users;
mod message_view;
mod messaging;
mod presence;
mod presence_visibility;
mod push_api;
// Profiles, conversation settings, privacy, group settings (§13).
mod avatar;
mod consent;
mod conv_settings;
mod group_settings;
mod profile_text;
mod profiles;
mod reactions;
mod read_by;
mod references;
mod search;
mod settings;

pub use push_api::PushOutcome;

use std::sync::Arc;

use koi_cluster::{ConnId, Hub, Registry, Router};
use koi_core::{KoiError, UserId, WordFilter};
use koi_proto::Empty;
use koi_proto::frame::Op;
use koi_proto::ok::Body;
use koi_store::Store;
use parking_lot::RwLock;

pub use fanout::Fanout;

use crate::config::Limits;
use crate::monitor::Meters;

/// Who is asking: the authenticated user and, over a connection, which one.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserId,
    pub conn: Option<ConnId>,
}

/// The logic role of a node.
pub struct Logic {
    store: Arc<dyn Store>,
    router: Arc<dyn Router>,
    registry: Arc<dyn Registry>,
    hub: Arc<Hub>,
    filter: RwLock<Arc<WordFilter>>,
    limits: Limits,
    fanout: Fanout,
    meters: Meters,
    known_users: known_users::KnownUsers,
    /// Direct conversations known to hold a message (§13 `dm`).
    started_convs: known_users::Known<koi_core::ConvId>,
}

impl Logic {
    /// Wires the logic role to its engines.
    pub fn new(
        store: Arc<dyn Store>,
        router: Arc<dyn Router>,
        registry: Arc<dyn Registry>,
        hub: Arc<Hub>,
        filter: WordFilter,
        limits: Limits,
        meters: Meters,
    ) -> Self {
        let fanout = Fanout::start(router.clone(), meters.clone());
        Self {
            store,
            router,
            registry,
            hub,
            filter: RwLock::new(Arc::new(filter)),
            limits,
            fanout,
            meters,
            known_users: Default::default(),
            started_convs: Default::default(),
        }
    }

    /// The store, for the gateway's HTTP handlers.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The registry, for dispatch and the monitor.
    pub fn registry(&self) -> &Arc<dyn Registry> {
        &self.registry
    }

    /// The fan-out stage, which the store's commit listener feeds.
    pub fn fanout(&self) -> &Fanout {
        &self.fanout
    }

    /// Replaces the word filter (SIGHUP, admin endpoint).
    pub fn set_filter(&self, filter: WordFilter) {
        *self.filter.write() = Arc::new(filter);
    }

    /// The number of words in the current filter.
    pub fn filter_len(&self) -> usize {
        self.filter.read().len()
    }

    /// Handles one request.
    pub async fn handle(&self, caller: &Caller, op: Op) -> Result<Body, KoiError> {
        let empty = |r: Result<(), KoiError>, wrap: fn(Empty) -> Body| r.map(|()| wrap(Empty {}));
        match op {
            Op::Ping(_) => Ok(Body::Ping(Empty {})),
            Op::Send(send) => self.send(caller, send).await.map(Body::Send),
            Op::Sync(_) => self.sync(caller).await.map(Body::Sync),
            Op::History(req) => self.history(caller, req).await.map(Body::History),
            Op::Read(req) => empty(self.read(caller, req).await, Body::Read),
            Op::Typing(req) => empty(self.typing(caller, req).await, Body::Typing),
            Op::Recall(req) => empty(self.recall(caller, req).await, Body::Recall),
            Op::Signal(req) => self.signal(caller, req).await.map(Body::Signal),
            Op::GroupCreate(req) => self.group_create(caller, req).await.map(Body::GroupCreate),
            Op::GroupInfo(req) => self.group_info(caller, req).await.map(Body::GroupInfo),
            Op::GroupJoin(req) => empty(self.group_join(caller, req).await, Body::GroupJoin),
            Op::GroupAdd(req) => empty(self.group_add(caller, req).await, Body::GroupAdd),
            Op::GroupKick(req) => empty(self.group_kick(caller, req).await, Body::GroupKick),
            Op::GroupLeave(req) => empty(self.group_leave(caller, req).await, Body::GroupLeave),
            Op::ContactAdd(req) => empty(self.contact_add(caller, req).await, Body::ContactAdd),
            Op::ContactRemove(req) => {
                empty(self.contact_remove(caller, req).await, Body::ContactRemove)
            }
            Op::Contacts(_) => self.contacts(caller).await.map(Body::Contacts),
            Op::Block(req) => empty(self.set_blocked(caller, req, true).await, Body::Block),
            Op::Unblock(req) => empty(self.set_blocked(caller, req, false).await, Body::Unblock),
            Op::Presence(req) => self.presence(caller, req).await.map(Body::Presence),
            // Profiles, conversation settings, privacy, group settings (§13).
            Op::ProfileSet(req) => empty(self.profile_set(caller, req).await, Body::ProfileSet),
            Op::Profiles(req) => self.profiles(caller, req).await.map(Body::Profiles),
            Op::ConvSet(req) => empty(self.conv_set(caller, req).await, Body::ConvSet),
            Op::Settings(_) => self.settings(caller).await.map(Body::Settings),
            Op::SettingsSet(req) => self.settings_set(caller, req).await.map(Body::SettingsSet),
            Op::GroupUpdate(req) => empty(self.group_update(caller, req).await, Body::GroupUpdate),
            Op::GroupRole(req) => empty(self.group_role(caller, req).await, Body::GroupRole),
            // Message lifecycle (§11).
            Op::Edit(req) => self.edit(caller, req).await.map(Body::Edit),
            Op::Delete(req) => empty(self.delete_for_me(caller, req).await, Body::Delete),
            Op::React(req) => empty(self.react(caller, req, true).await, Body::React),
            Op::Unreact(req) => empty(self.react(caller, req, false).await, Body::Unreact),
            Op::ReadBy(req) => self.read_by(caller, req).await.map(Body::ReadBy),
            // Search (issue #22).
            Op::Search(req) => self.search(caller, req).await.map(Body::Search),
            Op::Auth(_) => Err(KoiError::bad_request("already authenticated")),
            other => Err(KoiError::bad_request(format!(
                "`{}` is not a request",
                koi_proto::op_name(&other)
            ))),
        }
    }
}
