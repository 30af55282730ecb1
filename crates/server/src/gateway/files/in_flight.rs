//! Bytes of uploads still being received, per user, on this node: counted
//! with the stored total against `max_user_bytes`, so that parallel uploads
//! cannot together pass the quota.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

/// The bytes each user is uploading right now.
#[derive(Debug, Default, Clone)]
pub struct InFlight {
    bytes: Arc<Mutex<HashMap<String, u64>>>,
}

impl InFlight {
    /// A claim on `user`'s quota, empty at first; released when dropped.
    pub(super) fn claim(&self, user: &str) -> Claim {
        Claim {
            user: user.to_owned(),
            bytes: 0,
            map: self.bytes.clone(),
        }
    }
}

/// One upload's share of its user's bytes in flight.
pub(super) struct Claim {
    user: String,
    bytes: u64,
    map: Arc<Mutex<HashMap<String, u64>>>,
}

impl Claim {
    /// Adds `n` bytes unless the user's uploads in flight would then pass
    /// `allowed`; false (and nothing added) when they would.
    pub(super) fn grow(&mut self, n: u64, allowed: u64) -> bool {
        let mut map = self.map.lock();
        let total = map.entry(self.user.clone()).or_default();
        if total.saturating_add(n) > allowed {
            if *total == 0 {
                map.remove(&self.user);
            }
            return false;
        }
        *total += n;
        self.bytes += n;
        true
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut map = self.map.lock();
        if let Some(total) = map.get_mut(&self.user) {
            *total = total.saturating_sub(self.bytes);
            if *total == 0 {
                map.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_share_the_allowance_and_release_it() {
        let in_flight = InFlight::default();
        let mut a = in_flight.claim("u");
        let mut b = in_flight.claim("u");
        assert!(a.grow(600, 1000));
        assert!(!b.grow(500, 1000), "together over the allowance");
        assert!(b.grow(400, 1000));
        let mut other = in_flight.claim("v");
        assert!(other.grow(1000, 1000), "per user");
        drop(a);
        assert!(b.grow(600, 1000), "a's bytes are released");
        drop((b, other));
        assert!(in_flight.bytes.lock().is_empty());
    }
}
