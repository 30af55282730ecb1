//! Matching what was sent to what was delivered: the counts of one traffic
//! class, and how a sender → receiver pair adds to them. A message with many
//! receivers (a group's) adds through [`group`](super::group)'s tally instead;
//! the counts mean the same, per (message, receiver).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{receiver, sender};
use sender::Status;

/// The counts of one traffic class: a run's pairs, a group, a group run's
/// direct pairs. The reports give them as they are ([`Traffic`] flattens
/// them in), less what only feeds the rates.
///
/// [`Traffic`]: super::traffic::Traffic
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Messages due within the run (what the schedule offered).
    pub offered: u64,
    /// Requests written.
    pub sent: u64,
    pub acked: u64,
    /// Failed sends by error code.
    pub errors: BTreeMap<String, u64>,
    /// Deliveries owed: each acked message once at each receiver that should
    /// get it (a pair's receiver owes each acked message once). Reported by
    /// [`Traffic`](super::traffic::Traffic) only where a message has many
    /// receivers.
    #[serde(skip)]
    pub expected: u64,
    /// Distinct (message, receiver) deliveries, each counted once however
    /// often it came.
    pub delivered: u64,
    /// Owed deliveries that never came.
    pub lost: u64,
    /// Pushes beyond the first of a message at a receiver (for a pair, also of
    /// an already seen `(conv, seq)`).
    pub duplicated: u64,
    /// Pushes that came out of `seq` order (see each receiver for the rule).
    pub reordered: u64,
    /// Deliveries of messages whose send failed (e.g. stored, then the reply
    /// timed out).
    pub delivered_unacked: u64,
    /// `msg` pushes that no sender of this run sent to that receiver.
    pub unexpected: u64,
    #[serde(skip)]
    pub acked_in_window: u64,
    #[serde(skip)]
    pub delivered_in_window: u64,
    /// Connections that ended before the run did.
    pub disconnects: u64,
}

impl Tally {
    /// Adds what one sender did: the messages it offered, sent and got acked
    /// (its reactions, if any, add through [`Tally::add_reaction_sender`]).
    pub fn add_sender(&mut self, sent: &sender::Outcome) {
        for (n, status) in sent.status.iter().enumerate() {
            if sent.kind(n).is_reaction() {
                continue;
            }
            self.offered += 1;
            self.sent += u64::from(*status != Status::Unsent);
            self.acked += u64::from(*status == Status::Acked);
        }
        self.acked_in_window += sent.acked_in_window;
        for (code, n) in &sent.errors {
            *self.errors.entry(code.clone()).or_default() += n;
        }
        self.disconnects += u64::from(sent.disconnected.is_some());
    }

    /// Adds the sender and the receiver of one pair.
    pub fn add_pair(&mut self, sent: &sender::Outcome, got: &receiver::Outcome) {
        self.add_sender(sent);
        for (n, status) in sent.status.iter().enumerate() {
            if !sent.kind(n).is_reaction() {
                self.add_message(*status, got.deliveries.get(n).copied().unwrap_or(0));
            }
        }
        let beyond = got.deliveries.iter().skip(sent.status.len());
        self.unexpected += got.foreign + beyond.filter(|d| **d > 0).count() as u64;
        self.duplicated += got.duplicated;
        self.reordered += got.reordered;
        self.delivered_in_window += got.first_in_window;
        self.disconnects += u64::from(got.disconnected.is_some());
    }

    /// Adds one message at one receiver that should get it: how its send
    /// ended, and how often it arrived there.
    pub fn add_message(&mut self, status: Status, arrivals: u32) {
        if arrivals > 0 {
            self.delivered += 1;
        }
        match status {
            Status::Acked => {
                self.expected += 1;
                if arrivals == 0 {
                    self.lost += 1;
                }
            }
            _ if arrivals > 0 => self.delivered_unacked += 1,
            _ => {}
        }
    }

    pub fn errors_total(&self) -> u64 {
        self.errors.values().sum()
    }

    /// True when every owed delivery happened exactly once.
    pub fn correct(&self) -> bool {
        self.lost == 0 && self.duplicated == 0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn lost_duplicated_and_unacked_deliveries() {
        let sent = sender::Outcome {
            status: vec![
                Status::Acked,
                Status::Acked,
                Status::Failed,
                Status::Acked,
                Status::Unsent,
            ],
            acked_in_window: 3,
            errors: HashMap::from([("timeout".to_owned(), 1)]),
            ..Default::default()
        };
        let got = receiver::Outcome {
            // 0 once, 1 never (lost), 2 once although it failed, 3 twice.
            deliveries: vec![1, 0, 1, 2],
            duplicated: 1,
            ..Default::default()
        };
        let mut tally = Tally::default();
        tally.add_pair(&sent, &got);
        assert_eq!(
            (tally.offered, tally.sent, tally.acked, tally.delivered),
            (5, 4, 3, 3)
        );
        assert_eq!(tally.expected, tally.acked);
        assert_eq!(
            (tally.lost, tally.duplicated, tally.delivered_unacked),
            (1, 1, 1)
        );
        assert_eq!(tally.errors_total(), 1);
        assert!(!tally.correct());
    }
}
