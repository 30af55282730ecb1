//! `search` (issue #22): messages the caller may read that match every word
//! of a query, newest first.

use koi_core::{ConvId, KoiError, Search};
use koi_proto::SearchOk;

use super::authorize::Access;
use super::{Caller, Logic};

impl Logic {
    /// Checks the request (`bad_request`), and with `conv` the caller's right
    /// to read it (as `history`: `forbidden`, or `not_found` for a group that
    /// does not exist); the store keeps to what the caller may read now.
    pub(super) async fn search(
        &self,
        caller: &Caller,
        req: koi_proto::Search,
    ) -> Result<SearchOk, KoiError> {
        let search = Search::from_request(&req)?;
        if let Some(conv) = &req.conv {
            self.authorize(&caller.user, conv, Access::Read).await?;
        }
        let mut msgs = self.store.search(&caller.user, &search).await?;
        // Each as it is now (edited text, reactions), as `history` shows it.
        for m in &mut msgs {
            let conv = ConvId::parse(&m.conv)?;
            self.show_current(&caller.user, &conv, std::slice::from_mut(m))
                .await?;
        }
        Ok(SearchOk { msgs })
    }
}
