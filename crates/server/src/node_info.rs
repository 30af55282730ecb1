//! This node as the registry shows it.

use std::sync::Arc;

use koi_cluster::{Hub, NodeInfo, Registry};

use crate::monitor::Meters;

/// Builds and announces this node's [`NodeInfo`].
pub struct NodeSelf {
    pub id: String,
    pub roles: Vec<String>,
    pub ws: String,
    pub tcp: String,
    /// Whether the TCP listener speaks TLS.
    pub tls: bool,
    pub started_at: u64,
    pub hub: Arc<Hub>,
    pub meters: Meters,
    pub registry: Arc<dyn Registry>,
}

impl NodeSelf {
    /// The node's current state.
    pub fn info(&self) -> NodeInfo {
        NodeInfo {
            id: self.id.clone(),
            roles: self.roles.clone(),
            ws: self.ws.clone(),
            tcp: self.tcp.clone(),
            tls: self.tls,
            connections: self.hub.connections() as u64,
            users: self.hub.users() as u64,
            msgs_in_per_s: self.meters.msgs_in_per_s(),
            msgs_out_per_s: self.meters.msgs_out_per_s(),
            started_at: self.started_at,
        }
    }

    /// Publishes the current state to the registry (a heartbeat).
    pub async fn announce(&self) {
        if let Err(e) = self.registry.announce(self.info()).await {
            tracing::warn!(error = %e, "announcing the node failed");
        }
    }

    /// How many other nodes the registry lists as alive: the acknowledgements a
    /// change shared with every node waits for (0 when the registry is down).
    pub async fn others_alive(&self) -> usize {
        match self.registry.nodes().await {
            Ok(nodes) => nodes.iter().filter(|n| n.id != self.id).count(),
            Err(_) => 0,
        }
    }
}
