//! Colours (docs/p2-displays.md A.0): the 19 colour modes with PNut's exact integer formulas, the HUE table,
//! named colours (RGBI8X maths), the directive helpers that read colours from a message, and PNut's gamma-2
//! alpha blend.
//!
//! Colours are `0x00RRGGBB` in a `u32` everywhere in this crate.

use crate::element::{Cursor, Keyword};

/// A colour mode: how a number becomes a colour (A.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ColorMode {
    Lut1,
    Lut2,
    Lut4,
    Lut8,
    Luma8,
    Luma8w,
    Luma8x,
    Hsv8,
    Hsv8w,
    Hsv8x,
    Rgbi8,
    Rgbi8w,
    Rgbi8x,
    Rgb8,
    Hsv16,
    Hsv16w,
    Hsv16x,
    Rgb16,
    Rgb24,
}

impl ColorMode {
    /// Every mode, in PNut's order.
    pub const ALL: [ColorMode; 19] = [
        ColorMode::Lut1,
        ColorMode::Lut2,
        ColorMode::Lut4,
        ColorMode::Lut8,
        ColorMode::Luma8,
        ColorMode::Luma8w,
        ColorMode::Luma8x,
        ColorMode::Hsv8,
        ColorMode::Hsv8w,
        ColorMode::Hsv8x,
        ColorMode::Rgbi8,
        ColorMode::Rgbi8w,
        ColorMode::Rgbi8x,
        ColorMode::Rgb8,
        ColorMode::Hsv16,
        ColorMode::Hsv16w,
        ColorMode::Hsv16x,
        ColorMode::Rgb16,
        ColorMode::Rgb24,
    ];

    /// The mode a colour-mode keyword names.
    pub(crate) fn from_keyword(key: Keyword) -> Option<ColorMode> {
        key.is_color_mode()
            .then(|| Self::ALL[usize::from(key as u8 - Keyword::Lut1 as u8)])
    }

    /// How many distinct inputs the mode reads (the low bits of a number): 2, 4, 16, 256 or 65,536; RGB24 reads 24
    /// bits.
    pub fn domain(self) -> u32 {
        match self {
            ColorMode::Lut1 => 2,
            ColorMode::Lut2 => 4,
            ColorMode::Lut4 => 16,
            ColorMode::Hsv16 | ColorMode::Hsv16w | ColorMode::Hsv16x | ColorMode::Rgb16 => 65_536,
            ColorMode::Rgb24 => 1 << 24,
            _ => 256,
        }
    }

    /// White-based modes (`…W`): their background is white (A.0 background rule).
    pub fn is_white(self) -> bool {
        matches!(
            self,
            ColorMode::Luma8w | ColorMode::Hsv8w | ColorMode::Rgbi8w | ColorMode::Hsv16w
        )
    }

    /// The LUT modes.
    pub fn is_lut(self) -> bool {
        matches!(
            self,
            ColorMode::Lut1 | ColorMode::Lut2 | ColorMode::Lut4 | ColorMode::Lut8
        )
    }
}

/// `HUE[i]` (A.0, DDU `SetPolarColors`): three trapezoid ramps 120° apart, starting exactly at red.
///
/// With `K = 15·k` (`k = i − 7.2 + j·256/3`) everything is an exact integer: a rising ramp `(K − 1280)·51/128`, a
/// falling one `(3840 − K)·51/128`. Two entries fall exactly on a half in exact arithmetic, and PNut's x87 code
/// (extended precision, `Round` = FISTP under the default round-to-nearest-even) splits them: the rising one
/// (i = 20, green) is no tie there — the extended `−7.2` lies a hair above −7.2 — and rounds up to 77; the falling
/// one (i = 148, green) is still an exact half and goes to the even 178. Hence `+ 64` and `+ 63` below.
pub const HUE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut rgb = 0u32;
        let mut j = 0;
        while j < 3 {
            let mut k = 15 * i as i32 - 108 + 1280 * j;
            if k >= 3840 {
                k -= 3840;
            }
            let v = if k < 1280 {
                0
            } else if k < 1920 {
                ((k - 1280) * 51 + 64) >> 7
            } else if k < 3200 {
                255
            } else {
                ((3840 - k) * 51 + 63) >> 7
            };
            rgb |= (v as u32) << (8 * j);
            j += 1;
        }
        table[i] = rgb;
        i += 1;
    }
    table
};

/// The default channel colours (A.0): literal RGB, not named-colour maths.
pub const DEFAULT_PALETTE: [u32; 8] = [
    0x00FF00, 0xFF0000, 0x00FFFF, 0xFFFF00, 0xFF00FF, 0x7F7FFF, 0xFF7F00, 0x7F7F00,
];

/// A number through a colour mode (A.0, DDU `TranslateColor`). `tune` is the LUMA hue / HSV hue offset,
/// `lut` the LUT colours.
pub fn translate(mode: ColorMode, tune: i32, lut: &[u32; 256], value: i32) -> u32 {
    let p = value as u32;
    match mode {
        ColorMode::Lut1 => lut[(p & 1) as usize],
        ColorMode::Lut2 => lut[(p & 3) as usize],
        ColorMode::Lut4 => lut[(p & 15) as usize],
        ColorMode::Lut8 => lut[(p & 255) as usize],
        ColorMode::Luma8 | ColorMode::Luma8w | ColorMode::Luma8x => luma_rgbi(
            tune as u32 & 7,
            p & 0xFF,
            mode == ColorMode::Luma8w,
            mode == ColorMode::Luma8x,
        ),
        ColorMode::Rgbi8 | ColorMode::Rgbi8w | ColorMode::Rgbi8x => {
            let intensity = ((p & 0x1F) << 3) | ((p & 0x1C) >> 2);
            luma_rgbi(
                (p >> 5) & 7,
                intensity,
                mode == ColorMode::Rgbi8w,
                mode == ColorMode::Rgbi8x,
            )
        }
        ColorMode::Hsv8 | ColorMode::Hsv8w | ColorMode::Hsv8x => {
            let widened = ((p & 0xF0) * 0x110) | ((p & 0x0F) * 0x11);
            hsv16(tune, widened, mode == ColorMode::Hsv8w, mode == ColorMode::Hsv8x)
        }
        ColorMode::Hsv16 | ColorMode::Hsv16w | ColorMode::Hsv16x => {
            hsv16(tune, p, mode == ColorMode::Hsv16w, mode == ColorMode::Hsv16x)
        }
        ColorMode::Rgb8 => {
            (((p & 0xE0) * 0x1236E) & 0xFF0000) | (((p & 0x1C) * 0x91C) & 0x00FF00) | ((p & 0x03) * 0x55)
        }
        ColorMode::Rgb16 => {
            ((p & 0xF800) << 8)
                | ((p & 0xE000) << 3)
                | ((p & 0x07E0) << 5)
                | ((p & 0x0600) >> 1)
                | ((p & 0x001F) << 3)
                | ((p & 0x001C) >> 2)
        }
        ColorMode::Rgb24 => p & 0xFF_FFFF,
    }
}

/// The LUMA8/RGBI8 tail: hue `h` (0 orange, else a channel mask R=4 G=2 B=1), intensity `p` 0–255.
fn luma_rgbi(mut h: u32, mut p: u32, white_mode: bool, x_mode: bool) -> u32 {
    let x = x_mode && h != 7;
    let white = white_mode || (x && p >= 0x80);
    if x {
        p = if p >= 0x80 { ((!p) & 0x7F) << 1 } else { p << 1 };
    }
    let mask = |h: u32, p: u32| ((((h >> 2) & 1) * p) << 16) | ((((h >> 1) & 1) * p) << 8) | ((h & 1) * p);
    if white {
        if h == 0 {
            (((p << 7) & 0x7F00) | p) ^ 0xFF_FFFF
        } else {
            if h != 7 {
                h ^= 7;
            }
            mask(h, p) ^ 0xFF_FFFF
        }
    } else if h == 0 {
        (p << 16) | ((p << 7) & 0x7F00)
    } else {
        mask(h, p)
    }
}

/// The HSV16 formula: hue from the high byte (plus `tune`), value from the low byte.
fn hsv16(tune: i32, p: u32, white_mode: bool, x_mode: bool) -> u32 {
    let mut hue = HUE[((p >> 8).wrapping_add(tune as u32) & 0xFF) as usize];
    let mut v = p & 0xFF;
    let white = white_mode || (x_mode && v >= 0x80);
    if x_mode {
        v = if v >= 0x80 { ((v & 0x7F) << 1) ^ 0xFE } else { v << 1 };
    }
    if white {
        hue ^= 0xFF_FFFF;
    }
    let scale = |shift: u32| ((((hue >> shift) & 0xFF) * v + 0xFF) >> 8) << shift;
    let out = scale(16) | scale(8) | scale(0);
    if white { out ^ 0xFF_FFFF } else { out }
}

/// A named colour (A.0): `BLACK`, `WHITE`, or one of `ORANGE`…`GRAY` at `brightness` 0–15 (default 8) through
/// RGBI8X.
pub fn named(key: Keyword, brightness: i32) -> Option<u32> {
    match key {
        Keyword::Black => Some(0x000000),
        Keyword::White => Some(0xFF_FFFF),
        _ if key.is_color_name() => {
            let h = u32::from(key as u8 - Keyword::Orange as u8);
            let b = brightness as u32 & 15;
            Some(translate(ColorMode::Rgbi8x, 0, &[0; 256], ((h << 5) | (b << 1)) as i32))
        }
        _ => None,
    }
}

/// `round(√(1024·i / 256)) = round(2·√i)` for every `i` a blend sum can reach (`sum / 1024 ≤ 16,192`): the
/// smallest root in each block of 1,024 sums. Entry `i` is the `r` with `(r − ½)² < 4i < (r + ½)²` (never equal: a
/// square root of an integer is never a half). 16 KiB, built at compile time.
const ROOTS: [u8; 16_193] = {
    let mut table = [0u8; 16_193];
    let mut i = 0usize;
    let mut r = 0usize;
    while i < table.len() {
        // (r + ½)² < 4i  ⟺  (2r + 1)² < 16i
        while (2 * r + 1) * (2 * r + 1) < 16 * i {
            r += 1;
        }
        table[i] = r as u8;
        i += 1;
    }
    table
};

/// PNut's gamma-2 blend of one channel (DDU `AlphaBlend`, `SmoothPixel`): `sqrt((dst²·(255−a) + src²·a) / 256)`,
/// rounded half to even. (PNut takes the root as `exp(ln(x)/2)` in x87 extended precision; that can land either
/// side of an exact half, which our exact root rounds to even: at most one step on rare exact ties.)
///
/// Exact in integers, without a square root (this is the inner loop of every anti-aliased line): the table gives
/// the rounded root at the start of `sum`'s block of 1,024, which is at most two below the answer; the answer is
/// the first `r` with `sum < (16r + 8)² = 256·(r + ½)²`, and `sum` equal to it is a tie, which goes to the even one.
#[inline]
pub fn blend_channel(dst: u32, src: u32, alpha: u32) -> u32 {
    let sum = dst * dst * (255 - alpha) + src * src * alpha;
    let mut r = u32::from(ROOTS[(sum >> 10) as usize]);
    loop {
        let half_above = (16 * r + 8) * (16 * r + 8);
        if sum < half_above || (sum == half_above && r & 1 == 0) {
            return r;
        }
        r += 1;
    }
}

/// [`blend_channel`] on each channel of two colours: `alpha` 255 gives `src`… almost (PNut's formula divides by
/// 256, so full opacity is special-cased by its callers).
#[inline]
pub fn blend(dst: u32, src: u32, alpha: u32) -> u32 {
    let channel = |shift: u32| {
        let (d, s) = ((dst >> shift) & 0xFF, (src >> shift) & 0xFF);
        // A value blended over itself stays (tested for every value and alpha): the channels a trace colour
        // shares with the pixel (a green trace over black: red and blue) cost nothing.
        let blended = if d == s { d } else { blend_channel(d, s, alpha) };
        blended << shift
    };
    channel(16) | channel(8) | channel(0)
}

/// PNut's `AlphaBlend(a, b, x)`: `a` over `b` at opacity `x`, gamma-2 (used for guide colours).
pub fn alpha_blend(a: u32, b: u32, x: u32) -> u32 {
    let channel = |shift: u32| blend_channel((b >> shift) & 0xFF, (a >> shift) & 0xFF, x) << shift;
    channel(16) | channel(8) | channel(0)
}

/// A display's colour state: mode, tune and LUT, as the directives set them.
#[derive(Clone, Debug)]
pub(crate) struct ColorState {
    pub(crate) mode: ColorMode,
    pub(crate) tune: i32,
    pub(crate) lut: Box<[u32; 256]>,
}

impl Default for ColorState {
    fn default() -> Self {
        Self {
            mode: ColorMode::Rgb24,
            tune: 0,
            lut: Box::new([0; 256]),
        }
    }
}

impl ColorState {
    /// A number through the current mode.
    #[inline]
    pub(crate) fn translate(&self, value: i32) -> u32 {
        translate(self.mode, self.tune, &self.lut, value)
    }

    /// `KeyColor`: a colour name (with optional brightness) or a number through the current mode.
    pub(crate) fn key_color(&self, cursor: &mut Cursor<'_>) -> Option<u32> {
        if let Some(key) = cursor.next_key() {
            if !key.is_color_name() {
                cursor.back();
                return None;
            }
            let brightness = if matches!(key, Keyword::Black | Keyword::White) {
                8
            } else {
                cursor.next_num().unwrap_or(8)
            };
            return named(key, brightness);
        }
        cursor.next_num().map(|n| self.translate(n))
    }

    /// [`key_color`](Self::key_color) into `target`; whether a colour was read.
    pub(crate) fn key_color_into(&self, cursor: &mut Cursor<'_>, target: &mut u32) -> bool {
        self.key_color(cursor).map(|c| *target = c).is_some()
    }

    /// `KeyColorMode`, after the mode keyword `key` was read: LUMA modes take a hue name (ORANGE…GRAY) or a number,
    /// HSV modes a number.
    pub(crate) fn key_color_mode(&mut self, key: Keyword, cursor: &mut Cursor<'_>) {
        let Some(mode) = ColorMode::from_keyword(key) else {
            return;
        };
        self.mode = mode;
        match mode {
            ColorMode::Luma8 | ColorMode::Luma8w | ColorMode::Luma8x => {
                if let Some(hue) = cursor.next_key() {
                    if (Keyword::Orange..=Keyword::Gray).contains(&hue) {
                        self.tune = i32::from(hue as u8 - Keyword::Orange as u8);
                    } else {
                        cursor.back();
                    }
                } else {
                    cursor.key_val(&mut self.tune);
                }
            }
            ColorMode::Hsv8
            | ColorMode::Hsv8w
            | ColorMode::Hsv8x
            | ColorMode::Hsv16
            | ColorMode::Hsv16w
            | ColorMode::Hsv16x => {
                cursor.key_val(&mut self.tune);
            }
            _ => {}
        }
    }

    /// `KeyLutColors`: up to 256 colours, numbers read as RGB24 whatever the current mode.
    pub(crate) fn key_lut_colors(&mut self, cursor: &mut Cursor<'_>) {
        let mode = std::mem::replace(&mut self.mode, ColorMode::Rgb24);
        for i in 0..256 {
            match self.key_color(cursor) {
                Some(c) => self.lut[i] = c,
                None => break,
            }
        }
        self.mode = mode;
    }

    /// The background of BITMAP and SPECTRO (A.0, DDU `GetBackground`): LUT colour 0 in LUT modes, white in the W
    /// modes, black otherwise.
    pub(crate) fn raster_background(&self) -> u32 {
        if self.mode.is_lut() {
            self.lut[0]
        } else if self.mode.is_white() {
            0xFF_FFFF
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hue_samples_from_the_spec() {
        let samples = [
            (0, 0xFF0000),
            (21, 0xFF5200),
            (42, 0xFFD000),
            (64, 0xABFF00),
            (85, 0x2DFF00),
            (107, 0x00FF56),
            (128, 0x00FFD4),
            (149, 0x00ADFF),
            (170, 0x002FFF),
            (192, 0x5400FF),
            (213, 0xD200FF),
            (234, 0xFF00AF),
            (255, 0xFF0031),
        ];
        for (i, rgb) in samples {
            assert_eq!(HUE[i], rgb, "HUE[{i}]");
        }
    }

    /// A number as PNut's x87 FPU holds it (64 significant bits), as a fixed-point integer of 2⁻¹⁰⁰ units: exact
    /// for every value `SetPolarColors` meets (zero, or between 2⁻³⁶ and 2⁹).
    #[derive(Clone, Copy, PartialEq, PartialOrd, Debug)]
    struct X87(i128);

    impl X87 {
        const FRACTION: u32 = 100;

        fn int(n: i64) -> Self {
            Self(i128::from(n) << Self::FRACTION)
        }

        /// `magnitude` (plus `sticky`: more non-zero bits below it) to 64 significant bits, nearest, ties to even.
        fn rounded(negative: bool, magnitude: u128, sticky: bool) -> Self {
            let top = 127 - magnitude.leading_zeros().min(127);
            let magnitude = if top < 64 {
                assert!(!sticky, "a value below 2^-36 left the fixed-point range");
                magnitude
            } else {
                let drop = top - 63;
                let low = magnitude & ((1 << drop) - 1);
                let half = 1u128 << (drop - 1);
                let up = low > half || (low == half && (sticky || (magnitude >> drop) & 1 == 1));
                ((magnitude >> drop) + u128::from(up)) << drop
            };
            let value = magnitude as i128;
            Self(if negative { -value } else { value })
        }

        fn add(self, other: Self) -> Self {
            let sum = self.0 + other.0;
            Self::rounded(sum < 0, sum.unsigned_abs(), false)
        }

        fn sub(self, other: Self) -> Self {
            self.add(Self(-other.0))
        }

        fn mul_int(self, n: i64) -> Self {
            let product = self.0 * i128::from(n);
            Self::rounded(product < 0, product.unsigned_abs(), false)
        }

        /// FDIV: long division to 2⁻¹⁰⁰, the remainder as the sticky bit.
        fn div(self, other: Self) -> Self {
            let (a, b) = (self.0.unsigned_abs(), other.0.unsigned_abs());
            let (mut quotient, mut remainder) = (a / b, a % b);
            for _ in 0..Self::FRACTION {
                quotient <<= 1;
                remainder <<= 1;
                if remainder >= b {
                    remainder -= b;
                    quotient |= 1;
                }
            }
            Self::rounded((self.0 < 0) != (other.0 < 0), quotient, remainder != 0)
        }

        /// Delphi's `Round`: FISTP under the FPU's default rounding, nearest with ties to even. Also says whether
        /// the value was an exact half.
        fn round(self) -> (u32, bool) {
            assert!(self.0 >= 0);
            let whole = self.0 >> Self::FRACTION;
            let fraction = self.0 & ((1 << Self::FRACTION) - 1);
            let half = 1i128 << (Self::FRACTION - 1);
            let up = fraction > half || (fraction == half && whole & 1 == 1);
            ((whole + i128::from(up)) as u32, fraction == half)
        }
    }

    /// `SetPolarColors` as PNut v55's compiler emits it: `(i + tuning) + (j·256)/3` in extended precision, the
    /// folded constants `256·2/6`, `256·5/6` (rounded to 64 bits) and the ramp widths `128 − 256·2/6`,
    /// `256 − 256·5/6` (exact from those), then `(k − 256·2/6)/width·255` or `(256 − k)/width·255` and `Round`.
    /// Returns the table and the entries whose ramp value was an exact half.
    fn pnut_hue_table() -> ([u32; 256], Vec<(usize, usize)>) {
        let tuning = X87::int(-72).div(X87::int(10));
        let two_sixths = X87::int(512).div(X87::int(6));
        let five_sixths = X87::int(1280).div(X87::int(6));
        let rise_width = X87::int(128).sub(two_sixths);
        let fall_width = X87::int(256).sub(five_sixths);
        let mut table = [0u32; 256];
        let mut ties = Vec::new();
        for (i, entry) in table.iter_mut().enumerate() {
            for j in 0..3 {
                let mut k = X87::int(i as i64)
                    .add(tuning)
                    .add(X87::int(j as i64 * 256).div(X87::int(3)));
                if k >= X87::int(256) {
                    k = k.sub(X87::int(256));
                }
                let value = if k < two_sixths {
                    0
                } else if k < X87::int(128) {
                    let (v, tie) = k.sub(two_sixths).div(rise_width).mul_int(255).round();
                    if tie {
                        ties.push((i, j));
                    }
                    v
                } else if k < five_sixths {
                    255
                } else {
                    let (v, tie) = X87::int(256).sub(k).div(fall_width).mul_int(255).round();
                    if tie {
                        ties.push((i, j));
                    }
                    v
                };
                *entry |= value << (8 * j);
            }
        }
        (table, ties)
    }

    #[test]
    fn hue_is_what_pnuts_x87_code_computes() {
        let (pnut, ties) = pnut_hue_table();
        for (i, (ours, theirs)) in HUE.iter().zip(pnut).enumerate() {
            assert_eq!(*ours, theirs, "HUE[{i}]: {ours:06X}, PNut {theirs:06X}");
        }
        // The two exact halves of the exact arithmetic: the rising one is no tie in extended precision and
        // rounds up (a ties-to-even rule on exact values would give 76); the falling one is an exact half there
        // and goes to the even 178 (ties away from zero would give 179).
        assert_eq!(ties, [(148, 1)]);
        assert_eq!(HUE[20], 0xFF4D00);
        assert_eq!(HUE[148], 0x00B2FF);
        // The folded constants are the ones in PNut v55's code for SetPolarColors: −7.2 = −0xE666…666·2⁻⁶¹,
        // 256·2/6 = 0xAAAA…AAAB·2⁻⁵⁷, 256·5/6 = 0xD555…5555·2⁻⁵⁶.
        assert_eq!(X87::int(-72).div(X87::int(10)).0, -(0xE666_6666_6666_6666 << 39));
        assert_eq!(X87::int(512).div(X87::int(6)).0, 0xAAAA_AAAA_AAAA_AAAB << 43);
        assert_eq!(X87::int(1280).div(X87::int(6)).0, 0xD555_5555_5555_5555 << 44);
    }

    #[test]
    fn named_colours_from_the_spec() {
        let at8 = [
            (Keyword::Orange, 0xFF8409),
            (Keyword::Blue, 0x0909FF),
            (Keyword::Green, 0x09FF09),
            (Keyword::Cyan, 0x09FFFF),
            (Keyword::Red, 0xFF0909),
            (Keyword::Magenta, 0xFF09FF),
            (Keyword::Yellow, 0xFFFF09),
            (Keyword::Gray, 0x848484),
        ];
        for (key, rgb) in at8 {
            assert_eq!(named(key, 8), Some(rgb), "{key:?}");
        }
        assert_eq!(named(Keyword::Red, 15), Some(0xFFEFEF));
        assert_eq!(named(Keyword::Red, 4), Some(0x840000));
        assert_eq!(named(Keyword::Red, 0), Some(0x000000));
        assert_eq!(named(Keyword::Black, 8), Some(0));
        assert_eq!(named(Keyword::White, 0), Some(0xFF_FFFF));
        assert_eq!(named(Keyword::Title, 8), None);
    }

    #[test]
    fn blend_rounds_every_channel_value_half_to_even() {
        for alpha in 0..=255 {
            for dst in 0..=255 {
                for src in 0..=255 {
                    let sum = dst * dst * (255 - alpha) + src * src * alpha;
                    let expected = ((sum as f64) / 256.0).sqrt().round_ties_even() as u32;
                    assert_eq!(blend_channel(dst, src, alpha), expected, "{dst} {src} {alpha}");
                }
            }
        }
    }

    #[test]
    fn a_colour_blended_over_itself_stays() {
        for alpha in 0..=255 {
            for c in 0..=255 {
                assert_eq!(blend_channel(c, c, alpha), c, "{c} at {alpha}");
            }
        }
    }

    #[test]
    fn gamma_blend() {
        assert_eq!(blend(0x000000, 0xFFFFFF, 0), 0);
        // sqrt(255²·128/256) = 180.3
        assert_eq!(blend(0x000000, 0xFF0000, 128), 0xB40000);
        assert_eq!(
            blend(0x102030, 0x102030, 0),
            0x102030,
            "alpha 0 keeps the destination (255/256 of it, rounded)"
        );
    }
}
