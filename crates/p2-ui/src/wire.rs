//! What travels over the page's WebSocket, both ways: sans-IO encoders and the parser of what a page sends.
//!
//! # Server → page
//!
//! Each [`Update`] of the live API becomes one text message and then `frames` binary messages:
//!
//! ```text
//! {"t":"update","opened":[DISPLAY…],"closed":[id…],"terminal":TERMINAL|null,"status":STATUS|null,"frames":n}
//!   DISPLAY  = {"id","name","type":"BITMAP","caption","pos":[x,y]|null,"width","height","scale":[sx,sy],"hidexy"}
//!   TERMINAL = {"reset":bool,"lines":[{"kind":"cog"|"text"|"invalid_cog"|"window_error"|"reboot"
//!                                             |"window_opened"|"notice","cog":n|null,"text","complete":bool}…]}
//!   STATUS   = the live API's Status, snake_case keys
//! {"t":"hover","d":id,"text":"x,y"|null}        the read-out at the pointer, in the display's units
//! {"t":"control","op":"reset"|"record"|"send","ok":bool,"message":"…"}
//! ```
//!
//! A binary message is one rectangle of one display's image, little-endian:
//!
//! ```text
//! offset  size  field
//!      0     1  kind: 1 = RGBA pixels, 2 = RGBA pixels in runs
//!      1     3  zero
//!      4     4  display id (u32)
//!      8     2  x       ┐
//!     10     2  y       │ the rectangle, in image pixels (u16: images are at most 2,048 wide)
//!     12     2  width   │
//!     14     2  height  ┘
//!     16        kind 1: w·h·4 bytes, RGBA (alpha 255), row by row from the top-left
//!               kind 2: runs covering the w·h pixels in the same order, each a LEB128 number n, then
//!                       n odd:  one RGBA pixel, repeated n >> 1 times
//!                       n even: n >> 1 RGBA pixels as they are
//! ```
//!
//! RGBA, not RGB: the page hands the bytes to `ImageData` as they are, and the 16-byte header keeps them
//! 4-byte aligned. Runs, because the displays redraw whole plots on mostly plain backgrounds: at 2 Mbaud of
//! mixed display traffic a page received 42.7-46.0 MB/s as plain RGBA and 6.9-7.2 MB/s in runs, and the
//! server's UI thread used 4.1-4.4 % of a core instead of 7.0-7.6 % (BENCHMARKS.md, p2 browser UI); a
//! rectangle that runs would not shrink (the HSV16 gradients) goes plain. Deflate would shrink the plots further but costs more CPU on both sides than runs do, and the
//! browser inflates only asynchronously; over a slow SSH forward, `ssh -C` adds it.
//!
//! # Page → server
//!
//! Text messages of at most [`MESSAGE_MAX`] bytes, one JSON object each ([`PageMessage`]):
//!
//! ```text
//! {"t":"ack"}                                         an update was drawn: the next may come
//! {"t":"pause","on":bool}                             stop or resume the view (the receive path never pauses)
//! {"t":"key","d":id,"key":"a"|"ArrowLeft"|…,"ctrl":bool}   KeyboardEvent.key typed in a display's panel
//! {"t":"pointer","d":id,"x":x,"y":y,"buttons":b}     pointer over a panel: client pixels, MouseEvent.buttons
//! {"t":"leave","d":id}                                the pointer left the panel
//! {"t":"wheel","d":id,"up":bool}                      one wheel step
//! {"t":"send","text":"…"}                             bytes for the P2 (UTF-8, as typed)
//! {"t":"reset"}   {"t":"record","on":bool}            controls
//! ```

use serde::{Deserialize, Serialize};
use sluicegate_p2_live::{Buttons, DisplayInfo, FrameUpdate, Key, LineKind, Status, TerminalUpdate, Update};

/// The largest message a page may send, in bytes (the WebSocket refuses longer ones).
pub const MESSAGE_MAX: usize = 4096;

/// The most bytes one `send` may carry.
pub const SEND_MAX: usize = 1024;

/// The binary message kind of an RGBA rectangle.
pub const FRAME_RGBA: u8 = 1;

/// The binary message kind of an RGBA rectangle in runs.
pub const FRAME_RUNS: u8 = 2;

/// Bytes before a rectangle's pixels.
pub const FRAME_HEADER: usize = 16;

/// Why a page's message was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// Longer than [`MESSAGE_MAX`] (or a `send` longer than [`SEND_MAX`]).
    #[error("message of {len} bytes is longer than the {max} allowed")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not one of the messages above (bad JSON, an unknown `t`, a missing or mistyped field).
    #[error("not a page message: {reason}")]
    Malformed {
        /// What serde said, with the column.
        reason: String,
    },
}

/// A message from a page.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "t", rename_all = "snake_case", deny_unknown_fields)]
pub enum PageMessage {
    /// An update was drawn.
    Ack,
    /// Stop (`on`) or resume the view.
    Pause {
        /// Paused.
        on: bool,
    },
    /// A key typed in a display's panel.
    Key {
        /// The display.
        d: u32,
        /// `KeyboardEvent.key`.
        key: String,
        /// Ctrl was held.
        #[serde(default)]
        ctrl: bool,
    },
    /// The pointer over a display's panel.
    Pointer {
        /// The display.
        d: u32,
        /// Client pixels from the panel image's left edge.
        x: i32,
        /// Client pixels from its top edge.
        y: i32,
        /// `MouseEvent.buttons`: 1 left, 2 right, 4 middle.
        #[serde(default)]
        buttons: u8,
    },
    /// The pointer left a display's panel.
    Leave {
        /// The display.
        d: u32,
    },
    /// One wheel step over a display's panel.
    Wheel {
        /// The display.
        d: u32,
        /// Away from the user.
        up: bool,
    },
    /// Text typed for the P2.
    Send {
        /// As typed (sent as its UTF-8 bytes).
        text: String,
    },
    /// Pulse the reset line.
    Reset,
    /// Start or stop recording.
    Record {
        /// Recording.
        on: bool,
    },
}

impl PageMessage {
    /// Parses one text message from a page.
    ///
    /// # Errors
    /// [`WireError::TooLong`] past [`MESSAGE_MAX`] bytes or a `send` past [`SEND_MAX`];
    /// [`WireError::Malformed`] for anything that is not one of the messages in the module docs.
    ///
    /// # Examples
    /// ```
    /// use sluicegate_p2_ui::wire::PageMessage;
    ///
    /// let message = PageMessage::parse(r#"{"t":"wheel","d":3,"up":true}"#).unwrap();
    /// assert_eq!(message, PageMessage::Wheel { d: 3, up: true });
    /// assert!(PageMessage::parse(r#"{"t":"format","disk":"c:"}"#).is_err());
    /// ```
    pub fn parse(text: &str) -> Result<PageMessage, WireError> {
        if text.len() > MESSAGE_MAX {
            return Err(WireError::TooLong {
                len: text.len(),
                max: MESSAGE_MAX,
            });
        }
        let message: PageMessage = serde_json::from_str(text).map_err(|error| WireError::Malformed {
            reason: error.to_string(),
        })?;
        match &message {
            PageMessage::Send { text } if text.len() > SEND_MAX => Err(WireError::TooLong {
                len: text.len(),
                max: SEND_MAX,
            }),
            _ => Ok(message),
        }
    }
}

/// `MouseEvent.buttons` as PC_MOUSE reports them.
pub fn buttons(bits: u8) -> Buttons {
    Buttons {
        left: bits & 1 != 0,
        right: bits & 2 != 0,
        middle: bits & 4 != 0,
    }
}

/// The key PC_KEY reports for a `KeyboardEvent.key` (docs/p2-displays.md A.0): a character as its byte (the
/// Latin-1 range; Ctrl+letter as its control code, as Windows types it), the navigation keys as 1–12, Enter 13,
/// Backspace 8, Tab 9, Escape 27; `None` for keys PNut does not see (Shift alone, F1, an emoji).
///
/// # Examples
/// ```
/// use sluicegate_p2_live::Key;
/// use sluicegate_p2_ui::wire::key;
///
/// assert_eq!(key("a", false), Some(Key::Byte(b'a')));
/// assert_eq!(key("PageDown", false).map(Key::code), Some(12));
/// assert_eq!(key("c", true), Some(Key::Byte(3)));
/// assert_eq!(key("Shift", false), None);
/// ```
pub fn key(dom_key: &str, ctrl: bool) -> Option<Key> {
    let named = match dom_key {
        "ArrowLeft" => Key::Left,
        "ArrowRight" => Key::Right,
        "ArrowUp" => Key::Up,
        "ArrowDown" => Key::Down,
        "Home" => Key::Home,
        "End" => Key::End,
        "Delete" => Key::Delete,
        "Insert" => Key::Insert,
        "PageUp" => Key::PageUp,
        "PageDown" => Key::PageDown,
        "Enter" => Key::Byte(13),
        "Backspace" => Key::Byte(8),
        "Tab" => Key::Byte(9),
        "Escape" => Key::Byte(27),
        _ => {
            let mut chars = dom_key.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return None;
            };
            let code = u8::try_from(u32::from(c)).ok()?;
            return Some(Key::Byte(if ctrl && code.is_ascii_alphabetic() {
                code.to_ascii_uppercase() - b'@'
            } else {
                code
            }));
        }
    };
    Some(named)
}

/// The text message that announces `update` (its pixels follow as `frames` binary messages).
pub fn update_message(update: &Update) -> String {
    #[derive(Serialize)]
    struct Message<'a> {
        t: &'static str,
        opened: Vec<Opened<'a>>,
        closed: &'a [u32],
        terminal: Option<Terminal<'a>>,
        status: Option<&'a Status>,
        frames: usize,
    }
    let message = Message {
        t: "update",
        opened: update.opened.iter().map(Opened::from).collect(),
        closed: &update.closed,
        terminal: update.terminal.as_ref().map(Terminal::from),
        status: update.status.as_ref(),
        frames: update.frames.len(),
    };
    serde_json::to_string(&message).unwrap_or_default()
}

/// A status-only update (while the view is paused).
pub fn status_message(status: &Status) -> String {
    update_message(&Update {
        status: Some(status.clone()),
        ..Update::default()
    })
}

/// The read-out at the pointer.
pub fn hover_message(display: u32, text: Option<&str>) -> String {
    serde_json::json!({ "t": "hover", "d": display, "text": text }).to_string()
}

/// The outcome of a control.
pub fn control_message(op: &str, result: Result<String, String>) -> String {
    let (ok, message) = match result {
        Ok(message) => (true, message),
        Err(message) => (false, message),
    };
    serde_json::json!({ "t": "control", "op": op, "ok": ok, "message": message }).to_string()
}

/// Appends the binary message of `frame` (format in the module docs) to `out`: in runs when that is shorter.
///
/// # Examples
/// ```
/// use sluicegate_p2_live::{FrameUpdate, Rect};
/// use sluicegate_p2_ui::wire::{FRAME_HEADER, FRAME_RUNS, encode_frame};
///
/// // 64 black pixels: one run.
/// let frame = FrameUpdate { display: 7, rect: Rect::new(2, 3, 8, 8), rgba: [0, 0, 0, 255].repeat(64) };
/// let mut out = Vec::new();
/// encode_frame(&frame, &mut out);
/// assert_eq!(&out[..8], [FRAME_RUNS, 0, 0, 0, 7, 0, 0, 0]);
/// assert_eq!(out.len(), FRAME_HEADER + 2 + 4);
/// ```
pub fn encode_frame(frame: &FrameUpdate, out: &mut Vec<u8>) {
    let start = out.len();
    let plain = FRAME_HEADER + frame.rgba.len();
    out.reserve(plain);
    push_header(frame, FRAME_RUNS, out);
    if !push_runs(&frame.rgba, out, start + plain) {
        out.truncate(start);
        push_header(frame, FRAME_RGBA, out);
        out.extend_from_slice(&frame.rgba);
    }
}

fn push_header(frame: &FrameUpdate, kind: u8, out: &mut Vec<u8>) {
    let rect = frame.rect;
    out.extend_from_slice(&[kind, 0, 0, 0]);
    out.extend_from_slice(&frame.display.to_le_bytes());
    for value in [rect.x, rect.y, rect.width, rect.height] {
        // Images are at most 2,048 pixels a side (docs/p2-displays.md A.1).
        out.extend_from_slice(&u16::try_from(value).unwrap_or(u16::MAX).to_le_bytes());
    }
}

/// Appends `rgba` as runs; false (having written part of it) once `out` would pass `limit` bytes.
fn push_runs(rgba: &[u8], out: &mut Vec<u8>, limit: usize) -> bool {
    // A run starts at three equal pixels: a shorter one costs as much as leaving the pixels as they are.
    const RUN_MIN: usize = 3;
    // Pixels compared as words, not as 4-byte slices (a `memcmp` call each: 40 % of the UI thread's time).
    let pixels: Vec<u32> = rgba
        .chunks_exact(4)
        .map(|pixel| u32::from_ne_bytes([pixel[0], pixel[1], pixel[2], pixel[3]]))
        .collect();
    let mut literal_from = 0;
    let mut i = 0;
    while i < pixels.len() {
        let value = pixels[i];
        let same = 1 + pixels[i + 1..].iter().take_while(|&&pixel| pixel == value).count();
        if same < RUN_MIN {
            i += same;
            continue;
        }
        if literal_from < i {
            push_count(out, (i - literal_from) << 1);
            out.extend_from_slice(&rgba[literal_from * 4..i * 4]);
        }
        push_count(out, (same << 1) | 1);
        out.extend_from_slice(&value.to_ne_bytes());
        i += same;
        literal_from = i;
        if out.len() >= limit {
            return false;
        }
    }
    if literal_from < pixels.len() {
        push_count(out, (pixels.len() - literal_from) << 1);
        out.extend_from_slice(&rgba[literal_from * 4..]);
    }
    out.len() < limit
}

/// LEB128: seven bits a byte, lowest first, the top bit set on all but the last.
fn push_count(out: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7F) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[derive(Serialize)]
struct Opened<'a> {
    id: u32,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    caption: &'a str,
    pos: Option<(i32, i32)>,
    width: u32,
    height: u32,
    scale: (u32, u32),
    hidexy: bool,
}

impl<'a> From<&'a DisplayInfo> for Opened<'a> {
    fn from(info: &'a DisplayInfo) -> Self {
        Opened {
            id: info.id,
            name: &info.name,
            kind: info.kind.keyword(),
            caption: &info.caption,
            pos: info.position,
            width: info.width,
            height: info.height,
            scale: info.scale,
            hidexy: info.hide_xy,
        }
    }
}

#[derive(Serialize)]
struct Terminal<'a> {
    reset: bool,
    lines: Vec<Line<'a>>,
}

#[derive(Serialize)]
struct Line<'a> {
    kind: &'static str,
    cog: Option<u8>,
    text: &'a str,
    complete: bool,
}

impl<'a> From<&'a TerminalUpdate> for Terminal<'a> {
    fn from(terminal: &'a TerminalUpdate) -> Self {
        Terminal {
            reset: terminal.reset,
            lines: terminal
                .lines
                .iter()
                .map(|line| {
                    let (kind, cog) = match line.kind {
                        LineKind::Cog(cog) => ("cog", Some(cog)),
                        LineKind::InvalidCog => ("invalid_cog", None),
                        LineKind::WindowError => ("window_error", None),
                        LineKind::Reboot => ("reboot", None),
                        LineKind::WindowOpened => ("window_opened", None),
                        LineKind::Notice => ("notice", None),
                        _ => ("text", None),
                    };
                    Line {
                        kind,
                        cog,
                        text: &line.text,
                        complete: line.complete,
                    }
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sluicegate_p2_live::{Rect, TerminalLine, WindowType};

    #[test]
    fn every_page_message_parses_and_strangers_are_refused() {
        let cases = [
            (r#"{"t":"ack"}"#, PageMessage::Ack),
            (r#"{"t":"pause","on":true}"#, PageMessage::Pause { on: true }),
            (
                r#"{"t":"key","d":2,"key":"ArrowLeft"}"#,
                PageMessage::Key {
                    d: 2,
                    key: "ArrowLeft".into(),
                    ctrl: false,
                },
            ),
            (
                r#"{"t":"pointer","d":1,"x":-3,"y":40,"buttons":5}"#,
                PageMessage::Pointer {
                    d: 1,
                    x: -3,
                    y: 40,
                    buttons: 5,
                },
            ),
            (r#"{"t":"leave","d":9}"#, PageMessage::Leave { d: 9 }),
            (
                r#"{"t":"send","text":"42\r"}"#,
                PageMessage::Send { text: "42\r".into() },
            ),
            (r#"{"t":"reset"}"#, PageMessage::Reset),
            (r#"{"t":"record","on":false}"#, PageMessage::Record { on: false }),
        ];
        for (text, expected) in cases {
            assert_eq!(PageMessage::parse(text), Ok(expected), "{text}");
        }
        for text in [
            "",
            "null",
            "[]",
            r#"{"t":"wheel","d":1,"up":true,"extra":1}"#,
            r#"{"t":"pointer","d":1,"x":1e99,"y":0}"#,
            r#"{"t":"key","d":-1,"key":"a"}"#,
            r#"{"t":"pointer","d":1,"x":0,"y":0,"buttons":256}"#,
            r#"{"d":1}"#,
        ] {
            assert!(
                matches!(PageMessage::parse(text), Err(WireError::Malformed { .. })),
                "{text}"
            );
        }
        let long = format!(r#"{{"t":"send","text":"{}"}}"#, "x".repeat(SEND_MAX + 1));
        assert!(matches!(PageMessage::parse(&long), Err(WireError::TooLong { .. })));
        let huge = " ".repeat(MESSAGE_MAX + 1);
        assert!(matches!(PageMessage::parse(&huge), Err(WireError::TooLong { .. })));
    }

    #[test]
    fn keys_map_as_pnut_reports_them() {
        let codes = [
            ("ArrowLeft", 1),
            ("ArrowRight", 2),
            ("ArrowUp", 3),
            ("ArrowDown", 4),
            ("Home", 5),
            ("End", 6),
            ("Delete", 7),
            ("Insert", 10),
            ("PageUp", 11),
            ("PageDown", 12),
            ("Tab", 9),
            ("Enter", 13),
            ("Backspace", 8),
            ("Escape", 27),
            ("A", 65),
            (" ", 32),
            ("é", 0xE9),
        ];
        for (name, code) in codes {
            assert_eq!(key(name, false).map(Key::code), Some(code), "{name}");
        }
        assert_eq!(key("a", true).map(Key::code), Some(1));
        assert_eq!(key("Z", true).map(Key::code), Some(26));
        for name in ["Shift", "F1", "€", "ab", ""] {
            assert_eq!(key(name, false), None, "{name}");
        }
    }

    #[test]
    fn an_update_announces_its_frames_and_a_frame_has_its_header() {
        let update = Update {
            opened: vec![DisplayInfo {
                id: 4,
                name: "j".into(),
                kind: WindowType::Bitmap,
                caption: "HSV16".into(),
                position: Some((100, 985)),
                width: 256,
                height: 256,
                scale: (1, 1),
                hide_xy: false,
            }],
            terminal: Some(TerminalUpdate {
                reset: true,
                lines: vec![TerminalLine {
                    kind: LineKind::Cog(3),
                    text: "Cog3  hi".into(),
                    complete: true,
                }],
            }),
            frames: vec![FrameUpdate {
                display: 4,
                rect: Rect::new(255, 1, 1, 2),
                rgba: vec![1, 2, 3, 255, 4, 5, 6, 255],
            }],
            ..Update::default()
        };
        let json: serde_json::Value = serde_json::from_str(&update_message(&update)).unwrap();
        assert_eq!(json["frames"], 1);
        assert_eq!(json["opened"][0]["type"], "BITMAP");
        assert_eq!(json["opened"][0]["pos"], serde_json::json!([100, 985]));
        assert_eq!(json["terminal"]["lines"][0]["kind"], "cog");
        assert_eq!(json["terminal"]["lines"][0]["cog"], 3);
        assert!(json["status"].is_null());
        let mut out = Vec::new();
        encode_frame(&update.frames[0], &mut out);
        assert_eq!(
            out,
            [
                1, 0, 0, 0, 4, 0, 0, 0, 255, 0, 1, 0, 1, 0, 2, 0, 1, 2, 3, 255, 4, 5, 6, 255
            ],
            "two different pixels go plain"
        );
    }

    /// The page's decoder (`drawFrame` and `runs` in assets/app.js), in Rust, with the same checks: the display,
    /// rectangle and RGBA bytes a binary message stands for, or `None` for a message the page ignores.
    fn decode_frame(message: &[u8]) -> Option<(u32, Rect, Vec<u8>)> {
        let header = message.get(..FRAME_HEADER)?;
        let field = |at: usize| u32::from(u16::from_le_bytes([header[at], header[at + 1]]));
        let display = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let rect = Rect::new(field(8), field(10), field(12), field(14));
        let pixels = (rect.width * rect.height) as usize;
        let body = &message[FRAME_HEADER..];
        if pixels == 0 {
            return None;
        }
        match header[0] {
            FRAME_RGBA if body.len() == pixels * 4 => return Some((display, rect, body.to_vec())),
            FRAME_RUNS => {}
            _ => return None,
        }
        let mut rgba = Vec::with_capacity(pixels * 4);
        let mut at = 0;
        while rgba.len() < pixels * 4 && at < body.len() {
            let (mut count, mut shift) = (0u64, 0u32);
            loop {
                let byte = *body.get(at)?;
                at += 1;
                count = count.checked_add(u64::from(byte & 0x7F).checked_mul(1u64.checked_shl(shift)?)?)?;
                shift += 7;
                if byte < 0x80 {
                    break;
                }
            }
            let length = usize::try_from(count >> 1).ok()?;
            if length > pixels - rgba.len() / 4 {
                return None;
            }
            if count & 1 == 1 {
                let pixel = body.get(at..at + 4)?;
                for _ in 0..length {
                    rgba.extend_from_slice(pixel);
                }
                at += 4;
            } else {
                rgba.extend_from_slice(body.get(at..at + length * 4)?);
                at += length * 4;
            }
        }
        (rgba.len() == pixels * 4).then_some((display, rect, rgba))
    }

    #[test]
    fn plots_on_a_plain_background_go_in_runs_and_gradients_plain() {
        // A SCOPE-like plot, 300 × 100: black, a dotted guide, a sine trace.
        let mut rgba = [0, 0, 0, 255].repeat(300 * 100);
        let mut set = |x: usize, y: usize, pixel: [u8; 4]| rgba[(y * 300 + x) * 4..][..4].copy_from_slice(&pixel);
        for x in (0..300).step_by(2) {
            set(x, 50, [0x40, 0x40, 0x40, 255]);
        }
        for x in 0..300 {
            let y = (50.0 + 40.0 * (x as f64 / 20.0).sin()) as usize;
            set(x, y, [0, 255, 0, 255]);
        }
        let plot = FrameUpdate {
            display: 1,
            rect: Rect::new(0, 0, 300, 100),
            rgba,
        };
        let mut out = Vec::new();
        encode_frame(&plot, &mut out);
        assert_eq!(out[0], FRAME_RUNS);
        assert!(out.len() < plot.rgba.len() / 20, "{} bytes", out.len());
        assert_eq!(decode_frame(&out), Some((1, plot.rect, plot.rgba.clone())));

        let gradient = FrameUpdate {
            display: 2,
            rect: Rect::new(5, 0, 1, 256),
            rgba: (0..=255u8).flat_map(|v| [v, 0, 0, 255]).collect(),
        };
        out.clear();
        encode_frame(&gradient, &mut out);
        assert_eq!(out[0], FRAME_RGBA);
        assert_eq!(out.len(), FRAME_HEADER + gradient.rgba.len());
        assert_eq!(decode_frame(&out), Some((2, gradient.rect, gradient.rgba)));

        // Runs longer than a LEB128 byte holds.
        let long = FrameUpdate {
            display: 3,
            rect: Rect::new(0, 0, 2048, 2048),
            rgba: [1, 2, 3, 255].repeat(2048 * 2048),
        };
        out.clear();
        encode_frame(&long, &mut out);
        assert_eq!(out.len(), FRAME_HEADER + 4 + 4, "one run of 4 Mi pixels");
        assert_eq!(decode_frame(&out).unwrap().2, long.rgba);
    }

    fn page_message() -> impl Strategy<Value = PageMessage> {
        prop_oneof![
            Just(PageMessage::Ack),
            any::<bool>().prop_map(|on| PageMessage::Pause { on }),
            (any::<u32>(), ".{0,12}", any::<bool>()).prop_map(|(d, key, ctrl)| PageMessage::Key { d, key, ctrl }),
            (any::<u32>(), any::<i32>(), any::<i32>(), any::<u8>())
                .prop_map(|(d, x, y, buttons)| PageMessage::Pointer { d, x, y, buttons }),
            any::<u32>().prop_map(|d| PageMessage::Leave { d }),
            (any::<u32>(), any::<bool>()).prop_map(|(d, up)| PageMessage::Wheel { d, up }),
            ".{0,200}".prop_map(|text| PageMessage::Send { text }),
            Just(PageMessage::Reset),
            any::<bool>().prop_map(|on| PageMessage::Record { on }),
        ]
    }

    proptest! {
        /// No text a page (or anyone reaching the socket) sends makes the parser panic.
        #[test]
        fn any_text_parses_or_is_refused(text in ".{0,300}") {
            let _ = PageMessage::parse(&text);
        }

        /// Nor does JSON-shaped noise close to the real messages.
        #[test]
        fn near_misses_parse_or_are_refused(
            kind in "ack|pause|key|pointer|leave|wheel|send|reset|record|[a-z]{1,8}",
            fields in proptest::collection::vec(("[a-z]{1,8}", "-?[0-9]{1,12}|true|false|null|\"[^\"\\\\]{0,8}\"|\\[\\]|\\{\\}"), 0..5),
        ) {
            let body: Vec<String> = fields.iter().map(|(name, value)| format!(r#""{name}":{value}"#)).collect();
            let text = format!(r#"{{"t":"{kind}"{}{}}}"#, if body.is_empty() { "" } else { "," }, body.join(","));
            let _ = PageMessage::parse(&text);
        }

        /// Every message a page can send comes back as itself.
        #[test]
        fn page_messages_round_trip(message in page_message()) {
            let text = serde_json::to_string(&message).unwrap();
            prop_assume!(text.len() <= MESSAGE_MAX);
            prop_assert_eq!(PageMessage::parse(&text), Ok(message));
        }

        /// Whatever the pixels (runs of a few colours, noise, or both), the page decodes exactly them, and
        /// never more bytes go out than plain RGBA would take.
        #[test]
        fn frames_decode_to_their_pixels(
            palette in proptest::collection::vec(any::<[u8; 4]>(), 1..4),
            picks in proptest::collection::vec(
                (any::<prop::sample::Index>(), 1..300usize, any::<bool>(), any::<u32>()),
                1..40,
            ),
            width in 1..64u32,
            display in any::<u32>(),
            (x, y) in (0..2048u32, 0..2048u32),
        ) {
            let mut rgba = Vec::new();
            for (pick, repeat, noise, seed) in picks {
                let colour = *pick.get(&palette);
                for i in 0..repeat as u32 {
                    let pixel = if noise { (seed ^ i.wrapping_mul(0x9E37_79B9)).to_le_bytes() } else { colour };
                    rgba.extend_from_slice(&pixel);
                }
            }
            let height = (rgba.len() / 4) as u32 / width;
            prop_assume!(height > 0);
            rgba.truncate((width * height * 4) as usize);
            let frame = FrameUpdate { display, rect: Rect::new(x, y, width, height), rgba };
            let mut out = vec![0xAA];
            encode_frame(&frame, &mut out);
            prop_assert_eq!(out[0], 0xAA, "appends, never touches what is there");
            let message = &out[1..];
            prop_assert!(message.len() <= FRAME_HEADER + frame.rgba.len());
            prop_assert_eq!(decode_frame(message), Some((display, frame.rect, frame.rgba)));
        }

        /// Any bytes at all: the page's decoder yields a whole rectangle's pixels or nothing, and never panics.
        #[test]
        fn any_bytes_decode_to_a_whole_rectangle_or_nothing(
            kind in prop_oneof![Just(FRAME_RGBA), Just(FRAME_RUNS), any::<u8>()],
            (width, height) in (0..12u16, 0..12u16),
            body in proptest::collection::vec(any::<u8>(), 0..700),
            cut in 0..20usize,
        ) {
            let mut message = vec![kind, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
            message.extend_from_slice(&width.to_le_bytes());
            message.extend_from_slice(&height.to_le_bytes());
            message.extend_from_slice(&body);
            message.truncate(message.len() - cut.min(message.len()));
            if let Some((_, rect, rgba)) = decode_frame(&message) {
                prop_assert_eq!(rgba.len(), (rect.width * rect.height * 4) as usize);
            }
        }

        /// Any key name maps to at most one byte and never panics.
        #[test]
        fn any_key_name_maps_or_is_ignored(name in ".{0,4}", ctrl in any::<bool>()) {
            let _ = key(&name, ctrl);
        }
    }
}
