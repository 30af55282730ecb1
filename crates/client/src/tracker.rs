//! Which messages the user of a [`Client`](crate::Client) has seen, per
//! conversation: de-duplication by `(conv, seq)`, gap detection and the
//! messages the user sent itself. Pure: no I/O, no clock.
//!
//! Per conversation it keeps:
//! - `seen`: the highest seq handed to the user or skipped on purpose; every
//!   seq up to it counts as seen;
//! - `floor`: `last_seq` from the `sync` at the first connect: older messages
//!   are history, not events. Used as the base for gaps until something is seen;
//! - `own`: seqs above `seen` of messages this client sent (known from their
//!   `send` reply), which are not handed out again.
//!
//! Messages sent through the client are not events: the caller has their
//! reply. While a `send` is in flight its `client_msg_id` is recorded, so a
//! push of that message that races ahead of the reply is recognised too.

use std::collections::{BTreeSet, HashMap, HashSet};

use koi_proto::Message;

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// New: hand it to the user (it is now seen).
    Deliver,
    /// Seen before: drop it.
    Duplicate,
    /// Sent by this client: drop it (it is now seen).
    Own,
    /// Messages `after + 1 .. seq` are missing: fetch them first, then look at
    /// this message again with gaps allowed.
    Gap {
        /// The last seq before the hole.
        after: u64,
    },
}

#[derive(Debug, Default, Clone)]
struct ConvState {
    seen: Option<u64>,
    floor: Option<u64>,
    own: BTreeSet<u64>,
}

impl ConvState {
    fn base(&self) -> Option<u64> {
        self.seen.or(self.floor)
    }

    /// Marks `seq` seen, then skips over own messages right after it.
    fn advance(&mut self, seq: u64) {
        let mut seen = self.seen.map_or(seq, |s| s.max(seq));
        while self.own.remove(&(seen + 1)) {
            seen += 1;
        }
        self.seen = Some(seen);
        self.own = self.own.split_off(&(seen + 1));
    }
}

/// The per-conversation record of what was seen.
#[derive(Debug, Clone)]
pub struct SeqTracker {
    me: String,
    convs: HashMap<String, ConvState>,
    sending: HashSet<String>,
}

impl SeqTracker {
    /// An empty record for user `me`.
    pub fn new(me: impl Into<String>) -> Self {
        SeqTracker {
            me: me.into(),
            convs: HashMap::new(),
            sending: HashSet::new(),
        }
    }

    /// The user this record is for.
    pub fn user(&self) -> &str {
        &self.me
    }

    /// Records `conv`'s `last_seq` at the first connect: messages up to it are
    /// history. Only raises the floor.
    pub fn set_floor(&mut self, conv: &str, last_seq: u64) {
        let state = self.convs.entry(conv.to_owned()).or_default();
        state.floor = Some(state.floor.map_or(last_seq, |f| f.max(last_seq)));
    }

    /// The highest seq seen in `conv`, if any message of it was.
    pub fn seen(&self, conv: &str) -> Option<u64> {
        self.convs.get(conv).and_then(|s| s.seen)
    }

    /// Where catching up on `conv` starts: messages after this seq may be
    /// missing (0 for a conversation never heard of).
    pub fn catch_up_from(&self, conv: &str) -> u64 {
        self.convs.get(conv).and_then(ConvState::base).unwrap_or(0)
    }

    /// Marks everything up to `seq` in `conv` as seen, e.g. after catching up
    /// (messages that could not be fetched are given up).
    pub fn mark_seen(&mut self, conv: &str, seq: u64) {
        self.convs.entry(conv.to_owned()).or_default().advance(seq);
    }

    /// A `send` with this `client_msg_id` is about to go out.
    pub fn sending(&mut self, client_msg_id: &str) {
        self.sending.insert(client_msg_id.to_owned());
    }

    /// The `send` with this `client_msg_id` failed or was abandoned.
    pub fn send_failed(&mut self, client_msg_id: &str) {
        self.sending.remove(client_msg_id);
    }

    /// The `send` with this `client_msg_id` was stored as `seq` in `conv`.
    pub fn sent(&mut self, client_msg_id: &str, conv: &str, seq: u64) {
        self.sending.remove(client_msg_id);
        let state = self.convs.entry(conv.to_owned()).or_default();
        if state.seen.is_some_and(|s| seq <= s) {
            return;
        }
        if seq == state.base().unwrap_or(0) + 1 {
            state.advance(seq);
        } else {
            state.own.insert(seq);
        }
    }

    /// Decides about `msg` (a push, or a message from `history`). With
    /// `allow_gap`, a hole before it is accepted instead of reported (used for
    /// messages fetched to fill a gap, and after a gap could not be filled).
    pub fn observe(&mut self, msg: &Message, allow_gap: bool) -> Verdict {
        let seq = msg.seq;
        let own_in_flight = msg.from == self.me && self.sending.contains(&msg.client_msg_id);
        let state = self.convs.entry(msg.conv.clone()).or_default();
        if state.seen.is_some_and(|s| seq <= s) {
            return Verdict::Duplicate;
        }
        if !allow_gap
            && let Some(base) = state.base()
            && seq > base + 1
        {
            let missing = seq - base - 1;
            let own_missing = state.own.range(base + 1..seq).count() as u64;
            if own_missing < missing {
                return Verdict::Gap { after: base };
            }
        }
        let own = state.own.remove(&seq) || own_in_flight;
        state.advance(seq);
        if own { Verdict::Own } else { Verdict::Deliver }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(conv: &str, seq: u64, from: &str, cmid: &str) -> Message {
        Message {
            conv: conv.into(),
            seq,
            from: from.into(),
            client_msg_id: cmid.into(),
            ..Message::default()
        }
    }

    fn from_bob(seq: u64) -> Message {
        msg("d:alice:bob", seq, "bob", &format!("b{seq}"))
    }

    const C: &str = "d:alice:bob";

    #[test]
    fn delivers_each_seq_once() {
        let mut t = SeqTracker::new("alice");
        assert_eq!(t.observe(&from_bob(1), false), Verdict::Deliver);
        assert_eq!(t.observe(&from_bob(2), false), Verdict::Deliver);
        assert_eq!(t.observe(&from_bob(2), false), Verdict::Duplicate);
        assert_eq!(t.observe(&from_bob(1), false), Verdict::Duplicate);
        assert_eq!(t.seen(C), Some(2));
    }

    #[test]
    fn the_first_message_of_an_unknown_conversation_is_its_start() {
        let mut t = SeqTracker::new("alice");
        assert_eq!(t.observe(&from_bob(7), false), Verdict::Deliver);
        assert_eq!(t.observe(&from_bob(9), false), Verdict::Gap { after: 7 });
        assert_eq!(t.catch_up_from("g:new"), 0);
    }

    #[test]
    fn gaps_are_reported_then_filled_in_order() {
        let mut t = SeqTracker::new("alice");
        t.observe(&from_bob(1), false);
        assert_eq!(t.observe(&from_bob(4), false), Verdict::Gap { after: 1 });
        assert_eq!(t.seen(C), Some(1), "a gap changes nothing");
        for seq in 2..=3 {
            assert_eq!(t.observe(&from_bob(seq), true), Verdict::Deliver);
        }
        assert_eq!(t.observe(&from_bob(4), false), Verdict::Deliver);
        // A gap that could not be filled is accepted with allow_gap.
        assert_eq!(t.observe(&from_bob(9), false), Verdict::Gap { after: 4 });
        assert_eq!(t.observe(&from_bob(9), true), Verdict::Deliver);
        assert_eq!(t.observe(&from_bob(5), false), Verdict::Duplicate);
    }

    #[test]
    fn the_floor_is_history_but_pushes_below_it_still_count() {
        let mut t = SeqTracker::new("alice");
        t.set_floor(C, 10);
        assert_eq!(t.catch_up_from(C), 10);
        // Committed after auth but before the sync snapshot: still an event.
        assert_eq!(t.observe(&from_bob(10), false), Verdict::Deliver);
        assert_eq!(t.observe(&from_bob(11), false), Verdict::Deliver);

        let mut t = SeqTracker::new("alice");
        t.set_floor(C, 10);
        assert_eq!(t.observe(&from_bob(13), false), Verdict::Gap { after: 10 });
    }

    #[test]
    fn catching_up_resumes_after_what_was_seen() {
        let mut t = SeqTracker::new("alice");
        t.set_floor(C, 3);
        t.observe(&from_bob(4), false);
        t.observe(&from_bob(5), false);
        assert_eq!(t.catch_up_from(C), 5);
        // Replayed history after a reconnect: the seen part is dropped.
        let verdicts: Vec<_> = (4..=7).map(|s| t.observe(&from_bob(s), true)).collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Duplicate,
                Verdict::Duplicate,
                Verdict::Deliver,
                Verdict::Deliver
            ]
        );
        t.mark_seen(C, 10);
        assert_eq!(t.observe(&from_bob(8), false), Verdict::Duplicate);
        assert_eq!(t.seen(C), Some(10));
    }

    #[test]
    fn own_sends_are_not_events_and_do_not_make_gaps() {
        let mut t = SeqTracker::new("alice");
        t.observe(&from_bob(1), false);
        // Acknowledged right after what was seen: seen moves on.
        t.sending("a1");
        t.sent("a1", C, 2);
        assert_eq!(t.seen(C), Some(2));
        // Acknowledged while bob's 3 is still on its way.
        t.sending("a2");
        t.sent("a2", C, 4);
        assert_eq!(t.seen(C), Some(2));
        assert_eq!(t.observe(&from_bob(3), false), Verdict::Deliver);
        assert_eq!(t.seen(C), Some(4), "own 4 is skipped over");
        // Acknowledged right after what was seen again.
        t.sending("a3");
        t.sent("a3", C, 5);
        assert_eq!(t.observe(&from_bob(6), false), Verdict::Deliver);
        // The server echoing our own message is recognised.
        assert_eq!(
            t.observe(&msg(C, 5, "alice", "a3"), false),
            Verdict::Duplicate
        );
    }

    #[test]
    fn own_messages_in_a_hole_do_not_count_as_missing() {
        let mut t = SeqTracker::new("alice");
        t.observe(&from_bob(1), false);
        t.sending("a1");
        t.sent("a1", C, 3); // bob's 2 not here yet
        t.sending("a2");
        t.sent("a2", C, 4);
        assert_eq!(t.observe(&from_bob(5), false), Verdict::Gap { after: 1 });
        assert_eq!(t.observe(&from_bob(2), false), Verdict::Deliver);
        assert_eq!(t.seen(C), Some(4));
        assert_eq!(t.observe(&from_bob(5), false), Verdict::Deliver);
    }

    #[test]
    fn a_push_of_our_message_racing_its_reply_is_own() {
        let mut t = SeqTracker::new("alice");
        t.observe(&from_bob(1), false);
        t.sending("a1");
        assert_eq!(t.observe(&msg(C, 2, "alice", "a1"), false), Verdict::Own);
        t.sent("a1", C, 2);
        assert_eq!(t.seen(C), Some(2));
        // Our messages sent from another device are events.
        assert_eq!(
            t.observe(&msg(C, 3, "alice", "other-device"), false),
            Verdict::Deliver
        );
    }

    #[test]
    fn own_sends_to_a_new_conversation() {
        let mut t = SeqTracker::new("alice");
        t.sending("a1");
        t.sent("a1", "d:alice:carol", 1);
        assert_eq!(t.seen("d:alice:carol"), Some(1));
        assert_eq!(
            t.observe(&msg("d:alice:carol", 2, "carol", "c1"), false),
            Verdict::Deliver
        );
    }
}
