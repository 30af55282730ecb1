use std::sync::Arc;

use async_trait::async_trait;

use crate::{ClusterError, ConnId, Hub, Push, Router};

/// Routing within one process: straight into the hub.
#[derive(Debug, Clone)]
pub struct LocalRouter {
    hub: Arc<Hub>,
}

impl LocalRouter {
    /// A router delivering into `hub`.
    pub fn new(hub: Arc<Hub>) -> Self {
        Self { hub }
    }
}

#[async_trait]
impl Router for LocalRouter {
    async fn to_user(
        &self,
        user: &str,
        push: Arc<Push>,
        except: Option<ConnId>,
    ) -> Result<u32, ClusterError> {
        Ok(self.hub.deliver_user(user, &push, except))
    }

    async fn to_users(
        &self,
        users: &[String],
        push: Arc<Push>,
        except: Option<ConnId>,
    ) -> Result<u32, ClusterError> {
        Ok(self
            .hub
            .deliver_users(users.iter().map(String::as_str), &push, except))
    }

    async fn to_group(
        &self,
        group: &str,
        push: Arc<Push>,
        except: Option<ConnId>,
        skip_user: Option<&str>,
    ) -> Result<u32, ClusterError> {
        Ok(self
            .hub
            .deliver_group(group, &push, except, skip_user)
            .await)
    }

    async fn group_joined(
        &self,
        group: &str,
        user: &str,
        after_seq: u64,
    ) -> Result<(), ClusterError> {
        self.hub.group_joined(group, user, after_seq);
        Ok(())
    }

    async fn group_left(&self, group: &str, user: &str) -> Result<(), ClusterError> {
        self.hub.group_left(group, user);
        Ok(())
    }
}
