//! The terminal's statistics, counted on the consumer side from what actually came out of the pipeline (so a
//! worker restart, which rebuilds the deframer, cannot count a byte twice).

use std::fmt::Write as _;
use std::time::Instant;

use serde::Serialize;
use sluicegate_core::stats::{LatencyHistogram, LatencySummary};
use sluicegate_core::{PoolStats, ring::RingStats};
use sluicegate_p2::pipeline::{Emitted, PipelineStats};
use sluicegate_p2::{DiscardReason, Flags, MessageKind, Output, RoutingCounters};

#[derive(Debug)]
pub struct Tally {
    messages: u64,
    message_bytes: u64,
    padding_bytes: u64,
    resync_bytes: u64,
    truncated_bytes: u64,
    overlong: u64,
    partial: u64,
    per_kind: [(u64, u64); MessageKind::COUNT],
    latency: LatencyHistogram,
    /// When the live messages observed since the last [`delivered`](Self::delivered) arrived: a batch's
    /// messages go into the outputs' buffers one by one and are written after the last, so all are stamped
    /// delivered then.
    undelivered: Vec<Instant>,
}

impl Tally {
    /// Counts from zero; `batch` is how many messages are routed between two [`delivered`](Self::delivered)s
    /// unless the consumer is behind (reserved once, so that counting a read's messages allocates nothing).
    pub fn new(batch: usize) -> Self {
        Self {
            messages: 0,
            message_bytes: 0,
            padding_bytes: 0,
            resync_bytes: 0,
            truncated_bytes: 0,
            overlong: 0,
            partial: 0,
            per_kind: [(0, 0); MessageKind::COUNT],
            latency: LatencyHistogram::new(),
            undelivered: Vec::with_capacity(batch),
        }
    }

    /// Counts one output after it was routed; for `live` sources, the latency from the arrival of the read
    /// that completed a message to its delivery is recorded at the next [`delivered`](Self::delivered).
    pub fn observe(&mut self, emitted: &Emitted, live: bool) {
        match &emitted.output {
            Output::Message(message) => {
                let len = message.bytes.len() as u64;
                self.messages += 1;
                self.message_bytes += len;
                let kind = &mut self.per_kind[usize::from(message.kind.code())];
                kind.0 += 1;
                kind.1 += len;
                self.overlong += u64::from(message.flags.contains(Flags::OVERLONG));
                self.partial +=
                    u64::from(message.flags.contains(Flags::PARTIAL) || message.flags.contains(Flags::RESYNC));
                if live {
                    self.undelivered.push(emitted.completed);
                }
            }
            Output::Discard(discard) => {
                let len = discard.bytes.len() as u64;
                match discard.reason {
                    DiscardReason::Padding => self.padding_bytes += len,
                    DiscardReason::Resync => self.resync_bytes += len,
                    _ => self.truncated_bytes += len,
                }
            }
        }
    }

    /// The messages observed since the last call have been written: their latencies end now.
    pub fn delivered(&mut self) {
        let now = Instant::now();
        for arrival in self.undelivered.drain(..) {
            self.latency.record(now.saturating_duration_since(arrival));
        }
    }

    pub fn report(&self, pipeline: &PipelineStats, routing: &RoutingCounters) -> Report {
        let kinds = MessageKind::all()
            .filter_map(|kind| {
                let (messages, bytes) = self.per_kind[usize::from(kind.code())];
                (messages > 0).then(|| KindReport {
                    kind: kind.name(),
                    code: kind.code(),
                    messages,
                    bytes,
                })
            })
            .collect();
        Report {
            bytes_in: pipeline.bytes_in,
            reads: pipeline.chunks,
            message_bytes: self.message_bytes,
            padding_bytes: self.padding_bytes,
            discarded_bytes: pipeline.overflow_bytes + self.resync_bytes + self.truncated_bytes,
            overflow_bytes: pipeline.overflow_bytes,
            resync_bytes: self.resync_bytes,
            truncated_bytes: self.truncated_bytes,
            messages: self.messages,
            per_kind: kinds,
            overlong_flushes: self.overlong,
            partial_flushes: self.partial,
            overflows: pipeline.overflows,
            restarts: pipeline.restarts,
            window_updates: routing.window_updates,
            window_errors: routing.window_errors,
            windows_created: routing.windows_created,
            reboots: routing.reboots,
            ring: pipeline.ring,
            chunk_pool: pipeline.chunk_pool,
            latency: self.latency.summary(),
        }
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
