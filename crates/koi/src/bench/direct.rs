//! `koi bench direct`: U/2 sender → receiver pairs of direct messages.
//!
//! 1. Registers and logs in `<prefix>-s<i>` and `<prefix>-r<i>`.
//! 2. Connects every receiver (pushes on), then every sender (pushes off), to
//!    the nodes from dispatch, round robin.
//! 3. Each sender sends to its receiver at `rate / pairs` per second with its
//!    own phase, spread evenly over one period (see [`sender`]); each receiver
//!    matches pushes to sends ([`receiver`]).
//! 4. After the last reply, waits up to `--drain` seconds for the deliveries,
//!    then tallies and reports.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use futures::{StreamExt, TryStreamExt};
use koi_client::{ConnectOptions, Connection, Http, Node, Transport};
use tokio::sync::watch;
use tokio::time::Instant;

use super::latency::Latency;
use super::report::{Measured, Report, Setup};
use super::tally::Tally;
use super::{cpu, receiver, sender, users};

/// The server's default `msgs_per_sec`.
const DEFAULT_SERVER_RATE: f64 = 50.0;
/// Between connecting and the first message, so every task is ready.
const LEAD: Duration = Duration::from_millis(200);

/// `koi bench direct` options.
#[derive(Debug, Args)]
pub struct DirectArgs {
    /// The node's HTTP gateway; the WebSocket and TCP addresses come from its dispatch.
    #[arg(long, default_value = "http://127.0.0.1:7780")]
    url: String,
    /// Users, an even number: U/2 sender → receiver pairs, one connection each.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Offered messages per second, all senders together (each sends rate/(U/2)).
    #[arg(long, default_value_t = 10_000.0)]
    rate: f64,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before the measured window: checked for loss, not measured.
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// Transport and encoding of every connection.
    #[arg(long, value_enum, default_value_t = TransportArg::WsJson)]
    transport: TransportArg,
    /// Bytes of text per message.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Username prefix (users are `<prefix>-s<i>`, `<prefix>-r<i>`) [default: from the time].
    #[arg(long)]
    prefix: Option<String>,
    /// Most seconds to wait for deliveries after the last reply.
    #[arg(long, default_value_t = 5.0)]
    drain: f64,
    /// Most unanswered sends per sender; beyond it a sender waits (and its
    /// messages' latency still counts from when they were due).
    #[arg(long, default_value_t = 256)]
    max_in_flight: usize,
    /// Seconds a request waits for its reply.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Concurrent registrations and logins during setup. Each costs the node an
    /// argon2 hash (19 MiB, tens of ms of CPU); more at once than the node has
    /// cores does not go faster, and swells the node's memory (docs/benchmarks.md).
    #[arg(long, default_value_t = 4)]
    login_concurrency: usize,
    /// Concurrent connection attempts during setup.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// The node's `msgs_per_sec` (frames per second per connection), to warn
    /// before the run when the offered rate per sender is over it.
    #[arg(long, default_value_t = DEFAULT_SERVER_RATE)]
    server_msgs_per_sec: f64,
    /// Exit 0 even when messages were lost or duplicated.
    #[arg(long)]
    allow_loss: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TransportArg {
    WsJson,
    WsProtobuf,
    TcpProtobuf,
}

impl TransportArg {
    fn transport(self) -> Transport {
        match self {
            TransportArg::WsJson => Transport::WsJson,
            TransportArg::WsProtobuf => Transport::WsProtobuf,
            TransportArg::TcpProtobuf => Transport::TcpProtobuf,
        }
    }

    fn name(self) -> &'static str {
        match self {
            TransportArg::WsJson => "ws-json",
            TransportArg::WsProtobuf => "ws-protobuf",
            TransportArg::TcpProtobuf => "tcp-protobuf",
        }
    }
}

fn check(args: &DirectArgs) -> anyhow::Result<()> {
    if args.users < 2 || !args.users.is_multiple_of(2) {
        bail!("--users must be even and at least 2 (U/2 sender → receiver pairs)");
    }
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if !positive(args.rate) || !positive(args.duration) || !positive(args.timeout) {
        bail!("--rate, --duration and --timeout must be positive");
    }
    if !(args.warmup.is_finite()
        && args.warmup >= 0.0
        && args.drain.is_finite()
        && args.drain >= 0.0)
    {
        bail!("--warmup and --drain must be zero or more");
    }
    if args.size > 16 * 1024 {
        bail!("--size is at most 16384 (the protocol's bound on `text`)");
    }
    if args.max_in_flight == 0 {
        bail!("--max-in-flight must be at least 1");
    }
    Ok(())
}

/// Progress lines go to stderr, so `--json` keeps stdout to the report.
macro_rules! progress {
    ($($arg:tt)*) => { eprintln!("bench: {}", format_args!($($arg)*)) };
}

pub async fn run(args: DirectArgs) -> anyhow::Result<()> {
    check(&args)?;
    let prefix = args.prefix.clone().unwrap_or_else(users::default_prefix);
    users::check_prefix(&prefix)?;
    let pairs = args.users / 2;
    let per_sender = args.rate / pairs as f64;
    let mut warnings = Vec::new();
    if per_sender > args.server_msgs_per_sec {
        let warning = format!(
            "each sender offers {per_sender:.1} msgs/s, over the node's limit of {} frames/s per connection \
             (--server-msgs-per-sec): sends over it fail with rate_limited. Run the node with \
             --msgs-per-sec {} --msgs-burst {} or more (see docs/benchmarks.md), or use --users {} or more",
            args.server_msgs_per_sec,
            (per_sender * 2.0).ceil(),
            (per_sender * 2.0).ceil().max(100.0),
            ((args.rate / args.server_msgs_per_sec).ceil() as usize * 2).max(2),
        );
        eprintln!("warning: {warning}");
        warnings.push(warning);
    }

    let setup_started = Instant::now();
    let http = Http::new(&args.url)?;
    let names: Vec<String> = (0..pairs)
        .flat_map(|i| [users::receiver(&prefix, i), users::sender(&prefix, i)])
        .collect();
    progress!(
        "registering and logging in {} users (prefix {prefix})",
        names.len()
    );
    let sessions = users::sign_in(&http, &names, args.login_concurrency).await?;
    let nodes = http
        .clone()
        .with_token(sessions[0].token.clone())
        .dispatch()
        .await
        .context("GET /v1/dispatch")?;
    if nodes.is_empty() {
        bail!("dispatch listed no node");
    }
    let transport = args.transport.transport();
    progress!(
        "connecting {} {} connections to {}",
        names.len(),
        args.transport.name(),
        nodes
            .iter()
            .map(|n| transport.addr(n))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let timeout = Duration::from_secs_f64(args.timeout);
    // Receivers (even indexes) first, so they are online before anything is sent.
    let order: Vec<usize> = (0..pairs)
        .map(|i| 2 * i)
        .chain((0..pairs).map(|i| 2 * i + 1))
        .collect();
    let conns = futures::stream::iter(order.iter().copied())
        .map(|k| {
            let node = &nodes[k % nodes.len()];
            let options = ConnectOptions {
                request_timeout: timeout,
                deliver_pushes: k % 2 == 0,
                ..ConnectOptions::default()
            };
            open(node, transport, &sessions[k].token, options)
        })
        .buffered(args.connect_concurrency.max(1))
        .try_collect::<Vec<_>>()
        .await?;
    let (receiver_conns, sender_conns) = {
        let mut conns = conns;
        let senders = conns.split_off(pairs);
        (conns, senders)
    };
    let setup_s = setup_started.elapsed().as_secs_f64();

    let run_id: Arc<str> = run_id().into();
    let text: Arc<str> = "x".repeat(args.size).into();
    let warmup = Duration::from_secs_f64(args.warmup);
    let window = (warmup, warmup + Duration::from_secs_f64(args.duration));
    let period = Duration::from_secs_f64(1.0 / per_sender);
    let start = Instant::now() + LEAD;
    let cpu_before = cpu::process_seconds();
    let acks = Latency::new();
    let deliveries = Latency::new();
    let lag = Latency::new();
    let delivered = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    progress!(
        "sending {} msgs/s for {} s ({:.2} msgs/s per sender)",
        args.rate,
        args.warmup + args.duration,
        per_sender
    );

    let receivers: Vec<_> = receiver_conns
        .into_iter()
        .enumerate()
        .map(|(pair, conn)| {
            let plan = receiver::Plan {
                pair,
                run: run_id.clone(),
                start,
                window,
            };
            tokio::spawn(receiver::run(
                conn,
                plan,
                deliveries.recorder(),
                delivered.clone(),
                stop_rx.clone(),
            ))
        })
        .collect();
    let senders: Vec<_> = sender_conns
        .into_iter()
        .enumerate()
        .map(|(pair, conn)| {
            let plan = sender::Plan {
                pair,
                to: users::receiver(&prefix, pair),
                run: run_id.clone(),
                text: text.clone(),
                start,
                // Phases spread evenly over one period: a smooth total rate.
                phase: period.mul_f64(pair as f64 / pairs as f64),
                period,
                end: window.1,
                window,
                max_in_flight: args.max_in_flight,
            };
            tokio::spawn(sender::run(conn, plan, acks.recorder(), lag.recorder()))
        })
        .collect();

    let mut sent = Vec::with_capacity(pairs);
    for handle in senders {
        sent.push(handle.await.context("a sender panicked")?);
    }
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
        args.drain
    );
    let drain_started = Instant::now();
    let drain_until = drain_started + Duration::from_secs_f64(args.drain);
    while delivered.load(Ordering::Relaxed) < acked && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drain_s = drain_started.elapsed().as_secs_f64();
    let load_s = start.elapsed().as_secs_f64();
    let bench_cpu = cpu::process_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let _ = stop_tx.send(true);
    let mut tally = Tally::default();
    for (handle, sent) in receivers.into_iter().zip(&sent) {
        let got = handle.await.context("a receiver panicked")?;
        tally.add_pair(sent, &got);
    }

    if tally.errors.contains_key("rate_limited") {
        warnings.push(format!(
            "{} sends were refused with rate_limited: the node's per-connection limit is below \
             the offered {per_sender:.1} msgs/s per sender (see docs/benchmarks.md)",
            tally.errors["rate_limited"]
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
    let report = Report::new(
        Setup {
            transport: args.transport.name(),
            url: args.url.clone(),
            nodes: nodes.len(),
            users: args.users,
            rate: args.rate,
            duration_s: args.duration,
            warmup_s: args.warmup,
            size: args.size,
            prefix,
            setup_s,
        },
        Measured {
            tally,
            send_to_ack: acks.summary(),
            send_to_delivery: deliveries.summary(),
            send_lag: lag.summary(),
            drain_s,
            load_s,
            bench_cpu_s: bench_cpu,
            warnings,
        },
    );
    if args.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    if !report.ok && !args.allow_loss {
        bail!(
            "{} lost and {} duplicated messages (pass --allow-loss to exit 0 anyway)",
            report.lost,
            report.duplicated
        );
    }
    Ok(())
}

async fn open(
    node: &Node,
    transport: Transport,
    token: &str,
    options: ConnectOptions,
) -> anyhow::Result<Connection> {
    let addr = transport.addr(node);
    Connection::open_with(addr, transport, token, &options)
        .await
        .with_context(|| format!("connecting to {addr}"))
}

/// Distinguishes this run's `client_msg_id`s from any earlier run with the same users.
fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:x}",
        (nanos as u64) ^ u64::from(std::process::id()).rotate_left(40)
    )
}
