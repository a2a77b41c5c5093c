//! Text (docs/p2-displays.md A.0): PNut draws with the IDE font, Consolas, at TEXTSIZE points on a 96 DPI
//! canvas, and derives every margin from the size of "X" (`ChrWidth`, `ChrHeight`). We draw with DejaVu Sans
//! Mono, shipped inside the `dejavu` crate (regular, bold, oblique and bold oblique faces), so the pixels are
//! the same on every machine; the metrics follow GDI's rules for that font:
//!
//! - em height in pixels = `MulDiv(points, 96, 72)` (10 pt → 13 px);
//! - `ChrWidth` = the advance of "X", rounded; `ChrHeight` = rounded ascent + rounded descent.
//!
//! Glyphs are rasterised with `ab_glyph` (area coverage) and blended linearly over the background. Upright
//! glyphs are cached per face, size and byte; rotated text (PLOT `TEXTANGLE`) is rasterised per string.
//! Bytes 128–255 are Windows-1252 characters, as in PNut.

use std::collections::HashMap;

use ab_glyph::{Font, FontRef, GlyphId, OutlineCurve, Point, point};
use ab_glyph_rasterizer::Rasterizer;

use crate::frame::{Framebuffer, Rect};

/// The largest TEXTSIZE PNut accepts; PLOT `TEXT` sizes are clamped to `1..=` this too (PNut does not clamp
/// them, but a size beyond it only costs memory).
pub const TEXT_SIZE_MAX: i32 = 200;

/// Cached glyph bytes above which the cache starts over.
const CACHE_BUDGET: usize = 16 << 20;

/// How text is set: point size and PNut's TEXTSTYLE bits 0–3 (weight, italic, underline).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TextStyle {
    pub(crate) points: i32,
    /// 0 thin, 1 normal, 2 bold, 3 heavy (thin draws regular and heavy bold: the font has those two weights).
    pub(crate) weight: u8,
    pub(crate) italic: bool,
    pub(crate) underline: bool,
}

impl TextStyle {
    /// A regular style at `points`.
    pub(crate) fn regular(points: i32) -> Self {
        Self {
            points,
            weight: 1,
            italic: false,
            underline: false,
        }
    }

    /// Bold italic, as display labels are drawn.
    pub(crate) fn label(points: i32) -> Self {
        Self {
            points,
            weight: 2,
            italic: true,
            underline: false,
        }
    }

    /// From PNut's TEXTSTYLE bits (weight 0–1, italic 2, underline 3).
    pub(crate) fn from_bits(points: i32, style: i32) -> Self {
        Self {
            points,
            weight: (style & 3) as u8,
            italic: style & 4 != 0,
            underline: style & 8 != 0,
        }
    }

    fn face(self) -> usize {
        usize::from(self.weight >= 2) | (usize::from(self.italic) << 1)
    }
}

/// A font size's metrics in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextMetrics {
    /// Em height (GDI's negative `lfHeight`).
    pub em: i32,
    /// Width of "X": one monospace cell (`ChrWidth`).
    pub chr_width: i32,
    /// Ascent + descent (`ChrHeight`).
    pub chr_height: i32,
    /// From the cell top to the baseline.
    pub ascent: i32,
}

/// A glyph's coverage, placed relative to the pen on the baseline.
#[derive(Clone, Debug)]
struct Mask {
    left: i32,
    top: i32,
    width: u32,
    height: u32,
    coverage: Vec<u8>,
}

/// The fonts, and the cache of upright glyphs.
pub(crate) struct Fonts {
    faces: [FontRef<'static>; 4],
    cache: HashMap<(u8, u16, u8), Mask>,
    cached_bytes: usize,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fonts({} cached glyphs)", self.cache.len())
    }
}

/// Windows-1252 for 0x80–0x9F (the rest of 0xA0–0xFF is Latin-1).
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}', '\u{90}', '‘', '’',
    '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
];

/// Bytes as PNut's Windows shows them in captions and file names: Windows-1252.
pub(crate) fn decode_windows_1252(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => CP1252_HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

fn char_of(byte: u8) -> Option<char> {
    match byte {
        0..=31 | 127 => None,
        0x80..=0x9F => Some(CP1252_HIGH[usize::from(byte - 0x80)]),
        _ => Some(char::from(byte)),
    }
}

impl Fonts {
    pub(crate) fn new() -> Self {
        let face = |bytes: &'static [u8]| FontRef::try_from_slice(bytes).expect("the dejavu crate ships valid fonts");
        Self {
            faces: [
                face(dejavu::sans_mono::regular()),
                face(dejavu::sans_mono::bold()),
                face(dejavu::sans_mono::oblique()),
                face(dejavu::sans_mono::bold_oblique()),
            ],
            cache: HashMap::new(),
            cached_bytes: 0,
        }
    }

    fn factor(&self, face: usize, em: i32) -> f32 {
        em as f32 / self.faces[face].units_per_em().unwrap_or(2048.0)
    }

    /// The metrics of TEXTSIZE `points` (PNut's `SetTextMetrics`, regular face).
    pub(crate) fn metrics(&self, points: i32) -> TextMetrics {
        self.style_metrics(TextStyle::regular(points))
    }

    pub(crate) fn style_metrics(&self, style: TextStyle) -> TextMetrics {
        let points = style.points.clamp(1, TEXT_SIZE_MAX);
        // GDI's MulDiv rounds half away from zero.
        let em = (points * 96 + 36) / 72;
        let face = &self.faces[style.face()];
        let f = self.factor(style.face(), em);
        let ascent = (face.ascent_unscaled() * f).round() as i32;
        let descent = (-face.descent_unscaled() * f).round() as i32;
        let chr_width = (face.h_advance_unscaled(face.glyph_id('X')) * f).round() as i32;
        TextMetrics {
            em,
            chr_width,
            chr_height: ascent + descent,
            ascent,
        }
    }

    /// The width of `text` (`TextWidth`): every character advances one cell.
    pub(crate) fn text_width(&self, style: TextStyle, text: &[u8]) -> i32 {
        self.style_metrics(style).chr_width * text.len() as i32
    }

    /// Rasterises outlines placed by `place` (font units → pixels) into a mask.
    fn rasterize(curves: &[OutlineCurve], place: impl Fn(Point) -> Point) -> Option<Mask> {
        let mut points = curves.iter().flat_map(|curve| match curve {
            OutlineCurve::Line(a, b) => [Some(*a), Some(*b), None, None],
            OutlineCurve::Quad(a, b, c) => [Some(*a), Some(*b), Some(*c), None],
            OutlineCurve::Cubic(a, b, c, d) => [Some(*a), Some(*b), Some(*c), Some(*d)],
        });
        let first = place(points.find_map(|p| p)?);
        let (mut min, mut max) = (first, first);
        for p in points.flatten().map(&place) {
            (min.x, min.y, max.x, max.y) = (min.x.min(p.x), min.y.min(p.y), max.x.max(p.x), max.y.max(p.y));
        }
        let (left, top) = (min.x.floor(), min.y.floor());
        let (width, height) = ((max.x.ceil() - left) as u32 + 1, (max.y.ceil() - top) as u32 + 1);
        if width > 4096 || height > 4096 {
            return None;
        }
        let shift = |p: Point| {
            let p = place(p);
            point(p.x - left, p.y - top)
        };
        let mut rasterizer = Rasterizer::new(width as usize, height as usize);
        for curve in curves {
            match curve {
                OutlineCurve::Line(a, b) => rasterizer.draw_line(shift(*a), shift(*b)),
                OutlineCurve::Quad(a, b, c) => rasterizer.draw_quad(shift(*a), shift(*b), shift(*c)),
                OutlineCurve::Cubic(a, b, c, d) => rasterizer.draw_cubic(shift(*a), shift(*b), shift(*c), shift(*d)),
            }
        }
        let mut coverage = vec![0u8; width as usize * height as usize];
        rasterizer.for_each_pixel(|i, c| coverage[i] = (c.clamp(0.0, 1.0) * 255.0).round() as u8);
        Some(Mask {
            left: left as i32,
            top: top as i32,
            width,
            height,
            coverage,
        })
    }

    fn glyph_id(&self, face: usize, byte: u8) -> Option<GlyphId> {
        char_of(byte).map(|c| self.faces[face].glyph_id(c))
    }

    /// The upright glyph for `byte`, cached.
    fn upright(&mut self, face: usize, em: i32, byte: u8) -> Option<&Mask> {
        let key = (face as u8, em as u16, byte);
        if !self.cache.contains_key(&key) {
            let id = self.glyph_id(face, byte)?;
            let f = self.factor(face, em);
            let outline = self.faces[face].outline(id)?;
            let mask = Self::rasterize(&outline.curves, |p| point(p.x * f, -p.y * f))?;
            if self.cached_bytes > CACHE_BUDGET {
                self.cache.clear();
                self.cached_bytes = 0;
            }
            self.cached_bytes += mask.coverage.len() + 64;
            self.cache.insert(key, mask);
        }
        self.cache.get(&key)
    }

    /// Draws `text` with its cell's top-left at `(x, y)` in `color`, clipped to `clip`; rotated `angle` tenths of
    /// a degree counter-clockwise about that corner (GDI `TextOut` with `lfEscapement`). The background is left
    /// as it is (callers paint cells first where PNut does). Returns the region touched.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn draw(
        &mut self,
        target: &mut Framebuffer,
        clip: Rect,
        x: i32,
        y: i32,
        text: &[u8],
        style: TextStyle,
        angle: i32,
        color: u32,
    ) -> Rect {
        let metrics = self.style_metrics(style);
        let face = style.face();
        let mut damage = Rect::default();
        if angle.rem_euclid(3600) == 0 {
            // Saturating: text placed far outside (PLOT positions are any 32-bit number) stays outside.
            let baseline = y.saturating_add(metrics.ascent);
            for (i, &byte) in text.iter().enumerate() {
                let pen = x.saturating_add(i as i32 * metrics.chr_width);
                if let Some(mask) = self.upright(face, metrics.em, byte) {
                    damage = damage.union(composite(
                        target,
                        clip,
                        pen.saturating_add(mask.left),
                        baseline.saturating_add(mask.top),
                        mask,
                        color,
                    ));
                }
            }
            if style.underline {
                let (offset, thickness) = underline(metrics);
                let width = metrics.chr_width * text.len() as i32;
                let bar = Mask {
                    left: 0,
                    top: 0,
                    width: width.max(0) as u32,
                    height: thickness as u32,
                    coverage: vec![255; width.max(0) as usize * thickness as usize],
                };
                damage = damage.union(composite(target, clip, x, baseline.saturating_add(offset), &bar, color));
            }
            return damage;
        }
        match self.rotated(x, y, text, style, angle) {
            Some(mask) => composite(target, clip, mask.left, mask.top, &mask, color),
            None => damage,
        }
    }

    /// Rotated text rasterised once at its place, to be drawn many times with [`TextStamp::draw`] (the same pixels
    /// as [`draw`](Self::draw) with that `angle`, without rasterising again). `None` for upright text or no ink.
    pub(crate) fn stamp(&self, x: i32, y: i32, text: &[u8], style: TextStyle, angle: i32) -> Option<TextStamp> {
        if angle.rem_euclid(3600) == 0 {
            return None;
        }
        self.rotated(x, y, text, style, angle).map(TextStamp)
    }

    /// The coverage of rotated text: every glyph's outline (and the underline) turned about the cell's top-left.
    fn rotated(&self, x: i32, y: i32, text: &[u8], style: TextStyle, angle: i32) -> Option<Mask> {
        let metrics = self.style_metrics(style);
        let face = style.face();
        let radians = f64::from(angle) / 3600.0 * std::f64::consts::TAU;
        let (sin, cos) = (radians.sin() as f32, radians.cos() as f32);
        let f = self.factor(face, metrics.em);
        let mut curves = Vec::new();
        for (i, &byte) in text.iter().enumerate() {
            let Some(outline) = self.glyph_id(face, byte).and_then(|id| self.faces[face].outline(id)) else {
                continue;
            };
            let pen = (i as i32 * metrics.chr_width) as f32 / f;
            curves.extend(outline.curves.into_iter().map(|curve| offset_curve(curve, pen)));
        }
        if style.underline {
            let (offset, thickness) = underline(metrics);
            let (w, top, bottom) = (
                (metrics.chr_width * text.len() as i32) as f32 / f,
                -(offset as f32) / f,
                -((offset + thickness) as f32) / f,
            );
            let corners = [point(0.0, top), point(w, top), point(w, bottom), point(0.0, bottom)];
            for k in 0..4 {
                curves.push(OutlineCurve::Line(corners[k], corners[(k + 1) % 4]));
            }
        }
        let ascent = metrics.ascent as f32;
        let place = |p: Point| {
            // Text-local: u along the baseline, v down from the cell top; then rotated counter-clockwise on screen.
            let (u, v) = (p.x * f, ascent - p.y * f);
            point(x as f32 + u * cos + v * sin, y as f32 - u * sin + v * cos)
        };
        Self::rasterize(&curves, place)
    }
}

/// Text rasterised once (see [`Fonts::stamp`]).
#[derive(Clone, Debug)]
pub(crate) struct TextStamp(Mask);

impl TextStamp {
    /// Blends the text in `color` into `target` within `clip`; returns the region touched.
    pub(crate) fn draw(&self, target: &mut Framebuffer, clip: Rect, color: u32) -> Rect {
        composite(target, clip, self.0.left, self.0.top, &self.0, color)
    }
}

/// Underline offset below the baseline and thickness, in pixels.
fn underline(metrics: TextMetrics) -> (i32, i32) {
    ((metrics.em / 10).max(1), (metrics.em / 14).max(1))
}

fn offset_curve(curve: OutlineCurve, dx: f32) -> OutlineCurve {
    let m = |p: Point| point(p.x + dx, p.y);
    match curve {
        OutlineCurve::Line(a, b) => OutlineCurve::Line(m(a), m(b)),
        OutlineCurve::Quad(a, b, c) => OutlineCurve::Quad(m(a), m(b), m(c)),
        OutlineCurve::Cubic(a, b, c, d) => OutlineCurve::Cubic(m(a), m(b), m(c), m(d)),
    }
}

/// Blends `color` through `mask` placed at `(left, top)`, linearly, inside `clip`.
fn composite(target: &mut Framebuffer, clip: Rect, left: i32, top: i32, mask: &Mask, color: u32) -> Rect {
    let area = Rect::clipped(
        i64::from(left),
        i64::from(top),
        i64::from(left) + i64::from(mask.width),
        i64::from(top) + i64::from(mask.height),
        target.width(),
        target.height(),
    );
    let area = Rect::clipped(
        area.x.max(clip.x).into(),
        area.y.max(clip.y).into(),
        area.right().min(clip.right()).into(),
        area.bottom().min(clip.bottom()).into(),
        target.width(),
        target.height(),
    );
    for py in area.y..area.bottom() {
        let row = (py as i32 - top) as usize * mask.width as usize;
        for px in area.x..area.right() {
            let c = u32::from(mask.coverage[row + (px as i32 - left) as usize]);
            if c == 0 {
                continue;
            }
            let pixel = target.pixel_mut(px, py);
            *pixel = if c == 255 { color } else { mix(*pixel, color, c) };
        }
    }
    area
}

/// Linear blend of `src` over `dst` at coverage `c` 0–255.
#[inline]
fn mix(dst: u32, src: u32, c: u32) -> u32 {
    let channel = |shift: u32| {
        let (d, s) = ((dst >> shift) & 0xFF, (src >> shift) & 0xFF);
        ((d * (255 - c) + s * c + 127) / 255) << shift
    };
    channel(16) | channel(8) | channel(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_points_is_a_13_pixel_em() {
        let fonts = Fonts::new();
        let m = fonts.metrics(10);
        assert_eq!(m.em, 13);
        // DejaVu Sans Mono: advance 1233, ascent 1901, descent 483 per 2048 units.
        assert_eq!((m.chr_width, m.ascent, m.chr_height), (8, 12, 15));
        let big = fonts.metrics(200);
        assert_eq!(big.em, 267);
        assert!(fonts.metrics(6).chr_width >= 4);
    }

    #[test]
    fn glyphs_land_inside_their_cell() {
        let mut fonts = Fonts::new();
        let m = fonts.metrics(10);
        let mut fb = Framebuffer::new(40, 20, 0);
        let clip = fb.bounds();
        let touched = fonts.draw(&mut fb, clip, 2, 3, b"XI", TextStyle::regular(10), 0, 0xFFFFFF);
        assert!(!touched.is_empty());
        assert!(touched.x >= 2 && touched.right() as i32 <= 2 + 2 * m.chr_width);
        assert!(touched.y >= 3 && touched.bottom() as i32 <= 3 + m.chr_height);
        let art: String = (0..20)
            .map(|y| {
                (0..40)
                    .map(|x| match fb.get(x, y).unwrap() & 0xFF {
                        0 => '.',
                        1..=127 => '+',
                        _ => '#',
                    })
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        let strong = fb.pixels().iter().filter(|&&p| p & 0xFF >= 0xC0).count();
        assert!(strong > 10, "solid stems:\n{art}");
        // The ink of "X" is centred in its cell (DejaVu's X is symmetric; the cell is its rounded advance).
        let (mut sum, mut weight) = (0.0, 0.0);
        for y in 0..20 {
            for x in 2..2 + m.chr_width as u32 {
                let c = f64::from(fb.get(x, y).unwrap() & 0xFF);
                sum += c * (f64::from(x) + 0.5);
                weight += c;
            }
        }
        let centre = 2.0 + f64::from(m.chr_width) / 2.0;
        assert!(
            (sum / weight - centre).abs() < 0.75,
            "ink centre {} vs {centre}\n{art}",
            sum / weight
        );
    }

    #[test]
    fn rotated_text_turns_about_the_corner() {
        let mut fonts = Fonts::new();
        let mut fb = Framebuffer::new(60, 60, 0);
        let clip = fb.bounds();
        // 90° counter-clockwise from (30, 40): the text runs upwards, to the right of x = 30.
        let touched = fonts.draw(&mut fb, clip, 30, 40, b"HHHH", TextStyle::regular(10), 900, 0xFFFFFF);
        assert!(
            touched.x >= 29 && touched.y < 40 && touched.bottom() <= 41,
            "{touched:?}"
        );
        assert!(touched.height > touched.width);
    }
}
