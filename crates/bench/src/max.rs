//! `koi bench max`: the highest rate a node sustains. The users are signed in
//! and connected once ([`node`]); then [`search`] runs `direct`'s load in steps
//! of increasing rate over those connections until one falls behind.

use std::fmt::Write as _;

use anyhow::bail;
use clap::Args;
use serde::Serialize;

use super::figures::Figures;
use super::header::Header;
use super::node::{self, PairsArgs};
use super::output::{self, OutputArgs};
use super::phase::LoadArgs;
use super::rounding::round;
use super::search::{self, Search, SearchArgs};
use super::table;

/// `koi bench max` options.
#[derive(Debug, Args)]
pub struct MaxArgs {
    /// The node's HTTP gateway; the WebSocket and TCP addresses come from its dispatch.
    #[arg(long, default_value = "http://127.0.0.1:7780")]
    url: String,
    #[command(flatten)]
    pairs: PairsArgs,
    #[command(flatten)]
    search: SearchArgs,
    /// Most seconds of load over all steps: no step starts that would end past it.
    #[arg(long, default_value_t = 120.0)]
    duration: f64,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Everything `max` measured. Field meanings: `docs/benchmarks.md`.
#[derive(Debug, Serialize)]
struct Report {
    #[serde(flatten)]
    header: Header,
    nodes: usize,
    users: usize,
    pairs: usize,
    size: usize,
    prefix: String,
    setup_s: f64,
    start_rate: f64,
    factor: f64,
    step: Option<f64>,
    max_rate: f64,
    step_duration_s: f64,
    warmup_s: f64,
    duration_s: f64,
    min_delivered: f64,
    max_p99_ms: f64,
    #[serde(flatten)]
    search: Search,
    warnings: Vec<String>,
    /// No step lost or duplicated a message.
    ok: bool,
}

pub async fn run(args: MaxArgs) -> anyhow::Result<()> {
    args.pairs.check_with(&args.load)?;
    args.search.check()?;
    if !(args.duration.is_finite() && args.duration > 0.0) {
        bail!("--duration must be positive");
    }
    let prefix = args.pairs.prefix()?;
    let warnings: Vec<String> = args
        .pairs
        .rate_warning(args.search.start_rate)
        .into_iter()
        .collect();
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }

    let target = node::connect(&args.url, &args.pairs, &prefix).await?;
    let search = search::run(&target.pairs, &args.search, &args.load, args.duration, None).await?;
    let report = Report {
        header: Header {
            bench: "max",
            transport: args.pairs.transport.name(),
            url: args.url.clone(),
        },
        nodes: target.nodes,
        users: args.pairs.users,
        pairs: args.pairs.pairs(),
        size: args.load.size,
        prefix,
        setup_s: round(target.setup_s, 3),
        start_rate: args.search.start_rate,
        factor: args.search.factor,
        step: args.search.step,
        max_rate: args.search.max_rate,
        step_duration_s: args.search.step_duration,
        warmup_s: args.load.warmup,
        duration_s: args.duration,
        min_delivered: args.search.min_delivered,
        max_p99_ms: args.search.max_p99_ms,
        ok: search.ok(),
        search,
        warnings,
    };
    let what = output::lost_or_duplicated;
    Ok(args
        .output
        .finish(&report, Report::table, report.ok, what)?)
}

impl Report {
    fn table(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(
            w,
            "koi bench max: {} users ({} pairs), {} over {}, {} node(s)",
            self.users, self.pairs, self.header.transport, self.header.url, self.nodes
        );
        let growth = match self.step {
            Some(step) => format!("+{step}"),
            None => format!("×{}", self.factor),
        };
        let _ = writeln!(
            w,
            "steps of {} s (+{} s warmup) from {} msgs/s, {growth} up to {} msgs/s, within {} s; \
             {} B text, prefix {}, setup {:.1} s",
            self.step_duration_s,
            self.warmup_s,
            self.start_rate,
            self.max_rate,
            self.duration_s,
            self.size,
            self.prefix,
            self.setup_s
        );
        let _ = writeln!(
            w,
            "sustained: delivered ≥ {} % of offered, p99 send→delivery ≤ {} ms, nothing lost or duplicated",
            self.min_delivered * 100.0,
            self.max_p99_ms
        );
        let _ = writeln!(w, "\n{}  verdict", Figures::header("step", 4));
        for (i, step) in self.search.steps.iter().enumerate() {
            let verdict = step.shortfall.as_deref().unwrap_or("sustained");
            let _ = writeln!(
                w,
                "{}  {verdict}",
                step.figures.row(&(i + 1).to_string(), 4)
            );
        }
        let _ = writeln!(w, "  (latencies in ms; cores: the bench's own CPU)");
        let _ = writeln!(w);
        match self.search.best() {
            Some(best) => {
                let _ = writeln!(
                    w,
                    "highest sustained rate: {} msgs/s (delivered {:.1}/s, p99 send→delivery {:.2} ms)",
                    best.figures.rate,
                    best.figures.traffic.delivery_rate,
                    best.figures.traffic.send_to_delivery.p99_ms
                );
            }
            None => {
                let _ = writeln!(
                    w,
                    "highest sustained rate: none (the first step fell behind: lower --start-rate)"
                );
            }
        }
        let ended = match self.search.ended_by {
            "fell_behind" => "a step fell behind",
            "max_rate" => "--max-rate reached",
            _ => "--duration reached",
        };
        let _ = writeln!(w, "search ended: {ended}");
        let step_warnings = self.search.steps.iter().flat_map(|s| &s.figures.warnings);
        table::close(
            w,
            self.warnings.iter().chain(step_warnings),
            self.ok,
            "OK: every acknowledged message was delivered exactly once",
            "FAILED: messages were lost or duplicated",
        );
        s
    }
}
