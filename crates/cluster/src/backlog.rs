//! How many pushes wait behind the one being delivered, for a paced group
//! delivery to give up its pace as soon as others queue up (see
//! [`crate::hub::FANOUT_TURN`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A count of pushes queued in one fan-out queue and not taken out yet,
/// shared by the queue's sending side, its draining task and its paced pushes.
#[derive(Debug, Clone, Default)]
pub struct Backlog(Arc<AtomicUsize>);

impl Backlog {
    /// One more push was queued.
    pub fn queued(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    /// One push was taken out of the queue, to be delivered.
    pub fn taken(&self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }

    /// Whether nothing waits in the queue.
    pub fn is_empty(&self) -> bool {
        self.0.load(Ordering::Acquire) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_is_queued_and_not_yet_taken_across_clones() {
        let backlog = Backlog::default();
        let sender = backlog.clone();
        assert!(backlog.is_empty());
        sender.queued();
        sender.queued();
        backlog.taken();
        assert!(!backlog.is_empty(), "one still waits");
        backlog.taken();
        assert!(sender.is_empty());
    }
}
