//! What one load phase measured, before it is reduced to figures: the tally
//! of sends and deliveries, the latency summaries, the timings and CPU.

use super::latency::Summary;
use super::reactions;
use super::tally::Tally;

/// What was measured.
#[derive(Debug, Clone)]
pub struct Measured {
    pub tally: Tally,
    /// The reactions mixed in, when there were to be any.
    pub reactions: Option<reactions::Measured>,
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
