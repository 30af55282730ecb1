//! Matching sends to deliveries when every message has many receivers: each
//! acknowledged message is expected once at every receiver that should get it.

use std::collections::BTreeMap;

use super::member;
use super::sender::{self, Status};

/// The counts of one traffic class (the group, or the direct pairs).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Messages due within the run.
    pub offered: u64,
    /// Requests written.
    pub sent: u64,
    pub acked: u64,
    /// Failed sends by error code.
    pub errors: BTreeMap<String, u64>,
    /// Deliveries owed: each acked message once at each receiver that should get it.
    pub expected: u64,
    /// Distinct (message, receiver) deliveries.
    pub delivered: u64,
    /// Owed deliveries that never came.
    pub lost: u64,
    /// Pushes beyond the first of a message at a receiver.
    pub duplicated: u64,
    /// First pushes that came with a `seq` not above an earlier one.
    pub reordered: u64,
    /// Deliveries of messages whose send failed (stored, then the reply timed out).
    pub delivered_unacked: u64,
    /// `msg` pushes no sender of this run sent to that receiver.
    pub unexpected: u64,
    pub acked_in_window: u64,
    pub delivered_in_window: u64,
    /// Connections that ended before the run did.
    pub disconnects: u64,
}

impl Tally {
    /// Adds what the senders did.
    pub fn add_senders(&mut self, senders: &[sender::Outcome]) {
        for s in senders {
            self.offered += s.offered;
            self.acked_in_window += s.acked_in_window;
            for (code, n) in &s.errors {
                *self.errors.entry(code.clone()).or_default() += n;
            }
            self.sent += s.status.iter().filter(|s| **s != Status::Unsent).count() as u64;
            self.acked += s.status.iter().filter(|s| **s == Status::Acked).count() as u64;
            self.disconnects += u64::from(s.disconnected.is_some());
        }
    }

    /// Adds one receiver, given the senders it should hear from, in the order
    /// of its plan.
    pub fn add_receiver(&mut self, senders: &[sender::Outcome], got: &member::Outcome) {
        for (i, s) in senders.iter().enumerate() {
            for (n, status) in s.status.iter().enumerate() {
                let count = got.count(i, n);
                if count > 0 {
                    self.delivered += 1;
                }
                match status {
                    Status::Acked => {
                        self.expected += 1;
                        if count == 0 {
                            self.lost += 1;
                        }
                    }
                    _ if count > 0 => self.delivered_unacked += 1,
                    _ => {}
                }
            }
            let beyond = got
                .deliveries
                .get(i)
                .map_or(&[][..], |d| d.get(s.status.len()..).unwrap_or_default());
            self.unexpected += beyond.iter().filter(|c| **c > 0).count() as u64;
        }
        self.unexpected += got.foreign;
        self.duplicated += got.duplicated;
        self.reordered += got.reordered;
        self.delivered_in_window += got.first_in_window;
        self.disconnects += u64::from(got.disconnected.is_some());
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
    use super::*;

    #[test]
    fn each_receiver_owes_each_acked_message_once() {
        let senders = [
            sender::Outcome {
                offered: 3,
                status: vec![Status::Acked, Status::Acked, Status::Failed],
                ..Default::default()
            },
            sender::Outcome {
                offered: 2,
                status: vec![Status::Acked, Status::Unsent],
                ..Default::default()
            },
        ];
        let mut tally = Tally::default();
        tally.add_senders(&senders);
        assert_eq!((tally.offered, tally.sent, tally.acked), (5, 4, 3));
        // Got everything once.
        tally.add_receiver(
            &senders,
            &member::Outcome {
                deliveries: vec![vec![1, 1], vec![1]],
                ..Default::default()
            },
        );
        assert!(tally.correct());
        // Missed sender 0's message 1, got its failed message 2, and twice
        // sender 1's message 0.
        tally.add_receiver(
            &senders,
            &member::Outcome {
                deliveries: vec![vec![1, 0, 1], vec![2]],
                duplicated: 1,
                ..Default::default()
            },
        );
        assert_eq!((tally.expected, tally.delivered), (6, 6));
        assert_eq!(
            (tally.lost, tally.duplicated, tally.delivered_unacked),
            (1, 1, 1)
        );
        assert!(!tally.correct());
    }
}
