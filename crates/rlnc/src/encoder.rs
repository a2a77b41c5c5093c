//! Generation encoder. Stateless per packet: `write_packet(g, i)` is a pure
//! function of the data, the config and `(g, i)`, so any worker can serve
//! "n more repair packets for generation g" (BOOST) at any time.

use alloc::borrow::Cow;
use alloc::vec;
use core::ops::Range;

use crate::coefficients::{expand, packet_seed};
use crate::gf;
use crate::packet::{Coefficients, HEADER_LEN, MAX_SYMBOL_SIZE, Mode, WriteError, seal, wire_len, write_header};

/// How to cut data into generations and code them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Symbols per generation, 1..=255.
    pub k: u8,
    /// Symbol size in bytes, 1..=9000.
    pub symbol_size: u16,
    /// Systematic or random.
    pub mode: Mode,
    /// Send coefficient vectors in full instead of as an 8-byte seed.
    pub explicit_coefficients: bool,
    /// Session seed that per-packet coefficient seeds derive from.
    pub session: u64,
}

impl EncoderConfig {
    /// Seeded coefficients, session 0.
    pub fn new(k: u8, symbol_size: u16, mode: Mode) -> EncoderConfig {
        EncoderConfig {
            k,
            symbol_size,
            mode,
            explicit_coefficients: false,
            session: 0,
        }
    }

    fn generation_bytes(&self) -> usize {
        usize::from(self.k) * usize::from(self.symbol_size)
    }
}

/// A rejected configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// K = 0.
    #[error("K must be at least 1")]
    ZeroK,
    /// S outside 1..=9000.
    #[error("symbol size {0} outside 1..=9000")]
    SymbolSize(u16),
    /// More than 2^32 generations.
    #[error("data needs more than 2^32 generations")]
    TooManyGenerations,
}

pub(crate) fn check_shape(k: u8, symbol_size: u16) -> Result<(), ConfigError> {
    if k == 0 {
        return Err(ConfigError::ZeroK);
    }
    if symbol_size == 0 || symbol_size > MAX_SYMBOL_SIZE {
        return Err(ConfigError::SymbolSize(symbol_size));
    }
    Ok(())
}

/// Why a packet could not be produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// Generation id past the end of the data.
    #[error("no generation {0}")]
    NoSuchGeneration(u32),
    /// The output buffer is too small.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// K symbols of S bytes, the last zero-padded; `data_len` keeps the truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generation<'a> {
    /// Generation id.
    pub id: u32,
    /// Symbols.
    pub k: u8,
    /// Symbol size.
    pub symbol_size: u16,
    /// Real bytes in the generation.
    pub data_len: u32,
    /// K·S bytes, symbol `i` at `i·S`.
    pub symbols: &'a [u8],
}

impl Generation<'_> {
    /// Symbol `i`, `None` if `i ≥ K`.
    pub fn symbol(&self, i: usize) -> Option<&[u8]> {
        let s = usize::from(self.symbol_size);
        self.symbols.get(i * s..(i + 1) * s)
    }
}

/// Encodes one data buffer, generation by generation, without copying it
/// (only a final partial generation is copied, to zero-pad it).
#[derive(Debug)]
pub struct Encoder<'a> {
    config: EncoderConfig,
    data: &'a [u8],
    last: Cow<'a, [u8]>,
    generations: u32,
}

impl<'a> Encoder<'a> {
    /// Split `data` into generations. Empty data is one generation of
    /// length 0, so receivers still learn that the object is empty.
    pub fn new(config: EncoderConfig, data: &'a [u8]) -> Result<Encoder<'a>, ConfigError> {
        check_shape(config.k, config.symbol_size)?;
        let gen_bytes = config.generation_bytes();
        let count = data.len().div_ceil(gen_bytes).max(1);
        let generations = u32::try_from(count).map_err(|_| ConfigError::TooManyGenerations)?;
        let last_start = (count - 1) * gen_bytes;
        let tail = &data[last_start..];
        let last = if tail.len() == gen_bytes {
            Cow::Borrowed(tail)
        } else {
            let mut padded = vec![0; gen_bytes];
            padded[..tail.len()].copy_from_slice(tail);
            Cow::Owned(padded)
        };
        Ok(Encoder {
            config,
            data,
            last,
            generations,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Number of generations.
    pub fn generation_count(&self) -> u32 {
        self.generations
    }

    /// Generation `id`, if it exists.
    pub fn generation(&self, id: u32) -> Option<Generation<'_>> {
        let gen_bytes = self.config.generation_bytes();
        let start = usize::try_from(id).ok()?.checked_mul(gen_bytes)?;
        let symbols = if id == self.generations - 1 {
            &self.last[..]
        } else {
            self.data.get(start..start + gen_bytes)?
        };
        Some(Generation {
            id,
            k: self.config.k,
            symbol_size: self.config.symbol_size,
            data_len: (self.data.len().saturating_sub(start)).min(gen_bytes) as u32,
            symbols,
        })
    }

    /// The coefficients of packet `index` (systematic index or seed).
    pub fn coefficients(&self, generation: u32, index: u32) -> Coefficients<'static> {
        match self.config.mode {
            Mode::Systematic if index < u32::from(self.config.k) => Coefficients::Systematic(index as u8),
            _ => Coefficients::Seeded(packet_seed(self.config.session, generation, index)),
        }
    }

    /// Bytes of every packet this encoder writes.
    pub fn packet_len(&self) -> usize {
        wire_len(
            self.config.k,
            self.config.symbol_size,
            self.config.explicit_coefficients,
        )
    }

    /// Write the S-byte payload of packet `index` of `generation` into
    /// `out[..S]`; returns its coefficients. Allocation-free.
    pub fn write_payload(
        &self,
        generation: u32,
        index: u32,
        out: &mut [u8],
    ) -> Result<Coefficients<'static>, EncodeError> {
        let g = self
            .generation(generation)
            .ok_or(EncodeError::NoSuchGeneration(generation))?;
        let s = usize::from(self.config.symbol_size);
        let have = out.len();
        let out = out.get_mut(..s).ok_or(WriteError::BufferTooSmall { need: s, have })?;
        let coefficients = self.coefficients(generation, index);
        match coefficients {
            Coefficients::Systematic(i) => out.copy_from_slice(&g.symbols[usize::from(i) * s..][..s]),
            Coefficients::Seeded(seed) => {
                let mut coefs = [0u8; 255];
                let coefs = &mut coefs[..usize::from(self.config.k)];
                expand(seed, coefs);
                gf::lin_comb(out, g.symbols, s, coefs);
            }
            Coefficients::Explicit(_) => unreachable!("coefficients() never returns Explicit"),
        }
        Ok(coefficients)
    }

    /// Write the payloads of packets `indices` of `generation` back to back
    /// into `out` (`S` bytes each): "n more repair packets for generation
    /// g". Coded payloads are computed as one matrix product, up to 16 at a
    /// time, each source vector loaded once per register tile of outputs,
    /// which is several times faster than one [`Encoder::write_payload`]
    /// per packet. Allocation-free.
    pub fn write_payloads(&self, generation: u32, indices: Range<u32>, out: &mut [u8]) -> Result<(), EncodeError> {
        const BATCH: usize = gf::MULTI_BATCH;
        let g = self
            .generation(generation)
            .ok_or(EncodeError::NoSuchGeneration(generation))?;
        let (k, s) = (usize::from(self.config.k), usize::from(self.config.symbol_size));
        let need = indices.len() * s;
        let have = out.len();
        let out = out.get_mut(..need).ok_or(WriteError::BufferTooSmall { need, have })?;
        let mut coefs = [0u8; BATCH * 255];
        // Pending coded payloads: output slots first..first + pending.
        let (mut first, mut pending) = (0, 0);
        let flush = |out: &mut [u8], coefs: &[u8], first: usize, pending: usize| {
            if pending > 0 {
                gf::lin_comb_multi(&mut out[first * s..], s, s, g.symbols, s, &coefs[..pending * k], k);
            }
        };
        for (slot, index) in indices.enumerate() {
            match self.coefficients(generation, index) {
                Coefficients::Systematic(i) => {
                    let i = usize::from(i);
                    out[slot * s..(slot + 1) * s].copy_from_slice(&g.symbols[i * s..(i + 1) * s]);
                }
                Coefficients::Seeded(seed) => {
                    if pending == 0 {
                        first = slot;
                    }
                    expand(seed, &mut coefs[pending * k..(pending + 1) * k]);
                    pending += 1;
                    if pending == BATCH {
                        flush(out, &coefs, first, pending);
                        pending = 0;
                    }
                }
                Coefficients::Explicit(_) => unreachable!("coefficients() never returns Explicit"),
            }
        }
        flush(out, &coefs, first, pending);
        Ok(())
    }

    /// Write the whole packets `indices` of `generation` (header, payload,
    /// checksum) back to back into `out`, [`Encoder::packet_len`] bytes
    /// each; returns the bytes written. Coded payloads are computed as in
    /// [`Encoder::write_payloads`], straight into their packet slots, and
    /// each packet is sealed once: several times faster than one
    /// [`Encoder::write_packet`] per packet. Allocation-free.
    pub fn write_packets(&self, generation: u32, indices: Range<u32>, out: &mut [u8]) -> Result<usize, EncodeError> {
        self.write_packets_labelled(generation, generation, indices, out)
    }

    /// [`Encoder::write_packets`] with `label` as the headers' generation
    /// id: an encoder of one generation buffer codes it as its generation 0
    /// under a per-generation session seed, and its packets carry the real id.
    pub(crate) fn write_packets_labelled(
        &self,
        generation: u32,
        label: u32,
        indices: Range<u32>,
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        const BATCH: u32 = gf::MULTI_BATCH as u32;
        let g = self
            .generation(generation)
            .ok_or(EncodeError::NoSuchGeneration(generation))?;
        let (k, s) = (usize::from(self.config.k), usize::from(self.config.symbol_size));
        let packet_len = self.packet_len();
        let need = indices.len() * packet_len;
        let have = out.len();
        let out = out.get_mut(..need).ok_or(WriteError::BufferTooSmall { need, have })?;
        let header = |packet: &mut [u8], coefficients: &Coefficients<'_>| {
            write_header(
                packet,
                label,
                self.config.k,
                self.config.symbol_size,
                g.data_len,
                coefficients,
            )
        };
        // The originals (systematic mode, indices below K) come first in
        // any range: copied and sealed one by one.
        let originals_end = match self.config.mode {
            Mode::Systematic => indices.end.min(u32::from(self.config.k)).max(indices.start),
            Mode::Random => indices.start,
        };
        let (originals, coded) = out.split_at_mut((originals_end - indices.start) as usize * packet_len);
        for (index, packet) in (indices.start..originals_end).zip(originals.chunks_exact_mut(packet_len)) {
            let at = header(packet, &Coefficients::Systematic(index as u8));
            let symbol = index as usize * s;
            packet[at..at + s].copy_from_slice(&g.symbols[symbol..symbol + s]);
            seal(packet, at + s);
        }
        // Then the coded packets, BATCH at a time: their headers, one
        // product into the payload slots (`packet_len` apart), their seals.
        let mut coefs = [0u8; BATCH as usize * 255];
        let mut first = originals_end;
        for batch in coded.chunks_mut(BATCH as usize * packet_len) {
            let count = batch.len() / packet_len;
            let mut at = HEADER_LEN;
            for ((index, packet), row) in (first..first + count as u32)
                .zip(batch.chunks_exact_mut(packet_len))
                .zip(coefs.chunks_exact_mut(k))
            {
                let Coefficients::Seeded(seed) = self.coefficients(generation, index) else {
                    unreachable!("indices past the originals are coded")
                };
                expand(seed, row);
                at = if self.config.explicit_coefficients {
                    header(packet, &Coefficients::Explicit(row))
                } else {
                    header(packet, &Coefficients::Seeded(seed))
                };
            }
            gf::lin_comb_multi(&mut batch[at..], packet_len, s, g.symbols, s, &coefs[..count * k], k);
            for packet in batch.chunks_exact_mut(packet_len) {
                seal(packet, at + s);
            }
            first += count as u32;
        }
        Ok(need)
    }

    /// Write the whole packet `index` of `generation` (header, payload,
    /// checksum) into `out`; returns its length. Allocation-free.
    pub fn write_packet(&self, generation: u32, index: u32, out: &mut [u8]) -> Result<usize, EncodeError> {
        let need = self.packet_len();
        let have = out.len();
        let out = out.get_mut(..need).ok_or(WriteError::BufferTooSmall { need, have })?;
        let k = usize::from(self.config.k);
        let s = usize::from(self.config.symbol_size);
        let coefficients = self.coefficients(generation, index);
        let data_len = self
            .generation(generation)
            .ok_or(EncodeError::NoSuchGeneration(generation))?
            .data_len;
        let mut vector = [0u8; 255];
        let header = match coefficients {
            Coefficients::Seeded(seed) if self.config.explicit_coefficients => {
                expand(seed, &mut vector[..k]);
                Coefficients::Explicit(&vector[..k])
            }
            c => c,
        };
        let at = write_header(
            out,
            generation,
            self.config.k,
            self.config.symbol_size,
            data_len,
            &header,
        );
        self.write_payload(generation, index, &mut out[at..at + s])?;
        Ok(seal(out, at + s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{Packet, ParseOptions};

    #[test]
    fn last_generation_is_padded_and_keeps_its_true_length() {
        let data: alloc::vec::Vec<u8> = (1..=10).collect();
        let enc = Encoder::new(EncoderConfig::new(2, 3, Mode::Systematic), &data).unwrap();
        assert_eq!(enc.generation_count(), 2);
        let g1 = enc.generation(1).unwrap();
        assert_eq!(g1.data_len, 4);
        assert_eq!(g1.symbols, [7, 8, 9, 10, 0, 0]);
        assert_eq!(enc.generation(0).unwrap().symbols, [1, 2, 3, 4, 5, 6]);
        assert!(enc.generation(2).is_none());
        let mut out = [0u8; 3];
        assert_eq!(enc.write_payload(2, 0, &mut out), Err(EncodeError::NoSuchGeneration(2)));
    }

    #[test]
    fn empty_data_is_one_empty_generation() {
        let enc = Encoder::new(EncoderConfig::new(4, 8, Mode::Random), &[]).unwrap();
        assert_eq!(enc.generation_count(), 1);
        assert_eq!(enc.generation(0).unwrap().data_len, 0);
    }

    #[test]
    fn packets_are_deterministic_and_match_their_coefficients() {
        let data: alloc::vec::Vec<u8> = (0..200u32).map(|i| (i * 13) as u8).collect();
        for explicit in [false, true] {
            let config = EncoderConfig {
                explicit_coefficients: explicit,
                session: 77,
                ..EncoderConfig::new(5, 40, Mode::Systematic)
            };
            let enc = Encoder::new(config, &data).unwrap();
            let mut a = vec![0u8; enc.packet_len()];
            let mut b = vec![0u8; enc.packet_len()];
            for index in [0, 4, 5, 99] {
                let n = enc.write_packet(0, index, &mut a).unwrap();
                enc.write_packet(0, index, &mut b).unwrap();
                assert_eq!(a, b);
                let p = Packet::parse(&a[..n], &ParseOptions::default()).unwrap();
                let mut coefs = [0u8; 5];
                p.coefficient_vector(&mut coefs);
                let mut want = [0u8; 40];
                gf::lin_comb(&mut want, &data, 40, &coefs);
                assert_eq!(p.payload, want, "index {index}");
                assert_eq!(
                    matches!(p.coefficients, Coefficients::Explicit(_)),
                    explicit && index >= 5
                );
            }
        }
    }

    #[test]
    fn batched_payloads_equal_single_payloads() {
        let data: alloc::vec::Vec<u8> = (0..7 * 100u32).map(|i| (i * 29 + 3) as u8).collect();
        for mode in [Mode::Systematic, Mode::Random] {
            let enc = Encoder::new(EncoderConfig::new(7, 100, mode), &data).unwrap();
            for range in [0..0, 0..7, 3..13, 7..16, 100..101] {
                let mut batch = vec![0u8; range.len() * 100];
                enc.write_payloads(0, range.clone(), &mut batch).unwrap();
                for (slot, index) in range.clone().enumerate() {
                    let mut one = [0u8; 100];
                    enc.write_payload(0, index, &mut one).unwrap();
                    assert_eq!(batch[slot * 100..][..100], one, "{mode:?} {range:?} {index}");
                }
            }
        }
    }

    #[test]
    fn batched_packets_equal_single_packets() {
        let data: alloc::vec::Vec<u8> = (0..7 * 101u32).map(|i| (i * 31 + 5) as u8).collect();
        for mode in [Mode::Systematic, Mode::Random] {
            for explicit in [false, true] {
                let config = EncoderConfig {
                    explicit_coefficients: explicit,
                    session: 9,
                    ..EncoderConfig::new(7, 101, mode)
                };
                let enc = Encoder::new(config, &data).unwrap();
                let len = enc.packet_len();
                for range in [0..0, 0..7, 3..13, 7..40, 100..101] {
                    let mut batch = vec![0u8; range.len() * len];
                    assert_eq!(enc.write_packets(0, range.clone(), &mut batch), Ok(batch.len()));
                    for (slot, index) in range.clone().enumerate() {
                        let mut one = vec![0u8; len];
                        enc.write_packet(0, index, &mut one).unwrap();
                        assert_eq!(batch[slot * len..][..len], one, "{mode:?} {explicit} {range:?} {index}");
                    }
                }
                assert!(matches!(
                    enc.write_packets(0, 0..2, &mut vec![0u8; 2 * len - 1]),
                    Err(EncodeError::Write(WriteError::BufferTooSmall { .. }))
                ));
                assert_eq!(
                    enc.write_packets(1, 0..1, &mut vec![0u8; len]),
                    Err(EncodeError::NoSuchGeneration(1))
                );
            }
        }
    }

    #[test]
    fn bad_shapes_and_small_buffers_are_errors() {
        assert_eq!(
            Encoder::new(EncoderConfig::new(0, 8, Mode::Random), &[]).unwrap_err(),
            ConfigError::ZeroK
        );
        assert_eq!(
            Encoder::new(EncoderConfig::new(1, 9001, Mode::Random), &[]).unwrap_err(),
            ConfigError::SymbolSize(9001)
        );
        let enc = Encoder::new(EncoderConfig::new(2, 8, Mode::Random), &[1; 16]).unwrap();
        assert!(matches!(
            enc.write_packet(0, 0, &mut [0; 10]),
            Err(EncodeError::Write(WriteError::BufferTooSmall { .. }))
        ));
    }
}
