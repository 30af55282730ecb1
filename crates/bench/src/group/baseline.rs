//! `koi bench group --baseline`: the ceilings of a group's fan-out, in the same
//! run and with the same load as the node:
//!
//! 1. the null relay, as a `koi bench null-relay` child process: the same
//!    group set up and loaded through Koi's frames with nothing stored, so
//!    its deliveries/s are what the protocol, the sockets and the load
//!    generator allow here, and its CPU time is its own;
//! 2. a bare `nats-server`: one subject with `--online` subscriber
//!    connections and one publisher at `--rate` ([`nats::fanout`]);
//! 3. the node at `--url`, reported as ratios to both.
//!
//! Offer a `--rate` above what the targets sustain to compare capacities: a
//! target that keeps up delivers what was offered, and the ratio is then 1.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::super::nats::NatsServer;
use super::super::nats::fanout::{self, FanoutFigures, FanoutPlan};
use super::super::relay::RelayProcess;
use super::super::rounding::round;
use super::super::{output, table};
use super::report::Report;
use super::{GroupArgs, Target, measure, verdict};

/// Everything a baseline run measured.
#[derive(Debug, Serialize)]
struct Baseline {
    bench: &'static str,
    null_relay: Report,
    nats: Option<FanoutFigures>,
    koi: Report,
    ratios: Ratios,
    ok: bool,
}

/// The node's group figures over each ceiling's (absent when not measured).
#[derive(Debug, Default, Serialize)]
struct Ratios {
    /// Deliveries/s over the null relay's: 1 is as fast, below 1 slower.
    deliveries_vs_null_relay: Option<f64>,
    deliveries_vs_nats: Option<f64>,
    /// Server CPU per delivery over the null relay's and NATS's: above 1 costs more.
    cpu_per_delivery_vs_null_relay: Option<f64>,
    cpu_per_delivery_vs_nats: Option<f64>,
    /// Send→delivery p99 over the null relay's: above 1 is slower.
    p99_vs_null_relay: Option<f64>,
}

pub async fn run(args: &GroupArgs, prefix: &str) -> anyhow::Result<()> {
    let relay = RelayProcess::start().await?;
    progress!("null relay on {} (pid {:?})", relay.url(), relay.pid());
    let null_relay = measure(
        args,
        Target {
            url: relay.url(),
            admin_token: "null-relay",
            server_pid: relay.pid(),
        },
        prefix,
    )
    .await?;
    drop(relay);

    let nats = if args.no_nats {
        None
    } else {
        let broker = NatsServer::start().await?;
        progress!("nats-server on {}", broker.url());
        let plan = FanoutPlan {
            subscribers: args.online,
            rate: args.rate,
            warmup: Duration::from_secs_f64(args.warmup),
            duration: Duration::from_secs_f64(args.duration),
            drain: Duration::from_secs_f64(args.drain),
            size: args.size,
            concurrency: args.connect_concurrency,
            server_pid: broker.pid(),
        };
        Some(fanout::run(broker.url(), &plan).await?)
    };

    progress!("measuring the node at {}", args.url);
    let koi = measure(
        args,
        Target {
            url: &args.url,
            admin_token: &args.admin_token,
            server_pid: args.node_pid,
        },
        prefix,
    )
    .await?;

    let over = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(round(a / b, 3)),
        _ => None,
    };
    let rate = |r: &Report| Some(r.traffic.delivery_rate);
    let p99 = |r: &Report| Some(r.traffic.send_to_delivery.p99_ms);
    let ratios = Ratios {
        deliveries_vs_null_relay: over(rate(&koi), rate(&null_relay)),
        deliveries_vs_nats: over(rate(&koi), nats.as_ref().map(|n| n.deliveries_per_s)),
        cpu_per_delivery_vs_null_relay: over(
            koi.server_cpu_us_per_delivery,
            null_relay.server_cpu_us_per_delivery,
        ),
        cpu_per_delivery_vs_nats: over(
            koi.server_cpu_us_per_delivery,
            nats.as_ref().and_then(|n| n.server_cpu_us_per_delivery),
        ),
        p99_vs_null_relay: over(p99(&koi), p99(&null_relay)),
    };
    let report = Baseline {
        bench: "group-baseline",
        ok: null_relay.ok && koi.ok && nats.as_ref().is_none_or(|n| n.ok),
        null_relay,
        nats,
        koi,
        ratios,
    };
    output::print(&report, args.output.json, Baseline::table);
    if let Some(nats) = report.nats.as_ref().filter(|n| !n.ok) {
        // NATS drops for slow consumers by design: say so, but judge Koi.
        eprintln!(
            "warning: nats-server lost {} and duplicated {} deliveries",
            nats.lost, nats.duplicated
        );
    }
    verdict(&report.null_relay, args.output.allow_loss)?;
    verdict(&report.koi, args.output.allow_loss)
}

impl Baseline {
    fn table(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(w, "== null relay ==\n{}", self.null_relay.table());
        if let Some(n) = &self.nats {
            let _ = writeln!(
                w,
                "== nats-server: 1 publisher, {} subscribers, {} msgs/s ==",
                n.subscribers, n.rate
            );
            table::row(
                w,
                "sent/delivered",
                format_args!(
                    "{} / {} of {} owed ({} lost, {} duplicated)",
                    n.sent, n.delivered, n.expected, n.lost, n.duplicated
                ),
            );
            table::row(w, "deliveries/s", n.deliveries_per_s);
            if let (Some(cpu), Some(per)) = (n.server_cpu_s, n.server_cpu_us_per_delivery) {
                table::row(
                    w,
                    "server cpu",
                    format_args!("{cpu:.2} s, {per:.2} µs per delivery"),
                );
            }
            table::latencies(w, [("send→delivery", &n.send_to_delivery)]);
            let _ = writeln!(w);
        }
        let _ = writeln!(w, "== koi ==\n{}", self.koi.table());
        let show = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.3}"));
        let r = &self.ratios;
        let _ = writeln!(w, "== koi ÷ ceilings ==");
        table::row(
            w,
            "deliveries/s",
            format_args!(
                "÷ null relay {}   ÷ nats {}",
                show(r.deliveries_vs_null_relay),
                show(r.deliveries_vs_nats)
            ),
        );
        table::row(
            w,
            "cpu per delivery",
            format_args!(
                "÷ null relay {}   ÷ nats {}",
                show(r.cpu_per_delivery_vs_null_relay),
                show(r.cpu_per_delivery_vs_nats)
            ),
        );
        table::row(
            w,
            "send→delivery p99",
            format_args!("÷ null relay {}", show(r.p99_vs_null_relay)),
        );
        s
    }
}
