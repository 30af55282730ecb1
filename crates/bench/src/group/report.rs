//! The result of a group run: a table for people, one JSON object for scripts.
//! Field meanings: docs/benchmarks.md.

use std::fmt::Write as _;

use serde::Serialize;

use super::super::header::Header;
use super::super::latency::Summary;
use super::super::reactions::Reactions;
use super::super::table;
use super::super::traffic::Traffic;

/// Everything a group run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub header: Header,
    pub nodes: usize,
    pub members: usize,
    /// Online members that receive (the senders are online too, besides these).
    pub online: usize,
    pub senders: usize,
    /// The group's bare id.
    pub group: String,
    pub group_reused: bool,
    /// Offered group messages per second, all senders together.
    pub rate: f64,
    pub rate_per_sender: f64,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub size: usize,
    pub prefix: String,
    pub setup: SetupTimes,
    #[serde(flatten)]
    pub traffic: Traffic,
    /// With `--react-ratio`: the group senders' reactions, beside the
    /// messages (`traffic`); `expected` counts their events owed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions: Option<Reactions>,
    /// How late group operations went out after they were due.
    pub send_lag: Summary,
    /// The direct pairs running beside the group, if any.
    pub direct: Option<Direct>,
    /// With `--direct-process`: the child `koi bench direct`'s whole report.
    pub direct_process: Option<serde_json::Value>,
    pub drain_s: f64,
    /// Seconds from the first due message to the end of the drain.
    pub load_s: f64,
    pub bench_cpu_s: Option<f64>,
    /// The node's CPU seconds over the same span (given its pid).
    pub server_cpu_s: Option<f64>,
    /// The node's CPU per delivery received in that span (group and direct,
    /// warmup included), microseconds.
    pub server_cpu_us_per_delivery: Option<f64>,
    pub warnings: Vec<String>,
    /// No owed delivery lost or duplicated, group and direct alike.
    pub ok: bool,
}

/// Where the setup time went, in seconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SetupTimes {
    pub users_created: u64,
    pub users_existing: u64,
    pub provision_s: f64,
    pub tokens_s: f64,
    pub group_s: f64,
    pub connect_s: f64,
    pub total_s: f64,
}

/// Direct messages between pairs of other users during the group's load.
#[derive(Debug, Clone, Serialize)]
pub struct Direct {
    pub pairs: usize,
    pub rate: f64,
    #[serde(flatten)]
    pub traffic: Traffic,
}

/// The rows of one traffic class.
fn rows(w: &mut String, t: &Traffic, delivery_rate: &str) {
    table::row(
        w,
        "offered/sent/acked",
        format_args!(
            "{} / {} / {}",
            t.counts.offered, t.counts.sent, t.counts.acked
        ),
    );
    t.rows(w, delivery_rate);
}

impl Report {
    pub fn table(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(
            w,
            "koi bench group: {} members, {} online + {} sender(s), group {}{}, {} over {}, {} node(s)",
            self.members,
            self.online,
            self.senders,
            self.group,
            if self.group_reused { " (reused)" } else { "" },
            self.header.transport,
            self.header.url,
            self.nodes
        );
        let _ = writeln!(
            w,
            "offered {} msgs/s ({} per sender), {} B text, {} s (+{} s warmup), prefix {}",
            self.rate, self.rate_per_sender, self.size, self.duration_s, self.warmup_s, self.prefix
        );
        let t = &self.setup;
        let _ = writeln!(
            w,
            "setup {:.1} s: {} users created, {} existing ({:.1} s), tokens {:.1} s, group {:.1} s, connect {:.1} s",
            t.total_s,
            t.users_created,
            t.users_existing,
            t.provision_s,
            t.tokens_s,
            t.group_s,
            t.connect_s
        );
        let _ = writeln!(w, "\n  group messages");
        rows(w, &self.traffic, "deliveries/s");
        if let Some(r) = &self.reactions {
            let _ = writeln!(
                w,
                "\n  group reactions ({} of the operations): {} react, {} unreact acked",
                r.ratio, r.reacts, r.unreacts
            );
            rows(w, &r.traffic, "deliveries/s");
        }
        if let Some(direct) = &self.direct {
            let _ = writeln!(
                w,
                "\n  direct messages ({} pairs, {} msgs/s offered)",
                direct.pairs, direct.rate
            );
            rows(w, &direct.traffic, "delivered msgs/s");
        }
        if let Some(child) = &self.direct_process {
            let ms = |latency: &str, at: &str| child[latency][at].as_f64().unwrap_or(f64::NAN);
            let _ = writeln!(w, "\n  direct messages from a child process");
            table::row(
                w,
                "send→delivery",
                format_args!(
                    "p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                    ms("send_to_delivery", "p50_ms"),
                    ms("send_to_delivery", "p99_ms"),
                    ms("send_to_delivery", "max_ms")
                ),
            );
            table::row(
                w,
                "lost / duplicated",
                format_args!("{} / {}", child["lost"], child["duplicated"]),
            );
        }
        table::row(w, "drain", format_args!("{:.2} s", self.drain_s));
        if let Some(cpu) = self.bench_cpu_s {
            table::row(
                w,
                "bench cpu",
                format_args!("{cpu:.2} s over {:.2} s of load", self.load_s),
            );
        }
        if let (Some(cpu), Some(per)) = (self.server_cpu_s, self.server_cpu_us_per_delivery) {
            table::row(
                w,
                "server cpu",
                format_args!("{cpu:.2} s, {per:.2} µs per delivery"),
            );
        }
        let mut lines = vec![
            ("send→ack", &self.traffic.send_to_ack),
            ("send→delivery", &self.traffic.send_to_delivery),
            ("send lag (bench)", &self.send_lag),
        ];
        if let Some(r) = &self.reactions {
            lines.push(("reaction send→ack", &r.traffic.send_to_ack));
            lines.push(("reaction send→dlv", &r.traffic.send_to_delivery));
        }
        if let Some(direct) = &self.direct {
            lines.push(("direct send→ack", &direct.traffic.send_to_ack));
            lines.push(("direct send→dlv", &direct.traffic.send_to_delivery));
        }
        table::latencies(w, lines);
        table::close(
            w,
            &self.warnings,
            self.ok,
            "OK: every acknowledged message reached every receiver exactly once",
            "FAILED: deliveries were lost or duplicated",
        );
        s
    }
}
