//! The messages one transaction appended to the journal, as the writer looks
//! them up: by idempotency key and by conversation.
//!
//! The writer keeps one for its open transaction and one for each committed
//! transaction whose sync has not yet made it durable: until the syncer
//! publishes a commit to [`Recent`](super::recent::Recent), the writer is the
//! only one who knows of its messages, and the next commits build on them
//! (their seqs follow, their retries are repeats).

use std::collections::HashMap;

use koi_proto::Message;

use super::recent::{Latest, Pending};
use super::sent_keys::SentKeys;

/// One appended message and the node it came from (for the commit listener).
pub(super) struct Staged {
    pub(super) pending: Pending,
    pub(super) origin: Option<u64>,
}

#[derive(Default)]
pub(super) struct Appends {
    /// In append order, which is journal row order.
    staged: Vec<Staged>,
    /// `(sender, client_msg_id)` → index in `staged`.
    keys: SentKeys<usize>,
    /// Conversation → index in `staged` of its newest message.
    latest: HashMap<String, usize>,
}

impl Appends {
    pub(super) fn push(&mut self, staged: Staged) {
        let message = &staged.pending.message;
        if !message.client_msg_id.is_empty() {
            self.keys
                .insert(&message.from, &message.client_msg_id, self.staged.len());
        }
        self.latest.insert(message.conv.clone(), self.staged.len());
        self.staged.push(staged);
    }

    pub(super) fn len(&self) -> usize {
        self.staged.len()
    }

    /// The journal row of the first message.
    pub(super) fn first_row(&self) -> Option<i64> {
        self.staged.first().map(|s| s.pending.n)
    }

    /// The counters of `conv` as its newest message here left them.
    pub(super) fn latest(&self, conv: &str) -> Option<Latest> {
        let &i = self.latest.get(conv)?;
        Some(Latest::of(&self.staged[i].pending))
    }

    /// The message `from` sent with `client_msg_id` (never for an empty id).
    pub(super) fn by_key(&self, from: &str, client_msg_id: &str) -> Option<&Message> {
        if client_msg_id.is_empty() {
            return None;
        }
        let &i = self.keys.get(from, client_msg_id)?;
        Some(&*self.staged[i].pending.message)
    }

    /// The journal row of the message of `conv` with `seq`.
    pub(super) fn row(&self, conv: &str, seq: u64) -> Option<i64> {
        self.staged
            .iter()
            .map(|s| &s.pending)
            .find(|p| p.message.seq == seq && p.message.conv == conv)
            .map(|p| p.n)
    }

    /// The message of `conv` with `seq`.
    pub(super) fn get_mut(&mut self, conv: &str, seq: u64) -> Option<&mut Pending> {
        self.staged
            .iter_mut()
            .map(|s| &mut s.pending)
            .find(|p| p.message.seq == seq && p.message.conv == conv)
    }

    /// Forgets every message from the `len`-th on (their job failed).
    pub(super) fn truncate(&mut self, len: usize) {
        if self.staged.len() <= len {
            return;
        }
        for undone in self.staged.drain(len..) {
            let message = &undone.pending.message;
            if !message.client_msg_id.is_empty() {
                self.keys.remove(&message.from, &message.client_msg_id);
            }
        }
        // A conversation whose newest message was undone may have an older one left.
        self.latest.clear();
        for (i, staged) in self.staged.iter().enumerate() {
            self.latest.insert(staged.pending.message.conv.clone(), i);
        }
    }

    /// The messages with their origins, for publishing (sharing them).
    pub(super) fn shared(&self) -> Vec<(Pending, Option<u64>)> {
        self.staged
            .iter()
            .map(|s| (s.pending.clone(), s.origin))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(n: i64, conv: &str, seq: u64, key: &str) -> Staged {
        Staged {
            pending: Pending::sample(n, conv, seq, key),
            origin: None,
        }
    }

    /// Lookups find the newest message of a conversation and keyed ones; a
    /// truncation takes the undone messages out of both indexes.
    #[test]
    fn lookups_follow_pushes_and_truncation() {
        let mut appends = Appends::default();
        appends.push(staged(1, "a", 1, "k1"));
        appends.push(staged(2, "b", 1, ""));
        appends.push(staged(3, "a", 2, "k3"));
        assert_eq!(appends.latest("a").map(|l| l.seq), Some(2));
        assert_eq!(appends.by_key("alice", "k1").map(|m| m.seq), Some(1));
        assert_eq!(appends.by_key("alice", ""), None, "an empty key is no key");
        assert_eq!(appends.first_row(), Some(1));
        assert_eq!(appends.row("b", 1), Some(2));
        assert!(appends.get_mut("b", 1).is_some());
        assert!(appends.get_mut("b", 2).is_none());

        appends.truncate(2);
        assert_eq!(appends.len(), 2);
        assert_eq!(appends.latest("a").map(|l| l.seq), Some(1), "a's older one");
        assert_eq!(appends.by_key("alice", "k3"), None);
        assert_eq!(appends.shared().len(), 2);
    }
}
