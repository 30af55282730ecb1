//! Starting real `koi` deployments and talking to them like any client.
//!
//! - [`node`]: one `koi serve` process on free ports.
//! - [`deployment`]: a [`Topology`] — one embedded node, or a cluster on one
//!   NATS and one PostgreSQL — that spreads clients over its nodes; and
//!   [`on_each_topology!`], which runs a test under both.
//!
//! A client reaches Koi through an [`Endpoint`]: a given node, or a deployment
//! that hands out its nodes in turn.

mod deployment;
mod node;

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use koi_client::{ClientError, Connection, RawConnection, Transport};
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

pub use deployment::{Koi, Topology};
pub(crate) use deployment::{on_each_topology, on_s3_cluster};
pub use node::{FILES_TMPFS, Node};

/// The admin token every test node is started with.
pub const ADMIN: &str = "test-admin-token";
/// The password every test user gets.
pub const PASSWORD: &str = "correct horse";

/// The transports every protocol test runs over: WebSocket JSON and TCP protobuf.
pub const TRANSPORTS: [Transport; 2] = [Transport::WsJson, Transport::TcpProtobuf];

/// Where a client reaches Koi: one node, or whichever node of a deployment
/// is next.
pub trait Endpoint {
    /// `http://host:port` of the node the next HTTP request goes to.
    fn base(&self) -> String;

    /// The address the next connection over `transport` goes to.
    fn addr(&self, transport: Transport) -> String;

    /// An authenticated connection for `token`.
    async fn connect(&self, token: &str, transport: Transport) -> Connection {
        Connection::open(&self.addr(transport), transport, token)
            .await
            .expect("connect and auth")
    }

    /// A new user, logged in and connected.
    async fn user(&self, prefix: &str, transport: Transport) -> (String, Connection)
    where
        Self: Sized,
    {
        let name = unique(prefix);
        let token = register_login(self, &name).await;
        (name, self.connect(&token, transport).await)
    }

    /// A raw socket for `transport`, not yet authenticated.
    async fn raw(&self, transport: Transport) -> RawConnection {
        RawConnection::connect(&self.addr(transport), transport)
            .await
            .expect("raw connect")
    }
}

/// Sends a signal by name with the `kill` command (the tests forbid unsafe code).
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid}");
}

static NEXT_USER: AtomicU32 = AtomicU32::new(0);

/// A user name unique within this test process.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}-{}",
        std::process::id() % 100_000,
        NEXT_USER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A plain HTTP client for the node's API.
pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Registers `name` and logs in; returns the token.
pub async fn register_login(at: &impl Endpoint, name: &str) -> String {
    let client = http();
    let res = client
        .post(format!("{}/v1/register", at.base()))
        .json(&json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .expect("register");
    assert_eq!(
        res.status(),
        201,
        "register {name}: {}",
        res.text().await.unwrap_or_default()
    );
    login(at, name).await
}

/// Logs `name` in; returns the token.
pub async fn login(at: &impl Endpoint, name: &str) -> String {
    let res = http()
        .post(format!("{}/v1/login", at.base()))
        .json(&json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200, "login {name}");
    let body: Value = res.json().await.expect("login json");
    body["token"].as_str().expect("token").to_owned()
}

/// The next push on `conn` that `pick` accepts, skipping others; panics after 10 s.
pub async fn next_push<T>(
    conn: &Connection,
    mut pick: impl FnMut(koi_proto::frame::Op) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            let op = conn
                .next_push()
                .await
                .expect("connection closed while waiting for a push");
            if let Some(found) = pick(op) {
                return found;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("the expected push within 10 s")
}

/// The next `msg` push on `conn` that is not an event (§11: events, such
/// as a group's `member_added`, are pushed as `msg` too).
pub async fn next_msg(conn: &Connection) -> koi_proto::Message {
    next_push(conn, |op| match op {
        koi_proto::frame::Op::Msg(m) if m.event.is_none() => Some(m),
        _ => None,
    })
    .await
}

/// The error code of a refused request; panics when the request succeeded.
pub fn code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> String {
    result
        .expect_err("the request should have been refused")
        .code()
        .expect("an error reply with a code")
        .to_owned()
}

/// `POST /v1/files?name=` with `body` as `mime`, as `token` (none: no header).
pub async fn upload(
    koi: &impl Endpoint,
    token: Option<&str>,
    name: &str,
    mime: &str,
    body: reqwest::Body,
) -> (u16, Value) {
    let mut req = http()
        .post(format!("{}/v1/files", koi.base()))
        .query(&[("name", name)])
        .header(CONTENT_TYPE, mime)
        .body(body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("upload");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// `GET url` with `token` as the bearer: the HTTP status.
pub async fn get_status(url: String, token: &str) -> u16 {
    http()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
