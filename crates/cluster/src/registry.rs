use async_trait::async_trait;

use crate::{ClusterError, NodeInfo};

/// The cluster's nodes with their load, and which users are online anywhere.
#[async_trait]
pub trait Registry: Send + Sync + 'static {
    /// Publishes this node's current state; called periodically as a heartbeat.
    async fn announce(&self, node: NodeInfo) -> Result<(), ClusterError>;

    /// The live nodes.
    async fn nodes(&self) -> Result<Vec<NodeInfo>, ClusterError>;

    /// A device of `user` connected; true when it is the user's first anywhere.
    async fn device_connected(&self, user: &str) -> Result<bool, ClusterError>;

    /// A device of `user` disconnected; true when it was the user's last anywhere.
    async fn device_disconnected(&self, user: &str) -> Result<bool, ClusterError>;

    /// For each of `users`, whether they have a connection anywhere.
    async fn online(&self, users: &[String]) -> Result<Vec<bool>, ClusterError>;

    /// For each of `users`, how many devices they have connected, on every live node.
    async fn devices(&self, users: &[String]) -> Result<Vec<u32>, ClusterError>;
}
