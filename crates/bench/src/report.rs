//! The result of a run: a table for people, one JSON object for scripts.

use std::fmt::Write as _;

use serde::Serialize;

use super::figures::Figures;
use super::header::Header;
use super::measured::Measured;
use super::rounding::round;
use super::table;

/// Everything a run measured: what was asked for, and the one phase's
/// [`Figures`]. Field meanings: `docs/benchmarks.md`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub header: Header,
    pub nodes: usize,
    pub users: usize,
    pub pairs: usize,
    pub rate_per_sender: f64,
    pub warmup_s: f64,
    pub size: usize,
    pub prefix: String,
    pub setup_s: f64,
    /// `rate`, `duration_s`, the traffic's counts, rates and latencies,
    /// `send_lag`, `drain_s`, `load_s`, `bench_cpu_s`, `warnings`, `ok`.
    #[serde(flatten)]
    pub figures: Figures,
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

impl Report {
    /// The report of a run of one phase: what was asked for, and the phase's
    /// figures.
    pub fn new(setup: Setup, m: Measured) -> Report {
        let pairs = setup.users / 2;
        Report {
            header: Header {
                bench: "direct",
                transport: setup.transport,
                url: setup.url,
            },
            nodes: setup.nodes,
            users: setup.users,
            pairs,
            rate_per_sender: round(setup.rate / pairs.max(1) as f64, 3),
            warmup_s: setup.warmup_s,
            size: setup.size,
            prefix: setup.prefix,
            setup_s: round(setup.setup_s, 3),
            figures: Figures::new(setup.rate, setup.duration_s, m),
        }
    }

    pub fn table(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(
            w,
            "{} {} users ({} pairs), {} over {}, {} node(s)",
            self.header.title(),
            self.users,
            self.pairs,
            self.header.transport,
            self.header.url,
            self.nodes
        );
        let _ = writeln!(
            w,
            "offered {} msgs/s ({} per sender), {} B text, {} s (+{} s warmup), prefix {}, setup {:.1} s",
            self.figures.rate,
            self.rate_per_sender,
            self.size,
            self.figures.duration_s,
            self.warmup_s,
            self.prefix,
            self.setup_s
        );
        let _ = writeln!(w);
        let (f, t) = (&self.figures, &self.figures.traffic);
        table::row(w, "offered", t.counts.offered);
        table::row(w, "sent", t.counts.sent);
        table::row(w, "acked", t.counts.acked);
        t.rows(w, "delivered msgs/s");
        if let Some(r) = &f.reactions {
            let _ = writeln!(
                w,
                "\n  reactions ({} of the operations): {} react, {} unreact acked",
                r.ratio, r.reacts, r.unreacts
            );
            table::row(w, "offered", r.traffic.counts.offered);
            table::row(w, "sent", r.traffic.counts.sent);
            table::row(w, "acked", r.traffic.counts.acked);
            r.traffic.rows(w, "delivered events/s");
            let _ = writeln!(w);
        }
        table::row(w, "drain", format_args!("{:.2} s", f.drain_s));
        if let Some(cpu) = f.bench_cpu_s {
            table::row(
                w,
                "bench cpu",
                format_args!("{cpu:.2} s over {:.2} s of load", f.load_s),
            );
        }
        let mut lines = vec![
            ("send→ack", &t.send_to_ack),
            ("send→delivery", &t.send_to_delivery),
        ];
        if let Some(r) = &f.reactions {
            lines.push(("reaction send→ack", &r.traffic.send_to_ack));
            lines.push(("reaction send→dlv", &r.traffic.send_to_delivery));
        }
        lines.push(("send lag (bench)", &f.send_lag));
        table::latencies(w, lines);
        table::close(
            w,
            &f.warnings,
            f.ok,
            "OK: every acknowledged message was delivered exactly once",
            "FAILED: messages were lost or duplicated",
        );
        s
    }
}
