//! Pushes of one conversation in `seq` order on every node (§5: "within one
//! conversation, pushes to one connection arrive in seq order").
//!
//! One node's pushes of a conversation leave in order (one fan-out shard owns
//! it), but a conversation written on several nodes reaches a node along
//! several paths: its own writes straight into the hub, each other node's over
//! its own NATS connection. Seq 5, committed on this node just after seq 4
//! committed on another, would reach a device here first.
//!
//! So every `msg` push goes through a [`Sequencer`] on its way into the hub,
//! keyed by what it is delivered to (a user's devices, or a group's members
//! here) and its conversation. A push whose seq is the next one is delivered,
//! with any that waited behind it; one that comes early waits (at most
//! [`HOLD`]) for those before it; when the wait runs out, what waited is
//! delivered in order past the gap, and a push that comes later still is
//! dropped: its devices have seen a gap, and catch up with `history`. A key
//! first seen, or quiet for [`QUIET`], starts from the seq that comes, after
//! waiting [`FIRST_HOLD`] for one just before it that may be on its way.
//! Seqs are gap-free within a conversation (a seq is taken in the
//! transaction that stores the message), so a wait only runs out when a push
//! was lost or this node was not listening.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::router::Target;
use crate::{ConnId, Hub, Push};

/// How long an early push waits for the ones before it: long enough for a
/// busy node's publish to arrive, since what runs out of it is dropped; a
/// wait only runs this long when a push was lost.
pub(super) const HOLD: Duration = Duration::from_secs(1);

/// How long the first push of a key waits for one just before it: the delay
/// a conversation's first message after a quiet minute gets on each node.
pub(super) const FIRST_HOLD: Duration = Duration::from_millis(50);

/// A key quiet this long starts over (and is forgotten at the next sweep).
pub(super) const QUIET: Duration = Duration::from_secs(60);

/// Keys beyond which a delivery first sweeps out the quiet ones.
const SWEEP_ABOVE: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    target: Target,
    conv: String,
}

/// A push waiting for the ones before it, with how to deliver it.
struct Held {
    push: Arc<Push>,
    except: Option<ConnId>,
    skip_user: Option<String>,
}

/// One key's place in its conversation.
struct Slot {
    /// The seq expected next; `None` before the first (or after a quiet spell).
    next: Option<u64>,
    held: BTreeMap<u64, Held>,
    /// When what is held goes out if the gap before it stays: set when the
    /// first push starts waiting, so that each wait gets its whole time.
    deadline: Option<Instant>,
    /// Whether a timer will deliver what is held.
    timer: bool,
    used: Instant,
}

/// Puts each key's `msg` pushes in seq order before they reach the hub.
pub(super) struct Sequencer {
    hub: Arc<Hub>,
    slots: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<Slot>>>>,
    swept: Mutex<Instant>,
}

impl Sequencer {
    pub(super) fn new(hub: Arc<Hub>) -> Arc<Self> {
        Arc::new(Self {
            hub,
            slots: Mutex::new(HashMap::new()),
            swept: Mutex::new(Instant::now()),
        })
    }

    /// Delivers `push` to `target`'s devices here, in its conversation's
    /// order; returns how many devices it was queued for now (0 while it
    /// waits).
    pub(super) async fn deliver(
        self: &Arc<Self>,
        target: &Target,
        push: Arc<Push>,
        except: Option<ConnId>,
        skip_user: Option<&str>,
    ) -> u32 {
        let Some((conv, seq)) = push.msg_place() else {
            return self.hub_deliver(target, &push, except, skip_user).await;
        };
        let key = Key {
            target: target.clone(),
            conv: conv.to_owned(),
        };
        let slot = self.slot(&key);
        let mut slot = slot.lock().await;
        let now = Instant::now();
        if slot.held.is_empty() && now.duration_since(slot.used) > QUIET {
            slot.next = None;
        }
        slot.used = now;
        let held = Held {
            push,
            except,
            skip_user: skip_user.map(str::to_owned),
        };
        match slot.next {
            Some(next) if seq == next => {
                let mut reached = self.hub_held(target, &held).await;
                slot.next = Some(seq + 1);
                reached += self.release_run(target, &mut slot).await;
                reached
            }
            Some(next) if seq < next => {
                tracing::debug!(conv = %key.conv, seq, next, "dropping a push that came after its wait ran out");
                0
            }
            // A conversation's first message has nothing before it.
            None if seq == 1 => {
                let mut reached = self.hub_held(target, &held).await;
                slot.next = Some(2);
                reached += self.release_run(target, &mut slot).await;
                reached
            }
            // Early, or the first this key sees: wait for what comes before.
            next => {
                if slot.held.is_empty() {
                    let wait = if next.is_some() { HOLD } else { FIRST_HOLD };
                    slot.deadline = Some(now + wait);
                }
                slot.held.insert(seq, held);
                if !slot.timer {
                    slot.timer = true;
                    tokio::spawn(self.clone().flush_at_deadline(key));
                }
                0
            }
        }
    }

    /// At `key`'s deadline, delivers what it holds, in order, past any gap.
    /// A wait that ended (its gap filled) and a new one that began since the
    /// timer was set move the deadline: the timer then sleeps on.
    async fn flush_at_deadline(self: Arc<Self>, key: Key) {
        let slot = self.slot(&key);
        let mut slot = loop {
            let deadline = slot.lock().await.deadline;
            match deadline {
                Some(deadline) if deadline > Instant::now() => {
                    tokio::time::sleep_until(deadline).await;
                }
                _ => {
                    let slot = slot.lock().await;
                    match slot.deadline {
                        Some(deadline) if deadline > Instant::now() => continue,
                        _ => break slot,
                    }
                }
            }
        };
        slot.timer = false;
        slot.deadline = None;
        let held = std::mem::take(&mut slot.held);
        for (seq, item) in held {
            if slot.next.is_some_and(|next| seq < next) {
                continue;
            }
            self.hub_held(&key.target, &item).await;
            slot.next = Some(seq + 1);
        }
        slot.used = Instant::now();
    }

    /// Delivers the held pushes that follow on from `slot.next`.
    async fn release_run(&self, target: &Target, slot: &mut Slot) -> u32 {
        let mut reached = 0;
        while let Some(next) = slot.next
            && let Some(item) = slot.held.remove(&next)
        {
            reached += self.hub_held(target, &item).await;
            slot.next = Some(next + 1);
        }
        reached
    }

    async fn hub_held(&self, target: &Target, held: &Held) -> u32 {
        self.hub_deliver(target, &held.push, held.except, held.skip_user.as_deref())
            .await
    }

    async fn hub_deliver(
        &self,
        target: &Target,
        push: &Arc<Push>,
        except: Option<ConnId>,
        skip_user: Option<&str>,
    ) -> u32 {
        match target {
            Target::User(user) => self.hub.deliver_user(user, push, except),
            Target::Group(group) => self.hub.deliver_group(group, push, except, skip_user).await,
        }
    }

    /// `key`'s slot, made if new; sweeps quiet keys out now and then.
    fn slot(&self, key: &Key) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock();
        if slots.len() > SWEEP_ABOVE {
            let mut swept = self.swept.lock();
            if swept.elapsed() > QUIET / 4 {
                *swept = Instant::now();
                slots.retain(|_, slot| {
                    slot.try_lock()
                        .map_or(true, |s| !s.held.is_empty() || s.used.elapsed() < QUIET)
                });
            }
        }
        if let Some(slot) = slots.get(key) {
            return slot.clone();
        }
        slots
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(Slot {
                    next: None,
                    held: BTreeMap::new(),
                    deadline: None,
                    timer: false,
                    used: Instant::now(),
                }))
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use koi_proto::frame::Op;
    use koi_proto::{Encoding, Message};

    use super::*;
    use crate::ConnHandle;

    /// A hub with one connection of `u`, and a sequencer over it.
    fn setup() -> (Arc<Sequencer>, Arc<ConnHandle>) {
        let hub = Arc::new(Hub::new());
        let conn = Arc::new(ConnHandle::new(1, "u".into(), 64, Encoding::Json));
        hub.attach(conn.clone());
        (Sequencer::new(hub), conn)
    }

    fn msg(seq: u64) -> Arc<Push> {
        Arc::new(Push::new(Op::Msg(Message {
            conv: "d:u:v".into(),
            seq,
            ..Message::default()
        })))
    }

    async fn put(order: &Arc<Sequencer>, seq: u64) -> u32 {
        order
            .deliver(&Target::User("u".into()), msg(seq), None, None)
            .await
    }

    fn seqs(conn: &ConnHandle) -> Vec<u64> {
        conn.take_queued()
            .iter()
            .filter_map(|p| p.msg_seq())
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn pushes_in_order_go_straight_through() {
        let (order, conn) = setup();
        for seq in 1..=3 {
            assert_eq!(put(&order, seq).await, 1);
        }
        assert_eq!(seqs(&conn), [1, 2, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_early_push_waits_for_the_one_before_it() {
        let (order, conn) = setup();
        put(&order, 1).await;
        assert_eq!(put(&order, 3).await, 0, "3 waits");
        assert_eq!(seqs(&conn), [1]);
        assert_eq!(put(&order, 2).await, 2, "2, then 3");
        assert_eq!(seqs(&conn), [2, 3]);
        tokio::time::sleep(HOLD * 2).await;
        assert!(seqs(&conn).is_empty(), "nothing twice");
    }

    #[tokio::test(start_paused = true)]
    async fn a_gap_that_stays_is_passed_after_the_wait_and_a_late_push_dropped() {
        let (order, conn) = setup();
        put(&order, 1).await;
        put(&order, 3).await;
        put(&order, 4).await;
        tokio::time::sleep(HOLD + Duration::from_millis(1)).await;
        assert_eq!(seqs(&conn), [1, 3, 4], "in order, past the gap");
        assert_eq!(put(&order, 2).await, 0);
        assert_eq!(put(&order, 5).await, 1);
        assert_eq!(seqs(&conn), [5], "2 came after its wait: dropped");
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_push_waits_briefly_for_the_one_before_it() {
        let (order, conn) = setup();
        assert_eq!(put(&order, 7).await, 0, "first seen, not the first seq");
        assert_eq!(put(&order, 6).await, 0);
        tokio::time::sleep(FIRST_HOLD + Duration::from_millis(1)).await;
        assert_eq!(seqs(&conn), [6, 7]);
        // Quiet for a while: a key starts over.
        tokio::time::sleep(QUIET + Duration::from_secs(1)).await;
        assert_eq!(put(&order, 20).await, 0);
        tokio::time::sleep(FIRST_HOLD + Duration::from_millis(1)).await;
        assert_eq!(seqs(&conn), [20]);
    }

    #[tokio::test(start_paused = true)]
    async fn each_wait_gets_its_whole_time() {
        let (order, conn) = setup();
        put(&order, 1).await;
        put(&order, 3).await;
        put(&order, 2).await;
        assert_eq!(seqs(&conn), [1, 2, 3], "the first gap filled at once");
        // A new gap just before the first wait's timer would have run out.
        tokio::time::sleep(HOLD - Duration::from_millis(10)).await;
        put(&order, 5).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(seqs(&conn).is_empty(), "5 still waits for 4");
        put(&order, 4).await;
        assert_eq!(seqs(&conn), [4, 5], "4 came within 5's own wait");
    }
}
