//! The contract every [`Router`] + [`Registry`] pair must pass.
//!
//! The suite sees a cluster of two nodes, `a` and `b`, each with its hub, router
//! and registry, and plays the server's part: it attaches connections to the
//! hubs, loads groups, and calls the router and registry as the server does.
//!
//! - In a cluster (NATS), `a` and `b` are two real nodes: two hubs, two routers,
//!   two registries, two client connections to the same server.
//! - In-process, `a` and `b` are the same node ([`Cluster::single`]): "a device
//!   on each node" becomes two devices on one node, and every property still has
//!   to hold.
//!
//! Delivery between nodes is asynchronous, so the suite waits for pushes (at
//! most [`WAIT`]) and proves the *absence* of a push with a fence: a later push
//! on the same path that the same connection must get. A node handles one
//! subject's messages in order, so once the fence is in, the absent push would
//! have been too. A membership change made on one node is awaited (bounded) in
//! the other node's hub before the next push.
//!
//! Names carry a per-run tag, so runs can share a NATS server. Each check is
//! public so a failing one can be run alone; [`run_all`] runs them all.
//!
//! ```no_run
//! # async fn demo() {
//! // In a #[tokio::test(flavor = "multi_thread")]:
//! let cluster = koi_cluster::contract::Cluster::single(
//!     std::sync::Arc::new(koi_cluster::Hub::new()),
//!     |hub| std::sync::Arc::new(koi_cluster::local::LocalRouter::new(hub)),
//!     std::sync::Arc::new(koi_cluster::local::LocalRegistry::new()),
//! );
//! koi_cluster::contract::run_all(&cluster).await;
//! # }
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use koi_proto::frame::Op;
use koi_proto::{Encoding, Kicked, Message};

use crate::{ConnHandle, ConnId, Hub, NodeInfo, Push, Registry, Router};

/// The longest the suite waits for something that must happen.
pub const WAIT: Duration = Duration::from_secs(5);

/// One node as the suite drives it.
#[derive(Clone)]
pub struct Node {
    /// The id the node announces.
    pub id: String,
    pub hub: Arc<Hub>,
    pub router: Arc<dyn Router>,
    pub registry: Arc<dyn Registry>,
}

/// The two nodes under test.
#[derive(Clone)]
pub struct Cluster {
    pub a: Node,
    pub b: Node,
}

impl Cluster {
    /// A one-node "cluster": `a` and `b` are the same node.
    pub fn single(
        hub: Arc<Hub>,
        router: impl FnOnce(Arc<Hub>) -> Arc<dyn Router>,
        registry: Arc<dyn Registry>,
    ) -> Self {
        let node = Node {
            id: format!("solo-{}", tag()),
            router: router(hub.clone()),
            hub,
            registry,
        };
        Self {
            a: node.clone(),
            b: node,
        }
    }

    /// Whether `a` and `b` are one node.
    pub fn is_single(&self) -> bool {
        Arc::ptr_eq(&self.a.hub, &self.b.hub)
    }
}

/// Announces both nodes, as a server does before it takes connections (a
/// registry may count only announced nodes as live). Every check starts so; a
/// cluster under test that runs longer than the node TTL needs a heartbeat.
pub async fn announce(cluster: &Cluster) {
    for node in [&cluster.a, &cluster.b] {
        node.registry
            .announce(NodeInfo {
                id: node.id.clone(),
                roles: vec!["access".into()],
                ws: String::new(),
                tcp: String::new(),
                tls: false,
                connections: node.hub.connections() as u64,
                users: node.hub.users() as u64,
                msgs_in_per_s: 0.0,
                msgs_out_per_s: 0.0,
                started_at: 0,
            })
            .await
            .expect("announce");
    }
}

/// Runs every check, one after the other.
pub async fn run_all(cluster: &Cluster) {
    user_push_reaches_every_device_once(cluster).await;
    except_skips_only_the_origin_connection(cluster).await;
    group_push_reaches_online_members(cluster).await;
    group_membership_changes_follow_the_member(cluster).await;
    presence_across_nodes(cluster).await;
    nodes_lists_announced_nodes(cluster).await;
}

/// A push to a user reaches each of their devices, on both nodes, exactly once;
/// `to_users` reaches every listed user.
pub async fn user_push_reaches_every_device_once(cluster: &Cluster) {
    announce(cluster).await;
    let (u, v) = (name("u1"), name("v1"));
    let mut ua = Device::connect(&cluster.a, &u, &[]).await;
    let mut ub = Device::connect(&cluster.b, &u, &[]).await;
    let mut vb = Device::connect(&cluster.b, &v, &[]).await;

    let reached = cluster
        .a
        .router
        .to_user(&u, push("p1"), None)
        .await
        .expect("to_user");
    assert_eq!(
        reached, 2,
        "to_user counts the user's devices on every node (here and, through the registry, elsewhere)"
    );
    ua.expect("p1").await;
    ub.expect("p1").await;

    // The other way round, and to several users at once.
    let reached = cluster
        .b
        .router
        .to_users(&[u.clone(), v.clone()], push("p2"), None)
        .await
        .expect("to_users");
    let here = if cluster.is_single() { 3 } else { 2 };
    assert!(
        (here..=3).contains(&reached),
        "to_users counts at least the devices on the calling node: got {reached}"
    );
    ua.expect("p2").await;
    ub.expect("p2").await;
    vb.expect("p2").await;

    // Exactly once: the next thing each device gets is the fence.
    fence_user(cluster, &u, [&mut ua, &mut ub]).await;
    fence_user(cluster, &v, [&mut vb]).await;

    for device in [ua, ub, vb] {
        device.disconnect().await;
    }
}

/// `except` skips the origin's connection and nothing else, not even a
/// connection with the same id on another node (ids are node-local).
pub async fn except_skips_only_the_origin_connection(cluster: &Cluster) {
    announce(cluster).await;
    let u = name("u2");
    let mut a1 = Device::connect(&cluster.a, &u, &[]).await;
    let mut a2 = Device::connect(&cluster.a, &u, &[]).await;
    let mut b1 = if cluster.is_single() {
        Device::connect(&cluster.b, &u, &[]).await
    } else {
        // A different node may well have a connection with the same number.
        Device::connect_with_id(&cluster.b, &u, &[], a1.id()).await
    };

    let reached = cluster
        .a
        .router
        .to_user(&u, push("p1"), Some(a1.id()))
        .await
        .expect("to_user");
    assert_eq!(reached, 2, "every device but the excepted one");
    a2.expect("p1").await;
    b1.expect("p1").await;
    fence_user(cluster, &u, [&mut a1, &mut a2, &mut b1]).await;

    for device in [a1, a2, b1] {
        device.disconnect().await;
    }
}

/// A group push reaches each online member's devices on both nodes once, not
/// non-members; `skip_user` and `except` leave out what they name.
pub async fn group_push_reaches_online_members(cluster: &Cluster) {
    announce(cluster).await;
    let g = group("g1");
    let other = group("g1-other");
    let (m1, m2, m3, n) = (name("m1"), name("m2"), name("m3"), name("n1"));
    let mut d1 = Device::connect(&cluster.a, &m1, &[&g]).await;
    let mut d2 = Device::connect(&cluster.b, &m2, &[&g, &other]).await;
    let mut d3a = Device::connect(&cluster.a, &m3, &[&g]).await;
    let mut d3b = Device::connect(&cluster.b, &m3, &[&g]).await;
    let mut dn = Device::connect(&cluster.b, &n, &[&other]).await;

    let reached = cluster
        .a
        .router
        .to_group(&g, push("p1"), None, None)
        .await
        .expect("to_group");
    let here = if cluster.is_single() { 4 } else { 2 };
    assert!(
        (here..=4).contains(&reached),
        "to_group counts at least the devices on the calling node: got {reached}"
    );
    for d in [&mut d1, &mut d2, &mut d3a, &mut d3b] {
        d.expect("p1").await;
    }

    // skip_user: none of m3's devices; except: only that connection.
    cluster
        .b
        .router
        .to_group(&g, push("p2"), None, Some(&m3))
        .await
        .expect("to_group with skip_user");
    d1.expect("p2").await;
    d2.expect("p2").await;
    cluster
        .b
        .router
        .to_group(&g, push("p3"), Some(d2.id()), None)
        .await
        .expect("to_group with except");
    for d in [&mut d1, &mut d3a, &mut d3b] {
        d.expect("p3").await;
    }

    // Nothing more for anyone, and nothing at all for the non-member.
    fence_group(cluster, &g, [&mut d1, &mut d2, &mut d3a, &mut d3b]).await;
    dn.expect_nothing().await;

    for device in [d1, d2, d3a, d3b, dn] {
        device.disconnect().await;
    }
}

/// `group_joined` and `group_left`, called on either node, take effect on every
/// node where the member is online: pushes start, and stop.
pub async fn group_membership_changes_follow_the_member(cluster: &Cluster) {
    announce(cluster).await;
    let g = group("g2");
    let (m1, m2) = (name("m4"), name("m5"));
    let mut d1 = Device::connect(&cluster.a, &m1, &[&g]).await;
    let mut d2 = Device::connect(&cluster.b, &m2, &[]).await;

    // m2 (online on b) joins through a.
    cluster
        .a
        .router
        .group_joined(&g, &m2, 0)
        .await
        .expect("group_joined");
    member_settles(&cluster.b, &g, &m2, true).await;
    cluster
        .a
        .router
        .to_group(&g, push("p1"), None, None)
        .await
        .expect("to_group");
    d1.expect("p1").await;
    d2.expect("p1").await;

    // m2 leaves through a: b stops delivering to them.
    cluster
        .a
        .router
        .group_left(&g, &m2)
        .await
        .expect("group_left");
    member_settles(&cluster.b, &g, &m2, false).await;
    cluster
        .a
        .router
        .to_group(&g, push("p2"), None, None)
        .await
        .expect("to_group");
    d1.expect("p2").await;
    fence_group(cluster, &g, [&mut d1]).await;
    // Absence for m2: the fence on m2's own subject went after, from the same node.
    fence_user(cluster, &m2, [&mut d2]).await;

    // m1 (online on a) leaves through b, and joins again through b when the
    // group's last message was seq 7: a push of seq 7 still on its way is not
    // for them, and seq 8 is.
    cluster
        .b
        .router
        .group_left(&g, &m1)
        .await
        .expect("group_left");
    member_settles(&cluster.a, &g, &m1, false).await;
    cluster
        .b
        .router
        .group_joined(&g, &m1, 7)
        .await
        .expect("group_joined");
    member_settles(&cluster.a, &g, &m1, true).await;
    for (seq, label) in [(7, "p3, sent before the join"), (8, "p3")] {
        cluster
            .b
            .router
            .to_group(&g, msg_push(&g, seq, label), None, None)
            .await
            .expect("to_group");
    }
    d1.expect("p3").await;
    fence_user(cluster, &m2, [&mut d2]).await;

    // Once its last member here is gone, a node no longer hears the group.
    d1.disconnect().await;
    assert_eq!(cluster.a.hub.local_members(&g), 0);

    d2.disconnect().await;
}

/// First device anywhere, last device anywhere, `online` and `devices`, across nodes.
pub async fn presence_across_nodes(cluster: &Cluster) {
    announce(cluster).await;
    let (p, q, nobody) = (name("p1"), name("q1"), name("nobody"));
    let online = |node: &Node, users: Vec<String>| {
        let registry = node.registry.clone();
        async move { registry.online(&users).await.expect("online") }
    };
    let devices = |node: &Node, users: Vec<String>| {
        let registry = node.registry.clone();
        async move { registry.devices(&users).await.expect("devices") }
    };

    let pa = Device::connect(&cluster.a, &p, &[]).await;
    assert!(pa.first, "the first device anywhere");
    let pb = Device::connect(&cluster.b, &p, &[]).await;
    assert!(
        !pb.first,
        "a second device, on the other node, is not the first"
    );
    let qb = Device::connect(&cluster.b, &q, &[]).await;
    assert!(qb.first);
    for node in [&cluster.a, &cluster.b] {
        assert_eq!(
            online(node, vec![p.clone(), nobody.clone(), q.clone()]).await,
            [true, false, true],
            "online, in the order asked, seen from {}",
            node.id
        );
        assert_eq!(
            devices(node, vec![p.clone(), nobody.clone(), q.clone()]).await,
            [2, 0, 1],
            "devices on every node, in the order asked, seen from {}",
            node.id
        );
    }

    assert!(!pa.disconnect().await, "p still has a device on b");
    assert_eq!(online(&cluster.a, vec![p.clone()]).await, [true]);
    for node in [&cluster.a, &cluster.b] {
        assert_eq!(
            devices(node, vec![p.clone()]).await,
            [1],
            "from {}",
            node.id
        );
    }
    assert!(pb.disconnect().await, "p's last device anywhere");
    assert!(qb.disconnect().await);
    for node in [&cluster.a, &cluster.b] {
        assert_eq!(
            online(node, vec![p.clone(), q.clone()]).await,
            [false, false]
        );
        assert_eq!(devices(node, vec![p.clone(), q.clone()]).await, [0, 0]);
    }

    // Back again, on the other node first.
    let pb = Device::connect(&cluster.b, &p, &[]).await;
    assert!(pb.first);
    assert_eq!(online(&cluster.a, vec![p.clone()]).await, [true]);
    assert!(pb.disconnect().await);
    assert_eq!(online(&cluster.a, vec![]).await, Vec::<bool>::new());
}

/// `nodes` lists every node that announced, with its latest state.
pub async fn nodes_lists_announced_nodes(cluster: &Cluster) {
    let info = |node: &Node, connections: u64| NodeInfo {
        id: node.id.clone(),
        roles: vec!["access".into(), "logic".into()],
        ws: format!("ws://127.0.0.1:7780/ws?{}", node.id),
        tcp: "127.0.0.1:7781".into(),
        tls: false,
        connections,
        users: connections,
        msgs_in_per_s: 1.5,
        msgs_out_per_s: 2.5,
        started_at: 1_700_000_000_000,
    };
    cluster
        .a
        .registry
        .announce(info(&cluster.a, 1))
        .await
        .expect("announce");
    cluster
        .b
        .registry
        .announce(info(&cluster.b, 2))
        .await
        .expect("announce");
    cluster
        .a
        .registry
        .announce(info(&cluster.a, 3))
        .await
        .expect("announce again");
    for node in [&cluster.a, &cluster.b] {
        let nodes = node.registry.nodes().await.expect("nodes");
        let a = nodes.iter().find(|n| n.id == cluster.a.id);
        assert_eq!(a, Some(&info(&cluster.a, 3)), "a's latest announcement");
        if !cluster.is_single() {
            let b = nodes.iter().find(|n| n.id == cluster.b.id);
            assert_eq!(b, Some(&info(&cluster.b, 2)), "b's announcement");
        }
    }
}

/// A connected device as the suite sees it.
pub struct Device {
    node: Node,
    conn: Arc<ConnHandle>,
    /// What `device_connected` said: the user's first device anywhere.
    pub first: bool,
}

impl Device {
    /// Connects a device of `user` to `node` the way the server does.
    pub async fn connect(node: &Node, user: &str, groups: &[&str]) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed) + 1_000_000;
        Self::connect_with_id(node, user, groups, id).await
    }

    /// [`Device::connect`] with a given connection id.
    pub async fn connect_with_id(node: &Node, user: &str, groups: &[&str], id: ConnId) -> Self {
        let encoding = if id.is_multiple_of(2) {
            Encoding::Json
        } else {
            Encoding::Protobuf
        };
        let conn = Arc::new(ConnHandle::new(id, user.to_owned(), 64, encoding));
        if node.hub.attach(conn.clone()) {
            node.hub
                .set_user_groups(user, groups.iter().map(|g| (*g).to_owned()));
            node.router
                .user_online_here(user)
                .await
                .expect("user_online_here");
        }
        let first = node
            .registry
            .device_connected(user)
            .await
            .expect("device_connected");
        Self {
            node: node.clone(),
            conn,
            first,
        }
    }

    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.conn.id()
    }

    /// Disconnects the way the server does; returns whether it was the user's
    /// last device anywhere.
    pub async fn disconnect(self) -> bool {
        self.node.hub.detach(self.conn.user(), self.conn.id());
        self.node
            .registry
            .device_disconnected(self.conn.user())
            .await
            .expect("device_disconnected")
    }

    /// Waits for the next push and checks it is `label`.
    pub async fn expect(&mut self, label: &str) {
        let next = async {
            self.conn.queued().await;
            self.conn.next_queued()
        };
        let push = tokio::time::timeout(WAIT, next)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} (conn {}) got nothing within {WAIT:?}, expected {label}",
                    self.conn.user(),
                    self.id()
                )
            })
            .expect("something is queued");
        assert_eq!(
            label_of(&push),
            label,
            "{} (conn {}) got the wrong push",
            self.conn.user(),
            self.id()
        );
        // However the push arrived, it encodes to the frame it carries.
        for encoding in [Encoding::Json, Encoding::Protobuf] {
            let decoded = encoding
                .decode(&push.encoded(encoding))
                .expect("a delivered push decodes");
            assert_eq!(&decoded, push.frame());
        }
    }

    /// What is queued for the device now, if anything.
    pub fn try_next(&mut self) -> Option<Arc<Push>> {
        self.conn.next_queued()
    }

    /// Checks that nothing is queued now.
    pub async fn expect_nothing(&mut self) {
        if let Some(got) = self.conn.next_queued() {
            panic!(
                "{} (conn {}) got {got:?}, expected nothing",
                self.conn.user(),
                self.id()
            );
        }
    }
}

/// Pushes a fence to `user` from each node and checks it is the next thing each
/// of `devices` gets.
async fn fence_user<const N: usize>(cluster: &Cluster, user: &str, mut devices: [&mut Device; N]) {
    for node in [&cluster.a, &cluster.b] {
        let label = format!("fence-{}", node.id);
        node.router
            .to_user(user, push(&label), None)
            .await
            .expect("fence");
        for d in devices.iter_mut() {
            d.expect(&label).await;
        }
    }
}

/// Pushes a fence to `group` from each node and checks it is the next thing each
/// of `devices` gets.
async fn fence_group<const N: usize>(
    cluster: &Cluster,
    group: &str,
    mut devices: [&mut Device; N],
) {
    for node in [&cluster.a, &cluster.b] {
        let label = format!("fence-{}", node.id);
        node.router
            .to_group(group, push(&label), None, None)
            .await
            .expect("fence");
        for d in devices.iter_mut() {
            d.expect(&label).await;
        }
    }
}

/// Waits until `node`'s hub has (or no longer has) `user` in `group`, and the
/// router hears what that implies.
async fn member_settles(node: &Node, group: &str, user: &str, member: bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while node.hub.groups_of(user).iter().any(|g| g == group) != member {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{user} {} {group} on {} within {WAIT:?}",
            if member {
                "did not join"
            } else {
                "did not leave"
            },
            node.id
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    node.router
        .user_online_here(user)
        .await
        .expect("the router follows the hub");
}

fn push(label: &str) -> Arc<Push> {
    Arc::new(Push::new(Op::Kicked(Kicked {
        reason: label.to_owned(),
    })))
}

/// A `msg` push of message `seq` in `group`, labelled by its text.
fn msg_push(group: &str, seq: u64, label: &str) -> Arc<Push> {
    Arc::new(Push::new(Op::Msg(Message {
        conv: format!("g:{group}"),
        seq,
        kind: "text".into(),
        text: Some(label.to_owned()),
        ..Message::default()
    })))
}

fn label_of(push: &Push) -> &str {
    match &push.frame().op {
        Some(Op::Kicked(k)) => &k.reason,
        Some(Op::Msg(m)) => m.text.as_deref().unwrap_or_default(),
        other => panic!("not a test push: {other:?}"),
    }
}

/// This run's suffix for names, so that runs never collide.
fn tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| format!("{:08x}", rand::random::<u32>()))
}

/// A user name unique to this run; the dot checks subject encoding too.
fn name(base: &str) -> String {
    format!("{base}.{}", tag())
}

/// A group id unique to this run.
fn group(base: &str) -> String {
    format!("{base}-{}", tag())
}
