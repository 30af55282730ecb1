use std::time::Instant;

/// A token bucket: `rate` tokens per second, holding at most `burst`.
///
/// Time is an argument, so the bucket is tested without sleeping.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32, now: Instant) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn allows_the_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(50, 100, t0);
        assert_eq!((0..150).filter(|_| bucket.try_take(t0)).count(), 100);
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!((0..150).filter(|_| bucket.try_take(t1)).count(), 5);
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!((0..150).filter(|_| bucket.try_take(t2)).count(), 100);
    }
}
