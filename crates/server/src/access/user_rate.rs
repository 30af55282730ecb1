//! The frame rate per user, across all of a user's connections
//! (`user_msgs_per_sec`, burst twice that), on top of each connection's own.
//!
//! Each node keeps a bucket per user connected to it. In a cluster, a user
//! with connections on several nodes must not get the rate once per node:
//! the nodes holding the user learn of each other (`crate::rate_sync`
//! announces a user's first and last connection on a node), and a user held
//! by `k` nodes gets `1/k` of the rate and burst on each, so that together
//! they never give more than the whole. Nothing travels per frame. The price
//! is that a user who only uses one of their connections gets their share on
//! its node, not the whole (a spread user's other devices are usually
//! quiet, and 50 frames a second is still far more than a person sends).
//! Until a new node has heard from the others (a round trip over NATS), it
//! gives the user a whole bucket. Memory is bounded: a user's bucket lives
//! while they have a connection here.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use koi_core::TokenBucket;
use parking_lot::Mutex;
use tokio::sync::mpsc;

/// One user's bucket here, shared by their connections.
pub(crate) struct UserShare {
    bucket: Mutex<TokenBucket>,
}

/// What this node tells the others about a user's frame rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateNotice {
    /// The user's first connection here.
    On(String),
    /// The user's last connection here closed.
    Off(String),
    /// Answers [`RateNotice::On`]: the user has connections here too.
    Have(String),
}

struct Entry {
    share: Arc<UserShare>,
    connections: usize,
    /// Other nodes with connections of the user.
    peers: HashSet<String>,
}

impl Entry {
    /// This node's share of the user's rate: one part per node holding them.
    fn split(&self) {
        let parts = u32::try_from(1 + self.peers.len()).unwrap_or(u32::MAX);
        self.share.bucket.lock().split(parts, Instant::now());
    }
}

/// The buckets of the users connected here.
pub(crate) struct UserRates {
    per_sec: u32,
    buckets: Mutex<HashMap<String, Entry>>,
    /// In a cluster, where notices for the other nodes go.
    notices: Option<mpsc::UnboundedSender<RateNotice>>,
}

impl UserRates {
    pub(super) fn new(per_sec: u32, notices: Option<mpsc::UnboundedSender<RateNotice>>) -> Self {
        Self {
            per_sec,
            buckets: Mutex::new(HashMap::new()),
            notices,
        }
    }

    /// The bucket of `user`, for one more connection until [`Self::left`].
    pub(super) fn joined(&self, user: &str) -> Arc<UserShare> {
        let mut buckets = self.buckets.lock();
        let entry = buckets.entry(user.to_owned()).or_insert_with(|| {
            self.notify(RateNotice::On(user.to_owned()));
            Entry {
                share: Arc::new(UserShare {
                    bucket: Mutex::new(TokenBucket::new(
                        self.per_sec,
                        self.per_sec * 2,
                        Instant::now(),
                    )),
                }),
                connections: 0,
                peers: HashSet::new(),
            }
        });
        entry.connections += 1;
        entry.share.clone()
    }

    /// One connection of `user` closed; the last one drops the bucket.
    pub(super) fn left(&self, user: &str) {
        let mut buckets = self.buckets.lock();
        if let Some(entry) = buckets.get_mut(user) {
            entry.connections -= 1;
            if entry.connections == 0 {
                buckets.remove(user);
                self.notify(RateNotice::Off(user.to_owned()));
            }
        }
    }

    /// Takes one frame from `share`; false when the user is over the rate.
    pub(super) fn try_take(&self, share: &UserShare) -> bool {
        share.bucket.lock().try_take(Instant::now())
    }

    /// Applies what node `from` said about a user.
    pub(crate) fn apply(&self, from: &str, notice: RateNotice) {
        let mut buckets = self.buckets.lock();
        let announced = matches!(notice, RateNotice::On(_));
        match notice {
            RateNotice::On(user) | RateNotice::Have(user) => {
                if let Some(entry) = buckets.get_mut(&user) {
                    entry.peers.insert(from.to_owned());
                    entry.split();
                    if announced {
                        // The new node learns that the user is here too.
                        self.notify(RateNotice::Have(user));
                    }
                }
            }
            RateNotice::Off(user) => {
                if let Some(entry) = buckets.get_mut(&user) {
                    entry.peers.remove(from);
                    entry.split();
                }
            }
        }
    }

    fn notify(&self, notice: RateNotice) {
        if let Some(notices) = &self.notices {
            // The follower is gone only when the node stops.
            let _ = notices.send(notice);
        }
    }

    /// Users with a bucket (for tests of the bound).
    /// Users with a bucket (for tests of the bound).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.buckets.lock().len()
    }

    pub(super) fn per_sec(&self) -> u32 {
        self.per_sec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bucket_per_user_dropped_with_the_last_connection() {
        let rates = UserRates::new(10, None);
        let a = rates.joined("ann");
        let b = rates.joined("ann");
        assert!(Arc::ptr_eq(&a, &b), "connections of a user share a bucket");
        let taken = (0..100).filter(|_| rates.try_take(&a)).count()
            + (0..100).filter(|_| rates.try_take(&b)).count();
        assert_eq!(taken, 20, "the burst is twice the rate, for both together");
        rates.left("ann");
        assert_eq!(rates.len(), 1);
        rates.left("ann");
        assert_eq!(rates.len(), 0, "bounded: gone with the last connection");
    }

    #[test]
    fn a_user_on_two_nodes_gets_one_budget_between_them() {
        let (to_a, mut from_a) = mpsc::unbounded_channel();
        let (to_b, mut from_b) = mpsc::unbounded_channel();
        let (a, b) = (
            UserRates::new(10, Some(to_a)),
            UserRates::new(10, Some(to_b)),
        );
        let on_a = a.joined("ann");
        assert_eq!(from_a.try_recv().unwrap(), RateNotice::On("ann".into()));
        let on_b = b.joined("ann");
        // Node a hears of b and answers; b hears the answer.
        a.apply("b", from_b.try_recv().unwrap());
        let answer = from_a.try_recv().unwrap();
        assert_eq!(answer, RateNotice::Have("ann".into()));
        b.apply("a", answer);
        let taken = (0..100).filter(|_| a.try_take(&on_a)).count()
            + (0..100).filter(|_| b.try_take(&on_b)).count();
        assert_eq!(taken, 20, "one burst of 20 for both nodes together");

        // b's last connection closes, and it says so.
        b.left("ann");
        assert_eq!(from_b.try_recv().unwrap(), RateNotice::Off("ann".into()));
        a.apply("b", RateNotice::Off("ann".into()));
        a.apply("c", RateNotice::Have("bob".into()));
        assert!(
            from_a.try_recv().is_err(),
            "nothing said of a user not here"
        );
    }
}
