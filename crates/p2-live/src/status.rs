//! The session's status line: where the bytes come from, how fast, and what was lost.

use std::time::Instant;

use sluicegate_p2::io::{PipelineStats, SourceSpec};

/// What a status bar shows. Serialises with snake_case keys.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Status {
    /// The input, as the terminal names it (`serial port /dev/ttyUSB0`, `the simulator`, …).
    pub source: String,
    /// The serial port's baud rate.
    pub baud: Option<u32>,
    /// Bytes read so far.
    pub bytes_in: u64,
    /// Bytes read per second, over the last status interval.
    pub bytes_per_second: f64,
    /// Messages framed so far.
    pub messages: u64,
    /// Messages per second, over the last status interval.
    pub messages_per_second: f64,
    /// Chunks the byte ring could not take (their bytes are lost; the stream resynchronised).
    pub overflows: u64,
    /// Bytes in the byte ring now.
    pub ring_fill: usize,
    /// Bytes the ring holds at most.
    pub ring_capacity: usize,
    /// Display lines dropped because the display host fell a whole queue behind (the messages themselves
    /// went everywhere else).
    pub display_messages_dropped: u64,
    /// Displays open.
    pub displays: usize,
    /// The `.sgrec` file being recorded, if any.
    pub recording: Option<String>,
    /// Whether typed input reaches the P2.
    pub can_transmit: bool,
    /// Whether the P2 can be reset from here (a serial port).
    pub can_reset: bool,
    /// Whether the input has ended (a replay, stdin or the simulator finished; the displays stay).
    pub input_ended: bool,
}

impl Status {
    /// The status of a session on `input` that has not read anything yet.
    pub(crate) fn new(input: &SourceSpec, can_transmit: bool, can_reset: bool) -> Self {
        Status {
            source: input.to_string(),
            baud: match input {
                SourceSpec::Port { baud, .. } => Some(*baud),
                _ => None,
            },
            can_transmit,
            can_reset,
            ..Status::default()
        }
    }
}

/// Rates from successive counter readings.
#[derive(Debug)]
pub(crate) struct Rates {
    last: Option<(Instant, u64, u64)>,
}

impl Rates {
    pub(crate) fn new() -> Self {
        Self { last: None }
    }

    /// Fills the counters and rates of `status` from `stats` read at `now`.
    pub(crate) fn update(&mut self, status: &mut Status, stats: &PipelineStats, now: Instant) {
        let messages = stats.outputs.messages;
        if let Some((then, bytes, earlier)) = self.last {
            let seconds = now.saturating_duration_since(then).as_secs_f64();
            if seconds > 0.0 {
                status.bytes_per_second = stats.bytes_in.saturating_sub(bytes) as f64 / seconds;
                status.messages_per_second = messages.saturating_sub(earlier) as f64 / seconds;
            }
        }
        self.last = Some((now, stats.bytes_in, messages));
        status.bytes_in = stats.bytes_in;
        status.messages = messages;
        status.overflows = stats.overflows;
        status.ring_fill = stats.ring.fill;
        status.ring_capacity = stats.ring.capacity;
    }
}
