//! Revocations across the cluster: the node that makes one applies it, then
//! publishes it and waits (bounded) until every other live node applied it
//! too; embedded, applying it here is all there is.

use std::sync::Arc;

use futures::StreamExt;
use koi_cluster::nats::SharedSettings;
use tokio::task::JoinHandle;

use super::{Revocation, Revocations};
use crate::node_info::NodeSelf;

/// Applies `revocation` here and on every other node.
///
/// The store already holds it: a node that misses the message (down, or
/// partitioned past the wait) reads it back when it starts; the publish
/// failing is logged, not returned, because the revocation stands.
pub async fn revoke(
    revocations: &Revocations,
    settings: Option<&SharedSettings>,
    node: &NodeSelf,
    revocation: Revocation,
) {
    revocations.apply(&revocation);
    let Some(settings) = settings else {
        return;
    };
    let Ok(payload) = serde_json::to_vec(&revocation) else {
        return;
    };
    let others = node.others_alive().await;
    if let Err(e) = settings.publish_revocation(payload.into(), others).await {
        tracing::warn!(error = %e, "sharing a revocation with every node failed");
    }
}

/// Applies the revocations other nodes publish, until the task is aborted.
pub async fn follow(
    settings: &SharedSettings,
    revocations: Arc<Revocations>,
) -> Result<JoinHandle<()>, koi_cluster::ClusterError> {
    let mut notices = settings.revocations().await?;
    Ok(tokio::spawn(async move {
        while let Some(notice) = notices.next().await {
            match serde_json::from_slice::<Revocation>(&notice.payload) {
                Ok(revocation) => revocations.apply(&revocation),
                Err(_) => tracing::warn!("ignoring an unreadable revocation from another node"),
            }
            notice.acknowledge().await;
        }
    }))
}
