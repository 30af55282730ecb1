//! What the null relay keeps in memory: the open connections by user, and one
//! seq counter per conversation. No I/O: sessions hand encoded frames to the
//! queues it returns.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};

use bytes::Bytes;
use koi_proto::Encoding;
use tokio::sync::mpsc;

/// One open connection: where its outgoing frames go, and their encoding.
#[derive(Debug, Clone)]
pub struct Peer {
    pub id: u64,
    pub encoding: Encoding,
    pub queue: mpsc::Sender<Bytes>,
}

#[derive(Debug, Default)]
pub struct Hub {
    peers: RwLock<HashMap<String, Vec<Peer>>>,
    seqs: Mutex<HashMap<String, u64>>,
    next_id: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Hub {
    /// Registers a connection of `user`; returns it with its id.
    pub fn join(&self, user: &str, encoding: Encoding, queue: mpsc::Sender<Bytes>) -> Peer {
        let peer = Peer {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            encoding,
            queue,
        };
        let mut peers = self.peers.write().unwrap_or_else(PoisonError::into_inner);
        peers.entry(user.to_owned()).or_default().push(peer.clone());
        peer
    }

    /// Forgets connection `id` of `user`.
    pub fn leave(&self, user: &str, id: u64) {
        let mut peers = self.peers.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = peers.get_mut(user) {
            list.retain(|p| p.id != id);
            if list.is_empty() {
                peers.remove(user);
            }
        }
    }

    /// The next seq of `conv`, from 1.
    pub fn next_seq(&self, conv: &str) -> u64 {
        let mut seqs = lock(&self.seqs);
        let seq = match seqs.get_mut(conv) {
            Some(seq) => seq,
            None => seqs.entry(conv.to_owned()).or_default(),
        };
        *seq += 1;
        *seq
    }

    /// Every connection of `users` but connection `except` (the sender's own).
    pub fn peers_of(&self, users: [&str; 2], except: u64) -> Vec<Peer> {
        let peers = self.peers.read().unwrap_or_else(PoisonError::into_inner);
        let distinct = if users[0] == users[1] { 1 } else { 2 };
        users[..distinct]
            .iter()
            .filter_map(|u| peers.get(*u))
            .flatten()
            .filter(|p| p.id != except)
            .cloned()
            .collect()
    }
}

/// The conversation between `a` and `b`: `d:<lower>:<higher>`.
pub fn direct_conv(a: &str, b: &str) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    format!("d:{lo}:{hi}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqs_count_per_conversation_and_pushes_skip_the_sender() {
        let hub = Hub::default();
        assert_eq!(direct_conv("bob", "alice"), "d:alice:bob");
        assert_eq!(hub.next_seq("d:a:b"), 1);
        assert_eq!(hub.next_seq("d:a:b"), 2);
        assert_eq!(hub.next_seq("d:a:c"), 1);

        let (tx, _rx) = mpsc::channel(1);
        let a1 = hub.join("a", Encoding::Json, tx.clone());
        let a2 = hub.join("a", Encoding::Protobuf, tx.clone());
        let b = hub.join("b", Encoding::Json, tx);
        let ids = |peers: Vec<Peer>| peers.iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(ids(hub.peers_of(["a", "b"], a1.id)), [a2.id, b.id]);
        hub.leave("b", b.id);
        assert_eq!(ids(hub.peers_of(["a", "b"], a1.id)), [a2.id]);
        assert_eq!(ids(hub.peers_of(["a", "a"], a2.id)), [a1.id]);
    }
}
