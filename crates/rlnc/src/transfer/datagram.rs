//! The transfer wire format: every datagram carries the session id and ends
//! with a tag, so stray or corrupted datagrams are recognised and dropped.
//!
//! Layout (integers little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 2 | magic `"SG"` |
//! | 2 | 1 | version = 1 |
//! | 3 | 1 | kind: 1 data, 2 feedback, 3 done |
//! | 4 | 8 | session id |
//! | 12 | … | body (below) |
//! | end − 4 | 4 | tag: CRC-32C of every preceding byte |
//!
//! Bodies:
//! - data: `seq: u32`, `total_len: u64` (`u64::MAX` while unknown),
//!   `window: u16`, then one codec [`Packet`](crate::Packet) to the tag.
//! - feedback: `echo_seq: u32` (highest data seq seen), `received: u64`
//!   (data datagrams received), `base: u32` (first generation not yet
//!   delivered), `count: u16`, then `count` ranks of generations
//!   `base..base + count`.
//! - done: `total_len: u64`, `digest: [u8; 32]` (SHA-256 of what was written).
//!
//! The tag binds the session id to the body: a datagram of another session,
//! or one whose session field was altered, is rejected. It protects against
//! accidents (stray senders, corruption), not against an attacker.

use crate::checksum::crc32c;

/// Datagram magic.
pub const MAGIC: [u8; 2] = *b"SG";
/// Datagram format version.
pub const VERSION: u8 = 1;
/// Bytes before the body.
pub const HEADER_LEN: usize = 12;
/// Trailing tag bytes.
pub const TAG_LEN: usize = 4;
/// Data body bytes before the codec packet.
pub const DATA_PREFIX_LEN: usize = 14;
/// Feedback body bytes before the ranks.
pub const FEEDBACK_PREFIX_LEN: usize = 18;
/// Done body bytes.
pub const DONE_BODY_LEN: usize = 40;
/// `total_len` while the sender has not reached the end of its input.
pub const UNKNOWN_LEN: u64 = u64::MAX;

const KIND_DATA: u8 = 1;
const KIND_FEEDBACK: u8 = 2;
const KIND_DONE: u8 = 3;

/// One parsed datagram, borrowing its variable parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// Session id.
    pub session: u64,
    /// What it says.
    pub body: Body<'a>,
}

/// The kinds of datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// Sender → receiver: one coded packet.
    Data {
        /// Sender's datagram sequence number.
        seq: u32,
        /// Total object length, [`UNKNOWN_LEN`] until known.
        total_len: u64,
        /// Generations the sender keeps in flight.
        window: u16,
        /// The codec packet bytes (parse with [`Packet::parse`](crate::Packet::parse)).
        packet: &'a [u8],
    },
    /// Receiver → sender: decoding progress.
    Feedback {
        /// Highest data sequence number received.
        echo_seq: u32,
        /// Data datagrams received so far.
        received: u64,
        /// First generation not yet delivered; all below are decoded.
        base: u32,
        /// Ranks of generations `base..`.
        ranks: &'a [u8],
    },
    /// Receiver → sender: everything decoded and written.
    Done {
        /// Bytes written.
        total_len: u64,
        /// SHA-256 of the bytes written.
        digest: [u8; 32],
    },
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
    /// Unknown version.
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

fn le<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
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
        if u32::from_le_bytes(le(bytes, tag_at)) != crc32c(&bytes[..tag_at]) {
            return Err(error(K::Tag, tag_at));
        }
        let session = u64::from_le_bytes(le(bytes, 4));
        let body = &bytes[HEADER_LEN..tag_at];
        let need = |n: usize| {
            if body.len() < n {
                Err(error(K::Truncated, HEADER_LEN + body.len()))
            } else {
                Ok(())
            }
        };
        let body = match bytes[3] {
            KIND_DATA => {
                need(DATA_PREFIX_LEN)?;
                Body::Data {
                    seq: u32::from_le_bytes(le(body, 0)),
                    total_len: u64::from_le_bytes(le(body, 4)),
                    window: u16::from_le_bytes(le(body, 12)),
                    packet: &body[DATA_PREFIX_LEN..],
                }
            }
            KIND_FEEDBACK => {
                need(FEEDBACK_PREFIX_LEN)?;
                let count = usize::from(u16::from_le_bytes(le(body, 16)));
                if body.len() != FEEDBACK_PREFIX_LEN + count {
                    return Err(error(K::Length, HEADER_LEN + 16));
                }
                Body::Feedback {
                    echo_seq: u32::from_le_bytes(le(body, 0)),
                    received: u64::from_le_bytes(le(body, 4)),
                    base: u32::from_le_bytes(le(body, 12)),
                    ranks: &body[FEEDBACK_PREFIX_LEN..],
                }
            }
            KIND_DONE => {
                if body.len() != DONE_BODY_LEN {
                    return Err(error(K::Length, HEADER_LEN));
                }
                Body::Done {
                    total_len: u64::from_le_bytes(le(body, 0)),
                    digest: le(body, 8),
                }
            }
            kind => return Err(error(K::UnknownKind(kind), 3)),
        };
        Ok(Datagram { session, body })
    }
}

/// Writes the header of a `kind` datagram; the body follows at [`HEADER_LEN`].
fn write_header(out: &mut [u8], kind: u8, session: u64) {
    out[..2].copy_from_slice(&MAGIC);
    out[2] = VERSION;
    out[3] = kind;
    out[4..12].copy_from_slice(&session.to_le_bytes());
}

/// Appends the tag after `len` bytes; returns the datagram length.
fn seal(out: &mut [u8], len: usize) -> usize {
    let tag = crc32c(&out[..len]);
    out[len..len + TAG_LEN].copy_from_slice(&tag.to_le_bytes());
    len + TAG_LEN
}

/// Writes a data datagram's header and prefix; the caller writes the codec
/// packet at `HEADER_LEN + DATA_PREFIX_LEN` and then calls [`seal_data`].
pub(crate) fn write_data_prefix(out: &mut [u8], session: u64, seq: u32, total_len: u64, window: u16) {
    write_header(out, KIND_DATA, session);
    let body = &mut out[HEADER_LEN..];
    body[..4].copy_from_slice(&seq.to_le_bytes());
    body[4..12].copy_from_slice(&total_len.to_le_bytes());
    body[12..14].copy_from_slice(&window.to_le_bytes());
}

/// Seals a data datagram whose packet is `packet_len` bytes.
pub(crate) fn seal_data(out: &mut [u8], packet_len: usize) -> usize {
    seal(out, HEADER_LEN + DATA_PREFIX_LEN + packet_len)
}

/// Bytes a data datagram around a `packet_len`-byte packet takes.
pub const fn data_len(packet_len: usize) -> usize {
    HEADER_LEN + DATA_PREFIX_LEN + packet_len + TAG_LEN
}

/// Writes a feedback datagram with `ranks`; returns its length, `None` if
/// `out` is too small.
pub fn write_feedback(
    out: &mut [u8],
    session: u64,
    echo_seq: u32,
    received: u64,
    base: u32,
    ranks: &[u8],
) -> Option<usize> {
    let count = u16::try_from(ranks.len()).ok()?;
    let len = HEADER_LEN + FEEDBACK_PREFIX_LEN + ranks.len();
    if out.len() < len + TAG_LEN {
        return None;
    }
    write_header(out, KIND_FEEDBACK, session);
    let body = &mut out[HEADER_LEN..];
    body[..4].copy_from_slice(&echo_seq.to_le_bytes());
    body[4..12].copy_from_slice(&received.to_le_bytes());
    body[12..16].copy_from_slice(&base.to_le_bytes());
    body[16..18].copy_from_slice(&count.to_le_bytes());
    body[18..18 + ranks.len()].copy_from_slice(ranks);
    Some(seal(out, len))
}

/// Writes a done datagram; returns its length, `None` if `out` is too small.
pub fn write_done(out: &mut [u8], session: u64, total_len: u64, digest: &[u8; 32]) -> Option<usize> {
    let len = HEADER_LEN + DONE_BODY_LEN;
    if out.len() < len + TAG_LEN {
        return None;
    }
    write_header(out, KIND_DONE, session);
    out[HEADER_LEN..HEADER_LEN + 8].copy_from_slice(&total_len.to_le_bytes());
    out[HEADER_LEN + 8..len].copy_from_slice(digest);
    Some(seal(out, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_and_done_round_trip_and_any_bit_flip_is_rejected() {
        let mut buf = [0u8; 128];
        let n = write_feedback(&mut buf, 7, 99, 1000, 3, &[16, 4, 0]).unwrap();
        let d = Datagram::parse(&buf[..n]).unwrap();
        assert_eq!(d.session, 7);
        assert_eq!(
            d.body,
            Body::Feedback {
                echo_seq: 99,
                received: 1000,
                base: 3,
                ranks: &[16, 4, 0]
            }
        );
        for bit in 0..n * 8 {
            let mut bad = buf;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(Datagram::parse(&bad[..n]).is_err(), "bit {bit}");
        }
        let n = write_done(&mut buf, 8, 42, &[9; 32]).unwrap();
        let d = Datagram::parse(&buf[..n]).unwrap();
        assert_eq!(
            d.body,
            Body::Done {
                total_len: 42,
                digest: [9; 32]
            }
        );
        for len in 0..n {
            assert!(Datagram::parse(&buf[..len]).is_err());
        }
    }
}
