//! One receiver: reads `msg` pushes, matches each to its send by
//! `client_msg_id`, and records the send→delivery latency from `meta`.
//!
//! It looks at four fields of a push (`client_msg_id`, `seq`, `meta`, nothing
//! else is parsed) and keeps one counter per message of its sender.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use koi_client::Connection;
use koi_proto::frame::Op;
use tokio::sync::watch;
use tokio::time::Instant;

use super::latency::Recorder;

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
    /// `msg` pushes that are not this run's messages to this receiver.
    pub foreign: u64,
    pub first_in_window: u64,
    /// How the connection ended, if it ended before the receiver was stopped.
    pub disconnected: Option<String>,
}

/// Receives until `stop` turns true or the connection ends. `delivered` counts
/// first deliveries across all receivers, so the run can tell when it may stop.
pub async fn run(
    conn: Connection,
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
        let push = tokio::select! {
            biased;
            _ = &mut stopped => break,
            push = conn.next_push() => push,
        };
        let msg = match push {
            Some(Op::Msg(msg)) => msg,
            Some(_) => continue,
            None => {
                out.disconnected = Some(match conn.disconnect() {
                    Some(d) => d.to_string(),
                    None => "closed".to_owned(),
                });
                break;
            }
        };
        let now = Instant::now();
        let Some(n) = msg
            .client_msg_id
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
