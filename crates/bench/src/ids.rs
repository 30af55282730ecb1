//! Telling one run's messages from another's with the same users.

use std::time::{SystemTime, UNIX_EPOCH};

/// A run id: the first part of every `client_msg_id` (or push text) a run
/// sends, so a rerun with a reused prefix never matches an earlier run's.
pub fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:x}",
        (nanos as u64) ^ u64::from(std::process::id()).rotate_left(40)
    )
}
