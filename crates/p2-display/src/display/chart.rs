//! The chart SCOPE and FFT share (docs/p2-displays.md A.3, A.5; DDU `ClearBitmap` for `dis_scope`/`dis_fft`):
//! up to eight channels defined by feed strings, a plot area framed in the grid colour, dotted guides with their
//! value text, and bold italic labels across the top margin.

use super::trace::{decimal, text_out};
use crate::color::{ColorState, DEFAULT_PALETTE, alpha_blend};
use crate::draw::{PenStyle, fill_rect, frame_rect, gdi_line};
use crate::element::{Cursor, Keyword};
use crate::frame::Canvas;
use crate::text::{Fonts, TextMetrics, TextStyle};

/// PNut's channel limit for SCOPE and FFT.
pub(crate) const CHANNELS: usize = 8;

/// One channel's definition (PNut's `vLabel`, `vAuto`, `vLow`, `vHigh`, `vMag`, `vTall`, `vBase`, `vGrid`,
/// `vColor`).
#[derive(Clone, Debug)]
pub(crate) struct Channel {
    pub(crate) label: Box<[u8]>,
    pub(crate) auto: bool,
    pub(crate) low: i32,
    pub(crate) high: i32,
    pub(crate) mag: i32,
    /// Pixels from the low value to the high one.
    pub(crate) tall: i32,
    /// Pixels from the plot's bottom to the low value.
    pub(crate) base: i32,
    /// Guide bits: 1 line at base, 2 line at base + tall, 4 low value text, 8 high value text.
    pub(crate) grid: i32,
    pub(crate) color: u32,
}

/// Which definition a channel string starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Definition {
    /// SCOPE: `'label' (AUTO | low high) tall base grid {colour}`.
    Scope,
    /// FFT: `'label' mag high tall base grid {colour}`.
    Fft,
}

/// The plot area, its margins and text, and the channels.
#[derive(Clone, Debug)]
pub(crate) struct Chart {
    pub(crate) left: i32,
    pub(crate) top: i32,
    pub(crate) right: i32,
    pub(crate) width: i32,
    pub(crate) height: i32,
    pub(crate) metrics: TextMetrics,
    pub(crate) text_size: i32,
    pub(crate) back_color: u32,
    pub(crate) grid_color: u32,
    pub(crate) channels: [Channel; CHANNELS],
    /// Channels defined so far (PNut's `vIndex`).
    pub(crate) count: usize,
}

impl Chart {
    /// The layout of a `width × height` plot with margins left ChrWidth, top 2·ChrHeight, right and bottom
    /// ChrWidth (`SetSize`), and channels at their defaults.
    pub(crate) fn new(
        kind: Definition,
        width: i32,
        height: i32,
        metrics: TextMetrics,
        text_size: i32,
        colors: (u32, u32),
    ) -> Self {
        let channel = |i: usize| Channel {
            label: Box::default(),
            auto: false,
            // FFT never sets the low value: PNut's zeroed field, shown as "+0" by guide text.
            low: if kind == Definition::Scope { i32::MIN } else { 0 },
            high: i32::MAX,
            mag: 0,
            tall: height,
            base: 0,
            grid: 0,
            color: DEFAULT_PALETTE[i],
        };
        Self {
            left: metrics.chr_width,
            top: metrics.chr_height * 2,
            right: metrics.chr_width,
            width,
            height,
            metrics,
            text_size,
            back_color: colors.0,
            grid_color: colors.1,
            channels: std::array::from_fn(channel),
            count: 0,
        }
    }

    /// The client size.
    pub(crate) fn client_size(&self) -> (i64, i64) {
        (
            i64::from(self.left) + i64::from(self.width) + i64::from(self.right),
            i64::from(self.top) + i64::from(self.height) + i64::from(self.metrics.chr_width),
        )
    }

    /// The hover read-out: plot pixels from the bottom-left, inside the plot only.
    pub(crate) fn hover(&self, x: i32, y: i32) -> Option<String> {
        let inside =
            (self.left..self.left + self.width).contains(&x) && (self.top..self.top + self.height).contains(&y);
        inside.then(|| format!("{},{}", x - self.left, self.top + self.height - 1 - y))
    }

    /// A channel string in a feed: the next channel (a 9th overwrites the 8th) with as many of its fields as
    /// follow; a missing field ends the definition there.
    pub(crate) fn define(&mut self, label: &[u8], cursor: &mut Cursor<'_>, kind: Definition, colors: &ColorState) {
        if self.count != CHANNELS {
            self.count += 1;
        }
        let c = &mut self.channels[self.count - 1];
        c.label = label.into();
        match kind {
            Definition::Scope => {
                if cursor.key_is(Keyword::Auto) {
                    c.auto = true;
                } else if !cursor.key_val(&mut c.low) || !cursor.key_val(&mut c.high) {
                    return;
                }
            }
            Definition::Fft => {
                if !cursor.key_val_within(&mut c.mag, 0, 11) || !cursor.key_val_within(&mut c.high, 1, i32::MAX) {
                    return;
                }
            }
        }
        if cursor.key_val(&mut c.tall) && cursor.key_val(&mut c.base) && cursor.key_val(&mut c.grid) {
            colors.key_color_into(cursor, &mut c.color);
        }
    }

    /// `ClearBitmap`: back colour, frame, guides, the trigger `mark` (colour, x, toggle), "logscale", labels.
    pub(crate) fn clear(&self, canvas: &mut Canvas, fonts: &mut Fonts, mark: Option<(u32, i32, bool)>, logscale: bool) {
        let (cw, ch) = (self.metrics.chr_width, self.metrics.chr_height);
        let (left, top, width, height) = (self.left, self.top, self.width, self.height);
        canvas.back.fill(self.back_color);
        canvas.touch(canvas.back.bounds());
        frame_rect(
            canvas,
            left - 1,
            top - 1,
            left + width + 1,
            top + height + 1,
            self.grid_color,
        );
        let regular = TextStyle::regular(self.text_size);
        for c in self.channels.iter().filter(|c| c.grid != 0) {
            let color = alpha_blend(c.color, self.back_color, 0x40);
            let dotted = PenStyle::Dot { gap: self.back_color };
            let low_y = top.wrapping_add(height).wrapping_sub(c.base).wrapping_sub(1);
            let high_y = top.wrapping_add(height).wrapping_sub(c.base).wrapping_sub(c.tall);
            if c.grid & 1 != 0 {
                gdi_line(canvas, left, low_y, left + width, low_y, color, dotted);
            }
            if c.grid & 2 != 0 {
                gdi_line(canvas, left, high_y, left + width, high_y, color, dotted);
            }
            let (lower, upper) = (c.low.min(c.high), c.low.max(c.high));
            for (bit, y, value) in [(4, low_y, lower), (8, high_y, upper)] {
                if c.grid & bit == 0 {
                    continue;
                }
                let mut buf = [0; 21];
                let text = decimal(value.into(), true, &mut buf);
                let w = fonts.text_width(regular, text);
                fill_rect(canvas, left, y - 1, left + w + cw, y + 1, self.back_color);
                text_out(
                    fonts,
                    canvas,
                    left + cw / 2,
                    y - ch / 2,
                    text,
                    regular,
                    color,
                    Some(self.back_color),
                );
            }
        }
        if let Some((color, x, toggle)) = mark {
            let (pen, gap) = if toggle {
                (color, self.back_color)
            } else {
                (self.back_color, color)
            };
            gdi_line(canvas, x, top, x, top + height, pen, PenStyle::Dot { gap });
        }
        let client_width = canvas.width() as i32;
        if logscale {
            let text = b"logscale";
            let x = client_width - 1 - self.right - text.len() as i32 * cw;
            text_out(
                fonts,
                canvas,
                x,
                ch / 2,
                text,
                regular,
                self.grid_color,
                Some(self.back_color),
            );
        }
        let bold = TextStyle::label(self.text_size);
        let (mut x, mut y) = (left, ch / 2);
        for c in self.channels.iter().filter(|c| !c.label.is_empty()) {
            let w = fonts.text_width(bold, &c.label);
            if x + w > left + width {
                x = left;
                y += top + height;
            }
            text_out(fonts, canvas, x, y, &c.label, bold, c.color, Some(self.back_color));
            x += w + cw * 2;
        }
    }
}
