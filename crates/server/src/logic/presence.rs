//! Presence: the `presence` query, and the pushes on a user's first connect and
//! last disconnect anywhere. Also loads an arriving user's groups into the hub.

use std::sync::Arc;

use koi_cluster::ConnHandle;
use koi_core::{KoiError, UserId};
use koi_proto::{Presence, PresenceOk};

use super::messaging::{now_ms, unavailable};
use super::{Caller, Logic};

/// The most users one `presence` query may ask about.
const MAX_QUERY: usize = 1000;

impl Logic {
    pub(super) async fn presence(
        &self,
        caller: &Caller,
        req: Presence,
    ) -> Result<PresenceOk, KoiError> {
        if req.users.len() > MAX_QUERY {
            return Err(KoiError::bad_request(
                "at most 1000 users per presence query",
            ));
        }
        let online = self
            .registry
            .online(&req.users)
            .await
            .map_err(unavailable)?;
        let online = self
            .visible_online(&caller.user, &req.users, online, None)
            .await?;
        Ok(PresenceOk {
            online: req
                .users
                .into_iter()
                .zip(online)
                .filter_map(|(u, on)| on.then_some(u))
                .collect(),
        })
    }

    /// A connection authenticated: register it, and on the user's first device
    /// load their groups and tell their contacts they are online.
    pub async fn connected(&self, conn: Arc<ConnHandle>) -> Result<(), KoiError> {
        let user = UserId::parse(conn.user())?;
        let id = conn.id();
        let result = self.register_device(&user, conn).await;
        if result.is_err() {
            self.hub.detach(user.as_str(), id);
            self.meters.set_connections(self.hub.connections());
        }
        result
    }

    async fn register_device(&self, user: &UserId, conn: Arc<ConnHandle>) -> Result<(), KoiError> {
        if self.hub.attach(conn) {
            let groups = self.store.user_groups(user).await?;
            self.hub.set_user_groups(user.as_str(), groups);
            // In a cluster: wait until pushes from other nodes reach this one.
            self.router
                .user_online_here(user.as_str())
                .await
                .map_err(unavailable)?;
        }
        self.meters.set_connections(self.hub.connections());
        if self
            .registry
            .device_connected(user.as_str())
            .await
            .map_err(unavailable)?
        {
            self.announce_presence(user, true).await?;
        }
        Ok(())
    }

    /// A connection closed: unregister it, and on the user's last device tell
    /// their contacts they are offline.
    pub async fn disconnected(&self, conn: &ConnHandle) -> Result<(), KoiError> {
        let user = UserId::parse(conn.user())?;
        self.hub.detach(user.as_str(), conn.id());
        self.meters.set_connections(self.hub.connections());
        if self
            .registry
            .device_disconnected(user.as_str())
            .await
            .map_err(unavailable)?
        {
            // Durable, so every node answers `last_seen` alike (§13).
            self.store.set_last_seen(&user, now_ms()).await?;
            self.announce_presence(&user, false).await?;
        }
        Ok(())
    }

    /// Tells the user's mutual contacts they came online or went offline,
    /// unless their `presence` setting is `nobody`.
    async fn announce_presence(&self, user: &UserId, online: bool) -> Result<(), KoiError> {
        if self.privacy(user).await?.presence == koi_core::Audience::Nobody {
            return Ok(());
        }
        self.push_presence(user, online).await
    }
}
