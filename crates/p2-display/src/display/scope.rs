//! SCOPE (docs/p2-displays.md A.3; DDU `SCOPE_Configure`, `SCOPE_Update`, `SCOPE_Draw`, `SCOPE_Range`): an
//! oscilloscope of up to eight channels defined by feed strings, newest sample at the right edge, with an
//! optional level trigger.

use super::chart::{CHANNELS, Chart, Definition};
use super::trace::{Appearance, History, Pen, Rate, SAMPLES_MAX, SetBuffer, View, lazy_canvas_methods, show_back};
use super::{Context, DisplayModel, Geometry, MouseUnits, Setup, pc_key, pc_mouse, save};
use crate::color::{ColorState, alpha_blend};
use crate::element::{Cursor, Keyword};
use crate::extended::{Extended, Scale};
use crate::frame::{Canvas, Framebuffer, Rect};
use crate::pack::Packing;
use crate::text::Fonts;

/// The level trigger (`TRIGGER ch (AUTO | arm fire) {offset}`, `HOLDOFF n`).
#[derive(Clone, Copy, Debug)]
struct Trigger {
    /// −1: off.
    channel: i32,
    auto: bool,
    arm: i32,
    fire: i32,
    /// Age of the tested sample.
    offset: i32,
    armed: bool,
    holdoff: i32,
    holdoff_count: i32,
}

impl Trigger {
    /// Whether sample `t` fires: arming on one side of `arm`, firing on the far side of `fire` (rising when
    /// fire ≥ arm, falling otherwise).
    fn fires(&mut self, t: i32) -> bool {
        let rising = self.fire >= self.arm;
        if self.armed {
            let fired = if rising { t >= self.fire } else { t <= self.fire };
            if fired {
                self.armed = false;
            }
            fired
        } else {
            self.armed = if rising { t <= self.arm } else { t >= self.arm };
            false
        }
    }
}

/// A SCOPE display.
#[derive(Debug)]
pub(crate) struct Scope {
    canvas: Canvas,
    chart: Chart,
    samples: usize,
    rate: Rate,
    pen: Pen,
    packing: Packing,
    colors: ColorState,
    trigger: Trigger,
    toggle: bool,
    history: History,
    /// Sample sets buffered (PNut's `SamplePop`).
    count: usize,
    view: View,
    stale: bool,
    frames: u64,
    /// `Round(k / SAMPLES · width · 256)` for each age k: how far left of the right edge a sample sits.
    x_offsets: Box<[i32]>,
}

impl Scope {
    /// `SCOPE_Range`: the lowest and highest of the `count` values of `channel` before index `end`.
    fn range(&self, channel: usize, end: u64, count: usize) -> (i32, i32) {
        let (a, b) = self.history.window(channel, end, count);
        a.iter()
            .chain(b)
            .fold((i32::MAX, i32::MIN), |(low, high), &v| (low.min(v), high.max(v)))
    }

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

    /// The trigger mark: the channel's colour half-blended into the back colour, `offset + 1` samples from the
    /// right edge.
    fn mark(&self, toggle: bool) -> (u32, i32, bool) {
        let chart = &self.chart;
        let color = chart.channels[self.trigger.channel.clamp(0, 7) as usize].color;
        let from_right = Extended::from_int(i64::from(self.trigger.offset) + 1)
            .div(Extended::from_int(self.samples as i64))
            .mul_int(i64::from(chart.width))
            .round();
        let x = chart.left + chart.width - from_right as i32;
        (alpha_blend(color, chart.back_color, 0x80), x, toggle)
    }

    /// `SCOPE_Draw` of the pending view (or the blank of a CLEAR).
    fn settle(&mut self, fonts: &mut Fonts) {
        if !self.stale {
            return;
        }
        self.stale = false;
        let view = self.view;
        if view.count > 0 {
            for j in (0..self.chart.count).rev() {
                if self.chart.channels[j].auto {
                    let (low, high) = self.range(j, view.end, view.count);
                    (self.chart.channels[j].low, self.chart.channels[j].high) = (low, high);
                }
            }
        }
        let mark = view.mark.map(|toggle| self.mark(toggle));
        self.chart.clear(&mut self.canvas, fonts, mark, false);
        let chart = &self.chart;
        let right = (chart.left + chart.width - 1) << 8;
        for j in (0..chart.count).rev() {
            let c = &chart.channels[j];
            let span = (i64::from(c.high) - i64::from(c.low)).abs();
            let scale = if span == 0 {
                Scale::new(Extended::from_int(0))
            } else {
                Scale::new(
                    Extended::from_int(i64::from(c.tall) - 1)
                        .div(Extended::from_int(span))
                        .mul_int(256),
                )
            };
            let offset = i64::from(c.low.min(c.high));
            let bottom = chart
                .top
                .wrapping_add(chart.height)
                .wrapping_sub(1)
                .wrapping_sub(c.base)
                .wrapping_shl(8);
            let (older, newer) = self.history.window(j, view.end, view.count);
            for (i, &v) in older.iter().chain(newer).enumerate() {
                let k = view.count - 1 - i;
                let x = right - self.x_offsets[k];
                let y = bottom.wrapping_sub(scale.round(i64::from(v) - offset) as i32);
                self.pen.line_dot(&mut self.canvas, x, y, c.color, i == 0);
            }
        }
        show_back(&mut self.canvas);
    }

    /// One complete sample set.
    fn sample_set(&mut self, set: &[i32; CHANNELS], fonts: &mut Fonts) {
        if self.stale && self.history.would_overwrite(self.view.oldest()) {
            self.settle(fonts);
        }
        self.history.push(set);
        if self.count < self.samples {
            self.count += 1;
        }
        if self.trigger.channel < 0 {
            if self.rate.cycle() {
                self.refresh(false);
            }
            return;
        }
        if self.count != self.samples {
            return;
        }
        let channel = self.trigger.channel as usize;
        let end = self.history.written();
        if self.trigger.auto {
            let (low, high) = self.range(channel, end, self.count);
            let span = high.wrapping_sub(low);
            self.trigger.arm = (span / 3).wrapping_add(low);
            self.trigger.fire = (span / 2).wrapping_add(low);
        }
        let t = self.history.get(channel, end - 1 - self.trigger.offset as u64);
        let triggered = self.trigger.fires(t);
        if self.trigger.holdoff_count > 0 {
            self.trigger.holdoff_count -= 1;
        }
        if !triggered || self.trigger.holdoff_count > 0 {
            return;
        }
        self.trigger.holdoff_count = self.trigger.holdoff;
        if self.rate.cycle() {
            self.refresh(true);
        }
    }

    /// `TRIGGER ch (AUTO | arm fire) {offset}`; a missing number ends it where PNut does.
    fn key_trigger(&mut self, cursor: &mut Cursor<'_>) {
        let t = &mut self.trigger;
        t.armed = false;
        if !cursor.key_val_within(&mut t.channel, -1, 7) {
            return;
        }
        if cursor.key_is(Keyword::Auto) {
            t.auto = true;
        } else {
            t.auto = false;
            if !cursor.key_val(&mut t.arm) || !cursor.key_val(&mut t.fire) {
                return;
            }
        }
        cursor.key_val_within(&mut t.offset, 0, self.samples as i32 - 1);
    }
}

impl DisplayModel for Scope {
    fn configure(cursor: &mut Cursor<'_>, setup: &mut Setup<'_>) -> Self {
        let (mut width, mut height, mut samples, mut rate) = (256, 256, 256, 1);
        let (mut dot_size, mut line_size) = (0, 3);
        let mut look = Appearance::new();
        while let Some(key) = cursor.next_key() {
            match key {
                Keyword::Size => {
                    if cursor.key_val_within(&mut width, 32, SAMPLES_MAX as i32) {
                        cursor.key_val_within(&mut height, 32, SAMPLES_MAX as i32);
                    }
                }
                Keyword::Samples => {
                    cursor.key_val_within(&mut samples, 16, SAMPLES_MAX as i32);
                }
                Keyword::Rate => {
                    cursor.key_val_within(&mut rate, 1, SAMPLES_MAX as i32);
                }
                Keyword::Dotsize => {
                    cursor.key_val_within(&mut dot_size, 0, 32);
                }
                Keyword::Linesize => {
                    cursor.key_val_within(&mut line_size, 0, 32);
                }
                k => look.key(k, cursor, setup),
            }
        }
        if dot_size == 0 && line_size == 0 {
            dot_size = 1;
        }
        let metrics = setup.fonts.metrics(look.text_size);
        let chart = Chart::new(
            Definition::Scope,
            width,
            height,
            metrics,
            look.text_size,
            (look.back_color, look.grid_color),
        );
        let (client_width, client_height) = chart.client_size();
        let (client_width, client_height) = setup.size(client_width, client_height);
        let x_offsets = (0..samples)
            .map(|k| {
                let exact = Extended::from_int(i64::from(k))
                    .div(Extended::from_int(i64::from(samples)))
                    .mul_int(i64::from(width))
                    .mul_int(256);
                exact.round() as i32
            })
            .collect();
        Scope {
            canvas: Canvas::new(client_width, client_height, look.back_color),
            chart,
            samples: samples as usize,
            rate: Rate::new(rate),
            pen: Pen::new(line_size, dot_size),
            packing: look.packing,
            colors: look.colors,
            trigger: Trigger {
                channel: -1,
                auto: false,
                arm: -1,
                fire: 0,
                offset: samples / 2,
                armed: false,
                holdoff: samples,
                holdoff_count: 0,
            },
            toggle: false,
            history: History::new(CHANNELS),
            count: 0,
            view: View::default(),
            stale: true,
            frames: 0,
            x_offsets,
        }
    }

    fn update(&mut self, cursor: &mut Cursor<'_>, ctx: &mut Context<'_>) {
        let mut sets = SetBuffer::<CHANNELS>::new();
        while !cursor.at_end() {
            if let Some(label) = cursor.next_str() {
                self.settle(ctx.fonts); // a pending view is drawn with the definitions it was taken under
                self.chart.define(label, cursor, Definition::Scope, &self.colors);
                continue;
            }
            if let Some(key) = cursor.next_key() {
                match key {
                    Keyword::Trigger => {
                        self.settle(ctx.fonts);
                        self.key_trigger(cursor);
                    }
                    Keyword::Holdoff if cursor.key_val_within(&mut self.trigger.holdoff, 2, SAMPLES_MAX as i32) => {
                        self.trigger.holdoff_count = 0;
                    }
                    Keyword::Clear => {
                        // AUTO ranges of a pending view become the guide text of the blank.
                        self.settle(ctx.fonts);
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
                    // Before any channel exists nothing collects: not displayed.
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
