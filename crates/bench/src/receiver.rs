//! One receiver: reads deliveries from its [`Inlet`], matches each to its send
//! by id, and records the send→delivery latency from `meta`.
//!
//! It looks at three fields of a delivery (the id, `seq`, `meta`; over the Koi
//! protocol, nothing else of a `msg` push is used) and keeps one counter per
//! message of its sender. A `react` or `unreact` event is matched by its
//! emoji ([`reactions`](super::reactions)), and its first arrival kept for
//! the latency.
//!
//! A group run's receivers (`group::member`) match by other rules, but read
//! their inlet ([`read`]) and count first arrivals ([`FirstArrivals`]) alike.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::ids;
use super::latency::Recorder;
use super::link::{Delivery, Inlet};
use super::reactions::Seen;

/// What a receiver needs to know about the run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub pair: usize,
    pub run: Arc<str>,
}

/// What one receiver saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Index `n`: how many times message `n` of the pair's sender arrived.
    pub deliveries: Vec<u32>,
    /// Pushes of an already seen message or an already seen `(conv, seq)`.
    pub duplicated: u64,
    /// Pushes whose `seq` was lower than one seen before (the contract keeps
    /// pushes of a conversation in seq order).
    pub reordered: u64,
    /// Deliveries that are not this phase's messages to this receiver.
    pub foreign: u64,
    pub first_in_window: u64,
    /// The reaction events that arrived.
    pub reactions: Seen,
    /// How the link ended, if it ended before the receiver was stopped.
    pub disconnected: Option<String>,
}

/// Receives until `stop` turns true or the link ends, measuring each
/// message's first arrival with `first`.
pub async fn run<I: Inlet>(
    inlet: Arc<I>,
    plan: Plan,
    mut first: FirstArrivals,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let mut out = Outcome::default();
    let mut seqs = HashSet::new();
    let mut last_seq = 0;
    let id_prefix = format!("{}-{}-", plan.run, plan.pair);
    let disconnected = read(&*inlet, &mut stop, |msg, now| {
        if let Some(kind) = msg.reaction {
            match ids::parse_reaction_key(&plan.run, &msg.id) {
                Some((sender, n)) if sender == plan.pair => {
                    if msg.seq < last_seq {
                        out.reordered += 1;
                    }
                    last_seq = last_seq.max(msg.seq);
                    out.reactions.arrived(0, n, kind, || first.arrived(now));
                }
                _ => out.foreign += 1,
            }
            return;
        }
        let Some(n) = msg
            .id
            .strip_prefix(&id_prefix)
            .and_then(|n| n.parse::<usize>().ok())
        else {
            out.foreign += 1;
            return;
        };
        if n >= out.deliveries.len() {
            out.deliveries.resize(n + 1, 0);
        }
        out.deliveries[n] += 1;
        let new_seq = seqs.insert(msg.seq);
        if msg.seq < last_seq {
            out.reordered += 1;
        }
        last_seq = last_seq.max(msg.seq);
        if out.deliveries[n] > 1 || !new_seq {
            out.duplicated += 1;
            return;
        }
        first.count(now, msg.meta.as_deref());
    })
    .await;
    out.disconnected = disconnected;
    out.first_in_window = first.in_window;
    out
}

/// Hands each delivery from `inlet`, with when it arrived, to `each`, until
/// `stop` turns true or the link ends. How the link ended, if it did.
pub async fn read<I: Inlet>(
    inlet: &I,
    stop: &mut watch::Receiver<bool>,
    mut each: impl FnMut(Delivery, Instant),
) -> Option<String> {
    let stopped = stop.wait_for(|s| *s);
    tokio::pin!(stopped);
    loop {
        let delivery = tokio::select! {
            biased;
            _ = &mut stopped => return None,
            delivery = inlet.next() => delivery,
        };
        let Some(msg) = delivery else {
            return Some(inlet.ended().unwrap_or_else(|| "closed".to_owned()));
        };
        each(msg, Instant::now());
    }
}

/// What a receiver measures of the first arrival of each of its messages: it
/// counts toward the phase's first deliveries (which tell the phase when it
/// may stop) and, within the window, toward the achieved rate; and its
/// send→delivery latency is recorded unless it was due before the window.
#[derive(Debug)]
pub struct FirstArrivals {
    start: Instant,
    window: (Duration, Duration),
    latencies: Recorder,
    /// First deliveries across all receivers.
    delivered: Arc<AtomicU64>,
    /// This receiver's first arrivals within the window.
    pub in_window: u64,
}

impl FirstArrivals {
    /// For a phase that started at `start` and measures `window` (after it).
    pub fn new(
        start: Instant,
        window: (Duration, Duration),
        latencies: Recorder,
        delivered: Arc<AtomicU64>,
    ) -> Self {
        FirstArrivals {
            start,
            window,
            latencies,
            delivered,
            in_window: 0,
        }
    }

    /// Counts the first arrival, at `now`, of a reaction event toward the
    /// phase's first deliveries; when it arrived after the start. Its latency
    /// and the window are the phase's to work out.
    pub fn arrived(&mut self, now: Instant) -> Duration {
        self.delivered.fetch_add(1, Ordering::Relaxed);
        now.saturating_duration_since(self.start)
    }

    /// Counts the first arrival, at `now`, of a message whose `meta` holds its
    /// reference time (µs after `start`, as the sender wrote it).
    pub fn count(&mut self, now: Instant, meta: Option<&str>) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
        let at = now.saturating_duration_since(self.start);
        if at >= self.window.0 && at < self.window.1 {
            self.in_window += 1;
        }
        if let Some(due) = meta.and_then(|m| m.parse::<u64>().ok()) {
            let due = Duration::from_micros(due);
            if due >= self.window.0 {
                self.latencies.record(at.saturating_sub(due));
            }
        }
    }
}
