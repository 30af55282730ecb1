use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::{ConnHandle, ConnId, Push};

/// This node's live connections by user, and for each group the users online here
/// who belong to it, so that a group push costs work in proportion to its members
/// online on this node, not to its size.
///
/// Everything here is synchronous and never awaits under the lock: delivering is
/// a non-blocking write into each connection's bounded queue.
#[derive(Debug, Default)]
pub struct Hub {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    users: HashMap<String, Vec<Arc<ConnHandle>>>,
    groups: HashMap<String, HashSet<String>>,
    user_groups: HashMap<String, HashSet<String>>,
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a connection; true when it is the user's first on this node.
    pub fn attach(&self, conn: Arc<ConnHandle>) -> bool {
        let mut inner = self.inner.write();
        let devices = inner.users.entry(conn.user().to_owned()).or_default();
        devices.push(conn);
        devices.len() == 1
    }

    /// Removes a connection; true when it was the user's last on this node (the
    /// user's group interest is dropped then).
    pub fn detach(&self, user: &str, id: ConnId) -> bool {
        let mut inner = self.inner.write();
        let Some(devices) = inner.users.get_mut(user) else {
            return false;
        };
        let before = devices.len();
        devices.retain(|c| c.id() != id);
        if devices.len() == before || !devices.is_empty() {
            return false;
        }
        inner.users.remove(user);
        for group in inner.user_groups.remove(user).unwrap_or_default() {
            remove_interest(&mut inner.groups, &group, user);
        }
        true
    }

    /// Records the groups of a user who is online here.
    pub fn set_user_groups(&self, user: &str, groups: impl IntoIterator<Item = String>) {
        let mut inner = self.inner.write();
        if !inner.users.contains_key(user) {
            return;
        }
        for group in groups {
            inner
                .groups
                .entry(group.clone())
                .or_default()
                .insert(user.to_owned());
            inner
                .user_groups
                .entry(user.to_owned())
                .or_default()
                .insert(group);
        }
    }

    /// `user` joined `group`: from now on they get its pushes here, if online here.
    pub fn group_joined(&self, group: &str, user: &str) {
        self.set_user_groups(user, [group.to_owned()]);
    }

    /// `user` left `group`.
    pub fn group_left(&self, group: &str, user: &str) {
        let mut inner = self.inner.write();
        if let Some(groups) = inner.user_groups.get_mut(user) {
            groups.remove(group);
        }
        remove_interest(&mut inner.groups, group, user);
    }

    /// Pushes to every device of `user` here except `except`; returns how many
    /// devices the push was queued for.
    pub fn deliver_user(&self, user: &str, push: &Arc<Push>, except: Option<ConnId>) -> u32 {
        let inner = self.inner.read();
        deliver(&inner, user, push, except)
    }

    /// Pushes to every device here of each of `users` except `except`.
    pub fn deliver_users<'a>(
        &self,
        users: impl IntoIterator<Item = &'a str>,
        push: &Arc<Push>,
        except: Option<ConnId>,
    ) -> u32 {
        let inner = self.inner.read();
        users
            .into_iter()
            .map(|u| deliver(&inner, u, push, except))
            .sum()
    }

    /// Pushes to every device here of every member of `group` online here, except
    /// `except` and, when given, every device of `skip_user`.
    pub fn deliver_group(
        &self,
        group: &str,
        push: &Arc<Push>,
        except: Option<ConnId>,
        skip_user: Option<&str>,
    ) -> u32 {
        let inner = self.inner.read();
        let Some(members) = inner.groups.get(group) else {
            return 0;
        };
        members
            .iter()
            .filter(|u| Some(u.as_str()) != skip_user)
            .map(|u| deliver(&inner, u, push, except))
            .sum()
    }

    /// How many connections `user` has here.
    pub fn devices(&self, user: &str) -> u32 {
        self.inner
            .read()
            .users
            .get(user)
            .map_or(0, |d| d.len() as u32)
    }

    /// Whether `user` has a connection here.
    pub fn is_online(&self, user: &str) -> bool {
        self.inner.read().users.contains_key(user)
    }

    /// Connections held here.
    pub fn connections(&self) -> usize {
        self.inner.read().users.values().map(Vec::len).sum()
    }

    /// Distinct users connected here.
    pub fn users(&self) -> usize {
        self.inner.read().users.len()
    }

    /// Every connection, e.g. to kick them all at shutdown.
    pub fn all(&self) -> Vec<Arc<ConnHandle>> {
        self.inner
            .read()
            .users
            .values()
            .flatten()
            .cloned()
            .collect()
    }
}

fn deliver(inner: &Inner, user: &str, push: &Arc<Push>, except: Option<ConnId>) -> u32 {
    let Some(devices) = inner.users.get(user) else {
        return 0;
    };
    devices
        .iter()
        .filter(|c| Some(c.id()) != except)
        .map(|c| u32::from(c.push(push.clone())))
        .sum()
}

fn remove_interest(groups: &mut HashMap<String, HashSet<String>>, group: &str, user: &str) {
    if let Some(members) = groups.get_mut(group) {
        members.remove(user);
        if members.is_empty() {
            groups.remove(group);
        }
    }
}

#[cfg(test)]
mod tests {
    use koi_proto::{Encoding, Kicked, frame::Op};
    use tokio::sync::mpsc;

    use super::*;
    use crate::{Kick, Outbound};

    fn conn(id: ConnId, user: &str, cap: usize) -> (Arc<ConnHandle>, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(cap);
        (
            Arc::new(ConnHandle::new(id, user.into(), tx, Encoding::Json)),
            rx,
        )
    }

    fn push() -> Arc<Push> {
        Arc::new(Push::new(Op::Kicked(Kicked { reason: "x".into() })))
    }

    #[test]
    fn group_pushes_reach_online_members_once_each() {
        let hub = Hub::new();
        let (a1, mut ra1) = conn(1, "a", 8);
        let (a2, mut ra2) = conn(2, "a", 8);
        let (b, mut rb) = conn(3, "b", 8);
        assert!(hub.attach(a1));
        assert!(!hub.attach(a2));
        assert!(hub.attach(b));
        hub.set_user_groups("a", ["g1".to_owned()]);
        hub.set_user_groups("b", ["g1".to_owned(), "g2".to_owned()]);
        assert_eq!(hub.deliver_group("g1", &push(), Some(1), None), 2);
        assert!(ra1.try_recv().is_err());
        assert!(ra2.try_recv().is_ok() && rb.try_recv().is_ok());
        hub.group_left("g1", "b");
        assert_eq!(hub.deliver_group("g1", &push(), None, Some("a")), 0);
        assert!(!hub.detach("a", 1));
        assert!(hub.detach("a", 2));
        assert_eq!(hub.deliver_group("g1", &push(), None, None), 0);
    }

    #[test]
    fn a_full_queue_kicks_the_slow_consumer() {
        let hub = Hub::new();
        let (c, _rx) = conn(1, "a", 2);
        hub.attach(c.clone());
        assert_eq!(hub.deliver_user("a", &push(), None), 1);
        assert_eq!(hub.deliver_user("a", &push(), None), 1);
        assert_eq!(hub.deliver_user("a", &push(), None), 0);
        assert_eq!(c.kicked(), Some(Kick::SlowConsumer));
    }
}
