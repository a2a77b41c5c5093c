//! FFT (docs/p2-displays.md A.5; DDU `FFT_Configure`, `FFT_Update`, `FFT_Draw`): the spectrum of each
//! channel's last N samples, N a power of two, drawn as a line (LINESIZE ≥ 0) or as bars (LINESIZE < 0).

use super::chart::{CHANNELS, Chart, Definition};
use super::trace::{Appearance, History, Pen, Rate, SAMPLES_MAX, SetBuffer, View, lazy_canvas_methods, show_back};
use super::{Context, DisplayModel, Geometry, MouseUnits, Setup, pc_key, pc_mouse, save};
use crate::color::ColorState;
use crate::draw::{LineTables, smooth_line_with};
use crate::element::{Cursor, Keyword};
use crate::extended::{Extended, Scale};
use crate::fourier::{FFT_EXP_MAX, Transform};
use crate::frame::{Canvas, Framebuffer, Rect};
use crate::pack::Packing;
use crate::text::Fonts;

/// An FFT display.
#[derive(Debug)]
pub(crate) struct Fft {
    canvas: Canvas,
    chart: Chart,
    transform: Transform,
    first: usize,
    last: usize,
    rate: Rate,
    pen: Pen,
    /// LINESIZE < 0: bars of radius |LINESIZE|/4 px.
    bars: Option<LineTables>,
    log_scale: bool,
    packing: Packing,
    colors: ColorState,
    history: History,
    count: usize,
    view: View,
    stale: bool,
    frames: u64,
    /// `Trunc((k − first) / (last − first) · (width − 1) · 256)` for each shown bin.
    x_positions: Box<[i32]>,
}

/// `SAMPLES n {first {last}}` for FFT and SPECTRO: N = the largest power of two ≤ `n` clamped to 4..=2048, and
/// the shown bins. Returns `(exp, first, last)`.
pub(crate) fn key_samples(cursor: &mut Cursor<'_>, current: (u32, i32, i32)) -> (u32, i32, i32) {
    let Some(n) = cursor.next_num() else {
        return current;
    };
    let exp = 31 - n.clamp(4, 1 << FFT_EXP_MAX).leading_zeros();
    let half = 1 << (exp - 1);
    let (mut first, mut last) = (0, half - 1);
    if cursor.key_val_within(&mut first, 0, half - 2) {
        cursor.key_val_within(&mut last, first + 1, half - 1);
    }
    (exp, first, last)
}

/// A bin's magnitude under LOGSCALE: `log2(v + 1) / log2(high + 1) · high`, rounded (in `f64`: PNut's x87
/// logarithms can differ in the last bit, which moves a rounding only on an exact tie).
pub(crate) fn log_scale(v: i64, high: i64) -> i64 {
    ((v as f64 + 1.0).log2() / (high as f64 + 1.0).log2() * high as f64).round_ties_even() as i64
}

impl Fft {
    fn settle(&mut self, fonts: &mut Fonts) {
        if !self.stale {
            return;
        }
        self.stale = false;
        self.chart.clear(&mut self.canvas, fonts, None, self.log_scale);
        let view = self.view;
        if view.count > 0 {
            self.draw(view);
        }
        show_back(&mut self.canvas);
    }

    /// `FFT_Draw` of the view's samples, last channel first.
    fn draw(&mut self, view: View) {
        let chart = &self.chart;
        let n = self.transform.len();
        for j in (0..chart.count).rev() {
            let c = &chart.channels[j];
            let scale = Scale::new(
                Extended::from_int(i64::from(c.tall) - 1)
                    .div(Extended::from_int(i64::from(c.high)))
                    .mul_int(256),
            );
            let (older, newer) = self.history.window(j, view.end, n);
            self.transform.perform(older.iter().chain(newer).copied(), c.mag as u32);
            let base = chart
                .top
                .wrapping_add(chart.height)
                .wrapping_sub(1)
                .wrapping_sub(c.base)
                .wrapping_shl(8);
            for k in self.first..=self.last {
                let mut v = i64::from(self.transform.power[k]);
                if self.log_scale {
                    v = log_scale(v, i64::from(c.high));
                }
                let x = (chart.left << 8) + self.x_positions[k - self.first];
                let y = base.wrapping_sub(scale.round(v) as i32);
                match &mut self.bars {
                    None => self.pen.line_dot(&mut self.canvas, x, y, c.color, k == self.first),
                    Some(bar) => {
                        smooth_line_with(&mut self.canvas, bar, x, base, x, y, c.color, 0xFF);
                        // The dot alone: a bar has no line to the previous bin.
                        self.pen.line_dot(&mut self.canvas, x, y, c.color, true);
                    }
                }
            }
        }
    }

    fn sample_set(&mut self, set: &[i32; CHANNELS], fonts: &mut Fonts) {
        if self.stale && self.history.would_overwrite(self.view.oldest()) {
            self.settle(fonts);
        }
        self.history.push(set);
        let n = self.transform.len();
        if self.count < n {
            self.count += 1;
        }
        if self.count == n && self.rate.cycle() {
            self.view = View {
                end: self.history.written(),
                count: n,
                mark: None,
            };
            self.stale = true;
            self.frames += 1;
        }
    }
}

impl DisplayModel for Fft {
    fn configure(cursor: &mut Cursor<'_>, setup: &mut Setup<'_>) -> Self {
        let (mut width, mut height, mut rate) = (256, 256, 0);
        let (mut exp, mut first, mut last) = (9, 0, 255);
        let (mut dot_size, mut line_size) = (0, 3);
        let mut look = Appearance::new();
        let mut log_scale = false;
        while let Some(key) = cursor.next_key() {
            match key {
                Keyword::Size => {
                    if cursor.key_val_within(&mut width, 32, SAMPLES_MAX as i32) {
                        cursor.key_val_within(&mut height, 32, SAMPLES_MAX as i32);
                    }
                }
                Keyword::Samples => (exp, first, last) = key_samples(cursor, (exp, first, last)),
                Keyword::Rate => {
                    cursor.key_val_within(&mut rate, 1, SAMPLES_MAX as i32);
                }
                Keyword::Dotsize => {
                    cursor.key_val_within(&mut dot_size, 0, 32);
                }
                Keyword::Linesize => {
                    cursor.key_val_within(&mut line_size, -32, 32);
                }
                Keyword::Logscale => log_scale = true,
                k => look.key(k, cursor, setup),
            }
        }
        let transform = Transform::new(exp);
        if rate == 0 {
            rate = transform.len() as i32;
        }
        if dot_size == 0 && line_size == 0 {
            dot_size = 1;
        }
        let metrics = setup.fonts.metrics(look.text_size);
        let chart = Chart::new(
            Definition::Fft,
            width,
            height,
            metrics,
            look.text_size,
            (look.back_color, look.grid_color),
        );
        let (client_width, client_height) = chart.client_size();
        let (client_width, client_height) = setup.size(client_width, client_height);
        let x_positions = (first..=last)
            .map(|k| {
                Extended::from_int(i64::from(k - first))
                    .div(Extended::from_int(i64::from(last - first)))
                    .mul_int(i64::from(width) - 1)
                    .mul_int(256)
                    .trunc() as i32
            })
            .collect();
        Fft {
            canvas: Canvas::new(client_width, client_height, look.back_color),
            chart,
            transform,
            first: first as usize,
            last: last as usize,
            // The first draw comes with the N-th sample.
            rate: Rate { rate, count: rate - 1 },
            pen: Pen::new(line_size, dot_size),
            bars: (line_size < 0).then(|| LineTables::new(-line_size << 6)),
            log_scale,
            packing: look.packing,
            colors: look.colors,
            history: History::new(CHANNELS),
            count: 0,
            view: View::default(),
            stale: true,
            frames: 0,
            x_positions,
        }
    }

    fn update(&mut self, cursor: &mut Cursor<'_>, ctx: &mut Context<'_>) {
        let mut sets = SetBuffer::<CHANNELS>::new();
        while !cursor.at_end() {
            if let Some(label) = cursor.next_str() {
                self.settle(ctx.fonts);
                self.chart.define(label, cursor, Definition::Fft, &self.colors);
                continue;
            }
            if let Some(key) = cursor.next_key() {
                match key {
                    Keyword::Clear => {
                        self.view = View::default();
                        self.stale = true;
                        self.frames += 1;
                        self.count = 0;
                        self.rate.count = self.rate.rate - 1;
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
                    if let Some(&set) = sets.push(sample, self.chart.count) {
                        self.sample_set(&set, ctx.fonts);
                    }
                }
            }
        }
    }

    lazy_canvas_methods!();

    fn hover(&self, x: i32, y: i32) -> Option<String> {
        self.chart.hover(x, y)
    }
}
