//! The monitor role: Prometheus metrics and the figures `/v1/admin/cluster` shows.

mod meters;
mod process;
mod recorder;
mod writer;

pub use meters::Meters;
pub use process::{record_resident_memory, resident_bytes, vm_rss};
pub use recorder::install_recorder;
pub use writer::record_writer;
