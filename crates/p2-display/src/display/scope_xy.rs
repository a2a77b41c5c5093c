//! SCOPE_XY (docs/p2-displays.md A.4; DDU `SCOPE_XY_Configure`, `SCOPE_XY_Update`, `SCOPE_XY_Plot`,
//! `ClearBitmap`): up to eight channels of (x, y) pairs plotted as dots about the centre, cartesian or polar,
//! linear or logarithmic, either persistent (SAMPLES 0) or as a fading trail of the last SAMPLES sets.
//!
//! A persistent display is its bitmap: each set's dots go into the back buffer as they arrive, and a RATE
//! refresh shows the bitmap. A trail display keeps its sets and draws the trail of the last refresh when the
//! picture is asked for.

use super::trace::{Appearance, History, Rate, SAMPLES_MAX, SetBuffer, View, lazy_canvas_methods, show_back, text_out};
use super::{Context, DisplayModel, Geometry, MouseUnits, Setup, pc_key, pc_mouse, save};
use crate::color::DEFAULT_PALETTE;
use crate::draw::{PenStyle, gdi_line, smooth_dot, smooth_shape};
use crate::element::{Cursor, Keyword};
use crate::extended::{Extended, Scale};
use crate::frame::{Canvas, Framebuffer, Rect};
use crate::pack::Packing;
use crate::text::{Fonts, TextMetrics, TextStyle};

const CHANNELS: usize = 8;

/// How values map to the plot.
#[derive(Clone, Copy, Debug)]
struct Mapping {
    /// Plot diameter in pixels (PNut's `vWidth`).
    diameter: i32,
    range: i32,
    /// `diameter / 2 / range · 256`: 1/256 px per unit.
    scale: Scale,
    log_scale: bool,
    /// `POLAR {twopi {theta}}`: x is the radius, y the angle, `two_pi` per turn.
    polar: Option<(i64, i32)>,
}

impl Mapping {
    /// The hover read-out at `(dx, dy)` pixels from the centre, y up, in the display's own units (PNut's
    /// `FormMouseMove`): x,y values, or radius,angle with a `*` when polar (the angle in hex for 2^32 per turn).
    fn read_out(&self, dx: i32, dy: i32) -> String {
        let (fx, fy) = (f64::from(dx), f64::from(dy));
        let half = f64::from(self.diameter / 2);
        let unlog = |r: f64| (r / half * (f64::from(self.range) + 1.0).log2()).exp2() - 1.0;
        let scale = self.scale.value() / 256.0;
        match self.polar {
            None if self.log_scale => {
                let radius = unlog(fx.hypot(fy));
                let (sin, cos) = fx.atan2(fy).sin_cos();
                format!("{},{}", whole(radius * sin), whole(radius * cos))
            }
            None => {
                // A bias of a quarter unit's pixels centres values that span several pixels.
                let bias = (f64::from(self.diameter) / f64::from(self.range) / 4.0).round_ties_even();
                let away = |v: f64| if v < 0.0 { v - bias } else { v + bias };
                format!("{},{}", whole(away(fx) / scale), whole(away(fy) / scale))
            }
            Some((two_pi, theta)) => {
                let pixels = fx.hypot(fy);
                let radius = if self.log_scale {
                    unlog(pixels)
                } else {
                    whole(pixels / scale) as f64
                };
                let turns = fy.atan2(fx) / std::f64::consts::TAU;
                let angle = (turns * two_pi as f64).round_ties_even() as i64 - i64::from(theta);
                if two_pi.abs() == 1 << 32 {
                    format!("{},${:08X}*", whole(radius), angle & 0xFFFF_FFFF)
                } else {
                    let angle = if angle < 0 { angle + two_pi.abs() } else { angle };
                    format!("{},{}*", whole(radius), angle)
                }
            }
        }
    }

    /// `SCOPE_XY_Plot`'s offset of `(x, y)` from the centre in 1/256 px, y up; `None` where PNut's maths has no
    /// value (a logarithm of zero or less, RANGE 1 under polar LOGSCALE: PNut raises a floating-point exception).
    fn offset(&self, x: i32, y: i32) -> Option<(i32, i32)> {
        let half = f64::from(self.diameter / 2);
        let (px, py) = match self.polar {
            None if !self.log_scale => {
                return Some((self.scale.round(x.into()) as i32, self.scale.round(y.into()) as i32));
            }
            None => {
                let (fx, fy) = (f64::from(x), f64::from(y));
                let radius = (fx.hypot(fy) + 1.0).log2() / (f64::from(self.range) + 1.0).log2() * half;
                // PNut's ArcTan2(x, y) then SinCos: sin is the x direction, cos the y direction.
                let (sin, cos) = fx.atan2(fy).sin_cos();
                (radius * sin * 256.0, radius * cos * 256.0)
            }
            Some((two_pi, theta)) => {
                let radius = if self.log_scale {
                    if x != 0 {
                        f64::from(x).log2() / f64::from(self.range).log2() * half
                    } else {
                        0.0
                    }
                } else {
                    f64::from(x) * self.scale.value() / 256.0
                };
                let turns = f64::from(y.wrapping_add(theta)) / two_pi as f64;
                let (sin, cos) = (std::f64::consts::FRAC_PI_2 - turns * std::f64::consts::TAU).sin_cos();
                (radius * sin * 256.0, radius * cos * 256.0)
            }
        };
        (px.is_finite() && py.is_finite())
            .then(|| (px.round_ties_even() as i64 as i32, py.round_ties_even() as i64 as i32))
    }
}

/// Delphi `Round` to an integer (so −0.3 reads "0").
fn whole(v: f64) -> i64 {
    v.round_ties_even() as i64
}

/// A SCOPE_XY display.
#[derive(Debug)]
pub(crate) struct ScopeXy {
    canvas: Canvas,
    mapping: Mapping,
    margin: i32,
    /// "r=RANGE" (+ " logscale").
    range_text: Box<[u8]>,
    metrics: TextMetrics,
    text_size: i32,
    back_color: u32,
    grid_color: u32,
    labels: [Box<[u8]>; CHANNELS],
    colors: [u32; CHANNELS],
    /// Channels declared (PNut's `vIndex`).
    channels: usize,
    /// 0: persistent.
    samples: usize,
    rate: Rate,
    dot_size: i32,
    packing: Packing,
    history: History,
    count: usize,
    view: View,
    stale: bool,
    frames: u64,
}

impl ScopeXy {
    /// One dot of channel `color` at `opacity`.
    fn plot(&mut self, x: i32, y: i32, color: u32, opacity: u32) {
        let Some((dx, dy)) = self.mapping.offset(x, y) else {
            return;
        };
        let cx = (self.canvas.width() as i32).wrapping_shl(7).wrapping_add(dx);
        let cy = (self.canvas.height() as i32).wrapping_shl(7).wrapping_sub(dy);
        smooth_dot(&mut self.canvas, cx, cy, self.dot_size << 6, color, opacity);
    }

    /// `ClearBitmap` for SCOPE_XY into the back buffer: back colour, the grid circle and axes, "r=RANGE", labels.
    fn clear_bitmap(&mut self, fonts: &mut Fonts) {
        let (cw, ch) = (self.metrics.chr_width, self.metrics.chr_height);
        let (d, m) = (self.mapping.diameter, self.margin);
        let canvas = &mut self.canvas;
        let (w, h) = (canvas.width() as i32, canvas.height() as i32);
        canvas.back.fill(self.back_color);
        canvas.touch(canvas.back.bounds());
        let centre = m + (d >> 1);
        smooth_shape(canvas, centre, centre, d + 1, d + 1, d, d, 1, self.grid_color, 0xFF);
        let axis = m + d / 2;
        gdi_line(canvas, axis, 0, axis, h, self.grid_color, PenStyle::Solid);
        gdi_line(canvas, 0, axis, w, axis, self.grid_color, PenStyle::Solid);
        let regular = TextStyle::regular(self.text_size);
        let (grid, text) = (self.grid_color, &self.range_text);
        text_out(
            fonts,
            canvas,
            w / 2 + cw * 2,
            ch / 2,
            text,
            regular,
            grid,
            Some(self.back_color),
        );
        let bold = TextStyle::label(self.text_size);
        for (i, label) in self.labels.iter().enumerate().filter(|(_, l)| !l.is_empty()) {
            let x = if i & 2 == 0 {
                cw
            } else {
                w - cw - fonts.text_width(bold, label)
            };
            let mut y = if i < 4 { cw } else { h - cw - ch * 2 };
            if i & 1 != 0 {
                y += ch;
            }
            text_out(fonts, canvas, x, y, label, bold, self.colors[i], Some(self.back_color));
        }
    }

    /// Draws the trail of the pending view.
    fn settle(&mut self, fonts: &mut Fonts) {
        if !self.stale {
            return;
        }
        self.stale = false;
        self.clear_bitmap(fonts);
        let view = self.view;
        for j in (0..self.channels).rev() {
            for k in (0..view.count).rev() {
                let index = view.end - 1 - k as u64;
                let (x, y) = (self.history.get(2 * j, index), self.history.get(2 * j + 1, index));
                let opacity = 255 - (k * 255 / self.samples) as u32;
                self.plot(x, y, self.colors[j], opacity);
            }
        }
        show_back(&mut self.canvas);
    }

    /// One complete set of (x, y) pairs.
    fn sample_set(&mut self, set: &[i32; 2 * CHANNELS], fonts: &mut Fonts) {
        if self.samples == 0 {
            for j in (0..self.channels).rev() {
                self.plot(set[2 * j], set[2 * j + 1], self.colors[j], 0xFF);
            }
            if self.rate.cycle() {
                self.canvas.refresh();
                self.frames += 1;
            }
            return;
        }
        if self.stale && self.history.would_overwrite(self.view.oldest()) {
            self.settle(fonts);
        }
        self.history.push(set);
        if self.count < self.samples {
            self.count += 1;
        }
        if self.rate.cycle() {
            self.view = View {
                end: self.history.written(),
                count: self.count,
                mark: None,
            };
            self.stale = true;
            self.frames += 1;
        }
    }

    /// `ClearBitmap` and show it.
    fn clear(&mut self, fonts: &mut Fonts) {
        self.stale = false;
        self.clear_bitmap(fonts);
        self.canvas.refresh();
    }
}

impl DisplayModel for ScopeXy {
    fn configure(cursor: &mut Cursor<'_>, setup: &mut Setup<'_>) -> Self {
        let (mut diameter, mut range, mut samples, mut rate) = (256, i32::MAX, 256, 1);
        let mut dot_size = 6;
        let (mut log_scale, mut polar) = (false, None);
        let mut look = Appearance::new();
        let mut labels: [Box<[u8]>; CHANNELS] = Default::default();
        let mut colors = DEFAULT_PALETTE;
        let mut channels = 0;
        while !cursor.at_end() {
            if let Some(key) = cursor.next_key() {
                match key {
                    Keyword::Size => {
                        if let Some(radius) = cursor.next_num() {
                            diameter = radius.wrapping_mul(2).clamp(32, SAMPLES_MAX as i32);
                        }
                    }
                    Keyword::Range => {
                        cursor.key_val_within(&mut range, 1, i32::MAX);
                    }
                    Keyword::Samples => {
                        cursor.key_val_within(&mut samples, 0, SAMPLES_MAX as i32);
                    }
                    Keyword::Rate => {
                        cursor.key_val_within(&mut rate, 1, SAMPLES_MAX as i32);
                    }
                    Keyword::Dotsize => {
                        cursor.key_val_within(&mut dot_size, 2, 20);
                    }
                    Keyword::Polar => {
                        let (mut two_pi, mut theta) = (1i64 << 32, 0);
                        if let Some(v) = cursor.next_num() {
                            two_pi = match v {
                                -1 => -(1 << 32),
                                0 => 1 << 32,
                                v => i64::from(v),
                            };
                            cursor.key_val(&mut theta);
                        }
                        polar = Some((two_pi, theta));
                    }
                    Keyword::Logscale => log_scale = true,
                    k => look.key(k, cursor, setup),
                }
            } else if let Some(label) = cursor.next_str() {
                if channels != CHANNELS {
                    channels += 1;
                }
                labels[channels - 1] = label.into();
                look.colors.key_color_into(cursor, &mut colors[channels - 1]);
            } else {
                // PNut v55 never gets past a bare number here (its loop hangs); we step over it.
                cursor.next_num();
            }
        }
        let metrics = setup.fonts.metrics(look.text_size);
        let margin = metrics.chr_height * 2;
        let side = i64::from(diameter) + 2 * i64::from(margin);
        let (width, height) = setup.size(side, side);
        let unit = Extended::from_int(i64::from(diameter))
            .div(Extended::from_int(2))
            .div(Extended::from_int(i64::from(range)));
        let mut scope = ScopeXy {
            canvas: Canvas::new(width, height, look.back_color),
            mapping: Mapping {
                diameter,
                range,
                scale: Scale::new(unit.mul_int(256)),
                log_scale,
                polar,
            },
            margin,
            range_text: format!("r={range}{}", if log_scale { " logscale" } else { "" })
                .into_bytes()
                .into(),
            metrics,
            text_size: look.text_size,
            back_color: look.back_color,
            grid_color: look.grid_color,
            labels,
            colors,
            channels,
            samples: samples as usize,
            rate: Rate::new(rate),
            dot_size,
            packing: look.packing,
            history: History::new(2 * CHANNELS),
            count: 0,
            view: View::default(),
            stale: false,
            frames: 0,
        };
        scope.clear(setup.fonts);
        scope
    }

    fn update(&mut self, cursor: &mut Cursor<'_>, ctx: &mut Context<'_>) {
        let mut sets = SetBuffer::<{ 2 * CHANNELS }>::new();
        while !cursor.at_end() {
            if cursor.next_str().is_some() {
                break; // a string ends a SCOPE_XY message
            }
            if let Some(key) = cursor.next_key() {
                match key {
                    Keyword::Clear => {
                        self.clear(ctx.fonts);
                        self.frames += 1;
                        self.count = 0;
                        self.rate.count = 0;
                    }
                    Keyword::Save => save(self, cursor, ctx),
                    Keyword::PcKey => pc_key(ctx),
                    Keyword::PcMouse => pc_mouse(self, ctx),
                    _ => {}
                }
                continue;
            }
            while let Some(value) = cursor.next_num() {
                for sample in self.packing.unpack(value) {
                    // Without a label nothing collects: nothing plots.
                    if let Some(&set) = sets.push(sample, 2 * self.channels) {
                        self.sample_set(&set, ctx.fonts);
                    }
                }
            }
        }
    }

    lazy_canvas_methods!();

    fn hover(&self, x: i32, y: i32) -> Option<String> {
        Some(
            self.mapping
                .read_out(x - self.canvas.width() as i32 / 2, self.canvas.width() as i32 / 2 - y),
        )
    }
}
