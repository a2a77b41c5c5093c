//! Captures on disk (`docs/p2-protocol.md` A.6): our own raw recording, and the reference terminal's USB traffic
//! logs and `.p2rec` files (B.5), so that a capture from either tool replays through the deframer.
//!
//! # The `.sgrec` format (version 1)
//! A raw capture of the bytes as they came off the wire, with arrival times, so that replay gives exactly the
//! same messages. All integers little-endian.
//! ```text
//! header  : b"SGREC\0" | u16 version = 1 | u64 start time, ns since the Unix epoch      (16 bytes)
//! records : u64 arrival, ns since the start | u32 length | length bytes               (repeated to EOF)
//! ```
//! A file cut short (a crash, a full disk) is a prefix of a good one: [`Recording::parse`] replays every
//! whole record, drops the cut last one and says where it was ([`Recording::cut`]). A cut header is an error.
//!
//! Parsing is pure (bytes in, [`Recording`] out) and never panics: a bad file is a [`RecordingError`] that
//! names the format, what was wrong and the byte offset or line.

use std::io::{self, Write};
use std::ops::Range;
use std::time::Duration;

/// The `.sgrec` magic.
pub const SGREC_MAGIC: &[u8; 6] = b"SGREC\0";
/// The `.sgrec` version this code writes and reads.
pub const SGREC_VERSION: u16 = 1;
const SGREC_HEADER_LEN: usize = 16;
const SGREC_RECORD_HEADER_LEN: usize = 12;
const P2REC_MAGIC: &[u8; 4] = b"P2RC";
const P2REC_HEADER_LEN: usize = 64;
/// Time one byte takes on a 2 Mbaud 8N1 link (10 bits): how a raw file without times is paced.
const BYTE_TIME_2MBAUD: Duration = Duration::from_nanos(5_000);
/// Read size assumed for a raw file without times.
const RAW_CHUNK: usize = 4096;

/// Which format a capture was in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Our raw recording with arrival times.
    Sgrec,
    /// The reference terminal's `.p2rec` (entries replayed as chunks at their recorded times).
    P2rec,
    /// The reference terminal's USB traffic log (`Received N bytes` hex rows).
    UsbTrafficLog,
    /// Plain bytes, no times: read in 4 KiB chunks paced as a 2 Mbaud link would deliver them.
    Raw,
}

/// One read as it arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Arrival time since the start of the capture.
    pub at: Duration,
    /// Where its bytes are in [`Recording::data`].
    pub range: Range<usize>,
}

/// A capture: its bytes, and how they arrived.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// The format it was read from.
    pub format: Option<Format>,
    /// Every received byte, in order.
    pub data: Vec<u8>,
    /// The reads, in order; their ranges tile `data`.
    pub chunks: Vec<Chunk>,
    /// A `.sgrec` cut short: its incomplete last record, dropped.
    pub cut: Option<Cut>,
}

/// The incomplete last record of a `.sgrec` cut short, which is not replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    /// Where the record starts.
    pub offset: usize,
    /// Its bytes in the file (to the end), dropped.
    pub dropped: usize,
}

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cut short: the last record, at byte {}, is incomplete; its {} bytes were dropped",
            self.offset, self.dropped
        )
    }
}

/// What was wrong with a capture file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordingError {
    /// The file ended inside a header or record.
    #[error("{format:?} capture truncated at byte {offset}: {what} needs {needed} more bytes")]
    Truncated {
        /// The format being read.
        format: Format,
        /// Where the cut is.
        offset: usize,
        /// What was being read.
        what: &'static str,
        /// Bytes missing.
        needed: usize,
    },
    /// A version this code does not read.
    #[error("{format:?} capture version {version} is not supported (this build reads version {supported})")]
    UnsupportedVersion {
        /// The format.
        format: Format,
        /// The version found.
        version: u32,
        /// The version understood.
        supported: u32,
    },
    /// A USB traffic log row that is not hex where hex was expected, or that holds too few bytes.
    #[error("USB traffic log line {line}: {problem}")]
    BadLogLine {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        problem: String,
    },
}

impl Recording {
    /// Detects the format from the first bytes and parses the whole capture.
    ///
    /// # Errors
    /// [`RecordingError`] naming what is wrong and where.
    pub fn parse(file: &[u8]) -> Result<Recording, RecordingError> {
        let mut recording = if file.starts_with(SGREC_MAGIC) {
            parse_sgrec(file)?
        } else if file.starts_with(P2REC_MAGIC) {
            parse_p2rec(file)?
        } else if looks_like_usb_log(file) {
            parse_usb_log(file)?
        } else {
            raw(file)
        };
        recording.chunks.retain(|chunk| !chunk.range.is_empty());
        // Times that go back (a corrupt file, a clock set back while logging) are kept in order, each no
        // earlier than the one before, so that arrival times never decrease.
        let mut latest = Duration::ZERO;
        for chunk in &mut recording.chunks {
            latest = latest.max(chunk.at);
            chunk.at = latest;
        }
        Ok(recording)
    }

    /// The bytes of one chunk.
    pub fn bytes(&self, chunk: &Chunk) -> &[u8] {
        &self.data[chunk.range.clone()]
    }
}

/// How long `bytes` take on the wire at 2 Mbaud 8N1 (for captures without times); any count, even past 4 GiB.
fn byte_times(bytes: usize) -> Duration {
    Duration::from_nanos(
        u64::try_from(bytes)
            .unwrap_or(u64::MAX)
            .saturating_mul(BYTE_TIME_2MBAUD.as_nanos() as u64),
    )
}

fn raw(file: &[u8]) -> Recording {
    let chunks = (0..file.len())
        .step_by(RAW_CHUNK)
        .map(|start| Chunk {
            at: byte_times(start),
            range: start..(start + RAW_CHUNK).min(file.len()),
        })
        .collect();
    Recording {
        format: Some(Format::Raw),
        data: file.to_vec(),
        chunks,
        cut: None,
    }
}

/// A little-endian reader over a byte slice that reports truncation with its offset.
struct Cursor<'a> {
    file: &'a [u8],
    offset: usize,
    format: Format,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], RecordingError> {
        let rest = &self.file[self.offset..];
        if rest.len() < len {
            return Err(RecordingError::Truncated {
                format: self.format,
                offset: self.offset,
                what,
                needed: len - rest.len(),
            });
        }
        self.offset += len;
        Ok(&rest[..len])
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, RecordingError> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, RecordingError> {
        let bytes = self.take(8, what)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(array))
    }

    fn at_end(&self) -> bool {
        self.offset == self.file.len()
    }
}

fn parse_sgrec(file: &[u8]) -> Result<Recording, RecordingError> {
    let mut cursor = Cursor {
        file,
        offset: 0,
        format: Format::Sgrec,
    };
    let header = cursor.take(SGREC_HEADER_LEN, "the header")?;
    let version = u16::from_le_bytes([header[6], header[7]]);
    if version != SGREC_VERSION {
        return Err(RecordingError::UnsupportedVersion {
            format: Format::Sgrec,
            version: version.into(),
            supported: SGREC_VERSION.into(),
        });
    }
    let mut recording = Recording {
        format: Some(Format::Sgrec),
        ..Recording::default()
    };
    while !cursor.at_end() {
        let offset = cursor.offset;
        // A record can only be incomplete at the end of the file: the rest of it is dropped.
        let Ok((at, bytes)) = sgrec_record(&mut cursor) else {
            recording.cut = Some(Cut {
                offset,
                dropped: file.len() - offset,
            });
            break;
        };
        push_chunk(&mut recording, at, bytes);
    }
    Ok(recording)
}

/// One record: its arrival time and bytes; [`RecordingError::Truncated`] if the file ends inside it.
fn sgrec_record<'a>(cursor: &mut Cursor<'a>) -> Result<(Duration, &'a [u8]), RecordingError> {
    let at = Duration::from_nanos(cursor.u64("a record's arrival time")?);
    let len = cursor.u32("a record's length")? as usize;
    Ok((at, cursor.take(len, "a record's bytes")?))
}

fn push_chunk(recording: &mut Recording, at: Duration, bytes: &[u8]) {
    let start = recording.data.len();
    recording.data.extend_from_slice(bytes);
    recording.chunks.push(Chunk {
        at,
        range: start..recording.data.len(),
    });
}

/// B.5: 64-byte header, JSON metadata, then entries of (delta ms, type, length, data).
fn parse_p2rec(file: &[u8]) -> Result<Recording, RecordingError> {
    let mut cursor = Cursor {
        file,
        offset: 0,
        format: Format::P2rec,
    };
    cursor.take(4, "the magic")?;
    let version = cursor.u32("the version")?;
    if version != 1 {
        return Err(RecordingError::UnsupportedVersion {
            format: Format::P2rec,
            version,
            supported: 1,
        });
    }
    cursor.u64("the start time")?;
    let metadata_len = cursor.u32("the metadata length")? as usize;
    cursor.take(P2REC_HEADER_LEN - 20, "the header padding")?;
    cursor.take(metadata_len, "the metadata")?;
    let mut recording = Recording {
        format: Some(Format::P2rec),
        ..Recording::default()
    };
    let mut at = Duration::ZERO;
    while !cursor.at_end() {
        at += Duration::from_millis(cursor.u32("an entry's delta")?.into());
        cursor.take(1, "an entry's type")?;
        let len = cursor.u32("an entry's length")? as usize;
        let bytes = cursor.take(len, "an entry's data")?;
        push_chunk(&mut recording, at, bytes);
    }
    Ok(recording)
}

fn looks_like_usb_log(file: &[u8]) -> bool {
    let head = &file[..file.len().min(4096)];
    std::str::from_utf8(head).is_ok_and(|text| text.contains("[USB ") || text.contains("[SERIAL RX"))
        || head.windows(9).any(|window| window == b"Received ")
}

/// B.5: `[USB RECV <iso>] Received N bytes`, a `[USB RECV HEX/ASCII]:` line, then rows of
/// `  oooo: $XX $XX …  ascii`. Sent data (`SEND`/`Sent`) is skipped; so is every other line.
fn parse_usb_log(file: &[u8]) -> Result<Recording, RecordingError> {
    let text = String::from_utf8_lossy(file);
    let mut recording = Recording {
        format: Some(Format::UsbTrafficLog),
        ..Recording::default()
    };
    let mut first_time: Option<i128> = None;
    // The receive block being read: (line it started on, bytes still expected, arrival, bytes so far).
    let mut block: Option<(usize, usize, Duration, Vec<u8>)> = None;
    let mut fallback_at = Duration::ZERO;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let bad_line = |problem| RecordingError::BadLogLine { line: number, problem };
        let starts_a_block = received_count(line);
        if starts_a_block.is_some() || is_sent_header(line) {
            // A block that another begins before it is whole lost bytes the log says were received.
            if let Some((started, missing, ..)) = &block
                && *missing > 0
            {
                return Err(RecordingError::BadLogLine {
                    line: *started,
                    problem: format!("the receive block ended {missing} bytes short"),
                });
            }
        }
        if let Some(count) = starts_a_block {
            let count = count.map_err(bad_line)?;
            // Times are checked to lie in years 0–9999, so a difference always fits a Duration; one before the
            // first is taken as the first (the recording's times are made monotonic in `Recording::parse`).
            let at = match (timestamp_nanos(line).map_err(bad_line)?, first_time) {
                (Some(nanos), Some(first)) => {
                    Duration::from_nanos(u64::try_from((nanos - first).max(0)).unwrap_or(u64::MAX))
                }
                (Some(nanos), None) => {
                    first_time = Some(nanos);
                    Duration::ZERO
                }
                (None, _) => fallback_at,
            };
            // The count comes from the file: room for no more bytes than the text could hold.
            block = Some((number, count, at, Vec::with_capacity(count.min(text.len()))));
            continue;
        }
        if is_sent_header(line) {
            block = None;
            continue;
        }
        let Some((_, missing, _, bytes)) = block.as_mut() else {
            continue;
        };
        let Some(row) = hex_row(line) else { continue };
        for token in row.split_whitespace() {
            if *missing == 0 {
                break;
            }
            let Some(hex) = token.strip_prefix('$') else { break };
            let byte = u8::from_str_radix(hex, 16).map_err(|_| RecordingError::BadLogLine {
                line: number,
                problem: format!("`{token}` is not a hex byte"),
            })?;
            bytes.push(byte);
            *missing -= 1;
        }
        if *missing == 0 {
            let (_, _, at, bytes) = block.take().expect("a block is being read");
            fallback_at = at.saturating_add(byte_times(bytes.len()));
            push_chunk(&mut recording, at, &bytes);
        }
    }
    if let Some((started, missing, ..)) = block
        && missing > 0
    {
        return Err(RecordingError::BadLogLine {
            line: started,
            problem: format!("the log ended with the receive block {missing} bytes short"),
        });
    }
    Ok(recording)
}

/// `N` from `… Received N bytes` (receive side only), or what is wrong with `N`.
fn received_count(line: &str) -> Option<Result<usize, String>> {
    let after = line.split("Received ").nth(1)?;
    let count = after
        .strip_suffix("bytes")
        .or_else(|| after.strip_suffix("bytes\r"))?
        .trim();
    (line.contains("RECV") || line.contains("RX")).then_some(())?;
    Some(count.parse().map_err(|_| format!("`{count}` is not a byte count")))
}

fn is_sent_header(line: &str) -> bool {
    line.contains("Sent ") && line.contains(" bytes")
}

/// The part of `  0010: $01 $02 …` after the offset, if the line is a hex row.
fn hex_row(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    let (offset, rest) = trimmed.split_once(':')?;
    (!offset.is_empty() && offset.len() <= 8 && offset.bytes().all(|byte| byte.is_ascii_hexdigit())).then_some(rest)
}

/// Nanoseconds of the ISO time in `[USB RECV 2025-10-15T17:13:36.123Z]`, as a plain count (only differences
/// are used, so the epoch does not matter); `None` if the line has no time, what is wrong if its time is not
/// one. In integers, so that `.100` after `.000` is 100 ms exactly.
fn timestamp_nanos(line: &str) -> Result<Option<i128>, String> {
    let Some(start) = line.find(|c: char| c.is_ascii_digit()) else {
        return Ok(None);
    };
    let Some(iso) = line[start..].split([']', ' ']).next() else {
        return Ok(None);
    };
    let Some((date, time)) = iso.split_once('T') else {
        return Ok(None);
    };
    iso_nanos(date, time)
        .ok_or_else(|| format!("`{iso}` is not an ISO time"))
        .map(Some)
}

/// `date` (`YYYY-MM-DD`, years 0–9999) and `time` (`HH:MM:SS.sss`, a zone after it ignored) as
/// nanoseconds since 1970; `None` for anything out of range (a file's `1e300` or `inf` seconds included).
fn iso_nanos(date: &str, time: &str) -> Option<i128> {
    fn field<T: std::str::FromStr + PartialOrd>(part: Option<&str>, range: std::ops::RangeInclusive<T>) -> Option<T> {
        part?.parse().ok().filter(|value| range.contains(value))
    }
    let mut date_parts = date.split('-');
    let year: i64 = field(date_parts.next(), 0..=9999)?;
    let month: i64 = field(date_parts.next(), 1..=12)?;
    let day: i64 = field(date_parts.next(), 1..=31)?;
    let time = time.trim_end_matches('Z');
    let mut time_parts = time.split(['+', '-']).next()?.split(':');
    let hours: i64 = field(time_parts.next(), 0..=23)?;
    let minutes: i64 = field(time_parts.next(), 0..=59)?;
    // 60: a leap second. The fraction, up to nanoseconds, in digits only (no `1e300`, `inf` or sign).
    let second_field = time_parts.next()?;
    let (whole, fraction) = second_field.split_once('.').unwrap_or((second_field, ""));
    let seconds: i64 = field(Some(whole), 0..=60)?;
    if fraction.len() > 9 || !fraction.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let nanos = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<i64>().ok()? * 10_i64.pow(9 - fraction.len() as u32)
    };
    if date_parts.next().is_some() || time_parts.next().is_some() {
        return None;
    }
    // Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's days_from_civil).
    let shifted = if month <= 2 { year - 1 } else { year };
    let era = shifted.div_euclid(400);
    let year_of_era = shifted - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(i128::from(days * 86_400 + hours * 3600 + minutes * 60 + seconds) * 1_000_000_000 + i128::from(nanos))
}

/// Writes a `.sgrec` capture, one record per read.
#[derive(Debug)]
pub struct RecordingWriter<W: Write> {
    out: W,
}

impl<W: Write> RecordingWriter<W> {
    /// Writes the header; `start_unix_nanos` is when the capture started.
    ///
    /// # Errors
    /// What writing to `out` returns.
    pub fn new(mut out: W, start_unix_nanos: u64) -> io::Result<Self> {
        let mut header = [0u8; SGREC_HEADER_LEN];
        header[..6].copy_from_slice(SGREC_MAGIC);
        header[6..8].copy_from_slice(&SGREC_VERSION.to_le_bytes());
        header[8..].copy_from_slice(&start_unix_nanos.to_le_bytes());
        out.write_all(&header)?;
        Ok(Self { out })
    }

    /// Appends one read that arrived `at` after the start.
    ///
    /// # Errors
    /// What writing returns; a read over 4 GiB is refused as `InvalidInput`.
    pub fn write_chunk(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()> {
        let len = u32::try_from(bytes.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let mut header = [0u8; SGREC_RECORD_HEADER_LEN];
        header[..8].copy_from_slice(&u64::try_from(at.as_nanos()).unwrap_or(u64::MAX).to_le_bytes());
        header[8..].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&header)?;
        self.out.write_all(bytes)
    }

    /// Flushes and returns the output.
    ///
    /// # Errors
    /// What flushing returns.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sgrec(chunks: &[(u64, &[u8])]) -> Vec<u8> {
        let mut writer = RecordingWriter::new(Vec::new(), 1_700_000_000_000_000_000).unwrap();
        for (micros, bytes) in chunks {
            writer.write_chunk(Duration::from_micros(*micros), bytes).unwrap();
        }
        writer.finish().unwrap()
    }

    #[test]
    fn sgrec_round_trips_reads_and_times() {
        let file = sgrec(&[
            (0, b"Cog0  INIT"),
            (250, b" $0000_0000\r\n"),
            (900, b"\x01\x00\x00\x00"),
        ]);
        let recording = Recording::parse(&file).unwrap();
        assert_eq!(recording.format, Some(Format::Sgrec));
        assert_eq!(recording.data, b"Cog0  INIT $0000_0000\r\n\x01\x00\x00\x00");
        let times: Vec<_> = recording.chunks.iter().map(|chunk| chunk.at.as_micros()).collect();
        assert_eq!(times, [0, 250, 900]);
        assert_eq!(recording.bytes(&recording.chunks[1]), b" $0000_0000\r\n");
    }

    #[test]
    fn cut_sgrec_replays_its_whole_records_and_says_where_the_cut_one_was() {
        let file = sgrec(&[(0, b"abc"), (1, b"defgh")]);
        assert_eq!(file.len(), 48, "16 of header, 12 + 3, 12 + 5");
        for (len, cut) in [
            (
                46,
                Some(Cut {
                    offset: 31,
                    dropped: 15,
                }),
            ),
            (36, Some(Cut { offset: 31, dropped: 5 })),
            (31, None),
            (20, Some(Cut { offset: 16, dropped: 4 })),
        ] {
            let recording = Recording::parse(&file[..len]).unwrap();
            assert_eq!(recording.cut, cut, "cut at {len}");
            let whole = if len > 20 { &b"abc"[..] } else { b"" };
            assert_eq!(recording.data, whole, "cut at {len}");
        }
        assert_eq!(
            Cut {
                offset: 31,
                dropped: 15
            }
            .to_string(),
            "cut short: the last record, at byte 31, is incomplete; its 15 bytes were dropped"
        );
    }

    #[test]
    fn sgrec_with_a_cut_header_or_another_version_is_an_error() {
        let file = sgrec(&[(0, b"abc")]);
        assert_eq!(
            Recording::parse(&file[..10]),
            Err(RecordingError::Truncated {
                format: Format::Sgrec,
                offset: 0,
                what: "the header",
                needed: 6
            })
        );
        let mut future = file.clone();
        future[6] = 9;
        assert!(matches!(
            Recording::parse(&future),
            Err(RecordingError::UnsupportedVersion { version: 9, .. })
        ));
    }

    #[test]
    fn p2rec_entries_become_chunks_at_their_times() {
        let metadata = br#"{"sessionName":"t","startTime":0}"#;
        let mut file = Vec::new();
        file.extend_from_slice(b"P2RC");
        file.extend_from_slice(&1u32.to_le_bytes());
        file.extend_from_slice(&1_700_000_000_000u64.to_le_bytes());
        file.extend_from_slice(&(metadata.len() as u32).to_le_bytes());
        file.extend_from_slice(&[0u8; 44]);
        file.extend_from_slice(metadata);
        for (delta, data) in [(0u32, &b"Cog0  hi\r\n"[..]), (15, b"`j $1\r\n")] {
            file.extend_from_slice(&delta.to_le_bytes());
            file.push(1);
            file.extend_from_slice(&(data.len() as u32).to_le_bytes());
            file.extend_from_slice(data);
        }
        let recording = Recording::parse(&file).unwrap();
        assert_eq!(recording.format, Some(Format::P2rec));
        assert_eq!(recording.data, b"Cog0  hi\r\n`j $1\r\n");
        assert_eq!(recording.chunks[1].at, Duration::from_millis(15));
        assert!(matches!(
            Recording::parse(&file[..70]),
            Err(RecordingError::Truncated {
                format: Format::P2rec,
                ..
            })
        ));
    }

    /// A log in the layout of B.5, with a SEND block to skip and an ASCII column that itself contains `$`.
    const USB_LOG: &str = "\
================================================================================
[USB RECV 2025-10-15T17:13:36.100Z] Received 20 bytes
[USB RECV HEX/ASCII]:
  0000: $43 $6F $67 $30 $20 $20 $68 $69  $0D $0A $60 $6A $20 $24 $34 $31  Cog0  hi..`j $41
  0010: $0D $0A $00 $24                                                    ...$
[USB SEND 2025-10-15T17:13:36.105Z] Sent 2 bytes
[USB SEND HEX/ASCII]:
  0000: $41 $42                                                            AB
[USB RECV 2025-10-15T17:13:36.112Z] Received 3 bytes
[USB RECV HEX/ASCII]:
  0000: $41 $0D $0A                                                        A..
";

    #[test]
    fn usb_traffic_log_gives_received_bytes_at_their_times() {
        let recording = Recording::parse(USB_LOG.as_bytes()).unwrap();
        assert_eq!(recording.format, Some(Format::UsbTrafficLog));
        assert_eq!(recording.data, b"Cog0  hi\r\n`j $41\r\n\x00$A\r\n");
        assert_eq!(recording.chunks.len(), 2);
        assert_eq!(recording.chunks[1].at.as_millis(), 12);
    }

    #[test]
    fn usb_traffic_log_short_block_is_an_error_naming_its_line() {
        let short = USB_LOG.replace("Received 3 bytes", "Received 5 bytes");
        assert_eq!(
            Recording::parse(short.as_bytes()),
            Err(RecordingError::BadLogLine {
                line: 9,
                problem: "the log ended with the receive block 2 bytes short".into()
            })
        );
        let bad = USB_LOG.replace("$0D $0A $00 $24", "$0D $0A $0G $24");
        assert!(matches!(
            Recording::parse(bad.as_bytes()),
            Err(RecordingError::BadLogLine { line: 5, .. })
        ));
    }

    #[test]
    fn usb_traffic_log_time_out_of_range_is_an_error_naming_its_line() {
        for seconds in ["1e300", "inf", "NaN", "-1", "61.5"] {
            let bad = USB_LOG.replace("17:13:36.112Z", &format!("17:13:{seconds}Z"));
            assert_eq!(
                Recording::parse(bad.as_bytes()),
                Err(RecordingError::BadLogLine {
                    line: 9,
                    problem: format!("`2025-10-15T17:13:{seconds}Z` is not an ISO time")
                })
            );
        }
        let far = USB_LOG.replace("2025-10-15T17:13:36.112Z", "99999999999999999-10-15T17:13:36.112Z");
        assert!(matches!(
            Recording::parse(far.as_bytes()),
            Err(RecordingError::BadLogLine { line: 9, .. })
        ));
    }

    #[test]
    fn usb_traffic_log_huge_count_is_an_error_not_an_allocation() {
        for count in [u64::MAX, i64::MAX as u64] {
            let huge = USB_LOG.replace("Received 3 bytes", &format!("Received {count} bytes"));
            assert_eq!(
                Recording::parse(huge.as_bytes()),
                Err(RecordingError::BadLogLine {
                    line: 9,
                    problem: format!("the log ended with the receive block {} bytes short", count - 3)
                })
            );
        }
        let beyond = USB_LOG.replace("Received 3 bytes", "Received 18446744073709551616 bytes");
        assert_eq!(
            Recording::parse(beyond.as_bytes()),
            Err(RecordingError::BadLogLine {
                line: 9,
                problem: "`18446744073709551616` is not a byte count".into()
            })
        );
    }

    #[test]
    fn raw_bytes_are_paced_as_a_2_mbaud_link() {
        let file = vec![b'x'; 10_000];
        let recording = Recording::parse(&file).unwrap();
        assert_eq!(recording.format, Some(Format::Raw));
        assert_eq!(recording.chunks.len(), 3);
        assert_eq!(recording.chunks[2].at, Duration::from_micros(8192 * 5));
    }

    fn usb_block(time: &str, bytes: &[u8]) -> String {
        let hex: Vec<String> = bytes.iter().map(|byte| format!("${byte:02X}")).collect();
        format!(
            "[USB RECV 2025-10-15T17:13:{time}Z] Received {} bytes\n[USB RECV HEX/ASCII]:\n  0000: {}\n",
            bytes.len(),
            hex.join(" ")
        )
    }

    #[test]
    fn usb_log_times_are_exact_and_never_go_back() {
        let log = [
            usb_block("35.000", b"a"),
            usb_block("36.100", b"b"),
            usb_block("35.500", b"c"),
        ]
        .concat();
        let recording = Recording::parse(log.as_bytes()).unwrap();
        let times: Vec<Duration> = recording.chunks.iter().map(|chunk| chunk.at).collect();
        assert_eq!(
            times,
            [Duration::ZERO, Duration::from_millis(1100), Duration::from_millis(1100)]
        );
    }

    #[test]
    fn a_short_usb_block_cut_off_by_a_sent_block_is_an_error() {
        let short = "[USB RECV 2025-10-15T17:13:35.000Z] Received 20 bytes\n[USB RECV HEX/ASCII]:\n  0000: $41 $42\n";
        let sent = "[USB SEND 2025-10-15T17:13:35.100Z] Sent 1 bytes\n[USB SEND HEX/ASCII]:\n  0000: $41\n";
        let log = [short, sent, &usb_block("36.000", b"ok")].concat();
        assert_eq!(
            Recording::parse(log.as_bytes()).unwrap_err().to_string(),
            "USB traffic log line 1: the receive block ended 18 bytes short"
        );
        assert_eq!(
            Recording::parse(short.as_bytes()).unwrap_err().to_string(),
            "USB traffic log line 1: the log ended with the receive block 18 bytes short"
        );
    }

    #[test]
    fn byte_times_do_not_wrap_past_4_gib() {
        assert_eq!(byte_times(5 << 30), Duration::from_micros((5 << 30) * 5));
        assert_eq!(byte_times(usize::MAX), Duration::from_nanos(u64::MAX));
    }

    proptest! {
        /// No byte sequence makes parsing panic, whatever format its first bytes claim.
        #[test]
        fn any_bytes_parse_or_fail_cleanly(
            prefix in prop_oneof![Just(b"SGREC\0".to_vec()), Just(b"P2RC".to_vec()), Just(b"[USB RECV ".to_vec()), Just(vec![])],
            rest in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let file = [prefix, rest].concat();
            if let Ok(recording) = Recording::parse(&file) {
                let covered: usize = recording.chunks.iter().map(|chunk| chunk.range.len()).sum();
                prop_assert_eq!(covered, recording.data.len());
            }
        }

        /// No USB traffic log makes parsing panic: lines in its layout, with times and counts out of range
        /// among them, and arbitrary text.
        #[test]
        fn any_usb_log_lines_parse_or_fail_cleanly(lines in proptest::collection::vec(usb_log_line(), 0..24)) {
            let file = lines.join("\n");
            if let Ok(recording) = Recording::parse(file.as_bytes()) {
                let covered: usize = recording.chunks.iter().map(|chunk| chunk.range.len()).sum();
                prop_assert_eq!(covered, recording.data.len());
            }
        }

        /// A `.sgrec` cut anywhere past its header gives back the records before the cut, and the rest as cut.
        #[test]
        fn any_cut_of_a_sgrec_keeps_every_whole_record(
            reads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..8),
            cut in any::<proptest::sample::Index>(),
        ) {
            let chunks: Vec<(u64, &[u8])> = reads.iter().enumerate().map(|(i, read)| (i as u64, &read[..])).collect();
            let file = sgrec(&chunks);
            let len = SGREC_HEADER_LEN + cut.index(file.len() - SGREC_HEADER_LEN + 1);
            let recording = Recording::parse(&file[..len]).unwrap();
            let (mut whole, mut end) = (Vec::new(), SGREC_HEADER_LEN);
            for read in &reads {
                if end + SGREC_RECORD_HEADER_LEN + read.len() > len {
                    break;
                }
                end += SGREC_RECORD_HEADER_LEN + read.len();
                whole.extend_from_slice(read);
            }
            prop_assert_eq!(&recording.data, &whole);
            let cut = (end < len).then_some(Cut { offset: end, dropped: len - end });
            prop_assert_eq!(recording.cut, cut);
        }
    }

    /// One line of a USB traffic log, as the reference writes it or not.
    fn usb_log_line() -> impl Strategy<Value = String> {
        let number = || {
            prop_oneof![
                (0u32..100).prop_map(|n| n.to_string()),
                Just("1e300".to_owned()),
                Just("inf".to_owned()),
                Just("NaN".to_owned()),
                Just("-7".to_owned()),
                Just("99999999999999999999".to_owned()),
                any::<u64>().prop_map(|n| n.to_string()),
                "[0-9.eE+-]{0,6}",
            ]
        };
        let count = prop_oneof![
            (0usize..40).prop_map(|n| n.to_string()),
            Just(u64::MAX.to_string()),
            Just(i64::MAX.to_string()),
            number(),
        ];
        prop_oneof![
            (number(), number(), number(), number(), number(), number(), count).prop_map(
                |(year, month, day, hours, minutes, seconds, count)| format!(
                    "[USB RECV {year}-{month}-{day}T{hours}:{minutes}:{seconds}Z] Received {count} bytes"
                )
            ),
            Just("[USB RECV HEX/ASCII]:".to_owned()),
            proptest::collection::vec(prop_oneof!["\\$[0-9A-F]{2}", "\\$[0-9A-Za-z+-]{0,3}"], 0..20)
                .prop_map(|tokens| format!("  0000: {}  ascii", tokens.join(" "))),
            (0u32..20).prop_map(|n| format!("[USB SEND 2025-10-15T17:13:36.105Z] Sent {n} bytes")),
            any::<String>(),
        ]
    }
}
