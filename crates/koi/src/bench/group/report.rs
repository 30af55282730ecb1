//! The result of a group run: a table for people, one JSON object for scripts.
//! Field meanings: docs/benchmarks.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::super::latency::Summary;
use super::tally::Tally;

/// Everything a group run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub bench: &'static str,
    pub transport: &'static str,
    pub url: String,
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
    /// How late group messages went out after they were due.
    pub send_lag: Summary,
    /// The direct pairs running beside the group, if any.
    pub direct: Option<Direct>,
    pub drain_s: f64,
    /// Seconds from the first due message to the end of the drain.
    pub load_s: f64,
    pub bench_cpu_s: Option<f64>,
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

/// The counts, rates and latencies of one traffic class.
#[derive(Debug, Clone, Serialize)]
pub struct Traffic {
    pub offered: u64,
    pub sent: u64,
    pub acked: u64,
    pub errors: BTreeMap<String, u64>,
    pub errors_total: u64,
    /// Deliveries owed: each acked message at each receiver that should get it.
    pub expected: u64,
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
}

/// Direct messages between pairs of other users during the group's load.
#[derive(Debug, Clone, Serialize)]
pub struct Direct {
    pub pairs: usize,
    pub rate: f64,
    #[serde(flatten)]
    pub traffic: Traffic,
}

pub fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

impl Traffic {
    pub fn new(
        t: &Tally,
        duration_s: f64,
        send_to_ack: Summary,
        send_to_delivery: Summary,
    ) -> Self {
        Traffic {
            offered: t.offered,
            sent: t.sent,
            acked: t.acked,
            errors: t.errors.clone(),
            errors_total: t.errors_total(),
            expected: t.expected,
            delivered: t.delivered,
            lost: t.lost,
            duplicated: t.duplicated,
            reordered: t.reordered,
            delivered_unacked: t.delivered_unacked,
            unexpected: t.unexpected,
            disconnects: t.disconnects,
            ack_rate: round(t.acked_in_window as f64 / duration_s, 1),
            delivery_rate: round(t.delivered_in_window as f64 / duration_s, 1),
            send_to_ack,
            send_to_delivery,
        }
    }

    fn rows(&self, w: &mut String, delivered: &str) {
        let row = |w: &mut String, k: &str, v: String| {
            let _ = writeln!(w, "  {k:<20} {v}");
        };
        row(
            w,
            "offered/sent/acked",
            format!("{} / {} / {}", self.offered, self.sent, self.acked),
        );
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
        row(w, "deliveries owed", self.expected.to_string());
        row(w, "delivered", self.delivered.to_string());
        row(w, "lost", self.lost.to_string());
        row(w, "duplicated", self.duplicated.to_string());
        for (name, n) in [
            ("reordered", self.reordered),
            ("delivered unacked", self.delivered_unacked),
            ("unexpected", self.unexpected),
            ("disconnects", self.disconnects),
        ] {
            if n > 0 {
                row(w, name, n.to_string());
            }
        }
        row(w, "acked msgs/s", format!("{:.1}", self.ack_rate));
        row(w, delivered, format!("{:.1}", self.delivery_rate));
    }
}

impl Report {
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a report serializes")
    }

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
            self.transport,
            self.url,
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
        self.traffic.rows(w, "deliveries/s");
        if let Some(direct) = &self.direct {
            let _ = writeln!(
                w,
                "\n  direct messages ({} pairs, {} msgs/s offered)",
                direct.pairs, direct.rate
            );
            direct.traffic.rows(w, "delivered msgs/s");
        }
        let _ = writeln!(w, "  {:<20} {:.2} s", "drain", self.drain_s);
        if let Some(cpu) = self.bench_cpu_s {
            let _ = writeln!(
                w,
                "  {:<20} {cpu:.2} s over {:.2} s of load",
                "bench cpu", self.load_s
            );
        }
        let _ = writeln!(
            w,
            "\n  {:<20} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "latency (ms)", "p50", "p90", "p99", "p99.9", "max", "count"
        );
        let mut lines = vec![
            ("send→ack", &self.traffic.send_to_ack),
            ("send→delivery", &self.traffic.send_to_delivery),
            ("send lag (bench)", &self.send_lag),
        ];
        if let Some(direct) = &self.direct {
            lines.push(("direct send→ack", &direct.traffic.send_to_ack));
            lines.push(("direct send→dlv", &direct.traffic.send_to_delivery));
        }
        for (name, l) in lines {
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
                "OK: every acknowledged message reached every receiver exactly once"
            } else {
                "FAILED: deliveries were lost or duplicated"
            }
        );
        s
    }
}
