//! A quick single-core speed report, like `openssl speed`, for users to
//! run on their own machine (`sluicegate rlnc bench`).
//!
//! Every figure is timed in this thread's CPU time, so that a machine busy
//! with other work still measures the codec, not its neighbours (on an idle
//! machine CPU and wall time agree).
//!
//! Codec figures are MB/s (10^6 bytes) of *source data*, coding only: payloads
//! are produced and consumed in memory, without headers or checksums, as in
//! the peer benchmarks. Encode: random mode makes K coded packets per
//! generation, systematic mode the K originals plus K/4 repair packets.
//! Decode: random mode from coded packets until full rank; systematic mode
//! with every eighth original lost and recovered from repair packets.

use std::time::Duration;

use cpu_time::ThreadTime;

use crate::decoder::Decoder;
use crate::encoder::{ConfigError, Encoder, EncoderConfig};
use crate::gf::{self, Backend};
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
    /// The kernel backend used.
    pub kernel: &'static str,
}

/// The kernel backend the figures come from.
pub fn backend() -> Backend {
    Backend::active()
}

/// What kernel figures are measured against, in GB/s (10^9 bytes).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Bounds {
    /// Multiply-accumulated bytes/s of the 64-byte GFNI loop on registers
    /// only (no loads or stores): the multiplier's bound, if this CPU has
    /// GFNI and AVX-512BW.
    pub gfni_peak_gb_s: Option<f64>,
    /// `memcpy` of 8 KiB (source and destination in L1).
    pub l1_copy_gb_s: f64,
    /// `memcpy` of 256 KiB (source and destination in L2).
    pub l2_copy_gb_s: f64,
}

/// One kernel shape at S = 1500, measured on the active backend.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct KernelFigure {
    /// The backend.
    pub backend: &'static str,
    /// What was measured, e.g. `product 8x32` (8 outputs from 32 sources).
    pub kernel: &'static str,
    /// Multiply-accumulated source bytes per second (outputs × sources ×
    /// S per call), in GB/s.
    pub gb_s: f64,
    /// Fraction of [`Bounds::gfni_peak_gb_s`], if measured.
    pub of_gfni_peak: Option<f64>,
    /// Fraction of [`Bounds::l1_copy_gb_s`].
    pub of_l1_copy: f64,
    /// Fraction of [`Bounds::l2_copy_gb_s`].
    pub of_l2_copy: f64,
}

/// GB/s of `bytes` per call of `f`, in this thread's CPU time.
fn rate_gb_s(bytes: usize, min_time: Duration, f: impl FnMut()) -> f64 {
    rate(bytes, min_time, f) / 1e3
}

/// Measure the bounds on this thread.
pub fn bounds(min_time: Duration) -> Bounds {
    let copy = |len: usize| {
        let src = sample_data(len);
        let mut dst = vec![0u8; len];
        rate_gb_s(len, min_time, || {
            dst.copy_from_slice(std::hint::black_box(&src));
            std::hint::black_box(&mut dst);
        })
    };
    const ROUNDS: u64 = 1 << 14;
    let gfni_peak_gb_s = gf::gfni_peak_loop(ROUNDS).map(|bytes| {
        rate_gb_s(bytes as usize, min_time, || {
            gf::gfni_peak_loop(ROUNDS);
        })
    });
    Bounds {
        gfni_peak_gb_s,
        l1_copy_gb_s: copy(8 << 10),
        l2_copy_gb_s: copy(256 << 10),
    }
}

/// The kernel shapes the codec runs, at S = 1500: one multiply-add, one
/// output from 32 sources, one full register tile (8 × 32), the K = 128
/// encoder's 16 × 128 product and the K = 128 decoder's 128 × 128.
pub fn kernel_figures(bounds: &Bounds, min_time: Duration) -> Vec<KernelFigure> {
    const S: usize = 1500;
    let shapes: [(&'static str, usize, usize); 5] = [
        ("mul_acc 1x1", 1, 1),
        ("lin_comb 1x32", 1, 32),
        ("product 8x32", 8, 32),
        ("product 16x128", 16, 128),
        ("product 128x128", 128, 128),
    ];
    let backend = Backend::active();
    shapes
        .iter()
        .map(|&(kernel, outputs, sources)| {
            let rows = sample_data(sources * S);
            let coefs: Vec<u8> = sample_data(outputs * sources).iter().map(|&c| c | 1).collect();
            let mut out = vec![0u8; outputs * S];
            let gb_s = rate_gb_s(outputs * sources * S, min_time, || {
                if outputs == 1 && sources == 1 {
                    gf::mul_acc(&mut out, std::hint::black_box(&rows), coefs[0]);
                } else {
                    gf::lin_comb_multi(&mut out, S, S, std::hint::black_box(&rows), S, &coefs, sources);
                }
                std::hint::black_box(&mut out);
            });
            KernelFigure {
                backend: backend.name(),
                kernel,
                gb_s,
                of_gfni_peak: bounds.gfni_peak_gb_s.map(|g| gb_s / g),
                of_l1_copy: gb_s / bounds.l1_copy_gb_s,
                of_l2_copy: gb_s / bounds.l2_copy_gb_s,
            }
        })
        .collect()
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

/// MB/s of `bytes` per call of `f`, in this thread's CPU time: on a
/// machine shared with other work, wall time mostly measures the neighbours.
/// Calls are timed in batches of about a millisecond, since reading the
/// thread's clock is a system call that would dominate short calls.
fn rate(bytes: usize, min_time: Duration, mut f: impl FnMut()) -> f64 {
    f(); // warm caches and CPU detection
    let mut batch = 1u64;
    loop {
        let start = ThreadTime::now();
        (0..batch).for_each(|_| f());
        if start.elapsed() >= Duration::from_millis(1) || batch >= 1 << 20 {
            break;
        }
        batch *= 2;
    }
    let start = ThreadTime::now();
    let mut calls = 0u64;
    while start.elapsed() < min_time || calls < 3 {
        (0..batch).for_each(|_| f());
        calls += batch;
    }
    (bytes as f64 * calls as f64) / start.elapsed().as_secs_f64() / 1e6
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
        kernel: Backend::active().name(),
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
