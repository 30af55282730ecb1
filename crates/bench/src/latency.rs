//! Latency histograms shared by many tasks.
//!
//! Each task owns a [`Recorder`] that buffers samples and folds them into the
//! shared histogram in batches, under a mutex held for the fold only (never
//! across an `.await`), so thousands of tasks record without contention.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Samples buffered by a [`Recorder`] before they are folded in.
const BATCH: usize = 256;
/// The largest latency kept exactly (longer ones saturate): one hour, in µs.
const MAX_US: u64 = 3_600_000_000;

/// One histogram of latencies in microseconds.
#[derive(Debug)]
pub struct Latency {
    hist: Mutex<Histogram<u64>>,
}

impl Latency {
    pub fn new() -> Arc<Self> {
        let hist = Histogram::new_with_bounds(1, MAX_US, 3).expect("valid histogram bounds");
        Arc::new(Latency {
            hist: Mutex::new(hist),
        })
    }

    /// A recorder for one task.
    pub fn recorder(self: &Arc<Self>) -> Recorder {
        Recorder {
            shared: self.clone(),
            buf: Vec::with_capacity(BATCH),
        }
    }

    /// Percentiles of everything recorded so far (flush the recorders first).
    pub fn summary(&self) -> Summary {
        let hist = self.hist.lock().unwrap_or_else(PoisonError::into_inner);
        let ms = |us: u64| us as f64 / 1000.0;
        if hist.is_empty() {
            return Summary::default();
        }
        Summary {
            count: hist.len(),
            p50_ms: ms(hist.value_at_quantile(0.50)),
            p90_ms: ms(hist.value_at_quantile(0.90)),
            p99_ms: ms(hist.value_at_quantile(0.99)),
            p999_ms: ms(hist.value_at_quantile(0.999)),
            max_ms: ms(hist.max()),
            mean_ms: hist.mean().round() / 1000.0,
        }
    }
}

/// A task's buffer of samples; folds them in when full and when dropped.
#[derive(Debug)]
pub struct Recorder {
    shared: Arc<Latency>,
    buf: Vec<u64>,
}

impl Recorder {
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.buf.push(us.clamp(1, MAX_US));
        if self.buf.len() >= BATCH {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let mut hist = self
            .shared
            .hist
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for us in self.buf.drain(..) {
            hist.saturating_record(us);
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Percentiles in milliseconds (rounded to the microsecond).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorders_fold_into_one_histogram() {
        let latency = Latency::new();
        let mut a = latency.recorder();
        let mut b = latency.recorder();
        for ms in 1..=1000u64 {
            a.record(Duration::from_millis(ms));
        }
        b.record(Duration::from_secs(5));
        drop((a, b));
        let s = latency.summary();
        assert_eq!(s.count, 1001);
        assert!((s.p50_ms - 500.0).abs() < 2.0, "{s:?}");
        assert!((s.max_ms - 5000.0).abs() < 5.0, "{s:?}");
    }

    #[test]
    fn an_empty_histogram_is_all_zero() {
        assert_eq!(Latency::new().summary().count, 0);
    }
}
