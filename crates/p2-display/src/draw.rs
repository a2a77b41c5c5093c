//! Drawing into a display's back buffer, with PNut's own algorithms (docs/p2-displays.md A.0 "Geometry and
//! drawing"):
//!
//! - [`smooth_line`] / [`smooth_dot`]: anti-aliased lines and dots in 1/256 pixel with round ends (DDU
//!   `SmoothLine`, `SmoothDot`, `SmoothClip`, `SmoothPixel`), gamma-2 blended.
//! - [`smooth_shape`]: boxes, rounded boxes, ellipses and their frames (DDU `SmoothShape`): straight edges are
//!   exact pixel spans (A.7's box rule), curved corners are anti-aliased from quarter-ellipse tables.
//! - [`fill_rect`], [`frame_rect`], [`gdi_line`]: the GDI calls PNut makes on its canvas (`FillRect`,
//!   `FrameRect`, `MoveTo`/`LineTo` with a 1-pixel pen, solid or dotted), which never anti-alias.
//!
//! None of these go through a general rasteriser such as tiny-skia: PNut's pixels come from these integer
//! tables and spans, and a coverage-based rasteriser gives different edge pixels (its AA is area coverage
//! with linear blending; PNut's is a per-axis opacity product with gamma-2 blending). Porting the algorithms is
//! what makes the pixels the same.

use crate::color::blend;
use crate::frame::{Canvas, Damage, Rect};

#[cfg(test)]
pub(crate) mod reference;

/// The largest shape PNut draws (`SmoothFillMax`): sizes above it are ignored.
const SMOOTH_FILL_MAX: i32 = 2048;

/// One pixel at `opacity` 0–255: written when opaque, gamma-blended otherwise.
#[inline]
fn plot(canvas: &mut Canvas, x: i32, y: i32, color: u32, opacity: u32) {
    if opacity == 0 || x < 0 || y < 0 || x as u32 >= canvas.width() || y as u32 >= canvas.height() {
        return;
    }
    let (x, y) = (x as u32, y as u32);
    let pixel = canvas.back.pixel_mut(x, y);
    // Blending a colour over itself keeps it (each channel c·√(255/256) rounds back to c): a trace's core pixels,
    // covered again by every overlapping segment, cost nothing.
    if *pixel == color {
        return;
    }
    *pixel = if opacity == 0xFF {
        color
    } else {
        blend(*pixel, color, opacity)
    };
    canvas.pending.add_pixel(x, y);
}

/// Cohen–Sutherland clipping of a segment to the buffer in 1/256 pixel (DDU `SmoothClip`); `false` if nothing of
/// it is inside.
fn smooth_clip(width: u32, height: u32, x1: &mut i32, y1: &mut i32, x2: &mut i32, y2: &mut i32) -> bool {
    let (left, bottom) = (0i32, 0i32);
    let right = ((width as i32) << 8) - 1;
    let top = ((height as i32) << 8) - 1;
    let outcode = |x: i32, y: i32| {
        let mut code = 0;
        if x < left {
            code |= 1;
        } else if x > right {
            code |= 2;
        }
        if y < bottom {
            code |= 4;
        } else if y > top {
            code |= 8;
        }
        code
    };
    let (mut out1, mut out2) = (outcode(*x1, *y1), outcode(*x2, *y2));
    if out1 | out2 == 0 {
        return true;
    }
    let (mut fx1, mut fy1, mut fx2, mut fy2) = (f64::from(*x1), f64::from(*y1), f64::from(*x2), f64::from(*y2));
    // Each pass moves one end onto an edge; four passes always settle it (the bound guards against NaN).
    for _ in 0..8 {
        if out1 | out2 == 0 {
            return true;
        }
        if out1 & out2 != 0 {
            return false;
        }
        let outx = if out1 != 0 { out1 } else { out2 };
        let (fx, fy) = if outx & 8 != 0 {
            ((fx2 - fx1) * (f64::from(top) - fy1) / (fy2 - fy1) + fx1, f64::from(top))
        } else if outx & 4 != 0 {
            (
                (fx2 - fx1) * (f64::from(bottom) - fy1) / (fy2 - fy1) + fx1,
                f64::from(bottom),
            )
        } else if outx & 2 != 0 {
            (
                f64::from(right),
                (fy2 - fy1) * (f64::from(right) - fx1) / (fx2 - fx1) + fy1,
            )
        } else {
            (
                f64::from(left),
                (fy2 - fy1) * (f64::from(left) - fx1) / (fx2 - fx1) + fy1,
            )
        };
        if outx == out1 {
            (fx1, fy1) = (fx, fy);
            (*x1, *y1) = (fx as i32, fy as i32);
            out1 = outcode(*x1, *y1);
        } else {
            (fx2, fy2) = (fx, fy);
            (*x2, *y2) = (fx as i32, fy as i32);
            out2 = outcode(*x2, *y2);
        }
    }
    false
}

/// A dot of `radius` (1/256 px) at `(x, y)` (1/256 px) (DDU `SmoothDot`).
pub(crate) fn smooth_dot(canvas: &mut Canvas, x: i32, y: i32, radius: i32, color: u32, opacity: u32) {
    smooth_line(canvas, x, y, x, y, radius, color, opacity);
}

/// The largest radius PNut draws, in pixels (`maxr`).
const MAX_RADIUS: i32 = 128;
/// The half-width of PNut's line tables (`limr`).
const LIMIT_SPAN: usize = MAX_RADIUS as usize + 1;
/// The half-width of the stack tables for lines thinner than 15 px, the usual case, which are cheaper to set up.
const SMALL_SPAN: usize = 15;

/// `round(sqrt(r² − min(|d|, r_cap)²))`, PNut's slice half-height. Exact: the root of an integer is never a half,
/// so adding ½ and truncating rounds it.
#[inline]
fn chord(r: i32, d: i32, cap: i32) -> i32 {
    let d = f64::from(d.abs().min(cap));
    ((f64::from(r) * f64::from(r) - d * d).sqrt() + 0.5) as i32
}

/// One of `SmoothLine`'s six lookup tables for a line end: chords at offsets `p·256 + fraction` for `p` in
/// `-span..=span`, read as PNut reads them (an index beyond the span reads 0, PNut's never-computed entries;
/// beyond PNut's full 129 it reads the last entry).
#[derive(Clone, Copy)]
struct Row<'a>(&'a [i32]);

impl Row<'_> {
    #[inline]
    fn get(self, i: i32) -> i32 {
        let span = (self.0.len() / 2) as i32;
        if (-span..=span).contains(&i) {
            self.0[(i + span) as usize]
        } else if span == LIMIT_SPAN as i32 {
            self.0[(i.clamp(-span, span) + span) as usize]
        } else {
            0
        }
    }
}

/// A radius capped as PNut caps it, and its table half-width.
fn radius_and_span(radius: i32) -> (i32, i32) {
    let radius = radius.min(MAX_RADIUS << 8);
    (radius, (radius >> 8) + 1)
}

/// `SmoothLine`'s chord tables for one radius at every sub-pixel fraction, computed once, and the slants of the
/// line directions met recently: a trace of thousands of short segments of one width (a SCOPE's 2,048 samples
/// per channel step by the same x) then costs no square root or division to set up, where `SmoothLine` computes
/// 6·(2·span + 1) roots, an arctangent, a sine and a cosine, and two divisions per line.
#[derive(Clone, Debug)]
pub(crate) struct LineTables {
    radius: i32,
    width: usize,
    /// `chord(radius, p·256 + f, radius)` at row `f + 128`.
    slice: Box<[i32]>,
    /// `chord(radius + 128, p·256 + f, radius)` at row `f + 128`.
    cap: Box<[i32]>,
    /// Slants by direction, direct-mapped.
    slants: Box<[Option<Slant>; SLANTS]>,
}

/// Entries in [`LineTables`]' slant cache.
const SLANTS: usize = 256;

/// What a line's set-up derives from its direction alone (`dx ≥ |dy|`): the 16-bit-fraction slope, where the round
/// ends meet the straight part, and the half-height of a vertical slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slant {
    direction: (i32, i32),
    slope: i64,
    departure: i32,
    slice: i32,
}

impl Slant {
    fn new(radius: i32, dx: i32, dy: i32) -> Self {
        let (departure, cosine) = departure_and_cosine(radius, dx, dy);
        Slant {
            direction: (dx, dy),
            slope: 0x10000i64 * i64::from(dy) / i64::from(dx.max(1)),
            departure,
            slice: radius.wrapping_mul(0x10000) / cosine.max(1),
        }
    }
}

impl LineTables {
    /// The tables for `radius` (1/256 px; negative draws nothing, as in [`smooth_line`]).
    pub(crate) fn new(radius: i32) -> Self {
        let (capped, span) = radius_and_span(radius.max(0));
        let width = 2 * span as usize + 1;
        let (mut slice, mut cap) = (Vec::with_capacity(256 * width), Vec::with_capacity(256 * width));
        for f in -128..128 {
            for p in -span..=span {
                slice.push(chord(capped, (p << 8) + f, capped));
                cap.push(chord(capped + 0x80, (p << 8) + f, capped));
            }
        }
        Self {
            radius,
            width,
            slice: slice.into(),
            cap: cap.into(),
            slants: Box::new([None; SLANTS]),
        }
    }

    /// The slant of direction `(dx, dy)`, from the cache or computed into it.
    #[inline]
    fn slant(&mut self, dx: i32, dy: i32) -> Slant {
        let slot = (dx.wrapping_mul(31).wrapping_add(dy) as u32 as usize) % SLANTS;
        match self.slants[slot] {
            Some(slant) if slant.direction == (dx, dy) => slant,
            _ => {
                let slant = Slant::new(self.radius_capped(), dx, dy);
                self.slants[slot] = Some(slant);
                slant
            }
        }
    }

    fn radius_capped(&self) -> i32 {
        radius_and_span(self.radius).0
    }

    fn rows(&self, fraction: i32) -> (Row<'_>, Row<'_>) {
        let start = (fraction + 128) as usize * self.width;
        (
            Row(&self.slice[start..start + self.width]),
            Row(&self.cap[start..start + self.width]),
        )
    }
}

/// An anti-aliased line from `(x1, y1)` to `(x2, y2)` with round ends of `radius`, all in 1/256 pixel (DDU
/// `SmoothLine`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn smooth_line(
    canvas: &mut Canvas,
    x1: i32,
    y1: i32,
    x2: i32,
    y2: i32,
    radius: i32,
    color: u32,
    opacity: u32,
) {
    let Some(line) = Line::clip(canvas, x1, y1, x2, y2, radius, color, opacity) else {
        return;
    };
    if line.span < SMALL_SPAN as i32 {
        line.draw_computing::<{ 2 * SMALL_SPAN + 1 }>(canvas);
    } else {
        line.draw_computing::<{ 2 * LIMIT_SPAN + 1 }>(canvas);
    }
}

/// [`smooth_line`] with the radius and tables of `tables`: the same pixels, faster.
#[allow(clippy::too_many_arguments)]
pub(crate) fn smooth_line_with(
    canvas: &mut Canvas,
    tables: &mut LineTables,
    x1: i32,
    y1: i32,
    x2: i32,
    y2: i32,
    color: u32,
    opacity: u32,
) {
    let Some(line) = Line::clip(canvas, x1, y1, x2, y2, tables.radius, color, opacity) else {
        return;
    };
    let slant = tables.slant(line.x2 - line.x1, line.y2 - line.y1);
    let (y1_lut1, y1_lut2) = tables.rows(line.x1f);
    let (y2_lut1, y2_lut2) = tables.rows(line.x2f);
    let x1_lut2 = tables.rows(line.y1f).1;
    let x2_lut2 = tables.rows(line.y2f).1;
    line.draw([y1_lut1, y2_lut1, x1_lut2, y1_lut2, x2_lut2, y2_lut2], slant, canvas);
}

/// A clipped line, x-dominant (`swap` when the axes were exchanged for that), `x1 ≤ x2`, with its sub-pixel
/// fractions.
struct Line {
    x1: i32,
    y1: i32,
    x2: i32,
    y2: i32,
    x1f: i32,
    y1f: i32,
    x2f: i32,
    y2f: i32,
    radius: i32,
    span: i32,
    swap: bool,
    color: u32,
    opacity: u32,
}

impl Line {
    /// `SmoothLine`'s set-up: centred in pixels, clipped, capped, made x-dominant left to right.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn clip(
        canvas: &Canvas,
        x1: i32,
        y1: i32,
        x2: i32,
        y2: i32,
        radius: i32,
        color: u32,
        opacity: u32,
    ) -> Option<Line> {
        // Centre the 8-bit-fraction coordinates within pixels.
        let (mut x1, mut y1, mut x2, mut y2) = (
            x1.wrapping_add(0x80),
            y1.wrapping_add(0x80),
            x2.wrapping_add(0x80),
            y2.wrapping_add(0x80),
        );
        if radius < 0 || !smooth_clip(canvas.width(), canvas.height(), &mut x1, &mut y1, &mut x2, &mut y2) {
            return None;
        }
        let (radius, span) = radius_and_span(radius);
        let swap = (y2 - y1).abs() > (x2 - x1).abs();
        if swap {
            (x1, y1, x2, y2) = (y1, x1, y2, x2);
        }
        if x1 > x2 {
            (x1, y1, x2, y2) = (x2, y2, x1, y1);
        }
        Some(Line {
            x1,
            y1,
            x2,
            y2,
            x1f: (x1 & 0xFF) - 0x80,
            y1f: (y1 & 0xFF) - 0x80,
            x2f: (x2 & 0xFF) - 0x80,
            y2f: (y2 & 0xFF) - 0x80,
            radius,
            span,
            swap,
            color,
            opacity,
        })
    }

    /// Draws with tables computed for this line alone (`LEN` ≥ 2·span + 1 entries of stack each).
    fn draw_computing<const LEN: usize>(self, canvas: &mut Canvas) {
        let (span, radius) = (self.span, self.radius);
        let width = 2 * span as usize + 1;
        let mut tables = [[0i32; LEN]; 6];
        for (i, p) in (-span..=span).enumerate() {
            // 1-D slices at the true radius; 2-D slices at radius + ½ px, which the opacity product brings back.
            tables[0][i] = chord(radius, (p << 8) + self.x1f, radius);
            tables[1][i] = chord(radius, (p << 8) + self.x2f, radius);
            tables[2][i] = chord(radius + 0x80, (p << 8) + self.y1f, radius);
            tables[3][i] = chord(radius + 0x80, (p << 8) + self.x1f, radius);
            tables[4][i] = chord(radius + 0x80, (p << 8) + self.y2f, radius);
            tables[5][i] = chord(radius + 0x80, (p << 8) + self.x2f, radius);
        }
        let rows = std::array::from_fn(|i| Row(&tables[i][..width]));
        let slant = Slant::new(radius, self.x2 - self.x1, self.y2 - self.y1);
        self.draw(rows, slant, canvas);
    }

    /// The body of `SmoothLine`, given its tables `y1_lut1, y2_lut1, x1_lut2, y1_lut2, x2_lut2, y2_lut2` and slant.
    fn draw(self, rows: [Row<'_>; 6], slant: Slant, canvas: &mut Canvas) {
        match (self.swap, rows[0].0.len()) {
            (false, 3) => self.draw_as::<false, 3>(rows, slant, canvas),
            (true, 3) => self.draw_as::<true, 3>(rows, slant, canvas),
            (false, 5) => self.draw_as::<false, 5>(rows, slant, canvas),
            (true, 5) => self.draw_as::<true, 5>(rows, slant, canvas),
            (false, _) => self.draw_as::<false, 0>(rows, slant, canvas),
            (true, _) => self.draw_as::<true, 0>(rows, slant, canvas),
        }
    }

    /// [`draw`](Self::draw) with the axis swap and, for the thin lines of every trace (radius under 2 px), the
    /// table width `ROWS` known at compile time (0: any width): these pixel loops are the inner loop of every
    /// trace, so they carry no decision a line settles once, and a round end's column is unrolled.
    #[inline(always)]
    fn draw_as<const SWAP: bool, const ROWS: usize>(
        self,
        [y1_lut1, y2_lut1, x1_lut2, y1_lut2, x2_lut2, y2_lut2]: [Row<'_>; 6],
        slant: Slant,
        canvas: &mut Canvas,
    ) {
        let Line {
            x1,
            y1,
            x2,
            y2,
            x1f,
            y1f,
            x2f,
            y2f,
            radius,
            span,
            color,
            opacity,
            ..
        } = self;
        let mut target = Target::new(canvas, color, opacity);
        // x at pixel centres; y stepped with a 16-bit fraction.
        let x_left = ((x1 - radius) & !0xFF) + 0x80;
        let x_right = ((x2 + radius) & !0xFF) + 0x80;
        let Slant {
            slope,
            departure: dx,
            slice,
            ..
        } = slant;
        let mut y_acc = slope * i64::from(x_left - x1) / 0x100 + i64::from(y1) * 0x100;
        let (left_top, left_bottom, right_top, right_bottom) = (x1 + dx, x1 - dx, x2 + dx, x2 - dx);
        let mut x = x_left;
        while x <= x_right {
            if x <= left_top && x <= left_bottom {
                // Left round end, before the line leaves it: a 2-D slice.
                let xp = x1 / 0x100 - x / 0x100;
                target.end_cap::<SWAP, ROWS>(x >> 8, y1 >> 8, x1_lut2, y1_lut2.get(xp), (xp, span), (x1f, y1f));
            } else if x >= right_top && x >= right_bottom {
                let xp = x2 / 0x100 - x / 0x100;
                target.end_cap::<SWAP, ROWS>(x >> 8, y2 >> 8, x2_lut2, y2_lut2.get(xp), (xp, span), (x2f, y2f));
            } else {
                // Between the ends: a 1-D vertical slice, its end pixels at their fractional coverage.
                let y = (y_acc / 0x100) as i32;
                let mut y_bottom = if x <= left_top {
                    y1 - y1_lut1.get(x1 / 0x100 - x / 0x100)
                } else if x >= right_top {
                    y2 - y2_lut1.get(x2 / 0x100 - x / 0x100)
                } else {
                    y - slice
                };
                let y_top = if x <= left_bottom {
                    y1 + y1_lut1.get(x1 / 0x100 - x / 0x100)
                } else if x >= right_bottom {
                    y2 + y2_lut1.get(x2 / 0x100 - x / 0x100)
                } else {
                    y + slice
                };
                while y_bottom < y_top {
                    let next = (y_bottom | 0xFF) + 1;
                    let o = if y_top < next {
                        y_top - y_bottom
                    } else {
                        !y_bottom & 0xFF
                    };
                    target.put::<SWAP>(x >> 8, y_bottom >> 8, o as u32);
                    y_bottom = next;
                }
            }
            x += 0x100;
            y_acc += slope;
        }
        let drawn = target.drawn;
        canvas.pending.merge(drawn);
    }
}

/// The back buffer as one line draws into it (DDU `SmoothPixel`): one colour at one opacity, and the box of the
/// pixels it changed, kept here and added to the canvas's damage once per line.
struct Target<'a> {
    pixels: &'a mut [u32],
    width: u32,
    height: u32,
    color: u32,
    opacity: u32,
    drawn: Damage,
}

impl<'a> Target<'a> {
    fn new(canvas: &'a mut Canvas, color: u32, opacity: u32) -> Self {
        let (width, height) = (canvas.width(), canvas.height());
        Self {
            pixels: canvas.back.pixels_mut(),
            width,
            height,
            color,
            opacity,
            drawn: Damage::NONE,
        }
    }

    /// The pixel at `(major, minor)` (`(x, y)`, or `(y, x)` when `SWAP`) at `coverage · opacity`, gamma-blended.
    #[inline(always)]
    fn put<const SWAP: bool>(&mut self, major: i32, minor: i32, coverage: u32) {
        let opacity = (coverage * self.opacity + 0xFF) >> 8;
        if opacity == 0 {
            return;
        }
        let (x, y) = if SWAP { (minor, major) } else { (major, minor) };
        // A negative coordinate wraps past the size.
        let (x, y) = (x as u32, y as u32);
        if x >= self.width || y >= self.height {
            return;
        }
        let pixel = &mut self.pixels[y as usize * self.width as usize + x as usize];
        // Blending a colour over itself keeps it (each channel c·√(255/256) rounds back to c): a trace's core
        // pixels, covered again by every overlapping segment, cost nothing.
        if *pixel == self.color {
            return;
        }
        *pixel = if opacity == 0xFF {
            self.color
        } else {
            blend(*pixel, self.color, opacity)
        };
        self.drawn.add_pixel(x, y);
    }

    /// One column of a round end (a 2-D slice), `xp` pixels from the end's centre column, rows `-span..=span`
    /// from its centre `row`: each pixel at the product of its coverage across (the chord `across` of its row) and
    /// along (`along`, the chord of this column), each less the distance from the sub-pixel centre `(fx, fy)`.
    #[inline(always)]
    fn end_cap<const SWAP: bool, const ROWS: usize>(
        &mut self,
        column: i32,
        row: i32,
        across: Row<'_>,
        along: i32,
        (xp, span): (i32, i32),
        (fx, fy): (i32, i32),
    ) {
        let across_offset = from_centre(xp, fx);
        match <&[i32; ROWS]>::try_from(across.0) {
            Ok(chords) => {
                for (i, &chord) in chords.iter().enumerate() {
                    let yp = i as i32 - (ROWS / 2) as i32;
                    self.cap_pixel::<SWAP>(column, row - yp, chord - across_offset, along - from_centre(yp, fy));
                }
            }
            Err(_) => {
                for (yp, &chord) in (-span..=span).zip(across.0) {
                    self.cap_pixel::<SWAP>(column, row - yp, chord - across_offset, along - from_centre(yp, fy));
                }
            }
        }
    }

    /// One pixel of a round end at the product of its coverage across and along, each clamped to 0–255.
    #[inline(always)]
    fn cap_pixel<const SWAP: bool>(&mut self, major: i32, minor: i32, across: i32, along: i32) {
        let (xo, yo) = (across.clamp(0, 0xFF) as u32, along.clamp(0, 0xFF) as u32);
        self.put::<SWAP>(major, minor, (xo * yo + 0xFF) >> 8);
    }
}

/// How far, in 1/256 px, the centre of the pixel `p` pixels from a round end's centre pixel is from the end's
/// sub-pixel centre `f`; the centre pixel itself is not reduced (PNut's `xp = 0` and `yp = 0` cases).
#[inline(always)]
fn from_centre(p: i32, f: i32) -> i32 {
    ((p << 8) + f).abs() * i32::from(p != 0)
}

/// PNut's `Round(radius · Sin(th))` and `Round(Cos(th) · $10000)` for `th = ArcTan2(dy, dx)`, `dx ≥ |dy|`, from
/// `sin = dy / hypot`, `cos = dx / hypot` (no trigonometry: a line costs ten times less). Neither value can be an
/// exact half for integer `dx`, `dy` (it would need an odd hypotenuse dividing a power of two), so the rounding
/// agrees with PNut's except where `f64` and x87 would both be within a few ulps of a half.
#[inline]
fn departure_and_cosine(radius: i32, dx: i32, dy: i32) -> (i32, i32) {
    if dy == 0 {
        return (0, 0x10000);
    }
    let (fx, fy) = (f64::from(dx), f64::from(dy));
    let hypot = (fx * fx + fy * fy).sqrt();
    // To the nearest (never a tie); `as` truncates, so round the magnitude.
    let nearest = |v: f64| if v < 0.0 { -((0.5 - v) as i32) } else { (v + 0.5) as i32 };
    (nearest(f64::from(radius) * fy / hypot), nearest(fx * 65536.0 / hypot))
}

/// A row span of `count + 1` pixels from `(x, y)` at `opacity` (DDU `SmoothFill`), clipped.
fn smooth_fill(canvas: &mut Canvas, x: i32, y: i32, count: i32, color: u32, opacity: u32) {
    let (width, height) = (canvas.width() as i32, canvas.height() as i32);
    if y < 0 || y >= height {
        return;
    }
    let (mut x, mut count) = (x, count);
    if x < 0 {
        count = count.saturating_add(x);
        if count < 0 {
            return;
        }
        x = 0;
    }
    if x >= width || count < 0 {
        return;
    }
    if x.saturating_add(count) >= width {
        count = width - 1 - x;
    }
    let rect = Rect::new(x as u32, y as u32, count as u32 + 1, 1);
    if opacity == 0xFF {
        canvas.back.fill_rect(rect, color);
    } else if opacity != 0 {
        for px in rect.x..rect.right() {
            let pixel = canvas.back.pixel_mut(px, rect.y);
            *pixel = blend(*pixel, color, opacity);
        }
    } else {
        return;
    }
    canvas.touch(rect);
}

/// `xs × ys` pixels from `(x, y)` (DDU `SmoothRect`). PNut loops `for row := y to y + ys − 1` with that bound in
/// wrapping 32-bit arithmetic (an empty loop when it wraps below `y`); only the rows inside the canvas are walked
/// here, so a frame thickness near 2³¹ costs no billion empty rows.
fn smooth_rect(canvas: &mut Canvas, x: i32, y: i32, xs: i32, ys: i32, color: u32, opacity: u32) {
    if xs == 0 || ys == 0 {
        return;
    }
    let last = y.wrapping_add(ys).wrapping_sub(1);
    if last < y {
        return;
    }
    let height = canvas.height() as i32;
    for row in y.max(0)..=last.min(height - 1) {
        smooth_fill(canvas, x, row, xs.wrapping_sub(1), color, opacity);
    }
}

/// A box `xs × ys` centred on `(xc, yc)` (whole pixels) with corner radii `xro × yro` (0 = square), filled
/// when `thick` is 0 or covers it, else a frame `thick` pixels wide inside the outline (DDU `SmoothShape`).
///
/// Box pixel rule (A.7): columns `xc − ⌊xs/2⌋ ..= xc − ⌊xs/2⌋ + xs − 1`, rows likewise.
#[allow(clippy::too_many_arguments)]
pub(crate) fn smooth_shape(
    canvas: &mut Canvas,
    xc: i32,
    yc: i32,
    xs: i32,
    ys: i32,
    xro: i32,
    yro: i32,
    thick: i32,
    color: u32,
    opacity: u32,
) {
    let (width, height) = (canvas.width() as i32, canvas.height() as i32);
    if !(-SMOOTH_FILL_MAX..=width + SMOOTH_FILL_MAX).contains(&xc)
        || !(-SMOOTH_FILL_MAX..=height + SMOOTH_FILL_MAX).contains(&yc)
        || !(1..=SMOOTH_FILL_MAX).contains(&xs)
        || !(1..=SMOOTH_FILL_MAX).contains(&ys)
        || !(0..=SMOOTH_FILL_MAX >> 1).contains(&xro)
        || !(0..=SMOOTH_FILL_MAX >> 1).contains(&yro)
        || thick < 0
    {
        return;
    }
    // PNut's 32-bit arithmetic wraps: a thickness of 2³⁰ or more doubles to a negative number, so such a frame is
    // not solid, and its pieces land where the wrapped sums put them.
    let double = thick.wrapping_shl(1);
    let mut solid = thick == 0 || double >= xs || double >= ys;
    if xro == 0 || yro == 0 {
        let (xl, xr) = (xc - (xs >> 1), xc + (xs - (xs >> 1)));
        let (yt, yb) = (yc - (ys >> 1), yc + (ys - (ys >> 1)));
        if solid {
            smooth_rect(canvas, xl, yt, xs, ys, color, opacity);
        } else {
            let inner = ys.wrapping_sub(double);
            let below = yt.wrapping_add(thick);
            smooth_rect(canvas, xl, yt, xs, thick, color, opacity);
            smooth_rect(canvas, xl, yb.wrapping_sub(thick), xs, thick, color, opacity);
            smooth_rect(canvas, xl, below, thick, inner, color, opacity);
            smooth_rect(canvas, xr.wrapping_sub(thick), below, thick, inner, color, opacity);
        }
        return;
    }
    let xro = if xro << 1 > xs { xs >> 1 } else { xro };
    let yro = if yro << 1 > ys { ys >> 1 } else { yro };
    let (mut xri, mut yri) = (xro - thick, yro - thick);
    if solid || xri <= 0 || yri <= 0 {
        solid = true;
        (xri, yri) = (0, 0);
    }
    // Flats between the corners, and the corner centres.
    let (xf, yf) = (xs - (xro << 1), ys - (yro << 1));
    let (xl, xr) = (xc - (xf >> 1), xc + (xf - (xf >> 1)));
    let (yt, yb) = (yc - (yf >> 1), yc + (yf - (yf >> 1)));
    if solid {
        smooth_rect(canvas, xl, yt - yro, xf, yro, color, opacity);
        smooth_rect(canvas, xl, yb, xf, yro, color, opacity);
        smooth_rect(canvas, xl - xro, yt, xs, yf, color, opacity);
    } else {
        smooth_rect(canvas, xl, yt - yro, xf, yro - yri, color, opacity);
        smooth_rect(canvas, xl, yb + yri, xf, yro - yri, color, opacity);
        smooth_rect(canvas, xl - xro, yt, xro - xri, yf, color, opacity);
        smooth_rect(canvas, xr + xri, yt, xro - xri, yf, color, opacity);
    }
    // Quarter-ellipse tables ×256; the biases 1/(r+1) shade small radii better (PNut's tuning).
    let yo_bias = 1.0 / f64::from(xro + 1);
    let yi_bias = 1.0 - 1.0 / f64::from(xri + 1);
    let xo_bias = 1.0 / f64::from(yro + 1);
    let xi_bias = 1.0 - 1.0 / f64::from(yri + 1);
    let quarter = |t: f64, r: i32, other: i32| ((t / f64::from(r)).acos().sin() * f64::from(other) * 256.0) as i32;
    let mut yo_lut = [0i32; (SMOOTH_FILL_MAX >> 1) as usize];
    let mut yi_lut = [0i32; (SMOOTH_FILL_MAX >> 1) as usize];
    let mut xo_lut = [0i32; (SMOOTH_FILL_MAX >> 1) as usize];
    let mut xi_lut = [0i32; (SMOOTH_FILL_MAX >> 1) as usize];
    for x in 0..xro {
        yo_lut[x as usize] = quarter(f64::from(x) + yo_bias, xro, yro);
        yi_lut[x as usize] = if x >= xri {
            0
        } else {
            quarter(f64::from(x) + yi_bias, xri, yri)
        };
    }
    for y in 0..yro {
        xo_lut[y as usize] = quarter(f64::from(y) + xo_bias, yro, xro);
        xi_lut[y as usize] = if y >= yri {
            0
        } else {
            quarter(f64::from(y) + xi_bias, yri, xri)
        };
    }
    let (left, right) = (xl - 1, xr);
    for y in 0..yro {
        let (top, bottom) = (yt - 1 - y, yb + y);
        let (xo, xi) = (xo_lut[y as usize], xi_lut[y as usize]);
        let mut x = xo >> 8;
        while x >= 0 {
            let (yo, yi) = (yo_lut[x as usize], yi_lut[x as usize]);
            let (xo_above, xo_below) = (xo >> 8 > x, xo >> 8 < x);
            let (xi_above, xi_below) = (xi >> 8 > x, xi >> 8 < x);
            let (yo_above, yo_below) = (yo >> 8 > y, yo >> 8 < y);
            let (yi_above, yi_below) = (yi >> 8 > y, yi >> 8 < y);
            let x_opacity = if xo_above && xi_below {
                0xFF
            } else if !xo_above && !xo_below {
                xo & 0xFF
            } else if !xi_above && !xi_below {
                (xi & 0xFF) ^ 0xFF
            } else {
                break; // inside the inner radius: next row
            };
            let y_opacity = if yo_above && yi_below {
                0xFF
            } else if !yo_above && !yo_below {
                yo & 0xFF
            } else if !yi_above && !yi_below {
                (yi & 0xFF) ^ 0xFF
            } else {
                x -= 1;
                continue; // beyond the outer radius: next column
            };
            let o = ((x_opacity * y_opacity + 0xFF) >> 8) as u32;
            if o == 0xFF && solid {
                // Opaque and solid: the rest of the row towards the centre is full.
                smooth_fill(canvas, right, top, x, color, opacity);
                smooth_fill(canvas, left - x, top, x, color, opacity);
                smooth_fill(canvas, right, bottom, x, color, opacity);
                smooth_fill(canvas, left - x, bottom, x, color, opacity);
                break;
            }
            let o = (o * opacity + 0xFF) >> 8;
            plot(canvas, right + x, top, color, o);
            plot(canvas, left - x, top, color, o);
            plot(canvas, right + x, bottom, color, o);
            plot(canvas, left - x, bottom, color, o);
            x -= 1;
        }
    }
}

/// GDI `FillRect`: `[left, right) × [top, bottom)`, clipped.
pub(crate) fn fill_rect(canvas: &mut Canvas, left: i32, top: i32, right: i32, bottom: i32, color: u32) {
    let rect = Rect::clipped(
        left.into(),
        top.into(),
        right.into(),
        bottom.into(),
        canvas.width(),
        canvas.height(),
    );
    if !rect.is_empty() {
        canvas.back.fill_rect(rect, color);
        canvas.touch(rect);
    }
}

/// GDI `FrameRect` with a 1-pixel brush: the outline of `[left, right) × [top, bottom)`.
pub(crate) fn frame_rect(canvas: &mut Canvas, left: i32, top: i32, right: i32, bottom: i32, color: u32) {
    if right <= left || bottom <= top {
        return;
    }
    fill_rect(canvas, left, top, right, top + 1, color);
    fill_rect(canvas, left, bottom - 1, right, bottom, color);
    fill_rect(canvas, left, top, left + 1, bottom, color);
    fill_rect(canvas, right - 1, top, right, bottom, color);
}

/// How a 1-pixel GDI pen draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PenStyle {
    Solid,
    /// `psDot`: runs of 3 pixels in the pen colour, then 3 in `gap` (the brush colour, as an opaque background).
    Dot {
        gap: u32,
    },
}

/// GDI `MoveTo(x0, y0); LineTo(x1, y1)` with a 1-pixel pen: the last point is not drawn.
pub(crate) fn gdi_line(canvas: &mut Canvas, x0: i32, y0: i32, x1: i32, y1: i32, color: u32, style: PenStyle) {
    let (dx, dy) = ((x1 - x0).abs(), (y1 - y0).abs());
    let (sx, sy) = ((x1 - x0).signum(), (y1 - y0).signum());
    let steps = dx.max(dy);
    let (mut x, mut y) = (x0, y0);
    let mut error = if dx >= dy { dx / 2 } else { dy / 2 };
    for step in 0..steps {
        let c = match style {
            PenStyle::Solid => color,
            PenStyle::Dot { gap } => {
                if (step / 3) % 2 == 0 {
                    color
                } else {
                    gap
                }
            }
        };
        plot(canvas, x, y, c, 0xFF);
        if dx >= dy {
            x += sx;
            error -= dy;
            if error < 0 {
                y += sy;
                error += dx;
            }
        } else {
            y += sy;
            error -= dx;
            if error < 0 {
                x += sx;
                error += dy;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A canvas of random colours drawn from a few (so that a line meets its own colour and partial blends).
    fn speckled(width: u32, height: u32, seed: u64, colors: &[u32]) -> Canvas {
        let mut canvas = Canvas::new(width, height, 0);
        let mut state = seed | 1;
        for pixel in canvas.back.pixels_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *pixel = colors[(state % colors.len() as u64) as usize];
        }
        canvas
    }

    /// The same pixels as the reference, and damage that covers every changed pixel and no more than the reference
    /// touched.
    fn same_as_reference(fast: &Canvas, reference: &Canvas, before: &Canvas) -> Result<(), TestCaseError> {
        prop_assert!(fast.back == reference.back, "pixels differ from the reference");
        let (damage, touched) = (fast.pending.rect(), reference.pending.rect());
        for y in 0..before.height() {
            for x in 0..before.width() {
                if fast.back.get(x, y) != before.back.get(x, y) {
                    prop_assert!(
                        damage.is_some_and(|d| d.contains(x, y)),
                        "({}, {}) changed outside the damage",
                        x,
                        y
                    );
                }
            }
        }
        if let Some(damage) = damage {
            prop_assert!(
                touched.is_some_and(|t| t.union(damage) == t),
                "damage beyond what the reference touched"
            );
        }
        Ok(())
    }

    /// A line end in 1/256 px, mostly on and near a `size`-pixel canvas, sometimes far off it.
    fn coordinate(size: i32) -> impl Strategy<Value = i32> {
        prop_oneof![
            8 => -3 << 8..(size + 3) << 8,
            1 => -(1 << 20)..1 << 20,
        ]
    }

    /// A radius in 1/256 px: the sizes the displays use, odd ones, and beyond PNut's cap.
    fn radius() -> impl Strategy<Value = i32> {
        prop_oneof![
            4 => (0..=32).prop_map(|size| size << 6),
            2 => 0..6 << 8,
            1 => 0..140 << 8,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Every line, with tables computed for it or kept for its radius, draws the reference's pixels.
        #[test]
        fn lines_draw_the_reference_pixels(
            (width, height) in (1u32..40, 1u32..40),
            ends in prop::collection::vec((coordinate(40), coordinate(40)), 2..6),
            radius in radius(),
            color in prop_oneof![Just(0x00FF00u32), Just(0xFF7F00), 0u32..0x100_0000],
            opacity in prop_oneof![Just(0xFFu32), 0u32..=0xFF],
            seed: u64,
        ) {
            let before = speckled(width, height, seed, &[0, color, 0x123456, color ^ 0x80, 0xFFFFFF]);
            let mut tables = LineTables::new(radius);
            let (mut computed, mut with_tables, mut reference) = (before.clone(), before.clone(), before.clone());
            for pair in ends.windows(2) {
                let ((x1, y1), (x2, y2)) = (pair[0], pair[1]);
                smooth_line(&mut computed, x1, y1, x2, y2, radius, color, opacity);
                smooth_line_with(&mut with_tables, &mut tables, x1, y1, x2, y2, color, opacity);
                reference::smooth_line(&mut reference, x1, y1, x2, y2, radius, color, opacity);
            }
            same_as_reference(&computed, &reference, &before)?;
            same_as_reference(&with_tables, &reference, &before)?;
        }

        /// Every dot (a line of no length), on, across and off the canvas's edges, draws the reference's pixels.
        #[test]
        fn dots_draw_the_reference_pixels(
            (width, height) in (1u32..24, 1u32..24),
            dots in prop::collection::vec((coordinate(24), coordinate(24)), 1..8),
            radius in radius(),
            color in prop_oneof![Just(0xFF0000u32), 0u32..0x100_0000],
            opacity in prop_oneof![Just(0xFFu32), 0u32..=0xFF],
            seed: u64,
        ) {
            let before = speckled(width, height, seed, &[0, color, 0x00FF00, color ^ 0x010101, 0xFFFFFF]);
            let mut tables = LineTables::new(radius);
            let (mut computed, mut with_tables, mut reference) = (before.clone(), before.clone(), before.clone());
            for &(x, y) in &dots {
                smooth_dot(&mut computed, x, y, radius, color, opacity);
                smooth_line_with(&mut with_tables, &mut tables, x, y, x, y, color, opacity);
                reference::smooth_line(&mut reference, x, y, x, y, radius, color, opacity);
            }
            same_as_reference(&computed, &reference, &before)?;
            same_as_reference(&with_tables, &reference, &before)?;
        }
    }

    fn canvas(w: u32, h: u32) -> Canvas {
        Canvas::new(w, h, 0)
    }

    fn lit(c: &Canvas) -> Vec<(u32, u32)> {
        let mut v = Vec::new();
        for y in 0..c.height() {
            for x in 0..c.width() {
                if c.back.get(x, y) != Some(0) {
                    v.push((x, y));
                }
            }
        }
        v
    }

    #[test]
    fn boxes_follow_the_pixel_rule() {
        // A.7: a w×h box centred at (cx, cy) covers x ∈ [cx−⌊w/2⌋, cx−⌊w/2⌋+w−1].
        for (w, h) in [(1, 1), (2, 3), (5, 4), (6, 6)] {
            let mut c = canvas(16, 16);
            smooth_shape(&mut c, 8, 7, w, h, 0, 0, 0, 0xFF0000, 0xFF);
            let (x0, y0) = (8 - w / 2, 7 - h / 2);
            let expected: Vec<(u32, u32)> = (y0..y0 + h)
                .flat_map(|y| (x0..x0 + w).map(move |x| (x as u32, y as u32)))
                .collect();
            let mut got = lit(&c);
            got.sort_by_key(|&(x, y)| (y, x));
            assert_eq!(got, expected, "{w}×{h}");
            assert!(
                got.iter().all(|&(x, y)| c.back.get(x, y) == Some(0xFF0000)),
                "opaque, no AA"
            );
        }
    }

    #[test]
    fn box_frame_is_inside_the_outline() {
        let mut c = canvas(16, 16);
        smooth_shape(&mut c, 8, 8, 8, 6, 0, 0, 2, 0x00FF00, 0xFF);
        // Outline x 4..=11, y 5..=10; frame 2 wide, hole x 6..=9, y 7..=8.
        assert_eq!(lit(&c).len(), 8 * 6 - 4 * 2);
        assert_eq!(c.back.get(6, 7), Some(0));
        assert_eq!(c.back.get(5, 7), Some(0x00FF00));
    }

    #[test]
    fn a_circle_is_symmetric_and_antialiased() {
        let mut c = canvas(32, 32);
        smooth_shape(&mut c, 16, 16, 15, 15, 7, 7, 0, 0xFFFFFF, 0xFF);
        let lit = lit(&c);
        assert!(!lit.is_empty());
        // Mirror symmetry about the shape's centre (the box rule puts it at x = 16 − 7 + 7 = 16).
        for &(x, y) in &lit {
            let mx = 2 * 16 - x;
            assert_eq!(c.back.get(mx, y), c.back.get(x, y), "mirror of ({x},{y})");
        }
        assert_eq!(c.back.get(16, 16), Some(0xFFFFFF), "centre filled");
        assert_eq!(c.back.get(16, 9), Some(0xFFFFFF), "top row at the centre column");
        assert_eq!(c.back.get(16, 8), Some(0), "nothing above the top");
        let partial = lit.iter().filter(|&&(x, y)| c.back.get(x, y) != Some(0xFFFFFF)).count();
        assert!(partial > 8, "curved edges are anti-aliased");
    }

    #[test]
    fn a_dot_is_centred_on_its_pixel() {
        // PLOT `DOT` with linesize 3 at pixel (10, 10): radius 1.5 px.
        let mut c = canvas(21, 21);
        smooth_dot(&mut c, 10 << 8, 10 << 8, 3 << 7, 0xFF0000, 0xFF);
        assert_eq!(c.back.get(10, 10), Some(0xFF0000));
        for (dx, dy) in [(1, 0), (0, 1)] {
            assert_eq!(c.back.get(10 + dx, 10 + dy), c.back.get(10 - dx, 10 - dy), "symmetric");
        }
        assert_eq!(c.back.get(13, 10), Some(0), "nothing beyond the radius");
    }

    #[test]
    fn a_horizontal_line_covers_its_span() {
        let mut c = canvas(40, 9);
        smooth_line(&mut c, 5 << 8, 4 << 8, 30 << 8, 4 << 8, 1 << 7, 0x00FF00, 0xFF);
        for x in 6..30 {
            assert_eq!(c.back.get(x, 4), Some(0x00FF00), "({x},4)");
        }
        assert_eq!(c.back.get(17, 2), Some(0));
        assert_eq!(c.back.get(37, 4), Some(0));
    }

    #[test]
    fn lines_outside_or_huge_never_panic() {
        let mut c = canvas(8, 8);
        for (x1, y1, x2, y2, r) in [
            (i32::MIN, i32::MIN, i32::MAX, i32::MAX, i32::MAX),
            (-1000 << 8, 3 << 8, 1000 << 8, 5 << 8, 1 << 16),
            (0, 0, 0, 0, 0),
            (100 << 8, 100 << 8, 200 << 8, 200 << 8, 256),
        ] {
            smooth_line(&mut c, x1, y1, x2, y2, r, 0xFFFFFF, 0xFF);
        }
        smooth_shape(&mut c, 4, 4, 2048, 2048, 1024, 1024, 3, 0xFFFFFF, 0x80);
    }

    #[test]
    fn dotted_gdi_line() {
        let mut c = canvas(12, 1);
        gdi_line(&mut c, 0, 0, 12, 0, 0xFFFFFF, PenStyle::Dot { gap: 0x123456 });
        let row = c.back.row(0);
        assert_eq!(
            &row[..7],
            [0xFFFFFF, 0xFFFFFF, 0xFFFFFF, 0x123456, 0x123456, 0x123456, 0xFFFFFF]
        );
    }
}
