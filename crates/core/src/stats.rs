//! Counters and a latency histogram the pipelines share, so every tool reports in the same shape.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_utils::CachePadded;

/// A monotonically increasing count, written by one hot thread and read by anyone. Padded to its own
/// cache line so that a reader polling it does not slow the writer's neighbouring fields.
#[derive(Debug, Default)]
pub struct Counter(CachePadded<AtomicU64>);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one.
    pub fn increment(&self) {
        self.add(1);
    }

    /// The count now.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A latency histogram from 1 ns to 1 hour with 3 significant digits (HdrHistogram), owned by one thread;
/// merge per-thread histograms to report.
#[derive(Debug, Clone)]
pub struct LatencyHistogram(hdrhistogram::Histogram<u64>);

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram (allocates its buckets once, here).
    pub fn new() -> Self {
        Self(hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds"))
    }

    /// Records one latency; values past an hour are clamped to an hour.
    pub fn record(&mut self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos())
            .unwrap_or(u64::MAX)
            .clamp(1, self.0.high());
        self.0.record(nanos).expect("clamped into range");
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        self.0.add(&other.0).expect("same bounds");
    }

    /// Count, p50, p99 and max.
    pub fn summary(&self) -> LatencySummary {
        let at = |quantile: f64| Duration::from_nanos(self.0.value_at_quantile(quantile));
        LatencySummary {
            count: self.0.len(),
            p50: at(0.5),
            p99: at(0.99),
            max: Duration::from_nanos(self.0.max()),
        }
    }
}

/// The figures users ask of a latency distribution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencySummary {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest sample.
    pub max: Duration,
}

impl serde::Serialize for LatencySummary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        let mut s = serializer.serialize_struct("LatencySummary", 4)?;
        s.serialize_field("count", &self.count)?;
        s.serialize_field("p50_us", &micros(self.p50))?;
        s.serialize_field("p99_us", &micros(self.p99))?;
        s.serialize_field("max_us", &micros(self.max))?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reports_quantiles_within_three_digits() {
        let mut histogram = LatencyHistogram::new();
        for micros in 1..=1000u64 {
            histogram.record(Duration::from_micros(micros));
        }
        let summary = histogram.summary();
        assert_eq!(summary.count, 1000);
        let close = |got: Duration, want_us: f64| (got.as_secs_f64() * 1e6 - want_us).abs() / want_us < 0.002;
        assert!(close(summary.p50, 500.0), "{summary:?}");
        assert!(close(summary.p99, 990.0), "{summary:?}");
        assert!(close(summary.max, 1000.0), "{summary:?}");
    }

    #[test]
    fn merge_adds_samples_and_counter_counts() {
        let (mut a, mut b) = (LatencyHistogram::new(), LatencyHistogram::new());
        a.record(Duration::from_millis(1));
        b.record(Duration::from_millis(3));
        a.merge(&b);
        assert_eq!(a.summary().count, 2);
        assert!(a.summary().max >= Duration::from_millis(3));
        let counter = Counter::default();
        counter.add(5);
        counter.increment();
        assert_eq!(counter.get(), 6);
    }
}
