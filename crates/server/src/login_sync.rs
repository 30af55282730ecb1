//! One login throttle for the whole cluster: each node counts a name's failed
//! logins on every node, so that spreading guesses over the nodes does not
//! multiply them. A failure is answered only once every other live node has
//! counted it (bounded wait); a success clears the name everywhere, without
//! waiting.

use std::sync::Arc;

use futures::StreamExt;
use koi_cluster::nats::SharedSettings;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::gateway::{Gateway, LoginThrottle};

/// A login outcome as it travels between nodes.
#[derive(Debug, Serialize, Deserialize)]
struct LoginOutcome {
    name: String,
    failed: bool,
}

/// Counts a failed login for `name` here and on every other node.
pub async fn failed(gateway: &Gateway, name: &str) {
    gateway.throttle.failed(name);
    publish(gateway, name, true).await;
}

/// Clears `name`'s failures here and on every other node.
pub async fn succeeded(gateway: &Gateway, name: &str) {
    gateway.throttle.succeeded(name);
    publish(gateway, name, false).await;
}

async fn publish(gateway: &Gateway, name: &str, failed: bool) {
    let Some(settings) = &gateway.settings else {
        return;
    };
    let others = if failed {
        gateway.node.others_alive().await
    } else {
        0
    };
    let outcome = LoginOutcome {
        name: name.to_owned(),
        failed,
    };
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
                Ok(LoginOutcome { name, failed: true }) => throttle.failed(&name),
                Ok(LoginOutcome {
                    name,
                    failed: false,
                }) => throttle.succeeded(&name),
                Err(_) => tracing::warn!("ignoring an unreadable login outcome from another node"),
            }
            notice.acknowledge().await;
        }
    }))
}
