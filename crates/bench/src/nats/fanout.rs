//! Fan-out through a bare NATS broker: the ceiling of delivering one stream of
//! messages to many connections, against which a Koi group's fan-out is put.
//!
//! One subject ([`SUBJECT`]), `subscribers` client connections subscribed to
//! it, and one publisher connection publishing open loop at `rate` messages/s:
//! message `n` (0-based) is due at `start + n / rate` and goes out when due,
//! never waiting for anything but the client library taking it. A publisher
//! that falls behind sends late, and those messages' latencies count from when
//! they were due (no coordinated omission); one more than [`LATE_GRACE`]
//! behind at the end stops, and only what it sent is owed. The broker delivers
//! each message to every subscriber, so `rate × subscribers` deliveries/s are
//! offered.
//!
//! A payload is a [`HEADER`]-byte header — the message number and its
//! reference time (ns after the start of the load, `min(due, sent)`), both
//! little-endian `u64`s — padded with text to `size` bytes. The subscribers are
//! in this process, so a delivery's latency is the same clock's now minus that
//! reference time.
//!
//! Loss: core NATS has no acknowledgement and no redelivery. A subscriber
//! whose pending bytes the broker finds over its limit (a slow consumer) has
//! its connection closed with whatever was queued for it, and reconnects
//! without it. Every (message, subscriber) delivery owed for a message that
//! was published but not received by the end of the drain — for that reason
//! or any other — is lost. A message one subscriber receives twice, and
//! anything that does not read as a message of this run, counts as
//! duplicated.
//!
//! Messages due in the warm-up are checked for loss but not measured; the
//! rates and latencies are over the deliveries of the messages due in the
//! measured window. CPU per delivery: the broker's CPU time is read when the
//! measured window starts and again after the drain, and
//! `server_cpu_us_per_delivery` is that CPU divided by the deliveries of the
//! window's messages (`measured_deliveries`). That span holds all the broker's
//! work for those messages, including their drain, plus the tail of the
//! warm-up's still in flight as the window opens (small beside a window of
//! many messages). `bench_cpu_s` is this process's CPU over the same span.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, ensure};
use async_nats::{Client, ConnectOptions, Event, Subject, Subscriber};
use bytes::{Buf, BufMut, BytesMut};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::super::cpu;
use super::super::latency::{Latency, Recorder, Summary};
use super::super::rounding::round;

/// The one subject every subscriber subscribes to.
const SUBJECT: &str = "bench.fanout";
/// Bytes of a payload's header: message number and reference time.
const HEADER: usize = 16;
/// How far behind its schedule the publisher may be at the end and still
/// send; further behind it stops.
const LATE_GRACE: Duration = Duration::from_millis(250);
/// How early the publisher's timer may fire (tokio's timer rounds up to the
/// next millisecond, which would delay every message by up to 1 ms).
const TIMER_SLACK: Duration = Duration::from_millis(1);
/// How long one subscriber's subscribe-and-flush may take during setup
/// (connecting has async-nats's own timeout).
const SUBSCRIBE_WITHIN: Duration = Duration::from_secs(30);
/// The most memory the subscribers' seen-sets may take together.
const MAX_SEEN_BYTES: u64 = 1 << 30;
/// From the readers' clock starting to the first message being due, so that
/// every reader is spawned before the load starts.
const LEAD: Duration = Duration::from_millis(200);
/// The least client-side buffer per subscription, in messages (async-nats's
/// default); a run's whole load is allowed when it is larger, so the client
/// library never drops a message itself.
const MIN_SUBSCRIPTION_CAPACITY: usize = 64 * 1024;

/// What a NATS fan-out run is asked to do.
#[derive(Debug, Clone)]
pub struct FanoutPlan {
    pub subscribers: usize,
    /// Messages published per second (each goes to every subscriber).
    pub rate: f64,
    /// Published and checked for loss, not measured for latency or rates.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// The most time to wait for owed deliveries after the last publish.
    pub drain: Duration,
    /// Bytes per message: the payload is padded with text to this (and is at
    /// least its 16-byte header).
    pub size: usize,
    /// Concurrent connection attempts during setup.
    pub concurrency: usize,
    /// The nats-server's pid, for its CPU time over the measured window.
    pub server_pid: Option<u32>,
}

/// What a NATS fan-out run did. See the module notes for what counts as lost
/// and how the CPU per delivery is taken.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutFigures {
    pub subscribers: usize,
    pub rate: f64,
    /// Connecting and subscribing the subscribers, and connecting the publisher.
    pub setup_s: f64,
    /// Messages published in the warm-up and the measured window.
    pub sent: u64,
    /// Deliveries owed: `sent × subscribers`.
    pub expected: u64,
    /// Distinct (message, subscriber) deliveries received.
    pub delivered: u64,
    pub lost: u64,
    /// Repeated deliveries, and deliveries that were not a message of this run.
    pub duplicated: u64,
    /// Distinct deliveries of the messages due in the measured window.
    pub measured_deliveries: u64,
    /// Distinct deliveries (of any message) received during the measured
    /// window, per second of it: as a Koi group run's `delivery_rate`, so an
    /// overloaded broker's backlog, delivered in the drain, does not count.
    pub deliveries_per_s: f64,
    /// Over the deliveries of the measured window's messages.
    pub send_to_delivery: Summary,
    /// nats-server's CPU from the start of the measured window to the end of
    /// the drain.
    pub server_cpu_s: Option<f64>,
    /// `server_cpu_s` (in µs) per measured delivery.
    pub server_cpu_us_per_delivery: Option<f64>,
    /// This process's CPU over the same span as `server_cpu_s`.
    pub bench_cpu_s: Option<f64>,
    /// Nothing lost, nothing duplicated.
    pub ok: bool,
}

/// Runs one fan-out through the nats-server at `url`: connects the
/// subscribers and the publisher, publishes the plan's load, waits for the
/// deliveries owed (at most `drain`), and counts them.
pub async fn run(url: &str, plan: &FanoutPlan) -> anyhow::Result<FanoutFigures> {
    let schedule = Schedule::of(plan)?;
    let troubles = Arc::new(Troubles::default());
    let started = Instant::now();
    progress!(
        "nats fan-out: connecting {} subscribers to {url}",
        plan.subscribers
    );
    let capacity = usize::try_from(schedule.total)
        .unwrap_or(usize::MAX)
        .saturating_add(1024)
        .max(MIN_SUBSCRIPTION_CAPACITY);
    let subscriptions: Vec<(Client, Subscriber)> = futures::stream::iter(0..plan.subscribers)
        .map(|i| {
            let options =
                options(format!("bench-fanout-s{i}"), &troubles).subscription_capacity(capacity);
            let url = url.to_owned();
            async move {
                let client = options
                    .connect(url)
                    .await
                    .with_context(|| format!("connecting fan-out subscriber {i} to nats-server"))?;
                let subscribed = async {
                    let subscriber = client.subscribe(SUBJECT).await?;
                    // The broker has the subscription once it answered this round trip.
                    client.flush().await?;
                    anyhow::Ok(subscriber)
                };
                let subscriber = tokio::time::timeout(SUBSCRIBE_WITHIN, subscribed)
                    .await
                    .with_context(|| {
                        format!("fan-out subscriber {i} not subscribed within {SUBSCRIBE_WITHIN:?}")
                    })?
                    .with_context(|| format!("subscribing fan-out subscriber {i}"))?;
                anyhow::Ok((client, subscriber))
            }
        })
        .buffered(plan.concurrency.max(1))
        .try_collect()
        .await?;
    let publisher = options("bench-fanout-p".to_owned(), &troubles)
        .connect(url.to_owned())
        .await
        .context("connecting the fan-out publisher to nats-server")?;
    let setup_s = started.elapsed().as_secs_f64();
    progress!(
        "nats fan-out: {} subscribers in {setup_s:.1} s; publishing {} messages at {}/s",
        plan.subscribers,
        schedule.total,
        plan.rate
    );

    let epoch = Instant::now();
    // Publishing starts a little later, once every reader is spawned.
    let start = epoch + LEAD;
    let window = (LEAD + plan.warmup, LEAD + plan.warmup + plan.duration);
    let latency = Latency::new();
    let (control, control_rx) = watch::channel(Control::Publishing);
    let (done_tx, mut done) = watch::channel(0usize);
    let done_tx = Arc::new(done_tx);
    let words = usize::try_from(schedule.total.div_ceil(64)).context("too many messages")?;
    let mut clients = Vec::with_capacity(subscriptions.len());
    let readers: Vec<JoinHandle<Tally>> = subscriptions
        .into_iter()
        .map(|(client, subscriber)| {
            clients.push(client);
            let reader = Reader {
                epoch,
                warm: schedule.warm,
                total: schedule.total,
                seen: vec![0; words],
                latency: latency.recorder(),
                window,
                tally: Tally::default(),
            };
            tokio::spawn(read(
                subscriber,
                reader,
                control_rx.clone(),
                done_tx.clone(),
            ))
        })
        .collect();
    drop((control_rx, done_tx));

    // Publish, open loop, from `start` (the readers' clock, `epoch`, is older by LEAD).
    let subject = Subject::from_static(SUBJECT);
    let size = plan.size.max(HEADER);
    let filler = vec![b'x'; size - HEADER];
    let stop_at = start + schedule.end + LATE_GRACE;
    let mut window_cpu = None;
    let mut sent = 0u64;
    let mut max_lag = Duration::ZERO;
    for n in 0..schedule.total {
        let due = start + schedule.due(n);
        tokio::time::sleep_until(due.checked_sub(TIMER_SLACK).unwrap_or(due)).await;
        let now = Instant::now();
        if now >= stop_at {
            break;
        }
        if n == schedule.warm {
            window_cpu = Some(CpuMark::now(plan.server_pid));
        }
        max_lag = max_lag.max(now.saturating_duration_since(due));
        let reference = now.min(due).duration_since(epoch);
        let mut payload = BytesMut::with_capacity(size);
        payload.put_u64_le(n);
        payload.put_u64_le(u64::try_from(reference.as_nanos()).unwrap_or(u64::MAX));
        payload.put_slice(&filler);
        publisher
            .publish(subject.clone(), payload.freeze())
            .await
            .context("publishing to nats-server")?;
        sent += 1;
    }
    // Fell behind before the window opened: nothing is measured, the span is empty.
    let window_cpu = window_cpu.unwrap_or_else(|| CpuMark::now(plan.server_pid));
    let last_publish = Instant::now();
    let drain_until = last_publish + plan.drain;
    control.send_replace(Control::Sent(sent));
    if sent < schedule.total {
        progress!(
            "nats fan-out: the publisher fell behind and stopped after {sent} of {} messages",
            schedule.total
        );
    }
    match tokio::time::timeout_at(drain_until, publisher.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => progress!("nats fan-out: flushing the publisher failed: {e}"),
        Err(_) => progress!("nats fan-out: the publisher's flush not answered within the drain"),
    }
    progress!(
        "nats fan-out: {sent} messages published (latest {:.1} ms behind schedule); \
         waiting for deliveries (at most {:.1} s)",
        max_lag.as_secs_f64() * 1e3,
        plan.drain.as_secs_f64()
    );
    let all = plan.subscribers;
    let complete = tokio::time::timeout_at(drain_until, done.wait_for(|d| *d >= all))
        .await
        .is_ok_and(|waited| waited.is_ok());
    let drained = last_publish.elapsed();
    let (server_cpu_s, bench_cpu_s) = window_cpu.since(plan.server_pid);
    if complete {
        progress!(
            "nats fan-out: every subscriber had every message {:.3} s after the last publish",
            drained.as_secs_f64()
        );
    } else {
        let finished = *done.borrow();
        progress!(
            "nats fan-out: drain over after {:.1} s with {} of {all} subscribers complete",
            drained.as_secs_f64(),
            finished
        );
    }

    control.send_replace(Control::Stop);
    let mut tally = Tally::default();
    for reader in readers {
        tally.add(&reader.await.context("a fan-out subscriber panicked")?);
    }
    let disconnects = troubles.disconnects.load(Ordering::Relaxed);
    if disconnects > 0 {
        progress!("nats fan-out: {disconnects} connections were lost during the run");
    }
    // Unsubscribed as the readers ended; this closes the connections.
    drop(clients);
    drop(publisher);

    let expected = sent * plan.subscribers as u64;
    let lost = expected.saturating_sub(tally.distinct);
    let measured = tally.measured;
    Ok(FanoutFigures {
        subscribers: plan.subscribers,
        rate: plan.rate,
        setup_s: round(setup_s, 3),
        sent,
        expected,
        delivered: tally.distinct,
        lost,
        duplicated: tally.duplicated,
        measured_deliveries: measured,
        deliveries_per_s: round(tally.in_window as f64 / plan.duration.as_secs_f64(), 1),
        send_to_delivery: latency.summary(),
        server_cpu_s: server_cpu_s.map(|s| round(s, 2)),
        server_cpu_us_per_delivery: server_cpu_s
            .filter(|_| measured > 0)
            .map(|s| round(s * 1e6 / measured as f64, 3)),
        bench_cpu_s: bench_cpu_s.map(|s| round(s, 2)),
        ok: lost == 0 && tally.duplicated == 0,
    })
}

/// Which messages a run publishes: `0..total`, message `n` due `n / rate`
/// after the start; `warm..total` are the measured window's.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    rate: f64,
    warm: u64,
    total: u64,
    /// The end of the measured window, after the start.
    end: Duration,
}

impl Schedule {
    fn of(plan: &FanoutPlan) -> anyhow::Result<Schedule> {
        ensure!(plan.subscribers > 0, "a fan-out needs a subscriber");
        ensure!(
            plan.rate.is_finite() && plan.rate > 0.0,
            "the fan-out rate must be a positive number, not {}",
            plan.rate
        );
        ensure!(!plan.duration.is_zero(), "the fan-out window is empty");
        let end = plan.warmup + plan.duration;
        let schedule = Schedule {
            rate: plan.rate,
            warm: due_before(plan.rate, plan.warmup),
            total: due_before(plan.rate, end),
            end,
        };
        let seen_bytes = schedule
            .total
            .div_ceil(64)
            .saturating_mul(8)
            .saturating_mul(plan.subscribers as u64);
        ensure!(
            seen_bytes <= MAX_SEEN_BYTES,
            "{} messages to {} subscribers: too many to keep track of",
            schedule.total,
            plan.subscribers
        );
        Ok(schedule)
    }

    fn due(&self, n: u64) -> Duration {
        Duration::from_secs_f64(n as f64 / self.rate)
    }
}

/// How many messages are due before `t` (message `n` at `n / rate`).
fn due_before(rate: f64, t: Duration) -> u64 {
    // Less a hair, so that 0.1 s at 30/s is 3 messages, not 4.
    (rate * t.as_secs_f64() - 1e-9).ceil().max(0.0) as u64
}

/// What the readers are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Publishing,
    /// Publishing is over, and this many messages went out.
    Sent(u64),
    /// Stop reading and report.
    Stop,
}

/// What the subscribers received, one or all of them.
#[derive(Debug, Default)]
struct Tally {
    distinct: u64,
    duplicated: u64,
    measured: u64,
    /// Distinct deliveries received during the measured window.
    in_window: u64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.distinct += other.distinct;
        self.duplicated += other.duplicated;
        self.measured += other.measured;
        self.in_window += other.in_window;
    }
}

/// One subscriber's count of what it received.
#[derive(Debug)]
struct Reader {
    epoch: Instant,
    warm: u64,
    total: u64,
    /// Bit `n`: message `n` received.
    seen: Vec<u64>,
    latency: Recorder,
    /// The measured window, after `epoch`.
    window: (Duration, Duration),
    tally: Tally,
}

impl Reader {
    fn take(&mut self, mut payload: &[u8]) {
        let now = self.epoch.elapsed();
        if payload.len() < HEADER {
            self.tally.duplicated += 1;
            return;
        }
        let n = payload.get_u64_le();
        let reference = Duration::from_nanos(payload.get_u64_le());
        if n >= self.total {
            self.tally.duplicated += 1;
            return;
        }
        let (word, bit) = ((n / 64) as usize, 1u64 << (n % 64));
        if self.seen[word] & bit != 0 {
            self.tally.duplicated += 1;
            return;
        }
        self.seen[word] |= bit;
        self.tally.distinct += 1;
        if (self.window.0..self.window.1).contains(&now) {
            self.tally.in_window += 1;
        }
        if n >= self.warm {
            self.tally.measured += 1;
            self.latency.record(now.saturating_sub(reference));
        }
    }
}

/// Reads one subscription until told to stop (or the run is dropped), and
/// adds one to `done` once it has every message sent.
async fn read(
    mut subscriber: Subscriber,
    mut reader: Reader,
    mut control: watch::Receiver<Control>,
    done: Arc<watch::Sender<usize>>,
) -> Tally {
    let mut owed = None;
    let mut complete = false;
    loop {
        tokio::select! {
            message = subscriber.next() => match message {
                Some(message) => reader.take(&message.payload),
                None => break,
            },
            changed = control.changed() => {
                if changed.is_err() {
                    break;
                }
                match *control.borrow_and_update() {
                    Control::Publishing => {}
                    Control::Sent(sent) => owed = Some(sent),
                    Control::Stop => break,
                }
            }
        }
        if !complete && owed.is_some_and(|owed| reader.tally.distinct >= owed) {
            complete = true;
            done.send_modify(|d| *d += 1);
        }
    }
    // The latency recorder flushes as the reader drops.
    reader.tally
}

/// CPU seconds of the server and of this process at one moment.
#[derive(Debug, Clone, Copy)]
struct CpuMark {
    server: Option<f64>,
    bench: Option<f64>,
}

impl CpuMark {
    fn now(server_pid: Option<u32>) -> CpuMark {
        CpuMark {
            server: server_pid.and_then(cpu::pid_seconds),
            bench: cpu::process_seconds(),
        }
    }

    /// Server and bench CPU seconds since this mark.
    fn since(self, server_pid: Option<u32>) -> (Option<f64>, Option<f64>) {
        let now = CpuMark::now(server_pid);
        let delta = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| (a - b).max(0.0));
        (delta(now.server, self.server), delta(now.bench, self.bench))
    }
}

/// Client troubles seen during a run.
#[derive(Debug, Default)]
struct Troubles {
    echoed: AtomicUsize,
    disconnects: AtomicUsize,
}

/// A client's options: its name, and its troubles (a slow consumer, a server
/// error) echoed on stderr, the first few.
fn options(name: String, troubles: &Arc<Troubles>) -> ConnectOptions {
    let troubles = troubles.clone();
    ConnectOptions::new()
        .name(name)
        .event_callback(move |event| {
            if matches!(event, Event::Disconnected) {
                troubles.disconnects.fetch_add(1, Ordering::Relaxed);
            }
            let echo = matches!(event, Event::SlowConsumer(_) | Event::ServerError(_))
                && troubles.echoed.fetch_add(1, Ordering::Relaxed) < super::ECHOED;
            async move {
                if echo {
                    eprintln!("bench: nats client: {event}");
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::super::NatsServer;
    use super::*;

    #[test]
    fn the_schedule_counts_messages_due_before_each_mark() {
        let plan = FanoutPlan {
            subscribers: 3,
            rate: 30.0,
            warmup: Duration::from_millis(100),
            duration: Duration::from_millis(500),
            drain: Duration::from_secs(1),
            size: 10,
            concurrency: 1,
            server_pid: None,
        };
        let schedule = Schedule::of(&plan).unwrap();
        assert_eq!((schedule.warm, schedule.total), (3, 18));
        assert_eq!(schedule.due(3), Duration::from_millis(100));
        assert!(Schedule::of(&FanoutPlan { rate: 0.0, ..plan }).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_subscriber_gets_every_message() {
        let server = NatsServer::start().await.unwrap();
        let plan = FanoutPlan {
            subscribers: 5,
            rate: 200.0,
            warmup: Duration::ZERO,
            duration: Duration::from_millis(500),
            drain: Duration::from_secs(5),
            size: 100,
            concurrency: 5,
            server_pid: server.pid(),
        };
        let f = run(server.url(), &plan).await.unwrap();
        assert!(f.sent > 0, "{f:?}");
        assert_eq!(f.expected, f.sent * 5, "{f:?}");
        assert_eq!(f.delivered, f.expected, "{f:?}");
        assert_eq!((f.lost, f.duplicated), (0, 0), "{f:?}");
        assert!(f.ok, "{f:?}");
        assert_eq!(f.measured_deliveries, f.delivered, "{f:?}");
        assert_eq!(f.send_to_delivery.count, f.measured_deliveries, "{f:?}");
        assert!(f.server_cpu_s.is_some(), "{f:?}");
    }
}
