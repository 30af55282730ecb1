//! Closing connections that went silent.
//!
//! A connection that sends nothing for 3 × `heartbeat_s` is closed. Rather than
//! a timer in every connection, reset on every frame, one task looks over the
//! hub a few times per limit: idle connections stay small, and a frame costs an
//! atomic store instead of a timer update.

use std::sync::Arc;
use std::time::{Duration, Instant};

use koi_cluster::{Hub, Kick};
use tokio::time::MissedTickBehavior;

/// Kicks (`heartbeat_timeout`) every connection of `hub` silent for `limit`;
/// runs until dropped. A connection is closed between `limit` and `limit` plus
/// one sweep (a tenth of `limit`, between 100 ms and 1 s) after its last frame.
pub async fn close_silent(hub: Arc<Hub>, limit: Duration) {
    let sweep = (limit / 10).clamp(Duration::from_millis(100), Duration::from_secs(1));
    let mut ticks = tokio::time::interval(sweep);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now = Instant::now();
        hub.each(|conn| {
            if conn.silent_for(now) >= limit {
                conn.kick(Kick::Heartbeat);
            }
        });
    }
}
