//! The monitor role: Prometheus metrics and the figures `/v1/admin/cluster` shows.

mod meters;
mod recorder;

pub use meters::Meters;
pub use recorder::install_recorder;
