//! `search` (issue #22): messages the caller may read that match every word
//! of a query, newest first.

use koi_core::{KoiError, Search};
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
        let msgs = self.store.search(&caller.user, &search).await?;
        Ok(SearchOk { msgs })
    }
}
