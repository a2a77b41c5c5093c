//! BITMAP (docs/p2-displays.md A.9; DDU `BITMAP_Configure`, `BITMAP_Update`, `SetTrace`, `StepTrace`,
//! `ScrollBitmap`, `PlotPixel`): a raster written pixel by pixel along one of 16 scan patterns.

use super::scan::ScanPath;
use super::{Context, DisplayModel, Geometry, MouseUnits, PIXELS_MAX, Setup, pc_key, pc_mouse, save};
use crate::color::ColorState;
use crate::draw::smooth_shape;
use crate::element::{Cursor, Keyword};
use crate::frame::{Canvas, Framebuffer, Rect};
use crate::pack::Packing;
use crate::text::Fonts;

/// A BITMAP display.
#[derive(Debug)]
pub(crate) struct Bitmap {
    canvas: Canvas,
    width: i32,
    height: i32,
    dot_x: i32,
    dot_y: i32,
    /// The SPARSE cell colour, when sparse drawing is on (DOTSIZE ≥ 4 on both axes).
    sparse: Option<u32>,
    colors: ColorState,
    packing: Packing,
    path: ScanPath,
    rate: i32,
    rate_count: i32,
    update_mode: bool,
}

impl Bitmap {
    /// `SetTrace`: the start corner of `path`, and RATE re-derived (one refresh per line) when `modify_rate`.
    fn set_trace(&mut self, path: i32, modify_rate: bool) {
        self.path.set(path);
        if modify_rate {
            self.rate = if path & 7 < 4 { self.width } else { self.height };
        }
    }

    /// `StepTrace`: the next position along the pattern; at the end of a line, wrap or (bit 3) scroll.
    fn step_trace(&mut self) {
        if let Some((dx, dy)) = self.path.step() {
            self.scroll(dx, dy);
        }
    }

    fn background(&self) -> u32 {
        self.colors.raster_background()
    }

    /// `ScrollBitmap`: the image moves by `(dx, dy)` logical pixels; the uncovered edge gets the background.
    fn scroll(&mut self, dx: i32, dy: i32) {
        let (mx, my) = if self.sparse.is_some() {
            (self.dot_x, self.dot_y)
        } else {
            (1, 1)
        };
        let (dx, dy) = (i64::from(dx * mx), i64::from(dy * my));
        let background = self.background();
        let canvas = &mut self.canvas;
        let (w, h) = (i64::from(canvas.width()), i64::from(canvas.height()));
        canvas.back.shift(dx, dy);
        let uncovered_x = if dx < 0 {
            Rect::clipped(w + dx, 0, w, h, w as u32, h as u32)
        } else {
            Rect::clipped(0, 0, dx, h, w as u32, h as u32)
        };
        let uncovered_y = if dy < 0 {
            Rect::clipped(0, h + dy, w, h, w as u32, h as u32)
        } else {
            Rect::clipped(0, 0, w, dy, w as u32, h as u32)
        };
        for rect in [uncovered_x, uncovered_y] {
            if !rect.is_empty() {
                canvas.back.fill_rect(rect, background);
            }
        }
        canvas.touch(canvas.back.bounds());
    }

    /// `ClearBitmap`: the background everywhere, shown at once (PNut copies it to the front buffer even in
    /// UPDATE mode).
    fn clear(&mut self) {
        let background = self.background();
        self.canvas.clear_shown(background);
    }

    /// One pixel at the current position (DDU `PlotPixel`, or the SPARSE cell and dot).
    #[inline]
    fn plot(&mut self, value: i32) {
        match self.sparse {
            None => {
                let color = self.colors.translate(value);
                self.canvas.put(self.path.x as u32, self.path.y as u32, color);
            }
            Some(cell) => {
                let (dx, dy) = (self.dot_x, self.dot_y);
                let (cx, cy) = (self.path.x * dx + (dx >> 1), self.path.y * dy + (dy >> 1));
                smooth_shape(&mut self.canvas, cx, cy, dx, dy, 0, 0, 0, cell, 0xFF);
                let color = self.colors.translate(value);
                smooth_shape(
                    &mut self.canvas,
                    cx,
                    cy,
                    dx - (dx >> 2),
                    dy - (dy >> 2),
                    dx,
                    dy,
                    0,
                    color,
                    0xFF,
                );
            }
        }
    }

    /// `RateCycle`: counts an event; true when the count *equals* RATE (so RATE ≤ 0 never fires).
    #[inline]
    fn rate_cycle(&mut self) -> bool {
        self.rate_count = self.rate_count.wrapping_add(1);
        if self.rate_count == self.rate {
            self.rate_count = 0;
            true
        } else {
            false
        }
    }
}

impl DisplayModel for Bitmap {
    fn configure(cursor: &mut Cursor<'_>, setup: &mut Setup<'_>) -> Self {
        let (mut width, mut height, mut dot_x, mut dot_y) = (256, 256, 1, 1);
        let mut sparse = None;
        let mut colors = ColorState::default();
        let mut packing = Packing::default();
        let (mut trace, mut rate, mut update_mode) = (0, 0, false);
        while let Some(key) = cursor.next_key() {
            match key {
                Keyword::Size => {
                    if cursor.key_val_within(&mut width, 1, 2048) {
                        cursor.key_val_within(&mut height, 1, 2048);
                    }
                }
                Keyword::Dotsize => {
                    if cursor.key_val_within(&mut dot_x, 1, 256) {
                        dot_y = dot_x;
                        cursor.key_val_within(&mut dot_y, 1, 256);
                    }
                }
                Keyword::Sparse => {
                    if let Some(c) = colors.key_color(cursor) {
                        sparse = Some(c);
                    }
                }
                Keyword::Lutcolors => colors.key_lut_colors(cursor),
                Keyword::Trace => {
                    cursor.key_val(&mut trace);
                }
                Keyword::Rate => {
                    cursor.key_val(&mut rate);
                }
                Keyword::Update => update_mode = true,
                k if k.is_color_mode() => colors.key_color_mode(k, cursor),
                k if k.is_packing() => packing = Packing::from_directive(k, cursor),
                k => {
                    setup.common(k, cursor);
                }
            }
        }
        // SPARSE draws each pixel as a cell at DOTSIZE scale: only from DOTSIZE 4 on both axes, and only while
        // the scaled buffer stays within PIXELS_MAX.
        let scaled = u64::from((width * dot_x) as u32) * u64::from((height * dot_y) as u32);
        let sparse = sparse.filter(|_| dot_x >= 4 && dot_y >= 4 && scaled <= PIXELS_MAX);
        let (buffer_w, buffer_h) = if sparse.is_some() {
            (width * dot_x, height * dot_y)
        } else {
            (width, height)
        };
        let background = colors.raster_background();
        let mut bitmap = Bitmap {
            canvas: Canvas::new(buffer_w as u32, buffer_h as u32, background),
            width,
            height,
            dot_x,
            dot_y,
            sparse,
            colors,
            packing,
            path: ScanPath::new(trace, width, height),
            rate,
            rate_count: 0,
            update_mode,
        };
        bitmap.set_trace(trace, rate == 0);
        if bitmap.rate == -1 {
            bitmap.rate = width * height;
        }
        bitmap
    }

    fn update(&mut self, cursor: &mut Cursor<'_>, ctx: &mut Context<'_>) {
        while !cursor.at_end() {
            if cursor.next_str().is_some() {
                break; // a string ends a BITMAP message
            }
            if let Some(key) = cursor.next_key() {
                match key {
                    Keyword::Lutcolors => self.colors.key_lut_colors(cursor),
                    Keyword::Trace => {
                        if let Some(path) = cursor.next_num() {
                            self.set_trace(path, true);
                        }
                    }
                    Keyword::Rate => {
                        cursor.key_val(&mut self.rate);
                    }
                    Keyword::Set => {
                        self.path.trace &= 7; // SET cancels scrolling
                        if cursor.key_val_within(&mut self.path.x, 0, self.width - 1) {
                            cursor.key_val_within(&mut self.path.y, 0, self.height - 1);
                        }
                    }
                    Keyword::Scroll => {
                        let (mut dx, mut dy) = (0, 0);
                        if cursor.key_val_within(&mut dx, -self.width, self.width)
                            && cursor.key_val_within(&mut dy, -self.height, self.height)
                        {
                            self.scroll(dx, dy);
                        }
                    }
                    Keyword::Clear => {
                        self.clear();
                        if !self.update_mode {
                            self.canvas.refresh();
                        }
                        self.set_trace(self.path.trace, true);
                    }
                    Keyword::Update => self.canvas.refresh(),
                    Keyword::Save => save(self, cursor, ctx),
                    Keyword::PcKey => pc_key(ctx),
                    Keyword::PcMouse => pc_mouse(self, ctx),
                    k if k.is_color_mode() => self.colors.key_color_mode(k, cursor),
                    _ => {} // other keywords are ignored; a number after one is pixel data
                }
                continue;
            }
            while let Some(value) = cursor.next_num() {
                for sample in self.packing.unpack(value) {
                    self.plot(sample);
                    if self.rate_cycle() && !self.update_mode {
                        self.canvas.refresh();
                    }
                    self.step_trace();
                }
            }
        }
    }

    fn front(&mut self, _fonts: &mut Fonts) -> &Framebuffer {
        &self.canvas.front
    }

    fn take_damage(&mut self, _fonts: &mut Fonts) -> Option<Rect> {
        self.canvas.shown.take()
    }

    fn frames(&self) -> u64 {
        self.canvas.frames
    }

    fn is_damaged(&self) -> bool {
        self.canvas.shown.rect().is_some()
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
