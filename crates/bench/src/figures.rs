//! One phase's figures, and in one line: a step of `max`, a target of
//! `relay-baseline`, the run of `direct` (whose report adds the setup).

use serde::Serialize;

use super::latency::Summary;
use super::measured::Measured;
use super::reactions::Reactions;
use super::rounding::round;
use super::traffic::Traffic;

/// Field meanings: `docs/benchmarks.md`, as for `direct`.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Offered messages per second, all senders together.
    pub rate: f64,
    pub duration_s: f64,
    /// The messages' counts, rates and latencies.
    #[serde(flatten)]
    pub traffic: Traffic,
    /// With `--react-ratio`: the reactions', beside the messages'.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions: Option<Reactions>,
    pub send_lag: Summary,
    pub drain_s: f64,
    pub load_s: f64,
    pub bench_cpu_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_s: Option<f64>,
    pub warnings: Vec<String>,
    /// `lost == 0 && duplicated == 0`, for messages and reactions.
    pub ok: bool,
}

impl Figures {
    /// The figures of one phase that offered `rate` msgs/s for `duration_s`
    /// measured seconds.
    pub fn new(rate: f64, duration_s: f64, m: Measured) -> Figures {
        Figures {
            rate,
            duration_s,
            traffic: Traffic::new(&m.tally, duration_s, m.send_to_ack, m.send_to_delivery),
            reactions: m.reactions.clone().map(|r| r.figures(duration_s)),
            send_lag: m.send_lag,
            drain_s: round(m.drain_s, 3),
            load_s: round(m.load_s, 3),
            bench_cpu_s: m.bench_cpu_s.map(|s| round(s, 2)),
            server_cpu_s: m.server_cpu_s.map(|s| round(s, 2)),
            warnings: m.warnings,
            ok: m.tally.correct() && m.reactions.as_ref().is_none_or(|r| r.tally.correct()),
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
        let t = &self.traffic;
        let d = &t.send_to_delivery;
        format!(
            "  {first:<width$} {:>9.0} {:>9.1} {:>11.1} {:>6} {:>5} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>6}",
            self.rate,
            t.ack_rate,
            t.delivery_rate,
            t.counts.lost,
            t.counts.duplicated,
            d.p50_ms,
            d.p99_ms,
            d.p999_ms,
            t.send_to_ack.p99_ms,
            cores,
        )
    }
}
