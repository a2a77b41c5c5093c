//! PNut's floating-point formulas as the x87 computes them. PNut is 32-bit Delphi, whose FPU runs at 64-bit
//! mantissa precision ("extended"), rounding to nearest even; expressions such as `k / n * w * $100` are evaluated
//! there and then `Round` (half to even) or `Trunc`. An `f64` evaluation of the same expression rounds at 53 bits and
//! can land on the other side of a half or an integer, which moves a trace by 1/256 pixel. [`Extended`] does the
//! few operations PNut's plot positions use (integer to extended, divide, multiply, round, truncate) with exactly
//! the x87's rounding, in integer arithmetic.

/// An x87 extended-precision number: `(-1)^negative · mantissa · 2^exponent`, the mantissa normalised to 64 bits
/// (top bit set) or zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Extended {
    negative: bool,
    mantissa: u64,
    exponent: i32,
}

impl Extended {
    const ZERO: Extended = Extended {
        negative: false,
        mantissa: 0,
        exponent: 0,
    };

    /// An integer, exactly (64 mantissa bits hold every `i64`).
    pub(crate) fn from_int(value: i64) -> Self {
        if value == 0 {
            return Self::ZERO;
        }
        let magnitude = value.unsigned_abs();
        let shift = magnitude.leading_zeros();
        Extended {
            negative: value < 0,
            mantissa: magnitude << shift,
            exponent: -(shift as i32),
        }
    }

    /// A 128-bit magnitude rounded to 64 bits, half to even; `sticky` says non-zero bits lie below it.
    fn round_wide(negative: bool, wide: u128, exponent: i32, sticky: bool) -> Self {
        if wide == 0 {
            return Self::ZERO;
        }
        let bits = 128 - wide.leading_zeros() as i32;
        if bits <= 64 {
            // Callers with fewer than 64 significant bits are exact (sticky is only set with more).
            return Extended {
                negative,
                mantissa: (wide << (64 - bits)) as u64,
                exponent: exponent - (64 - bits),
            };
        }
        let shift = (bits - 64) as u32;
        let mut kept = (wide >> shift) as u64;
        let rest = wide & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        let up = rest > half || (rest == half && (sticky || kept & 1 == 1));
        let mut exponent = exponent + shift as i32;
        if up {
            kept = kept.wrapping_add(1);
            if kept == 0 {
                kept = 1 << 63;
                exponent += 1;
            }
        }
        Extended {
            negative,
            mantissa: kept,
            exponent,
        }
    }

    /// `self / divisor`, rounded (`FDIV`). Dividing by zero gives zero (PNut's callers never do).
    pub(crate) fn div(self, divisor: Extended) -> Self {
        if self.mantissa == 0 || divisor.mantissa == 0 {
            return Self::ZERO;
        }
        let negative = self.negative != divisor.negative;
        let numerator = u128::from(self.mantissa) << 64;
        let d = u128::from(divisor.mantissa);
        let (quotient, remainder) = (numerator / d, numerator % d);
        let exponent = self.exponent - divisor.exponent - 64;
        if quotient >> 64 != 0 {
            // 65 bits: one rounding bit, the remainder is sticky.
            return Self::round_wide(negative, quotient, exponent, remainder != 0);
        }
        // Exactly 64 bits: the remainder alone decides.
        let mut mantissa = quotient as u64;
        let twice = remainder << 1;
        if twice > d || (twice == d && mantissa & 1 == 1) {
            mantissa = mantissa.wrapping_add(1);
            if mantissa == 0 {
                return Extended {
                    negative,
                    mantissa: 1 << 63,
                    exponent: exponent + 1,
                };
            }
        }
        Extended {
            negative,
            mantissa,
            exponent,
        }
    }

    /// `self · factor`, rounded (`FMUL`).
    pub(crate) fn mul(self, factor: Extended) -> Self {
        let wide = u128::from(self.mantissa) * u128::from(factor.mantissa);
        Self::round_wide(
            self.negative != factor.negative,
            wide,
            self.exponent + factor.exponent,
            false,
        )
    }

    /// `self · factor` for an integer factor.
    pub(crate) fn mul_int(self, factor: i64) -> Self {
        self.mul(Self::from_int(factor))
    }

    /// The integer part and whether the discarded fraction is above, at or below a half (`Ordering`).
    fn split(self) -> (u128, std::cmp::Ordering, bool) {
        if self.mantissa == 0 {
            return (0, std::cmp::Ordering::Less, false);
        }
        if self.exponent >= 0 {
            let shift = self.exponent.min(64) as u32;
            return (u128::from(self.mantissa) << shift, std::cmp::Ordering::Less, false);
        }
        let shift = (-self.exponent) as u32;
        if shift > 64 {
            // Below one half.
            return (0, std::cmp::Ordering::Less, true);
        }
        let m = u128::from(self.mantissa);
        let whole = m >> shift;
        let rest = m & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        (whole, rest.cmp(&half), rest != 0)
    }

    fn signed(self, magnitude: u128) -> i64 {
        let clamped = magnitude.min(i64::MAX as u128) as i64;
        if self.negative { -clamped } else { clamped }
    }

    /// Delphi `Round`: to the nearest integer, halves to even (`FISTP` in the default rounding mode). Values beyond
    /// `i64` saturate (Delphi raises there; PNut's formulas stay far inside).
    pub(crate) fn round(self) -> i64 {
        let (whole, fraction, _) = self.split();
        let up = match fraction {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => whole & 1 == 1,
            std::cmp::Ordering::Less => false,
        };
        self.signed(whole + u128::from(up))
    }

    /// Delphi `Trunc`: towards zero.
    pub(crate) fn trunc(self) -> i64 {
        self.signed(self.split().0)
    }

    /// The nearest `f64`.
    pub(crate) fn to_f64(self) -> f64 {
        let magnitude = self.mantissa as f64 * 2f64.powi(self.exponent);
        if self.negative { -magnitude } else { magnitude }
    }
}

/// PNut's `Round(d · scale)` for an integer `d` and an extended `scale`, fast: the `f64` product decides unless it
/// lies so close to a half that the 53-bit and 64-bit roundings could disagree; then the exact x87 product does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Scale {
    exact: Extended,
    approx: f64,
}

impl Scale {
    pub(crate) fn new(exact: Extended) -> Self {
        Self {
            exact,
            approx: exact.to_f64(),
        }
    }

    /// The scale as an `f64`.
    pub(crate) fn value(self) -> f64 {
        self.approx
    }

    /// `Round(d · scale)`.
    #[inline]
    pub(crate) fn round(self, d: i64) -> i64 {
        let product = d as f64 * self.approx;
        if product.abs() < 4.0e15 {
            // Both products lie within a few 2^-53 of the true one; 2^-40 of it (and of 1) is a safe margin.
            let margin = (product.abs() + 1.0) * (1.0 / (1u64 << 40) as f64);
            let whole = product as i64; // towards zero
            let fraction = product - whole as f64;
            if (fraction.abs() - 0.5).abs() > margin {
                return whole + i64::from(fraction > 0.5) - i64::from(fraction < -0.5);
            }
        }
        self.exact.mul_int(d).round()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(v: i64) -> Extended {
        Extended::from_int(v)
    }

    #[test]
    fn one_third_rounds_up_in_the_last_bit() {
        // 2^65 / 3 = …AAA.AA: the 64-bit mantissa rounds up to …AB.
        let third = int(1).div(int(3));
        assert_eq!((third.mantissa, third.exponent), (0xAAAA_AAAA_AAAA_AAAB, -65));
        // (1/3)·3 in extended is exactly 1 (the rounding error falls off the end).
        assert_eq!(third.mul_int(3), int(1));
    }

    #[test]
    fn exact_values_round_and_truncate_like_delphi() {
        assert_eq!(int(5).div(int(2)).round(), 2, "2.5 → 2");
        assert_eq!(int(7).div(int(2)).round(), 4, "3.5 → 4");
        assert_eq!(int(-5).div(int(2)).round(), -2);
        assert_eq!(int(-7).div(int(2)).trunc(), -3);
        assert_eq!(int(7).div(int(2)).trunc(), 3);
        assert_eq!(int(1).div(int(4)).round(), 0);
        assert_eq!(int(3).div(int(4)).round(), 1);
        assert_eq!(int(0).div(int(4)).round(), 0);
        assert_eq!(int(i64::MAX).round(), i64::MAX);
        assert_eq!(int(1 << 40).mul_int(256).round(), 1 << 48);
    }

    #[test]
    fn agrees_with_f64_where_f64_is_exact() {
        // Quotients with power-of-two divisors and small products are exact in both.
        for k in -300i64..300 {
            for n in [1i64, 2, 4, 64, 256, 2048] {
                for w in [1i64, 3, 255, 256, 2047] {
                    let e = int(k).div(int(n)).mul_int(w).mul_int(256);
                    let f = k as f64 / n as f64 * w as f64 * 256.0;
                    assert_eq!(e.to_f64(), f, "{k}/{n}·{w}·256");
                    assert_eq!(e.round(), f.round_ties_even() as i64);
                    assert_eq!(e.trunc(), f.trunc() as i64);
                }
            }
        }
    }

    #[test]
    fn division_is_correctly_rounded() {
        // |q·d − n| ≤ ulp(q)·d/2 for the 64-bit quotient q of n/d.
        for n in [1u64, 2, 3, 5, 7, 100, 255, 1000, 65_535, 1 << 40, u64::MAX >> 1] {
            for d in [3u64, 7, 9, 10, 255, 1000, 2047, 1_000_003] {
                let q = int(n as i64).div(int(d as i64));
                // q = m·2^e with e < 0: compare m·d against n·2^−e in 192-bit-safe pieces.
                let shift = (-q.exponent) as u32;
                let lhs = u128::from(q.mantissa) * u128::from(d);
                let rhs = u128::from(n) << shift;
                let error = lhs.abs_diff(rhs);
                assert!(error <= u128::from(d) / 2 + 1, "{n}/{d}: error {error}");
            }
        }
    }

    #[test]
    fn scale_fast_path_matches_the_exact_product() {
        for (tall, range) in [(128i64, 255i64), (256, 1024), (100, 7), (2048, 4_294_967_295), (3, 4)] {
            let exact = int(tall - 1).div(int(range)).mul_int(256);
            let scale = Scale::new(exact);
            for d in (-3000i64..3000).chain([range, range / 2, range * 3 / 4]) {
                assert_eq!(
                    scale.round(d),
                    exact.mul_int(d).round(),
                    "d {d} tall {tall} range {range}"
                );
            }
        }
    }
}
