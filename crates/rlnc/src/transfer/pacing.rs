//! Pacing: a token bucket that takes the time as an argument.

use core::time::Duration;

/// Sends at most `rate` bytes per second on average, `burst` bytes at once.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Duration,
}

impl TokenBucket {
    /// A full bucket at time zero. A `rate` of 0 means unlimited.
    pub fn new(rate_bytes_per_s: u64, burst_bytes: u64) -> TokenBucket {
        TokenBucket {
            rate: rate_bytes_per_s as f64,
            burst: burst_bytes.max(1) as f64,
            tokens: burst_bytes.max(1) as f64,
            last: Duration::ZERO,
        }
    }

    fn refill(&mut self, now: Duration) {
        if self.rate == 0.0 {
            self.last = self.last.max(now);
        } else if now > self.last {
            self.tokens = (self.tokens + (now - self.last).as_secs_f64() * self.rate).min(self.burst);
            self.last = now;
        }
    }

    /// Changes the rate and burst from `now` on (tokens earned so far are
    /// kept, up to the new burst). A `rate` of 0 means unlimited.
    pub fn set_rate(&mut self, now: Duration, rate_bytes_per_s: u64, burst_bytes: u64) {
        self.refill(now);
        self.rate = rate_bytes_per_s as f64;
        self.burst = burst_bytes.max(1) as f64;
        self.tokens = self.tokens.min(self.burst);
    }

    /// Takes `bytes` tokens if the bucket holds them (a datagram larger than
    /// the burst passes once the bucket is full).
    pub fn try_take(&mut self, now: Duration, bytes: usize) -> bool {
        if self.rate == 0.0 {
            return true;
        }
        self.refill(now);
        let need = (bytes as f64).min(self.burst);
        if self.tokens >= need {
            self.tokens -= need;
            true
        } else {
            false
        }
    }

    /// When `bytes` tokens will be available.
    pub fn ready_at(&self, bytes: usize) -> Duration {
        if self.rate == 0.0 {
            return self.last;
        }
        let missing = (bytes as f64).min(self.burst) - self.tokens;
        if missing <= 0.0 {
            self.last
        } else {
            self.last + Duration::from_secs_f64(missing / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_rate_is_held() {
        let mut bucket = TokenBucket::new(1_000_000, 10_000);
        let mut sent = 0usize;
        let mut now = Duration::ZERO;
        while now < Duration::from_secs(1) {
            while bucket.try_take(now, 1000) {
                sent += 1000;
            }
            now = bucket.ready_at(1000).max(now + Duration::from_micros(1));
        }
        assert!((1_000_000..=1_012_000).contains(&sent), "{sent}");
    }
}
