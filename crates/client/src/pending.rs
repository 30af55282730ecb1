//! Request ids and the requests waiting for their replies.
//!
//! Lives behind a `std::sync::Mutex` that is only ever held for a map operation,
//! never across an `.await`.

use std::collections::HashMap;

use tokio::sync::oneshot;

/// What a reply carries: the `ok` body (`None`: an `ok` without body) or the `error`.
pub(crate) type Reply = Result<Option<koi_proto::ok::Body>, koi_proto::Error>;

/// The table of requests in flight on one connection.
#[derive(Debug)]
pub(crate) struct Pending {
    next_id: u64,
    waiting: HashMap<u64, oneshot::Sender<Reply>>,
    closed: bool,
}

/// The table is closed: the connection is gone.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Closed;

impl Pending {
    /// An empty table whose first id is `first_id` (ids are never 0: 0 means "no id").
    pub(crate) fn new(first_id: u64) -> Self {
        Pending {
            next_id: first_id.max(1),
            waiting: HashMap::new(),
            closed: false,
        }
    }

    /// Allocates the next id and registers a waiter for it.
    pub(crate) fn register(&mut self) -> Result<(u64, oneshot::Receiver<Reply>), Closed> {
        if self.closed {
            return Err(Closed);
        }
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        let (tx, rx) = oneshot::channel();
        self.waiting.insert(id, tx);
        Ok((id, rx))
    }

    /// Hands `reply` to the waiter of `id`; false when nobody waits for it any more.
    pub(crate) fn complete(&mut self, id: u64, reply: Reply) -> bool {
        match self.waiting.remove(&id) {
            Some(tx) => tx.send(reply).is_ok(),
            None => false,
        }
    }

    /// Forgets the waiter of `id` (it timed out or went away).
    pub(crate) fn cancel(&mut self, id: u64) {
        self.waiting.remove(&id);
    }

    /// Closes the table: every waiter sees its channel closed, and later
    /// registrations fail.
    pub(crate) fn close(&mut self) {
        self.closed = true;
        self.waiting.clear();
    }

    /// Requests in flight.
    pub(crate) fn len(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use koi_proto::Empty;
    use koi_proto::ok::Body;

    use super::*;

    #[test]
    fn ids_start_at_one_and_increase() {
        let mut p = Pending::new(0);
        let ids: Vec<u64> = (0..3).map(|_| p.register().unwrap().0).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn ids_wrap_past_zero() {
        let mut p = Pending::new(u64::MAX);
        assert_eq!(p.register().unwrap().0, u64::MAX);
        assert_eq!(p.register().unwrap().0, 1);
    }

    #[test]
    fn replies_reach_their_waiter_once() {
        let mut p = Pending::new(1);
        let (a, mut rx_a) = p.register().unwrap();
        let (b, mut rx_b) = p.register().unwrap();
        assert!(p.complete(b, Ok(Some(Body::Ping(Empty {})))));
        assert!(!p.complete(b, Ok(None)), "a second reply finds nobody");
        assert!(rx_b.try_recv().unwrap().is_ok());
        assert!(rx_a.try_recv().is_err(), "a is still waiting");
        p.cancel(a);
        assert!(!p.complete(a, Ok(None)));
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn closing_fails_waiters_and_registrations() {
        let mut p = Pending::new(1);
        let (_, mut rx) = p.register().unwrap();
        p.close();
        assert!(matches!(
            rx.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        assert_eq!(p.register().unwrap_err(), Closed);
    }
}
