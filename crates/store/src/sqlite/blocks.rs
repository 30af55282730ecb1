//! Who blocked whom, held in memory so that `send` checks it without a read.
//!
//! Every direct `send` asks whether the recipient blocked the sender. As a read
//! that was a hop to the blocking pool and a SQLite lookup whose pages the last
//! commit had just invalidated: a futex round trip, context switches and
//! several `pread`s per message, for an answer that is almost always "no". This
//! store is the only writer of its file, so it can keep the answer itself: the
//! blocks are loaded when the store opens and changed as `set_blocked` commits.
//!
//! Changes apply after their commit, in commit order: each is stamped on the
//! writer thread with a counter, and a change older than what a pair already
//! holds is dropped, so two racing calls end as their commits did. A block is
//! in force once its call returned; until then, a concurrent `send` may still
//! pass, as it could have been handled just before.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use rusqlite::Connection;

use crate::StoreError;

/// A pair's latest committed state: its stamp, and whether it is a block.
type State = (u64, bool);

#[derive(Debug, Default)]
pub(super) struct Blocks {
    /// blocker → blocked → state.
    by_blocker: RwLock<HashMap<String, HashMap<String, State>>>,
    /// The last stamp handed out, on the writer thread.
    stamps: AtomicU64,
}

impl Blocks {
    /// The blocks stored in the database.
    pub(super) fn load(conn: &Connection) -> Result<Self, StoreError> {
        let mut by_blocker: HashMap<String, HashMap<String, State>> = HashMap::new();
        let mut stmt = conn.prepare("SELECT user, other FROM contacts WHERE blocked")?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        for row in rows {
            let (user, other): (String, String) = row?;
            by_blocker.entry(user).or_default().insert(other, (0, true));
        }
        Ok(Self {
            by_blocker: RwLock::new(by_blocker),
            stamps: AtomicU64::new(0),
        })
    }

    /// A stamp later than every earlier one; taken by the write that changes a
    /// block, so stamps follow commit order.
    pub(super) fn stamp(&self) -> u64 {
        self.stamps.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Records a committed change, unless a later one was recorded already.
    pub(super) fn apply(&self, user: &str, other: &str, stamp: u64, blocked: bool) {
        let mut by_blocker = self
            .by_blocker
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let state = by_blocker
            .entry(user.to_owned())
            .or_default()
            .entry(other.to_owned())
            .or_insert((0, false));
        if stamp > state.0 {
            *state = (stamp, blocked);
        }
    }

    /// Whether `user` has blocked `other`.
    pub(super) fn is_blocked(&self, user: &str, other: &str) -> bool {
        self.by_blocker
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(user)
            .and_then(|blocked| blocked.get(other))
            .is_some_and(|&(_, blocked)| blocked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_change_wins_whatever_order_it_is_applied_in() {
        let blocks = Blocks::default();
        let (block, unblock) = (blocks.stamp(), blocks.stamp());
        blocks.apply("ann", "bob", unblock, false);
        blocks.apply("ann", "bob", block, true);
        assert!(!blocks.is_blocked("ann", "bob"));

        let block_again = blocks.stamp();
        blocks.apply("ann", "bob", block_again, true);
        assert!(blocks.is_blocked("ann", "bob"));
        assert!(!blocks.is_blocked("bob", "ann"), "a block has a direction");
    }
}
