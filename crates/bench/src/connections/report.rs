//! The result of a connections run: a table for people, one JSON object for
//! scripts (and for `scripts/plot-memory`). Field meanings: docs/benchmarks.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::super::header::Header;
use super::super::latency::Summary;
use super::super::table;

const MIB: f64 = 1024.0 * 1024.0;

/// Everything a connections run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub header: Header,
    /// The WebSocket URL connected to.
    pub ws: String,
    pub connections: usize,
    pub source_addrs: usize,
    pub prefix: String,
    pub server_pid: Option<u32>,
    /// Where the node's RSS was read.
    pub rss_source: String,
    pub users_created: u64,
    pub users_existing: u64,
    pub provision_s: f64,
    pub tokens_s: f64,
    /// The node's RSS before the first connection.
    pub baseline_rss_bytes: Option<u64>,
    pub steps: Vec<Step>,
    pub connected: usize,
    pub failed: usize,
    /// Failed connection attempts, by stage and error.
    pub failures: BTreeMap<String, u64>,
    /// Seconds spent connecting, all steps together (settling excluded).
    pub connect_s: f64,
    /// `connected / connect_s`.
    pub connect_rate: f64,
    /// TCP connect + WebSocket handshake + `auth` reply, per connection.
    pub connect_latency: Summary,
    /// Seconds every connection was held idle after the last step.
    pub hold_s: f64,
    pub rss_after_hold_bytes: Option<u64>,
    pub kib_per_connection_after_hold: Option<f64>,
    /// The delivery check: one system push to every connected user.
    pub probe: Probe,
    /// Connections that ended before the run let them go.
    pub disconnects: usize,
    pub bench_rss_bytes: Option<u64>,
    pub warnings: Vec<String>,
    /// Every connection opened, stayed up, and got the probe exactly once.
    pub ok: bool,
}

/// The state after one step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Connections asked for so far.
    pub connections: usize,
    /// Connections open so far.
    pub connected: usize,
    /// Attempts of this step that failed.
    pub failed: usize,
    /// Seconds this step's connections took.
    pub connect_s: f64,
    /// This step's connections per second.
    pub rate: f64,
    /// Seconds of connecting so far, all steps together.
    pub elapsed_s: f64,
    pub rss_bytes: Option<u64>,
    /// (RSS − baseline) / connected, in KiB.
    pub kib_per_connection: Option<f64>,
    /// (RSS − the previous step's RSS) / this step's connections, in KiB.
    pub step_kib_per_connection: Option<f64>,
}

/// The delivery check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Probe {
    /// Connections that should get it.
    pub expected: u64,
    /// Devices the node said it reached.
    pub node_delivered_online: u64,
    /// Connections that got it.
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// From sending the push request to each connection's first arrival.
    pub push_to_delivery: Summary,
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("-".to_owned(), |b| format!("{:.1}", b as f64 / MIB))
}

fn kib(x: Option<f64>) -> String {
    x.map_or("-".to_owned(), |k| format!("{k:.2}"))
}

impl Report {
    pub fn table(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(
            w,
            "koi bench connections: {} idle {} connections to {} from {} source address(es)",
            self.connections, self.header.transport, self.ws, self.source_addrs
        );
        let _ = writeln!(
            w,
            "users {} created, {} existing ({:.1} s), tokens {:.1} s; node RSS from {}, baseline {} MiB",
            self.users_created,
            self.users_existing,
            self.provision_s,
            self.tokens_s,
            self.rss_source,
            mib(self.baseline_rss_bytes)
        );
        let _ = writeln!(
            w,
            "\n  {:>11} {:>9} {:>6} {:>8} {:>8} {:>8} {:>9} {:>9} {:>10}",
            "connections",
            "open",
            "failed",
            "step s",
            "conn/s",
            "total s",
            "RSS MiB",
            "KiB/conn",
            "step KiB"
        );
        for step in &self.steps {
            let _ = writeln!(
                w,
                "  {:>11} {:>9} {:>6} {:>8.2} {:>8.0} {:>8.2} {:>9} {:>9} {:>10}",
                step.connections,
                step.connected,
                step.failed,
                step.connect_s,
                step.rate,
                step.elapsed_s,
                mib(step.rss_bytes),
                kib(step.kib_per_connection),
                kib(step.step_kib_per_connection)
            );
        }
        let l = &self.connect_latency;
        let _ = writeln!(
            w,
            "\n  connect+auth: {:.0} connections/s overall; per connection p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.connect_rate, l.p50_ms, l.p99_ms, l.max_ms
        );
        for (failure, n) in &self.failures {
            let _ = writeln!(w, "  failed: {n} × {failure}");
        }
        let _ = writeln!(
            w,
            "  held {} s: node RSS {} MiB ({} KiB/conn), {} disconnect(s)",
            self.hold_s,
            mib(self.rss_after_hold_bytes),
            kib(self.kib_per_connection_after_hold),
            self.disconnects
        );
        let p = &self.probe;
        let _ = writeln!(
            w,
            "  push check: {} of {} connections got it (lost {}, duplicated {}); push→delivery p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            p.delivered,
            p.expected,
            p.lost,
            p.duplicated,
            p.push_to_delivery.p50_ms,
            p.push_to_delivery.p99_ms,
            p.push_to_delivery.max_ms
        );
        let _ = writeln!(w, "  bench RSS {} MiB", mib(self.bench_rss_bytes));
        table::close(
            w,
            &self.warnings,
            self.ok,
            "OK: every connection opened, stayed up and got the check push exactly once",
            "FAILED: connections failed or dropped, or the check push was lost or duplicated",
        );
        s
    }
}
