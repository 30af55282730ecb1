//! The HTTP API (§8) and the operator contract's configuration sources (§10).
//!
//! The API tests run on each topology, requests spread over the cluster's
//! nodes. Embedded only: `flags_environment_and_config_file`, which is about how
//! one process reads its configuration, not about the protocol.

use std::time::{Duration, Instant};

use koi_client::{Api, Transport};
use serde_json::{Value, json};

use crate::harness::{
    ADMIN, Endpoint, Koi, PASSWORD, Topology, http, on_each_topology, register_login, unique,
};

on_each_topology!(
    register_and_login,
    dispatch_names_reachable_nodes,
    health_metrics_and_admin,
    rest_history,
);

async fn post(at: &impl Endpoint, path: &str, body: Value) -> (u16, Value) {
    let res = http()
        .post(format!("{}{path}", at.base()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn get(at: &impl Endpoint, path: &str, bearer: Option<&str>) -> (u16, Value) {
    let mut req = http().get(format!("{}{path}", at.base()));
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Registration validates names and passwords and refuses taken names; login
/// returns a token with its expiry and throttles repeated failures.
async fn register_and_login(topology: Topology) {
    let koi = Koi::start(topology).await;
    let name = unique("reg");
    let (status, body) = post(
        &koi,
        "/v1/register",
        json!({"username": name, "password": PASSWORD}),
    )
    .await;
    assert_eq!((status, body["user"].as_str()), (201, Some(name.as_str())));
    let (status, body) = post(
        &koi,
        "/v1/register",
        json!({"username": name, "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    for bad in ["Upper", "_x", "a b", "", &"x".repeat(33)] {
        let (status, body) = post(
            &koi,
            "/v1/register",
            json!({"username": bad, "password": PASSWORD}),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("bad_request")),
            "{bad:?}"
        );
    }
    let (status, _) = post(
        &koi,
        "/v1/register",
        json!({"username": unique("short"), "password": "1234567"}),
    )
    .await;
    assert_eq!(status, 400, "passwords shorter than 8 are refused");
    let (status, _) = post(&koi, "/v1/register", json!({"username": 5})).await;
    assert_eq!(status, 400);

    let (status, body) = post(
        &koi,
        "/v1/login",
        json!({"username": name, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["user"].as_str(), Some(name.as_str()));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(body["expires_at"].as_u64().unwrap() > now_ms);
    assert!(body["token"].as_str().is_some_and(|t| !t.is_empty()));

    let (status, body) = post(
        &koi,
        "/v1/login",
        json!({"username": "nobody", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(
            post(
                &koi,
                "/v1/login",
                json!({"username": name, "password": "wrong password"}),
            )
            .await
            .0,
        );
    }
    assert_eq!(&statuses[..5], &[401; 5]);
    assert_eq!(
        &statuses[5..],
        &[429, 429],
        "repeated failures are throttled"
    );
    let (status, _) = post(
        &koi,
        "/v1/login",
        json!({"username": name, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 429, "even the right password waits out the lock");
}

/// The `(ws, tcp)` addresses of every node of the deployment, sorted.
fn node_addrs(koi: &Koi) -> Vec<(String, String)> {
    let mut addrs: Vec<_> = koi
        .nodes()
        .iter()
        .map(|n| (n.ws_url(), n.tcp_addr.to_string()))
        .collect();
    addrs.sort();
    addrs
}

/// The `(ws, tcp)` addresses of the nodes a listing names, sorted.
fn listed_addrs(nodes: &[Value]) -> Vec<(String, String)> {
    let mut addrs: Vec<_> = nodes
        .iter()
        .map(|n| {
            let addr = |key: &str| n[key].as_str().unwrap_or_default().to_owned();
            (addr("ws"), addr("tcp"))
        })
        .collect();
    addrs.sort();
    addrs
}

/// `dispatch` needs a user token and names every node's WebSocket and TCP
/// addresses, which accept connections.
async fn dispatch_names_reachable_nodes(topology: Topology) {
    let koi = Koi::start(topology).await;
    let token = register_login(&koi, &unique("disp")).await;
    assert_eq!(get(&koi, "/v1/dispatch", None).await.0, 401);
    assert_eq!(
        get(&koi, "/v1/dispatch", Some("forged.token.here")).await.0,
        401
    );
    let (status, body) = get(&koi, "/v1/dispatch", Some(&token)).await;
    assert_eq!(status, 200);
    let nodes = body["nodes"].as_array().expect("nodes");
    assert_eq!(listed_addrs(nodes), node_addrs(&koi), "{body}");
    for node in nodes {
        assert!(node["id"].as_str().is_some_and(|id| !id.is_empty()));
        for (addr, transport) in [
            (node["ws"].as_str().unwrap(), Transport::WsJson),
            (node["tcp"].as_str().unwrap(), Transport::TcpProtobuf),
        ] {
            let conn = koi_client::Connection::open(addr, transport, &token)
                .await
                .unwrap();
            conn.ping().await.unwrap();
        }
    }
}

/// The admin view's nodes, once the figures of `field` add up to `total`
/// over the nodes: another node's figures arrive with its heartbeat (every
/// second), so the view is read again until they do, for at most 10 s.
async fn admin_view(koi: &Koi, field: &str, total: u64) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = get(koi, "/v1/admin/cluster", Some(ADMIN)).await;
        assert_eq!(status, 200, "{body}");
        let nodes = body["nodes"].as_array().expect("nodes").clone();
        let sum: u64 = nodes.iter().filter_map(|n| n[field].as_u64()).sum();
        if sum == total || Instant::now() > deadline {
            return nodes;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Health, metrics and the admin view reflect the deployment's activity: every
/// node is healthy, the nodes' metrics count the stored message, and the admin
/// view lists every node with its connections and users. Admin endpoints need
/// the admin token.
async fn health_metrics_and_admin(topology: Topology) {
    let koi = Koi::start(topology).await;
    for node in koi.nodes() {
        assert_eq!(get(node, "/healthz", None).await.0, 200);
    }
    let (_alice, a) = koi.user("alice", Transport::WsJson).await;
    let (bob, _b) = koi.user("bob", Transport::TcpProtobuf).await;
    a.send_text(&bob, "m1", "counted").await.unwrap();

    // Every node exports its own figures: the deployment's are all of them.
    let mut metrics = String::new();
    for node in koi.nodes() {
        let text = http()
            .get(format!("{}/metrics", node.base()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metrics.push_str(&text);
    }
    for name in [
        "koi_connections",
        "koi_frames_in_total",
        "koi_frames_out_total",
        "koi_messages_stored_total",
        "koi_send_ack_seconds_bucket",
    ] {
        assert!(
            metrics.contains(name),
            "metric {name} missing from:\n{metrics}"
        );
    }
    let rss: Vec<f64> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("process_resident_memory_bytes "))
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(rss.len(), koi.nodes().len(), "each node reports its RSS");
    assert!(rss.iter().all(|&b| b > 1e6), "an RSS of megabytes: {rss:?}");
    let stored: Vec<f64> = metrics
        .lines()
        .filter(|l| l.starts_with("koi_messages_stored_total"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .collect();
    assert!(!stored.is_empty());
    assert!(stored.iter().sum::<f64>() >= 1.0, "{stored:?}");
    let each = |name: &str| -> Vec<f64> {
        metrics
            .lines()
            .filter_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .map(|v| v.parse().unwrap())
            .collect()
    };
    let (jobs, commits) = (
        each("koi_store_write_jobs_total"),
        each("koi_store_commits_total"),
    );
    assert_eq!(
        jobs.len(),
        koi.nodes().len(),
        "each node reports its writer"
    );
    assert_eq!(commits.len(), koi.nodes().len(), "{metrics}");
    assert!(
        commits.iter().sum::<f64>() >= 1.0,
        "the sends were committed: {commits:?}"
    );
    for (jobs, commits) in jobs.iter().zip(&commits) {
        assert!(commits <= jobs, "{commits} commits for {jobs} jobs");
    }
    // Every acknowledged send was synced: a node that committed synced at
    // least once, and never more often than it committed.
    let syncs = each("koi_store_syncs_total");
    assert_eq!(syncs.len(), koi.nodes().len(), "{metrics}");
    for (syncs, commits) in syncs.iter().zip(&commits) {
        assert!(
            syncs <= commits && (*commits == 0.0 || *syncs >= 1.0),
            "{syncs} syncs for {commits} commits"
        );
    }
    // The embedded store keeps a lone new message in its journal (it moves
    // with more of its conversation, or after seconds); PostgreSQL has none.
    let journal = each("koi_store_journal_messages");
    assert_eq!(journal.len(), koi.nodes().len(), "{metrics}");
    let expected = if matches!(topology, Topology::Embedded) {
        1.0
    } else {
        0.0
    };
    assert_eq!(journal.iter().sum::<f64>(), expected, "{journal:?}");

    assert_eq!(get(&koi, "/v1/admin/cluster", None).await.0, 401);
    assert_eq!(
        get(&koi, "/v1/admin/cluster", Some("not-the-admin"))
            .await
            .0,
        403
    );
    let nodes = admin_view(&koi, "connections", 2).await;
    assert_eq!(listed_addrs(&nodes), node_addrs(&koi), "{nodes:?}");
    let total = |field: &str| nodes.iter().map(|n| n[field].as_u64()).sum::<Option<u64>>();
    assert_eq!(total("connections"), Some(2), "{nodes:?}");
    assert_eq!(total("users"), Some(2), "{nodes:?}");
    for node in &nodes {
        for field in [
            "id",
            "roles",
            "ws",
            "msgs_in_per_s",
            "msgs_out_per_s",
            "started_at",
        ] {
            assert!(!node[field].is_null(), "{field} missing: {node}");
        }
    }

    let unconfigured = Koi::start_with(topology, &["--admin-token", ""]).await;
    assert_eq!(
        get(&unconfigured, "/v1/admin/cluster", Some(ADMIN)).await.0,
        403
    );
    let push = http()
        .post(format!("{}/v1/push", unconfigured.base()))
        .bearer_auth(ADMIN)
        .json(&json!({"users": ["x"], "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 403);
    assert_eq!(get(&koi, "/no/such/path", None).await.0, 404);
}

/// The REST history endpoint answers like `history`, with 401/403/404.
async fn rest_history(topology: Topology) {
    let koi = Koi::start(topology).await;
    let (alice, a) = koi.user("alice", Transport::WsJson).await;
    let (bob, _b) = koi.user("bob", Transport::WsJson).await;
    let (_carol, c) = koi.user("carol", Transport::WsJson).await;
    let conv = a.send_text(&bob, "1", "one").await.unwrap().conv;
    a.send_text(&bob, "2", "two").await.unwrap();
    a.send_text(&bob, "3", "three").await.unwrap();
    let token = crate::harness::login(&koi, &alice).await;
    let (status, body) = get(
        &koi,
        &format!("/v1/conversations/{conv}/messages?after=1&limit=1"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["msgs"].as_array().unwrap().len(), 1);
    assert_eq!(body["msgs"][0]["seq"], 2);
    assert_eq!(body["msgs"][0]["text"], "two");
    let (_, latest) = get(
        &koi,
        &format!("/v1/conversations/{conv}/messages"),
        Some(&token),
    )
    .await;
    assert_eq!(latest["msgs"].as_array().unwrap().len(), 3);
    assert_eq!(
        get(&koi, &format!("/v1/conversations/{conv}/messages"), None)
            .await
            .0,
        401
    );
    let carol_token = crate::harness::login(&koi, c.user()).await;
    assert_eq!(
        get(
            &koi,
            &format!("/v1/conversations/{conv}/messages"),
            Some(&carol_token)
        )
        .await
        .0,
        403
    );
    assert_eq!(
        get(&koi, "/v1/conversations/g:nosuch/messages", Some(&token))
            .await
            .0,
        404
    );
    assert_eq!(
        get(&koi, "/v1/conversations/garbage/messages", Some(&token))
            .await
            .0,
        404
    );
}

/// Configuration comes from flags over `KOI_*` environment variables over the
/// TOML file; the node serves with what was chosen.
#[tokio::test]
async fn flags_environment_and_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("koi.toml");
    std::fs::write(
        &config,
        "heartbeat_s = 7\nmax_frame_bytes = 2048\nrecall_window_s = 5\n",
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    // heartbeat from the file, frame size from the environment (over the file),
    // and the flag wins over the environment for the recall window.
    let koi = Koi::start_env(
        Topology::Embedded,
        &["--config", &config, "--recall-window-s", "0"],
        &[
            ("KOI_MAX_FRAME_BYTES", "4096"),
            ("KOI_RECALL_WINDOW_S", "600"),
        ],
    )
    .await;
    let (_alice, a) = koi.user("alice", Transport::WsJson).await;
    assert_eq!(a.auth().heartbeat_s, 7);
    let (bob, _b) = koi.user("bob", Transport::WsJson).await;
    let ok = a
        .send_text(&bob, "x", &"y".repeat(3000))
        .await
        .expect("3000 bytes fit in 4096");
    assert_eq!(
        a.recall(&ok.conv, ok.seq).await.unwrap_err().code(),
        Some("forbidden")
    );
    let big = a.send_text(&bob, "z", &"y".repeat(5000)).await.unwrap_err();
    assert!(
        big.is_closed() || big.code() == Some("too_large"),
        "{big:?}"
    );
}
