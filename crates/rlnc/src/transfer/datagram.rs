//! The transfer wire format, version 2: every datagram carries the session
//! id and ends with a tag, so stray or corrupted datagrams are recognised and
//! dropped. `docs/rlnc-transfer.md` is the full protocol description.
//!
//! Layout (integers little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 2 | magic `"SG"` |
//! | 2 | 1 | version = 2 |
//! | 3 | 1 | kind: 1 data, 2 feedback, 3 done, 4 close |
//! | 4 | 8 | session id |
//! | 12 | … | body (below) |
//! | end − 4 | 4 | tag: CRC-32C of every preceding byte |
//!
//! Bodies:
//! - data ([`DataHeader`], 26 bytes): `seq: u64`, `timestamp_us: u32`
//!   (sender clock), `receiver: u32` (the receiver instance the sender is
//!   bound to, 0 before it heard one), `total_len: u64` (`u64::MAX` while
//!   unknown), `window: u16`, then one codec [`Packet`](crate::Packet) to the
//!   tag.
//! - feedback ([`Feedback`], 44 bytes and the ranks): `receiver: u32`,
//!   `echo_seq: u64` (highest data seq seen), `echo_timestamp_us: u32` (its
//!   timestamp), `echo_delay_us: u32` (from its arrival to this feedback),
//!   `received: u64` (data datagrams received), `received_at_us: u64`
//!   (receiver clock at the latest arrival), `window: u16` (generations the
//!   receiver keeps), `base: u32` (first generation not yet delivered),
//!   `count: u16`, then `count` ranks of generations `base..base + count`.
//! - done (44 bytes): `receiver: u32`, `total_len: u64`, `digest: [u8; 32]`
//!   (SHA-256 of what was written).
//! - close (5 bytes): `receiver: u32`, `reason: u8` ([`CloseReason`]); the
//!   sender also acknowledges a done with one (reason 6, finished).
//!
//! The tag binds the session id to the body: a datagram of another session,
//! or one whose session field was altered, is rejected. It protects against
//! accidents (stray senders, corruption), not against an attacker.

use crate::checksum::crc32c;

/// Datagram magic.
pub const MAGIC: [u8; 2] = *b"SG";
/// Datagram format version.
pub const VERSION: u8 = 2;
/// Bytes before the body.
pub const HEADER_LEN: usize = 12;
/// Trailing tag bytes.
pub const TAG_LEN: usize = 4;
/// Data body bytes before the codec packet.
pub const DATA_PREFIX_LEN: usize = 26;
/// Feedback body bytes before the ranks.
pub const FEEDBACK_PREFIX_LEN: usize = 44;
/// Done body bytes.
pub const DONE_BODY_LEN: usize = 44;
/// Close body bytes.
pub const CLOSE_BODY_LEN: usize = 5;
/// `total_len` while the sender has not reached the end of its input.
pub const UNKNOWN_LEN: u64 = u64::MAX;
/// The `receiver` field of data sent before any receiver was heard.
pub const NO_RECEIVER: u32 = 0;

const KIND_DATA: u8 = 1;
const KIND_FEEDBACK: u8 = 2;
const KIND_DONE: u8 = 3;
const KIND_CLOSE: u8 = 4;

/// One parsed datagram, borrowing its variable parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// Session id.
    pub session: u64,
    /// What it says.
    pub body: Body<'a>,
}

/// The fixed fields of a data datagram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataHeader {
    /// Sender's datagram sequence number, from 0.
    pub seq: u64,
    /// Sender's clock when sent, microseconds (wraps); echoed for the RTT.
    pub timestamp_us: u32,
    /// The receiver instance the sender is bound to, [`NO_RECEIVER`] before
    /// it heard one.
    pub receiver: u32,
    /// Total object length, [`UNKNOWN_LEN`] until known.
    pub total_len: u64,
    /// Generations the sender may keep in flight at most.
    pub window: u16,
}

/// Receiver → sender: decoding progress and what the congestion
/// controller measures from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Feedback<'a> {
    /// The receiver's instance id (a restarted receiver has a new one).
    pub receiver: u32,
    /// Highest data sequence number received.
    pub echo_seq: u64,
    /// The timestamp that datagram carried.
    pub echo_timestamp_us: u32,
    /// Microseconds from its arrival to this feedback.
    pub echo_delay_us: u32,
    /// Data datagrams of the session received so far.
    pub received: u64,
    /// Receiver clock at the latest data arrival, microseconds since its
    /// first one.
    pub received_at_us: u64,
    /// Generations the receiver keeps decoders for.
    pub window: u16,
    /// First generation not yet delivered; all below are decoded.
    pub base: u32,
    /// Ranks of generations `base..`.
    pub ranks: &'a [u8],
}

/// Why a peer ends the session early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// A receiver restart broke the session: the receiver the sender was
    /// bound to is gone, and what it had written with it.
    Restarted,
    /// The user stopped it.
    Cancelled,
    /// The receiver could not write its output.
    OutputFailed,
    /// The sender could not read its input.
    InputFailed,
    /// No progress within the timeout.
    NoProgress,
    /// The sender got the done datagram: the receiver need not linger.
    Finished,
    /// A code this version does not know.
    Unknown(u8),
}

impl CloseReason {
    fn code(self) -> u8 {
        match self {
            CloseReason::Restarted => 1,
            CloseReason::Cancelled => 2,
            CloseReason::OutputFailed => 3,
            CloseReason::InputFailed => 4,
            CloseReason::NoProgress => 5,
            CloseReason::Finished => 6,
            CloseReason::Unknown(code) => code,
        }
    }

    fn from_code(code: u8) -> CloseReason {
        match code {
            1 => CloseReason::Restarted,
            2 => CloseReason::Cancelled,
            3 => CloseReason::OutputFailed,
            4 => CloseReason::InputFailed,
            5 => CloseReason::NoProgress,
            6 => CloseReason::Finished,
            other => CloseReason::Unknown(other),
        }
    }
}

impl core::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CloseReason::Restarted => f.write_str("a receiver restarted mid-transfer"),
            CloseReason::Cancelled => f.write_str("cancelled"),
            CloseReason::OutputFailed => f.write_str("the receiver could not write its output"),
            CloseReason::InputFailed => f.write_str("the sender could not read its input"),
            CloseReason::NoProgress => f.write_str("no progress within the timeout"),
            CloseReason::Finished => f.write_str("finished"),
            CloseReason::Unknown(code) => write!(f, "reason code {code}"),
        }
    }
}

/// The kinds of datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// Sender → receiver: one coded packet.
    Data {
        /// The fixed fields.
        header: DataHeader,
        /// The codec packet bytes (parse with [`Packet::parse`](crate::Packet::parse)).
        packet: &'a [u8],
    },
    /// Receiver → sender: decoding progress.
    Feedback(Feedback<'a>),
    /// Receiver → sender: everything decoded and written.
    Done {
        /// The receiver's instance id.
        receiver: u32,
        /// Bytes written.
        total_len: u64,
        /// SHA-256 of the bytes written.
        digest: [u8; 32],
    },
    /// Either way: the session ends unfinished.
    Close {
        /// The receiver instance concerned: the sender's bound receiver, or
        /// the closing receiver's own id.
        receiver: u32,
        /// Why.
        reason: CloseReason,
    },
}

impl Body<'_> {
    /// The receiver instance a feedback, done or close names; `None` for data
    /// (whose header names the instance its sender is bound to).
    pub fn receiver(&self) -> Option<u32> {
        match *self {
            Body::Feedback(Feedback { receiver, .. }) | Body::Done { receiver, .. } | Body::Close { receiver, .. } => {
                Some(receiver)
            }
            Body::Data { .. } => None,
        }
    }
}

/// Why bytes are not a datagram, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed datagram at byte {offset}: {kind}")]
pub struct DatagramError {
    /// What is wrong.
    pub kind: DatagramErrorKind,
    /// Byte offset of the offending field.
    pub offset: usize,
}

/// The kinds of malformed datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatagramErrorKind {
    /// Shorter than its fields.
    #[error("truncated")]
    Truncated,
    /// Not `"SG"`.
    #[error("bad magic")]
    BadMagic,
    /// Unknown version (version 1 peers predate congestion control and
    /// restart detection).
    #[error("unsupported version {0}")]
    UnsupportedVersion(u8),
    /// Unknown kind byte.
    #[error("unknown kind {0}")]
    UnknownKind(u8),
    /// The tag does not match.
    #[error("tag mismatch")]
    Tag,
    /// Length disagrees with the body's own counts.
    #[error("length mismatch")]
    Length,
}

fn error(kind: DatagramErrorKind, offset: usize) -> DatagramError {
    DatagramError { kind, offset }
}

/// Little-endian field reader over a body already checked for length.
struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Fields<'a> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        out.copy_from_slice(&self.bytes[self.at..self.at + N]);
        self.at += N;
        out
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }
}

/// Little-endian field writer; the caller checked the room.
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> &mut Self {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
        self
    }
}

impl<'a> Datagram<'a> {
    /// Parses one datagram occupying all of `bytes`. Never panics.
    ///
    /// # Errors
    /// [`DatagramError`] naming the first offending field.
    pub fn parse(bytes: &'a [u8]) -> Result<Datagram<'a>, DatagramError> {
        use DatagramErrorKind as K;
        if bytes.len() < HEADER_LEN + TAG_LEN {
            return Err(error(K::Truncated, bytes.len()));
        }
        if bytes[..2] != MAGIC {
            return Err(error(K::BadMagic, 0));
        }
        if bytes[2] != VERSION {
            return Err(error(K::UnsupportedVersion(bytes[2]), 2));
        }
        let tag_at = bytes.len() - TAG_LEN;
        let mut tag = [0; TAG_LEN];
        tag.copy_from_slice(&bytes[tag_at..]);
        if u32::from_le_bytes(tag) != crc32c(&bytes[..tag_at]) {
            return Err(error(K::Tag, tag_at));
        }
        let mut head = Fields { bytes, at: 4 };
        let session = head.u64();
        let body = &bytes[HEADER_LEN..tag_at];
        let exactly = |n: usize| {
            if body.len() == n {
                Ok(())
            } else {
                Err(error(K::Length, HEADER_LEN))
            }
        };
        let at_least = |n: usize| {
            if body.len() >= n {
                Ok(())
            } else {
                Err(error(K::Truncated, HEADER_LEN + body.len()))
            }
        };
        let mut f = Fields { bytes: body, at: 0 };
        let body = match bytes[3] {
            KIND_DATA => {
                at_least(DATA_PREFIX_LEN)?;
                let header = DataHeader {
                    seq: f.u64(),
                    timestamp_us: f.u32(),
                    receiver: f.u32(),
                    total_len: f.u64(),
                    window: f.u16(),
                };
                Body::Data {
                    header,
                    packet: f.rest(),
                }
            }
            KIND_FEEDBACK => {
                at_least(FEEDBACK_PREFIX_LEN)?;
                let mut feedback = Feedback {
                    receiver: f.u32(),
                    echo_seq: f.u64(),
                    echo_timestamp_us: f.u32(),
                    echo_delay_us: f.u32(),
                    received: f.u64(),
                    received_at_us: f.u64(),
                    window: f.u16(),
                    base: f.u32(),
                    ranks: &[],
                };
                let count = usize::from(f.u16());
                if f.rest().len() != count {
                    return Err(error(K::Length, HEADER_LEN + FEEDBACK_PREFIX_LEN - 2));
                }
                feedback.ranks = f.rest();
                Body::Feedback(feedback)
            }
            KIND_DONE => {
                exactly(DONE_BODY_LEN)?;
                Body::Done {
                    receiver: f.u32(),
                    total_len: f.u64(),
                    digest: f.take(),
                }
            }
            KIND_CLOSE => {
                exactly(CLOSE_BODY_LEN)?;
                Body::Close {
                    receiver: f.u32(),
                    reason: CloseReason::from_code(f.take::<1>()[0]),
                }
            }
            kind => return Err(error(K::UnknownKind(kind), 3)),
        };
        Ok(Datagram { session, body })
    }
}

/// Writes the header of a `kind` datagram; the body follows at [`HEADER_LEN`].
fn write_header(out: &mut [u8], kind: u8, session: u64) {
    Writer { out, at: 0 }
        .put(&MAGIC)
        .put(&[VERSION, kind])
        .put(&session.to_le_bytes());
}

/// Appends the tag after `len` bytes; returns the datagram length.
fn seal(out: &mut [u8], len: usize) -> usize {
    let tag = crc32c(&out[..len]);
    out[len..len + TAG_LEN].copy_from_slice(&tag.to_le_bytes());
    len + TAG_LEN
}

/// Writes a data datagram's header and prefix; the caller writes the codec
/// packet at `HEADER_LEN + DATA_PREFIX_LEN` and then calls [`seal_data`].
///
/// # Panics
/// If `out` is shorter than `HEADER_LEN + DATA_PREFIX_LEN`.
pub fn write_data_prefix(out: &mut [u8], session: u64, header: &DataHeader) {
    write_header(out, KIND_DATA, session);
    Writer { out, at: HEADER_LEN }
        .put(&header.seq.to_le_bytes())
        .put(&header.timestamp_us.to_le_bytes())
        .put(&header.receiver.to_le_bytes())
        .put(&header.total_len.to_le_bytes())
        .put(&header.window.to_le_bytes());
}

/// Seals a data datagram whose packet is `packet_len` bytes; returns its length.
///
/// # Panics
/// If `out` is shorter than [`data_len`]`(packet_len)`.
pub fn seal_data(out: &mut [u8], packet_len: usize) -> usize {
    seal(out, HEADER_LEN + DATA_PREFIX_LEN + packet_len)
}

/// Bytes a data datagram around a `packet_len`-byte packet takes.
pub const fn data_len(packet_len: usize) -> usize {
    HEADER_LEN + DATA_PREFIX_LEN + packet_len + TAG_LEN
}

/// Writes a feedback datagram; returns its length, `None` if `out` is too
/// small or there are more than 65,535 ranks.
pub fn write_feedback(out: &mut [u8], session: u64, feedback: &Feedback<'_>) -> Option<usize> {
    let count = u16::try_from(feedback.ranks.len()).ok()?;
    let len = HEADER_LEN + FEEDBACK_PREFIX_LEN + feedback.ranks.len();
    if out.len() < len + TAG_LEN {
        return None;
    }
    write_header(out, KIND_FEEDBACK, session);
    Writer { out, at: HEADER_LEN }
        .put(&feedback.receiver.to_le_bytes())
        .put(&feedback.echo_seq.to_le_bytes())
        .put(&feedback.echo_timestamp_us.to_le_bytes())
        .put(&feedback.echo_delay_us.to_le_bytes())
        .put(&feedback.received.to_le_bytes())
        .put(&feedback.received_at_us.to_le_bytes())
        .put(&feedback.window.to_le_bytes())
        .put(&feedback.base.to_le_bytes())
        .put(&count.to_le_bytes())
        .put(feedback.ranks);
    Some(seal(out, len))
}

/// Writes a done datagram; returns its length, `None` if `out` is too small.
pub fn write_done(out: &mut [u8], session: u64, receiver: u32, total_len: u64, digest: &[u8; 32]) -> Option<usize> {
    let len = HEADER_LEN + DONE_BODY_LEN;
    if out.len() < len + TAG_LEN {
        return None;
    }
    write_header(out, KIND_DONE, session);
    Writer { out, at: HEADER_LEN }
        .put(&receiver.to_le_bytes())
        .put(&total_len.to_le_bytes())
        .put(digest);
    Some(seal(out, len))
}

/// Writes a close datagram; returns its length, `None` if `out` is too small.
pub fn write_close(out: &mut [u8], session: u64, receiver: u32, reason: CloseReason) -> Option<usize> {
    let len = HEADER_LEN + CLOSE_BODY_LEN;
    if out.len() < len + TAG_LEN {
        return None;
    }
    write_header(out, KIND_CLOSE, session);
    Writer { out, at: HEADER_LEN }
        .put(&receiver.to_le_bytes())
        .put(&[reason.code()]);
    Some(seal(out, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Hex to bytes, ignoring spaces (the known answers below are literal).
    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    /// Every bit flip and every truncation of a valid datagram is rejected.
    fn assert_fragile(bytes: &[u8]) {
        for bit in 0..bytes.len() * 8 {
            let mut bad = bytes.to_vec();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(Datagram::parse(&bad).is_err(), "bit {bit}");
        }
        for len in 0..bytes.len() {
            assert!(Datagram::parse(&bytes[..len]).is_err(), "length {len}");
        }
    }

    const SESSION: u64 = 0x0123_4567_89AB_CDEF;

    #[test]
    fn data_known_answer() {
        let header = DataHeader {
            seq: 0x1122_3344_5566_7788,
            timestamp_us: 0xA1A2_A3A4,
            receiver: 0xB1B2_B3B4,
            total_len: 0x0000_0001_0000_0002,
            window: 0x0304,
        };
        let packet = [0xEE, 0xDD];
        let mut buf = [0u8; 64];
        write_data_prefix(&mut buf, SESSION, &header);
        buf[HEADER_LEN + DATA_PREFIX_LEN..][..2].copy_from_slice(&packet);
        let n = seal_data(&mut buf, packet.len());
        let expected = hex("5347 02 01 efcdab8967452301
             8877665544332211 a4a3a2a1 b4b3b2b1 0200000001000000 0403
             eedd
             69d6ab1f");
        assert_eq!(buf[..n], expected[..]);
        assert_eq!(n, data_len(2));
        let d = Datagram::parse(&expected).unwrap();
        assert_eq!(d.session, SESSION);
        assert_eq!(
            d.body,
            Body::Data {
                header,
                packet: &packet
            }
        );
        assert_fragile(&expected);
    }

    #[test]
    fn feedback_known_answer() {
        let feedback = Feedback {
            receiver: 0xB1B2_B3B4,
            echo_seq: 0x1122_3344_5566_7788,
            echo_timestamp_us: 0xA1A2_A3A4,
            echo_delay_us: 0x0000_0105,
            received: 0x0000_0000_0102_0304,
            received_at_us: 0x0000_0010_2030_4050,
            window: 0x0201,
            base: 0x0000_0007,
            ranks: &[32, 5, 0],
        };
        let mut buf = [0u8; 128];
        let n = write_feedback(&mut buf, SESSION, &feedback).unwrap();
        let expected = hex("5347 02 02 efcdab8967452301
             b4b3b2b1 8877665544332211 a4a3a2a1 05010000 0403020100000000
             5040302010000000 0102 07000000 0300 200500
             5cd3b1bb");
        assert_eq!(buf[..n], expected[..]);
        assert_eq!(Datagram::parse(&expected).unwrap().body, Body::Feedback(feedback));
        assert_fragile(&expected);
        // A count that disagrees with the length is refused even when sealed.
        let mut lying = expected[..n - TAG_LEN].to_vec();
        lying[HEADER_LEN + FEEDBACK_PREFIX_LEN - 2] = 4;
        lying.extend_from_slice(&[0; TAG_LEN]);
        let len = lying.len();
        seal(&mut lying, len - TAG_LEN);
        assert_eq!(Datagram::parse(&lying).unwrap_err().kind, DatagramErrorKind::Length);
    }

    #[test]
    fn done_known_answer() {
        let mut digest = [0u8; 32];
        digest.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8 + 1);
        let mut buf = [0u8; 128];
        let n = write_done(&mut buf, SESSION, 0xB1B2_B3B4, 0x0102_0304_0506, &digest).unwrap();
        let expected = hex("5347 02 03 efcdab8967452301
             b4b3b2b1 0605040302010000
             0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20
             6cbf0c2c");
        assert_eq!(buf[..n], expected[..]);
        assert_eq!(
            Datagram::parse(&expected).unwrap().body,
            Body::Done {
                receiver: 0xB1B2_B3B4,
                total_len: 0x0102_0304_0506,
                digest
            }
        );
        assert_fragile(&expected);
    }

    #[test]
    fn close_known_answer_and_every_reason_round_trips() {
        let mut buf = [0u8; 64];
        let n = write_close(&mut buf, SESSION, 0xB1B2_B3B4, CloseReason::Restarted).unwrap();
        let expected = hex("5347 02 04 efcdab8967452301 b4b3b2b1 01 c29588ef");
        assert_eq!(buf[..n], expected[..]);
        assert_fragile(&expected);
        for code in 0..=255 {
            let reason = CloseReason::from_code(code);
            assert_eq!(reason.code(), code);
            let n = write_close(&mut buf, 9, 3, reason).unwrap();
            assert_eq!(
                Datagram::parse(&buf[..n]).unwrap().body,
                Body::Close { receiver: 3, reason }
            );
        }
    }

    #[test]
    fn version_1_and_unknown_kinds_are_named() {
        let mut buf = [0u8; 64];
        let n = write_close(&mut buf, SESSION, 1, CloseReason::Cancelled).unwrap();
        let mut v1 = buf[..n].to_vec();
        v1[2] = 1;
        assert_eq!(
            Datagram::parse(&v1).unwrap_err(),
            DatagramError {
                kind: DatagramErrorKind::UnsupportedVersion(1),
                offset: 2
            }
        );
        let mut kind = buf[..n].to_vec();
        kind[3] = 9;
        seal(&mut kind, n - TAG_LEN);
        assert_eq!(
            Datagram::parse(&kind).unwrap_err().kind,
            DatagramErrorKind::UnknownKind(9)
        );
    }

    #[test]
    fn writers_refuse_short_buffers() {
        let mut small = [0u8; 20];
        assert!(write_feedback(&mut small, 1, &Feedback::default()).is_none());
        assert!(write_done(&mut small, 1, 1, 1, &[0; 32]).is_none());
        assert!(write_close(&mut small, 1, 1, CloseReason::Cancelled).is_none());
    }
}
