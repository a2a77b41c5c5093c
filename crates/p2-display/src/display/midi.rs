//! MIDI (docs/p2-displays.md A.10; DDU `MIDI_Configure`, `MIDI_Update`, `MIDI_Draw`, `MIDI_DrawKey`): a piano
//! keyboard over a range of notes; note-on velocity fills a key from the bottom up.
//!
//! PNut draws the keys with GDI `RoundRect` (a grey one-pixel outline, the key colour inside). GDI's ellipse
//! rasteriser is not documented; ours includes the pixels whose centres lie inside the rounded rectangle and
//! outlines those with an outside neighbour, which matches it on the straight edges and to within a pixel on
//! the small corners.

use super::trace::decimal;
use super::{Context, DisplayModel, Geometry, MouseUnits, Setup, pc_key, pc_mouse, save};
use crate::color::ColorState;
use crate::element::{Cursor, Keyword};
use crate::frame::{Damage, Framebuffer, Rect};
use crate::text::{Fonts, TextStamp, TextStyle};

const NOTES: usize = 128;
/// Windows' default "inactive caption" colour, PNut's background behind the keys.
const INACTIVE_CAPTION: u32 = 0xBF_CDDB;
/// Key outline (`clGray2`) and the note numbers on black keys.
const OUTLINE: u32 = 0x80_8080;
/// Note numbers on white keys (`clGray3`).
const WHITE_KEY_TEXT: u32 = 0xD0_D0D0;

/// Where each note's key lies, before the range offset.
#[derive(Clone, Copy, Debug, Default)]
struct Key {
    black: bool,
    left: i32,
    right: i32,
    bottom: i32,
    /// Where its number is centred.
    number_x: i32,
}

/// A MIDI display.
#[derive(Debug)]
pub(crate) struct Midi {
    image: Framebuffer,
    damage: Damage,
    keys: [Key; NOTES],
    key_size: i32,
    first: usize,
    last: usize,
    offset: i32,
    channel: i32,
    on_colors: [u32; 2],
    text_size: i32,
    /// Each key's number, rasterised at the first drawing (PNut's `AngleTextOut`, which we would otherwise
    /// rasterise again at every frame).
    numbers: Vec<Option<TextStamp>>,
    /// Velocity per note; ≤ 0 is off.
    velocity: [i32; NOTES],
    state: u8,
    note: usize,
    stale: bool,
    frames: u64,
}

/// The keyboard layout of `MIDI_Configure`: keys `key_size` wide from `border` on, per-note tweaks placing the
/// black keys and the numbers.
fn layout(key_size: i32, border: i32) -> [Key; NOTES] {
    const TWEAK: [i32; 12] = [10, -2, 16, 2, 22, 9, -4, 14, 0, 18, 4, 23];
    let mut keys = [Key::default(); NOTES];
    let mut x = border;
    for (i, key) in keys.iter_mut().enumerate() {
        let note = i % 12;
        let tweak = TWEAK[note];
        let black = matches!(note, 1 | 3 | 6 | 8 | 10);
        *key = if black {
            let left = x - (key_size * (10 - tweak) + 16) / 32;
            let right = left + key_size * 20 / 32;
            Key {
                black,
                left,
                right,
                bottom: key_size * 4,
                number_x: (left + right + 1) / 2,
            }
        } else {
            let key = Key {
                black,
                left: x,
                right: x + key_size,
                bottom: key_size * 6,
                number_x: x + (key_size * tweak + 16) / 32,
            };
            x += key_size;
            key
        };
    }
    keys
}

/// GDI `RoundRect(left, top, right, bottom, r, r)` with a one-pixel `pen` and a solid `brush`: the shape covers
/// `[left, right) × [top, bottom)` with corner ellipses `r` across.
#[allow(clippy::too_many_arguments)]
fn round_rect(image: &mut Framebuffer, left: i32, top: i32, right: i32, bottom: i32, r: i32, pen: u32, brush: u32) {
    if right <= left || bottom <= top {
        return;
    }
    let radius = f64::from(r) / 2.0;
    // The covered span of row y (pixel centres inside), or None.
    let span = |y: i32| -> Option<(i32, i32)> {
        if y < top || y >= bottom {
            return None;
        }
        let centre = f64::from(y) + 0.5;
        let dy = if centre < f64::from(top) + radius {
            f64::from(top) + radius - centre
        } else if centre > f64::from(bottom) - radius {
            centre - (f64::from(bottom) - radius)
        } else {
            0.0
        };
        let inset = if dy > 0.0 && radius > 0.0 {
            radius - radius * (1.0 - (dy / radius).powi(2)).max(0.0).sqrt()
        } else {
            0.0
        };
        // Pixels whose centre x + 0.5 lies in [left + inset, right − inset].
        let x0 = (f64::from(left) + inset - 0.5).ceil() as i32;
        let x1 = (f64::from(right) - inset - 0.5).floor() as i32;
        (x0 <= x1).then_some((x0, x1))
    };
    let inside = |s: Option<(i32, i32)>, x: i32| s.is_some_and(|(a, b)| (a..=b).contains(&x));
    let (w, h) = (image.width() as i32, image.height() as i32);
    for y in top.max(0)..bottom.min(h) {
        let Some((x0, x1)) = span(y) else { continue };
        let (above, below) = (span(y - 1), span(y + 1));
        for x in x0.max(0)..=x1.min(w - 1) {
            let edge = x == x0 || x == x1 || !inside(above, x) || !inside(below, x);
            image.set(x as u32, y as u32, if edge { pen } else { brush });
        }
    }
}

impl Midi {
    fn width(&self) -> u32 {
        self.image.width()
    }

    /// `MIDI_Draw`: the whole keyboard, white keys first (black keys overlap them).
    fn settle(&mut self, fonts: &mut Fonts) {
        if !self.stale {
            return;
        }
        self.stale = false;
        if self.numbers.is_empty() {
            self.stamp_numbers(fonts);
        }
        self.image.fill(INACTIVE_CAPTION);
        let r = self.key_size / 4;
        for black in [false, true] {
            for i in self.first..=self.last {
                let key = self.keys[i];
                if key.black != black {
                    continue;
                }
                let (left, right) = (key.left - self.offset, key.right - self.offset);
                let (off, on, text) = if black {
                    (0x00_0000, self.on_colors[1], OUTLINE)
                } else {
                    (0xFF_FFFF, self.on_colors[0], WHITE_KEY_TEXT)
                };
                round_rect(&mut self.image, left, -r, right, key.bottom, r, OUTLINE, off);
                if self.velocity[i] > 0 {
                    let top = key.bottom - r - (key.bottom - r) * self.velocity[i] / 127;
                    round_rect(&mut self.image, left, top, right, key.bottom, r, OUTLINE, on);
                }
                if let Some(number) = &self.numbers[i] {
                    let clip = self.image.bounds();
                    number.draw(&mut self.image, clip, text);
                }
            }
        }
        self.damage.add(self.image.bounds());
    }

    /// The note numbers written downwards, centred on each key's number position, from one character width below
    /// the top (`AngleTextOut` with style $20 at −90°).
    fn stamp_numbers(&mut self, fonts: &mut Fonts) {
        let style = TextStyle::from_bits(self.text_size, 0x20);
        let metrics = fonts.style_metrics(style);
        let half = (f64::from(metrics.chr_height) / 2.0).round_ties_even() as i32;
        self.numbers = (0..NOTES)
            .map(|note| {
                let x = self.keys[note].number_x - self.offset + half;
                let mut buf = [0; 21];
                let text = decimal(note as i64, false, &mut buf);
                (self.first..=self.last)
                    .contains(&note)
                    .then(|| fonts.stamp(x, metrics.chr_width, text, style, -900))
                    .flatten()
            })
            .collect();
    }

    fn event(&mut self, velocity: i32) {
        self.velocity[self.note] = velocity;
        self.stale = true;
        self.frames += 1;
    }
}

impl DisplayModel for Midi {
    fn configure(cursor: &mut Cursor<'_>, setup: &mut Setup<'_>) -> Self {
        let (mut size, mut first, mut last, mut channel) = (4, 21, 108, 0);
        let mut on_colors = [0x00_FFFF, 0xFF_00FF];
        let color_state = ColorState::default();
        while let Some(key) = cursor.next_key() {
            match key {
                Keyword::Size => {
                    cursor.key_val_within(&mut size, 1, 50);
                }
                Keyword::Range => {
                    if cursor.key_val_within(&mut first, 0, 127) {
                        last = first;
                        cursor.key_val_within(&mut last, first, 127);
                    }
                }
                Keyword::Channel => {
                    cursor.key_val_within(&mut channel, 0, 15);
                }
                Keyword::Color => {
                    if color_state.key_color_into(cursor, &mut on_colors[0]) {
                        color_state.key_color_into(cursor, &mut on_colors[1]);
                    }
                }
                k => {
                    setup.common(k, cursor);
                }
            }
        }
        let key_size = 8 + size * 4;
        let border = key_size / 6;
        let keys = layout(key_size, border);
        let (first, last) = (first as usize, last as usize);
        let mut white_keys = keys[first..=last].iter().filter(|k| !k.black).count() as i32;
        // A black key at either end gets a white key's room beside it.
        let offset = if keys[first].black {
            white_keys += 1;
            keys[first - 1].left - border
        } else {
            keys[first].left - border
        };
        if keys[last].black {
            white_keys += 1;
        }
        let (width, height) = setup.size(
            i64::from(key_size * white_keys + border * 2),
            i64::from(key_size * 6 + border),
        );
        Midi {
            image: Framebuffer::new(width, height, INACTIVE_CAPTION),
            damage: Damage::NONE,
            keys,
            key_size,
            first,
            last,
            offset,
            channel,
            on_colors,
            text_size: key_size / 3,
            numbers: Vec::new(),
            velocity: [0; NOTES],
            state: 0,
            note: 0,
            stale: true,
            frames: 0,
        }
    }

    fn update(&mut self, cursor: &mut Cursor<'_>, ctx: &mut Context<'_>) {
        while !cursor.at_end() {
            if cursor.next_str().is_some() {
                break; // a string ends a MIDI message
            }
            if let Some(key) = cursor.next_key() {
                match key {
                    Keyword::Clear => {
                        self.velocity = [0; NOTES];
                        self.stale = true;
                        self.frames += 1;
                    }
                    Keyword::Save => save(self, cursor, ctx),
                    Keyword::PcKey => pc_key(ctx),
                    Keyword::PcMouse => pc_mouse(self, ctx),
                    _ => {}
                }
                continue;
            }
            while let Some(value) = cursor.next_num() {
                let byte = value & 0xFF;
                if byte & 0x80 != 0 {
                    self.state = 0;
                }
                match self.state {
                    0 if byte & 0x0F == self.channel => {
                        self.state = match byte & 0xF0 {
                            0x90 => 1,
                            0x80 => 3,
                            _ => 0,
                        };
                    }
                    0 => {}
                    1 | 3 => {
                        self.note = byte as usize;
                        self.state += 1;
                    }
                    2 => {
                        self.event(byte);
                        self.state = 1;
                    }
                    _ => {
                        self.event(-byte);
                        self.state = 3;
                    }
                }
            }
        }
    }

    fn front(&mut self, fonts: &mut Fonts) -> &Framebuffer {
        self.settle(fonts);
        &self.image
    }

    fn take_damage(&mut self, fonts: &mut Fonts) -> Option<Rect> {
        self.settle(fonts);
        self.damage.take()
    }

    fn frames(&self) -> u64 {
        self.frames
    }

    fn is_damaged(&self) -> bool {
        self.stale || self.damage.rect().is_some()
    }

    fn hover(&self, _x: i32, _y: i32) -> Option<String> {
        None // PNut shows only the cross over a keyboard
    }

    fn geometry(&self) -> Geometry {
        Geometry {
            client_width: self.width(),
            client_height: self.image.height(),
            units: MouseUnits::Client,
        }
    }
}
