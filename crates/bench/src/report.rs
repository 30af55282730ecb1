//! The result of a run: a table for people, one JSON object for scripts.

use std::fmt::Write as _;

use serde::Serialize;

use super::figures::Figures;
use super::latency::Summary;
use super::rounding::round;
use super::table;
use super::tally::Tally;
use super::traffic::Traffic;

/// Everything a run measured. Field meanings: `docs/benchmarks.md`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub bench: &'static str,
    pub transport: &'static str,
    pub url: String,
    pub nodes: usize,
    pub users: usize,
    pub pairs: usize,
    /// Offered rate, messages per second, all senders together.
    pub rate: f64,
    pub rate_per_sender: f64,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub size: usize,
    pub prefix: String,
    pub setup_s: f64,
    #[serde(flatten)]
    pub traffic: Traffic,
    /// How late messages went out after they were due (included in both latencies).
    pub send_lag: Summary,
    /// Drain time used after the last reply, seconds.
    pub drain_s: f64,
    /// Seconds from the first due message to the end of the drain.
    pub load_s: f64,
    /// CPU seconds the bench process used over `load_s` (Linux only): the
    /// bench's share of the machine, when it runs beside the node.
    pub bench_cpu_s: Option<f64>,
    pub warnings: Vec<String>,
    /// `lost == 0 && duplicated == 0`.
    pub ok: bool,
}
/// The fixed part of a report (what was asked for).
#[derive(Debug, Clone)]
pub struct Setup {
    pub transport: &'static str,
    pub url: String,
    pub nodes: usize,
    pub users: usize,
    pub rate: f64,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub size: usize,
    pub prefix: String,
    pub setup_s: f64,
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct Measured {
    pub tally: Tally,
    pub send_to_ack: Summary,
    pub send_to_delivery: Summary,
    pub send_lag: Summary,
    pub drain_s: f64,
    pub load_s: f64,
    pub bench_cpu_s: Option<f64>,
    /// CPU seconds of a server process the bench started (`nats-server`).
    pub server_cpu_s: Option<f64>,
    pub warnings: Vec<String>,
}

impl Report {
    /// The report of a run of one phase: what was asked for, and the phase's
    /// figures.
    pub fn new(setup: Setup, m: Measured) -> Report {
        let pairs = setup.users / 2;
        let f = Figures::new(setup.rate, setup.duration_s, m);
        Report {
            bench: "direct",
            transport: setup.transport,
            url: setup.url,
            nodes: setup.nodes,
            users: setup.users,
            pairs,
            rate: setup.rate,
            rate_per_sender: round(setup.rate / pairs.max(1) as f64, 3),
            duration_s: setup.duration_s,
            warmup_s: setup.warmup_s,
            size: setup.size,
            prefix: setup.prefix,
            setup_s: round(setup.setup_s, 3),
            traffic: f.traffic,
            send_lag: f.send_lag,
            drain_s: f.drain_s,
            load_s: f.load_s,
            bench_cpu_s: f.bench_cpu_s,
            warnings: f.warnings,
            ok: f.ok,
        }
    }

    pub fn table(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(
            w,
            "koi bench direct: {} users ({} pairs), {} over {}, {} node(s)",
            self.users, self.pairs, self.transport, self.url, self.nodes
        );
        let _ = writeln!(
            w,
            "offered {} msgs/s ({} per sender), {} B text, {} s (+{} s warmup), prefix {}, setup {:.1} s",
            self.rate,
            self.rate_per_sender,
            self.size,
            self.duration_s,
            self.warmup_s,
            self.prefix,
            self.setup_s
        );
        let _ = writeln!(w);
        let t = &self.traffic;
        table::row(w, "offered", t.offered);
        table::row(w, "sent", t.sent);
        table::row(w, "acked", t.acked);
        t.rows(w, "delivered msgs/s");
        table::row(w, "drain", format_args!("{:.2} s", self.drain_s));
        if let Some(cpu) = self.bench_cpu_s {
            table::row(
                w,
                "bench cpu",
                format_args!("{cpu:.2} s over {:.2} s of load", self.load_s),
            );
        }
        table::latencies(
            w,
            [
                ("send→ack", &t.send_to_ack),
                ("send→delivery", &t.send_to_delivery),
                ("send lag (bench)", &self.send_lag),
            ],
        );
        table::close(
            w,
            &self.warnings,
            self.ok,
            "OK: every acknowledged message was delivered exactly once",
            "FAILED: messages were lost or duplicated",
        );
        s
    }
}
