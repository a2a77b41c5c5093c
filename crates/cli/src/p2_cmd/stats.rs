//! The terminal's `--stats` report: the pipeline's cumulative counters and the router's, with the delivery
//! latency the consumer measures, and the displays' (per type: messages applied, dropped by reason, frames
//! drawn), as a table or as one JSON object whose keys are all snake_case.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use serde::Serialize;
use sluicegate_core::stats::{LatencyHistogram, LatencySummary};
use sluicegate_core::{PoolStats, ring::RingStats};
use sluicegate_p2::RoutingCounters;
use sluicegate_p2::io::PipelineStats;
use sluicegate_p2_display::{DropCounts, TypeStats};
use sluicegate_p2_live::HostStats;

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
    /// `null` with `--no-displays`.
    displays: Option<DisplaysReport>,
}

/// Dropped messages by reason, only the reasons that happened.
fn reasons(counts: &DropCounts) -> BTreeMap<&'static str, u64> {
    counts
        .iter()
        .filter(|&(_, count)| count > 0)
        .map(|(reason, count)| (reason.name(), count))
        .collect()
}

/// One display type's counters.
#[derive(Debug, Serialize)]
pub struct DisplayTypeReport {
    /// The type's keyword (`BITMAP`).
    #[serde(rename = "type")]
    kind: &'static str,
    declared: u64,
    /// Feed messages applied, once per target.
    applied: u64,
    dropped: u64,
    dropped_by_reason: BTreeMap<&'static str, u64>,
    frames: u64,
    replies: u64,
    saves: u64,
    saves_refused: u64,
}

impl DisplayTypeReport {
    fn new(kind: &'static str, stats: &TypeStats) -> Self {
        Self {
            kind,
            declared: stats.declared,
            applied: stats.applied,
            dropped: stats.dropped.total(),
            dropped_by_reason: reasons(&stats.dropped),
            frames: stats.frames,
            replies: stats.replies,
            saves: stats.saves,
            saves_refused: stats.saves_refused,
        }
    }
}

/// The display host's counters.
#[derive(Debug, Serialize)]
pub struct DisplaysReport {
    /// Backtick lines the display host took.
    lines: u64,
    /// Lines dropped because the host fell a whole queue behind.
    queue_dropped: u64,
    replies_sent: u64,
    replies_not_sent: u64,
    saves_written: u64,
    saves_ignored: u64,
    saves_failed: u64,
    snapshots_written: u64,
    snapshots_failed: u64,
    /// Messages dropped before their type was known (a feed to a display never declared, …), by reason.
    unattributed_dropped: BTreeMap<&'static str, u64>,
    /// The types that saw a message.
    per_type: Vec<DisplayTypeReport>,
}

impl DisplaysReport {
    fn new(host: &HostStats) -> Self {
        let per_type = host
            .displays
            .iter()
            .filter(|(_, stats)| stats.declared + stats.applied + stats.dropped.total() > 0)
            .map(|(kind, stats)| DisplayTypeReport::new(kind.keyword(), stats))
            .collect();
        Self {
            lines: host.lines,
            queue_dropped: host.queue_dropped,
            replies_sent: host.replies_sent,
            replies_not_sent: host.replies_not_sent,
            saves_written: host.saves_written,
            saves_ignored: host.saves_ignored,
            saves_failed: host.saves_failed,
            snapshots_written: host.snapshots_written,
            snapshots_failed: host.snapshots_failed,
            unattributed_dropped: reasons(&host.displays.unattributed),
            per_type,
        }
    }

    fn rows(&self, out: &mut String) {
        let rows = [
            (
                "display lines / queue-dropped",
                format!("{} / {}", self.lines, self.queue_dropped),
            ),
            (
                "PC_KEY/PC_MOUSE replies sent / not",
                format!("{} / {}", self.replies_sent, self.replies_not_sent),
            ),
            (
                "SAVE written / ignored / failed",
                format!(
                    "{} / {} / {}",
                    self.saves_written, self.saves_ignored, self.saves_failed
                ),
            ),
            (
                "snapshots written / failed",
                format!("{} / {}", self.snapshots_written, self.snapshots_failed),
            ),
        ];
        for (name, value) in rows {
            let _ = writeln!(out, "{name:>36}: {value}");
        }
        if !self.unattributed_dropped.is_empty() {
            let _ = writeln!(
                out,
                "{:>36}: {:?}",
                "display messages dropped (no type)", self.unattributed_dropped
            );
        }
        for kind in &self.per_type {
            let mut line = format!(
                "{} declared, {} applied, {} frames, {} dropped",
                kind.declared, kind.applied, kind.frames, kind.dropped
            );
            if !kind.dropped_by_reason.is_empty() {
                let _ = write!(line, " {:?}", kind.dropped_by_reason);
            }
            if kind.replies + kind.saves + kind.saves_refused > 0 {
                let _ = write!(
                    line,
                    ", {} replies, {} SAVEs ({} refused)",
                    kind.replies, kind.saves, kind.saves_refused
                );
            }
            let _ = writeln!(out, "{:>36}: {line}", format!("display {}", kind.kind));
        }
    }
}

impl Report {
    pub fn new(
        pipeline: &PipelineStats,
        routing: &RoutingCounters,
        latency: LatencySummary,
        displays: Option<&HostStats>,
    ) -> Self {
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
            displays: displays.map(DisplaysReport::new),
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
        if let Some(displays) = &self.displays {
            displays.rows(&mut out);
        }
        out
    }
}
