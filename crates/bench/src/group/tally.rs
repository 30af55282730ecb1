//! Matching sends to deliveries when every message has many receivers: each
//! acknowledged message is expected once at every receiver that should get it.
//! The counts are the [`Tally`] of a pair run, and each sender adds to them as
//! a pair's does ([`Tally::add_sender`]); this is how a group run's receivers
//! (and those of the direct pairs beside it, one sender each) add to them.

use super::super::sender;
use super::super::tally::Tally;
use super::member;

impl Tally {
    /// Adds one receiver, given the senders it should hear from, in the order
    /// of its plan.
    pub fn add_receiver(&mut self, senders: &[sender::Outcome], got: &member::Outcome) {
        for (i, s) in senders.iter().enumerate() {
            for (n, status) in s.status.iter().enumerate() {
                if !s.kind(n).is_reaction() {
                    self.add_message(*status, u32::from(got.count(i, n)));
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
}

#[cfg(test)]
mod tests {
    use super::super::super::sender::Status;
    use super::*;

    #[test]
    fn each_receiver_owes_each_acked_message_once() {
        let senders = [
            sender::Outcome {
                status: vec![Status::Acked, Status::Acked, Status::Failed],
                ..Default::default()
            },
            sender::Outcome {
                status: vec![Status::Acked, Status::Unsent],
                ..Default::default()
            },
        ];
        let mut tally = Tally::default();
        senders.iter().for_each(|s| tally.add_sender(s));
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
