//! PNut's integer FFT (docs/p2-displays.md A.5; DDU `PrepareFFT`, `PerformFFT`), shared by FFT and SPECTRO.
//!
//! The samples are weighted by a Hann-type window `1 − cos(2πi/N)` in 12-bit fixed point, transformed by an
//! in-place radix-2 FFT on `i64` with 12-bit twiddles taken in bit-reversed order (each product truncated towards
//! zero, as Delphi's `div`), and each bin's magnitude is `|X| / (2048·N) · 2^mag`, rounded: about the amplitude
//! of a sinusoid on that bin. The `i64` arithmetic wraps where PNut's does (huge samples overflow it there too).
//!
//! The window and twiddle tables are `Round` of `f64` sines; an exhaustive check against 200-bit arithmetic
//! found every entry for every N at least 5·10⁻⁴ away from a rounding tie, so `f64` gives PNut's tables exactly.

/// The largest transform: 2^11 = 2048 samples.
pub(crate) const FFT_EXP_MAX: u32 = 11;

/// One transform size's tables and work buffers.
#[derive(Clone, Debug)]
pub(crate) struct Transform {
    exp: u32,
    sin: Box<[i64]>,
    cos: Box<[i64]>,
    window: Box<[i64]>,
    real: Box<[i64]>,
    imag: Box<[i64]>,
    /// Magnitude of bins `0..N/2` after [`perform`](Self::perform).
    pub(crate) power: Box<[i32]>,
    /// Phase of bins `0..N/2`, 2^32 per turn.
    pub(crate) angle: Box<[u32]>,
}

/// PNut's `Rev32(i) shr (32 − exp)`: `i` with its low `exp` bits reversed (`exp` ≤ 12).
fn reverse(i: usize, exp: u32) -> usize {
    ((i as u32).reverse_bits() >> (32 - exp)) as usize
}

impl Transform {
    /// Tables for `N = 2^exp` samples, `exp` in `2..=11` (`PrepareFFT`).
    pub(crate) fn new(exp: u32) -> Self {
        let exp = exp.clamp(2, FFT_EXP_MAX);
        let n = 1usize << exp;
        let mut sin = vec![0i64; n];
        let mut cos = vec![0i64; n];
        let mut window = vec![0i64; n];
        for i in 0..n {
            // Rev32 reverses 12 bits into the top of a long: an angle of rev12(i)/4096 of π.
            let turn = reverse(i, 12) as f64 / 4096.0 * std::f64::consts::PI;
            sin[i] = (turn.sin() * 4096.0).round_ties_even() as i64;
            cos[i] = (turn.cos() * 4096.0).round_ties_even() as i64;
            let phase = i as f64 / n as f64 * std::f64::consts::TAU;
            window[i] = ((1.0 - phase.cos()) * 4096.0).round_ties_even() as i64;
        }
        Self {
            exp,
            sin: sin.into(),
            cos: cos.into(),
            window: window.into(),
            real: vec![0; n].into(),
            imag: vec![0; n].into(),
            power: vec![0; n / 2].into(),
            angle: vec![0; n / 2].into(),
        }
    }

    /// `N`.
    pub(crate) fn len(&self) -> usize {
        1 << self.exp
    }

    /// Transforms `N` samples, oldest first, with gain `2^mag` (`mag` 0–11) into [`power`](Self::power) and
    /// [`angle`](Self::angle) (`PerformFFT`).
    pub(crate) fn perform(&mut self, samples: impl IntoIterator<Item = i32>, mag: u32) {
        let n = self.len();
        for ((real, imag), (sample, window)) in self
            .real
            .iter_mut()
            .zip(self.imag.iter_mut())
            .zip(samples.into_iter().zip(self.window.iter()))
        {
            *real = i64::from(sample).wrapping_mul(*window);
            *imag = 0;
        }
        let (real, imag) = (&mut self.real[..n], &mut self.imag[..n]);
        let mut half = n >> 1;
        let mut groups = 1;
        while half != 0 {
            let mut start = 0;
            for twiddle in 0..groups {
                let (cos, sin) = (self.cos[twiddle], self.sin[twiddle]);
                for a in start..start + half {
                    let b = a + half;
                    let (ax, ay, bx, by) = (real[a], imag[a], real[b], imag[b]);
                    let rx = bx.wrapping_mul(cos).wrapping_sub(by.wrapping_mul(sin)) / 0x1000;
                    let ry = bx.wrapping_mul(sin).wrapping_add(by.wrapping_mul(cos)) / 0x1000;
                    real[a] = ax.wrapping_add(rx);
                    imag[a] = ay.wrapping_add(ry);
                    real[b] = ax.wrapping_sub(rx);
                    imag[b] = ay.wrapping_sub(ry);
                }
                start += half << 1;
            }
            half >>= 1;
            groups <<= 1;
        }
        // The output is in bit-reversed order. Magnitude: Round(Hypot / 2^(11 + exp − mag)), exactly.
        let shift = 11 + self.exp - mag.min(FFT_EXP_MAX);
        for bin in 0..n / 2 {
            let i = reverse(bin, self.exp);
            let (x, y) = (real[i], imag[i]);
            self.power[bin] = round_root_shifted(x, y, shift) as i32;
            let turns = (x as f64).atan2(y as f64) / std::f64::consts::TAU;
            self.angle[bin] = (turns * 4_294_967_296.0).round_ties_even() as i64 as u32;
        }
    }
}

/// `Round(sqrt(x² + y²) / 2^shift)`, halves to even, computed exactly (`shift` ≥ 1).
fn round_root_shifted(x: i64, y: i64, shift: u32) -> i64 {
    let sum = u128::from(x.unsigned_abs()).pow(2) + u128::from(y.unsigned_abs()).pow(2);
    let root = sum.isqrt();
    let half = 1u128 << (shift - 1);
    let whole = root >> shift;
    let exact = root * root == sum;
    let rest = root & ((1u128 << shift) - 1);
    // floor((√s + half) / 2^shift) = floor((⌊√s⌋ + half) / 2^shift); a tie needs an exact root.
    let rounded = if exact && rest == half {
        whole + (whole & 1)
    } else {
        (root + half) >> shift
    };
    rounded.min(i64::MAX as u128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(n: usize, bin: f64, amplitude: f64, phase: f64) -> Vec<i32> {
        (0..n)
            .map(|i| (amplitude * (std::f64::consts::TAU * bin * i as f64 / n as f64 + phase).sin()).round() as i32)
            .collect()
    }

    #[test]
    fn tables_match_pnut() {
        let fft = Transform::new(3);
        // N = 8: twiddles at 0, π/2, π/4, 3π/4 (bit-reversed order); window 1 − cos(2πi/8).
        assert_eq!(&fft.cos[..4], [4096, 0, 2896, -2896]);
        assert_eq!(&fft.sin[..4], [0, 4096, 2896, 2896]);
        assert_eq!(&fft.window[..], [0, 1200, 4096, 6992, 8192, 6992, 4096, 1200]);
    }

    #[test]
    fn a_sine_on_a_bin_reads_its_amplitude_there_and_half_beside() {
        for (exp, bin, amplitude) in [(9u32, 40usize, 1000.0), (11, 300, 20_000.0), (6, 5, 100.0)] {
            let mut fft = Transform::new(exp);
            let n = fft.len();
            fft.perform(sine(n, bin as f64, amplitude, 0.3), 0);
            let a = amplitude as i32;
            assert!(
                (fft.power[bin] - a).abs() <= a / 100 + 1,
                "N {n} bin {bin}: {}",
                fft.power[bin]
            );
            for side in [bin - 1, bin + 1] {
                assert!((fft.power[side] - a / 2).abs() <= a / 100 + 1, "{}", fft.power[side]);
            }
            for far in [bin - 3, bin + 3] {
                assert!(fft.power[far] <= a / 100 + 1, "leakage {}", fft.power[far]);
            }
        }
    }

    #[test]
    fn a_constant_reads_twice_itself_at_dc_and_itself_at_bin_one() {
        let mut fft = Transform::new(9);
        fft.perform(std::iter::repeat_n(500, 512), 0);
        assert_eq!((fft.power[0], fft.power[1], fft.power[2]), (1000, 500, 0));
    }

    #[test]
    fn mag_doubles_per_step() {
        let mut fft = Transform::new(8);
        fft.perform(std::iter::repeat_n(100, 256), 3);
        assert_eq!((fft.power[0], fft.power[1]), (1600, 800));
    }

    #[test]
    fn extreme_samples_wrap_without_panicking() {
        let mut fft = Transform::new(11);
        fft.perform((0..2048).map(|i| if i % 2 == 0 { i32::MAX } else { i32::MIN }), 11);
        fft.perform(std::iter::repeat_n(i32::MIN, 2048), 0);
    }

    #[test]
    fn exact_rounding_of_magnitudes() {
        assert_eq!(round_root_shifted(3, 4, 1), 2, "2.5 → 2");
        assert_eq!(round_root_shifted(6, 8, 2), 2, "2.5 → 2");
        assert_eq!(round_root_shifted(7, 0, 1), 4, "3.5 → 4");
        assert_eq!(round_root_shifted(5, 1, 1), 3, "√26/2 = 2.55 → 3");
        assert_eq!(round_root_shifted(i64::MIN, i64::MIN, 2), 3_260_954_456_333_195_553);
    }
}
