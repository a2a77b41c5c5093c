//! SPECTRO (docs/p2-displays.md A.6; DDU `SPECTRO_Configure`, `SPECTRO_Update`, `SPECTRO_Draw`): a
//! spectrogram of one signal. Every RATE samples (once N are buffered) the spectrum of the last N becomes one
//! line of a logical bitmap, written along a BITMAP-style TRACE path: by default a column at the right edge, bin
//! `first` at the bottom, after which the image scrolls left.
//!
//! Spectra are computed when the picture is asked for: a refresh only records where its samples end. Their
//! columns land in the bitmap in order, and the screen shows the bitmap as it was right after the last column
//! (before its scroll), as PNut's does. When more spectra wait than the bitmap has lines, the older ones would
//! be overwritten before anyone saw them: they are skipped (the path advanced as if drawn).

use super::fft::{key_samples, log_scale};
use super::scan::ScanPath;
use super::trace::{History, Rate, SAMPLES_MAX};
use super::{Context, DisplayModel, Geometry, MouseUnits, Setup, pc_key, pc_mouse, save};
use crate::color::{ColorMode, ColorState};
use crate::element::{Cursor, Keyword};
use crate::extended::{Extended, Scale};
use crate::fourier::Transform;
use crate::frame::{Canvas, Framebuffer, Rect};
use crate::pack::Packing;
use crate::text::Fonts;

/// A SPECTRO display.
#[derive(Debug)]
pub(crate) struct Spectro {
    canvas: Canvas,
    width: i32,
    height: i32,
    dot_x: i32,
    dot_y: i32,
    colors: ColorState,
    path: ScanPath,
    trace: i32,
    rate: Rate,
    range: i32,
    log_scale: bool,
    mag: u32,
    first: usize,
    last: usize,
    transform: Transform,
    /// `Round(v · 255 / RANGE)`.
    scale: Scale,
    packing: Packing,
    history: History,
    count: usize,
    /// Spectra refreshed but not drawn yet: the first one's sample end, and how many (one every RATE samples).
    pending_end: u64,
    pending: u64,
    frames: u64,
}

impl Spectro {
    /// Draws the waiting spectra into the bitmap and shows it as it was after the last one's final pixel.
    fn settle(&mut self) {
        if self.pending == 0 {
            return;
        }
        let lines = self.path.lines().max(1) as u64;
        let skip = self.pending.saturating_sub(lines);
        if self.path.trace & 8 == 0 {
            for _ in 0..skip % lines {
                self.path.next_line();
            }
        }
        let n = self.transform.len();
        let hsv = matches!(
            self.colors.mode,
            ColorMode::Hsv16 | ColorMode::Hsv16w | ColorMode::Hsv16x
        );
        for i in skip..self.pending {
            let end = self.pending_end + i * self.rate.rate as u64;
            let (older, newer) = self.history.window(0, end, n);
            self.transform.perform(older.iter().chain(newer).copied(), self.mag);
            for bin in self.first..=self.last {
                let mut v = i64::from(self.transform.power[bin]);
                if self.log_scale {
                    v = log_scale(v, i64::from(self.range));
                }
                let mut p = (self.scale.round(v) as i32).min(0xFF);
                if hsv {
                    p |= ((self.transform.angle[bin] >> 16) & 0xFF00) as i32;
                }
                let color = self.colors.translate(p);
                self.canvas.put(self.path.x as u32, self.path.y as u32, color);
                if bin == self.last && i == self.pending - 1 {
                    self.canvas.refresh();
                }
                if let Some((dx, dy)) = self.path.step() {
                    self.scroll(dx, dy);
                }
            }
        }
        self.pending = 0;
    }

    /// `ScrollBitmap`: the image moves one line; the uncovered line gets the background.
    fn scroll(&mut self, dx: i32, dy: i32) {
        let background = self.colors.raster_background();
        let canvas = &mut self.canvas;
        canvas.back.shift(i64::from(dx), i64::from(dy));
        let (w, h) = (canvas.width(), canvas.height());
        let uncovered = match (dx, dy) {
            (-1, _) => Rect::new(w - 1, 0, 1, h),
            (1, _) => Rect::new(0, 0, 1, h),
            (_, -1) => Rect::new(0, h - 1, w, 1),
            _ => Rect::new(0, 0, w, 1),
        };
        canvas.back.fill_rect(uncovered, background);
        canvas.touch(canvas.back.bounds());
    }

    fn sample(&mut self, value: i32) {
        let n = self.transform.len();
        if self.pending > 0 && self.history.would_overwrite(self.pending_end - n as u64) {
            self.settle();
        }
        self.history.push(&[value]);
        if self.count < n {
            self.count += 1;
        }
        if self.count == n && self.rate.cycle() {
            if self.pending == 0 {
                self.pending_end = self.history.written();
            }
            self.pending += 1;
            self.frames += 1;
        }
    }

    /// `ClearBitmap`: the background in both buffers, the path restarted.
    fn clear(&mut self) {
        let background = self.colors.raster_background();
        self.pending = 0;
        self.canvas.clear_shown(background);
        self.path.set(self.trace);
    }
}

impl DisplayModel for Spectro {
    fn configure(cursor: &mut Cursor<'_>, setup: &mut Setup<'_>) -> Self {
        let (mut exp, mut first, mut last) = (9, 0, 255);
        let (mut depth, mut mag, mut range, mut rate, mut trace) = (256, 0, i32::MAX, 0, 0xF);
        let (mut dot_x, mut dot_y) = (1, 1);
        let mut log_scale = false;
        let mut colors = ColorState {
            mode: ColorMode::Luma8x,
            ..ColorState::default()
        };
        let mut packing = Packing::default();
        while let Some(key) = cursor.next_key() {
            match key {
                Keyword::Samples => (exp, first, last) = key_samples(cursor, (exp, first, last)),
                Keyword::Depth => {
                    cursor.key_val_within(&mut depth, 1, SAMPLES_MAX as i32);
                }
                Keyword::Mag => {
                    cursor.key_val_within(&mut mag, 0, 11);
                }
                Keyword::Range => {
                    cursor.key_val_within(&mut range, 1, i32::MAX);
                }
                Keyword::Rate => {
                    cursor.key_val_within(&mut rate, 1, SAMPLES_MAX as i32);
                }
                Keyword::Trace => {
                    cursor.key_val(&mut trace);
                }
                Keyword::Dotsize => {
                    if cursor.key_val_within(&mut dot_x, 1, 16) {
                        dot_y = dot_x;
                        cursor.key_val_within(&mut dot_y, 1, 16);
                    }
                }
                Keyword::Luma8
                | Keyword::Luma8w
                | Keyword::Luma8x
                | Keyword::Hsv16
                | Keyword::Hsv16w
                | Keyword::Hsv16x => colors.key_color_mode(key, cursor),
                Keyword::Logscale => log_scale = true,
                k if k.is_packing() => packing = Packing::from_directive(k, cursor),
                k => {
                    setup.common(k, cursor);
                }
            }
        }
        let transform = Transform::new(exp);
        if rate == 0 {
            rate = transform.len() as i32 / 8;
        }
        // One spectrum is one line: a column (bins up the height) for patterns 4–7, else a row.
        let bins = last - first + 1;
        let (width, height) = if trace & 4 == 0 { (bins, depth) } else { (depth, bins) };
        let (buffer_width, buffer_height) = setup.size(width.into(), height.into());
        let background = colors.raster_background();
        Spectro {
            canvas: Canvas::new(buffer_width, buffer_height, background),
            width,
            height,
            dot_x,
            dot_y,
            path: ScanPath::new(trace, width, height),
            trace,
            rate: Rate { rate, count: rate - 1 },
            range,
            log_scale,
            mag: mag as u32,
            first: first as usize,
            last: last as usize,
            transform,
            scale: Scale::new(Extended::from_int(255).div(Extended::from_int(i64::from(range)))),
            colors,
            packing,
            history: History::new(1),
            count: 0,
            pending_end: 0,
            pending: 0,
            frames: 0,
        }
    }

    fn update(&mut self, cursor: &mut Cursor<'_>, ctx: &mut Context<'_>) {
        while !cursor.at_end() {
            if cursor.next_str().is_some() {
                break; // a string ends a SPECTRO message
            }
            if let Some(key) = cursor.next_key() {
                match key {
                    Keyword::Clear => {
                        self.clear();
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
                    self.sample(sample);
                }
            }
        }
    }

    fn front(&mut self, _fonts: &mut Fonts) -> &Framebuffer {
        self.settle();
        &self.canvas.front
    }

    fn take_damage(&mut self, _fonts: &mut Fonts) -> Option<Rect> {
        self.settle();
        self.canvas.shown.take()
    }

    fn frames(&self) -> u64 {
        self.frames
    }

    fn is_damaged(&self) -> bool {
        self.pending > 0 || self.canvas.shown.rect().is_some()
    }

    fn hover(&self, x: i32, y: i32) -> Option<String> {
        // Unlike PC_MOUSE, the read-out counts y from the top.
        Some(format!("{},{}", x / self.dot_x, y / self.dot_y))
    }

    fn geometry(&self) -> Geometry {
        Geometry {
            client_width: (self.width * self.dot_x) as u32,
            client_height: (self.height * self.dot_y) as u32,
            units: MouseUnits::Logical {
                dot_x: self.dot_x,
                dot_y: self.dot_y,
                from_right: false,
                from_top: false,
            },
        }
    }
}
