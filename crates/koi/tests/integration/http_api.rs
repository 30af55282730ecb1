//! The HTTP API (§8) and the operator contract's configuration sources (§10).

use koi_client::{Api, Transport};
use serde_json::{Value, json};

use crate::harness::{ADMIN, Koi, PASSWORD, http, register_login, unique};

async fn post(koi: &Koi, path: &str, body: Value) -> (u16, Value) {
    let res = http()
        .post(format!("{}{path}", koi.base()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn get(koi: &Koi, path: &str, bearer: Option<&str>) -> (u16, Value) {
    let mut req = http().get(format!("{}{path}", koi.base()));
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Registration validates names and passwords and refuses taken names; login
/// returns a token with its expiry and throttles repeated failures.
#[tokio::test]
async fn register_and_login() {
    let koi = Koi::start().await;
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

/// `dispatch` needs a user token and names this node's WebSocket and TCP
/// addresses, which accept connections.
#[tokio::test]
async fn dispatch_names_reachable_nodes() {
    let koi = Koi::start().await;
    let token = register_login(&koi, &unique("disp")).await;
    assert_eq!(get(&koi, "/v1/dispatch", None).await.0, 401);
    assert_eq!(
        get(&koi, "/v1/dispatch", Some("forged.token.here")).await.0,
        401
    );
    let (status, body) = get(&koi, "/v1/dispatch", Some(&token)).await;
    assert_eq!(status, 200);
    let node = &body["nodes"][0];
    assert_eq!(node["ws"].as_str(), Some(koi.ws_url().as_str()));
    assert_eq!(
        node["tcp"].as_str(),
        Some(koi.tcp_addr.to_string().as_str())
    );
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

/// Health, metrics and the admin view reflect the node's activity; admin
/// endpoints need the admin token.
#[tokio::test]
async fn health_metrics_and_admin() {
    let koi = Koi::start().await;
    assert_eq!(get(&koi, "/healthz", None).await.0, 200);
    let (_alice, a) = koi.user("alice", Transport::WsJson).await;
    let (bob, _b) = koi.user("bob", Transport::TcpProtobuf).await;
    a.send_text(&bob, "m1", "counted").await.unwrap();

    let metrics = http()
        .get(format!("{}/metrics", koi.base()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    let stored = metrics
        .lines()
        .find(|l| l.starts_with("koi_messages_stored_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap();
    assert!(stored >= 1.0);

    assert_eq!(get(&koi, "/v1/admin/cluster", None).await.0, 401);
    assert_eq!(
        get(&koi, "/v1/admin/cluster", Some("not-the-admin"))
            .await
            .0,
        403
    );
    let (status, body) = get(&koi, "/v1/admin/cluster", Some(ADMIN)).await;
    assert_eq!(status, 200);
    let node = &body["nodes"][0];
    assert_eq!(node["connections"].as_u64(), Some(2));
    assert_eq!(node["users"].as_u64(), Some(2));
    assert_eq!(
        node["tcp"].as_str(),
        Some(koi.tcp_addr.to_string().as_str())
    );
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

    let unconfigured = Koi::start_with(&["--admin-token", ""]).await;
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
#[tokio::test]
async fn rest_history() {
    let koi = Koi::start().await;
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
