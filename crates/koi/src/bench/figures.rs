//! One phase's figures in one line: a step of `max`, a target of
//! `relay-baseline`. The same counts and latencies as a `direct` report,
//! without the setup.

use std::collections::BTreeMap;

use serde::Serialize;

use super::latency::Summary;
use super::report::{Measured, round};

/// Field meanings: `docs/benchmarks.md`, as for `direct`.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Offered messages per second, all senders together.
    pub rate: f64,
    pub duration_s: f64,
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
    pub ack_rate: f64,
    pub delivery_rate: f64,
    pub send_to_ack: Summary,
    pub send_to_delivery: Summary,
    pub send_lag: Summary,
    pub drain_s: f64,
    pub load_s: f64,
    pub bench_cpu_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_s: Option<f64>,
    pub warnings: Vec<String>,
    /// `lost == 0 && duplicated == 0`.
    pub ok: bool,
}

impl Figures {
    pub fn new(rate: f64, duration_s: f64, m: Measured) -> Figures {
        let t = m.tally;
        Figures {
            rate,
            duration_s,
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
            ack_rate: round(t.acked_in_window as f64 / duration_s, 1),
            delivery_rate: round(t.delivered_in_window as f64 / duration_s, 1),
            send_to_ack: m.send_to_ack,
            send_to_delivery: m.send_to_delivery,
            send_lag: m.send_lag,
            drain_s: round(m.drain_s, 3),
            load_s: round(m.load_s, 3),
            bench_cpu_s: m.bench_cpu_s.map(|s| round(s, 2)),
            server_cpu_s: m.server_cpu_s.map(|s| round(s, 2)),
            warnings: m.warnings,
            ok: t.correct(),
        }
    }

    /// Cores the bench used while loading.
    pub fn bench_cores(&self) -> Option<f64> {
        self.bench_cpu_s.map(|s| s / self.load_s.max(1e-3))
    }

    /// The header of [`Figures::row`], `first` over a first column `width` wide.
    pub fn header(first: &str, width: usize) -> String {
        format!(
            "  {first:<width$} {:>9} {:>9} {:>11} {:>6} {:>5} {:>8} {:>8} {:>8} {:>8} {:>6}",
            "offered/s",
            "acked/s",
            "delivered/s",
            "lost",
            "dup",
            "dlv p50",
            "dlv p99",
            "p99.9",
            "ack p99",
            "cores",
        )
    }

    /// One line (no newline): rates, lost and duplicated, send→delivery p50,
    /// p99 and p99.9 and send→ack p99 in ms, the bench's cores.
    pub fn row(&self, first: &str, width: usize) -> String {
        let cores = self
            .bench_cores()
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.2}"));
        let d = &self.send_to_delivery;
        format!(
            "  {first:<width$} {:>9.0} {:>9.1} {:>11.1} {:>6} {:>5} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>6}",
            self.rate,
            self.ack_rate,
            self.delivery_rate,
            self.lost,
            self.duplicated,
            d.p50_ms,
            d.p99_ms,
            d.p999_ms,
            self.send_to_ack.p99_ms,
            cores,
        )
    }
}
