//! One receiver: reads deliveries from its [`Inlet`], matches each to its send
//! by id, and records the send→delivery latency from `meta`.
//!
//! It looks at three fields of a delivery (the id, `seq`, `meta`; over the Koi
//! protocol, nothing else of a `msg` push is used) and keeps one counter per
//! message of its sender.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::latency::Recorder;
use super::link::Inlet;

/// What a receiver needs to know about the run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub pair: usize,
    pub run: Arc<str>,
    pub start: Instant,
    /// As in the sender's plan: deliveries in the window count toward the
    /// achieved rate; messages due before `window.0` get no latency sample.
    pub window: (Duration, Duration),
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
    /// How the link ended, if it ended before the receiver was stopped.
    pub disconnected: Option<String>,
}

/// Receives until `stop` turns true or the link ends. `delivered` counts
/// first deliveries across all receivers, so the phase can tell when it may stop.
pub async fn run<I: Inlet>(
    inlet: Arc<I>,
    plan: Plan,
    mut latencies: Recorder,
    delivered: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let mut out = Outcome::default();
    let mut seqs = HashSet::new();
    let mut last_seq = 0;
    let id_prefix = format!("{}-{}-", plan.run, plan.pair);
    let stopped = stop.wait_for(|s| *s);
    tokio::pin!(stopped);
    loop {
        let delivery = tokio::select! {
            biased;
            _ = &mut stopped => break,
            delivery = inlet.next() => delivery,
        };
        let Some(msg) = delivery else {
            out.disconnected = Some(inlet.ended().unwrap_or_else(|| "closed".to_owned()));
            break;
        };
        let now = Instant::now();
        let Some(n) = msg
            .id
            .strip_prefix(&id_prefix)
            .and_then(|n| n.parse::<usize>().ok())
        else {
            out.foreign += 1;
            continue;
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
            continue;
        }
        delivered.fetch_add(1, Ordering::Relaxed);
        let at = now.saturating_duration_since(plan.start);
        if at >= plan.window.0 && at < plan.window.1 {
            out.first_in_window += 1;
        }
        if let Some(due) = msg.meta.as_deref().and_then(|m| m.parse::<u64>().ok()) {
            let due = Duration::from_micros(due);
            if due >= plan.window.0 {
                latencies.record(at.saturating_sub(due));
            }
        }
    }
    out
}
