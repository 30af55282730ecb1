use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};

/// Handles on the node's metrics, registered once so the hot path does no lookup,
/// plus the per-second rates `/v1/admin/cluster` reports.
#[derive(Clone)]
pub struct Meters {
    inner: Arc<Inner>,
}

struct Inner {
    connections: Gauge,
    frames_in: Counter,
    frames_out: Counter,
    stored: Counter,
    delivered: Counter,
    send_ack: Histogram,
    stored_total: AtomicU64,
    delivered_total: AtomicU64,
    /// f64 bits of the last second's rates.
    in_rate: AtomicU64,
    out_rate: AtomicU64,
}

impl Meters {
    /// Registers the metrics with the installed recorder.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                connections: gauge!("koi_connections"),
                frames_in: counter!("koi_frames_in_total"),
                frames_out: counter!("koi_frames_out_total"),
                stored: counter!("koi_messages_stored_total"),
                delivered: counter!("koi_pushes_delivered_total"),
                send_ack: histogram!("koi_send_ack_seconds"),
                stored_total: AtomicU64::new(0),
                delivered_total: AtomicU64::new(0),
                in_rate: AtomicU64::new(0),
                out_rate: AtomicU64::new(0),
            }),
        }
    }

    pub fn set_connections(&self, n: usize) {
        self.inner.connections.set(n as f64);
    }

    pub fn frame_in(&self) {
        self.inner.frames_in.increment(1);
    }

    pub fn frames_out(&self, n: u64) {
        self.inner.frames_out.increment(n);
    }

    pub fn stored(&self, n: u64) {
        self.inner.stored.increment(n);
        self.inner.stored_total.fetch_add(n, Ordering::Relaxed);
    }

    pub fn delivered(&self, n: u32) {
        self.inner.delivered.increment(u64::from(n));
        self.inner
            .delivered_total
            .fetch_add(u64::from(n), Ordering::Relaxed);
    }

    /// Time from a `send` frame's arrival to its `ok` being queued.
    pub fn send_ack(&self, elapsed: Duration) {
        self.inner.send_ack.record(elapsed.as_secs_f64());
    }

    /// Messages stored per second, over the last second.
    pub fn msgs_in_per_s(&self) -> f64 {
        f64::from_bits(self.inner.in_rate.load(Ordering::Relaxed))
    }

    /// Pushes delivered per second, over the last second.
    pub fn msgs_out_per_s(&self) -> f64 {
        f64::from_bits(self.inner.out_rate.load(Ordering::Relaxed))
    }

    /// Recomputes the rates once a second, for as long as the runtime runs.
    pub fn spawn_rate_sampler(&self) {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let (mut last_in, mut last_out) = (0, 0);
            loop {
                tick.tick().await;
                let now_in = inner.stored_total.load(Ordering::Relaxed);
                let now_out = inner.delivered_total.load(Ordering::Relaxed);
                inner
                    .in_rate
                    .store(((now_in - last_in) as f64).to_bits(), Ordering::Relaxed);
                inner
                    .out_rate
                    .store(((now_out - last_out) as f64).to_bits(), Ordering::Relaxed);
                (last_in, last_out) = (now_in, now_out);
            }
        });
    }
}

impl Default for Meters {
    fn default() -> Self {
        Self::new()
    }
}
