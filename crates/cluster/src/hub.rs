use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use tokio::sync::mpsc;

use crate::{ConnHandle, ConnId, Push};

/// A change in what this node needs to hear about from other nodes: a user got
/// their first connection here or lost their last, a group got its first member
/// online here or lost its last. A cluster router follows these to keep its
/// subscriptions in step with the hub (see [`Hub::watch_interest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interest {
    /// `user` has a connection here now, and had none.
    UserOn(String),
    /// `user`'s last connection here is gone.
    UserOff(String),
    /// `group` has a member online here now, and had none.
    GroupOn(String),
    /// `group`'s last member online here is gone (or left the group).
    GroupOff(String),
}

/// Connections a group push is queued for in one turn.
///
/// Each queued push wakes that connection's task, and the runtime runs woken
/// tasks first come, first served: a push to 10,000 members online here,
/// queued all at once, would put 10,000 wake-ups ahead of every other user's
/// next push or reply (tens of milliseconds). So a [`Push::paced`] group
/// delivery goes in turns of this many, and before the next turn it waits
/// (asleep, woken by the connections as they take the push; [`FANOUT_PACE`]
/// at most) until all but half a turn of the connections queued so far have
/// taken it: other work waits behind about one turn of wake-ups, and the
/// runtime never runs out of the group's work while there is some. Pacing is
/// for a push with nothing behind it: when pushes queue up, unpaced ones go to
/// every device at once, so that each connection's task finds several queued
/// and writes them together, which is what keeps an overloaded node
/// delivering (at 200,000 deliveries/s offered, turns for every push cost a
/// sixth of the deliveries and a third more CPU each: docs/benchmarks.md).
///
/// The smaller the turn, the fewer wake-ups a direct message's every hop can
/// find ahead of it: beside a push a second to 10,000 members, other users'
/// direct p99 was 18.5–22 ms with turns of 256, 11–12 ms with 64 and 10–13 ms
/// with 32, for the same fan-out rate and CPU per delivery.
pub const FANOUT_TURN: usize = 32;

/// The longest a paced group delivery waits for one turn's connections.
const FANOUT_PACE: Duration = Duration::from_millis(5);

/// The most devices a paced group delivery reaches per millisecond.
///
/// Turns alone let a push to 10,000 members online go out as fast as the
/// node can write, and on two cores shared with the bench's 10,000 receiving
/// connections, that kept both cores busy for the 120–130 ms of its delivery:
/// every hop of another user's direct message then waited for a core, which
/// added 7.3–11 ms to its p99. At 48 a millisecond (10,000 in about 210 ms)
/// the cores keep room for other work: 3.7–5.7 ms added, and the group's own
/// p50 fell to 115 ms (docs/benchmarks.md, "A fast Intel VM"). 64 did not
/// help (the node wrote no faster than that anyway). The pace holds only while
/// nothing queues up behind the push ([`Push::paced`]), so it never limits how
/// fast a busy node delivers.
pub const PACED_PER_MS: u32 = 48;

/// When a paced delivery may start on its device number `done`, after its start.
fn paced_time(done: usize) -> Duration {
    Duration::from_micros(done as u64 * 1000 / u64::from(PACED_PER_MS))
}

/// This node's live connections by user, and for each group the users online here
/// who belong to it, so that a group push costs work in proportion to its members
/// online on this node, not to its size.
///
/// Nothing here awaits under the lock: delivering is a non-blocking write into
/// each connection's bounded queue. Only a group's delivery awaits, between
/// turns of [`FANOUT_TURN`] connections, with the lock released.
#[derive(Debug, Default)]
pub struct Hub {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    users: HashMap<String, Vec<Arc<ConnHandle>>>,
    /// For each group, its members online here, each with the last seq of the
    /// group's messages that are not theirs to get (see [`Hub::group_joined`]).
    groups: HashMap<String, HashMap<String, u64>>,
    user_groups: HashMap<String, HashSet<String>>,
    /// Where interest changes go, once a router watches them.
    watcher: Option<mpsc::UnboundedSender<Interest>>,
}

impl Inner {
    /// Tells the watcher, if any; a watcher that went away is forgotten.
    fn emit(&mut self, change: Interest) {
        if let Some(tx) = &self.watcher
            && tx.send(change).is_err()
        {
            self.watcher = None;
        }
    }
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a connection; true when it is the user's first on this node.
    pub fn attach(&self, conn: Arc<ConnHandle>) -> bool {
        let mut inner = self.inner.write();
        let user = conn.user().to_owned();
        let devices = inner.users.entry(user.clone()).or_default();
        devices.push(conn);
        let first = devices.len() == 1;
        if first {
            inner.emit(Interest::UserOn(user));
        }
        first
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
        inner.emit(Interest::UserOff(user.to_owned()));
        for group in inner.user_groups.remove(user).unwrap_or_default() {
            remove_interest(&mut inner, &group, user);
        }
        true
    }

    /// Records the groups of a user who is online here (members of long
    /// standing: every message of the group is theirs to get).
    pub fn set_user_groups(&self, user: &str, groups: impl IntoIterator<Item = String>) {
        self.add_member_of(user, groups, None);
    }

    /// Adds `user`, when online here, to `groups`; with `after`, as a new
    /// member who gets none of the messages up to that seq.
    fn add_member_of(
        &self,
        user: &str,
        groups: impl IntoIterator<Item = String>,
        after: Option<u64>,
    ) {
        let mut inner = self.inner.write();
        if !inner.users.contains_key(user) {
            return;
        }
        for group in groups {
            let members = inner.groups.entry(group.clone()).or_default();
            let first = members.is_empty();
            match after {
                Some(seq) => {
                    members.insert(user.to_owned(), seq);
                }
                None => {
                    members.entry(user.to_owned()).or_insert(0);
                }
            }
            if first {
                inner.emit(Interest::GroupOn(group.clone()));
            }
            inner
                .user_groups
                .entry(user.to_owned())
                .or_default()
                .insert(group);
        }
    }

    /// `user` joined `group` when its last message was `after_seq`: from now
    /// on they get its pushes here, if online here, except those of messages
    /// up to `after_seq`, which were sent while they were not a member. (A
    /// push of such a message can still be on its way: sent and acknowledged
    /// before the join, but queued for fan-out, or in flight from another node.)
    pub fn group_joined(&self, group: &str, user: &str, after_seq: u64) {
        self.add_member_of(user, [group.to_owned()], Some(after_seq));
    }

    /// `user` left `group`.
    pub fn group_left(&self, group: &str, user: &str) {
        let mut inner = self.inner.write();
        if let Some(groups) = inner.user_groups.get_mut(user) {
            groups.remove(group);
        }
        remove_interest(&mut inner, group, user);
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
    /// `except` and, when given, every device of `skip_user`; returns how many
    /// devices it was queued for. A [`Push::paced`] one goes in turns of
    /// [`FANOUT_TURN`] devices, waiting for each to be taken.
    pub async fn deliver_group(
        &self,
        group: &str,
        push: &Arc<Push>,
        except: Option<ConnId>,
        skip_user: Option<&str>,
    ) -> u32 {
        let devices = self.group_devices(group, push.msg_seq(), except, skip_user);
        let queue = |turn: &[Arc<ConnHandle>]| -> u32 {
            turn.iter().map(|c| u32::from(c.push(push.clone()))).sum()
        };
        if !push.is_paced() {
            // All at once (see FANOUT_TURN).
            return queue(&devices);
        }
        let start = tokio::time::Instant::now();
        let mut reached = 0;
        for (i, turn) in devices.chunks(FANOUT_TURN).enumerate() {
            if i > 0 {
                let done = i * FANOUT_TURN;
                if !push.is_paced() {
                    // Pushes queued up behind it: the rest at once.
                    return reached + queue(&devices[done..]);
                }
                let mark = (reached as usize).saturating_sub(FANOUT_TURN / 2);
                push.taken().at_least(mark, FANOUT_PACE).await;
                tokio::time::sleep_until(start + paced_time(done)).await;
            }
            reached += queue(turn);
        }
        reached
    }

    /// The devices a push to `group` goes to (see [`Hub::deliver_group`]),
    /// taken under the lock so that delivering them need not hold it.
    fn group_devices(
        &self,
        group: &str,
        seq: Option<u64>,
        except: Option<ConnId>,
        skip_user: Option<&str>,
    ) -> Vec<Arc<ConnHandle>> {
        let inner = self.inner.read();
        let Some(members) = inner.groups.get(group) else {
            return Vec::new();
        };
        members
            .iter()
            .filter(|(_, after)| seq.is_none_or(|seq| seq > **after))
            .map(|(u, _)| u)
            .filter(|u| Some(u.as_str()) != skip_user)
            .filter_map(|u| inner.users.get(u))
            .flatten()
            .filter(|c| Some(c.id()) != except)
            .cloned()
            .collect()
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

    /// How many users online here are members of `group`.
    pub fn local_members(&self, group: &str) -> usize {
        self.inner.read().groups.get(group).map_or(0, HashMap::len)
    }

    /// The groups of `user` that this hub knows (empty unless online here).
    pub fn groups_of(&self, user: &str) -> Vec<String> {
        self.inner
            .read()
            .user_groups
            .get(user)
            .map(|g| g.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Starts reporting [`Interest`] changes, in the order they happen. The
    /// receiver first gets the current state (a `UserOn` for each user online
    /// here, a `GroupOn` for each group with a member online here). One watcher
    /// at a time: a new one replaces the old, whose channel then ends.
    pub fn watch_interest(&self) -> mpsc::UnboundedReceiver<Interest> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = self.inner.write();
        for user in inner.users.keys() {
            let _ = tx.send(Interest::UserOn(user.clone()));
        }
        for group in inner.groups.keys() {
            let _ = tx.send(Interest::GroupOn(group.clone()));
        }
        inner.watcher = Some(tx);
        rx
    }

    /// Calls `f` on every connection, under the hub's read lock: `f` must be
    /// quick and must not call back into the hub.
    pub fn each(&self, mut f: impl FnMut(&Arc<ConnHandle>)) {
        for conn in self.inner.read().users.values().flatten() {
            f(conn);
        }
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

fn remove_interest(inner: &mut Inner, group: &str, user: &str) {
    if let Some(members) = inner.groups.get_mut(group) {
        members.remove(user);
        if members.is_empty() {
            inner.groups.remove(group);
            inner.emit(Interest::GroupOff(group.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use koi_proto::{Encoding, Kicked, frame::Op};

    use super::*;
    use crate::{Backlog, Kick};

    fn conn(id: ConnId, user: &str, cap: usize) -> Arc<ConnHandle> {
        Arc::new(ConnHandle::new(id, user.into(), cap, Encoding::Json))
    }

    fn push() -> Arc<Push> {
        Arc::new(Push::new(Op::Kicked(Kicked { reason: "x".into() })))
    }

    /// `members` users `u<i>`, one connection each, all in the group `big`.
    fn big_group(hub: &Hub, members: usize) -> Vec<Arc<ConnHandle>> {
        let conns: Vec<_> = (0..members)
            .map(|i| conn(i as ConnId, &format!("u{i}"), 4))
            .collect();
        for (i, c) in conns.iter().enumerate() {
            hub.attach(c.clone());
            hub.set_user_groups(&format!("u{i}"), ["big".to_owned()]);
        }
        conns
    }

    #[tokio::test]
    async fn group_pushes_reach_online_members_once_each() {
        let hub = Hub::new();
        let (a1, a2, b) = (conn(1, "a", 8), conn(2, "a", 8), conn(3, "b", 8));
        assert!(hub.attach(a1.clone()));
        assert!(!hub.attach(a2.clone()));
        assert!(hub.attach(b.clone()));
        hub.set_user_groups("a", ["g1".to_owned()]);
        hub.set_user_groups("b", ["g1".to_owned(), "g2".to_owned()]);
        assert_eq!(hub.deliver_group("g1", &push(), Some(1), None).await, 2);
        assert!(a1.next_queued().is_none());
        assert!(a2.next_queued().is_some() && b.next_queued().is_some());
        hub.group_left("g1", "b");
        assert_eq!(hub.deliver_group("g1", &push(), None, Some("a")).await, 0);
        assert!(!hub.detach("a", 1));
        assert!(hub.detach("a", 2));
        assert_eq!(hub.deliver_group("g1", &push(), None, None).await, 0);
    }

    #[tokio::test]
    async fn a_group_larger_than_a_turn_is_reached_whole_and_once() {
        let hub = Hub::new();
        let members = 2 * FANOUT_TURN + 7;
        let conns = big_group(&hub, members);
        let paced = Op::Kicked(Kicked { reason: "p".into() });
        let paced = Arc::new(Push::new(paced).paced(Backlog::default()));
        for push in [push(), paced] {
            let reached = hub.deliver_group("big", &push, Some(3), Some("u5")).await;
            assert_eq!(reached as usize, members - 2);
            for (i, c) in conns.iter().enumerate() {
                let got = c.take_queued().len();
                assert_eq!(got, usize::from(i != 3 && i != 5), "member {i}");
            }
        }
    }

    /// A push queued behind a paced delivery ends its pace: the rest goes at
    /// once, and still every member gets it exactly once.
    #[tokio::test]
    async fn a_paced_delivery_with_a_push_queued_behind_it_reaches_each_member_once() {
        let hub = Hub::new();
        let members = 4 * FANOUT_TURN;
        let conns = big_group(&hub, members);
        let backlog = Backlog::default();
        let push = Op::Kicked(Kicked { reason: "p".into() });
        let push = Arc::new(Push::new(push).paced(backlog.clone()));
        // Once the first turn is out (nobody takes it, so the delivery waits
        // for it), another push queues up behind.
        let first = conns[0].clone();
        let behind = tokio::spawn(async move {
            first.queued().await;
            backlog.queued();
        });
        let reached = hub.deliver_group("big", &push, None, None).await;
        behind.await.expect("the queuing task");
        assert_eq!(reached as usize, members);
        for (i, c) in conns.iter().enumerate() {
            assert_eq!(c.take_queued().len(), 1, "member {i}");
        }
    }

    #[test]
    fn a_paced_delivery_reaches_its_devices_at_its_pace() {
        let per_ms = PACED_PER_MS as usize;
        assert_eq!(paced_time(0), Duration::ZERO);
        assert_eq!(paced_time(per_ms), Duration::from_millis(1));
        assert_eq!(paced_time(10 * per_ms), Duration::from_millis(10));
    }

    #[tokio::test]
    async fn a_new_member_gets_no_message_from_before_the_join() {
        let hub = Hub::new();
        let (old, new) = (conn(1, "old", 8), conn(2, "new", 8));
        hub.attach(old.clone());
        hub.attach(new.clone());
        hub.set_user_groups("old", ["g".to_owned()]);
        hub.group_joined("g", "new", 5);
        let msg = |seq| {
            Arc::new(Push::new(Op::Msg(koi_proto::Message {
                conv: "g:g".into(),
                seq,
                ..Default::default()
            })))
        };
        assert_eq!(hub.deliver_group("g", &msg(5), None, None).await, 1);
        assert_eq!((old.take_queued().len(), new.take_queued().len()), (1, 0));
        for push in [msg(6), push()] {
            assert_eq!(hub.deliver_group("g", &push, None, None).await, 2);
            assert_eq!((old.take_queued().len(), new.take_queued().len()), (1, 1));
        }
        // Loading a member's groups again keeps what the join said.
        hub.set_user_groups("new", ["g".to_owned()]);
        assert_eq!(hub.deliver_group("g", &msg(4), None, None).await, 1);
    }

    #[test]
    fn interest_changes_are_reported_in_order() {
        let hub = Hub::new();
        hub.attach(conn(1, "a", 8));
        hub.set_user_groups("a", ["g0".to_owned()]);
        let mut rx = hub.watch_interest();
        let mut seen = Vec::new();
        let mut drain = |rx: &mut mpsc::UnboundedReceiver<Interest>| {
            seen.clear();
            while let Ok(change) = rx.try_recv() {
                seen.push(change);
            }
            seen.clone()
        };
        use Interest::*;
        assert_eq!(
            drain(&mut rx),
            [UserOn("a".into()), GroupOn("g0".into())],
            "the current state first"
        );
        hub.attach(conn(2, "b", 8));
        hub.attach(conn(3, "b", 8));
        hub.set_user_groups("b", ["g0".to_owned(), "g1".to_owned()]);
        assert_eq!(drain(&mut rx), [UserOn("b".into()), GroupOn("g1".into())]);
        hub.group_left("g1", "b");
        hub.group_joined("g2", "b", 0);
        hub.group_joined("g2", "nobody-here", 0);
        assert_eq!(
            drain(&mut rx),
            [GroupOff("g1".into()), GroupOn("g2".into())]
        );
        assert!(!hub.detach("b", 2));
        assert_eq!(hub.local_members("g0"), 2);
        assert!(hub.detach("b", 3));
        let mut last = drain(&mut rx);
        last[1..].sort_by_key(|c| format!("{c:?}"));
        assert_eq!(last, [UserOff("b".into()), GroupOff("g2".into())]);
        assert_eq!(hub.local_members("g0"), 1);
        assert_eq!(hub.groups_of("a"), ["g0"]);
    }

    #[test]
    fn a_full_queue_kicks_the_slow_consumer() {
        let hub = Hub::new();
        let c = conn(1, "a", 2);
        hub.attach(c.clone());
        assert_eq!(hub.deliver_user("a", &push(), None), 1);
        assert_eq!(hub.deliver_user("a", &push(), None), 1);
        assert_eq!(hub.deliver_user("a", &push(), None), 0);
        assert_eq!(c.kicked(), Some(Kick::SlowConsumer));
    }
}
