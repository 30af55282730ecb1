//! `delete` (§11): "delete for me". The message disappears from the caller's
//! own `history` on all their devices; their other devices get a `deleted`
//! push; nobody else sees anything change, and no event is appended.

use std::sync::Arc;

use koi_cluster::Push;
use koi_core::KoiError;
use koi_proto::MessageRef;
use koi_proto::frame::Op;

use super::authorize::Access;
use super::messaging::unavailable;
use super::{Caller, Logic};

impl Logic {
    pub(super) async fn delete_for_me(
        &self,
        caller: &Caller,
        req: MessageRef,
    ) -> Result<(), KoiError> {
        let me = &caller.user;
        let conv = self.authorize(me, &req.conv, Access::Read).await?;
        if self.store.message(&conv, req.seq).await?.is_none() {
            return Err(KoiError::not_found(format!(
                "no message {} in {conv}",
                req.seq
            )));
        }
        self.store.hide(me, &conv, req.seq).await?;
        let push = Arc::new(Push::new(Op::Deleted(MessageRef {
            conv: conv.to_string(),
            seq: req.seq,
        })));
        self.router
            .to_user(me.as_str(), push, caller.conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
