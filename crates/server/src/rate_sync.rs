//! Users' frame rates across the cluster (§12: the rate "holds per user
//! across all their connections"): carries `access`'s [`RateNotice`]s to the
//! other nodes on `koi.ctl.rate` and applies theirs. See
//! `access::user_rate` for what the notices do.

use std::sync::Arc;

use futures::StreamExt;
use koi_cluster::nats::SharedSettings;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::access::{Access, RateNotice};

/// A notice as it travels between nodes.
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    node: String,
    user: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    On,
    Off,
    Have,
}

impl Wire {
    fn of(node: &str, notice: RateNotice) -> Self {
        let (kind, user) = match notice {
            RateNotice::On(user) => (Kind::On, user),
            RateNotice::Off(user) => (Kind::Off, user),
            RateNotice::Have(user) => (Kind::Have, user),
        };
        Self {
            node: node.to_owned(),
            user,
            kind,
        }
    }

    fn notice(kind: Kind, user: String) -> RateNotice {
        match kind {
            Kind::On => RateNotice::On(user),
            Kind::Off => RateNotice::Off(user),
            Kind::Have => RateNotice::Have(user),
        }
    }
}

/// Publishes this node's notices (from `outgoing`) as node `node`, until
/// the returned task is aborted.
pub fn publish(
    settings: SharedSettings,
    node: String,
    mut outgoing: mpsc::UnboundedReceiver<RateNotice>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(notice) = outgoing.recv().await {
            let Ok(payload) = serde_json::to_vec(&Wire::of(&node, notice)) else {
                continue;
            };
            // A notice lost leaves a user a larger share on some node.
            if let Err(e) = settings.publish_rate(payload.into()).await {
                tracing::debug!(error = %e, "publishing a frame rate notice failed");
            }
        }
    })
}

/// Applies the notices other nodes publish, until the returned task is aborted.
pub async fn follow(
    settings: &SharedSettings,
    access: Arc<Access>,
) -> Result<JoinHandle<()>, koi_cluster::ClusterError> {
    let mut notices = settings.rate_notices().await?;
    Ok(tokio::spawn(async move {
        while let Some(notice) = notices.next().await {
            match serde_json::from_slice::<Wire>(&notice.payload) {
                Ok(Wire { node, user, kind }) => {
                    access.rate_notice(&node, Wire::notice(kind, user));
                }
                Err(_) => tracing::warn!("ignoring an unreadable frame rate notice"),
            }
        }
    }))
}
