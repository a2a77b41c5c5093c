//! Keyboard and mouse state of one display, and the PC_KEY / PC_MOUSE replies built from it
//! (docs/p2-displays.md A.0).

use std::time::{Duration, Instant};

/// How long a typed key or a wheel step stays readable by PC_KEY / PC_MOUSE (PNut's 100 ms timers).
pub const INPUT_LATCH: Duration = Duration::from_millis(100);

/// PC_MOUSE's first long when the pointer is outside the display (or outside TERM's text area).
pub const MOUSE_OUTSIDE: u32 = 0x03FF_FFFF;
/// PC_MOUSE's second long (the pixel) when the pointer is outside.
pub const PIXEL_OUTSIDE: u32 = 0xFFFF_FFFF;

/// A key typed into a display: a character byte, or a navigation key, which PNut maps to 1–12.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// A character as a byte (Tab included: PNut captures it).
    Byte(u8),
    /// ← (1)
    Left,
    /// → (2)
    Right,
    /// ↑ (3)
    Up,
    /// ↓ (4)
    Down,
    /// Home (5)
    Home,
    /// End (6)
    End,
    /// Delete (7)
    Delete,
    /// Insert (10)
    Insert,
    /// Page Up (11)
    PageUp,
    /// Page Down (12)
    PageDown,
}

impl Key {
    /// The byte PC_KEY reports.
    pub fn code(self) -> u8 {
        match self {
            Key::Byte(b) => b,
            Key::Left => 1,
            Key::Right => 2,
            Key::Up => 3,
            Key::Down => 4,
            Key::Home => 5,
            Key::End => 6,
            Key::Delete => 7,
            Key::Insert => 10,
            Key::PageUp => 11,
            Key::PageDown => 12,
        }
    }
}

/// Mouse buttons held, as PC_MOUSE reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Buttons {
    /// Left button (bit 28).
    pub left: bool,
    /// Middle button (bit 29).
    pub middle: bool,
    /// Right button (bit 30).
    pub right: bool,
}

/// One display's input, fed by the front end.
#[derive(Clone, Debug, Default)]
pub(crate) struct InputState {
    key: Option<(u8, Instant)>,
    wheel: Option<(i8, Instant)>,
    /// Pointer position in the display's client pixels (what the UI shows, DOTSIZE included), if over it.
    pub(crate) pointer: Option<(i32, i32)>,
    pub(crate) buttons: Buttons,
}

impl InputState {
    pub(crate) fn key(&mut self, key: Key, now: Instant) {
        self.key = Some((key.code(), now));
    }

    pub(crate) fn wheel(&mut self, up: bool, now: Instant) {
        self.wheel = Some((if up { 1 } else { -1 }, now));
    }

    /// PC_KEY: the key typed within the latch time (0 if none), then forgotten.
    pub(crate) fn take_key(&mut self, now: Instant) -> u32 {
        match self.key.take() {
            Some((code, at)) if now.saturating_duration_since(at) < INPUT_LATCH => u32::from(code),
            _ => 0,
        }
    }

    /// The wheel step within the latch time (0 if none), then forgotten (PC_MOUSE clears it).
    pub(crate) fn take_wheel(&mut self, now: Instant) -> i32 {
        match self.wheel.take() {
            Some((step, at)) if now.saturating_duration_since(at) < INPUT_LATCH => i32::from(step),
            _ => 0,
        }
    }
}

/// The first PC_MOUSE long: x (bits 0–12), y (13–25), wheel (26–27), buttons (28–30).
pub(crate) fn mouse_long(x: i32, y: i32, wheel: i32, buttons: Buttons) -> u32 {
    let mut v = ((wheel as u32 & 3) << 26) | ((y as u32 & 0x1FFF) << 13) | (x as u32 & 0x1FFF);
    if buttons.left {
        v |= 1 << 28;
    }
    if buttons.middle {
        v |= 1 << 29;
    }
    if buttons.right {
        v |= 1 << 30;
    }
    v
}

/// A reply the P2 is blocked waiting for: one long (PC_KEY) or two (PC_MOUSE), little-endian.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reply {
    bytes: [u8; 8],
    len: u8,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reply({:02X?})", self.as_bytes())
    }
}

impl Reply {
    pub(crate) fn key(code: u32) -> Self {
        let mut bytes = [0; 8];
        bytes[..4].copy_from_slice(&code.to_le_bytes());
        Self { bytes, len: 4 }
    }

    pub(crate) fn mouse(position: u32, pixel: u32) -> Self {
        let mut bytes = [0; 8];
        bytes[..4].copy_from_slice(&position.to_le_bytes());
        bytes[4..].copy_from_slice(&pixel.to_le_bytes());
        Self { bytes, len: 8 }
    }

    /// The bytes to send to the P2.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_latched_100_ms_and_read_once() {
        let t0 = Instant::now();
        let mut input = InputState::default();
        assert_eq!(input.take_key(t0), 0);
        input.key(Key::Byte(b'a'), t0);
        assert_eq!(input.take_key(t0 + Duration::from_millis(99)), 0x61);
        assert_eq!(input.take_key(t0 + Duration::from_millis(99)), 0, "read once");
        input.key(Key::PageDown, t0);
        assert_eq!(input.take_key(t0 + INPUT_LATCH), 0, "expired");
    }

    #[test]
    fn mouse_long_layout() {
        assert_eq!(mouse_long(2, 1, 0, Buttons::default()), 0x2002);
        let all = Buttons {
            left: true,
            middle: true,
            right: true,
        };
        assert_eq!(mouse_long(-1, -1, -1, all), 0x7FFF_FFFF);
        assert_eq!(
            Reply::mouse(MOUSE_OUTSIDE, PIXEL_OUTSIDE).as_bytes(),
            [0xFF, 0xFF, 0xFF, 3, 0xFF, 0xFF, 0xFF, 0xFF]
        );
    }
}
