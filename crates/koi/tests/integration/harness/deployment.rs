//! A deployment under test — one embedded node, or nodes sharing one NATS and
//! one PostgreSQL — and which node the next client reaches.

use std::sync::atomic::{AtomicUsize, Ordering};

use koi_client::Transport;
use koi_cluster::testing::NatsServer;
use koi_store::testing::{MotoServer, PgServer};

use super::Endpoint;
use super::node::Node;

/// How Koi is deployed for a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// One node with its SQLite store.
    Embedded,
    /// [`CLUSTER_NODES`] nodes on one NATS and one PostgreSQL.
    Cluster,
    /// A [`Topology::Cluster`] that keeps files in S3: a moto server started
    /// for the test, with a bucket of its own.
    ClusterS3,
}

/// The nodes of a [`Topology::Cluster`]: enough that a sender, a recipient and
/// the recipient's other device can each be on a node of their own.
pub const CLUSTER_NODES: usize = 3;

/// The token secret every cluster node shares, so that a token issued by one
/// node is accepted by all of them.
const CLUSTER_SECRET: &str = "cluster-secret-of-at-least-32-bytes";

/// The engines a cluster runs on.
pub struct Engines {
    pub nats: NatsServer,
    pub pg: PgServer,
    /// The S3 server of a [`Topology::ClusterS3`].
    pub s3: Option<MotoServer>,
}

/// A running deployment; dropping it stops the nodes, then the engines.
///
/// As an [`Endpoint`] it spreads clients over its nodes: HTTP requests take
/// the nodes in turn, and so do connections (each on a turn of its own, so
/// that a user's registration and login do not decide where they connect).
/// With two users connected one after the other, sender and recipient are on
/// different nodes. [`Koi::node`] picks one when a test needs a given node.
pub struct Koi {
    /// Field order: the nodes stop before the engines they use.
    nodes: Vec<Node>,
    engines: Option<Engines>,
    next_http: AtomicUsize,
    next_socket: AtomicUsize,
}

impl Koi {
    /// A fresh deployment with default settings.
    pub async fn start(topology: Topology) -> Koi {
        Self::start_env(topology, &[], &[]).await
    }

    /// A fresh deployment whose every node gets extra `serve` arguments.
    pub async fn start_with(topology: Topology, extra: &[&str]) -> Koi {
        Self::start_env(topology, extra, &[]).await
    }

    /// A fresh deployment whose every node gets extra `serve` arguments and
    /// `KOI_*` environment variables. Passing `--admin-token` (or, for a
    /// cluster, `--token-secret`) replaces the harness's.
    pub async fn start_env(topology: Topology, extra: &[&str], env: &[(&str, &str)]) -> Koi {
        let args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match topology {
            Topology::Embedded => {
                Self::from_nodes(vec![Node::spawn(&args, &env).listening()], None)
            }
            Topology::Cluster => Self::cluster_env(CLUSTER_NODES, args, env).await,
            Topology::ClusterS3 => {
                let s3 = MotoServer::start()
                    .await
                    .expect("moto_server for S3 (install it with scripts/install-moto)");
                Self::cluster_with(CLUSTER_NODES, args, env, Some(CLUSTER_SECRET), Some(s3)).await
            }
        }
    }

    /// A cluster of `nodes` nodes (`node0`, `node1`, ...) on fresh engines.
    pub async fn cluster(nodes: usize) -> Koi {
        Self::cluster_env(nodes, Vec::new(), Vec::new()).await
    }

    /// A cluster of `nodes` nodes started with only `--nats` and `--postgres`
    /// (no `--token-secret`): the nodes must agree on a secret by themselves.
    pub async fn cluster_unconfigured(nodes: usize) -> Koi {
        Self::cluster_with(nodes, Vec::new(), Vec::new(), None, None).await
    }

    async fn cluster_env(nodes: usize, args: Vec<String>, env: Vec<(String, String)>) -> Koi {
        Self::cluster_with(nodes, args, env, Some(CLUSTER_SECRET), None).await
    }

    /// `secret`, unless `args` names one, becomes every node's `--token-secret`;
    /// with `s3`, the nodes keep files in its bucket.
    async fn cluster_with(
        nodes: usize,
        args: Vec<String>,
        mut env: Vec<(String, String)>,
        secret: Option<&str>,
        s3: Option<MotoServer>,
    ) -> Koi {
        let (nats, pg) = tokio::join!(NatsServer::start(), PgServer::start());
        let (nats, pg) = (nats.expect("nats-server"), pg.expect("postgres"));
        let db = pg.create_database("koi").await.expect("database");
        let mut shared = vec!["--nats".to_owned(), nats.url(), "--postgres".to_owned(), db];
        if let Some(secret) = secret
            && !args.iter().any(|a| a == "--token-secret")
        {
            shared.extend(["--token-secret".to_owned(), secret.to_owned()]);
        }
        if let Some(s3) = &s3 {
            shared.extend([
                "--s3-endpoint".to_owned(),
                s3.endpoint(),
                "--s3-bucket".to_owned(),
                s3.bucket().to_owned(),
                "--s3-region".to_owned(),
                s3.region().to_owned(),
            ]);
            env.extend(
                s3.credentials_env()
                    .map(|(k, v)| (k.to_owned(), v.to_owned())),
            );
        }
        shared.extend(args);
        // All spawned first, so that they start side by side.
        let starting: Vec<_> = (0..nodes)
            .map(|i| {
                let mut args = shared.clone();
                args.extend(["--node-id".to_owned(), format!("node{i}")]);
                Node::spawn(&args, &env)
            })
            .collect();
        let nodes = starting.into_iter().map(|s| s.listening()).collect();
        Self::from_nodes(nodes, Some(Engines { nats, pg, s3 }))
    }

    fn from_nodes(nodes: Vec<Node>, engines: Option<Engines>) -> Koi {
        Koi {
            nodes,
            engines,
            next_http: AtomicUsize::new(0),
            next_socket: AtomicUsize::new(0),
        }
    }

    /// Every node, in start order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Node `i` (in start order), for a test that needs a given node.
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// Node `i`, to kill or restart it.
    pub fn node_mut(&mut self, i: usize) -> &mut Node {
        &mut self.nodes[i]
    }

    /// The S3 server of a [`Topology::ClusterS3`]; panics for any other.
    pub fn s3(&self) -> &MotoServer {
        self.engines
            .as_ref()
            .and_then(|e| e.s3.as_ref())
            .expect("a ClusterS3 deployment")
    }

    /// The cluster's engines, to stop and restart them; panics when embedded.
    pub fn engines_mut(&mut self) -> &mut Engines {
        self.engines.as_mut().expect("a cluster has engines")
    }

    /// The node whose turn it is on `turn`.
    fn next(&self, turn: &AtomicUsize) -> &Node {
        &self.nodes[turn.fetch_add(1, Ordering::Relaxed) % self.nodes.len()]
    }
}

impl Endpoint for Koi {
    fn base(&self) -> String {
        self.next(&self.next_http).base()
    }

    fn addr(&self, transport: Transport) -> String {
        self.next(&self.next_socket).addr(transport)
    }
}

/// For each listed `async fn name(topology: Topology)` of the module, a test
/// per topology: `embedded::name` and `cluster::name`.
macro_rules! on_each_topology {
    ($($test:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::harness::Topology::Embedded).await;
                }
            )+
        }
        mod cluster {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::harness::Topology::Cluster).await;
                }
            )+
        }
    };
}
pub(crate) use on_each_topology;

/// For each listed `async fn name(topology: Topology)` of the module, a test
/// on a cluster that keeps files in S3: `cluster_s3::name`.
macro_rules! on_s3_cluster {
    ($($test:ident),+ $(,)?) => {
        mod cluster_s3 {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::harness::Topology::ClusterS3).await;
                }
            )+
        }
    };
}
pub(crate) use on_s3_cluster;
