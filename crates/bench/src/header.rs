//! What every mode's report opens with: which bench ran, over which
//! transport, against which gateway. Flattened into each report, so its
//! fields stand first, beside the report's own.

use serde::Serialize;

/// The opening fields of a report. Field meanings: `docs/benchmarks.md`.
#[derive(Debug, Clone, Serialize)]
pub struct Header {
    /// The mode: `direct`, `max`, `group`, `connections`, …
    pub bench: &'static str,
    /// `ws-json`, `ws-protobuf` or `tcp-protobuf`.
    pub transport: &'static str,
    /// The gateway the run was pointed at.
    pub url: String,
}

impl Header {
    /// `koi bench <bench>: ` and what follows, for the first line of a table.
    pub fn title(&self) -> String {
        format!("koi bench {}:", self.bench)
    }
}
