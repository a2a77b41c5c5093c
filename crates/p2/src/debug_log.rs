//! The debug log's format (`docs/p2-protocol.md` A.6, B.5), kept as the reference terminal writes it so that
//! existing habits and scripts keep working: files `debug_YYMMDD-HHMMSS.log`, a new one at each reboot, entries
//! `[YYYY-MM-DDTHH:MM:SS.mmm] text` in local time, terminal text with PST codes as tags, binary messages as
//! `Cog N:` and hex rows.
//!
//! Sans-IO: a front end reads the clock and owns the files; [`DebugLog`] says what each routed item writes and
//! when a new file begins.
//!
//! # Examples
//! ```
//! use std::time::Instant;
//! use sluicegate_p2::debug_log::{DebugLog, LocalTime, LogStep};
//! use sluicegate_p2::{Config, Deframer, KindSet, Router, Routed, Subscription, Destination};
//!
//! let time = LocalTime { year: 2025, month: 8, day: 30, hour: 6, minute: 30, second: 1, millisecond: 7 };
//! assert_eq!(time.file_name(0), "debug_250830-063001.log");
//!
//! struct Lines(DebugLog, Vec<String>);
//! impl Destination for Lines {
//!     fn deliver(&mut self, routed: &Routed<'_>) {
//!         let time = LocalTime { year: 2025, month: 8, day: 30, hour: 6, minute: 30, second: 1, millisecond: 7 };
//!         let mut entry = String::new();
//!         if self.0.handle(routed, time, &mut entry) == LogStep::Write {
//!             self.1.push(entry);
//!         }
//!     }
//! }
//! let mut log = Lines(DebugLog::new(), Vec::new());
//! let mut router = Router::new();
//! router.add_destination(&mut log, Subscription::new(KindSet::ALL).with_events()).unwrap();
//! let mut deframer = Deframer::new(Config::default()).unwrap();
//! deframer.handle_bytes(b"Cog0  hi\r\n", Instant::now());
//! while let Some(output) = deframer.poll_ref() {
//!     router.route_ref(&output);
//! }
//! drop(router);
//! assert_eq!(log.1, ["[2025-08-30T06:30:01.007] Cog0  hi\n"]);
//! ```

use std::fmt::{self, Write as _};

use crate::classify::without_line_end;
use crate::message::MessageKind;
use crate::pst::{self, Controls};
use crate::route::{Event, Routed};

/// A local wall-clock time, as the log writes it; the caller reads the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    /// Year, e.g. 2025.
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–60 (a leap second).
    pub second: u8,
    /// 0–999.
    pub millisecond: u16,
}

impl LocalTime {
    /// The name of a log file started at this time: `debug_YYMMDD-HHMMSS.log`; `repeat` > 0 for another file
    /// started within the same second (`debug_YYMMDD-HHMMSS_1.log`, …), which the reference would overwrite.
    pub fn file_name(&self, repeat: u32) -> String {
        let stamp = format!(
            "{:02}{:02}{:02}-{:02}{:02}{:02}",
            self.year % 100,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second
        );
        match repeat {
            0 => format!("debug_{stamp}.log"),
            n => format!("debug_{stamp}_{n}.log"),
        }
    }
}

/// An entry's stamp: `YYYY-MM-DDTHH:MM:SS.mmm` (local time, no zone).
impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millisecond
        )
    }
}

/// What the log does with one routed item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogStep {
    /// Append the entry written into the caller's string.
    Write,
    /// Go on in a new file (a reboot after at least one entry).
    NewFile,
    /// Nothing to log.
    Skip,
}

/// Debug-log bytes shown for a debugger packet: the reference shows the first 40 (the 20-long status block's
/// first half, B.5).
const DEBUGGER_SHOWN: usize = 40;

/// The log's state: whether the current file holds an entry. A reboot before any (a session that starts with
/// the P2's reset, the usual case) keeps writing to the first file rather than leaving it empty.
#[derive(Clone, Copy, Debug, Default)]
pub struct DebugLog {
    used: bool,
}

impl DebugLog {
    /// A log whose first file is empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes the entry for `routed`, stamped `time`, into `entry` (cleared first) and says what to do with it.
    /// Messages of every kind and window errors are logged; a reboot starts a new file.
    pub fn handle(&mut self, routed: &Routed<'_>, time: LocalTime, entry: &mut String) -> LogStep {
        entry.clear();
        let _ = write!(entry, "[{time}] ");
        match routed {
            Routed::Message(message) => match message.kind {
                MessageKind::Debugger(cog) => {
                    let shown = &message.bytes()[..message.bytes().len().min(DEBUGGER_SHOWN)];
                    let _ = write!(entry, "Cog {}:", cog.get());
                    hex_rows(shown, entry);
                }
                MessageKind::DbPacket => {
                    entry.push_str("INVALID(0xDB):");
                    hex_rows(message.bytes(), entry);
                }
                _ => pst::render(without_line_end(message.bytes()), Controls::Tags, entry),
            },
            Routed::Event(Event::Reboot { .. }) => {
                entry.clear();
                return if std::mem::take(&mut self.used) {
                    LogStep::NewFile
                } else {
                    LogStep::Skip
                };
            }
            Routed::Event(Event::WindowError { error, name, .. }) => {
                let _ = write!(entry, "ERROR: {error} (window '{}')", String::from_utf8_lossy(name));
            }
            _ => {
                entry.clear();
                return LogStep::Skip;
            }
        }
        entry.push('\n');
        self.used = true;
        LogStep::Write
    }
}

/// Rows `\n  OOO: $XXXXXXXX …`: a 3-digit hex offset, 32 bytes a row as longs, bytes in stream order (B.5).
fn hex_rows(bytes: &[u8], entry: &mut String) {
    for (row, chunk) in bytes.chunks(32).enumerate() {
        let _ = write!(entry, "\n  {:03X}:", row * 32);
        for long in chunk.chunks(4) {
            entry.push_str(" $");
            for byte in long {
                let _ = write!(entry, "{byte:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::{Config, Deframer, Destination, KindSet, Router, Subscription};

    const TIME: LocalTime = LocalTime {
        year: 2025,
        month: 11,
        day: 6,
        hour: 16,
        minute: 44,
        second: 58,
        millisecond: 42,
    };

    /// Each routed item's step and entry.
    #[derive(Default)]
    struct Steps {
        log: DebugLog,
        steps: Vec<(LogStep, String)>,
    }

    impl Destination for Steps {
        fn deliver(&mut self, routed: &Routed<'_>) {
            let mut entry = String::new();
            let step = self.log.handle(routed, TIME, &mut entry);
            self.steps.push((step, entry));
        }
    }

    fn log(bytes: &[u8]) -> Vec<(LogStep, String)> {
        let mut steps = Steps::default();
        let mut router = Router::new();
        router
            .add_destination(&mut steps, Subscription::new(KindSet::ALL).with_events())
            .unwrap();
        let mut deframer = Deframer::new(Config::default()).unwrap();
        deframer.handle_bytes(bytes, Instant::now());
        deframer.handle_end();
        while let Some(output) = deframer.poll_ref() {
            router.route_ref(&output);
        }
        drop(router);
        steps.steps
    }

    #[test]
    fn file_names_and_stamps_are_the_references() {
        assert_eq!(TIME.file_name(0), "debug_251106-164458.log");
        assert_eq!(TIME.file_name(2), "debug_251106-164458_2.log");
        assert_eq!(TIME.to_string(), "2025-11-06T16:44:58.042");
    }

    #[test]
    fn text_loses_its_line_end_and_shows_controls_as_tags() {
        let steps = log(b"\x01\x02\x05\x07x\x03\r\nCog1  a\tb\r\n");
        assert_eq!(
            steps,
            [
                (
                    LogStep::Write,
                    "[2025-11-06T16:44:58.042] <HOME><POS:5,7>x<LEFT>\n".to_owned()
                ),
                (LogStep::Write, "[2025-11-06T16:44:58.042] Cog1  a<TAB>b\n".to_owned()),
            ]
        );
    }

    #[test]
    fn a_debugger_packet_shows_its_first_40_bytes_as_longs_in_rows_of_32() {
        let mut packet = vec![0u8; 416];
        packet[0] = 1;
        for (index, byte) in packet.iter_mut().enumerate().skip(4).take(36) {
            *byte = index as u8;
        }
        let steps = log(&packet);
        let (step, entry) = &steps[0];
        assert_eq!(*step, LogStep::Write);
        assert_eq!(
            entry,
            "[2025-11-06T16:44:58.042] Cog 1:\n  000: $01000000 $04050607 $08090A0B $0C0D0E0F $10111213 $14151617 \
             $18191A1B $1C1D1E1F\n  020: $20212223 $24252627\n"
        );
    }

    #[test]
    fn a_db_packet_is_logged_whole_in_hex() {
        let steps = log(b"\xDB\x02\x00\xAB\xCD");
        assert_eq!(
            steps[0].1,
            "[2025-11-06T16:44:58.042] INVALID(0xDB):\n  000: $DB0200AB $CD\n"
        );
    }

    #[test]
    fn a_reboot_starts_a_new_file_only_after_an_entry_and_a_window_error_is_logged() {
        let golden = b"Cog0  INIT $0000_0000 $0000_0000 load\r\n";
        let mut stream = golden.to_vec();
        stream.extend_from_slice(b"`nowhere 1\r\n");
        stream.extend_from_slice(golden);
        let steps: Vec<_> = log(&stream)
            .into_iter()
            .map(|(step, entry)| (step, !entry.is_empty()))
            .collect();
        // Reboot (first file kept), its line, the update and its error, reboot (new file), its line.
        assert_eq!(
            steps,
            [
                (LogStep::Skip, false),
                (LogStep::Write, true),
                (LogStep::Write, true),
                (LogStep::Write, true),
                (LogStep::NewFile, false),
                (LogStep::Write, true),
            ]
        );
        let errors = log(b"`nowhere 1\r\n");
        assert!(
            errors.iter().any(|(_, entry)| entry.contains("ERROR: window update failed")
                && entry.contains("(window 'nowhere')")),
            "{errors:?}"
        );
    }
}
