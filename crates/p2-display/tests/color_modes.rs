//! Every colour mode against an independent transcription of docs/p2-displays.md A.0, for every value of its
//! domain, with A.0's worked values as fixed points.
//!
//! The transcription follows the document's prose (hue, intensity, "white" side, per-channel scaling) rather than
//! the library's code, and builds its HUE table from the real-valued ramps with the tie rule the document states.

use sluicegate_p2_display::color::{ColorMode, HUE, translate};

/// A.0's HUE[i]: trapezoid ramps per channel, 0 below 2/6, rising to 255 over [2/6, 3/6), 255 until 5/6, falling
/// to 0 at 1 (in units of 256), `k = i − 7.2 + j·256/3`. Two exact halves occur; in PNut's extended precision the
/// rising one is a hair above its half (rounds up) and the falling one an exact half that `Round` takes to the even
/// value, which is the lower one there.
fn hue(i: u32) -> u32 {
    let mut rgb = 0;
    for j in 0..3 {
        // k·15 exactly: 15·(i − 7.2 + j·256/3) = 15i − 108 + 1280j.
        let mut k15 = 15 * i as i64 - 108 + 1280 * j as i64;
        if k15 >= 15 * 256 {
            k15 -= 15 * 256;
        }
        let k = k15 as f64 / 15.0;
        let v = if k < 256.0 * 2.0 / 6.0 {
            0.0
        } else if k < 256.0 * 3.0 / 6.0 {
            let x = (k - 256.0 * 2.0 / 6.0) / (256.0 / 6.0) * 255.0;
            if (x.fract() - 0.5).abs() < 1e-9 {
                x.ceil()
            } else {
                x.round()
            }
        } else if k < 256.0 * 5.0 / 6.0 {
            255.0
        } else {
            let x = (256.0 - k) / (256.0 / 6.0) * 255.0;
            if (x.fract() - 0.5).abs() < 1e-9 {
                x.floor()
            } else {
                x.round()
            }
        };
        rgb |= (v as u32) << (8 * j);
    }
    rgb
}

fn channels(rgb: u32) -> [u32; 3] {
    [(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255]
}

fn pack(c: [u32; 3]) -> u32 {
    (c[0] << 16) | (c[1] << 8) | c[2]
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Black,
    White,
    Both,
}

/// LUMA8/RGBI8 per A.0: hue h (0 orange, else R=bit 2, G=bit 1, B=bit 0), intensity p.
fn luma_rgbi(h: u32, p: u32, side: Side) -> u32 {
    let x = side == Side::Both && h != 7;
    let white = side == Side::White || (x && p >= 128);
    let p = if x {
        if p < 128 { 2 * p } else { 2 * (127 - (p & 127)) }
    } else {
        p
    };
    let mask = [(h >> 2) & 1 == 1, (h >> 1) & 1 == 1, h & 1 == 1];
    if !white {
        if h == 0 {
            return pack([p, p / 2, 0]);
        }
        return pack(mask.map(|on| if on { p } else { 0 }));
    }
    if h == 0 {
        return pack([255, 255 - p / 2, 255 - p]);
    }
    if h == 7 {
        return pack([255 - p; 3]);
    }
    // The mask of h xor 7 gets 255 − p; the hue's own channels stay 255: p = 255 is the pure hue.
    pack(mask.map(|on| if on { 255 } else { 255 - p }))
}

/// HSV16 per A.0.
fn hsv16(v: u32, tune: u32, side: Side) -> u32 {
    let c = HUE_REF.with(|t| t[(((v >> 8) + tune) & 255) as usize]);
    let p = v & 255;
    let white = side == Side::White || (side == Side::Both && p >= 128);
    let p = if side == Side::Both {
        if p < 128 { 2 * p } else { ((p & 127) * 2) ^ 254 }
    } else {
        p
    };
    let c = if white { c ^ 0xFF_FFFF } else { c };
    let out = pack(channels(c).map(|ch| (ch * p + 255) >> 8));
    if white { out ^ 0xFF_FFFF } else { out }
}

thread_local! {
    static HUE_REF: [u32; 256] = std::array::from_fn(|i| hue(i as u32));
}

fn expected(mode: ColorMode, tune: u32, lut: &[u32; 256], v: u32) -> u32 {
    use ColorMode::*;
    let side = |m: ColorMode| match m {
        Luma8w | Rgbi8w | Hsv8w | Hsv16w => Side::White,
        Luma8x | Rgbi8x | Hsv8x | Hsv16x => Side::Both,
        _ => Side::Black,
    };
    match mode {
        Lut1 => lut[(v % 2) as usize],
        Lut2 => lut[(v % 4) as usize],
        Lut4 => lut[(v % 16) as usize],
        Lut8 => lut[(v % 256) as usize],
        Luma8 | Luma8w | Luma8x => luma_rgbi(tune % 8, v % 256, side(mode)),
        Rgbi8 | Rgbi8w | Rgbi8x => {
            let five = v % 32;
            luma_rgbi((v / 32) % 8, (five << 3) | (five >> 2), side(mode))
        }
        Hsv8 | Hsv8w | Hsv8x => {
            let (h4, v4) = ((v >> 4) & 15, v & 15);
            hsv16(((h4 * 17) << 8) | (v4 * 17), tune, side(mode))
        }
        Hsv16 | Hsv16w | Hsv16x => hsv16(v & 0xFFFF, tune, side(mode)),
        Rgb8 => {
            let (r3, g3, b2) = ((v >> 5) & 7, (v >> 2) & 7, v & 3);
            // A.0's multiplications scale 0–7 to 0–255, truncating (0x1236E and 0x91C are 255/7 in fixed point).
            pack([r3 * 255 / 7, g3 * 255 / 7, b2 * 0x55])
        }
        Rgb16 => {
            let (r5, g6, b5) = ((v >> 11) & 31, (v >> 5) & 63, v & 31);
            pack([(r5 << 3) | (r5 >> 2), (g6 << 2) | (g6 >> 4), (b5 << 3) | (b5 >> 2)])
        }
        Rgb24 => v & 0xFF_FFFF,
    }
}

#[test]
fn the_hue_table_is_the_documented_one() {
    for i in 0..256 {
        assert_eq!(HUE[i as usize], hue(i), "HUE[{i}]");
    }
}

#[test]
fn every_mode_over_its_whole_domain() {
    let lut: [u32; 256] = std::array::from_fn(|i| (i as u32).wrapping_mul(0x9E37_79B9) & 0xFF_FFFF);
    let mut checked = 0u64;
    for mode in ColorMode::ALL {
        let domain = mode.domain().min(65_536);
        let tunes: &[u32] = match mode {
            ColorMode::Luma8 | ColorMode::Luma8w | ColorMode::Luma8x => &[0, 1, 2, 3, 4, 5, 6, 7],
            ColorMode::Hsv8 | ColorMode::Hsv8w | ColorMode::Hsv8x => &[0, 1, 100, 255],
            ColorMode::Hsv16 | ColorMode::Hsv16w | ColorMode::Hsv16x => &[0, 37],
            _ => &[0],
        };
        for &tune in tunes {
            for v in 0..domain {
                // High bits the mode does not read must not matter.
                for high in [0, 0xABCD_0000u32 & !(domain.wrapping_sub(1))] {
                    let value = v | high;
                    assert_eq!(
                        translate(mode, tune as i32, &lut, value as i32),
                        expected(mode, tune, &lut, value),
                        "{mode:?} tune {tune} value {value:#X}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 500_000, "{checked}");
}

#[test]
fn rgb24_over_a_stride_of_its_domain() {
    let lut = [0; 256];
    for v in (0..1u32 << 24).step_by(4099) {
        assert_eq!(translate(ColorMode::Rgb24, 0, &lut, (v | 0x7F00_0000) as i32), v);
    }
}

#[test]
fn the_worked_values_of_a0() {
    let lut = [0; 256];
    let t = |mode, tune, v| translate(mode, tune, &lut, v);
    use ColorMode::*;
    assert_eq!(t(Hsv16, 0, 0x00FF), 0xFF0000);
    assert_eq!(t(Hsv16, 0, 0x0080), 0x800000);
    assert_eq!(t(Hsv16, 0, 0x55FF), 0x2DFF00);
    assert_eq!(t(Hsv16w, 0, 0x0000), 0xFFFFFF);
    assert_eq!(t(Hsv16w, 0, 0x007F), 0xFF8080);
    assert_eq!(t(Hsv16x, 0, 0x007F), 0xFE0000);
    assert_eq!(t(Hsv16x, 0, 0x0080), 0xFF0101);
    assert_eq!(t(Hsv16x, 0, 0x00FF), 0xFFFFFF);
    assert_eq!(t(Luma8x, 4, 0x80), 0xFF0101, "LUMA8X RED: tune RED = 4");
    assert_eq!(t(Luma8, 0, 0xFF), 0xFF7F00);
    assert_eq!(t(Rgbi8, 0, 0x9F), 0xFF0000);
    assert_eq!(t(Rgb8, 0, 0x92), 0x9191AA);
    assert_eq!(t(Rgb16, 0, 0x8410), 0x848284);
    // And the same values through the transcription.
    for (mode, tune, v, rgb) in [
        (Hsv16, 0, 0x55FF, 0x2DFF00),
        (Hsv16w, 0, 0x007F, 0xFF8080),
        (Hsv16x, 0, 0x0080, 0xFF0101),
        (Luma8x, 4, 0x80, 0xFF0101),
        (Rgb8, 0, 0x92, 0x9191AA),
    ] {
        assert_eq!(expected(mode, tune, &lut, v), rgb, "{mode:?} {v:#X}");
    }
}
