//! One login throttle for the whole cluster: each node counts the failed
//! logins of an address for a name ([`AttemptKey`]: the address and a hash of
//! the name, never the name itself) on every node, so that spreading guesses
//! over the nodes does not multiply them. A failure is answered only once
//! every other live node has counted it (bounded wait); a success clears the
//! key everywhere, without waiting. Like the local throttle, it never slows a
//! name down for other addresses.

use std::sync::Arc;

use futures::StreamExt;
use koi_cluster::nats::SharedSettings;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::gateway::{AttemptKey, Gateway, LoginThrottle};

/// A login outcome as it travels between nodes.
#[derive(Debug, Serialize, Deserialize)]
struct LoginOutcome {
    key: AttemptKey,
    failed: bool,
}

/// Counts a failed login for `key` here and on every other node.
pub async fn failed(gateway: &Gateway, key: AttemptKey) {
    gateway.throttle.failed(key);
    publish(gateway, key, true).await;
}

/// Clears `key`'s failures here and on every other node.
pub async fn succeeded(gateway: &Gateway, key: AttemptKey) {
    gateway.throttle.succeeded(&key);
    publish(gateway, key, false).await;
}

async fn publish(gateway: &Gateway, key: AttemptKey, failed: bool) {
    let Some(settings) = &gateway.settings else {
        return;
    };
    let others = if failed {
        gateway.node.others_alive().await
    } else {
        0
    };
    let outcome = LoginOutcome { key, failed };
    let Ok(payload) = serde_json::to_vec(&outcome) else {
        return;
    };
    // A node that misses it only counts fewer failures: never fail the login on it.
    if let Err(e) = settings.publish_login(payload.into(), others).await {
        tracing::debug!(error = %e, "sharing a login outcome failed");
    }
}

/// Applies the outcomes other nodes publish, until the returned task is aborted.
pub async fn follow(
    settings: &SharedSettings,
    throttle: Arc<LoginThrottle>,
) -> Result<JoinHandle<()>, koi_cluster::ClusterError> {
    let mut notices = settings.logins().await?;
    Ok(tokio::spawn(async move {
        while let Some(notice) = notices.next().await {
            match serde_json::from_slice::<LoginOutcome>(&notice.payload) {
                Ok(LoginOutcome { key, failed: true }) => throttle.failed(key),
                Ok(LoginOutcome { key, failed: false }) => throttle.succeeded(&key),
                Err(_) => tracing::warn!("ignoring an unreadable login outcome from another node"),
            }
            notice.acknowledge().await;
        }
    }))
}
