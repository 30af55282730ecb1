//! What both stores add to a conversation row to make it a [`ConvSummary`]:
//! its kind, and for a direct conversation the other user.

use koi_core::{ConvId, UserId};
use koi_proto::ConvSummary;

use crate::StoreError;

/// Sets `kind` (and `peer`, as `user` sees it) from the row's group and name.
pub(crate) fn complete(summary: &mut ConvSummary, user: &UserId) -> Result<(), StoreError> {
    if summary.group.is_some() {
        summary.kind = "group".into();
        return Ok(());
    }
    let conv = ConvId::parse(&summary.conv).map_err(|e| {
        StoreError::Internal(format!("stored conversation {:?}: {e}", summary.conv))
    })?;
    summary.kind = conv.kind().into();
    summary.peer = conv.peer_of(user).map(|peer| peer.to_string());
    Ok(())
}
