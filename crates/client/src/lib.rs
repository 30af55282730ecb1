//! # Koi client
//!
//! A Rust client of the Koi protocol (`shared/spec/protocol.md`, schema in
//! `proto/koi.proto`).
//!
//! - [`Http`]: the HTTP gateway: register, login ([`Session`]), dispatch
//!   ([`Node`]), files ([`FileInfo`]), REST history.
//! - [`Transport`]: WebSocket + JSON, WebSocket + protobuf, TCP + protobuf.
//! - [`Connection`]: one authenticated connection: requests matched to replies
//!   by id, a push stream, a heartbeat ([`ConnectOptions`], [`Disconnect`]).
//! - [`Api`]: the protocol's requests as typed methods, on [`Connection`] and
//!   [`Client`].
//! - [`Client`]: the resilient session: reconnects, catches up with `sync` and
//!   `history`, and yields each message once ([`Event`], [`ClientOptions`],
//!   [`Credentials`]); its bookkeeping is [`SeqTracker`].
//! - [`RawConnection`]: a bare socket for tests: any bytes out, each frame or
//!   the close ([`RawEvent`], [`CloseInfo`]) in.
//! - [`Trust`]: the certificate authorities checked for `https://`, `wss://`
//!   and TLS over TCP: the system's, plus a private CA's or a self-signed node's.
//! - [`ClientError`]: every failure, with the server's error code when there is one.
//!
//! ```no_run
//! use koi_client::{Api, Client, Credentials, Event, Http, Transport};
//!
//! # async fn demo() -> Result<(), koi_client::ClientError> {
//! let http = Http::new("http://127.0.0.1:7780")?;
//! let client = Client::connect(http, Credentials::password("alice", "secret123"), Transport::WsJson).await?;
//! client.send_text("bob", "c1", "hi").await?;
//! while let Some(event) = client.next_event().await {
//!     if let Some(msg) = event.msg() {
//!         println!("{}#{} {}: {:?}", msg.conv, msg.seq, msg.from, msg.text);
//!     }
//! }
//! # Ok(()) }
//! ```

mod api;
mod backoff;
mod client;
mod connection;
mod dialer;
mod error;
#[cfg(test)]
mod fake;
mod http;
mod pending;
mod raw;
mod reply;
mod supervisor;
mod tracker;
mod transport;
mod trust;
mod wire;

pub use api::{Api, text_send};
pub use client::{Client, ClientOptions, Event};
pub use connection::{ConnectOptions, Connection, Disconnect, DisconnectCause};
pub use dialer::Credentials;
pub use error::{ClientError, Result};
pub use http::{Download, FileInfo, Http, LoginSession, Node, Session};
pub use raw::RawConnection;
pub use reply::body_name;
pub use tracker::{SeqTracker, Verdict};
pub use transport::Transport;
pub use trust::Trust;
pub use wire::{CloseInfo, RawEvent};

/// The wire types, re-exported so users need not depend on `koi-proto`.
pub use koi_proto as proto;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn send_sync<T: Send + Sync>() {}

    /// Handles are shared across tasks, and the request futures may be spawned.
    #[test]
    fn handles_and_requests_cross_tasks() {
        send_sync::<Connection>();
        send_sync::<Client>();
        send_sync::<Http>();
        fn spawnable(conn: Arc<Connection>, client: Arc<Client>) {
            drop(tokio::spawn(async move {
                conn.send_text("bob", "c", "t").await
            }));
            drop(tokio::spawn(async move {
                client.history("g:1", None, None, None).await
            }));
        }
        let _ = spawnable;
        fn raw_is_send(raw: RawConnection) -> impl Send {
            raw
        }
        let _ = raw_is_send;
    }
}
