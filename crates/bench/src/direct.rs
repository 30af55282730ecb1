//! `koi bench direct`: U/2 sender → receiver pairs of direct messages.
//!
//! 1. Signs the users in and connects them ([`node`]).
//! 2. Runs one load phase ([`phase`]): each sender sends to its receiver at
//!    `rate / pairs` per second with its own phase, spread evenly over one
//!    period; each receiver matches pushes to sends.
//! 3. After the last reply, waits up to `--drain` seconds for the deliveries,
//!    then tallies and reports.
//!
//! With `--react-ratio r`, that share of each sender's operations are
//! reactions (`react`, every second one an `unreact`) to its newest acked
//! message ([`sender`](super::sender)); the report gives them beside the
//! messages, and checks that each acked one reached the receiver once as an
//! event.

use anyhow::bail;
use clap::Args;

use super::node::{self, PairsArgs};
use super::output::OutputArgs;
use super::phase::{self, LoadArgs};
use super::reactions;
use super::report::{Report, Setup};

/// `koi bench direct` options.
#[derive(Debug, Args)]
pub struct DirectArgs {
    /// The node's HTTP gateway; the WebSocket and TCP addresses come from its dispatch.
    #[arg(long, default_value = "http://127.0.0.1:7780")]
    url: String,
    #[command(flatten)]
    pairs: PairsArgs,
    /// Offered messages per second, all senders together (each sends rate/(U/2)).
    #[arg(long, default_value_t = 10_000.0)]
    rate: f64,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// The share of each sender's operations (of --rate) that are reactions
    /// to its newest acked message: `react`, every second one an `unreact`.
    #[arg(long, default_value_t = 0.0)]
    react_ratio: f64,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    output: OutputArgs,
}

pub async fn run(args: DirectArgs) -> anyhow::Result<()> {
    args.pairs.check_with(&args.load)?;
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if !positive(args.rate) || !positive(args.duration) {
        bail!("--rate and --duration must be positive");
    }
    reactions::check_ratio(args.react_ratio)?;
    let prefix = args.pairs.prefix()?;
    let warning = args.pairs.rate_warning(args.rate);
    if let Some(warning) = &warning {
        eprintln!("warning: {warning}");
    }

    let target = node::connect(&args.url, &args.pairs, &prefix).await?;
    let load = phase::Load {
        react_ratio: args.react_ratio,
        ..args.load.at(args.rate, args.duration)
    };
    let mut measured = phase::run(&target.pairs, &load).await?;
    measured.warnings.splice(0..0, warning);
    let report = Report::new(
        Setup {
            transport: args.pairs.transport.name(),
            url: args.url.clone(),
            nodes: target.nodes,
            users: args.pairs.users,
            rate: args.rate,
            duration_s: args.duration,
            warmup_s: args.load.warmup,
            size: args.load.size,
            prefix,
            setup_s: target.setup_s,
        },
        measured,
    );
    let t = &report.figures.traffic.counts;
    let r = report.figures.reactions.as_ref().map(|r| &r.traffic.counts);
    let what = || {
        format!(
            "{} lost and {} duplicated messages{}",
            t.lost,
            t.duplicated,
            r.map(|r| format!(
                ", {} lost and {} duplicated reactions",
                r.lost, r.duplicated
            ))
            .unwrap_or_default()
        )
    };
    args.output
        .finish(&report, Report::table, report.figures.ok, what)?;
    Ok(())
}
