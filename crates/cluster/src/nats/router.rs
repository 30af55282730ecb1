//! Pushes over core NATS subjects, with subscriptions that follow the hub.
//!
//! ## Sending
//!
//! A push is delivered to this node's own devices straight into the hub, then
//! published once: to `koi.u.<user>` per user, or to `koi.g.<group>`. Publishes
//! happen in the caller's task, in call order, over the one client connection,
//! so pushes that one task sends (e.g. one fan-out shard, which owns a
//! conversation) reach every connection in order. Other nodes drop envelopes
//! whose origin is themselves (and [`connect`](super::connect) asks the server
//! not to echo them at all).
//!
//! ## Counts
//!
//! The publisher cannot see other nodes' devices. `to_users` and `to_group`
//! return the devices reached **on this node**; `to_user` adds the user's
//! devices on other live nodes as the registry knows them (one presence read per
//! call) when the router was given the registry
//! ([`NatsRouter::count_remote_with`]), and counts only this node's otherwise.
//!
//! ## Receiving
//!
//! The router watches the hub's [`Interest`] changes, in order, from one task:
//! it subscribes to `koi.u.<user>` when a user gets their first connection here
//! and unsubscribes on the last, and the same for `koi.g.<group>` when a group
//! gets its first member online here and loses its last. One task per
//! subscription delivers what arrives into the hub, in arrival order. A
//! subscription that cannot be made (NATS down) is retried every second.
//!
//! Membership changes made on one node reach the others on the member's own
//! subject: `group_joined(g, u, s)` publishes a `joined g s` notice to
//! `koi.u.<u>`, and every node where `u` is online adds `g` to `u`'s groups in
//! its hub (which subscribes it to `koi.g.<g>` if needed), with `s` the last
//! seq whose push, still on its way from wherever it was sent, `u` must not get. The notice carries a reply subject:
//! each such node answers once its subscription change is in effect at the
//! server, and `group_joined` / `group_left` wait (bounded) for as many answers
//! as the registry counts nodes with the user online, so a group push published
//! after the change reaches, or no longer reaches, the member's devices there.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_nats::{Client, Subscriber};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use koi_proto::Encoding;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::envelope::Envelope;
use super::order::Sequencer;
use super::{
    DEFAULT_TIMEOUT, NatsRegistry, bounded, ensure_connected, group_subject, publish_acknowledged,
    unavailable, user_subject,
};
use crate::hub::Interest;
use crate::{ClusterError, ConnId, Hub, Push, Router};

/// How often subscriptions that failed are tried again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

type Barrier = oneshot::Sender<Result<(), ClusterError>>;

/// The cluster [`Router`], on core NATS.
pub struct NatsRouter {
    client: Client,
    hub: Arc<Hub>,
    node: Arc<str>,
    timeout: Duration,
    barriers: mpsc::UnboundedSender<Barrier>,
    subscriptions: Arc<AtomicUsize>,
    registry: Option<Arc<NatsRegistry>>,
    /// Every `msg` push into the hub goes through it (see `order`).
    order: Arc<Sequencer>,
    _interest: AbortOnDrop,
}

impl std::fmt::Debug for NatsRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsRouter")
            .field("node", &self.node)
            .field("subscriptions", &self.subscriptions())
            .finish_non_exhaustive()
    }
}

impl NatsRouter {
    /// The router of node `node` (the id it announces), publishing with `client`
    /// and delivering into `hub`. It takes over the hub's interest watch
    /// ([`Hub::watch_interest`]) and subscribes for the users and groups already
    /// online in it. Must be called within a tokio runtime; dropping the router
    /// ends its subscriptions.
    pub fn new(client: Client, hub: Arc<Hub>, node: impl Into<String>) -> Self {
        let node: Arc<str> = node.into().into();
        let (barriers, barrier_rx) = mpsc::unbounded_channel();
        let subscriptions = Arc::new(AtomicUsize::new(0));
        let order = Sequencer::new(hub.clone());
        let interest = Subscriptions {
            order: order.clone(),
            barriers: barriers.clone(),
            client: client.clone(),
            hub: hub.clone(),
            node: node.clone(),
            timeout: DEFAULT_TIMEOUT,
            active: HashMap::new(),
            pending: HashSet::new(),
            count: subscriptions.clone(),
        };
        let task = tokio::spawn(interest.run(hub.watch_interest(), barrier_rx));
        Self {
            client,
            hub,
            node,
            timeout: DEFAULT_TIMEOUT,
            barriers,
            subscriptions,
            registry: None,
            order,
            _interest: AbortOnDrop(task),
        }
    }

    /// Makes `to_user` count the user's devices on other nodes, from `registry`.
    pub fn count_remote_with(mut self, registry: Arc<NatsRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Subjects this node is subscribed to now.
    pub fn subscriptions(&self) -> usize {
        self.subscriptions.load(Ordering::Relaxed)
    }

    /// Resolves once every interest change the hub has reported so far is in
    /// effect at the NATS server this node is connected to (subscribed, and
    /// confirmed by a round trip). In a NATS cluster the interest reaches the
    /// other servers moments later.
    pub async fn sync_interest(&self) -> Result<(), ClusterError> {
        let (tx, rx) = oneshot::channel();
        self.barriers
            .send(tx)
            .map_err(|_| unavailable("the router's subscription task has stopped"))?;
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(unavailable("the router's subscription task has stopped")),
            Err(_) => Err(unavailable(format!(
                "subscribing: no answer within {:?}",
                self.timeout
            ))),
        }
    }

    fn push_envelope(&self, push: &Push, except: Option<ConnId>, skip_user: Option<&str>) -> Bytes {
        Envelope::Push {
            origin: self.node.to_string(),
            except,
            skip_user: skip_user.map(str::to_owned),
            frame: push.encoded(Encoding::Protobuf),
        }
        .encode()
    }

    /// Publishes a membership notice to `user`'s nodes and, when the registry
    /// says on how many other nodes the user is online, waits (bounded) until
    /// each has acknowledged it, which it does once its subscription to the
    /// group is in place at the server: a group push published after this
    /// returns reaches the member's devices everywhere. A node that does not
    /// answer in time only costs the wait; its devices catch up with `sync`.
    async fn notify_membership(&self, user: &str, notice: Bytes) -> Result<(), ClusterError> {
        let expected = match &self.registry {
            Some(registry) => registry.remote_nodes_with(user).await.unwrap_or(0),
            None => 0,
        };
        publish_acknowledged(
            &self.client,
            user_subject(user),
            notice,
            expected,
            self.timeout,
        )
        .await
    }

    async fn publish(&self, subject: String, payload: Bytes) -> Result<(), ClusterError> {
        ensure_connected(&self.client)?;
        bounded(
            "publishing",
            self.timeout,
            self.client.publish(subject, payload),
        )
        .await
    }
}

#[async_trait]
impl Router for NatsRouter {
    async fn to_user(
        &self,
        user: &str,
        push: Arc<Push>,
        except: Option<ConnId>,
    ) -> Result<u32, ClusterError> {
        let payload = self.push_envelope(&push, except, None);
        let here = self
            .order
            .deliver(&Target::User(user.to_owned()), push, except, None)
            .await;
        self.publish(user_subject(user), payload).await?;
        let elsewhere = match &self.registry {
            Some(registry) => registry.remote_devices(user).await.unwrap_or_else(|e| {
                tracing::debug!(error = %e, "counting remote devices failed");
                0
            }),
            None => 0,
        };
        Ok(here + elsewhere)
    }

    async fn to_users(
        &self,
        users: &[String],
        push: Arc<Push>,
        except: Option<ConnId>,
    ) -> Result<u32, ClusterError> {
        let payload = self.push_envelope(&push, except, None);
        let mut here = 0;
        for user in users {
            here += self
                .order
                .deliver(&Target::User(user.clone()), push.clone(), except, None)
                .await;
        }
        for user in users {
            self.publish(user_subject(user), payload.clone()).await?;
        }
        Ok(here)
    }

    async fn to_group(
        &self,
        group: &str,
        push: Arc<Push>,
        except: Option<ConnId>,
        skip_user: Option<&str>,
    ) -> Result<u32, ClusterError> {
        let payload = self.push_envelope(&push, except, skip_user);
        let here = self
            .order
            .deliver(&Target::Group(group.to_owned()), push, except, skip_user)
            .await;
        self.publish(group_subject(group), payload).await?;
        Ok(here)
    }

    async fn group_joined(
        &self,
        group: &str,
        user: &str,
        after_seq: u64,
    ) -> Result<(), ClusterError> {
        self.hub.group_joined(group, user, after_seq);
        let notice = Envelope::Joined {
            origin: self.node.to_string(),
            group: group.to_owned(),
            after_seq,
        };
        self.notify_membership(user, notice.encode()).await
    }

    async fn group_left(&self, group: &str, user: &str) -> Result<(), ClusterError> {
        self.hub.group_left(group, user);
        let notice = Envelope::Left {
            origin: self.node.to_string(),
            group: group.to_owned(),
        };
        self.notify_membership(user, notice.encode()).await
    }

    async fn user_online_here(&self, _user: &str) -> Result<(), ClusterError> {
        self.sync_interest().await
    }
}

/// What a subscription feeds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Target {
    User(String),
    Group(String),
}

impl Target {
    fn subject(&self) -> String {
        match self {
            Target::User(user) => user_subject(user),
            Target::Group(group) => group_subject(group),
        }
    }
}

/// The subscription task's state: what is subscribed, and what should be but
/// could not be yet.
struct Subscriptions {
    order: Arc<Sequencer>,
    /// For delivery tasks that must wait until an interest change is in effect.
    barriers: mpsc::UnboundedSender<Barrier>,
    client: Client,
    hub: Arc<Hub>,
    node: Arc<str>,
    timeout: Duration,
    active: HashMap<Target, AbortOnDrop>,
    pending: HashSet<Target>,
    count: Arc<AtomicUsize>,
}

impl Subscriptions {
    async fn run(
        mut self,
        mut changes: mpsc::UnboundedReceiver<Interest>,
        mut barriers: mpsc::UnboundedReceiver<Barrier>,
    ) {
        let mut retry = tokio::time::interval(RETRY_EVERY);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Some(change) => self.apply(change).await,
                    // The hub has a new watcher (or is gone): this router is done.
                    None => break,
                },
                barrier = barriers.recv() => {
                    let Some(first) = barrier else { break };
                    // Everything reported before the barrier was sent is queued.
                    while let Ok(change) = changes.try_recv() {
                        self.apply(change).await;
                    }
                    let mut waiting = vec![first];
                    while let Ok(more) = barriers.try_recv() {
                        waiting.push(more);
                    }
                    let result = self.settle().await;
                    for barrier in waiting {
                        let _ = barrier.send(result.clone());
                    }
                }
                _ = retry.tick(), if !self.pending.is_empty() => self.retry_pending().await,
            }
        }
    }

    async fn apply(&mut self, change: Interest) {
        match change {
            Interest::UserOn(user) => self.want(Target::User(user)).await,
            Interest::UserOff(user) => self.drop_target(&Target::User(user)),
            Interest::GroupOn(group) => self.want(Target::Group(group)).await,
            Interest::GroupOff(group) => self.drop_target(&Target::Group(group)),
        }
    }

    async fn want(&mut self, target: Target) {
        self.pending.remove(&target);
        if self.active.contains_key(&target) {
            return;
        }
        match bounded(
            "subscribing",
            self.timeout,
            self.client.subscribe(target.subject()),
        )
        .await
        {
            Ok(subscriber) => {
                let task = tokio::spawn(deliver(
                    subscriber,
                    target.clone(),
                    Delivery {
                        order: self.order.clone(),
                        hub: self.hub.clone(),
                        node: self.node.clone(),
                        client: self.client.clone(),
                        barriers: self.barriers.clone(),
                    },
                ));
                self.active.insert(target, AbortOnDrop(task));
                self.count.store(self.active.len(), Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(subject = %target.subject(), error = %e, "subscribing failed; will retry");
                self.pending.insert(target);
            }
        }
    }

    fn drop_target(&mut self, target: &Target) {
        self.pending.remove(target);
        // Aborting the task drops its subscriber, which unsubscribes.
        if self.active.remove(target).is_some() {
            self.count.store(self.active.len(), Ordering::Relaxed);
        }
    }

    async fn retry_pending(&mut self) {
        let pending: Vec<Target> = self.pending.drain().collect();
        for target in pending {
            self.want(target).await;
        }
    }

    /// Subscribes what is pending and flushes: Ok once the server has them all.
    async fn settle(&mut self) -> Result<(), ClusterError> {
        if !self.pending.is_empty() {
            self.retry_pending().await;
        }
        if !self.pending.is_empty() {
            return Err(unavailable(format!(
                "{} subscriptions could not be made",
                self.pending.len()
            )));
        }
        ensure_connected(&self.client)?;
        bounded(
            "confirming subscriptions",
            self.timeout,
            round_trip(&self.client),
        )
        .await
    }
}

/// Resolves once the server has processed everything this client sent before.
///
/// `Client::flush` only writes the buffer out; a server's answer is needed. The
/// server handles a connection's operations in order, so the answer to a
/// request means the subscriptions sent before it are in place. The JetStream
/// API answers `$JS.API.INFO` (and without JetStream the server answers "no
/// responders"), whatever else listens on NATS.
async fn round_trip(client: &Client) -> Result<(), async_nats::RequestError> {
    match client.request("$JS.API.INFO", Bytes::new()).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => Ok(()),
        Err(e) => Err(e),
    }
}

/// Delivers what arrives on one subscription into the hub, in order.
/// What a delivery task needs besides its subscription.
struct Delivery {
    order: Arc<Sequencer>,
    hub: Arc<Hub>,
    node: Arc<str>,
    client: Client,
    barriers: mpsc::UnboundedSender<Barrier>,
}

impl Delivery {
    /// Answers a membership notice once the hub's resulting interest change
    /// (a group subscription made or dropped) is in effect at the server.
    async fn acknowledge(&self, reply: async_nats::Subject) {
        let (tx, rx) = oneshot::channel();
        if self.barriers.send(tx).is_err() {
            return;
        }
        match rx.await {
            Ok(Ok(())) => {
                if let Err(e) = self.client.publish(reply, Bytes::new()).await {
                    tracing::debug!(error = %e, "acknowledging a membership notice failed");
                }
            }
            // No answer: the publisher's wait runs out; the client will `sync`.
            Ok(Err(e)) => tracing::debug!(error = %e, "group subscription not confirmed"),
            Err(_) => {}
        }
    }
}

async fn deliver(mut subscriber: Subscriber, target: Target, delivery: Delivery) {
    let (hub, node) = (delivery.hub.clone(), delivery.node.clone());
    while let Some(message) = subscriber.next().await {
        let Some(envelope) = Envelope::decode(&message.payload) else {
            tracing::warn!(subject = %message.subject, "dropping a malformed envelope");
            continue;
        };
        if envelope.origin() == &*node {
            // The origin delivered it itself, `except` included.
            continue;
        }
        match (envelope, &target) {
            (
                Envelope::Push {
                    frame, skip_user, ..
                },
                target,
            ) => {
                let push = match Push::from_protobuf(frame) {
                    Ok(push) => Arc::new(push),
                    Err(e) => {
                        tracing::warn!(subject = %message.subject, error = %e, "dropping an undecodable push");
                        continue;
                    }
                };
                delivery
                    .order
                    .deliver(target, push, None, skip_user.as_deref())
                    .await;
            }
            (
                Envelope::Joined {
                    group, after_seq, ..
                },
                Target::User(user),
            ) => {
                hub.group_joined(&group, user, after_seq);
                if let Some(reply) = message.reply {
                    delivery.acknowledge(reply).await;
                }
            }
            (Envelope::Left { group, .. }, Target::User(user)) => {
                hub.group_left(&group, user);
                if let Some(reply) = message.reply {
                    delivery.acknowledge(reply).await;
                }
            }
            (_, Target::Group(_)) => {}
        }
    }
}

/// A task that ends when its handle is dropped.
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
