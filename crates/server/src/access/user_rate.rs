//! The frame rate per user, across all of a user's connections on this node
//! (`user_msgs_per_sec`, burst twice that), on top of each connection's own.
//!
//! Per node, not per cluster: a cluster-wide bucket would cost a round trip
//! per frame; a user spread over n nodes gets at most n times the rate, and
//! dispatch places a user's connections on few nodes. Memory is bounded: a
//! user's bucket lives while they have a connection here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use koi_core::TokenBucket;
use parking_lot::Mutex;

/// One user's bucket, shared by their connections.
pub(super) type UserBucket = Arc<Mutex<TokenBucket>>;

/// The buckets of the users connected here.
pub(super) struct UserRates {
    per_sec: u32,
    buckets: Mutex<HashMap<String, (UserBucket, usize)>>,
}

impl UserRates {
    pub(super) fn new(per_sec: u32) -> Self {
        Self {
            per_sec,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The bucket of `user`, for one more connection until [`Self::left`].
    pub(super) fn joined(&self, user: &str) -> UserBucket {
        let mut buckets = self.buckets.lock();
        let entry = buckets.entry(user.to_owned()).or_insert_with(|| {
            let bucket = TokenBucket::new(self.per_sec, self.per_sec * 2, Instant::now());
            (Arc::new(Mutex::new(bucket)), 0)
        });
        entry.1 += 1;
        entry.0.clone()
    }

    /// One connection of `user` closed; the last one drops the bucket.
    pub(super) fn left(&self, user: &str) {
        let mut buckets = self.buckets.lock();
        if let Some(entry) = buckets.get_mut(user) {
            entry.1 -= 1;
            if entry.1 == 0 {
                buckets.remove(user);
            }
        }
    }

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
        let rates = UserRates::new(10);
        let a = rates.joined("ann");
        let b = rates.joined("ann");
        assert!(Arc::ptr_eq(&a, &b), "connections of a user share a bucket");
        let now = Instant::now();
        let taken = (0..100).filter(|_| a.lock().try_take(now)).count()
            + (0..100).filter(|_| b.lock().try_take(now)).count();
        assert_eq!(taken, 20, "the burst is twice the rate, for both together");
        rates.left("ann");
        assert_eq!(rates.len(), 1);
        rates.left("ann");
        assert_eq!(rates.len(), 0, "bounded: gone with the last connection");
    }
}
