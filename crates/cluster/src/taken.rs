//! How many connections have taken a push out of their queues, for a large
//! group's delivery to wait on between turns (see [`crate::hub::FANOUT_TURN`])
//! without spinning: the connection that brings the count to what the
//! delivery waits for wakes it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// A count of takes, and one waiter for it to reach a mark.
#[derive(Debug, Default)]
pub(crate) struct Taken {
    count: AtomicUsize,
    /// The count the waiter waits for; 0 when nobody waits.
    mark: AtomicUsize,
    reached: Notify,
}

impl Taken {
    /// One more connection took the push.
    pub(crate) fn one(&self) {
        let count = self.count.fetch_add(1, Ordering::AcqRel) + 1;
        if count == self.mark.load(Ordering::Acquire) {
            self.reached.notify_one();
        }
    }

    /// Waits until `mark` connections took the push, or `within` passed;
    /// false when it gave up. One waiter at a time.
    pub(crate) async fn at_least(&self, mark: usize, within: Duration) -> bool {
        // Set the mark before looking at the count: a take that comes after
        // the look sees the mark and wakes us (Notify keeps the wake-up).
        self.mark.store(mark, Ordering::Release);
        let reached = self.count.load(Ordering::Acquire) >= mark
            || tokio::time::timeout(within, self.reached.notified())
                .await
                .is_ok();
        self.mark.store(0, Ordering::Release);
        reached
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn wakes_the_waiter_at_its_mark_and_not_before() {
        let taken = Arc::new(Taken::default());
        taken.one();
        // Already reached: returns at once.
        assert!(taken.at_least(1, Duration::from_secs(60)).await);
        let waiter = tokio::spawn({
            let taken = taken.clone();
            async move { taken.at_least(3, Duration::from_secs(60)).await }
        });
        tokio::task::yield_now().await;
        taken.one();
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "woken before its mark");
        taken.one();
        let reached = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("woken at its mark")
            .expect("joined");
        assert!(reached, "woken by the take, not by the bound");
    }

    #[tokio::test]
    async fn gives_up_after_its_bound() {
        let taken = Taken::default();
        assert!(!taken.at_least(5, Duration::from_millis(5)).await);
        assert_eq!(taken.count.load(Ordering::Relaxed), 0);
    }
}
