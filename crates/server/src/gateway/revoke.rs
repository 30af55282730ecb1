//! How the gateway's handlers revoke tokens: in the store first (so that it
//! stands through restarts), then on every node (refused and kicked).

use koi_core::{KoiError, UserId};

use super::Gateway;
use crate::revocation::{Revocation, sync};

impl Gateway {
    /// Applies a revocation the store already holds, here and on every node.
    pub(super) async fn revoke(&self, revocation: Revocation) {
        sync::revoke(
            &self.revocations,
            self.settings.as_ref(),
            &self.node,
            revocation,
        )
        .await;
    }

    /// Revokes every session of `user` and every token issued before `before_ms`.
    pub(super) async fn revoke_all(&self, user: &UserId, before_ms: u64) -> Result<(), KoiError> {
        let store = self.logic.store();
        store.revoke_all_sessions(user, before_ms).await?;
        let state = store.account_state(user).await?.unwrap_or_default();
        self.revoke(Revocation::account(user.as_str(), state)).await;
        Ok(())
    }
}
