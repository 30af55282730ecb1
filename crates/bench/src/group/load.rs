//! The measured part of a group run: receivers and senders started on their
//! connections, the drain, and the tally of what each receiver got.
//!
//! Senders are numbered in one sequence: the group's `0..S`, then the direct
//! pairs' `S..S+P`; a group receiver expects senders `0..S`, the receiver of
//! pair `i` sender `S+i` only.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use koi_client::Connection;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::super::latency::{Latency, Summary};
use super::super::node::{Receiver, Sender, Target};
use super::super::reactions;
use super::super::receiver::FirstArrivals;
use super::super::rounding::round;
use super::super::tally::Tally;
use super::super::{cpu, sender};
use super::member;

/// Between connecting and the first message, so every task is ready.
const LEAD: Duration = Duration::from_millis(500);

/// The connections of a run, by role.
pub struct Connections {
    /// Online members that receive.
    pub receivers: Vec<Connection>,
    /// Members that send to the group (pushes off).
    pub senders: Vec<Connection>,
    pub direct_receivers: Vec<Connection>,
    pub direct_senders: Vec<Connection>,
}

/// What to send.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `g:<id>`.
    pub group_conv: String,
    /// The usernames of the direct receivers, in pair order.
    pub direct_receivers: Vec<String>,
    /// Messages per second per group sender; 0: the group gets none.
    pub rate_per_sender: f64,
    /// The share of each group sender's operations that are reactions.
    pub react_ratio: f64,
    /// Messages per second per direct pair.
    pub rate_per_pair: f64,
    /// Bytes of text per message.
    pub size: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Most time to wait for the owed deliveries after the last reply.
    pub drain: Duration,
    pub max_in_flight: usize,
    /// The server's process id, when it runs on this machine: its CPU time over
    /// the load is measured then.
    pub server_pid: Option<u32>,
}

/// What the load measured.
pub struct Measured {
    pub group: Tally,
    /// The group senders' reactions, when there were to be any.
    pub reactions: Option<reactions::Measured>,
    pub direct: Tally,
    pub send_to_ack: Summary,
    pub send_to_delivery: Summary,
    pub send_lag: Summary,
    pub direct_send_to_ack: Summary,
    pub direct_send_to_delivery: Summary,
    pub drain_s: f64,
    pub load_s: f64,
    pub bench_cpu_s: Option<f64>,
    /// The server's CPU seconds over the same span as `bench_cpu_s`.
    pub server_cpu_s: Option<f64>,
    /// Every delivery received in that span, group and direct, warmup included.
    pub deliveries: u64,
}

/// Runs the load of `plan` on `conns`, drains and tallies.
pub async fn run(conns: Connections, plan: Plan) -> anyhow::Result<Measured> {
    let s = conns.senders.len();
    let n = conns.receivers.len() as u64;
    let pairs = conns.direct_senders.len();
    let window = (plan.warmup, plan.warmup + plan.duration);
    let start = Instant::now() + LEAD;
    let schedule = sender::Schedule::new(plan.size, start, window, plan.max_in_flight)
        .with_react_ratio(plan.react_ratio);
    let run_id = schedule.run.clone();
    let cpu_before = cpu::process_seconds();
    let server_cpu_before = plan.server_pid.and_then(cpu::pid_seconds);
    let (acks, deliveries, lag) = (Latency::new(), Latency::new(), Latency::new());
    let (direct_acks, direct_deliveries, direct_lag) =
        (Latency::new(), Latency::new(), Latency::new());
    let delivered = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);

    let receive = |conn, senders, recorder| {
        let plan = member::Plan {
            run: run_id.clone(),
            senders,
        };
        let first = FirstArrivals::new(start, window, recorder, delivered.clone());
        let inlet = Arc::new(Receiver::new(conn));
        tokio::spawn(member::run(inlet, plan, first, stop_rx.clone()))
    };
    let receivers: Vec<_> = conns
        .receivers
        .into_iter()
        .map(|c| receive(c, 0..s, deliveries.recorder()))
        .collect();
    let direct_receivers: Vec<_> = conns
        .direct_receivers
        .into_iter()
        .enumerate()
        .map(|(i, c)| receive(c, s + i..s + i + 1, direct_deliveries.recorder()))
        .collect();
    // Sender `number` is the `i`th of `of` sending to `target` at `rate` each;
    // only the group's senders mix reactions in.
    let send = |conn, number, (i, of): (usize, usize), target, rate: f64, recorders: (_, _)| {
        let plan = sender::Plan {
            react_ratio: if number < s { plan.react_ratio } else { 0.0 },
            ..schedule.plan(number, (i, of), Duration::from_secs_f64(1.0 / rate))
        };
        let outlet = Arc::new(Sender::new(conn, target));
        tokio::spawn(sender::run(outlet, plan, recorders.0, recorders.1))
    };
    let senders: Vec<_> = if plan.rate_per_sender > 0.0 {
        conns
            .senders
            .into_iter()
            .enumerate()
            .map(|(k, c)| {
                let target = Target::Conv(plan.group_conv.clone());
                let recorders = (acks.recorder(), lag.recorder());
                send(c, k, (k, s), target, plan.rate_per_sender, recorders)
            })
            .collect()
    } else {
        Vec::new()
    };
    let direct_senders: Vec<_> = conns
        .direct_senders
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let target = Target::User(plan.direct_receivers[i].clone());
            let recorders = (direct_acks.recorder(), direct_lag.recorder());
            send(c, s + i, (i, pairs), target, plan.rate_per_pair, recorders)
        })
        .collect();

    let sent = join_all(senders).await?;
    let direct_sent = join_all(direct_senders).await?;
    let mut group = Tally::default();
    sent.iter().for_each(|s| group.add_sender(s));
    let mut reacted = Tally::default();
    sent.iter().for_each(|s| reacted.add_reaction_sender(s));
    let mut direct = Tally::default();
    direct_sent.iter().for_each(|s| direct.add_sender(s));
    // Each acked reaction's event is owed at every online member, as a message is.
    let owed = (group.acked + reacted.acked) * n + direct.acked;
    progress!(
        "all replies in; waiting for {owed} deliveries (at most {} s)",
        plan.drain.as_secs_f64()
    );
    let drain_started = Instant::now();
    let drain_until = drain_started + plan.drain;
    while delivered.load(Ordering::Relaxed) < owed && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drain_s = drain_started.elapsed().as_secs_f64();
    let load_s = start.elapsed().as_secs_f64();
    let bench_cpu_s = cpu::process_seconds()
        .zip(cpu_before)
        .map(|(after, before)| round(after - before, 2));
    let server_cpu_s = plan
        .server_pid
        .and_then(cpu::pid_seconds)
        .zip(server_cpu_before)
        .map(|(after, before)| round(after - before, 2));
    let received = delivered.load(Ordering::Relaxed);
    let _ = stop_tx.send(true);
    let reaction_deliveries = Latency::new();
    let mut reaction_recorder = reaction_deliveries.recorder();
    for got in join_all(receivers).await? {
        group.add_receiver(&sent, &got);
        reacted.add_reaction_receiver(&sent, &got.reactions, window, &mut reaction_recorder);
    }
    drop(reaction_recorder);
    let reaction_acks = Latency::new();
    let mut recorder = reaction_acks.recorder();
    sent.iter()
        .flat_map(|s| &s.reaction_acks)
        .for_each(|l| recorder.record(*l));
    drop(recorder);
    let reactions = reactions::Measured::of(
        plan.react_ratio,
        reacted,
        reaction_acks.summary(),
        reaction_deliveries.summary(),
        &sent,
    );
    for (i, got) in join_all(direct_receivers).await?.into_iter().enumerate() {
        direct.add_receiver(&direct_sent[i..=i], &got);
    }
    Ok(Measured {
        group,
        reactions,
        direct,
        send_to_ack: acks.summary(),
        send_to_delivery: deliveries.summary(),
        send_lag: lag.summary(),
        direct_send_to_ack: direct_acks.summary(),
        direct_send_to_delivery: direct_deliveries.summary(),
        drain_s: round(drain_s, 3),
        load_s: round(load_s, 3),
        bench_cpu_s,
        server_cpu_s,
        deliveries: received,
    })
}

async fn join_all<T>(handles: Vec<JoinHandle<T>>) -> anyhow::Result<Vec<T>> {
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.context("a bench task panicked")?);
    }
    Ok(out)
}
