//! Reconnect delays: exponential with jitter, capped.

use std::time::Duration;

/// Delays between reconnect attempts: `min`, doubling up to `max`, each one
/// shortened by up to a quarter at random so that many clients dropped at once
/// do not come back in lockstep.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
    seed: u64,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration, seed: u64) -> Self {
        let max = max.max(min);
        Backoff {
            min,
            max,
            next: min,
            seed: seed | 1,
        }
    }

    /// The delay before the next attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        // xorshift64: good enough for jitter, no dependency.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let quarter = base.as_nanos() as u64 / 4;
        let cut = if quarter == 0 { 0 } else { self.seed % quarter };
        base - Duration::from_nanos(cut)
    }

    /// Back to the shortest delay, after a success.
    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_with_bounded_jitter() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(1000), 42);
        let bases = [100, 200, 400, 800, 1000, 1000];
        for base in bases {
            let d = b.next_delay();
            assert!(d <= ms(base) && d >= ms(base) * 3 / 4, "{d:?} vs {base}");
        }
        b.reset();
        assert!(b.next_delay() <= ms(100));
    }
}
