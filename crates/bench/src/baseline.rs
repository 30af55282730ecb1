//! `koi bench relay-baseline`: the ceilings Koi's own work is measured
//! against, in the same run, with the same load:
//!
//! 1. the null relay ([`relay`]): Koi's protocol with nothing behind it, what
//!    the protocol and the load generator cost on this machine;
//! 2. a bare `nats-server` ([`nats`]): moving small messages through one broker;
//! 3. with `--url`, a running Koi node, reported as ratios to both.
//!
//! Each target gets its own connections, one after the other, and either one
//! phase at `--rate` or, with `--find-max`, the search of `koi bench max`.

use std::fmt::Write as _;

use anyhow::bail;
use clap::Args;
use serde::Serialize;

use super::figures::Figures;
use super::link::{Inlet, Outlet, Pairs};
use super::nats::{self, NatsServer};
use super::node::{self, PairsArgs};
use super::output::{self, OutputArgs};
use super::phase::{self, LoadArgs};
use super::relay::NullRelay;
use super::rounding::round;
use super::search::{self, Search, SearchArgs};
use super::table;

/// `koi bench relay-baseline` options.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// A running Koi node's HTTP gateway, measured after the two ceilings and
    /// reported as ratios to them. Without it, only the ceilings are measured.
    #[arg(long)]
    url: Option<String>,
    #[command(flatten)]
    pairs: PairsArgs,
    /// Offered messages per second for each target (unless --find-max).
    #[arg(long, default_value_t = 5000.0)]
    rate: f64,
    /// Seconds of measured load per target [default: 10]; with --find-max, the
    /// most seconds of load per target over all its steps [default: 120].
    #[arg(long)]
    duration: Option<f64>,
    /// Search each target's highest sustained rate, as `koi bench max` does,
    /// instead of offering --rate.
    #[arg(long)]
    find_max: bool,
    #[command(flatten)]
    search: SearchArgs,
    #[command(flatten)]
    load: LoadArgs,
    /// Leave NATS out (no `nats-server` on this machine).
    #[arg(long)]
    no_nats: bool,
    /// The Koi node's process id, when it runs on this machine: its CPU time
    /// is then reported beside the bench's.
    #[arg(long)]
    node_pid: Option<u32>,
    #[command(flatten)]
    output: OutputArgs,
}

/// What one target did.
#[derive(Debug, Serialize)]
struct Target {
    /// `null-relay`, `nats` or `koi`.
    target: &'static str,
    url: String,
    setup_s: f64,
    /// The phase at --rate; with --find-max, the highest sustained step (null
    /// when even the first step fell behind).
    figures: Option<Figures>,
    /// With --find-max: `steps`, `max_sustained_rate`, `ended_by`.
    #[serde(flatten)]
    search: Option<Search>,
    /// Nothing lost or duplicated.
    ok: bool,
}

impl Target {
    /// Whether its search ended still keeping up (at --duration or
    /// --max-rate): its highest sustained rate is then a lower bound.
    fn cut_short(&self) -> bool {
        self.search
            .as_ref()
            .is_some_and(|s| matches!(s.ended_by, "duration" | "max_rate"))
    }

    /// The rate compared: the delivered rate, or the highest sustained rate.
    fn rate(&self) -> Option<f64> {
        match &self.search {
            Some(search) => search.max_sustained_rate,
            None => self.figures.as_ref().map(|f| f.traffic.delivery_rate),
        }
    }

    /// The figures at offered `rate`: the phase, or with --find-max the step
    /// at that rate (every target steps through the same rates).
    fn at(&self, rate: f64) -> Option<&Figures> {
        match &self.search {
            Some(search) => search
                .steps
                .iter()
                .map(|s| &s.figures)
                .find(|f| f.rate == rate),
            None => self.figures.as_ref().filter(|f| f.rate == rate),
        }
    }
}

/// Koi's figures over each ceiling's; a ratio is absent when a target was not measured.
#[derive(Debug, Default, Serialize)]
struct Ratios {
    #[serde(skip_serializing_if = "Option::is_none")]
    koi_vs_null_relay: Option<Ratio>,
    #[serde(skip_serializing_if = "Option::is_none")]
    koi_vs_nats: Option<Ratio>,
}

/// Koi's figures over a ceiling's.
#[derive(Debug, Serialize)]
struct Ratio {
    /// Koi's rate over the ceiling's (delivered msgs/s, or with --find-max the
    /// highest sustained rate): 1 is as fast, below 1 slower.
    rate: Option<f64>,
    /// Koi's send→delivery p50 over the ceiling's at the same offered rate
    /// (with --find-max, Koi's highest sustained rate): above 1 is slower.
    p50: Option<f64>,
    /// The same for p99.
    p99: Option<f64>,
    /// True when the ceiling's search stopped at --duration or --max-rate
    /// while still keeping up: its highest sustained rate is only a lower
    /// bound, so `rate` is only an upper bound.
    rate_is_upper_bound: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    transport: &'static str,
    users: usize,
    pairs: usize,
    size: usize,
    /// `rate` (one phase at `rate` per target) or `find_max`.
    mode: &'static str,
    rate: Option<f64>,
    duration_s: f64,
    targets: Vec<Target>,
    /// Koi's figures over each ceiling's (with --url).
    ratios: Ratios,
    warnings: Vec<String>,
    ok: bool,
}

pub async fn run(args: BaselineArgs) -> anyhow::Result<()> {
    args.pairs.check_with(&args.load)?;
    if args.find_max {
        args.search.check()?;
    } else if !(args.rate.is_finite() && args.rate > 0.0) {
        bail!("--rate must be positive");
    }
    let duration = args
        .duration
        .unwrap_or(if args.find_max { 120.0 } else { 10.0 });
    if !(duration.is_finite() && duration > 0.0) {
        bail!("--duration must be positive");
    }
    let prefix = args.pairs.prefix()?;
    let mut warnings = Vec::new();

    let relay = NullRelay::start().await?;
    progress!("null relay on {}", relay.url());
    let connected = node::connect(&relay.url(), &args.pairs, &prefix).await?;
    let mut targets = vec![
        measure(
            &args,
            duration,
            "null-relay",
            relay.url(),
            connected.setup_s,
            &connected.pairs,
            None,
        )
        .await?,
    ];
    drop((connected, relay));

    if !args.no_nats {
        let broker = NatsServer::start().await?;
        progress!("nats-server on {}", broker.url());
        let started = tokio::time::Instant::now();
        let pairs = nats::connect(
            broker.url(),
            args.pairs.pairs(),
            args.pairs.connect_concurrency,
        )
        .await?;
        let setup_s = started.elapsed().as_secs_f64();
        let url = broker.url().to_owned();
        targets.push(measure(&args, duration, "nats", url, setup_s, &pairs, broker.pid()).await?);
    }

    if let Some(url) = &args.url {
        let first_rate = if args.find_max {
            args.search.start_rate
        } else {
            args.rate
        };
        if let Some(warning) = args.pairs.rate_warning(first_rate) {
            eprintln!("warning: {warning}");
            warnings.push(warning);
        }
        let connected = node::connect(url, &args.pairs, &prefix).await?;
        targets.push(
            measure(
                &args,
                duration,
                "koi",
                url.clone(),
                connected.setup_s,
                &connected.pairs,
                args.node_pid,
            )
            .await?,
        );
    }

    let cut_short = targets
        .iter()
        .filter(|t| t.target != "koi" && t.cut_short());
    if targets.iter().any(|t| t.target == "koi") {
        warnings.extend(cut_short.map(|ceiling| {
            format!(
                "{}'s search was cut short while it kept up: its rate is a lower bound, and \
                 Koi's ratio to it an upper bound (raise --duration or start it higher)",
                ceiling.target
            )
        }));
    }
    let report = Report {
        bench: "relay-baseline",
        transport: args.pairs.transport.name(),
        users: args.pairs.users,
        pairs: args.pairs.pairs(),
        size: args.load.size,
        mode: if args.find_max { "find_max" } else { "rate" },
        rate: (!args.find_max).then_some(args.rate),
        duration_s: duration,
        ratios: ratios(&targets),
        ok: targets.iter().all(|t| t.ok),
        targets,
        warnings,
    };
    let what = output::lost_or_duplicated;
    Ok(args
        .output
        .finish(&report, Report::table, report.ok, what)?)
}

/// Runs the load of `args` on one target's pairs.
async fn measure<O: Outlet, I: Inlet>(
    args: &BaselineArgs,
    duration: f64,
    target: &'static str,
    url: String,
    setup_s: f64,
    pairs: &Pairs<O, I>,
    server_pid: Option<u32>,
) -> anyhow::Result<Target> {
    progress!("measuring {target}");
    let (figures, search) = if args.find_max {
        let search = search::run(pairs, &args.search, &args.load, duration, server_pid).await?;
        (search.best().map(|s| s.figures.clone()), Some(search))
    } else {
        let mut load = args.load.at(args.rate, duration);
        load.server_pid = server_pid;
        let measured = phase::run(pairs, &load).await?;
        (Some(Figures::new(args.rate, duration, measured)), None)
    };
    let ok = match &search {
        Some(search) => search.ok(),
        None => figures.as_ref().is_some_and(|f| f.ok),
    };
    Ok(Target {
        target,
        url,
        setup_s: round(setup_s, 3),
        figures,
        search,
        ok,
    })
}

fn ratios(targets: &[Target]) -> Ratios {
    let find = |name: &str| targets.iter().find(|t| t.target == name);
    let Some(koi) = find("koi") else {
        return Ratios::default();
    };
    let over = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(round(a / b, 3)),
        _ => None,
    };
    let p50 = |f: Option<&Figures>| f.map(|f| f.traffic.send_to_delivery.p50_ms);
    let p99 = |f: Option<&Figures>| f.map(|f| f.traffic.send_to_delivery.p99_ms);
    let to = |ceiling: &Target| {
        // Latencies compare like with like: the ceiling at Koi's rate.
        let ours = koi.figures.as_ref();
        let theirs = ours.and_then(|f| ceiling.at(f.rate));
        Ratio {
            rate: over(koi.rate(), ceiling.rate()),
            p50: over(p50(ours), p50(theirs)),
            p99: over(p99(ours), p99(theirs)),
            rate_is_upper_bound: ceiling.cut_short(),
        }
    };
    Ratios {
        koi_vs_null_relay: find("null-relay").map(to),
        koi_vs_nats: find("nats").map(to),
    }
}

impl Report {
    fn table(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        let load = match self.rate {
            Some(rate) => format!("{rate} msgs/s for {} s per target", self.duration_s),
            None => format!(
                "highest sustained rate, within {} s per target",
                self.duration_s
            ),
        };
        let _ = writeln!(
            w,
            "koi bench relay-baseline: {} users ({} pairs), {}, {} B text, {load}",
            self.users, self.pairs, self.transport, self.size
        );
        let verdict = if self.rate.is_none() { "  verdict" } else { "" };
        let _ = writeln!(
            w,
            "\n{}  server cores{verdict}",
            Figures::header("target", 14)
        );
        let row = |w: &mut String, name: &str, f: &Figures, verdict: &str| {
            let server = f.server_cpu_s.map_or_else(
                || "-".to_owned(),
                |cpu| format!("{:.2}", cpu / f.load_s.max(1e-3)),
            );
            let _ = writeln!(w, "{}  {server:>12}{verdict}", f.row(name, 14));
        };
        for target in &self.targets {
            match (&target.search, &target.figures) {
                (Some(search), _) => {
                    for (i, step) in search.steps.iter().enumerate() {
                        let verdict = step.shortfall.as_deref().unwrap_or("sustained");
                        let name = format!("{} #{}", target.target, i + 1);
                        row(w, &name, &step.figures, &format!("  {verdict}"));
                    }
                }
                (None, Some(figures)) => row(w, target.target, figures, ""),
                (None, None) => {}
            }
        }
        let _ = writeln!(
            w,
            "  (latencies in ms; cores: the bench's own CPU, the null relay's included)"
        );
        if self.rate.is_none() {
            let _ = writeln!(w);
            for target in &self.targets {
                let best = target
                    .rate()
                    .map_or_else(|| "none".to_owned(), |r| format!("{r} msgs/s"));
                let ended = match target.search.as_ref().map(|s| s.ended_by) {
                    Some("max_rate") => " (--max-rate reached: a lower bound)",
                    Some("duration") => " (--duration reached: a lower bound)",
                    _ => "",
                };
                let _ = writeln!(
                    w,
                    "  {:<14} highest sustained rate {best}{ended}",
                    target.target
                );
            }
        }
        let ratios = [
            ("koi ÷ null relay", &self.ratios.koi_vs_null_relay),
            ("koi ÷ nats", &self.ratios.koi_vs_nats),
        ];
        if ratios.iter().any(|(_, r)| r.is_some()) {
            let _ = writeln!(w);
        }
        for (name, ratio) in ratios {
            let Some(ratio) = ratio else { continue };
            let show = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.3}"));
            let bound = if ratio.rate_is_upper_bound {
                " (an upper bound: the ceiling's search was cut short)"
            } else {
                ""
            };
            let _ = writeln!(
                w,
                "  {name:<18} rate {}{bound}   p50 {}   p99 {}",
                show(ratio.rate),
                show(ratio.p50),
                show(ratio.p99)
            );
        }
        let target_warnings = self
            .targets
            .iter()
            .filter_map(|t| t.figures.as_ref())
            .flat_map(|f| &f.warnings);
        table::close(
            w,
            self.warnings.iter().chain(target_warnings),
            self.ok,
            "OK: every acknowledged message was delivered exactly once, on every target",
            "FAILED: messages were lost or duplicated",
        );
        s
    }
}
