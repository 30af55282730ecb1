//! A connection's bounded queue of pushes, which holds memory only while it
//! holds pushes: most connections sit idle, and a preallocated queue for each
//! would be a large share of an idle connection's cost.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::Push;

/// The queue full: the connection is not keeping up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Many producers (fan-out, routers), one consumer (the connection's task).
#[derive(Debug)]
pub(crate) struct Outbox {
    items: Mutex<VecDeque<Arc<Push>>>,
    capacity: usize,
    /// Holds one wake-up for the consumer, even when it is not waiting yet.
    signal: Notify,
}

impl Outbox {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            items: Mutex::new(VecDeque::new()),
            capacity,
            signal: Notify::new(),
        }
    }

    /// Queues `push` unless `capacity` pushes are already waiting.
    pub(crate) fn offer(&self, push: Arc<Push>) -> Result<(), Full> {
        {
            let mut items = self.items.lock();
            if items.len() >= self.capacity {
                return Err(Full);
            }
            items.push_back(push);
        }
        self.signal.notify_one();
        Ok(())
    }

    /// Wakes the consumer without queueing anything (e.g. to see a kick).
    pub(crate) fn wake(&self) {
        self.signal.notify_one();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.lock().is_empty()
    }

    /// Everything queued, oldest first; the queue is left empty and unallocated.
    pub(crate) fn take(&self) -> VecDeque<Arc<Push>> {
        let items = std::mem::take(&mut *self.items.lock());
        items.iter().for_each(|push| push.was_taken());
        items
    }

    /// The oldest queued push, if any.
    pub(crate) fn pop(&self) -> Option<Arc<Push>> {
        let push = self.items.lock().pop_front();
        if let Some(push) = &push {
            push.was_taken();
        }
        push
    }

    /// Resolves once something is queued (at once if something already is).
    /// Cancel-safe: dropping it loses nothing.
    pub(crate) async fn filled(&self) {
        self.wait_until(|| !self.is_empty()).await
    }

    /// Resolves once `done` holds, checking it at once and after every push or
    /// [`Outbox::wake`]. Cancel-safe.
    pub(crate) async fn wait_until(&self, done: impl Fn() -> bool) {
        loop {
            if done() {
                return;
            }
            self.signal.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use koi_proto::Kicked;
    use koi_proto::frame::Op;

    use super::*;

    fn push(reason: &str) -> Arc<Push> {
        Arc::new(Push::new(Op::Kicked(Kicked {
            reason: reason.into(),
        })))
    }

    fn reason(push: &Push) -> &str {
        match &push.frame().op {
            Some(Op::Kicked(k)) => &k.reason,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn refuses_past_capacity_and_keeps_order() {
        let outbox = Outbox::new(2);
        assert_eq!(outbox.offer(push("a")), Ok(()));
        assert_eq!(outbox.offer(push("b")), Ok(()));
        assert_eq!(outbox.offer(push("c")), Err(Full));
        let taken: Vec<_> = outbox.take().iter().map(|p| reason(p).to_owned()).collect();
        assert_eq!(taken, ["a", "b"]);
        assert!(outbox.pop().is_none());
        assert_eq!(outbox.offer(push("d")), Ok(()), "room again once taken");
    }

    #[tokio::test]
    async fn takes_of_a_paced_push_are_counted() {
        let paced = Op::Kicked(Kicked { reason: "p".into() });
        let paced = Arc::new(Push::new(paced).paced(crate::Backlog::default()));
        let (a, b) = (Outbox::new(4), Outbox::new(4));
        a.offer(paced.clone()).expect("room");
        b.offer(paced.clone()).expect("room");
        a.offer(push("unpaced")).expect("room");
        assert_eq!(a.take().len(), 2);
        assert!(b.pop().is_some());
        // Both takes count: a delivery waiting for two is woken at once.
        let waited = paced
            .taken()
            .at_least(2, std::time::Duration::from_secs(60));
        assert!(
            tokio::time::timeout(std::time::Duration::from_secs(10), waited)
                .await
                .expect("already reached")
        );
    }

    #[tokio::test]
    async fn wakes_a_consumer_that_started_waiting_first() {
        let outbox = Arc::new(Outbox::new(4));
        let waiter = tokio::spawn({
            let outbox = outbox.clone();
            async move {
                outbox.filled().await;
                outbox.pop().map(|p| reason(&p).to_owned())
            }
        });
        tokio::task::yield_now().await;
        outbox.offer(push("x")).expect("room");
        assert_eq!(waiter.await.expect("joined").as_deref(), Some("x"));
    }

    #[tokio::test]
    async fn filled_returns_at_once_when_something_waits() {
        let outbox = Outbox::new(4);
        outbox.offer(push("y")).expect("room");
        outbox.filled().await;
        assert_eq!(outbox.take().len(), 1);
    }
}
