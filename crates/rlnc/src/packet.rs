//! The wire format. Parsing borrows: a [`Packet`] is a view over the
//! datagram bytes, so the payload is never copied on receive.
//!
//! Version 1 layout (integers little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | version = 1 |
//! | 1 | 1 | flags: bit 0 `EXPLICIT`, bit 1 `SYSTEMATIC`, others zero |
//! | 2 | 4 | generation id |
//! | 6 | 1 | K, symbols per generation (1..=255) |
//! | 7 | 2 | S, symbol size in bytes (1..=9000) |
//! | 9 | 4 | true data length of the generation (≤ K·S) |
//! | 13 | 8 | coefficient seed; symbol index if `SYSTEMATIC`; 0 if `EXPLICIT` |
//! | 21 | 2 | payload length (= S) |
//! | 23 | K | coefficient vector, only if `EXPLICIT` |
//! | … | S | payload |
//! | … | 4 | CRC-32C of all preceding bytes |
//!
//! Legacy layout (version byte 0), from before packets carried protocol
//! metadata: `0x00, generation: u32, index: u16, payload`. K, S and the
//! mode come from a configured [`LegacyFallback`]; without one such packets
//! are rejected rather than guessed at. Legacy packets carry no checksum
//! and no true length (the generation is taken as full).

use crate::checksum::crc32c;
use crate::coefficients::{expand, packet_seed};

/// Current wire version.
pub const VERSION: u8 = 1;
/// Version byte of legacy packets.
pub const LEGACY_VERSION: u8 = 0;
/// Bytes before the optional coefficient vector.
pub const HEADER_LEN: usize = 23;
/// Trailing checksum bytes.
pub const CHECKSUM_LEN: usize = 4;
/// Largest symbol size: a 9000-byte jumbo frame.
pub const MAX_SYMBOL_SIZE: u16 = 9000;

const LEGACY_HEADER_LEN: usize = 7;
const FLAG_EXPLICIT: u8 = 1;
const FLAG_SYSTEMATIC: u8 = 2;

/// How an encoder chooses packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "std", derive(serde::Serialize))]
#[cfg_attr(feature = "std", serde(rename_all = "lowercase"))]
pub enum Mode {
    /// Indices 0..K are the originals, then coded repair packets.
    Systematic,
    /// Every packet is a random combination ("heavy math").
    Random,
}

/// Which combination of the generation's symbols a payload holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coefficients<'a> {
    /// The original symbol at this index.
    Systematic(u8),
    /// Regenerated from this seed by [`crate::coefficients::expand`].
    Seeded(u64),
    /// Sent in full (recoded packets), K bytes.
    Explicit(&'a [u8]),
}

/// One coded packet, borrowed from the bytes it was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Wire version it was parsed from (`LEGACY_VERSION` or `VERSION`).
    pub version: u8,
    /// Generation id.
    pub generation: u32,
    /// Symbols per generation.
    pub k: u8,
    /// Symbol size in bytes.
    pub symbol_size: u16,
    /// Bytes of real data in the generation; the rest is zero padding.
    pub data_len: u32,
    /// The combination the payload holds.
    pub coefficients: Coefficients<'a>,
    /// S coded bytes.
    pub payload: &'a [u8],
}

/// K, S and mode assumed for legacy packets, which do not carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LegacyFallback {
    /// Symbols per generation.
    pub k: u8,
    /// Symbol size.
    pub symbol_size: u16,
    /// Mode the legacy sender used.
    pub mode: Mode,
    /// Session seed the legacy sender derived coefficients from.
    pub session: u64,
}

/// Parser configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Accept legacy packets with these parameters; `None` rejects them.
    pub legacy: Option<LegacyFallback>,
}

/// Why bytes are not a packet, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed packet at byte {offset}: {kind}")]
pub struct ParseError {
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// Byte offset of the offending field.
    pub offset: usize,
}

/// The kinds of malformed packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The packet ends before a field does.
    #[error("truncated: {needed} bytes needed")]
    Truncated {
        /// Bytes the packet would need.
        needed: usize,
    },
    /// Unknown version byte.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u8),
    /// Reserved flag bits set, or `EXPLICIT` with `SYSTEMATIC`.
    #[error("invalid flags {0:#04x}")]
    InvalidFlags(u8),
    /// K = 0.
    #[error("K must be at least 1")]
    ZeroK,
    /// S = 0 or S > 9000.
    #[error("symbol size {0} outside 1..=9000")]
    SymbolSizeOutOfRange(u16),
    /// True length longer than the generation.
    #[error("data length {0} exceeds K·S")]
    DataLenTooLarge(u32),
    /// Systematic index ≥ K, or a non-zero seed with `EXPLICIT`.
    #[error("coefficient field {0} invalid")]
    BadCoefficientField(u64),
    /// Payload length differs from S.
    #[error("payload length {found}, expected {expected}")]
    PayloadLen {
        /// S.
        expected: usize,
        /// Declared or actual.
        found: usize,
    },
    /// Bytes after the checksum.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
    /// Checksum does not match.
    #[error("checksum {found:#010x}, computed {computed:#010x}")]
    Checksum {
        /// From the packet.
        found: u32,
        /// Over the received bytes.
        computed: u32,
    },
    /// A legacy packet arrived and no fallback is configured.
    #[error("legacy packet but no legacy fallback configured")]
    LegacyNotConfigured,
}

/// Why a packet could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The output buffer is too small.
    #[error("buffer of {have} bytes, packet needs {need}")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The packet's fields are inconsistent; the parser would reject it.
    #[error("invalid packet: {0}")]
    Invalid(ParseErrorKind),
}

fn err(kind: ParseErrorKind, offset: usize) -> ParseError {
    ParseError { kind, offset }
}

/// Bounds-checked little-endian reads that report the field's offset.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&self, at: usize, n: usize) -> Result<&'a [u8], ParseError> {
        self.bytes
            .get(at..at + n)
            .ok_or(err(ParseErrorKind::Truncated { needed: at + n }, at))
    }
    fn u8(&self, at: usize) -> Result<u8, ParseError> {
        Ok(self.take(at, 1)?[0])
    }
    fn u16(&self, at: usize) -> Result<u16, ParseError> {
        let b = self.take(at, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&self, at: usize) -> Result<u32, ParseError> {
        let b = self.take(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&self, at: usize) -> Result<u64, ParseError> {
        let b = self.take(at, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

/// The checks shared by parsing and writing; offsets are v1 field offsets.
fn check_fields(k: u8, symbol_size: u16, data_len: u32, coefficients: &Coefficients<'_>) -> Result<(), ParseError> {
    if k == 0 {
        return Err(err(ParseErrorKind::ZeroK, 6));
    }
    if symbol_size == 0 || symbol_size > MAX_SYMBOL_SIZE {
        return Err(err(ParseErrorKind::SymbolSizeOutOfRange(symbol_size), 7));
    }
    if u64::from(data_len) > u64::from(k) * u64::from(symbol_size) {
        return Err(err(ParseErrorKind::DataLenTooLarge(data_len), 9));
    }
    match *coefficients {
        Coefficients::Systematic(i) if i >= k => Err(err(ParseErrorKind::BadCoefficientField(i.into()), 13)),
        Coefficients::Explicit(c) if c.len() != usize::from(k) => Err(err(
            ParseErrorKind::Truncated {
                needed: HEADER_LEN + usize::from(k),
            },
            HEADER_LEN,
        )),
        _ => Ok(()),
    }
}

impl<'a> Packet<'a> {
    /// Parse one packet occupying all of `bytes`. Never panics; every
    /// malformation is a [`ParseError`] naming the offending offset.
    pub fn parse(bytes: &'a [u8], options: &ParseOptions) -> Result<Packet<'a>, ParseError> {
        let r = Reader { bytes };
        match r.u8(0)? {
            VERSION => Self::parse_v1(&r),
            LEGACY_VERSION => Self::parse_legacy(&r, options),
            v => Err(err(ParseErrorKind::UnsupportedVersion(v), 0)),
        }
    }

    fn parse_v1(r: &Reader<'a>) -> Result<Packet<'a>, ParseError> {
        let flags = r.u8(1)?;
        if flags & !(FLAG_EXPLICIT | FLAG_SYSTEMATIC) != 0 || flags == FLAG_EXPLICIT | FLAG_SYSTEMATIC {
            return Err(err(ParseErrorKind::InvalidFlags(flags), 1));
        }
        let generation = r.u32(2)?;
        let k = r.u8(6)?;
        let symbol_size = r.u16(7)?;
        let data_len = r.u32(9)?;
        let field = r.u64(13)?;
        let payload_len = usize::from(r.u16(21)?);
        let mut at = HEADER_LEN;
        let coefficients = if flags & FLAG_EXPLICIT != 0 {
            if field != 0 {
                return Err(err(ParseErrorKind::BadCoefficientField(field), 13));
            }
            let c = r.take(at, usize::from(k))?;
            at += c.len();
            Coefficients::Explicit(c)
        } else if flags & FLAG_SYSTEMATIC != 0 {
            match u8::try_from(field) {
                Ok(i) => Coefficients::Systematic(i),
                Err(_) => return Err(err(ParseErrorKind::BadCoefficientField(field), 13)),
            }
        } else {
            Coefficients::Seeded(field)
        };
        check_fields(k, symbol_size, data_len, &coefficients)?;
        if payload_len != usize::from(symbol_size) {
            return Err(err(
                ParseErrorKind::PayloadLen {
                    expected: symbol_size.into(),
                    found: payload_len,
                },
                21,
            ));
        }
        let payload = r.take(at, payload_len)?;
        at += payload_len;
        let found = r.u32(at)?;
        let end = at + CHECKSUM_LEN;
        if r.bytes.len() > end {
            return Err(err(ParseErrorKind::TrailingBytes(r.bytes.len() - end), end));
        }
        let computed = crc32c(&r.bytes[..at]);
        if found != computed {
            return Err(err(ParseErrorKind::Checksum { found, computed }, at));
        }
        Ok(Packet {
            version: VERSION,
            generation,
            k,
            symbol_size,
            data_len,
            coefficients,
            payload,
        })
    }

    fn parse_legacy(r: &Reader<'a>, options: &ParseOptions) -> Result<Packet<'a>, ParseError> {
        let Some(fb) = options.legacy else {
            return Err(err(ParseErrorKind::LegacyNotConfigured, 0));
        };
        let generation = r.u32(1)?;
        let index = r.u16(5)?;
        let s = usize::from(fb.symbol_size);
        let found = r.bytes.len().saturating_sub(LEGACY_HEADER_LEN);
        if found != s {
            let kind = ParseErrorKind::PayloadLen { expected: s, found };
            return Err(err(kind, LEGACY_HEADER_LEN));
        }
        let coefficients = match fb.mode {
            Mode::Systematic if index < u16::from(fb.k) => Coefficients::Systematic(index as u8),
            _ => Coefficients::Seeded(packet_seed(fb.session, generation, index.into())),
        };
        let data_len = u32::from(fb.k) * u32::from(fb.symbol_size);
        // Offsets of v1 fields mean little in a legacy packet; report the
        // index field, the only per-packet value the fallback is applied to.
        check_fields(fb.k, fb.symbol_size, data_len, &coefficients).map_err(|e| err(e.kind, 5))?;
        Ok(Packet {
            version: LEGACY_VERSION,
            generation,
            k: fb.k,
            symbol_size: fb.symbol_size,
            data_len,
            coefficients,
            payload: &r.bytes[LEGACY_HEADER_LEN..],
        })
    }

    /// Bytes [`Packet::write_to`] produces (always the current version).
    pub fn wire_len(&self) -> usize {
        wire_len(
            self.k,
            self.symbol_size,
            matches!(self.coefficients, Coefficients::Explicit(_)),
        )
    }

    /// Serialize as the current version into `out`; returns bytes written.
    pub fn write_to(&self, out: &mut [u8]) -> Result<usize, WriteError> {
        check_fields(self.k, self.symbol_size, self.data_len, &self.coefficients)
            .map_err(|e| WriteError::Invalid(e.kind))?;
        if self.payload.len() != usize::from(self.symbol_size) {
            return Err(WriteError::Invalid(ParseErrorKind::PayloadLen {
                expected: self.symbol_size.into(),
                found: self.payload.len(),
            }));
        }
        let need = self.wire_len();
        let have = out.len();
        let out = out.get_mut(..need).ok_or(WriteError::BufferTooSmall { need, have })?;
        let at = write_header(
            out,
            self.generation,
            self.k,
            self.symbol_size,
            self.data_len,
            &self.coefficients,
        );
        out[at..at + self.payload.len()].copy_from_slice(self.payload);
        Ok(seal(out, at + self.payload.len()))
    }

    /// Write this packet's K coefficients into `out[..K]`.
    ///
    /// # Panics
    /// If `out` is shorter than K.
    pub fn coefficient_vector(&self, out: &mut [u8]) {
        let out = &mut out[..usize::from(self.k)];
        match self.coefficients {
            Coefficients::Systematic(i) => {
                out.fill(0);
                out[usize::from(i)] = 1;
            }
            Coefficients::Seeded(seed) => expand(seed, out),
            Coefficients::Explicit(c) => out.copy_from_slice(c),
        }
    }
}

/// Wire length of a v1 packet.
pub(crate) const fn wire_len(k: u8, symbol_size: u16, explicit: bool) -> usize {
    HEADER_LEN + if explicit { k as usize } else { 0 } + symbol_size as usize + CHECKSUM_LEN
}

/// Write the v1 header (and an explicit vector) into `out`; returns where the
/// payload starts. `out` must hold at least the header and vector; fields
/// must have passed `check_fields`.
pub(crate) fn write_header(
    out: &mut [u8],
    generation: u32,
    k: u8,
    symbol_size: u16,
    data_len: u32,
    coefficients: &Coefficients<'_>,
) -> usize {
    let (flags, field) = match *coefficients {
        Coefficients::Systematic(i) => (FLAG_SYSTEMATIC, u64::from(i)),
        Coefficients::Seeded(s) => (0, s),
        Coefficients::Explicit(_) => (FLAG_EXPLICIT, 0),
    };
    out[0] = VERSION;
    out[1] = flags;
    out[2..6].copy_from_slice(&generation.to_le_bytes());
    out[6] = k;
    out[7..9].copy_from_slice(&symbol_size.to_le_bytes());
    out[9..13].copy_from_slice(&data_len.to_le_bytes());
    out[13..21].copy_from_slice(&field.to_le_bytes());
    out[21..23].copy_from_slice(&symbol_size.to_le_bytes());
    match *coefficients {
        Coefficients::Explicit(c) => {
            out[HEADER_LEN..HEADER_LEN + c.len()].copy_from_slice(c);
            HEADER_LEN + c.len()
        }
        _ => HEADER_LEN,
    }
}

/// Append the checksum over `out[..len]`; returns the packet length.
pub(crate) fn seal(out: &mut [u8], len: usize) -> usize {
    let crc = crc32c(&out[..len]);
    out[len..len + CHECKSUM_LEN].copy_from_slice(&crc.to_le_bytes());
    len + CHECKSUM_LEN
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn sample(coefficients: Coefficients<'_>, payload: &[u8]) -> Vec<u8> {
        let p = Packet {
            version: VERSION,
            generation: 7,
            k: 4,
            symbol_size: payload.len() as u16,
            data_len: 10,
            coefficients,
            payload,
        };
        let mut out = vec![0; p.wire_len()];
        assert_eq!(p.write_to(&mut out), Ok(out.len()));
        out
    }

    /// Known-answer packets, written out byte by byte from the layout table in the module docs (the CRC-32C
    /// computed apart from this crate): a change of field order, width or byte order fails here even when
    /// writer and parser change together and still round-trip.
    #[test]
    fn known_answer_packets_pin_the_v1_layout() {
        #[rustfmt::skip]
        let seeded: [u8; 32] = [
            0x01, 0x00,                                     // version 1, flags: seeded
            0x01, 0x02, 0x03, 0x04,                         // generation 0x0403_0201
            0x04,                                           // K = 4
            0x05, 0x00,                                     // S = 5
            0x0A, 0x00, 0x00, 0x00,                         // data length 10
            0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // seed 0x1122_3344_5566_7788
            0x05, 0x00,                                     // payload length 5
            0x01, 0x02, 0x03, 0x04, 0x05,                   // payload
            0x59, 0x1A, 0xB0, 0x09,                         // CRC-32C 0x09B0_1A59
        ];
        #[rustfmt::skip]
        let systematic: [u8; 32] = [
            0x01, 0x02, 0x01, 0x02, 0x03, 0x04, 0x04, 0x05, 0x00, 0x0A, 0x00, 0x00, 0x00,
            0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // symbol index 3
            0x05, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
            0x94, 0x89, 0x2F, 0x12,
        ];
        #[rustfmt::skip]
        let explicit: [u8; 36] = [
            0x01, 0x01, 0x01, 0x02, 0x03, 0x04, 0x04, 0x05, 0x00, 0x0A, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // no seed
            0x05, 0x00,
            0x09, 0x00, 0x01, 0xFF,                         // the K coefficients
            0x01, 0x02, 0x03, 0x04, 0x05,
            0x66, 0xE5, 0x5D, 0x87,
        ];
        let payload = [1, 2, 3, 4, 5];
        let cases: [(&[u8], Coefficients<'_>); 3] = [
            (&seeded, Coefficients::Seeded(0x1122_3344_5566_7788)),
            (&systematic, Coefficients::Systematic(3)),
            (&explicit, Coefficients::Explicit(&[9, 0, 1, 255])),
        ];
        for (bytes, coefficients) in cases {
            let packet = Packet {
                version: VERSION,
                generation: 0x0403_0201,
                k: 4,
                symbol_size: 5,
                data_len: 10,
                coefficients,
                payload: &payload,
            };
            let mut out = vec![0; packet.wire_len()];
            assert_eq!(packet.write_to(&mut out), Ok(bytes.len()));
            assert_eq!(out, bytes, "{coefficients:?} written");
            assert_eq!(
                Packet::parse(bytes, &ParseOptions::default()),
                Ok(packet),
                "{coefficients:?} parsed"
            );
        }
    }

    /// Known-answer legacy packets: `0x00`, generation (u32 LE), index (u16 LE), payload.
    #[test]
    fn known_answer_legacy_packets() {
        let options = ParseOptions {
            legacy: Some(LegacyFallback {
                k: 4,
                symbol_size: 3,
                mode: Mode::Systematic,
                session: 0x0123_4567_89AB_CDEF,
            }),
        };
        let original = [0x00, 0x01, 0x02, 0x03, 0x04, 0x02, 0x00, 0xAA, 0xBB, 0xCC];
        let packet = Packet::parse(&original, &options).unwrap();
        assert_eq!(
            (packet.version, packet.generation, packet.coefficients, packet.payload),
            (
                LEGACY_VERSION,
                0x0403_0201,
                Coefficients::Systematic(2),
                &[0xAA, 0xBB, 0xCC][..]
            )
        );
        assert_eq!(packet.data_len, 12, "a legacy generation is taken as full");
        // Index 0x0105 = 261 is past K: a repair packet, its seed derived from the session.
        let repair = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x01, 0xAA, 0xBB, 0xCC];
        let packet = Packet::parse(&repair, &options).unwrap();
        assert_eq!(
            packet.coefficients,
            Coefficients::Seeded(packet_seed(0x0123_4567_89AB_CDEF, 0x0403_0201, 261))
        );
    }

    #[test]
    fn round_trips_every_coefficient_kind() {
        let payload = [1, 2, 3, 4, 5];
        for c in [
            Coefficients::Systematic(3),
            Coefficients::Seeded(0xDEAD_BEEF),
            Coefficients::Explicit(&[9, 0, 1, 255]),
        ] {
            let bytes = sample(c, &payload);
            let p = Packet::parse(&bytes, &ParseOptions::default()).unwrap();
            assert_eq!(p.coefficients, c);
            assert_eq!(p.payload, payload);
            assert_eq!((p.generation, p.k, p.symbol_size, p.data_len), (7, 4, 5, 10));
        }
    }

    #[test]
    fn corruption_is_caught_by_the_checksum() {
        let mut bytes = sample(Coefficients::Seeded(1), &[0; 8]);
        bytes[HEADER_LEN + 3] ^= 0x10;
        let e = Packet::parse(&bytes, &ParseOptions::default()).unwrap_err();
        assert!(matches!(e.kind, ParseErrorKind::Checksum { .. }), "{e}");
        assert_eq!(e.offset, HEADER_LEN + 8);
    }

    #[test]
    fn every_truncation_is_a_typed_error() {
        let bytes = sample(Coefficients::Explicit(&[1, 2, 3, 4]), &[7; 6]);
        for n in 0..bytes.len() {
            let e = Packet::parse(&bytes[..n], &ParseOptions::default()).unwrap_err();
            assert!(matches!(e.kind, ParseErrorKind::Truncated { .. }), "{n}: {e}");
        }
    }

    #[test]
    fn legacy_packets_need_a_fallback_and_then_use_it() {
        let mut legacy = vec![LEGACY_VERSION, 3, 0, 0, 0, 2, 0];
        legacy.extend_from_slice(&[0xAA; 6]);
        let e = Packet::parse(&legacy, &ParseOptions::default()).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::LegacyNotConfigured);

        let fallback = LegacyFallback {
            k: 4,
            symbol_size: 6,
            mode: Mode::Systematic,
            session: 9,
        };
        let opts = ParseOptions { legacy: Some(fallback) };
        let p = Packet::parse(&legacy, &opts).unwrap();
        assert_eq!(p.version, LEGACY_VERSION);
        assert_eq!((p.generation, p.k, p.symbol_size, p.data_len), (3, 4, 6, 24));
        assert_eq!(p.coefficients, Coefficients::Systematic(2));

        legacy[5] = 4; // index ≥ K: a repair packet with a derived seed
        let p = Packet::parse(&legacy, &opts).unwrap();
        assert_eq!(p.coefficients, Coefficients::Seeded(packet_seed(9, 3, 4)));

        legacy.push(0); // wrong payload length for the fallback S
        let e = Packet::parse(&legacy, &opts).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::PayloadLen { expected: 6, found: 7 });
    }

    #[test]
    fn invalid_fields_are_rejected_at_their_offset() {
        let good = sample(Coefficients::Systematic(1), &[1; 4]);
        let cases: [(usize, u8, usize); 4] = [(1, 0x80, 1), (6, 0, 6), (13, 9, 13), (0, 2, 0)];
        for (at, value, offset) in cases {
            let mut b = good.clone();
            b[at] = value;
            let e = Packet::parse(&b, &ParseOptions::default()).unwrap_err();
            assert_eq!(e.offset, offset, "{e}");
        }
        let mut long = good.clone();
        long.push(0);
        let e = Packet::parse(&long, &ParseOptions::default()).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::TrailingBytes(1));
    }

    #[test]
    fn write_to_reports_small_buffers_and_invalid_packets() {
        let p = Packet {
            version: VERSION,
            generation: 0,
            k: 2,
            symbol_size: 3,
            data_len: 6,
            coefficients: Coefficients::Systematic(0),
            payload: &[1, 2, 3],
        };
        let mut small = [0u8; 10];
        assert!(matches!(p.write_to(&mut small), Err(WriteError::BufferTooSmall { .. })));
        let bad = Packet { data_len: 7, ..p };
        assert!(matches!(bad.write_to(&mut [0; 64]), Err(WriteError::Invalid(_))));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), legacy in any::<bool>()) {
            let opts = ParseOptions {
                legacy: legacy.then_some(LegacyFallback { k: 3, symbol_size: 5, mode: Mode::Random, session: 1 }),
            };
            if let Ok(p) = Packet::parse(&bytes, &opts) {
                let mut out = vec![0; p.wire_len()];
                let n = p.write_to(&mut out).unwrap();
                let again = Packet::parse(&out[..n], &opts).unwrap();
                prop_assert_eq!(Packet { version: VERSION, ..p }, again);
            }
        }

        #[test]
        fn valid_packets_round_trip(
            generation in any::<u32>(), k in 1u8..=255, s in 1u16..=300, fill in any::<u8>(),
            kind in 0u8..3, seed in any::<u64>(), explicit in proptest::collection::vec(any::<u8>(), 255),
        ) {
            let payload = vec![fill; usize::from(s)];
            let coefficients = match kind {
                0 => Coefficients::Systematic((seed % u64::from(k)) as u8),
                1 => Coefficients::Seeded(seed),
                _ => Coefficients::Explicit(&explicit[..usize::from(k)]),
            };
            let data_len = (seed % (u64::from(k) * u64::from(s) + 1)) as u32;
            let p = Packet { version: VERSION, generation, k, symbol_size: s, data_len, coefficients, payload: &payload };
            let mut out = vec![0; p.wire_len()];
            let n = p.write_to(&mut out).unwrap();
            prop_assert_eq!(n, out.len());
            prop_assert_eq!(Packet::parse(&out, &ParseOptions::default()), Ok(p));
        }
    }
}
