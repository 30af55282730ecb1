//! One receiving connection: an online group member (every sender's messages)
//! or the receiver of a direct pair (one sender's). It reads its deliveries
//! from its [`Inlet`], matches each to its send by id (`<run>-<sender>-<n>`)
//! and records the send→delivery latency from `meta`.

use std::ops::Range;
use std::sync::Arc;

use tokio::sync::watch;

use super::super::ids;
use super::super::link::Inlet;
use super::super::reactions::Seen;
use super::super::receiver::{FirstArrivals, read};

/// What a receiver expects.
#[derive(Debug, Clone)]
pub struct Plan {
    pub run: Arc<str>,
    /// The senders whose messages this connection should get, by number.
    pub senders: Range<usize>,
}

/// What one receiver saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// `[sender - senders.start][n]`: how often message `n` of that sender
    /// arrived (saturating at 255; `duplicated` counts exactly).
    pub deliveries: Vec<Vec<u8>>,
    /// Pushes beyond the first of a message.
    pub duplicated: u64,
    /// First pushes of a message whose `seq` was not above every `seq` seen
    /// before (the protocol keeps a conversation's pushes in order).
    pub reordered: u64,
    /// `msg` pushes that are not this run's messages for this connection.
    pub foreign: u64,
    pub first_in_window: u64,
    /// The reaction events that arrived, by sender counted from the plan's first.
    pub reactions: Seen,
    /// How the connection ended, if it did before the receiver was stopped.
    pub disconnected: Option<String>,
}

impl Outcome {
    /// How often message `n` of `sender` (counted from the plan's first) arrived.
    pub fn count(&self, sender: usize, n: usize) -> u8 {
        self.deliveries
            .get(sender)
            .and_then(|d| d.get(n))
            .copied()
            .unwrap_or(0)
    }
}

/// Receives until `stop` turns true or the connection ends, measuring each
/// message's first arrival with `first`.
pub async fn run<I: Inlet>(
    inlet: Arc<I>,
    plan: Plan,
    mut first: FirstArrivals,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let mut out = Outcome {
        deliveries: vec![Vec::new(); plan.senders.len()],
        ..Outcome::default()
    };
    let mut last_seq = 0;
    let prefix = format!("{}-", plan.run);
    let disconnected = read(&*inlet, &mut stop, |msg, now| {
        if let Some(kind) = msg.reaction {
            match ids::parse_reaction_key(&plan.run, &msg.id) {
                Some((sender, n)) if plan.senders.contains(&sender) => {
                    let i = sender - plan.senders.start;
                    if out.reactions.arrived(i, n, kind, || first.arrived(now)) {
                        if msg.seq <= last_seq {
                            out.reordered += 1;
                        }
                        last_seq = last_seq.max(msg.seq);
                    }
                }
                _ => out.foreign += 1,
            }
            return;
        }
        let Some((sender, n)) = msg
            .id
            .strip_prefix(&prefix)
            .and_then(parse_id)
            .filter(|(sender, _)| plan.senders.contains(sender))
        else {
            out.foreign += 1;
            return;
        };
        let counts = &mut out.deliveries[sender - plan.senders.start];
        if n >= counts.len() {
            counts.resize(n + 1, 0);
        }
        counts[n] = counts[n].saturating_add(1);
        if counts[n] > 1 {
            out.duplicated += 1;
            return;
        }
        if msg.seq <= last_seq {
            out.reordered += 1;
        }
        last_seq = last_seq.max(msg.seq);
        first.count(now, msg.meta.as_deref());
    })
    .await;
    out.disconnected = disconnected;
    out.first_in_window = first.in_window;
    out
}

/// `<sender>-<n>`.
fn parse_id(rest: &str) -> Option<(usize, usize)> {
    let (sender, n) = rest.split_once('-')?;
    Some((sender.parse().ok()?, n.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_a_sender_and_a_message() {
        assert_eq!(parse_id("3-17"), Some((3, 17)));
        assert_eq!(parse_id("3"), None);
        assert_eq!(parse_id("x-1"), None);
        let out = Outcome {
            deliveries: vec![vec![1, 0, 2]],
            ..Outcome::default()
        };
        assert_eq!(
            (out.count(0, 2), out.count(0, 9), out.count(1, 0)),
            (2, 0, 0)
        );
    }
}
