//! Facts this node has seen that never become false again, so that a direct
//! send does not read the store to learn them again: users that exist, and
//! direct conversations that hold a message (and so were started, §13 `dm`).
//!
//! Accounts are never deleted (a deleted one keeps its name) and messages are
//! never removed, so a positive answer may be kept for good; a negative one
//! is never kept (the user may register a moment later, on any node). The set
//! is bounded: past [`CAPACITY`] names it starts over, which costs one store
//! read per name.

use std::collections::HashSet;
use std::hash::Hash;

use koi_core::UserId;
use parking_lot::RwLock;

/// The most names kept (about 64 bytes each).
const CAPACITY: usize = 200_000;

#[derive(Debug)]
pub(super) struct Known<T> {
    names: RwLock<HashSet<T>>,
}

/// Users known to exist.
pub(super) type KnownUsers = Known<UserId>;

impl<T> Default for Known<T> {
    fn default() -> Self {
        Self {
            names: RwLock::new(HashSet::new()),
        }
    }
}

impl<T: Hash + Eq> Known<T> {
    /// Whether `user` was recorded.
    pub(super) fn contains(&self, user: &T) -> bool {
        self.names.read().contains(user)
    }

    /// Records `user`.
    pub(super) fn insert(&self, user: T) {
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
