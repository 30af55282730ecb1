//! Nodes and presence in JetStream key-value buckets.
//!
//! **Nodes** (`koi_nodes`): key = [`token`](super::token) of the node id, value =
//! the [`NodeInfo`] JSON plus this process' `incarnation` (a random number drawn
//! at start). The bucket's `max_age` is the node TTL (10 s by default): a node
//! announces every second, and one that stops disappears within the TTL plus the
//! server's expiry tick.
//!
//! **Presence** (`koi_presence`): key = token of the user, value = JSON
//! `{"<node id>": [devices, incarnation], ...}`: how many devices the user has on
//! each node. Every change is a compare-and-set on the key's revision (retried on
//! conflict), so "first device anywhere" and "last device anywhere" are decided
//! atomically across nodes: two nodes connecting the same user at once see each
//! other, and exactly one of them reports the first device. An entry counts only
//! while its node is live *with the same incarnation* (so a crashed node's users,
//! and a restarted node's previous life, read as offline); dead entries are
//! pruned whenever the key is written. A key whose map becomes empty is removed
//! (its message deleted, leaving no tombstone).
//!
//! What is left to chance: a node that crashes and is not yet past its TTL still
//! shows its users online for up to the TTL; a user connecting and disconnecting
//! on one node at the same instant may send the online and offline pushes in
//! either order.
//!
//! The live-node set used to judge entries is cached for up to a second, and
//! re-read at once (at most every 200 ms) when an entry names a node it does not
//! know. [`Registry::online`] answers a user with a device on this node without
//! asking NATS, and reads the others' keys concurrently.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::{DEFAULT_TIMEOUT, bounded, ensure_connected, token, unavailable};
use crate::{ClusterError, NodeInfo, Registry};

/// How long the cached live-node set is trusted.
const LIVE_FOR: Duration = Duration::from_secs(1);
/// The cache is re-read for an unknown node at most this often.
const MISS_REFRESH: Duration = Duration::from_millis(200);
/// Compare-and-set attempts on one presence key before giving up.
const CAS_ATTEMPTS: usize = 32;
/// Presence keys read at once by `online`.
const CONCURRENT_READS: usize = 64;

/// Where and how the registry keeps its state.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Bucket of the nodes.
    pub nodes_bucket: String,
    /// Bucket of presence.
    pub presence_bucket: String,
    /// A node that has not announced for this long is gone (the nodes bucket's
    /// `max_age`, fixed when the bucket is created).
    pub node_ttl: Duration,
    /// Replicas of each bucket in a JetStream cluster.
    pub replicas: usize,
    /// The longest one call may take before it fails as unavailable.
    pub timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            nodes_bucket: "koi_nodes".into(),
            presence_bucket: "koi_presence".into(),
            node_ttl: Duration::from_secs(10),
            replicas: 1,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// A node as stored in the nodes bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NodeRecord {
    #[serde(flatten)]
    info: NodeInfo,
    incarnation: u64,
}

/// A user's devices per node: node id → (devices, incarnation).
type PresenceMap = BTreeMap<String, (u32, u64)>;

/// The registry of a cluster node, on JetStream KV.
pub struct NatsRegistry {
    client: async_nats::Client,
    js: jetstream::Context,
    node: String,
    incarnation: u64,
    nodes: kv::Store,
    presence: kv::Store,
    /// Whether presence messages may be deleted (else: KV delete markers).
    presence_deletes: bool,
    options: RegistryOptions,
    /// This node's device count per user.
    local: Mutex<HashMap<String, u32>>,
    live: Mutex<LiveCache>,
}

#[derive(Default)]
struct LiveCache {
    read_at: Option<Instant>,
    /// Live node id → incarnation.
    nodes: Arc<HashMap<String, u64>>,
}

impl std::fmt::Debug for NatsRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsRegistry")
            .field("node", &self.node)
            .field("incarnation", &self.incarnation)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl NatsRegistry {
    /// The registry of node `node` (the id it announces), opening the buckets or
    /// creating them when they do not exist yet.
    pub async fn new(
        client: async_nats::Client,
        node: impl Into<String>,
        options: RegistryOptions,
    ) -> Result<Self, ClusterError> {
        let mut js = jetstream::new(client.clone());
        js.set_timeout(options.timeout);
        let nodes = open_bucket(
            &js,
            Bucket {
                name: &options.nodes_bucket,
                description: "Koi nodes: id -> NodeInfo, kept alive by announcements",
                max_age: options.node_ttl,
                replicas: options.replicas,
                allow_delete: false,
            },
            options.timeout,
        )
        .await?;
        let presence = open_bucket(
            &js,
            Bucket {
                name: &options.presence_bucket,
                description: "Koi presence: user -> devices per node",
                max_age: Duration::ZERO,
                replicas: options.replicas,
                allow_delete: true,
            },
            options.timeout,
        )
        .await?;
        let presence_deletes = !presence.stream.cached_info().config.deny_delete;
        Ok(Self {
            client,
            js,
            node: node.into(),
            incarnation: rand::random::<u64>() >> 1,
            nodes,
            presence,
            presence_deletes,
            options,
            local: Mutex::new(HashMap::new()),
            live: Mutex::new(LiveCache::default()),
        })
    }

    /// This node's id.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// How many devices `user` has on other live nodes.
    pub async fn remote_devices(&self, user: &str) -> Result<u32, ClusterError> {
        Ok(self.remote_counts(user).await?.iter().sum())
    }

    /// On how many other live nodes `user` has a device.
    pub async fn remote_nodes_with(&self, user: &str) -> Result<usize, ClusterError> {
        Ok(self
            .remote_counts(user)
            .await?
            .iter()
            .filter(|d| **d > 0)
            .count())
    }

    /// `user`'s device count on each other live node.
    async fn remote_counts(&self, user: &str) -> Result<Vec<u32>, ClusterError> {
        let limit = self.options.timeout;
        tokio::time::timeout(limit, async {
            let Some((map, _)) = self.read_presence(user).await? else {
                return Ok(Vec::new());
            };
            let live = self.live_for(&map).await?;
            Ok(map
                .iter()
                .filter(|(node, (_, inc))| *node != &self.node && self.alive(&live, node, *inc))
                .map(|(_, (devices, _))| *devices)
                .collect())
        })
        .await
        .unwrap_or_else(|_| Err(timed_out("reading presence", limit)))
    }

    /// Removes this node from the nodes bucket, e.g. at a clean shutdown, so that
    /// dispatch stops sending clients here and its users read as offline at once.
    pub async fn withdraw(&self) -> Result<(), ClusterError> {
        ensure_connected(&self.client)?;
        bounded(
            "withdrawing the node",
            self.options.timeout,
            self.nodes.delete(token(&self.node)),
        )
        .await?;
        self.live.lock().read_at = None;
        Ok(())
    }

    fn alive(&self, live: &HashMap<String, u64>, node: &str, incarnation: u64) -> bool {
        if node == self.node {
            incarnation == self.incarnation
        } else {
            live.get(node) == Some(&incarnation)
        }
    }

    /// The live nodes, fresh enough to judge the entries of `map`.
    async fn live_for(&self, map: &PresenceMap) -> Result<Arc<HashMap<String, u64>>, ClusterError> {
        let (cached, age) = {
            let live = self.live.lock();
            (live.nodes.clone(), live.read_at.map(|at| at.elapsed()))
        };
        if map.keys().all(|node| node == &self.node) {
            // Only this node is named: its liveness needs no look-up.
            return Ok(cached);
        }
        if let Some(age) = age {
            let known = map
                .iter()
                .all(|(node, (_, inc))| node == &self.node || cached.get(node) == Some(inc));
            if age < MISS_REFRESH || (age < LIVE_FOR && known) {
                return Ok(cached);
            }
        }
        let records = self.list_nodes().await?;
        Ok(self.remember_live(&records))
    }

    fn remember_live(&self, records: &[NodeRecord]) -> Arc<HashMap<String, u64>> {
        let nodes: Arc<HashMap<String, u64>> = Arc::new(
            records
                .iter()
                .map(|r| (r.info.id.clone(), r.incarnation))
                .collect(),
        );
        let mut live = self.live.lock();
        live.nodes = nodes.clone();
        live.read_at = Some(Instant::now());
        nodes
    }

    /// Every node in the nodes bucket (unbounded: callers bound it).
    async fn list_nodes(&self) -> Result<Vec<NodeRecord>, ClusterError> {
        ensure_connected(&self.client)?;
        let filter = format!("{}>", self.nodes.prefix);
        let subjects: Vec<String> = self
            .nodes
            .stream
            .info_with_subjects(&filter)
            .await
            .map_err(|e| unavailable(format!("listing nodes: {e}")))?
            .map_ok(|(subject, _)| subject)
            .try_collect()
            .await
            .map_err(|e| unavailable(format!("listing nodes: {e}")))?;
        let reads = subjects.iter().filter_map(|subject| {
            let key = subject.strip_prefix(&self.nodes.prefix)?;
            Some(self.nodes.get(key))
        });
        let mut records = Vec::new();
        for value in futures::future::join_all(reads).await {
            let value = value.map_err(|e| unavailable(format!("reading a node: {e}")))?;
            // Gone between listing and reading (expired, withdrawn), or not ours.
            if let Some(record) = value.and_then(|v| serde_json::from_slice(&v).ok()) {
                records.push(record);
            }
        }
        Ok(records)
    }

    /// `user`'s presence map and its revision, if the key exists.
    async fn read_presence(&self, user: &str) -> Result<Option<(PresenceMap, u64)>, ClusterError> {
        ensure_connected(&self.client)?;
        let entry = self
            .presence
            .entry(token(user))
            .await
            .map_err(|e| unavailable(format!("reading presence: {e}")))?;
        Ok(entry.map(|e| match e.operation {
            kv::Operation::Put => (parse_presence(&e.value), e.revision),
            // A delete marker (buckets that deny deletes): the revision is the marker's.
            _ => (PresenceMap::new(), e.revision),
        }))
    }

    /// `user`'s presence map, unless they have a device here (then no need).
    async fn map_unless_here(
        &self,
        user: &str,
        here: bool,
    ) -> Result<Option<PresenceMap>, ClusterError> {
        if here {
            return Ok(None);
        }
        Ok(self.read_presence(user).await?.map(|(map, _)| map))
    }

    /// Writes this node's current device count for `user` into their key, pruning
    /// dead nodes. Returns whether another live node has devices of the user.
    async fn write_presence(&self, user: &str) -> Result<bool, ClusterError> {
        let key = token(user);
        for _ in 0..CAS_ATTEMPTS {
            let current = self.read_presence(user).await?;
            // Read after the key: the write that lands last carries the latest count.
            let devices = self.local.lock().get(user).copied().unwrap_or(0);
            let (mut map, revision) = current.unwrap_or_default();
            let live = self.live_for(&map).await?;
            map.retain(|node, (_, inc)| node != &self.node && self.alive(&live, node, *inc));
            let elsewhere = map.values().any(|(d, _)| *d > 0);
            if devices > 0 {
                map.insert(self.node.clone(), (devices, self.incarnation));
            }
            let written = if map.is_empty() {
                if revision == 0 {
                    return Ok(elsewhere);
                }
                self.remove_presence(&key, revision).await?
            } else {
                let value = Bytes::from(serde_json::to_vec(&map).expect("maps serialize"));
                match self.presence.update(&key, value, revision).await {
                    Ok(_) => true,
                    Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => false,
                    Err(e) => return Err(unavailable(format!("writing presence: {e}"))),
                }
            };
            if written {
                return Ok(elsewhere);
            }
        }
        Err(unavailable(format!(
            "presence of {user}: too many concurrent writers"
        )))
    }

    /// Removes `key` at `revision`: its message is deleted (no tombstone), or,
    /// in a bucket that denies that, a delete marker is written. False when the
    /// key has been written since.
    async fn remove_presence(&self, key: &str, revision: u64) -> Result<bool, ClusterError> {
        if !self.presence_deletes {
            return match self
                .presence
                .delete_expect_revision(key, Some(revision))
                .await
            {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(false),
                Err(e) => Err(unavailable(format!("deleting presence: {e}"))),
            };
        }
        let subject = format!("STREAM.MSG.DELETE.{}", self.presence.stream_name);
        let reply: serde_json::Value = self
            .js
            .request(
                subject,
                &serde_json::json!({ "seq": revision, "no_erase": true }),
            )
            .await
            .map_err(|e| unavailable(format!("deleting presence: {e}")))?;
        Ok(reply.get("success").and_then(|s| s.as_bool()) == Some(true))
    }
}

#[async_trait]
impl Registry for NatsRegistry {
    async fn announce(&self, node: NodeInfo) -> Result<(), ClusterError> {
        if node.id != self.node {
            // Presence entries name the registry's id: they would read as dead.
            tracing::warn!(announced = %node.id, registry = %self.node, "announcing a node id that is not the registry's");
        }
        ensure_connected(&self.client)?;
        let record = NodeRecord {
            info: node,
            incarnation: self.incarnation,
        };
        let value = Bytes::from(serde_json::to_vec(&record).expect("node info serializes"));
        bounded(
            "announcing the node",
            self.options.timeout,
            self.nodes.put(token(&record.info.id), value),
        )
        .await?;
        Ok(())
    }

    async fn nodes(&self) -> Result<Vec<NodeInfo>, ClusterError> {
        let limit = self.options.timeout;
        let records = tokio::time::timeout(limit, self.list_nodes())
            .await
            .unwrap_or_else(|_| Err(timed_out("listing nodes", limit)))?;
        self.remember_live(&records);
        let mut nodes: Vec<NodeInfo> = records.into_iter().map(|r| r.info).collect();
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(nodes)
    }

    async fn device_connected(&self, user: &str) -> Result<bool, ClusterError> {
        let first_here = {
            let mut local = self.local.lock();
            let count = local.entry(user.to_owned()).or_default();
            *count += 1;
            *count == 1
        };
        let limit = self.options.timeout;
        let elsewhere = tokio::time::timeout(limit, self.write_presence(user))
            .await
            .unwrap_or_else(|_| Err(timed_out("writing presence", limit)));
        match elsewhere {
            Ok(elsewhere) => Ok(first_here && !elsewhere),
            Err(e) => {
                // Not recorded: undo, so that the caller's failure leaves no trace.
                decrement(&mut self.local.lock(), user);
                Err(e)
            }
        }
    }

    async fn device_disconnected(&self, user: &str) -> Result<bool, ClusterError> {
        let last_here = {
            let mut local = self.local.lock();
            if !local.contains_key(user) {
                return Ok(false);
            }
            decrement(&mut local, user)
        };
        let limit = self.options.timeout;
        // The local count is down whatever happens: the device is gone. A failed
        // write leaves the key stale until the user's next change or this node's
        // death, and says nothing about being the last.
        let elsewhere = tokio::time::timeout(limit, self.write_presence(user))
            .await
            .unwrap_or_else(|_| Err(timed_out("writing presence", limit)))?;
        Ok(last_here && !elsewhere)
    }

    async fn online(&self, users: &[String]) -> Result<Vec<bool>, ClusterError> {
        let here: Vec<bool> = {
            let local = self.local.lock();
            users.iter().map(|u| local.contains_key(u)).collect()
        };
        let elsewhere = self.devices_elsewhere(users, &here).await?;
        Ok(here
            .into_iter()
            .zip(elsewhere)
            .map(|(here, elsewhere)| here || elsewhere > 0)
            .collect())
    }

    async fn devices(&self, users: &[String]) -> Result<Vec<u32>, ClusterError> {
        let here: Vec<u32> = {
            let local = self.local.lock();
            users
                .iter()
                .map(|u| local.get(u).copied().unwrap_or(0))
                .collect()
        };
        let elsewhere = self
            .devices_elsewhere(users, &vec![false; users.len()])
            .await?;
        Ok(here
            .into_iter()
            .zip(elsewhere)
            .map(|(h, e)| h + e)
            .collect())
    }
}

impl NatsRegistry {
    /// For each of `users`, their devices on other live nodes; 0 without a read
    /// where `skip` says the answer is not needed.
    async fn devices_elsewhere(
        &self,
        users: &[String],
        skip: &[bool],
    ) -> Result<Vec<u32>, ClusterError> {
        let limit = self.options.timeout;
        tokio::time::timeout(limit, async {
            let reads: Vec<_> = users
                .iter()
                .zip(skip)
                .map(|(user, skip)| self.map_unless_here(user, *skip))
                .collect();
            let maps: Vec<Option<PresenceMap>> = futures::stream::iter(reads)
                .buffered(CONCURRENT_READS)
                .try_collect()
                .await?;
            let mut referenced = PresenceMap::new();
            for map in maps.iter().flatten() {
                referenced.extend(map.iter().map(|(n, v)| (n.clone(), *v)));
            }
            let live = self.live_for(&referenced).await?;
            Ok(maps
                .iter()
                .map(|map| {
                    map.iter()
                        .flatten()
                        .filter(|(node, (_, inc))| {
                            *node != &self.node && self.alive(&live, node, *inc)
                        })
                        .map(|(_, (devices, _))| *devices)
                        .sum()
                })
                .collect())
        })
        .await
        .unwrap_or_else(|_| Err(timed_out("reading presence", limit)))
    }
}

/// Lowers `user`'s count; true when it reached zero (the entry is removed then).
fn decrement(local: &mut HashMap<String, u32>, user: &str) -> bool {
    match local.get_mut(user) {
        Some(count) if *count > 1 => {
            *count -= 1;
            false
        }
        Some(_) => {
            local.remove(user);
            true
        }
        None => false,
    }
}

fn parse_presence(value: &[u8]) -> PresenceMap {
    serde_json::from_slice(value).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "unreadable presence entry, treated as empty");
        PresenceMap::new()
    })
}

fn timed_out(what: &str, limit: Duration) -> ClusterError {
    unavailable(format!("{what}: no answer within {limit:?}"))
}

/// A bucket as [`open_bucket`] makes it.
struct Bucket<'a> {
    name: &'a str,
    description: &'a str,
    /// Entries older than this go (zero: never).
    max_age: Duration,
    replicas: usize,
    /// Whether single messages may be deleted (so that a key can vanish without
    /// a tombstone); standard KV buckets deny it.
    allow_delete: bool,
}

/// Opens a KV bucket, creating it when it does not exist. The stream is created
/// here, as a KV bucket's stream (`KV_<name>`, subjects `$KV.<name>.>`, one
/// message per key, direct gets), rather than with `create_key_value`, whose
/// account query fails against nats-server 2.9.
async fn open_bucket(
    js: &jetstream::Context,
    bucket: Bucket<'_>,
    limit: Duration,
) -> Result<kv::Store, ClusterError> {
    let name = bucket.name;
    tokio::time::timeout(limit, async {
        if let Ok(store) = js.get_key_value(name).await {
            return Ok(store);
        }
        let config = jetstream::stream::Config {
            name: format!("KV_{name}"),
            description: Some(bucket.description.to_owned()),
            subjects: vec![format!("$KV.{name}.>")],
            max_messages_per_subject: 1,
            max_age: bucket.max_age,
            allow_rollup: true,
            deny_delete: !bucket.allow_delete,
            deny_purge: false,
            allow_direct: true,
            num_replicas: bucket.replicas.max(1),
            discard: jetstream::stream::DiscardPolicy::New,
            ..Default::default()
        };
        let created = js.create_stream(config).await;
        // Created now, or by another node in the meantime.
        js.get_key_value(name).await.map_err(|e| match created {
            Err(create) => unavailable(format!("creating bucket {name}: {create}")),
            Ok(_) => unavailable(format!("opening bucket {name}: {e}")),
        })
    })
    .await
    .unwrap_or_else(|_| Err(timed_out(&format!("opening bucket {name}"), limit)))
}
