//! The NATS router and registry, against an ephemeral `nats-server`: the
//! contract with two nodes, ordering, node expiry, and a NATS restart.

// Test code (its helpers included) panics on purpose; clippy's
// `allow-unwrap-in-tests` only covers `#[test]` fns and `#[cfg(test)]`
// modules, not helpers in tests/ or benches/ (rust-clippy#13981).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use koi_cluster::contract::{self, Cluster, Device, Node};
use koi_cluster::nats::{self, NatsRegistry, NatsRouter, RegistryOptions};
use koi_cluster::testing::NatsServer;
use koi_cluster::{ClusterError, ConnHandle, Hub, NodeInfo, Push, Registry, Router};
use koi_proto::frame::Op;
use koi_proto::{Encoding, Kicked};
use tokio::time::{Instant, timeout};

/// A node of the test cluster, with its concrete router and registry.
struct TestNode {
    node: Node,
    router: Arc<NatsRouter>,
    registry: Arc<NatsRegistry>,
}

async fn start_node(url: &str, id: &str, options: RegistryOptions) -> TestNode {
    let client = nats::connect(url, id).await.expect("connecting to nats");
    let hub = Arc::new(Hub::new());
    let registry = Arc::new(
        NatsRegistry::new(client.clone(), id, options)
            .await
            .expect("opening the registry"),
    );
    let router =
        Arc::new(NatsRouter::new(client, hub.clone(), id).count_remote_with(registry.clone()));
    TestNode {
        node: Node {
            id: id.to_owned(),
            hub,
            router: router.clone(),
            registry: registry.clone(),
        },
        router,
        registry,
    }
}

async fn two_nodes(nats: &NatsServer, options: RegistryOptions) -> (TestNode, TestNode) {
    let a = start_node(&nats.url(), "node-a", options.clone()).await;
    let b = start_node(&nats.url(), "node.b", options).await;
    contract::announce(&cluster(&a, &b)).await;
    (a, b)
}

/// Announces the node every second, as a server does, until dropped.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    fn start(node: &TestNode) -> Self {
        let registry = node.registry.clone();
        let id = node.node.id.clone();
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let _ = registry.announce(info(&id)).await;
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn cluster(a: &TestNode, b: &TestNode) -> Cluster {
    Cluster {
        a: a.node.clone(),
        b: b.node.clone(),
    }
}

fn push(label: &str) -> Arc<Push> {
    Arc::new(Push::new(Op::Kicked(Kicked {
        reason: label.to_owned(),
    })))
}

fn label(push: Arc<Push>) -> String {
    match &push.frame().op {
        Some(Op::Kicked(k)) => k.reason.clone(),
        other => panic!("unexpected push {other:?}"),
    }
}

/// Waits (bounded) until `cond` holds.
async fn eventually(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn info(id: &str) -> NodeInfo {
    NodeInfo {
        id: id.to_owned(),
        roles: vec!["access".into()],
        ws: format!("ws://{id}/ws"),
        tcp: format!("{id}:7781"),
        tls: false,
        connections: 0,
        users: 0,
        msgs_in_per_s: 0.0,
        msgs_out_per_s: 0.0,
        started_at: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_router_and_registry_pass_the_contract() {
    let nats = NatsServer::start().await.expect("starting nats-server");
    let (a, b) = two_nodes(&nats, RegistryOptions::default()).await;
    let _beats = (Heartbeat::start(&a), Heartbeat::start(&b));
    contract::run_all(&cluster(&a, &b)).await;

    // Every device is gone: so is every subscription, on both nodes.
    eventually(
        "subscriptions follow the hubs",
        Duration::from_secs(5),
        || a.router.subscriptions() == 0 && b.router.subscriptions() == 0,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_from_one_node_arrive_in_order() {
    let nats = NatsServer::start().await.expect("starting nats-server");
    let (a, b) = two_nodes(&nats, RegistryOptions::default()).await;
    const N: usize = 2000;
    let conn = Arc::new(ConnHandle::new(
        1,
        "o.rder".into(),
        4 * N,
        Encoding::Protobuf,
    ));
    assert!(b.node.hub.attach(conn.clone()));
    b.node
        .hub
        .set_user_groups("o.rder", ["big.group".to_owned()]);
    b.router.user_online_here("o.rder").await.expect("interest");

    for i in 0..N {
        a.router
            .to_user("o.rder", push(&format!("u{i}")), None)
            .await
            .expect("to_user");
    }
    for i in 0..N {
        a.router
            .to_group("big.group", push(&format!("g{i}")), None, None)
            .await
            .expect("to_group");
    }
    let (mut next_u, mut next_g) = (0, 0);
    while next_u < N || next_g < N {
        let next = async {
            conn.queued().await;
            conn.next_queued()
        };
        let got = timeout(Duration::from_secs(10), next)
            .await
            .expect("pushes keep coming")
            .expect("something is queued");
        let got = label(got);
        if let Some(i) = got.strip_prefix('u') {
            assert_eq!(i.parse::<usize>().unwrap(), next_u, "user pushes in order");
            next_u += 1;
        } else if let Some(i) = got.strip_prefix('g') {
            assert_eq!(i.parse::<usize>().unwrap(), next_g, "group pushes in order");
            next_g += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stops_announcing_disappears_with_its_users() {
    let nats = NatsServer::start().await.expect("starting nats-server");
    let ttl = Duration::from_secs(2);
    let options = RegistryOptions {
        node_ttl: ttl,
        ..RegistryOptions::default()
    };
    let (a, b) = two_nodes(&nats, options).await;
    let beat_a = Heartbeat::start(&a);
    let beat_b = Heartbeat::start(&b);
    let ids = |nodes: Vec<NodeInfo>| nodes.into_iter().map(|n| n.id).collect::<Vec<_>>();
    assert_eq!(ids(b.registry.nodes().await.unwrap()), ["node-a", "node.b"]);

    // A user online only on a.
    let d = Device::connect(&a.node, "stranded", &[]).await;
    assert!(d.first);
    assert_eq!(
        b.registry.online(&["stranded".into()]).await.unwrap(),
        [true]
    );

    // a goes silent (as if killed) after one last announcement; b goes on.
    drop(beat_a);
    a.registry.announce(info("node-a")).await.expect("announce");
    let silent_since = Instant::now();
    loop {
        let nodes = ids(b.registry.nodes().await.unwrap());
        if nodes == ["node.b"] {
            break;
        }
        assert!(
            silent_since.elapsed() < ttl + Duration::from_secs(8),
            "a still listed after {:?}: {nodes:?}",
            silent_since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        silent_since.elapsed() >= ttl - Duration::from_millis(500),
        "a disappeared before its TTL: {:?}",
        silent_since.elapsed()
    );

    // a's users read as offline, and their next device (on b) is the first.
    assert_eq!(
        b.registry.online(&["stranded".into()]).await.unwrap(),
        [false]
    );
    let again = Device::connect(&b.node, "stranded", &[]).await;
    assert!(again.first, "a dead node's devices do not count");
    assert!(again.disconnect().await);
    drop(d);

    // A node that withdraws is gone at once.
    drop(beat_b);
    b.registry.withdraw().await.expect("withdraw");
    assert!(b.registry.nodes().await.unwrap().is_empty());
}

/// Runs `call` and checks it finishes within a bound, whatever its result.
async fn bounded<T>(what: &str, call: impl Future<Output = Result<T, ClusterError>>) -> Option<T> {
    match timeout(Duration::from_secs(5), call).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(ClusterError::Unavailable(_))) => None,
        Err(_) => panic!("{what} hung while NATS was down"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_fails_calls_promptly_and_then_service_resumes() {
    let mut nats = NatsServer::start().await.expect("starting nats-server");
    let (a, b) = two_nodes(&nats, RegistryOptions::default()).await;
    let _beats = (Heartbeat::start(&a), Heartbeat::start(&b));
    let mut before = Device::connect(&b.node, "r.user", &[]).await;
    a.router
        .to_user("r.user", push("before"), None)
        .await
        .expect("to_user");
    before.expect("before").await;

    nats.stop();
    // Calls fail (or, if queued before the client noticed, succeed) but never hang.
    let mut failures = 0;
    for i in 0..5 {
        failures += usize::from(
            bounded(
                "to_user",
                a.router.to_user("r.user", push(&format!("down{i}")), None),
            )
            .await
            .is_none(),
        );
        failures += usize::from(
            bounded("to_group", a.router.to_group("g", push("x"), None, None))
                .await
                .is_none(),
        );
        failures += usize::from(
            bounded("online", a.registry.online(&["r.user".into()]))
                .await
                .is_none(),
        );
        failures += usize::from(
            bounded("device_connected", a.registry.device_connected("w"))
                .await
                .is_none(),
        );
        failures += usize::from(bounded("nodes", a.registry.nodes()).await.is_none());
        failures += usize::from(
            bounded("announce", a.registry.announce(info("node-a")))
                .await
                .is_none(),
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(failures > 0, "calls fail while NATS is down");
    // A user arriving while NATS is down: their subscription cannot be confirmed.
    let late = Arc::new(ConnHandle::new(7, "late".into(), 64, Encoding::Json));
    assert!(b.node.hub.attach(late.clone()));
    assert!(
        bounded("user_online_here", b.router.user_online_here("late"))
            .await
            .is_none()
    );

    nats.spawn().await.expect("starting nats-server again");

    // Old subscriptions (restored by the client) and the one made while down
    // both carry pushes again.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut i = 0;
    let (mut old_ok, mut new_ok) = (false, false);
    while !(old_ok && new_ok) {
        assert!(Instant::now() < deadline, "pushes did not resume");
        i += 1;
        let _ = a
            .router
            .to_user("r.user", push(&format!("after{i}")), None)
            .await;
        let _ = a
            .router
            .to_user("late", push(&format!("after{i}")), None)
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        while let Some(out) = before.try_next() {
            old_ok |= label(out).starts_with("after");
        }
        while let Some(out) = late.next_queued() {
            new_ok |= label(out).starts_with("after");
        }
    }
    b.router
        .user_online_here("late")
        .await
        .expect("interest settles once NATS is back");

    // The registry works again too.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match a.registry.online(&["r.user".into()]).await {
            Ok(online) => {
                assert_eq!(online, [true]);
                break;
            }
            Err(_) => {
                assert!(Instant::now() < deadline, "the registry did not resume");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    a.registry.announce(info("node-a")).await.expect("announce");
    assert!(
        a.registry
            .nodes()
            .await
            .unwrap()
            .iter()
            .any(|n| n.id == "node-a")
    );
}
