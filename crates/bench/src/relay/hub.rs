//! What the null relay keeps in memory: the open connections by user, one seq
//! counter per conversation, and the groups: their members, and for each the
//! connections of its members online (so a group push costs work in proportion
//! to them, as on a node). No I/O: sessions hand encoded frames to the queues
//! it returns.

use std::collections::{HashMap, HashSet};
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
    groups: RwLock<Groups>,
    seqs: Mutex<HashMap<String, u64>>,
    next_id: AtomicU64,
}

/// The groups, kept consistent with `peers` (join and leave update both).
#[derive(Debug, Default)]
struct Groups {
    next_group: u64,
    /// Group id → its members.
    members: HashMap<String, HashSet<String>>,
    /// User → the groups they belong to.
    of_user: HashMap<String, HashSet<String>>,
    /// Group id → the connections of its members online, by connection id.
    online: HashMap<String, HashMap<u64, Peer>>,
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
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
        // Lock order everywhere: groups, then peers.
        let mut groups = write(&self.groups);
        write(&self.peers)
            .entry(user.to_owned())
            .or_default()
            .push(peer.clone());
        let Groups {
            of_user, online, ..
        } = &mut *groups;
        for group in of_user.get(user).into_iter().flatten() {
            online
                .entry(group.clone())
                .or_default()
                .insert(peer.id, peer.clone());
        }
        peer
    }

    /// Forgets connection `id` of `user`.
    pub fn leave(&self, user: &str, id: u64) {
        let mut groups = write(&self.groups);
        let mut peers = write(&self.peers);
        if let Some(list) = peers.get_mut(user) {
            list.retain(|p| p.id != id);
            if list.is_empty() {
                peers.remove(user);
            }
        }
        let Groups {
            of_user, online, ..
        } = &mut *groups;
        for group in of_user.get(user).into_iter().flatten() {
            if let Some(conns) = online.get_mut(group) {
                conns.remove(&id);
            }
        }
    }

    /// A new group of `owner` and `members`; returns its id.
    pub fn create_group(&self, owner: &str, members: &[String]) -> String {
        let id = {
            let mut groups = write(&self.groups);
            groups.next_group += 1;
            let id = format!("nr{}", groups.next_group);
            groups.members.insert(id.clone(), HashSet::new());
            id
        };
        self.add_members(
            &id,
            std::iter::once(owner).chain(members.iter().map(String::as_str)),
        );
        id
    }

    /// Adds `users` to `group`; false when there is no such group.
    pub fn add_members<'a>(&self, group: &str, users: impl IntoIterator<Item = &'a str>) -> bool {
        let mut groups = write(&self.groups);
        let peers = read(&self.peers);
        let Groups {
            members,
            of_user,
            online,
            ..
        } = &mut *groups;
        let Some(members) = members.get_mut(group) else {
            return false;
        };
        let online = online.entry(group.to_owned()).or_default();
        for user in users {
            if !members.insert(user.to_owned()) {
                continue;
            }
            of_user
                .entry(user.to_owned())
                .or_default()
                .insert(group.to_owned());
            for peer in peers.get(user).into_iter().flatten() {
                online.insert(peer.id, peer.clone());
            }
        }
        true
    }

    /// How many members `group` has, if it exists.
    pub fn group_size(&self, group: &str) -> Option<usize> {
        read(&self.groups).members.get(group).map(HashSet::len)
    }

    /// Every online connection of `group`'s members but `except` (the
    /// sender's own); `None` unless `user` is a member.
    pub fn group_peers(&self, group: &str, user: &str, except: u64) -> Option<Vec<Peer>> {
        let groups = read(&self.groups);
        if !groups.members.get(group)?.contains(user) {
            return None;
        }
        let online = groups
            .online
            .get(group)
            .into_iter()
            .flat_map(HashMap::values);
        Some(online.filter(|p| p.id != except).cloned().collect())
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
        let peers = read(&self.peers);
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

    #[test]
    fn a_group_push_reaches_its_members_online_whenever_they_joined() {
        let hub = Hub::default();
        let (tx, _rx) = mpsc::channel(1);
        let early = hub.join("early", Encoding::Json, tx.clone());
        let sender = hub.join("owner", Encoding::Json, tx.clone());
        let group = hub.create_group("owner", &["early".to_owned(), "late".to_owned()]);
        assert_eq!(hub.group_size(&group), Some(3));
        let late = hub.join("late", Encoding::Protobuf, tx.clone());
        let _stranger = hub.join("stranger", Encoding::Json, tx.clone());
        let ids = |peers: Vec<Peer>| {
            let mut ids: Vec<_> = peers.iter().map(|p| p.id).collect();
            ids.sort();
            ids
        };
        let peers = |user| hub.group_peers(&group, user, sender.id).map(ids);
        assert_eq!(peers("owner"), Some(vec![early.id, late.id]));
        assert_eq!(peers("stranger"), None, "not a member yet");
        assert!(hub.add_members(&group, ["stranger", "early"]));
        assert_eq!(
            hub.group_size(&group),
            Some(4),
            "a member added twice counts once"
        );
        assert_eq!(peers("stranger").map(|p| p.len()), Some(3));
        hub.leave("late", late.id);
        assert_eq!(peers("owner").map(|p| p.len()), Some(2));
        assert!(!hub.add_members("no-such-group", ["early"]));
        assert!(hub.group_peers("no-such-group", "owner", 0).is_none());
    }
}
