//! LOGIC (docs/p2-displays.md A.2; DDU `LOGIC_Configure`, `LOGIC_Update`, `LOGIC_Draw`, `ClearBitmap`): a
//! logic analyser of up to 32 channels, one long per sample (bit j is channel j), newest sample at the right,
//! channel 0 the bottom row, an optional trigger on a masked pattern.

use super::trace::{Appearance, History, Pen, Rate, SAMPLES_MAX, View, lazy_canvas_methods, show_back, text_out};
use super::{Context, DisplayModel, Geometry, MouseUnits, Setup, pc_key, pc_mouse, save};
use crate::color::{ColorState, DEFAULT_PALETTE};
use crate::draw::{PenStyle, frame_rect, gdi_line, smooth_line};
use crate::element::{Cursor, Keyword};
use crate::frame::{Canvas, Framebuffer, Rect};
use crate::pack::Packing;
use crate::text::{Fonts, TextMetrics, TextStyle};

/// PNut's channel limit.
const CHANNELS: usize = 32;

/// One row: its label, colour, and how many bits its group spans (RANGE groups draw as one bus).
#[derive(Clone, Debug)]
struct Channel {
    label: Box<[u8]>,
    color: u32,
    bits: u32,
}

/// A LOGIC display.
#[derive(Debug)]
pub(crate) struct Logic {
    canvas: Canvas,
    channels: Vec<Channel>,
    samples: i32,
    spacing: i32,
    rate: Rate,
    pen: Pen,
    back_color: u32,
    grid_color: u32,
    packing: Packing,
    text_size: i32,
    metrics: TextMetrics,
    left: i32,
    top: i32,
    width: i32,
    height: i32,
    trigger_mask: i32,
    trigger_match: i32,
    trigger_offset: i32,
    armed: bool,
    holdoff: i32,
    holdoff_count: i32,
    toggle: bool,
    history: History,
    /// Samples buffered (PNut's `SamplePop`).
    count: usize,
    /// What the last refresh shows, and whether it still has to be drawn.
    view: View,
    stale: bool,
    frames: u64,
}

impl Logic {
    /// A refresh: the buffered samples become what is shown (drawn when asked for).
    fn refresh(&mut self, triggered: bool) {
        if triggered {
            self.toggle = !self.toggle;
        }
        self.view = View {
            end: self.history.written(),
            count: self.count,
            mark: triggered.then_some(self.toggle),
        };
        self.stale = true;
        self.frames += 1;
    }

    /// Draws the pending view, if any.
    fn settle(&mut self, fonts: &mut Fonts) {
        if !self.stale {
            return;
        }
        self.stale = false;
        self.clear_bitmap(fonts);
        let view = self.view;
        let ch = self.metrics.chr_height;
        let bottom_row = self.top + self.height;
        let mut j = 0;
        while j < self.channels.len() {
            let Channel { color, bits, .. } = self.channels[j];
            let dim = (color >> 2) & 0x3F_3F3F;
            let bot = (bottom_row - ch * j as i32 - ((ch * 3) >> 4)) << 8;
            let top = (bottom_row - ch * (j as i32 + bits as i32 - 1) - ((ch * 13) >> 4)) << 8;
            let mask = (1u64 << bits) - 1;
            if bits > 1 {
                let (x0, x1) = ((self.left + 1) << 8, (self.left + self.width - 1) << 8);
                smooth_line(&mut self.canvas, x0, top, x1, top, 0x80, dim, 0xFF);
                smooth_line(&mut self.canvas, x0, bot, x1, bot, 0x80, dim, 0xFF);
            }
            for k in (0..view.count).rev() {
                let (first, last) = (k == view.count - 1, k == 0);
                let x = (self.left + self.width - (k as i32 + 1) * self.spacing) << 8;
                let sample = self.history.get(0, view.end - 1 - k as u64) as u32;
                let v = u64::from(sample >> j) & mask;
                let y = (v as i64 * i64::from(top - bot) / mask as i64 + i64::from(bot)) as i32;
                self.pen
                    .line_dot(&mut self.canvas, x + (i32::from(first) << 8), y, color, first);
                self.pen.line_dot(
                    &mut self.canvas,
                    x + ((self.spacing - i32::from(last)) << 8),
                    y,
                    color,
                    false,
                );
            }
            j += bits as usize;
        }
        show_back(&mut self.canvas);
    }

    /// `ClearBitmap` for LOGIC: back colour, grid frame, labels, and the blinking trigger mark.
    fn clear_bitmap(&mut self, fonts: &mut Fonts) {
        let (cw, ch) = (self.metrics.chr_width, self.metrics.chr_height);
        let canvas = &mut self.canvas;
        canvas.back.fill(self.back_color);
        canvas.touch(canvas.back.bounds());
        frame_rect(
            canvas,
            self.left,
            self.top - (ch >> 3) + 1,
            self.left + self.width + 1,
            self.top + self.height + (ch >> 3) + 1,
            self.grid_color,
        );
        let style = TextStyle::label(self.text_size);
        let mut y = self.top + self.height - ch;
        for channel in &self.channels {
            let x = self.left - (channel.label.len() as i32 + 1) * cw;
            text_out(
                fonts,
                canvas,
                x,
                y,
                &channel.label,
                style,
                channel.color,
                Some(self.back_color),
            );
            y -= ch;
        }
        if let Some(toggle) = self.view.mark {
            let (pen, gap) = if toggle {
                (self.grid_color, self.back_color)
            } else {
                (self.back_color, self.grid_color)
            };
            let x = self.left + self.width - self.trigger_offset * self.spacing;
            gdi_line(
                canvas,
                x,
                self.top + 1,
                x,
                self.top + self.height,
                pen,
                PenStyle::Dot { gap },
            );
        }
    }

    /// One sample: buffered, the trigger evaluated, a refresh when due.
    fn sample(&mut self, value: i32, fonts: &mut Fonts) {
        if self.stale && self.history.would_overwrite(self.view.oldest()) {
            self.settle(fonts);
        }
        self.history.push(&[value]);
        if self.count < self.samples as usize {
            self.count += 1;
        }
        if self.trigger_mask == 0 {
            if self.rate.cycle() {
                self.refresh(false);
            }
            return;
        }
        if self.count != self.samples as usize {
            return;
        }
        // PNut reads slot `SamplePtr − offset` of its 2048-sample ring: age offset − 1, or for offset 0 the
        // oldest slot (2048 samples back).
        let back = if self.trigger_offset == 0 {
            SAMPLES_MAX as u64
        } else {
            self.trigger_offset as u64
        };
        let t = self.history.get(0, self.history.written().wrapping_sub(back));
        let matches = (t ^ self.trigger_match) & self.trigger_mask == 0;
        let mut triggered = false;
        if self.armed {
            if matches {
                triggered = true;
                self.armed = false;
            }
        } else if !matches {
            self.armed = true;
        }
        if self.holdoff_count > 0 {
            self.holdoff_count -= 1;
        }
        if !triggered || self.holdoff_count > 0 {
            return;
        }
        self.holdoff_count = self.holdoff;
        if self.rate.cycle() {
            self.refresh(true);
        }
    }

    /// A channel label string in the declaration, with its optional count, `RANGE` and colour.
    fn add_channels(channels: &mut Vec<Channel>, label: &[u8], cursor: &mut Cursor<'_>, colors: &ColorState) {
        let index = channels.len();
        let mut count = 1;
        if !cursor.key_val_within(&mut count, 1, CHANNELS as i32) {
            count = 1;
        }
        let count = count.min((CHANNELS - index) as i32) as u32;
        let range = cursor.key_is(Keyword::Range);
        let color = colors.key_color(cursor).unwrap_or(DEFAULT_PALETTE[index % 8]);
        for i in 0..count {
            let (label, color, bits) = match (range, i) {
                (true, 0) => (label.into(), color, count),
                (true, 1) => (count.to_string().into_bytes().into(), (color >> 2) & 0x3F_3F3F, count),
                (true, _) => (Box::default(), color, count),
                (false, 0) if count > 1 => ([label, b" 0"].concat().into(), color, 1),
                (false, 0) => (label.into(), color, 1),
                (false, _) => (i.to_string().into_bytes().into(), color, 1),
            };
            channels.push(Channel { label, color, bits });
        }
    }
}

impl DisplayModel for Logic {
    fn configure(cursor: &mut Cursor<'_>, setup: &mut Setup<'_>) -> Self {
        let (mut samples, mut spacing, mut rate) = (32, 8, 1);
        let (mut dot_size, mut line_size) = (0, 3);
        let mut look = Appearance::new();
        let mut channels: Vec<Channel> = Vec::new();
        while !cursor.at_end() {
            if cursor.next_num().is_some() {
                break; // a number ends the declaration
            }
            if let Some(key) = cursor.next_key() {
                match key {
                    Keyword::Samples => {
                        cursor.key_val_within(&mut samples, 4, SAMPLES_MAX as i32 - 1);
                    }
                    Keyword::Spacing => {
                        cursor.key_val_within(&mut spacing, 1, 32);
                    }
                    Keyword::Rate => {
                        cursor.key_val_within(&mut rate, 1, SAMPLES_MAX as i32);
                    }
                    Keyword::Dotsize => {
                        cursor.key_val_within(&mut dot_size, 0, 32);
                    }
                    Keyword::Linesize => {
                        cursor.key_val_within(&mut line_size, 1, 32);
                    }
                    k => look.key(k, cursor, setup),
                }
            } else if let Some(label) = cursor.next_str() {
                // A 33rd label is read but ignored, its count and colour then end the declaration.
                if channels.len() < CHANNELS {
                    Self::add_channels(&mut channels, label, cursor, &look.colors);
                }
            }
        }
        if channels.is_empty() {
            channels = (0..CHANNELS)
                .map(|i| Channel {
                    label: i.to_string().into_bytes().into(),
                    color: DEFAULT_PALETTE[0],
                    bits: 1,
                })
                .collect();
        }
        let metrics = setup.fonts.metrics(look.text_size);
        let (cw, ch) = (metrics.chr_width, metrics.chr_height);
        let longest = channels.iter().map(|c| c.label.len() as i64).max().unwrap_or(0);
        let left = (longest + 2) * i64::from(cw);
        let (width, height) = (samples * spacing, channels.len() as i32 * ch);
        let client_width = left + i64::from(width + ch);
        let client_height = i64::from(height + 2 * ch);
        let (client_width, client_height) = setup.size(client_width, client_height);
        Logic {
            canvas: Canvas::new(client_width, client_height, look.back_color),
            channels,
            samples,
            spacing,
            rate: Rate::new(rate),
            pen: Pen::new(line_size, dot_size),
            back_color: look.back_color,
            grid_color: look.grid_color,
            packing: look.packing,
            text_size: look.text_size,
            metrics,
            left: left.min(i64::from(i32::MAX)) as i32,
            top: ch,
            width,
            height,
            trigger_mask: 0,
            trigger_match: 1,
            trigger_offset: samples / 2,
            armed: false,
            holdoff: samples,
            holdoff_count: 0,
            toggle: false,
            history: History::new(1),
            count: 0,
            view: View::default(),
            stale: true,
            frames: 0,
        }
    }

    fn update(&mut self, cursor: &mut Cursor<'_>, ctx: &mut Context<'_>) {
        while !cursor.at_end() {
            if cursor.next_str().is_some() {
                break; // a string ends a LOGIC message
            }
            if let Some(key) = cursor.next_key() {
                match key {
                    Keyword::Trigger => {
                        self.armed = false;
                        self.settle(ctx.fonts); // the mark of a pending view sits at the old offset
                        if !cursor.key_val(&mut self.trigger_mask) || !cursor.key_val(&mut self.trigger_match) {
                            continue;
                        }
                        cursor.key_val_within(&mut self.trigger_offset, 0, self.samples - 1);
                    }
                    Keyword::Holdoff if cursor.key_val_within(&mut self.holdoff, 2, SAMPLES_MAX as i32) => {
                        self.holdoff_count = 0;
                    }
                    Keyword::Clear => {
                        self.view = View::default();
                        self.stale = true;
                        self.frames += 1;
                        self.count = 0;
                        self.rate.count = 0;
                    }
                    Keyword::Save => save(self, cursor, ctx),
                    Keyword::PcKey => pc_key(ctx),
                    Keyword::PcMouse => pc_mouse(self, ctx),
                    _ => {} // ignored; a number after it is a sample
                }
                continue;
            }
            while let Some(value) = cursor.next_num() {
                for sample in self.packing.unpack(value) {
                    self.sample(sample, ctx.fonts);
                }
            }
        }
    }

    lazy_canvas_methods!();

    fn hover(&self, x: i32, y: i32) -> Option<String> {
        // Sample age (negative: back from the newest) and channel row.
        let (left, top) = (self.left, self.top);
        let inside = (left..left + self.width).contains(&x) && (top..top + self.height).contains(&y);
        inside.then(|| {
            let age = (left + self.width - 1 - x) / self.spacing;
            format!("{},{}", -age, (top + self.height - 1 - y) / self.metrics.chr_height)
        })
    }
}
