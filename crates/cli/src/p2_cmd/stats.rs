//! The terminal's `--stats` report: the pipeline's cumulative counters and the router's, with the delivery
//! latency the consumer measures, as a table or as one JSON object whose keys are all snake_case.

use std::fmt::Write as _;
use std::time::Instant;

use serde::Serialize;
use sluicegate_core::stats::{LatencyHistogram, LatencySummary};
use sluicegate_core::{PoolStats, ring::RingStats};
use sluicegate_p2::RoutingCounters;
use sluicegate_p2::io::PipelineStats;

/// Delivery latency: from the arrival of the read that completed a message to the write that delivered it.
#[derive(Debug)]
pub struct Latency {
    histogram: LatencyHistogram,
    /// When the messages routed since the last [`delivered`](Self::delivered) were completed: a batch's
    /// messages go into the outputs' buffers one by one and are written after the last, so all are stamped
    /// delivered then.
    undelivered: Vec<Instant>,
}

impl Latency {
    /// `batch` is how many messages are routed between two [`delivered`](Self::delivered)s unless the
    /// consumer is behind (reserved once, so that timing a read's messages allocates nothing).
    pub fn new(batch: usize) -> Self {
        Self {
            histogram: LatencyHistogram::new(),
            undelivered: Vec::with_capacity(batch),
        }
    }

    /// A message completed at `completed` has been routed.
    pub fn routed(&mut self, completed: Instant) {
        self.undelivered.push(completed);
    }

    /// The messages routed since the last call have been written: their latencies end now.
    pub fn delivered(&mut self) {
        let now = Instant::now();
        for completed in self.undelivered.drain(..) {
            self.histogram.record(now.saturating_duration_since(completed));
        }
    }

    pub fn summary(&self) -> LatencySummary {
        self.histogram.summary()
    }
}

#[derive(Debug, Serialize)]
pub struct KindReport {
    kind: &'static str,
    code: u8,
    messages: u64,
    bytes: u64,
}

/// `bytes_in = message_bytes + padding_bytes + discarded_bytes` once the input has ended.
#[derive(Debug, Serialize)]
pub struct Report {
    bytes_in: u64,
    /// Reads that delivered bytes (fewer, larger ones with `--coalesce-ms`).
    reads: u64,
    message_bytes: u64,
    padding_bytes: u64,
    discarded_bytes: u64,
    overflow_bytes: u64,
    resync_bytes: u64,
    truncated_bytes: u64,
    messages: u64,
    per_kind: Vec<KindReport>,
    overlong_flushes: u64,
    partial_flushes: u64,
    overflows: u64,
    restarts: u32,
    window_updates: u64,
    window_errors: u64,
    windows_created: u64,
    reboots: u64,
    ring: RingStats,
    chunk_pool: PoolStats,
    latency: LatencySummary,
}

impl Report {
    pub fn new(pipeline: &PipelineStats, routing: &RoutingCounters, latency: LatencySummary) -> Self {
        let outputs = &pipeline.outputs;
        let per_kind = outputs
            .per_kind
            .seen()
            .map(|(kind, count)| KindReport {
                kind: kind.name(),
                code: kind.code(),
                messages: count.messages,
                bytes: count.bytes,
            })
            .collect();
        Report {
            bytes_in: pipeline.bytes_in,
            reads: pipeline.reads,
            message_bytes: outputs.message_bytes,
            padding_bytes: outputs.padding_bytes,
            discarded_bytes: pipeline.overflow_bytes + outputs.resync_bytes + outputs.truncated_bytes,
            overflow_bytes: pipeline.overflow_bytes,
            resync_bytes: outputs.resync_bytes,
            truncated_bytes: outputs.truncated_bytes,
            messages: outputs.messages,
            per_kind,
            overlong_flushes: outputs.overlong_flushes,
            partial_flushes: outputs.partial_flushes,
            overflows: pipeline.overflows,
            restarts: pipeline.restarts,
            window_updates: routing.window_updates,
            window_errors: routing.window_errors,
            windows_created: routing.windows_created,
            reboots: routing.reboots,
            ring: pipeline.ring,
            chunk_pool: pipeline.chunk_pool,
            latency,
        }
    }

    pub fn table(&self) -> String {
        let mut out = String::from("--- sluicegate p2 statistics ---\n");
        let rows: [(&str, String); 14] = [
            ("bytes in", self.bytes_in.to_string()),
            ("reads", self.reads.to_string()),
            ("bytes in messages", self.message_bytes.to_string()),
            ("padding bytes skipped", self.padding_bytes.to_string()),
            (
                "bytes discarded",
                format!(
                    "{} (overflow {}, resync {}, truncated {})",
                    self.discarded_bytes, self.overflow_bytes, self.resync_bytes, self.truncated_bytes
                ),
            ),
            ("messages", self.messages.to_string()),
            (
                "overlong / partial flushes",
                format!("{} / {}", self.overlong_flushes, self.partial_flushes),
            ),
            (
                "windows created / updates / errors",
                format!(
                    "{} / {} / {}",
                    self.windows_created, self.window_updates, self.window_errors
                ),
            ),
            ("reboots", self.reboots.to_string()),
            (
                "ring high-water",
                format!("{} of {} bytes", self.ring.high_water, self.ring.capacity),
            ),
            ("overflows", self.overflows.to_string()),
            ("worker restarts", self.restarts.to_string()),
            (
                "chunk pool",
                format!(
                    "hits {} misses {} hit rate {:.2}% size {}/{} high-water {}",
                    self.chunk_pool.pool_hits,
                    self.chunk_pool.pool_misses,
                    self.chunk_pool.hit_rate,
                    self.chunk_pool.current_pool_size,
                    self.chunk_pool.max_pool_size,
                    self.chunk_pool.high_water
                ),
            ),
            (
                "latency p50 / p99 / max",
                format!(
                    "{:.1} / {:.1} / {:.1} µs ({} samples)",
                    self.latency.p50.as_secs_f64() * 1e6,
                    self.latency.p99.as_secs_f64() * 1e6,
                    self.latency.max.as_secs_f64() * 1e6,
                    self.latency.count
                ),
            ),
        ];
        for (name, value) in rows {
            let _ = writeln!(out, "{name:>36}: {value}");
        }
        for kind in &self.per_kind {
            let _ = writeln!(
                out,
                "{:>36}: {} messages, {} bytes",
                format!("{} ({})", kind.kind, kind.code),
                kind.messages,
                kind.bytes
            );
        }
        out
    }
}
