//! Users this node has seen exist, so that a direct send does not read the
//! store to learn again that its recipient exists.
//!
//! Accounts are never deleted, so "exists" never becomes false and a positive
//! answer may be kept for good; a negative one is never kept (the user may
//! register a moment later, on any node). The set is bounded: past
//! [`CAPACITY`] names it starts over, which costs one store read per name.

use std::collections::HashSet;

use koi_core::UserId;
use parking_lot::RwLock;

/// The most names kept (about 64 bytes each).
const CAPACITY: usize = 200_000;

#[derive(Debug, Default)]
pub(super) struct KnownUsers {
    names: RwLock<HashSet<UserId>>,
}

impl KnownUsers {
    /// Whether `user` was recorded as existing.
    pub(super) fn contains(&self, user: &UserId) -> bool {
        self.names.read().contains(user)
    }

    /// Records that `user` exists.
    pub(super) fn insert(&self, user: UserId) {
        let mut names = self.names.write();
        if names.len() >= CAPACITY {
            names.clear();
        }
        names.insert(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_full_then_starts_over() {
        let known = KnownUsers::default();
        let user = |i: usize| UserId::parse(&format!("u{i}")).unwrap();
        assert!(!known.contains(&user(0)));
        known.insert(user(0));
        assert!(known.contains(&user(0)));
        for i in 1..CAPACITY {
            known.insert(user(i));
        }
        assert!(known.contains(&user(0)) && known.contains(&user(CAPACITY - 1)));
        known.insert(user(CAPACITY));
        assert!(!known.contains(&user(0)), "full: started over");
        assert!(known.contains(&user(CAPACITY)));
    }
}
