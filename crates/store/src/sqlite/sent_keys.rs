//! An index by idempotency key, `(sender, client_msg_id)`, looked up with
//! borrowed strings: the writer consults one for every append, and a map keyed
//! by an owned pair would cost two allocations per lookup.

use std::collections::HashMap;

#[derive(Debug)]
pub(super) struct SentKeys<V>(HashMap<String, HashMap<String, V>>);

impl<V> Default for SentKeys<V> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<V> SentKeys<V> {
    pub(super) fn get(&self, from: &str, client_msg_id: &str) -> Option<&V> {
        self.0.get(from)?.get(client_msg_id)
    }

    pub(super) fn insert(&mut self, from: &str, client_msg_id: &str, value: V) {
        self.0
            .entry(from.to_owned())
            .or_default()
            .insert(client_msg_id.to_owned(), value);
    }

    pub(super) fn remove(&mut self, from: &str, client_msg_id: &str) {
        if let Some(sent) = self.0.get_mut(from) {
            sent.remove(client_msg_id);
            if sent.is_empty() {
                self.0.remove(from);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_pairs_and_removal_leaves_no_empty_sender() {
        let mut keys = SentKeys::default();
        keys.insert("alice", "k1", 1);
        keys.insert("alice", "k2", 2);
        keys.insert("bob", "k1", 3);
        assert_eq!(keys.get("alice", "k1"), Some(&1));
        assert_eq!(keys.get("bob", "k1"), Some(&3));
        assert_eq!(keys.get("bob", "k2"), None);
        keys.remove("alice", "k1");
        keys.remove("alice", "k2");
        assert_eq!(keys.get("alice", "k2"), None);
        assert!(!keys.0.contains_key("alice"), "no empty map is kept");
    }
}
