//! The test oracle for the fast line path: DDU `SmoothLine` and `SmoothPixel` transcribed statement by statement
//! (six chord tables computed for each line, every pixel clipped, blended channel by channel, its damage added
//! one pixel at a time). The production path must give exactly these pixels and this damage.

use super::{Line, Row, Slant, chord};
use crate::color::blend_channel;
use crate::frame::Canvas;

/// DDU `SmoothLine`.
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
    let (span, radius) = (line.span, line.radius);
    let column = |r: i32, f: i32| -> Vec<i32> { (-span..=span).map(|p| chord(r, (p << 8) + f, radius)).collect() };
    let y1_lut1 = column(radius, line.x1f);
    let y2_lut1 = column(radius, line.x2f);
    let x1_lut2 = column(radius + 0x80, line.y1f);
    let y1_lut2 = column(radius + 0x80, line.x1f);
    let x2_lut2 = column(radius + 0x80, line.y2f);
    let y2_lut2 = column(radius + 0x80, line.x2f);
    let slant = Slant::new(radius, line.x2 - line.x1, line.y2 - line.y1);
    draw(
        line,
        [&y1_lut1, &y2_lut1, &x1_lut2, &y1_lut2, &x2_lut2, &y2_lut2].map(|t| Row(t)),
        slant,
        canvas,
    );
}

/// DDU `SmoothPixel`.
fn smooth_pixel(canvas: &mut Canvas, swap: bool, x: i32, y: i32, color: u32, opacity: u32, opacity2: u32) {
    let opacity = (opacity * opacity2 + 0xFF) >> 8;
    if opacity == 0 {
        return;
    }
    let (x, y) = if swap { (y, x) } else { (x, y) };
    if x < 0 || y < 0 || x as u32 >= canvas.width() || y as u32 >= canvas.height() {
        return;
    }
    let (x, y) = (x as u32, y as u32);
    let pixel = canvas.back.pixel_mut(x, y);
    *pixel = if opacity == 0xFF {
        color
    } else {
        let channel = |shift: u32| blend_channel((*pixel >> shift) & 0xFF, (color >> shift) & 0xFF, opacity) << shift;
        channel(16) | channel(8) | channel(0)
    };
    canvas.pending.add_pixel(x, y);
}

/// The 2-D slice opacity of a round end.
fn end_cap(across_lut: Row<'_>, along_lut: Row<'_>, xp: i32, yp: i32, fx: i32, fy: i32) -> u32 {
    let across = match xp {
        ..0 => across_lut.get(yp) + ((xp << 8) + fx),
        1.. => across_lut.get(yp) - ((xp << 8) + fx),
        0 => across_lut.get(yp),
    };
    let along = match yp {
        ..0 => along_lut.get(xp) + ((yp << 8) + fy),
        1.. => along_lut.get(xp) - ((yp << 8) + fy),
        0 => along_lut.get(xp),
    };
    let (xo, yo) = (across.clamp(0, 0xFF) as u32, along.clamp(0, 0xFF) as u32);
    (xo * yo + 0xFF) >> 8
}

/// The body of `SmoothLine`.
fn draw(
    line: Line,
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
        swap,
        color,
        opacity,
    } = line;
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
            let xp = x1 / 0x100 - x / 0x100;
            for yp in -span..=span {
                let o = end_cap(x1_lut2, y1_lut2, xp, yp, x1f, y1f);
                smooth_pixel(canvas, swap, x >> 8, (y1 >> 8) - yp, color, o, opacity);
            }
        } else if x >= right_top && x >= right_bottom {
            let xp = x2 / 0x100 - x / 0x100;
            for yp in -span..=span {
                let o = end_cap(x2_lut2, y2_lut2, xp, yp, x2f, y2f);
                smooth_pixel(canvas, swap, x >> 8, (y2 >> 8) - yp, color, o, opacity);
            }
        } else {
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
                smooth_pixel(canvas, swap, x >> 8, y_bottom >> 8, color, o as u32, opacity);
                y_bottom = next;
            }
        }
        x += 0x100;
        y_acc += slope;
    }
}
