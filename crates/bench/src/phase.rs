//! One load phase over pairs that are already connected: every sender offers
//! its share of a rate for a while (open loop, see [`sender`]), every receiver
//! matches what arrives ([`receiver`]); then the phase waits for the last
//! deliveries and tallies.
//!
//! Each phase has its own run id ([`ids`](super::ids)), the first part of every message
//! id, so phases run one after another over the same links (`max`'s steps)
//! never mistake one another's messages.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use tokio::sync::watch;
use tokio::time::Instant;

use super::latency::Latency;
use super::link::{Inlet, Outlet, Pairs};
use super::measured::Measured;
use super::receiver::FirstArrivals;
use super::tally::Tally;
use super::{cpu, reactions, receiver, sender};

/// Between the start of a phase and its first message, so every task is ready.
const LEAD: Duration = Duration::from_millis(200);
/// How often the drain looks whether every acknowledged message arrived.
const DRAIN_POLL: Duration = Duration::from_millis(10);

/// How each phase loads the pairs, besides its rate and duration.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Seconds of load before the measured window: checked for loss, not measured.
    #[arg(long, default_value_t = 0.0)]
    pub warmup: f64,
    /// Bytes of text per message.
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// Most seconds to wait for deliveries after the last reply.
    #[arg(long, default_value_t = 5.0)]
    pub drain: f64,
    /// Most unanswered sends per sender; beyond it a sender waits (and its
    /// messages' latency still counts from when they were due).
    #[arg(long, default_value_t = 256)]
    pub max_in_flight: usize,
}

impl LoadArgs {
    pub fn check(&self) -> anyhow::Result<()> {
        let non_negative = |x: f64| x.is_finite() && x >= 0.0;
        if !non_negative(self.warmup) || !non_negative(self.drain) {
            bail!("--warmup and --drain must be zero or more");
        }
        if self.size > 16 * 1024 {
            bail!("--size is at most 16384 (the protocol's bound on `text`)");
        }
        if self.max_in_flight == 0 {
            bail!("--max-in-flight must be at least 1");
        }
        Ok(())
    }

    /// A phase offering `rate` msgs/s for `duration_s` measured seconds.
    pub fn at(&self, rate: f64, duration_s: f64) -> Load {
        Load {
            rate,
            duration_s,
            warmup_s: self.warmup,
            size: self.size,
            drain_s: self.drain,
            max_in_flight: self.max_in_flight,
            server_pid: None,
            react_ratio: 0.0,
        }
    }
}

/// What one phase offers.
#[derive(Debug, Clone)]
pub struct Load {
    /// Messages per second, all senders together.
    pub rate: f64,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub size: usize,
    pub drain_s: f64,
    pub max_in_flight: usize,
    /// A local server process whose CPU time the phase reports (`nats-server`).
    pub server_pid: Option<u32>,
    /// The share of each sender's operations that are reactions (a node's
    /// pairs only; see [`sender`]).
    pub react_ratio: f64,
}

/// Runs one phase of `load` over `pairs`.
pub async fn run<O: Outlet, I: Inlet>(
    pairs: &Pairs<O, I>,
    load: &Load,
) -> anyhow::Result<Measured> {
    let count = pairs.senders.len();
    let per_sender = load.rate / count as f64;
    let warmup = Duration::from_secs_f64(load.warmup_s);
    let window = (warmup, warmup + Duration::from_secs_f64(load.duration_s));
    let period = Duration::from_secs_f64(1.0 / per_sender);
    let start = Instant::now() + LEAD;
    let schedule = sender::Schedule::new(load.size, start, window, load.max_in_flight)
        .with_react_ratio(load.react_ratio);
    let run_id = schedule.run.clone();
    let cpu_before = cpu::process_seconds();
    let server_cpu_before = load.server_pid.and_then(cpu::pid_seconds);
    let acks = Latency::new();
    let deliveries = Latency::new();
    let lag = Latency::new();
    let delivered = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    progress!(
        "sending {} {}/s for {} s ({:.2} per sender)",
        load.rate,
        if load.react_ratio > 0.0 {
            "operations"
        } else {
            "msgs"
        },
        load.warmup_s + load.duration_s,
        per_sender
    );

    let receivers: Vec<_> = pairs
        .receivers
        .iter()
        .enumerate()
        .map(|(pair, inlet)| {
            let plan = receiver::Plan {
                pair,
                run: run_id.clone(),
            };
            let first = FirstArrivals::new(start, window, deliveries.recorder(), delivered.clone());
            tokio::spawn(receiver::run(inlet.clone(), plan, first, stop_rx.clone()))
        })
        .collect();
    let senders: Vec<_> = pairs
        .senders
        .iter()
        .enumerate()
        .map(|(pair, outlet)| {
            let plan = schedule.plan(pair, (pair, count), period);
            tokio::spawn(sender::run(
                outlet.clone(),
                plan,
                acks.recorder(),
                lag.recorder(),
            ))
        })
        .collect();

    let mut sent = Vec::with_capacity(count);
    for handle in senders {
        sent.push(handle.await.context("a sender panicked")?);
    }
    // Messages and reaction events alike are owed once each.
    let acked: u64 = sent
        .iter()
        .map(|o| {
            o.status
                .iter()
                .filter(|s| **s == sender::Status::Acked)
                .count() as u64
        })
        .sum();
    progress!(
        "all replies in; waiting for deliveries (at most {} s)",
        load.drain_s
    );
    let drain_started = Instant::now();
    let drain_until = drain_started + Duration::from_secs_f64(load.drain_s);
    while delivered.load(Ordering::Relaxed) < acked && Instant::now() < drain_until {
        tokio::time::sleep(DRAIN_POLL).await;
    }
    let drain_s = drain_started.elapsed().as_secs_f64();
    let load_s = start.elapsed().as_secs_f64();
    let since = |after: Option<f64>, before: Option<f64>| after.zip(before).map(|(a, b)| a - b);
    let bench_cpu_s = since(cpu::process_seconds(), cpu_before);
    let server_cpu_s = since(
        load.server_pid.and_then(cpu::pid_seconds),
        server_cpu_before,
    );
    let _ = stop_tx.send(true);
    let mut tally = Tally::default();
    let mut reacted = Tally::default();
    let reaction_deliveries = Latency::new();
    let mut reaction_recorder = reaction_deliveries.recorder();
    let reaction_acks = Latency::new();
    let mut reaction_ack_recorder = reaction_acks.recorder();
    for (handle, sent) in receivers.into_iter().zip(&sent) {
        let got = handle.await.context("a receiver panicked")?;
        tally.add_pair(sent, &got);
        reacted.add_reaction_sender(sent);
        let one = std::slice::from_ref(sent);
        reacted.add_reaction_receiver(one, &got.reactions, window, &mut reaction_recorder);
        for latency in &sent.reaction_acks {
            reaction_ack_recorder.record(*latency);
        }
    }
    drop((reaction_recorder, reaction_ack_recorder));
    let reactions = reactions::Measured::of(
        load.react_ratio,
        reacted,
        reaction_acks.summary(),
        reaction_deliveries.summary(),
        &sent,
    );

    Ok(Measured {
        warnings: warnings(&tally, per_sender),
        tally,
        reactions,
        send_to_ack: acks.summary(),
        send_to_delivery: deliveries.summary(),
        send_lag: lag.summary(),
        drain_s,
        load_s,
        bench_cpu_s,
        server_cpu_s,
    })
}

/// What the tally says about the run itself rather than the target.
fn warnings(tally: &Tally, per_sender: f64) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(refused) = tally.errors.get("rate_limited") {
        warnings.push(format!(
            "{refused} sends were refused with rate_limited: the node's per-connection limit is below \
             the offered {per_sender:.1} msgs/s per sender (see docs/benchmarks.md)",
        ));
    }
    if tally.sent < tally.offered {
        warnings.push(format!(
            "{} of {} due messages were never sent: the senders fell behind (max in flight, or \
             the bench itself is out of CPU)",
            tally.offered - tally.sent,
            tally.offered
        ));
    }
    warnings
}
