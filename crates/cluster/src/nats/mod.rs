//! The cluster implementations, on NATS.
//!
//! - [`NatsRouter`]: pushes over core NATS subjects. Each node subscribes to
//!   `koi.u.<user>` for the users connected to it and `koi.g.<group>` for the
//!   groups those users are in, so that NATS' interest routing is the
//!   presence-aware router: a push is one publish, and NATS carries it only to
//!   the nodes that have a subscriber for it.
//! - [`NatsRegistry`]: nodes and presence in JetStream key-value buckets.
//! - [`SharedSettings`]: run-time settings changes (the word filter) from one
//!   node to all, on `koi.ctl.*`.
//!
//! ## Wiring a node
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use koi_cluster::{Hub, Router, Registry};
//! # use koi_cluster::nats::{self, NatsRegistry, NatsRouter, RegistryOptions};
//! # async fn wire(url: &str, node_id: &str) -> Result<(), koi_cluster::ClusterError> {
//! let hub = Arc::new(Hub::new());
//! let client = nats::connect(url, node_id).await?;
//! let registry = Arc::new(
//!     NatsRegistry::new(client.clone(), node_id, RegistryOptions::default()).await?,
//! );
//! let router: Arc<dyn Router> = Arc::new(
//!     NatsRouter::new(client, hub.clone(), node_id).count_remote_with(registry.clone()),
//! );
//! let registry: Arc<dyn Registry> = registry;
//! # Ok(())
//! # }
//! ```
//!
//! `node_id` must be the id the node announces. The node then does what it does
//! with the local implementations, plus one call: when `Hub::attach` returns true
//! (the user's first connection here), after `Hub::set_user_groups`, it awaits
//! [`Router::user_online_here`](crate::Router::user_online_here) before
//! answering `auth`, so that pushes from other nodes reach the new connection.
//! Unsubscribing needs no call: the router follows the hub's `detach` and
//! `group_left`. The node announces before it takes connections (a registry
//! counts only announced nodes as live) and every second after.
//!
//! ## Subjects
//!
//! `koi.u.<token(user)>` and `koi.g.<token(group)>`, where [`token`] keeps
//! `a-z 0-9 _ -` as they are and writes every other byte as `X` and two
//! upper-case hex digits: `a.b` becomes `aX2Eb`, so a dot in a name never splits
//! a subject token. User names and group ids have no upper-case letters, and
//! every `X` of a token starts an escape, so the mapping is one-to-one. KV keys
//! use the same tokens.
//!
//! ## Payload
//!
//! A small binary envelope around the push frame's protobuf bytes: see
//! [`Envelope`] (kind, origin node, `except`, `skip_user`, frame; and the
//! `joined`/`left` membership notices).
//!
//! ## Failures
//!
//! Every call is bounded (by default 2 s) and fails with
//! [`ClusterError::Unavailable`] when NATS cannot be reached; a publish fails at
//! once while the client is disconnected. The client reconnects by itself and
//! restores its subscriptions.

mod envelope;
mod order;
mod registry;
mod router;
mod settings;

use std::future::Future;
use std::time::Duration;

pub use envelope::Envelope;
pub use registry::{NatsRegistry, RegistryOptions};
pub use router::NatsRouter;
pub use settings::SharedSettings;

use crate::ClusterError;

/// How long one engine call may take before it fails as unavailable.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long [`connect`] waits for the first connection.
const CONNECT_WITHIN: Duration = Duration::from_secs(10);

/// Connects to NATS the way the router and registry expect: no echo of the
/// connection's own publishes (a node delivers its own pushes locally), a name,
/// bounded connect and request times, endless reconnection capped at 1 s
/// between attempts. A server that is not up yet is waited for, up to 10 s.
pub async fn connect(url: &str, name: &str) -> Result<async_nats::Client, ClusterError> {
    let client = async_nats::ConnectOptions::new()
        .name(name)
        .no_echo()
        .connection_timeout(DEFAULT_TIMEOUT)
        .request_timeout(Some(DEFAULT_TIMEOUT))
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis((attempts as u64 * 100).min(1000))
        })
        .retry_on_initial_connect()
        .connect(url)
        .await
        .map_err(|e| unavailable(format!("connecting to NATS at {url}: {e}")))?;
    // Wait (bounded) for the first connection, so that the caller's first calls
    // do not fail for a connection that is still being made.
    let deadline = tokio::time::Instant::now() + CONNECT_WITHIN;
    while client.connection_state() != async_nats::connection::State::Connected {
        if tokio::time::Instant::now() >= deadline {
            return Err(unavailable(format!(
                "connecting to NATS at {url}: not connected within {CONNECT_WITHIN:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(client)
}

/// `s` as one subject token (and KV key): see the module docs.
pub fn token(s: &str) -> String {
    if s.is_empty() {
        // Never produced by a non-empty name: every other `X` has two digits after it.
        return "X".to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('X');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
    out
}

/// The subject of `user`'s devices.
pub fn user_subject(user: &str) -> String {
    format!("koi.u.{}", token(user))
}

/// The subject of `group`'s online members.
pub fn group_subject(group: &str) -> String {
    format!("koi.g.{}", token(group))
}

fn unavailable(message: impl Into<String>) -> ClusterError {
    ClusterError::Unavailable(message.into())
}

/// Runs `call` within `limit`, mapping its error and a time-out to unavailable.
async fn bounded<T, E: std::fmt::Display>(
    what: &str,
    limit: Duration,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, ClusterError> {
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(unavailable(format!("{what}: {e}"))),
        Err(_) => Err(unavailable(format!("{what}: no answer within {limit:?}"))),
    }
}

/// Publishes `payload` on `subject` with a reply subject and waits until
/// `expected` subscribers have answered on it, or `limit` has passed (then only
/// logged: the caller's guarantee degrades to "eventually", it does not fail).
/// With `expected` = 0 it is a plain publish.
async fn publish_acknowledged(
    client: &async_nats::Client,
    subject: String,
    payload: bytes::Bytes,
    expected: usize,
    limit: Duration,
) -> Result<(), ClusterError> {
    use futures::StreamExt;

    ensure_connected(client)?;
    if expected == 0 {
        return bounded("publishing", limit, client.publish(subject, payload)).await;
    }
    let inbox = client.new_inbox();
    let mut acks = bounded(
        "subscribing to acknowledgements",
        limit,
        client.subscribe(inbox.clone()),
    )
    .await?;
    bounded(
        "publishing",
        limit,
        client.publish_with_reply(subject.clone(), inbox, payload),
    )
    .await?;
    let all = async {
        for _ in 0..expected {
            if acks.next().await.is_none() {
                break;
            }
        }
    };
    if tokio::time::timeout(limit, all).await.is_err() {
        tracing::debug!(
            subject,
            expected,
            "not every subscriber acknowledged in time"
        );
    }
    Ok(())
}

/// Fails at once when the client is not connected.
fn ensure_connected(client: &async_nats::Client) -> Result<(), ClusterError> {
    match client.connection_state() {
        async_nats::connection::State::Connected => Ok(()),
        state => Err(unavailable(format!("NATS connection is {state}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_names_apart_and_whole() {
        assert_eq!(token("alice"), "alice");
        assert_eq!(token("a_b-9"), "a_b-9");
        assert_eq!(token("a.b"), "aX2Eb");
        assert_eq!(token("X"), "X58");
        assert_eq!(token(""), "X");
        assert_eq!(token("*>"), "X2AX3E");
        assert_ne!(token("a.b"), token("aX2Eb"));
        assert_eq!(user_subject("a.b"), "koi.u.aX2Eb");
        assert_eq!(group_subject("g1"), "koi.g.g1");
        for name in ["a.b", "é", "a b", "A"] {
            assert!(
                token(name)
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            );
        }
    }
}
