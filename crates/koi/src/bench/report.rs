//! The result of a run: a table for people, one JSON object for scripts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::latency::Summary;
use super::tally::Tally;

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
    pub offered: u64,
    pub sent: u64,
    pub acked: u64,
    pub errors: BTreeMap<String, u64>,
    pub errors_total: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub delivered_unacked: u64,
    pub unexpected: u64,
    pub disconnects: u64,
    /// Acks received during the measured window, per second.
    pub ack_rate: f64,
    /// First deliveries received during the measured window, per second.
    pub delivery_rate: f64,
    pub send_to_ack: Summary,
    pub send_to_delivery: Summary,
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

pub(super) fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

impl Report {
    pub fn new(setup: Setup, m: Measured) -> Report {
        let pairs = setup.users / 2;
        let t = m.tally;
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
            offered: t.offered,
            sent: t.sent,
            acked: t.acked,
            errors_total: t.errors_total(),
            errors: t.errors.clone(),
            delivered: t.delivered,
            lost: t.lost,
            duplicated: t.duplicated,
            reordered: t.reordered,
            delivered_unacked: t.delivered_unacked,
            unexpected: t.unexpected,
            disconnects: t.disconnects,
            ack_rate: round(t.acked_in_window as f64 / setup.duration_s, 1),
            delivery_rate: round(t.delivered_in_window as f64 / setup.duration_s, 1),
            send_to_ack: m.send_to_ack,
            send_to_delivery: m.send_to_delivery,
            send_lag: m.send_lag,
            drain_s: round(m.drain_s, 3),
            load_s: round(m.load_s, 3),
            bench_cpu_s: m.bench_cpu_s.map(|s| round(s, 2)),
            warnings: m.warnings,
            ok: t.correct(),
        }
    }

    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a report serializes")
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
        let row = |w: &mut String, k: &str, v: String| {
            let _ = writeln!(w, "  {k:<20} {v}");
        };
        row(w, "offered", self.offered.to_string());
        row(w, "sent", self.sent.to_string());
        row(w, "acked", self.acked.to_string());
        let errors = if self.errors.is_empty() {
            "0".to_owned()
        } else {
            let by_code: Vec<String> = self
                .errors
                .iter()
                .map(|(c, n)| format!("{c}: {n}"))
                .collect();
            format!("{} ({})", self.errors_total, by_code.join(", "))
        };
        row(w, "errors", errors);
        row(w, "delivered", self.delivered.to_string());
        row(w, "lost", self.lost.to_string());
        row(w, "duplicated", self.duplicated.to_string());
        if self.reordered > 0 {
            row(w, "reordered", self.reordered.to_string());
        }
        if self.delivered_unacked > 0 {
            row(w, "delivered unacked", self.delivered_unacked.to_string());
        }
        if self.unexpected > 0 {
            row(w, "unexpected", self.unexpected.to_string());
        }
        if self.disconnects > 0 {
            row(w, "disconnects", self.disconnects.to_string());
        }
        row(w, "acked msgs/s", format!("{:.1}", self.ack_rate));
        row(w, "delivered msgs/s", format!("{:.1}", self.delivery_rate));
        row(w, "drain", format!("{:.2} s", self.drain_s));
        if let Some(cpu) = self.bench_cpu_s {
            row(
                w,
                "bench cpu",
                format!("{cpu:.2} s over {:.2} s of load", self.load_s),
            );
        }
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "  {:<20} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "latency (ms)", "p50", "p90", "p99", "p99.9", "max", "count"
        );
        for (name, l) in [
            ("send→ack", &self.send_to_ack),
            ("send→delivery", &self.send_to_delivery),
            ("send lag (bench)", &self.send_lag),
        ] {
            let _ = writeln!(
                w,
                "  {:<20} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9}",
                name, l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms, l.count
            );
        }
        for warning in &self.warnings {
            let _ = writeln!(w, "\nwarning: {warning}");
        }
        let _ = writeln!(
            w,
            "\n{}",
            if self.ok {
                "OK: every acknowledged message was delivered exactly once"
            } else {
                "FAILED: messages were lost or duplicated"
            }
        );
        s
    }
}
