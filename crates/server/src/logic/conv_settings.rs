//! `conv_set` (§13): a user's own settings of a conversation they belong to
//! (muted until, pinned, archived). The caller's other devices get a
//! `conv_settings` push with the settings after the change, and `sync`
//! entries carry them.

use std::collections::HashMap;
use std::sync::Arc;

use koi_cluster::Push;
use koi_core::{KoiError, UserId};
use koi_proto::frame::Op;
use koi_proto::{ConvSet, ConvSettings as WireSettings, ConvSummary};
use koi_store::ConvSettingsUpdate;

use super::authorize::Access;
use super::messaging::unavailable;
use super::{Caller, Logic};

impl Logic {
    pub(super) async fn conv_set(&self, caller: &Caller, req: ConvSet) -> Result<(), KoiError> {
        let me = &caller.user;
        let conv = self.authorize(me, &req.conv, Access::Read).await?;
        if let Some(peer) = conv.peer_of(me) {
            self.existing_user(peer.as_str()).await?;
        }
        let update = ConvSettingsUpdate {
            muted_until: req.muted_until,
            pinned: req.pinned,
            archived: req.archived,
        };
        let after = self.store.set_conv_settings(me, &conv, update).await?;
        let push = Arc::new(Push::new(Op::ConvSettings(WireSettings {
            conv: conv.to_string(),
            muted_until: after.muted_until,
            pinned: after.pinned,
            archived: after.archived,
        })));
        self.router
            .to_user(me.as_str(), push, caller.conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Fills each entry of `user`'s `sync` with their settings of it.
    pub(super) async fn with_conv_settings(
        &self,
        user: &UserId,
        mut convs: Vec<ConvSummary>,
    ) -> Result<Vec<ConvSummary>, KoiError> {
        let settings: HashMap<String, _> =
            self.store.conv_settings(user).await?.into_iter().collect();
        if settings.is_empty() {
            return Ok(convs);
        }
        for summary in &mut convs {
            if let Some(s) = settings.get(&summary.conv) {
                summary.muted_until = s.muted_until;
                summary.pinned = s.pinned;
                summary.archived = s.archived;
            }
        }
        Ok(convs)
    }
}
