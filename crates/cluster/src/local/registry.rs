use std::collections::HashMap;

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::{ClusterError, NodeInfo, Registry};

/// The registry of a single node: itself, and its own users' device counts.
#[derive(Debug, Default)]
pub struct LocalRegistry {
    node: Mutex<Option<NodeInfo>>,
    devices: Mutex<HashMap<String, u32>>,
}

impl LocalRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Registry for LocalRegistry {
    async fn announce(&self, node: NodeInfo) -> Result<(), ClusterError> {
        *self.node.lock() = Some(node);
        Ok(())
    }

    async fn nodes(&self) -> Result<Vec<NodeInfo>, ClusterError> {
        Ok(self.node.lock().iter().cloned().collect())
    }

    async fn device_connected(&self, user: &str) -> Result<bool, ClusterError> {
        let mut devices = self.devices.lock();
        let count = devices.entry(user.to_owned()).or_default();
        *count += 1;
        Ok(*count == 1)
    }

    async fn device_disconnected(&self, user: &str) -> Result<bool, ClusterError> {
        let mut devices = self.devices.lock();
        match devices.get_mut(user) {
            Some(count) if *count > 1 => {
                *count -= 1;
                Ok(false)
            }
            Some(_) => {
                devices.remove(user);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn online(&self, users: &[String]) -> Result<Vec<bool>, ClusterError> {
        let devices = self.devices.lock();
        Ok(users.iter().map(|u| devices.contains_key(u)).collect())
    }

    async fn devices(&self, users: &[String]) -> Result<Vec<u32>, ClusterError> {
        let devices = self.devices.lock();
        Ok(users
            .iter()
            .map(|u| devices.get(u).copied().unwrap_or(0))
            .collect())
    }
}
