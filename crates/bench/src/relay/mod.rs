//! The null relay: a server inside the bench that speaks Koi's HTTP and frames
//! and does nothing else. What a node costs beyond it is Koi's own work; what
//! it costs itself is the protocol and the load generator on this machine.
//!
//! - `POST /v1/register` and `POST /v1/login` accept anyone; the token is the
//!   username. `GET /v1/dispatch` lists the relay itself. The admin endpoints
//!   that `koi bench group` provisions with, `POST /v1/admin/users` and
//!   `POST /v1/admin/tokens`, accept any admin token and do the same.
//! - `GET /ws` (JSON or protobuf frames) and a TCP listener (length-prefixed
//!   protobuf), the node's codecs from `koi-proto` on both: `auth` is accepted
//!   without a check; `send` is answered `ok {conv, seq, id, ts}` from a
//!   per-conversation counter in memory and pushed as `msg` to the other
//!   connections of both members ([`session`]); `ping` is answered `ok`.
//!
//! Nothing is stored. The bench's own setup ([`super::node`]) runs against it
//! unchanged. `relay-baseline` runs it inside the bench; `koi bench
//! null-relay` runs it as a process of its own (so that its CPU time is its
//! own, and its sockets do not count against the bench's descriptor limit).

mod hub;
mod process;
mod session;
mod socket;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Json, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use hub::Hub;
pub use process::{NullRelayArgs, RelayProcess, serve};
use socket::{Reader, Writer};

/// Bytes tungstenite reads at a time, as the node sets it (its default is 128 KiB).
const WS_READ_BUFFER: usize = 4 * 1024;

/// A running null relay on two loopback ports; stops listening when dropped.
#[derive(Debug)]
pub struct NullRelay {
    http: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Clone)]
struct Shared {
    hub: Arc<Hub>,
    /// `GET /v1/dispatch`'s answer.
    dispatch: Value,
}

#[derive(Deserialize)]
struct Account {
    username: String,
}

#[derive(Deserialize)]
struct Accounts {
    users: Vec<Account>,
}

#[derive(Deserialize)]
struct TokenRequest {
    usernames: Vec<String>,
}

impl NullRelay {
    /// Listens on two free loopback ports (HTTP with `/ws`, and TCP).
    pub async fn start() -> io::Result<NullRelay> {
        Self::start_on("127.0.0.1:0".parse().expect("an address"), 0).await
    }

    /// Listens for HTTP on `http` and for TCP on `http`'s address at port
    /// `tcp_port` (0: any free port).
    pub async fn start_on(http: SocketAddr, tcp_port: u16) -> io::Result<NullRelay> {
        let tcp = TcpListener::bind(SocketAddr::new(http.ip(), tcp_port)).await?;
        let http = TcpListener::bind(http).await?;
        let (http_addr, tcp_addr) = (http.local_addr()?, tcp.local_addr()?);
        let shared = Shared {
            hub: Arc::new(Hub::default()),
            dispatch: json!({"nodes": [{
                "id": "null-relay",
                "ws": format!("ws://{http_addr}/ws"),
                "tcp": tcp_addr.to_string(),
            }]}),
        };
        let routes = Router::new()
            .route("/ws", get(upgrade))
            .route("/v1/register", post(register))
            .route("/v1/login", post(login))
            .route("/v1/dispatch", get(dispatch))
            .route("/v1/admin/users", post(admin_users))
            .route("/v1/admin/tokens", post(admin_tokens))
            .with_state(shared.clone());
        let http = http.tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        let serving = tokio::spawn(async move {
            if let Err(e) = axum::serve(http, routes).await {
                eprintln!("null relay: http: {e}");
            }
        });
        let accepting = tokio::spawn(accept_tcp(tcp, shared.hub));
        Ok(NullRelay {
            http: http_addr,
            tasks: vec![serving, accepting],
        })
    }

    /// The HTTP base URL, for the bench's setup.
    pub fn url(&self) -> String {
        format!("http://{}", self.http)
    }
}

impl Drop for NullRelay {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn register(Json(account): Json<Account>) -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(json!({"user": account.username})))
}

async fn login(Json(account): Json<Account>) -> Json<Value> {
    Json(json!({"token": account.username, "user": account.username, "expires_at": 0}))
}

async fn admin_users(Json(accounts): Json<Accounts>) -> Json<Value> {
    Json(json!({"created": accounts.users.len(), "existing": 0}))
}

async fn admin_tokens(Json(request): Json<TokenRequest>) -> Json<Value> {
    let tokens: serde_json::Map<String, Value> = request
        .usernames
        .into_iter()
        .map(|name| (name.clone(), Value::String(name)))
        .collect();
    Json(json!({ "tokens": tokens }))
}

async fn dispatch(State(shared): State<Shared>) -> Json<Value> {
    Json(shared.dispatch.clone())
}

async fn upgrade(State(shared): State<Shared>, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(socket::MAX_FRAME * 64)
        .max_message_size(socket::MAX_FRAME)
        .on_upgrade(move |ws| {
            let (sink, stream) = ws.split();
            session::serve(shared.hub, Reader::Ws(stream), Writer::Ws(sink))
        })
}

async fn accept_tcp(listener: TcpListener, hub: Arc<Hub>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let (read, write) = stream.into_split();
                let writer = Writer::Tcp(tokio::io::BufWriter::new(write));
                tokio::spawn(session::serve(hub.clone(), Reader::tcp(read), writer));
            }
            Err(e) => {
                // Out of file descriptors, typically: back off, keep listening.
                eprintln!("null relay: tcp accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
