//! Reactions mixed into a load (`--react-ratio`): what the receivers saw of
//! the `react` and `unreact` events, matched to the senders' operations after
//! the phase, and how the reports give them.
//!
//! An event carries no `meta`, so a reaction's send→delivery latency is its
//! event's first arrival at a receiver less the reference time its sender
//! kept ([`sender::Outcome::sent_at`]). Every acked reaction is owed as an
//! event once at each receiver that gets the conversation's messages.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use super::latency::{Recorder, Summary};
use super::link::Reacted;
use super::sender::{self, Kind, Status};
use super::tally::Tally;
use super::traffic::Traffic;

/// The reaction events one receiver got: by (sender counted from its
/// plan's first, the react's operation number, which event), how often it
/// came and when it first did (after the phase's start).
#[derive(Debug, Default)]
pub struct Seen(HashMap<(usize, u64, Reacted), (u32, Duration)>);

impl Seen {
    /// Counts an arrival of event `kind` for react `n` of `sender`; `first`
    /// gives the time of a first arrival. True when it was the first.
    pub fn arrived(
        &mut self,
        sender: usize,
        n: u64,
        kind: Reacted,
        first: impl FnOnce() -> Duration,
    ) -> bool {
        let entry = self
            .0
            .entry((sender, n, kind))
            .or_insert((0, Duration::ZERO));
        entry.0 += 1;
        if entry.0 == 1 {
            entry.1 = first();
        }
        entry.0 == 1
    }
}

impl Tally {
    /// Adds the reactions of one sender: what it offered (the operations that
    /// were reactions), sent and got acked.
    pub fn add_reaction_sender(&mut self, sent: &sender::Outcome) {
        let ops = sent.status.iter().zip(&sent.kinds);
        for (status, _) in ops.filter(|(_, k)| k.is_reaction()) {
            self.offered += 1;
            self.sent += u64::from(*status != Status::Unsent);
            self.acked += u64::from(*status == Status::Acked);
        }
        self.acked_in_window += sent.reactions_acked_in_window;
        for (code, n) in &sent.reaction_errors {
            *self.errors.entry(code.clone()).or_default() += n;
        }
    }

    /// Adds what one receiver saw of the reactions of `senders` (in the order
    /// of its plan), and records each first arrival's latency in `latencies`
    /// when it was due within `window`.
    pub fn add_reaction_receiver(
        &mut self,
        senders: &[sender::Outcome],
        seen: &Seen,
        window: (Duration, Duration),
        latencies: &mut Recorder,
    ) {
        let mut matched = 0;
        for (i, s) in senders.iter().enumerate() {
            for (n, (status, kind)) in s.status.iter().zip(&s.kinds).enumerate() {
                let key = match *kind {
                    Kind::Message => continue,
                    Kind::React => (i, n as u64, Reacted::React),
                    Kind::Unreact { of } => (i, of, Reacted::Unreact),
                };
                let (arrivals, at) = seen.0.get(&key).copied().unwrap_or_default();
                self.add_message(*status, arrivals);
                if arrivals == 0 {
                    continue;
                }
                matched += 1;
                self.duplicated += u64::from(arrivals - 1);
                if at >= window.0 && at < window.1 {
                    self.delivered_in_window += 1;
                }
                let due = s.sent_at[n];
                if *status == Status::Acked && due >= window.0 {
                    latencies.record(at.saturating_sub(due));
                }
            }
        }
        self.unexpected += seen.0.len() as u64 - matched;
    }
}

/// The reactions of a run, as the reports give them: the counts, rates and
/// latencies of [`Traffic`] over the reaction operations, and how many of the
/// acked ones were reacts and unreacts.
#[derive(Debug, Clone, Serialize)]
pub struct Reactions {
    /// The share of operations that were to be reactions.
    pub ratio: f64,
    /// Acked `react`s.
    pub reacts: u64,
    /// Acked `unreact`s.
    pub unreacts: u64,
    #[serde(flatten)]
    pub traffic: Traffic,
}

/// What a phase measured of its reactions, before it is reduced to figures.
#[derive(Debug, Clone)]
pub struct Measured {
    pub ratio: f64,
    pub tally: Tally,
    pub reacts: u64,
    pub unreacts: u64,
    pub send_to_ack: Summary,
    pub send_to_delivery: Summary,
}

impl Measured {
    /// What a phase of `ratio` measured of its reactions, `None` when it sent
    /// none (ratio 0): `tally` of their events, their ack and delivery
    /// latencies, and the acked reacts and unreacts of `senders`.
    pub fn of(
        ratio: f64,
        tally: Tally,
        send_to_ack: Summary,
        send_to_delivery: Summary,
        senders: &[sender::Outcome],
    ) -> Option<Measured> {
        if ratio <= 0.0 {
            return None;
        }
        let mut m = Measured {
            ratio,
            tally,
            reacts: 0,
            unreacts: 0,
            send_to_ack,
            send_to_delivery,
        };
        m.count_kinds(senders);
        Some(m)
    }

    /// Counts the acked reacts and unreacts of `senders`.
    fn count_kinds(&mut self, senders: &[sender::Outcome]) {
        for s in senders {
            for (status, kind) in s.status.iter().zip(&s.kinds) {
                if *status == Status::Acked {
                    match kind {
                        Kind::React => self.reacts += 1,
                        Kind::Unreact { .. } => self.unreacts += 1,
                        Kind::Message => {}
                    }
                }
            }
        }
    }

    /// The figures over a measured window of `duration_s` seconds.
    pub fn figures(self, duration_s: f64) -> Reactions {
        Reactions {
            ratio: self.ratio,
            reacts: self.reacts,
            unreacts: self.unreacts,
            traffic: Traffic::new(
                &self.tally,
                duration_s,
                self.send_to_ack,
                self.send_to_delivery,
            ),
        }
    }
}

/// Checks a `--react-ratio`.
pub fn check_ratio(ratio: f64) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&ratio) {
        anyhow::bail!("--react-ratio must be between 0 and 1");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::latency::Latency;
    use super::*;

    #[test]
    fn each_acked_reaction_is_owed_its_event_once_and_timed_from_its_send() {
        let s = sender::Outcome {
            // A message, a react, its unreact, a failed react, an unsent one.
            status: vec![
                Status::Acked,
                Status::Acked,
                Status::Acked,
                Status::Failed,
                Status::Unsent,
            ],
            kinds: vec![
                Kind::Message,
                Kind::React,
                Kind::Unreact { of: 1 },
                Kind::React,
                Kind::Message,
            ],
            sent_at: vec![Duration::from_millis(10); 5],
            reactions_acked_in_window: 2,
            ..Default::default()
        };
        let mut seen = Seen::default();
        let at = |ms| move || Duration::from_millis(ms);
        assert!(seen.arrived(0, 1, Reacted::React, at(15)));
        assert!(seen.arrived(0, 1, Reacted::Unreact, at(30)));
        assert!(!seen.arrived(0, 1, Reacted::Unreact, at(99)));
        // Another sender's (not this receiver's) event.
        seen.arrived(4, 1, Reacted::React, at(15));
        let latency = Latency::new();
        let mut recorder = latency.recorder();
        let mut tally = Tally::default();
        tally.add_reaction_sender(&s);
        let window = (Duration::ZERO, Duration::from_secs(1));
        tally.add_reaction_receiver(std::slice::from_ref(&s), &seen, window, &mut recorder);
        drop(recorder);
        assert_eq!((tally.offered, tally.sent, tally.acked), (3, 3, 2));
        assert_eq!((tally.expected, tally.delivered, tally.lost), (2, 2, 0));
        assert_eq!((tally.duplicated, tally.unexpected), (1, 1));
        assert_eq!(tally.delivered_in_window, 2);
        let summary = latency.summary();
        assert_eq!(summary.count, 2);
        // 5 ms and 20 ms, to the histogram's 3 significant digits.
        assert!((19.9..20.1).contains(&summary.max_ms), "{summary:?}");
        // The react's event never came: lost.
        let mut lost = Tally::default();
        let mut recorder = latency.recorder();
        lost.add_reaction_receiver(
            std::slice::from_ref(&s),
            &Seen::default(),
            window,
            &mut recorder,
        );
        assert_eq!(lost.lost, 2);
        assert!(!lost.correct());
    }

    #[test]
    fn the_ratio_is_a_share() {
        assert!(check_ratio(0.0).is_ok() && check_ratio(1.0).is_ok());
        assert!(check_ratio(1.5).is_err() && check_ratio(-0.1).is_err());
        assert!(check_ratio(f64::NAN).is_err());
    }
}
