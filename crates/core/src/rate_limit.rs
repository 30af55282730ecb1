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
    /// The rate and burst it was made with, for [`TokenBucket::split`].
    full: (f64, f64),
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32, now: Instant) -> Self {
        let (rate, burst) = (f64::from(rate), f64::from(burst.max(1)));
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
            full: (rate, burst),
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Makes this bucket `1/parts` of the one it was made as, for a budget
    /// shared by `parts` holders (a user's connections on several nodes):
    /// together they never give more than the whole. What it holds beyond its
    /// new burst is dropped; a larger share fills up at the new rate.
    pub fn split(&mut self, parts: u32, now: Instant) {
        self.refill(now);
        let parts = f64::from(parts.max(1));
        self.rate = self.full.0 / parts;
        self.burst = self.full.1 / parts;
        self.tokens = self.tokens.min(self.burst);
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
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

    #[test]
    fn a_split_bucket_gives_its_share_and_grows_back() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(30, 60, t0);
        bucket.split(3, t0);
        assert_eq!((0..100).filter(|_| bucket.try_take(t0)).count(), 20);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!((0..100).filter(|_| bucket.try_take(t1)).count(), 10);
        bucket.split(1, t1);
        let t2 = t1 + Duration::from_secs(2);
        assert_eq!((0..100).filter(|_| bucket.try_take(t2)).count(), 60);
    }
}
