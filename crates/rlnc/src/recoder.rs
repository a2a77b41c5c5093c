//! Recoder: an intermediate node that emits fresh random combinations of
//! the coded packets it holds, without decoding them. Stored packets are
//! kept as received; only their coefficient vectors are row-reduced (K
//! bytes each) to drop non-innovative ones, so receiving costs one payload
//! copy, and recoding a batch of packets one matrix product over the held
//! payloads ([`Recoder::recode_batch`]).

use alloc::vec;
use alloc::vec::Vec;

use crate::coefficients::expand;
use crate::decoder::{Progress, ReceiveError, Shape};
use crate::encoder::{ConfigError, check_shape};
use crate::gf;
use crate::packet::{Coefficients, Packet, WriteError, seal, wire_len, write_header};

/// Why no packet could be recoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecodeError {
    /// Nothing received yet.
    #[error("no packets to recode from")]
    Empty,
    /// The output buffer is too small.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Holds up to K innovative packets of one generation and recombines them.
#[derive(Debug)]
pub struct Recoder {
    shape: Shape,
    k: usize,
    s: usize,
    held: usize,
    /// Held payloads, `held` rows of S bytes.
    payloads: Vec<u8>,
    /// Their coefficient vectors as received, `held` rows of K bytes.
    vectors: Vec<u8>,
    /// Row-echelon basis of `vectors`, indexed by pivot, to test innovation.
    basis: Vec<u8>,
    pivots: Vec<bool>,
    scratch: Vec<u8>,
    redundant: u64,
}

impl Recoder {
    /// A recoder for `generation` with K symbols of S bytes.
    pub fn new(generation: u32, k: u8, symbol_size: u16) -> Result<Recoder, ConfigError> {
        check_shape(k, symbol_size)?;
        let (ku, s) = (usize::from(k), usize::from(symbol_size));
        Ok(Recoder {
            shape: Shape {
                generation,
                k,
                symbol_size,
                data_len: None,
            },
            k: ku,
            s,
            held: 0,
            payloads: vec![0; ku * s],
            vectors: vec![0; ku * ku],
            basis: vec![0; ku * ku],
            pivots: vec![false; ku],
            scratch: vec![0; ku],
            redundant: 0,
        })
    }

    /// Innovative packets held (the rank of what this node can emit).
    pub fn rank(&self) -> u8 {
        self.held as u8
    }

    /// Packets dropped as non-innovative.
    pub fn redundant(&self) -> u64 {
        self.redundant
    }

    /// Hold `packet` if it adds rank.
    pub fn receive(&mut self, packet: &Packet<'_>) -> Result<Progress, ReceiveError> {
        self.shape.accept(packet)?;
        let k = self.k;
        packet.coefficient_vector(&mut self.scratch);
        let mut pivot = None;
        for p in 0..k {
            let c = self.scratch[p];
            if c == 0 {
                continue;
            }
            if !self.pivots[p] {
                pivot = Some(p);
                break;
            }
            gf::mul_acc(&mut self.scratch[p..], &self.basis[p * k + p..(p + 1) * k], c);
        }
        let Some(q) = pivot else {
            self.redundant += 1;
            return Ok(Progress::Redundant { rank: self.held as u8 });
        };
        let inv = gf::inv(self.scratch[q]).expect("pivot is non-zero");
        gf::mul_slice(&mut self.basis[q * k..(q + 1) * k], &self.scratch, inv);
        self.pivots[q] = true;
        let h = self.held;
        packet.coefficient_vector(&mut self.vectors[h * k..(h + 1) * k]);
        self.payloads[h * self.s..(h + 1) * self.s].copy_from_slice(packet.payload);
        self.held += 1;
        Ok(if self.held == k {
            Progress::Complete
        } else {
            Progress::Innovative { rank: self.held as u8 }
        })
    }

    /// Bytes of every recoded packet (explicit coefficients).
    pub fn packet_len(&self) -> usize {
        wire_len(self.shape.k, self.shape.symbol_size, true)
    }

    /// Write a fresh combination of the held packets, with weights drawn
    /// from `seed`, into `out` as a packet with explicit coefficients.
    /// Allocation-free.
    pub fn recode(&self, seed: u64, out: &mut [u8]) -> Result<usize, RecodeError> {
        self.recode_batch(&[seed], out)
    }

    /// Write one recoded packet per seed back to back into `out`, each
    /// [`Recoder::packet_len`] bytes, as [`Recoder::recode`] would one by
    /// one; returns the bytes written. The payloads of up to 16 packets are
    /// one matrix product that loads each held payload once per register
    /// tile of them, several times faster than one packet at a time.
    /// Allocation-free.
    pub fn recode_batch(&self, seeds: &[u64], out: &mut [u8]) -> Result<usize, RecodeError> {
        const BATCH: usize = gf::MULTI_BATCH;
        if self.held == 0 {
            return Err(RecodeError::Empty);
        }
        let len = self.packet_len();
        let need = seeds.len() * len;
        let have = out.len();
        let out = out.get_mut(..need).ok_or(WriteError::BufferTooSmall { need, have })?;
        let (k, s, held) = (self.k, self.s, self.held);
        for (seeds, out) in seeds.chunks(BATCH).zip(out.chunks_mut(BATCH * len)) {
            let m = seeds.len();
            let mut weights = [0u8; BATCH * 255];
            let weights = &mut weights[..m * held];
            // Held vectors are independent and the weights not all zero, so
            // every combined vector is non-zero.
            for (w, &seed) in weights.chunks_exact_mut(held).zip(seeds) {
                expand(seed, w);
            }
            let mut vectors = [0u8; BATCH * 255];
            let vectors = &mut vectors[..m * k];
            gf::lin_comb_multi(vectors, k, k, &self.vectors, k, weights, held);
            let mut at = 0;
            for (packet, vector) in out.chunks_exact_mut(len).zip(vectors.chunks_exact(k)) {
                at = write_header(
                    packet,
                    self.shape.generation,
                    self.shape.k,
                    self.shape.symbol_size,
                    self.shape.data_len.unwrap_or(0),
                    &Coefficients::Explicit(vector),
                );
            }
            gf::lin_comb_multi(&mut out[at..], len, s, &self.payloads, s, weights, held);
            for packet in out.chunks_exact_mut(len) {
                seal(packet, at + s);
            }
        }
        Ok(need)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{ParseOptions, VERSION};

    #[test]
    fn a_batch_is_sound_packets_equal_to_one_by_one() {
        let (k, s) = (20u8, 100u16);
        let x: Vec<u8> = (0..usize::from(k) * usize::from(s))
            .map(|i| (i * 7 + 1) as u8)
            .collect();
        let mut r = Recoder::new(0, k, s).unwrap();
        for seed in 0..15u64 {
            let mut c = [0u8; 20];
            expand(seed * 31 + 5, &mut c);
            let mut payload = [0u8; 100];
            gf::lin_comb(&mut payload, &x, usize::from(s), &c);
            let p = Packet {
                version: VERSION,
                generation: 0,
                k,
                symbol_size: s,
                data_len: 2000,
                coefficients: Coefficients::Explicit(&c),
                payload: &payload,
            };
            r.receive(&p).unwrap();
        }
        let len = r.packet_len();
        let seeds: Vec<u64> = (100..137).collect();
        let mut batch = vec![0u8; seeds.len() * len];
        assert_eq!(r.recode_batch(&seeds, &mut batch), Ok(batch.len()));
        for (&seed, packet) in seeds.iter().zip(batch.chunks_exact(len)) {
            // Each packet is sound on its own: its payload is its explicit
            // vector applied to the originals, and it is what `recode`
            // writes for the seed.
            let q = Packet::parse(packet, &ParseOptions::default()).unwrap();
            let mut v = [0u8; 20];
            q.coefficient_vector(&mut v);
            let mut want = [0u8; 100];
            gf::lin_comb(&mut want, &x, usize::from(s), &v);
            assert_eq!(q.payload, want, "seed {seed}");
            let mut one = vec![0u8; len];
            r.recode(seed, &mut one).unwrap();
            assert_eq!(packet, one, "seed {seed}");
        }
        assert!(matches!(
            r.recode_batch(&seeds, &mut batch[1..]),
            Err(RecodeError::Write(WriteError::BufferTooSmall { .. }))
        ));
    }

    #[test]
    fn recoded_payload_matches_its_explicit_vector() {
        let x: Vec<u8> = (0..12).collect(); // K=3, S=4
        let mut r = Recoder::new(9, 3, 4).unwrap();
        assert_eq!(r.recode(1, &mut [0; 64]), Err(RecodeError::Empty));
        let c = [7u8, 0, 3];
        let mut payload = [0u8; 4];
        gf::lin_comb(&mut payload, &x, 4, &c);
        let p = Packet {
            version: VERSION,
            generation: 9,
            k: 3,
            symbol_size: 4,
            data_len: 12,
            coefficients: Coefficients::Explicit(&c),
            payload: &payload,
        };
        assert_eq!(r.receive(&p), Ok(Progress::Innovative { rank: 1 }));
        assert_eq!(r.receive(&p), Ok(Progress::Redundant { rank: 1 }));
        let mut out = vec![0u8; r.packet_len()];
        let n = r.recode(5, &mut out).unwrap();
        let q = Packet::parse(&out[..n], &ParseOptions::default()).unwrap();
        let mut v = [0u8; 3];
        q.coefficient_vector(&mut v);
        let mut want = [0u8; 4];
        gf::lin_comb(&mut want, &x, 4, &v);
        assert_eq!(q.payload, want);
        assert_eq!((q.generation, q.data_len), (9, 12));
        assert!(matches!(
            r.recode(5, &mut [0; 8]),
            Err(RecodeError::Write(WriteError::BufferTooSmall { .. }))
        ));
    }
}
