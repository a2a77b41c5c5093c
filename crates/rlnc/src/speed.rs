//! A quick single-core speed report, like `openssl speed`, for users to
//! run on their own machine (`sluicegate rlnc bench`).
//!
//! Figures are MB/s (10^6 bytes) of *source data*, coding only: payloads
//! are produced and consumed in memory, without headers or checksums, as in
//! the peer benchmarks. Encode: random mode makes K coded packets per
//! generation, systematic mode the K originals plus K/4 repair packets.
//! Decode: random mode from coded packets until full rank; systematic mode
//! with every eighth original lost and recovered from repair packets.

use std::time::{Duration, Instant};

use crate::decoder::Decoder;
use crate::encoder::{ConfigError, Encoder, EncoderConfig};
use crate::gf::Backend;
use crate::packet::{Mode, Packet, VERSION};

/// What to measure.
#[derive(Clone, Debug, PartialEq)]
pub struct SpeedConfig {
    /// Generation sizes.
    pub ks: Vec<u8>,
    /// Symbol size.
    pub symbol_size: u16,
    /// Modes, each measured for every K.
    pub modes: Vec<Mode>,
    /// Minimum wall time per figure; longer is steadier.
    pub min_time: Duration,
}

impl Default for SpeedConfig {
    fn default() -> SpeedConfig {
        SpeedConfig {
            ks: vec![16, 32, 64, 128],
            symbol_size: 1500,
            modes: vec![Mode::Random, Mode::Systematic],
            min_time: Duration::from_millis(300),
        }
    }
}

/// One line of the report.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct SpeedReport {
    /// Symbols per generation.
    pub k: u8,
    /// Symbol size.
    pub symbol_size: u16,
    /// Mode.
    pub mode: Mode,
    /// Source MB/s encoded.
    pub encode_mb_s: f64,
    /// Source MB/s decoded.
    pub decode_mb_s: f64,
}

/// The kernel backend the figures come from.
pub fn backend() -> Backend {
    Backend::active()
}

/// Packet indices the encode figure produces for one generation.
pub fn encode_indices(k: u8, mode: Mode) -> core::ops::Range<u32> {
    match mode {
        Mode::Random => 0..u32::from(k),
        Mode::Systematic => 0..u32::from(k) + u32::from(k) / 4,
    }
}

/// Packet indices offered to the decoder, in order: random mode K coded
/// packets and spares; systematic mode the originals except every eighth,
/// then repair packets.
pub fn decode_indices(k: u8, mode: Mode) -> Vec<u32> {
    let k = u32::from(k);
    match mode {
        Mode::Random => (0..k + 16).collect(),
        Mode::Systematic => (0..k).filter(|i| i % 8 != 7).chain(k..2 * k + 16).collect(),
    }
}

/// Deterministic pseudo-random test data.
pub fn sample_data(len: usize) -> Vec<u8> {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u8
        })
        .collect()
}

fn rate(bytes: usize, min_time: Duration, mut f: impl FnMut()) -> f64 {
    f(); // warm caches and CPU detection
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < min_time || rounds < 3 {
        f();
        rounds += 1;
    }
    (bytes as f64 * rounds as f64) / start.elapsed().as_secs_f64() / 1e6
}

/// Measure one K and mode.
pub fn measure(k: u8, symbol_size: u16, mode: Mode, min_time: Duration) -> Result<SpeedReport, ConfigError> {
    let s = usize::from(symbol_size);
    let data = sample_data(usize::from(k) * s);
    let enc = Encoder::new(EncoderConfig::new(k, symbol_size, mode), &data)?;

    let indices = encode_indices(k, mode);
    let mut out = vec![0u8; indices.len() * s];
    let encode_mb_s = rate(data.len(), min_time, || {
        enc.write_payloads(0, indices.clone(), &mut out)
            .expect("generation 0 exists");
    });

    let offered = decode_indices(k, mode);
    let mut payloads = vec![0u8; offered.len() * s];
    let mut coefficients = Vec::with_capacity(offered.len());
    for (&i, buf) in offered.iter().zip(payloads.chunks_exact_mut(s)) {
        coefficients.push(enc.write_payload(0, i, buf).expect("generation 0 exists"));
    }
    let packets: Vec<Packet<'_>> = coefficients
        .iter()
        .zip(payloads.chunks_exact(s))
        .map(|(&c, payload)| Packet {
            version: VERSION,
            generation: 0,
            k,
            symbol_size,
            data_len: data.len() as u32,
            coefficients: c,
            payload,
        })
        .collect();
    let mut dec = Decoder::new(0, k, symbol_size)?;
    let decode_mb_s = rate(data.len(), min_time, || {
        dec.reset(0);
        for p in &packets {
            dec.receive(p).expect("packets match the decoder");
            if dec.is_complete() {
                break;
            }
        }
        assert!(dec.is_complete(), "not enough packets offered");
    });
    assert_eq!(dec.data(), Ok(&data[..]), "decode is byte-exact");
    Ok(SpeedReport {
        k,
        symbol_size,
        mode,
        encode_mb_s,
        decode_mb_s,
    })
}

/// Measure every K and mode in `config`, on the calling thread.
pub fn run(config: &SpeedConfig) -> Result<Vec<SpeedReport>, ConfigError> {
    let mut reports = Vec::new();
    for &mode in &config.modes {
        for &k in &config.ks {
            reports.push(measure(k, config.symbol_size, mode, config.min_time)?);
        }
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_one_line_per_k_and_mode_with_positive_rates() {
        let config = SpeedConfig {
            ks: vec![1, 8],
            symbol_size: 64,
            modes: vec![Mode::Systematic, Mode::Random],
            min_time: Duration::ZERO,
        };
        let reports = run(&config).unwrap();
        let shapes: Vec<(u8, Mode)> = reports.iter().map(|r| (r.k, r.mode)).collect();
        assert_eq!(
            shapes,
            [
                (1, Mode::Systematic),
                (8, Mode::Systematic),
                (1, Mode::Random),
                (8, Mode::Random)
            ]
        );
        assert!(reports.iter().all(|r| r.encode_mb_s > 0.0 && r.decode_mb_s > 0.0));
        let json = serde_json::to_string(&reports[0]).unwrap();
        assert!(
            json.starts_with(r#"{"k":1,"symbol_size":64,"mode":"systematic","encode_mb_s":"#),
            "{json}"
        );
    }

    #[test]
    fn systematic_decode_loses_one_original_in_eight() {
        let offered = decode_indices(32, Mode::Systematic);
        assert_eq!(offered.iter().filter(|&&i| i < 32).count(), 28);
        assert_eq!(encode_indices(32, Mode::Systematic).len(), 40);
    }
}
