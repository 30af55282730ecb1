//! A history page as one reader sees it (§11): without the messages they
//! deleted for themselves, each message in its current state (edited text,
//! reactions with the reader's `me`), reply previews emptied once the
//! original was recalled.
//!
//! Whatever the page holds, this costs the page's read plus three queries
//! (hidden seqs, edits, reactions), and one lookup per distinct reply target
//! outside the page.

use std::collections::BTreeSet;

use koi_core::{ConvId, HistoryRange, KoiError, UserId};
use koi_proto::Message;

use super::Logic;

impl Logic {
    /// The messages of `conv` in `range` as `viewer` sees them, ascending.
    pub(crate) async fn view_history(
        &self,
        viewer: &UserId,
        conv: &ConvId,
        range: HistoryRange,
    ) -> Result<Vec<Message>, KoiError> {
        let (after, before, newest_first) = bounds(&range);
        let hidden = self.store.hidden(viewer, conv, after, before).await?;
        let mut page = if hidden.is_empty() {
            self.store.history(conv, range).await?
        } else {
            let limit = range.limit() as usize;
            let wider = with_limit(range, range.limit().saturating_add(hidden.len() as u32));
            let hidden: BTreeSet<u64> = hidden.into_iter().collect();
            let mut page = self.store.history(conv, wider).await?;
            page.retain(|m| !hidden.contains(&m.seq));
            let skip = if newest_first {
                page.len().saturating_sub(limit)
            } else {
                0
            };
            page.into_iter().skip(skip).take(limit).collect()
        };
        self.show_current(viewer, conv, &mut page).await?;
        Ok(page)
    }

    /// Brings an ascending run of `conv`'s messages to their current state for
    /// `viewer`.
    pub(crate) async fn show_current(
        &self,
        viewer: &UserId,
        conv: &ConvId,
        page: &mut [Message],
    ) -> Result<(), KoiError> {
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            return Ok(());
        };
        let states = self
            .store
            .message_states(viewer, conv, first.seq, last.seq)
            .await?;
        for m in page.iter_mut() {
            states.apply(m);
        }
        let targets: BTreeSet<u64> = page
            .iter()
            .filter(|m| m.reply_preview.is_some())
            .filter_map(|m| m.reply_to)
            .collect();
        let mut recalled = BTreeSet::new();
        for seq in targets {
            let kind = match page.iter().find(|m| m.seq == seq) {
                Some(m) => Some(m.kind.clone()),
                None => self.store.message(conv, seq).await?.map(|m| m.kind),
            };
            if kind.as_deref() == Some("recalled") {
                recalled.insert(seq);
            }
        }
        for m in page.iter_mut() {
            if let (Some(seq), Some(preview)) = (m.reply_to, m.reply_preview.as_mut())
                && recalled.contains(&seq)
            {
                preview.kind = "recalled".to_owned();
                preview.text = None;
            }
        }
        Ok(())
    }
}

/// The open interval `(after, before)` a range reads, and whether from its
/// newest end.
fn bounds(range: &HistoryRange) -> (u64, u64, bool) {
    match *range {
        HistoryRange::Latest { .. } => (0, u64::MAX, true),
        HistoryRange::After { after, .. } => (after, u64::MAX, false),
        HistoryRange::Before { before, .. } => (0, before, true),
        HistoryRange::Between { after, before, .. } => (after, before, false),
    }
}

/// `range` asking for `limit` messages.
fn with_limit(range: HistoryRange, limit: u32) -> HistoryRange {
    match range {
        HistoryRange::Latest { .. } => HistoryRange::Latest { limit },
        HistoryRange::After { after, .. } => HistoryRange::After { after, limit },
        HistoryRange::Before { before, .. } => HistoryRange::Before { before, limit },
        HistoryRange::Between { after, before, .. } => HistoryRange::Between {
            after,
            before,
            limit,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Widening keeps the bounds; each shape reads its interval from the
    /// right end.
    #[test]
    fn widening_keeps_the_bounds() {
        let range = HistoryRange::Between {
            after: 2,
            before: 9,
            limit: 3,
        };
        assert_eq!(bounds(&with_limit(range, 5)), (2, 9, false));
        assert_eq!(with_limit(range, 5).limit(), 5);
        assert_eq!(
            bounds(&HistoryRange::Before {
                before: 9,
                limit: 1
            }),
            (0, 9, true)
        );
    }
}
