use std::sync::Arc;

use async_trait::async_trait;

use crate::{ClusterError, ConnId, Push};

/// Delivers pushes to devices wherever they are connected: in-process when
/// embedded, over the message bus in a cluster. Each returns the number of
/// devices reached where the implementation can know it.
#[async_trait]
pub trait Router: Send + Sync + 'static {
    /// Every device of `user`, except the connection `except`.
    async fn to_user(
        &self,
        user: &str,
        push: Arc<Push>,
        except: Option<ConnId>,
    ) -> Result<u32, ClusterError>;

    /// Every device of each of `users`, except the connection `except`.
    async fn to_users(
        &self,
        users: &[String],
        push: Arc<Push>,
        except: Option<ConnId>,
    ) -> Result<u32, ClusterError>;

    /// Every online member of `group`, except the connection `except` and, when
    /// given, every device of `skip_user`.
    async fn to_group(
        &self,
        group: &str,
        push: Arc<Push>,
        except: Option<ConnId>,
        skip_user: Option<&str>,
    ) -> Result<u32, ClusterError>;

    /// `user` joined `group` when its last message was `after_seq`: their
    /// devices start receiving its pushes, except those of messages up to
    /// `after_seq` (sent while they were not a member) that are still on
    /// their way.
    async fn group_joined(
        &self,
        group: &str,
        user: &str,
        after_seq: u64,
    ) -> Result<(), ClusterError>;

    /// `user` left or was removed from `group`.
    async fn group_left(&self, group: &str, user: &str) -> Result<(), ClusterError>;

    /// `user` just got their first connection on this node (after
    /// [`Hub::attach`](crate::Hub::attach) returned true and
    /// [`Hub::set_user_groups`](crate::Hub::set_user_groups) loaded their
    /// groups): resolves once pushes published from any node to them and to
    /// their groups reach this node. Call it before telling the client it is
    /// connected. In-process routing has nothing to wait for.
    async fn user_online_here(&self, _user: &str) -> Result<(), ClusterError> {
        Ok(())
    }
}
