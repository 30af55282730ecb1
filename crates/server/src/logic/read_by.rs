//! `read_by` (§11): who else has read a message.

use koi_core::KoiError;
use koi_proto::{MessageRef, ReadByOk};

use super::authorize::Access;
use super::{Caller, Logic};

/// `read_by` names at most this many users.
pub(crate) const READ_BY_USERS: u32 = 100;

impl Logic {
    pub(super) async fn read_by(
        &self,
        caller: &Caller,
        req: MessageRef,
    ) -> Result<ReadByOk, KoiError> {
        let me = &caller.user;
        let conv = self.authorize(me, &req.conv, Access::Read).await?;
        if self.store.message(&conv, req.seq).await?.is_none() {
            return Err(KoiError::not_found(format!(
                "no message {} in {conv}",
                req.seq
            )));
        }
        let read = self
            .store
            .read_by(&conv, req.seq, me, READ_BY_USERS)
            .await?;
        Ok(ReadByOk {
            count: read.count,
            users: read.users,
        })
    }
}
