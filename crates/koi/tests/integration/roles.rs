//! `--roles`: the gateway role serves the HTTP API, the access role serves
//! connections; health and metrics are on every node.
//!
//! Embedded only: roles are a per-process setting; the cluster tests run every
//! node with all roles.

use koi_client::{RawConnection, Transport};
use serde_json::json;

use crate::harness::{Endpoint, Koi, Topology, http, unique};

async fn status(koi: &Koi, method: reqwest::Method, path: &str) -> u16 {
    let request = http().request(method, format!("{}{path}", koi.base()));
    let request = if path == "/v1/register" {
        request.json(&json!({"username": unique("r"), "password": "correct horse"}))
    } else {
        request
    };
    request.send().await.expect("request").status().as_u16()
}

/// Without the gateway role: no API, no pages; `/ws`, health and metrics stay.
#[tokio::test]
async fn access_only_nodes_serve_no_api() {
    let koi = Koi::start_with(Topology::Embedded, &["--roles", "access,logic"]).await;
    for (method, path) in [
        (reqwest::Method::POST, "/v1/register"),
        (reqwest::Method::GET, "/v1/dispatch"),
        (reqwest::Method::GET, "/"),
    ] {
        assert_eq!(status(&koi, method, path).await, 404, "{path}");
    }
    assert_eq!(status(&koi, reqwest::Method::GET, "/healthz").await, 200);
    assert_eq!(status(&koi, reqwest::Method::GET, "/metrics").await, 200);
    RawConnection::connect(&koi.addr(Transport::WsJson), Transport::WsJson)
        .await
        .expect("the WebSocket endpoint is served");
}

/// Without the access role: the API is served but `/ws` is not.
#[tokio::test]
async fn gateway_only_nodes_take_no_connections() {
    let koi = Koi::start_with(Topology::Embedded, &["--roles", "gateway,logic"]).await;
    assert_eq!(
        status(&koi, reqwest::Method::POST, "/v1/register").await,
        201
    );
    assert!(
        RawConnection::connect(&koi.addr(Transport::WsJson), Transport::WsJson)
            .await
            .is_err(),
        "no WebSocket upgrade without the access role"
    );
}
