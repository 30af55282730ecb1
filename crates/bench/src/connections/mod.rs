//! `koi bench connections`: how much memory an idle authenticated WebSocket
//! connection costs the node, and how fast connections are accepted.
//!
//! 1. Creates the accounts `<prefix>-c<i>` and takes their tokens through the
//!    admin endpoints ([`provision`](super::provision)).
//! 2. Reads the node's RSS ([`rss`]) as the baseline, then opens the
//!    connections in `--steps` ([`idle`]): each socket bound to one of
//!    127.0.0.1…127.0.0.N in turn, so no source address runs out of ports.
//!    After each step it waits `--settle` seconds and reads the RSS again.
//! 3. Holds them all idle for `--duration` seconds (each pings every
//!    `heartbeat_s`, as a client must), reads the RSS once more, then checks
//!    they are alive: one `POST /v1/push` to every connected user, each
//!    connection counting what arrives.

mod idle;
mod report;
mod rss;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use futures::StreamExt;
use koi_client::Http;
use tokio::sync::watch;
use tokio::time::Instant;

use self::idle::{Failure, Probe, Target};
use self::report::{Report, Step};
use self::rss::Source;
use super::header::Header;
use super::latency::Latency;
use super::output::OutputArgs;
use super::provision::Admin;
use super::rounding::round;
use super::{ids, nofile, output, users};

/// Used when the node's `auth` reply gives no `heartbeat_s`.
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);

/// `koi bench connections` options.
#[derive(Debug, Args)]
pub struct ConnectionsArgs {
    /// The node's HTTP gateway; the WebSocket address comes from its dispatch.
    #[arg(long, default_value = "http://127.0.0.1:7780")]
    url: String,
    /// The node's admin token, for creating the users, taking their tokens and the check push.
    #[arg(long, env = "KOI_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// Connections to open in all, one user each.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Steps at which to measure, as connection totals (e.g. 1000,5000,10000,19000);
    /// --connections is always the last.
    #[arg(long, value_delimiter = ',')]
    steps: Vec<usize>,
    /// Local addresses 127.0.0.1…127.0.0.N the sockets are bound to in turn
    /// (a loopback node only; 1: let the kernel choose).
    #[arg(long, default_value_t = 4)]
    source_addrs: u8,
    /// The node's process id, to read its RSS from /proc/<pid>/status (without
    /// it: `process_resident_memory_bytes` from /metrics, if the node has it).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Seconds to hold every connection idle after the last step.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds to wait after each step before reading the RSS.
    #[arg(long, default_value_t = 1.0)]
    settle: f64,
    /// Connection attempts at once.
    #[arg(long, default_value_t = 128)]
    connect_concurrency: usize,
    /// Seconds connecting and authenticating one connection may take.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Most seconds to wait for the check push to reach every connection.
    #[arg(long, default_value_t = 10.0)]
    drain: f64,
    /// Username prefix; reuse one to skip creating the users [default: from the time].
    #[arg(long)]
    prefix: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// The step totals: ascending, ending with `connections`.
fn steps(args: &ConnectionsArgs) -> anyhow::Result<Vec<usize>> {
    let mut steps = args.steps.clone();
    if steps.last() != Some(&args.connections) {
        steps.push(args.connections);
    }
    if steps[0] == 0 || steps.windows(2).any(|w| w[0] >= w[1]) {
        bail!("--steps must be ascending, from 1 up to at most --connections");
    }
    Ok(steps)
}

fn check(args: &ConnectionsArgs) -> anyhow::Result<()> {
    if args.connections == 0 || args.source_addrs == 0 {
        bail!("--connections and --source-addrs must be at least 1");
    }
    let non_negative = |x: f64| x.is_finite() && x >= 0.0;
    let positive = |x: f64| x.is_finite() && x > 0.0;
    let times = [args.duration, args.settle, args.drain];
    if !times.into_iter().all(non_negative) || !positive(args.timeout) {
        bail!("--duration, --settle and --drain must be zero or more, --timeout positive");
    }
    Ok(())
}

/// The node's WebSocket address from dispatch, and the local addresses to bind.
async fn target(ws: &str, source_addrs: u8) -> anyhow::Result<(Target, Vec<Option<IpAddr>>)> {
    let url = reqwest::Url::parse(ws).with_context(|| format!("dispatch gave {ws}"))?;
    if url.scheme() != "ws" {
        bail!("{ws}: only ws:// (no TLS) is supported by this bench");
    }
    let host = url.host_str().context("no host in the ws URL")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let server = tokio::net::lookup_host((host, port))
        .await?
        .next()
        .with_context(|| format!("{host} has no address"))?;
    let locals = if source_addrs == 1 {
        vec![None]
    } else if server.ip().is_loopback() && server.is_ipv4() {
        (1..=source_addrs)
            .map(|k| Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, k))))
            .collect()
    } else {
        bail!(
            "--source-addrs above 1 needs a node on 127.0.0.0/8 (it is at {server}): pass --source-addrs 1"
        );
    };
    let target = Target {
        server,
        url: ws.to_owned(),
    };
    Ok((target, locals))
}

fn kib_per(bytes: Option<u64>, base: Option<u64>, n: usize) -> Option<f64> {
    let (bytes, base) = (bytes?, base?);
    (n > 0).then(|| (bytes as f64 - base as f64) / 1024.0 / n as f64)
}

pub async fn run(args: ConnectionsArgs) -> anyhow::Result<()> {
    check(&args)?;
    let steps = steps(&args)?;
    nofile::raise_for(args.connections as u64)?;
    let prefix = args.prefix.clone().unwrap_or_else(users::default_prefix);
    users::check_prefix(&prefix)?;
    let mut warnings = Vec::new();

    let admin = Admin::new(&args.url, &args.admin_token)?;
    let names: Vec<String> = (0..args.connections)
        .map(|i| format!("{prefix}-c{i}"))
        .collect();
    let t = Instant::now();
    eprintln!("bench: creating {} accounts (prefix {prefix})", names.len());
    let provisioned = admin.create_users(&names).await?;
    let provision_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let tokens = admin.tokens(&names).await?;
    let tokens_s = t.elapsed().as_secs_f64();
    let nodes = admin.dispatch(&tokens[0]).await?;
    if nodes.len() > 1 {
        warnings.push(format!(
            "dispatch lists {} nodes: every connection goes to the first, {}",
            nodes.len(),
            nodes[0].ws
        ));
    }
    let (target, locals) = target(&nodes[0].ws, args.source_addrs).await?;
    let source = Source::find(args.server_pid, &Http::new(&args.url)?).await?;
    if matches!(source, Source::Unknown) {
        warnings.push(
            "no memory figures: pass --server-pid (the node's /metrics has no \
             process_resident_memory_bytes)"
                .to_owned(),
        );
    }
    let settle = Duration::from_secs_f64(args.settle);
    tokio::time::sleep(settle).await;
    let baseline = source.rss().await;

    let probe = Probe {
        marker: format!("koi-bench connections {}", ids::run_id()).into(),
        sent: Arc::new(OnceLock::new()),
        seen: Arc::new(AtomicU64::new(0)),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let timeout = Duration::from_secs_f64(args.timeout);
    let latency = Latency::new();
    let mut recorder = latency.recorder();
    let mut held = Vec::with_capacity(args.connections);
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    let mut report_steps: Vec<Step> = Vec::with_capacity(steps.len());
    let (mut from, mut elapsed, mut last_rss) = (0, 0.0, baseline);
    for &to in &steps {
        eprintln!("bench: opening connections {from}..{to}");
        let started = Instant::now();
        let mut attempts = futures::stream::iter(from..to)
            .map(|i| {
                let (target, local, token) = (&target, locals[i % locals.len()], &tokens[i]);
                let (probe, stop) = (probe.clone(), stop_rx.clone());
                async move {
                    let t0 = Instant::now();
                    let opened = tokio::time::timeout(timeout, idle::open(target, local, token))
                        .await
                        .unwrap_or_else(|_| {
                            Err(Failure {
                                stage: "timeout",
                                error: format!("no auth reply within {timeout:?}"),
                            })
                        });
                    let took = t0.elapsed();
                    opened.map(|(ws, heartbeat_s)| {
                        let heartbeat = match heartbeat_s {
                            0 => DEFAULT_HEARTBEAT,
                            s => Duration::from_secs(u64::from(s)),
                        };
                        (
                            i,
                            took,
                            tokio::spawn(idle::hold(ws, heartbeat, probe, stop)),
                        )
                    })
                }
            })
            .buffer_unordered(args.connect_concurrency.max(1));
        let mut failed = 0;
        while let Some(attempt) = attempts.next().await {
            match attempt {
                Ok((i, took, handle)) => {
                    recorder.record(took);
                    held.push((i, handle));
                }
                Err(failure) => {
                    failed += 1;
                    *failures.entry(failure.key()).or_default() += 1;
                }
            }
        }
        let connect_s = started.elapsed().as_secs_f64();
        elapsed += connect_s;
        tokio::time::sleep(settle).await;
        let rss = source.rss().await;
        let connected = held.len();
        let opened_now = (to - from) - failed;
        report_steps.push(Step {
            connections: to,
            connected,
            failed,
            connect_s: round(connect_s, 3),
            rate: round(opened_now as f64 / connect_s, 1),
            elapsed_s: round(elapsed, 3),
            rss_bytes: rss,
            kib_per_connection: kib_per(rss, baseline, connected).map(|k| round(k, 3)),
            step_kib_per_connection: kib_per(rss, last_rss, opened_now).map(|k| round(k, 3)),
        });
        (from, last_rss) = (to, rss);
    }
    recorder.flush();
    let connected = held.len();
    if connected == 0 {
        bail!("no connection could be opened: {failures:?}");
    }

    eprintln!(
        "bench: holding {connected} connections for {} s",
        args.duration
    );
    tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
    let rss_after_hold = source.rss().await;

    eprintln!("bench: checking every connection with a push");
    let users: Vec<String> = held.iter().map(|(i, _)| names[*i].clone()).collect();
    let _ = probe.sent.set(Instant::now());
    let node_delivered_online = admin.push(&users, &probe.marker).await?;
    let drain_until = Instant::now() + Duration::from_secs_f64(args.drain);
    while probe.seen.load(Ordering::Relaxed) < connected as u64 && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop_tx.send(true);
    let push_latency = Latency::new();
    let mut push_recorder = push_latency.recorder();
    let mut probe_report = report::Probe {
        expected: connected as u64,
        node_delivered_online,
        ..report::Probe::default()
    };
    let mut disconnects = 0;
    for (_, handle) in held {
        let held = handle.await.context("a connection task panicked")?;
        if held.probes == 0 {
            probe_report.lost += 1;
        } else {
            probe_report.delivered += 1;
            probe_report.duplicated += u64::from(held.probes - 1);
        }
        if let Some(latency) = held.latency {
            push_recorder.record(latency);
        }
        disconnects += usize::from(held.disconnected.is_some());
    }
    push_recorder.flush();
    probe_report.push_to_delivery = push_latency.summary();

    let failed: usize = failures.values().sum::<u64>() as usize;
    let report = Report {
        header: Header {
            bench: "connections",
            transport: "ws-json",
            url: args.url.clone(),
        },
        ws: target.url.clone(),
        connections: args.connections,
        source_addrs: locals.len(),
        prefix,
        server_pid: source.pid(),
        rss_source: source.describe(),
        users_created: provisioned.created,
        users_existing: provisioned.existing,
        provision_s: round(provision_s, 3),
        tokens_s: round(tokens_s, 3),
        baseline_rss_bytes: baseline,
        steps: report_steps,
        connected,
        failed,
        failures,
        connect_s: round(elapsed, 3),
        connect_rate: round(connected as f64 / elapsed, 1),
        connect_latency: latency.summary(),
        hold_s: args.duration,
        rss_after_hold_bytes: rss_after_hold,
        kib_per_connection_after_hold: kib_per(rss_after_hold, baseline, connected)
            .map(|k| round(k, 3)),
        ok: failed == 0
            && disconnects == 0
            && probe_report.lost == 0
            && probe_report.duplicated == 0,
        probe: probe_report,
        disconnects,
        bench_rss_bytes: koi_server::monitor::resident_bytes(),
        warnings,
    };
    output::print(&report, args.output.json, Report::table);
    output::verdict(report.ok, args.output.allow_loss, || {
        format!(
            "{} connections failed, {} dropped, the check push was lost {} and duplicated {} times",
            report.failed, report.disconnects, report.probe.lost, report.probe.duplicated
        )
    })?;
    Ok(())
}
