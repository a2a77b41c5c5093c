//! Square and cube roots without `std` (the transfer state machines are
//! `no_std`): Newton's method, exact to the last few bits.

/// √x for x ≥ 0 (0 for anything else): from an exponent-halving guess.
pub(crate) fn sqrt(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    let mut r = f64::from_bits((x.to_bits() >> 1) + (1023 << 51));
    for _ in 0..6 {
        r = 0.5 * (r + x / r);
    }
    r
}

/// ∛x for x ≥ 0 (0 for anything else).
pub(crate) fn cbrt(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    let mut r = x.max(1.0);
    for _ in 0..60 {
        r = (2.0 * r + x / (r * r)) / 3.0;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_agree_with_std() {
        for x in [1e-9, 0.01, 0.16, 0.5, 2.0, 8.0, 1024.0, 12_345.0, 3.3e12] {
            assert!((sqrt(x) / x.sqrt() - 1.0).abs() < 1e-12, "sqrt {x}");
            assert!((cbrt(x) / x.cbrt() - 1.0).abs() < 1e-12, "cbrt {x}");
        }
        for bad in [0.0, -1.0, f64::NAN] {
            assert_eq!((sqrt(bad), cbrt(bad)), (0.0, 0.0));
        }
    }
}
