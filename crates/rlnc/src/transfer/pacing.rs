//! Pacing: a token bucket that takes the time as an argument.

use core::time::Duration;

/// A caller that comes back late to a waiting bucket gets the tokens it
/// earned meanwhile, up to this much lateness, on top of the burst: the
/// average rate survives a loaded host's late wake-ups.
const CATCH_UP: Duration = Duration::from_millis(10);

/// Sends at most `rate` bytes per second on average, `burst` bytes at once
/// (more only to catch up with a late caller).
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Duration,
    /// When the bucket said "not yet": the caller should come back at `ready_at`.
    waiting: bool,
}

impl TokenBucket {
    /// A full bucket at time zero. A `rate` of 0 means unlimited.
    pub fn new(rate_bytes_per_s: u64, burst_bytes: u64) -> TokenBucket {
        TokenBucket {
            rate: rate_bytes_per_s as f64,
            burst: burst_bytes.max(1) as f64,
            tokens: burst_bytes.max(1) as f64,
            last: Duration::ZERO,
            waiting: false,
        }
    }

    fn refill(&mut self, now: Duration) {
        if self.rate == 0.0 {
            self.last = self.last.max(now);
        } else if now > self.last {
            let earned = self.tokens + (now - self.last).as_secs_f64() * self.rate;
            let cap = if self.waiting {
                // Late past the moment the caller was told to come back: keep
                // what it earned meanwhile.
                let late = now.saturating_sub(self.ready_at(self.burst as usize)).min(CATCH_UP);
                self.burst + late.as_secs_f64() * self.rate
            } else {
                self.burst
            };
            self.tokens = earned.min(cap);
            self.last = now;
        }
    }

    /// Changes the rate and burst from `now` on (tokens earned so far are
    /// kept, up to the new burst). A `rate` of 0 means unlimited.
    pub fn set_rate(&mut self, now: Duration, rate_bytes_per_s: u64, burst_bytes: u64) {
        self.refill(now);
        self.rate = rate_bytes_per_s as f64;
        self.burst = burst_bytes.max(1) as f64;
        if !self.waiting {
            self.tokens = self.tokens.min(self.burst);
        }
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
            if self.tokens < need {
                self.waiting = true;
            }
            true
        } else {
            self.waiting = true;
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

    /// Sends 1000-byte items from a 1 MB/s bucket of `burst` bytes for a
    /// second, the caller waking `late` after each time it was told to;
    /// returns the bytes sent.
    fn run(burst: u64, late: Duration) -> usize {
        let mut bucket = TokenBucket::new(1_000_000, burst);
        let mut sent = 0usize;
        let mut now = Duration::ZERO;
        while now < Duration::from_secs(1) {
            while bucket.try_take(now, 1000) {
                sent += 1000;
            }
            now = bucket.ready_at(1000).max(now + Duration::from_micros(1)) + late;
        }
        sent
    }

    #[test]
    fn average_rate_is_held() {
        let sent = run(10_000, Duration::ZERO);
        assert!((1_000_000..=1_012_000).contains(&sent), "{sent}");
    }

    #[test]
    fn a_late_caller_catches_up_without_exceeding_the_rate() {
        // Woken 8 ms late each time with a 2 ms burst: without catching up
        // it would send 2 kB per 9 ms.
        let sent = run(2_000, Duration::from_millis(8));
        assert!((950_000..=1_012_000).contains(&sent), "{sent}");
        // Beyond the catch-up limit the rest is lost (a stalled process does
        // not come back with a flood).
        let sent = run(2_000, Duration::from_millis(30));
        assert!(sent < 450_000, "{sent}");
    }

    #[test]
    fn an_idle_bucket_keeps_only_its_burst() {
        let mut bucket = TokenBucket::new(1_000_000, 10_000);
        let mut now = Duration::from_secs(5);
        let mut sent = 0;
        while bucket.try_take(now, 1000) {
            sent += 1000;
        }
        assert_eq!(sent, 10_000);
        now += Duration::from_micros(1);
        assert!(!bucket.try_take(now, 1000));
    }
}
