//! One budget per client address for the whole cluster (§12): a registration
//! or login that one node admits is spent from the address's bucket on every
//! node, so that spreading requests over the nodes does not multiply the
//! limits. It is answered only once every other live node has spent it
//! (bounded wait), so that requests made one after another see one budget
//! whichever node they reach. Concurrent requests on several nodes may each
//! pass before hearing of the others: the overshoot is at most one request
//! per node in flight.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use koi_cluster::nats::SharedSettings;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::gateway::{AddrKey, AddrLimits, AddrUse, Gateway};

/// An admitted request as it travels between nodes.
#[derive(Debug, Serialize, Deserialize)]
struct Spent {
    what: AddrUse,
    addr: AddrKey,
}

/// Takes one `what` from `addr`'s budget here and on every other node, or
/// says how long to wait.
pub async fn take(gateway: &Gateway, what: AddrUse, addr: AddrKey) -> Result<(), Duration> {
    gateway.addr_limits.take(what, addr)?;
    let Some(settings) = &gateway.settings else {
        return Ok(());
    };
    if !gateway.addr_limits.limits(what) {
        return Ok(());
    }
    let others = gateway.node.others_alive().await;
    let Ok(payload) = serde_json::to_vec(&Spent { what, addr }) else {
        return Ok(());
    };
    // A node that misses it only admits a little more: never fail the request on it.
    if let Err(e) = settings.publish_addr_use(payload.into(), others).await {
        tracing::debug!(error = %e, "sharing an address's use failed");
    }
    Ok(())
}

/// Spends what other nodes admitted, until the returned task is aborted.
pub async fn follow(
    settings: &SharedSettings,
    limits: Arc<AddrLimits>,
) -> Result<JoinHandle<()>, koi_cluster::ClusterError> {
    let mut notices = settings.addr_uses().await?;
    Ok(tokio::spawn(async move {
        while let Some(notice) = notices.next().await {
            match serde_json::from_slice::<Spent>(&notice.payload) {
                Ok(Spent { what, addr }) => limits.spent_elsewhere(what, addr),
                Err(_) => tracing::warn!("ignoring an unreadable address use from another node"),
            }
            notice.acknowledge().await;
        }
    }))
}
