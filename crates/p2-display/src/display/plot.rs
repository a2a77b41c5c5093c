//! PLOT (docs/p2-displays.md A.7; DDU `PLOT_Configure`, `PLOT_Update`, `PLOT_GetXY`, `PolarToCartesian`,
//! `AngleTextOut`): a canvas of dots, lines, shapes, text, sprites and layers, in maths coordinates (y up) by
//! default.
//!
//! `LAYER n 'file.bmp'` loads a picture from the host's disk in PNut. Here the library does no I/O: the
//! [`LayerSource`](crate::LayerSource) the caller installed is asked for the file, synchronously, so a `CROP`
//! later in the same message sees it, as in PNut. Without a source (the default) every LAYER is refused, which
//! PNut does for a missing file: the rest of the message is skipped. Refusals are counted.

use super::{Context, DisplayModel, Geometry, MouseUnits, Setup, check_file_name, pc_key, pc_mouse, save};
use crate::color::ColorState;
use crate::draw::{smooth_dot, smooth_line, smooth_shape};
use crate::element::{Cursor, Keyword};
use crate::frame::{Canvas, Framebuffer, Rect};
use crate::registry::Event;
use crate::text::{Fonts, TEXT_SIZE_MAX, TextStyle, decode_windows_1252};

const LAYERS: usize = 8;
const SPRITES: usize = 256;
const SPRITE_SIDE: i32 = 32;

/// A sprite: up to 32×32 palette indices and a 256-colour ARGB palette.
#[derive(Clone, Debug)]
struct Sprite {
    width: i32,
    height: i32,
    pixels: [u8; (SPRITE_SIDE * SPRITE_SIDE) as usize],
    palette: [u32; 256],
}

/// A PLOT display.
#[derive(Debug)]
pub(crate) struct Plot {
    canvas: Canvas,
    width: i32,
    height: i32,
    dot_x: i32,
    dot_y: i32,
    colors: ColorState,
    back_color: u32,
    update_mode: bool,
    flip_x: bool,
    flip_y: bool,
    offset_x: i32,
    offset_y: i32,
    pixel_x: i32,
    pixel_y: i32,
    plot_color: u32,
    text_color: u32,
    opacity: u8,
    /// 8: coordinates and sizes in whole pixels; 0 (PRECISE): in 1/256 pixel.
    precise: u32,
    line_size: i32,
    text_size: i32,
    text_style: i32,
    text_angle: i32,
    polar: bool,
    two_pi: i64,
    theta: i32,
    layers: [Option<Framebuffer>; LAYERS],
    sprites: Vec<Option<Box<Sprite>>>,
}

impl Plot {
    /// `PLOT_GetXY`: the current position in whole canvas pixels, y down, in PNut's wrapping 32-bit arithmetic
    /// (an ORIGIN and a SET far out can wrap back onto the canvas, as they do in PNut).
    fn position(&self) -> (i32, i32) {
        let x = if self.flip_x {
            (self.width - 1).wrapping_sub(self.offset_x).wrapping_sub(self.pixel_x)
        } else {
            self.offset_x.wrapping_add(self.pixel_x)
        };
        let y = if self.flip_y {
            self.offset_y.wrapping_add(self.pixel_y)
        } else {
            (self.height - 1).wrapping_sub(self.offset_y).wrapping_sub(self.pixel_y)
        };
        (x, y)
    }

    /// A point in 1/256 canvas pixels, y down (the DOT/LINE transform).
    fn fine(&self, x: i32, y: i32) -> (i32, i32) {
        let sx = x.wrapping_shl(self.precise);
        let sy = y.wrapping_shl(self.precise);
        let fx = if self.flip_x {
            (self.width - 1)
                .wrapping_sub(self.offset_x)
                .wrapping_shl(8)
                .wrapping_sub(sx)
        } else {
            self.offset_x.wrapping_shl(8).wrapping_add(sx)
        };
        let fy = if self.flip_y {
            self.offset_y.wrapping_shl(8).wrapping_add(sy)
        } else {
            (self.height - 1)
                .wrapping_sub(self.offset_y)
                .wrapping_shl(8)
                .wrapping_sub(sy)
        };
        (fx, fy)
    }

    /// A line size as a radius in 1/256 px: `size shl precise shr 1` with PNut's unsigned shift.
    fn radius(&self, size: i32) -> i32 {
        ((size.wrapping_shl(self.precise) as u32) >> 1) as i32
    }

    /// `PolarToCartesian`: (ρ, θ) → (x, y), θ in units of `two_pi` per turn, rounded half to even; PNut keeps the
    /// low 32 bits of the rounded 64-bit value (only ρ = −2³¹ at θ = ½ turn reaches 2³¹).
    fn polar_to_cartesian(&self, rho: i32, theta: i32) -> (i32, i32) {
        let turns = (i64::from(theta) + i64::from(self.theta)) as f64 / self.two_pi as f64;
        let (sin, cos) = (turns * std::f64::consts::TAU).sin_cos();
        (
            (cos * f64::from(rho)).round_ties_even() as i64 as i32,
            (sin * f64::from(rho)).round_ties_even() as i64 as i32,
        )
    }

    /// `MakeTextAngle`: degrees (or `two_pi` units when polar) → tenths of a degree.
    fn text_angle(&self, value: i32) -> i32 {
        if self.polar {
            ((i64::from(value) % self.two_pi) as f64 / self.two_pi as f64 * 3600.0).round_ties_even() as i32
        } else {
            value % 360 * 10
        }
    }

    /// `KeyTwoPi`: POLAR {twopi {theta}}.
    fn key_two_pi(&mut self, cursor: &mut Cursor<'_>) {
        self.polar = true;
        self.two_pi = 1 << 32;
        self.theta = 0;
        if let Some(v) = cursor.next_num() {
            self.two_pi = match v {
                -1 => -(1 << 32),
                0 => 1 << 32,
                v => i64::from(v),
            };
            cursor.key_val(&mut self.theta);
        }
    }

    /// `ClearBitmap`: the back colour everywhere, shown at once.
    fn clear(&mut self) {
        self.canvas.clear_shown(self.back_color);
    }

    /// `AngleTextOut`: `text` placed about `(x, y)` by TEXTSTYLE bits 4–7, rotated `angle` tenths of a degree.
    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, fonts: &mut Fonts, x: i32, y: i32, text: &[u8], size: i32, style: i32, angle: i32) {
        let style_bits = TextStyle::from_bits(size.clamp(1, TEXT_SIZE_MAX), style);
        let metrics = fonts.style_metrics(style_bits);
        let (w, h) = (
            f64::from(fonts.text_width(style_bits, text)),
            f64::from(metrics.chr_height),
        );
        let tx = match (style >> 4) & 3 {
            2 => 0.0,
            3 => -w,
            _ => -w / 2.0,
        };
        let ty = match (style >> 6) & 3 {
            2 => h,
            3 => 0.0,
            _ => h / 2.0,
        };
        let a = f64::from(angle) / 3600.0 * std::f64::consts::TAU;
        let rx = (tx * a.cos() - ty * a.sin()).round_ties_even() as i32;
        let ry = (tx * a.sin() + ty * a.cos()).round_ties_even() as i32;
        let clip = self.canvas.back.bounds();
        let color = self.text_color;
        let touched = fonts.draw(
            &mut self.canvas.back,
            clip,
            x.wrapping_add(rx),
            y.wrapping_sub(ry),
            text,
            style_bits,
            angle,
            color,
        );
        self.canvas.touch(touched);
    }

    /// `CROP`: copies `w × h` from layer `(sx, sy)` to the canvas at `(dx, dy)`, clipped to both.
    #[allow(clippy::too_many_arguments)]
    fn crop(&mut self, layer: usize, sx: i32, sy: i32, w: i32, h: i32, dx: i32, dy: i32) {
        let Some(source) = &self.layers[layer] else { return };
        let (cw, ch) = (self.canvas.width() as i32, self.canvas.height() as i32);
        let mut touched = Rect::default();
        for row in 0..h {
            let (src_y, dst_y) = (sy + row, dy + row);
            if !(0..source.height() as i32).contains(&src_y) || !(0..ch).contains(&dst_y) {
                continue;
            }
            for col in 0..w {
                let (src_x, dst_x) = (sx + col, dx + col);
                let pixel = (src_x >= 0).then(|| source.get(src_x as u32, src_y as u32)).flatten();
                if let (true, Some(pixel)) = ((0..cw).contains(&dst_x), pixel) {
                    self.canvas.back.set(dst_x as u32, dst_y as u32, pixel);
                    touched = touched.union(Rect::new(dst_x as u32, dst_y as u32, 1, 1));
                }
            }
        }
        self.canvas.touch(touched);
    }

    /// The message's commands; `false` stops the message (PNut's `Break` on a missing argument).
    fn command(&mut self, key: Keyword, cursor: &mut Cursor<'_>, ctx: &mut Context<'_>) -> bool {
        match key {
            Keyword::Lutcolors => self.colors.key_lut_colors(cursor),
            Keyword::Backcolor => {
                self.colors.key_color_into(cursor, &mut self.back_color);
            }
            Keyword::Color => self.color(cursor),
            k if k.is_color_name() => {
                cursor.back();
                self.color(cursor);
            }
            Keyword::Opacity => {
                if let Some(v) = cursor.next_num() {
                    self.opacity = v as u8;
                }
            }
            Keyword::Precise => self.precise ^= 8,
            Keyword::Linesize => {
                cursor.key_val(&mut self.line_size);
            }
            Keyword::Origin => {
                if cursor.key_val(&mut self.offset_x) {
                    cursor.key_val(&mut self.offset_y);
                } else {
                    (self.offset_x, self.offset_y) = (self.pixel_x, self.pixel_y);
                }
            }
            Keyword::Set => {
                let Some(mut x) = cursor.next_num() else { return false };
                let Some(mut y) = cursor.next_num() else { return false };
                if self.polar {
                    (x, y) = self.polar_to_cartesian(x, y);
                }
                (self.pixel_x, self.pixel_y) = (x, y);
            }
            Keyword::Dot => {
                let (mut size, mut opacity) = (self.line_size, i32::from(self.opacity));
                if cursor.key_val(&mut size) {
                    cursor.key_val(&mut opacity);
                }
                let (x, y) = self.fine(self.pixel_x, self.pixel_y);
                let radius = self.radius(size);
                smooth_dot(&mut self.canvas, x, y, radius, self.plot_color, opacity as u32 & 0xFF);
            }
            Keyword::Line => {
                let Some(mut x) = cursor.next_num() else { return false };
                let Some(mut y) = cursor.next_num() else { return false };
                let (mut size, mut opacity) = (self.line_size, i32::from(self.opacity));
                if cursor.key_val(&mut size) {
                    cursor.key_val(&mut opacity);
                }
                if self.polar {
                    (x, y) = self.polar_to_cartesian(x, y);
                }
                let (x1, y1) = self.fine(self.pixel_x, self.pixel_y);
                let (x2, y2) = self.fine(x, y);
                let radius = self.radius(size);
                smooth_line(
                    &mut self.canvas,
                    x1,
                    y1,
                    x2,
                    y2,
                    radius,
                    self.plot_color,
                    opacity as u32 & 0xFF,
                );
                (self.pixel_x, self.pixel_y) = (x, y);
            }
            Keyword::Circle | Keyword::Oval | Keyword::Box | Keyword::Obox => {
                let (cx, cy) = self.position();
                let Some(w) = cursor.next_num() else { return false };
                let h = if key == Keyword::Circle {
                    w
                } else {
                    match cursor.next_num() {
                        Some(h) => h,
                        None => return false,
                    }
                };
                let (mut rx, mut ry) = (0, 0);
                if key == Keyword::Obox && !(cursor.key_val(&mut rx) && cursor.key_val(&mut ry)) {
                    return false;
                }
                let (mut thick, mut opacity) = (0, i32::from(self.opacity));
                if cursor.key_val(&mut thick) {
                    cursor.key_val(&mut opacity);
                }
                let (rx, ry) = match key {
                    Keyword::Circle | Keyword::Oval => ((w as u32 >> 1) as i32, (h as u32 >> 1) as i32),
                    Keyword::Box => (0, 0),
                    _ => (rx, ry),
                };
                let opacity = opacity as u32 & 0xFF;
                smooth_shape(&mut self.canvas, cx, cy, w, h, rx, ry, thick, self.plot_color, opacity);
            }
            Keyword::Textsize => {
                cursor.key_val_within(&mut self.text_size, 6, 200);
            }
            Keyword::Textstyle => {
                cursor.key_val(&mut self.text_style);
            }
            Keyword::Textangle => {
                if let Some(v) = cursor.next_num() {
                    self.text_angle = self.text_angle(v);
                }
            }
            Keyword::Text => {
                let mut args = [self.text_size, self.text_style, self.text_angle];
                for (i, arg) in args.iter_mut().enumerate() {
                    match cursor.next_num() {
                        Some(v) if i == 2 => *arg = self.text_angle(v),
                        Some(v) => *arg = v,
                        None => break,
                    }
                }
                let Some(text) = cursor.next_str() else { return false };
                let (x, y) = self.position();
                self.text(ctx.fonts, x, y, text, args[0], args[1], args[2]);
            }
            Keyword::Layer => {
                let mut layer = 0;
                if !cursor.key_val_within(&mut layer, 1, LAYERS as i32) {
                    return false;
                }
                let Some(name) = cursor.next_str() else { return false };
                // PNut loads only an existing `.bmp` file; otherwise the rest of the message is skipped.
                let loaded = check_file_name(name)
                    .ok()
                    .filter(|name| name.ends_with(".bmp"))
                    .and_then(|name| ctx.layers.load(&name));
                let Some(image) = loaded else {
                    ctx.stats.layers_refused += 1;
                    ctx.events.push_back(Event::LayerRefused {
                        display: ctx.display,
                        layer: layer as u8,
                        file: decode_windows_1252(name),
                    });
                    return false;
                };
                self.layers[layer as usize - 1] = Some(image);
            }
            Keyword::Crop => {
                let mut layer = 0;
                if !cursor.key_val_within(&mut layer, 1, LAYERS as i32) {
                    return false;
                }
                let index = layer as usize - 1;
                let (lw, lh) = self.layers[index]
                    .as_ref()
                    .map_or((0, 0), |l| (l.width() as i32, l.height() as i32));
                let (cw, ch) = (self.canvas.width() as i32, self.canvas.height() as i32);
                let (mut sx, mut sy, mut w, mut h, mut dx, mut dy) = (0, 0, lw, lh, 0, 0);
                if cursor.key_is(Keyword::Auto) {
                    if !(cursor.key_val_within(&mut dx, 0, cw) && cursor.key_val_within(&mut dy, 0, ch)) {
                        return false;
                    }
                } else if cursor.key_val_within(&mut sx, 0, lw) {
                    if !(cursor.key_val_within(&mut sy, 0, lh)
                        && cursor.key_val_within(&mut w, 0, lw)
                        && cursor.key_val_within(&mut h, 0, lh))
                    {
                        return false;
                    }
                    (dx, dy) = (sx, sy);
                    if cursor.key_val_within(&mut dx, 0, cw) && !cursor.key_val_within(&mut dy, 0, ch) {
                        return false;
                    }
                }
                self.crop(index, sx, sy, w, h, dx, dy);
            }
            Keyword::Spritedef => {
                let (mut id, mut w, mut h) = (0, 0, 0);
                if !(cursor.key_val_within(&mut id, 0, SPRITES as i32 - 1)
                    && cursor.key_val_within(&mut w, 1, SPRITE_SIDE)
                    && cursor.key_val_within(&mut h, 1, SPRITE_SIDE))
                {
                    return false;
                }
                let sprite = self.sprites[id as usize].get_or_insert_with(|| {
                    Box::new(Sprite {
                        width: 0,
                        height: 0,
                        pixels: [0; (SPRITE_SIDE * SPRITE_SIDE) as usize],
                        palette: [0; 256],
                    })
                });
                (sprite.width, sprite.height) = (w, h);
                for pixel in &mut sprite.pixels[..(w * h) as usize] {
                    match cursor.next_num() {
                        Some(v) => *pixel = v as u8,
                        None => break,
                    }
                }
                for color in &mut sprite.palette {
                    match cursor.next_num() {
                        Some(v) => *color = v as u32,
                        None => break,
                    }
                }
            }
            Keyword::Sprite => {
                let (x, y) = self.position();
                let mut id = 0;
                if !cursor.key_val_within(&mut id, 0, SPRITES as i32 - 1) {
                    return false;
                }
                let (mut orient, mut scale, mut opacity) = (0, 1, i32::from(self.opacity));
                if cursor.key_val_within(&mut orient, 0, 7) && cursor.key_val_within(&mut scale, 1, 64) {
                    cursor.key_val_within(&mut opacity, 0, 255);
                }
                self.sprite(id as usize, x, y, orient, scale, opacity as u32);
            }
            Keyword::Polar => self.key_two_pi(cursor),
            Keyword::Cartesian => {
                self.polar = false;
                if cursor.key_bool(&mut self.flip_y) {
                    cursor.key_bool(&mut self.flip_x);
                }
            }
            Keyword::Clear => self.clear(),
            Keyword::Update => self.canvas.refresh(),
            Keyword::Save => save(self, cursor, ctx),
            Keyword::PcKey => pc_key(ctx),
            Keyword::PcMouse => pc_mouse(self, ctx),
            k if k.is_color_mode() => self.colors.key_color_mode(k, cursor),
            _ => {}
        }
        true
    }

    /// `COLOR c` / `BLACK…GRAY {b}`: the draw colour; also the text colour when `TEXT` follows directly.
    fn color(&mut self, cursor: &mut Cursor<'_>) {
        if let Some(c) = self.colors.key_color(cursor) {
            self.plot_color = c;
            if let Some(next) = cursor.next_key() {
                cursor.back();
                if next == Keyword::Text {
                    self.text_color = c;
                }
            }
        }
    }

    /// `SPRITE`: each sprite pixel a `scale × scale` box, alpha from its palette colour's top byte.
    fn sprite(&mut self, id: usize, x: i32, y: i32, orient: i32, scale: i32, opacity: u32) {
        let Some(sprite) = self.sprites[id].as_deref() else {
            return;
        };
        let (w, h) = (sprite.width, sprite.height);
        if w == 0 || h == 0 {
            return;
        }
        let (x, y) = (x.wrapping_add(scale >> 1), y.wrapping_add(scale >> 1));
        let (pixels, palette) = (&sprite.pixels, &sprite.palette);
        for row in 1..=h {
            for col in 1..=w {
                let color = palette[usize::from(pixels[((row - 1) * w + col - 1) as usize])];
                let alpha = (((color >> 24) & 0xFF) * opacity + 0xFF) >> 8;
                if alpha == 0 {
                    continue;
                }
                let (px, py) = match orient {
                    0 => (col - 1, row - 1),
                    1 => (w - col, row - 1),
                    2 => (col - 1, h - row),
                    3 => (w - col, h - row),
                    4 => (row - 1, col - 1),
                    5 => (row - 1, w - col),
                    6 => (h - row, col - 1),
                    _ => (h - row, w - col),
                };
                smooth_shape(
                    &mut self.canvas,
                    x.wrapping_add(px * scale),
                    y.wrapping_add(py * scale),
                    scale,
                    scale,
                    0,
                    0,
                    0,
                    color & 0xFF_FFFF,
                    alpha,
                );
            }
        }
    }
}

impl DisplayModel for Plot {
    fn configure(cursor: &mut Cursor<'_>, setup: &mut Setup<'_>) -> Self {
        let (mut width, mut height, mut dot_x, mut dot_y) = (256, 256, 1, 1);
        let mut colors = ColorState::default();
        let mut back_color = 0;
        let mut update_mode = false;
        while let Some(key) = cursor.next_key() {
            match key {
                Keyword::Size => {
                    if cursor.key_val_within(&mut width, 32, 2048) {
                        cursor.key_val_within(&mut height, 32, 2048);
                    }
                }
                Keyword::Dotsize => {
                    if cursor.key_val_within(&mut dot_x, 1, 256) {
                        dot_y = dot_x;
                        cursor.key_val_within(&mut dot_y, 1, 256);
                    }
                }
                Keyword::Lutcolors => colors.key_lut_colors(cursor),
                Keyword::Backcolor => {
                    colors.key_color_into(cursor, &mut back_color);
                }
                Keyword::Update => update_mode = true,
                k if k.is_color_mode() => colors.key_color_mode(k, cursor),
                k => {
                    setup.common(k, cursor);
                }
            }
        }
        Plot {
            canvas: Canvas::new(width as u32, height as u32, back_color),
            width,
            height,
            dot_x,
            dot_y,
            colors,
            back_color,
            update_mode,
            flip_x: false,
            flip_y: false,
            offset_x: 0,
            offset_y: 0,
            pixel_x: 0,
            pixel_y: 0,
            plot_color: 0x00FFFF,
            text_color: 0xFF_FFFF,
            opacity: 0xFF,
            precise: 8,
            line_size: 1,
            text_size: 10,
            text_style: 1,
            text_angle: 0,
            polar: false,
            two_pi: 1 << 32,
            theta: 0,
            layers: Default::default(),
            sprites: vec![None; SPRITES],
        }
    }

    fn update(&mut self, cursor: &mut Cursor<'_>, ctx: &mut Context<'_>) {
        // Keyword-led commands until the first bare number or string; the screen refreshes at the message's end.
        while let Some(key) = cursor.next_key() {
            if !self.command(key, cursor, ctx) {
                break;
            }
        }
        if !self.update_mode {
            self.canvas.refresh();
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
        let geometry = self.geometry();
        let x = if self.flip_x {
            geometry.client_width as i32 - x
        } else {
            x
        };
        let y = if self.flip_y {
            y
        } else {
            geometry.client_height as i32 - y
        };
        Some(format!("{},{}", x / self.dot_x, y / self.dot_y))
    }

    fn geometry(&self) -> Geometry {
        Geometry {
            client_width: (self.width * self.dot_x) as u32,
            client_height: (self.height * self.dot_y) as u32,
            units: MouseUnits::Logical {
                dot_x: self.dot_x,
                dot_y: self.dot_y,
                from_right: self.flip_x,
                from_top: self.flip_y,
            },
        }
    }
}
