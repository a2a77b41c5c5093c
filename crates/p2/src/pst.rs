//! Parallax Serial Terminal (PST) control codes in terminal lines (`docs/p2-protocol.md` B.5): shown as ANSI
//! escapes for a terminal, as the reference logger's tags for the debug log and `--show-controls`, dropped
//! for a pipe, or kept for a front end that acts on them itself (a web page). Every front end that shows
//! terminal text renders it with [`render`], and what the terminal prints for a routed message or event with
//! [`render_routed`].
//!
//! # Examples
//! ```
//! use sluicegate_p2::pst::{Controls, render};
//!
//! let mut line = String::new();
//! render(b"\x01\x02\x05\x07hi", Controls::Tags, &mut line);
//! assert_eq!(line, "<HOME><POS:5,7>hi");
//! ```

use std::fmt::Write as _;

use crate::classify::{WindowType, without_line_end};
use crate::message::{Flags, MessageKind};
use crate::route::{Event, Routed};
use crate::window::WindowError;

/// How control codes are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Controls {
    /// ANSI escape sequences (stdout is a terminal).
    Ansi,
    /// `<HOME>`, `<POS:x,y>`, … as the reference's debug log writes them.
    Tags,
    /// Cursor and screen codes dropped, tabs and line ends kept (stdout is a file or pipe).
    Plain,
    /// Kept for a front end that interprets them itself: each control code as its own character (U+0000 to
    /// U+001F), and the argument bytes of POS, SETX and SETY as the characters U+0000 to U+00FF of their values.
    Raw,
}

/// Renders one line (its trailing CR/LF already removed) into `out`.
///
/// A valid UTF-8 sequence shows as its character (programs print `°` and the like as UTF-8, and the JSON `text`
/// reads them so); any other byte from 0x80 up shows on its own, as its Latin-1 character or, with tags, as
/// `<0xNN>`. A control code's argument bytes are taken as they are, never as part of a character.
pub fn render(line: &[u8], controls: Controls, out: &mut String) {
    let mut bytes = line.iter();
    while let Some(&byte) = bytes.next() {
        if byte >= 0x80
            && let Some((character, width)) = utf8_character(byte, bytes.as_slice())
        {
            out.push(character);
            bytes = bytes.as_slice()[width - 1..].iter();
            continue;
        }
        let mut argument = || bytes.next().copied().unwrap_or(0);
        match (byte, controls) {
            (b'\t', Controls::Ansi | Controls::Plain) => out.push('\t'),
            (0x20..=0x7e, _) => out.push(char::from(byte)),
            (0x80.., Controls::Ansi | Controls::Plain | Controls::Raw) => out.push(char::from(byte)),
            (_, Controls::Raw) => {
                out.push(char::from(byte));
                let arguments = match byte {
                    2 => 2,
                    14 | 15 => 1,
                    _ => 0,
                };
                for _ in 0..arguments {
                    out.push(char::from(argument()));
                }
            }
            (_, Controls::Tags) => push_tag(byte, &mut argument, out),
            (_, Controls::Ansi) => push_ansi(byte, &mut argument, out),
            (_, Controls::Plain) => match byte {
                10 | 13 => out.push('\n'),
                2 => {
                    argument();
                    argument();
                }
                14 | 15 => {
                    argument();
                }
                _ => {}
            },
        }
    }
}

/// Renders what the text terminal prints for `routed` into `out`, one line ended by `\n` (none after a message
/// flushed unfinished, [`Flags::PARTIAL`]): terminal text with its control codes shown as `controls` says, an
/// `INVALID_COG` line with a warning, a window error, a reboot, a window declared. Returns false, writing
/// nothing, for what the terminal does not show (other messages, window updates, discards).
///
/// # Examples
/// ```
/// use sluicegate_p2::pst::{Controls, render_window_error};
/// use sluicegate_p2::WindowError;
///
/// let mut line = String::new();
/// render_window_error(WindowError::UnknownWindow, b"Scope1", &mut line);
/// assert!(line.starts_with("ERROR: window update failed") && line.ends_with("(window 'Scope1')\n"));
/// ```
pub fn render_routed(routed: &Routed<'_>, controls: Controls, out: &mut String) -> bool {
    match routed {
        Routed::Message(message) => render_message(message.bytes(), message.kind, message.flags, controls, out),
        Routed::Event(Event::WindowError { error, name, .. }) => render_window_error(*error, name, out),
        Routed::Event(Event::Reboot { .. }) => render_reboot(out),
        Routed::Event(Event::WindowCreated { window, .. }) => {
            render_window_opened(window.window_type(), window.name(), out);
        }
        _ => return false,
    }
    true
}

/// A terminal line as the terminal prints it (see [`render_routed`]); `bytes` may still end with its line end.
pub fn render_message(bytes: &[u8], kind: MessageKind, flags: Flags, controls: Controls, out: &mut String) {
    if kind == MessageKind::InvalidCog {
        out.push_str("WARNING: invalid cog number: ");
    }
    render(without_line_end(bytes), controls, out);
    if !flags.contains(Flags::PARTIAL) {
        out.push('\n');
    }
}

/// A backtick command that could not be applied (A.4), as the terminal prints it.
pub fn render_window_error(error: WindowError, name: &[u8], out: &mut String) {
    let _ = writeln!(out, "ERROR: {error} (window '{}')", String::from_utf8_lossy(name));
}

/// A reboot (golden sync), as the terminal prints it.
pub fn render_reboot(out: &mut String) {
    out.push_str("--- P2 reboot (golden sync) ---\n");
}

/// A window declaration, as the terminal prints it.
pub fn render_window_opened(kind: WindowType, name: &[u8], out: &mut String) {
    let _ = writeln!(
        out,
        "[{} window '{}' opened]",
        kind.keyword(),
        String::from_utf8_lossy(name)
    );
}

/// The character of the UTF-8 sequence that starts with `lead` and goes on in `rest`, and its width in bytes;
/// `None` if it is not a valid, complete sequence. Decoded on the stack: rendering allocates nothing.
fn utf8_character(lead: u8, rest: &[u8]) -> Option<(char, usize)> {
    let width = match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let mut sequence = [lead, 0, 0, 0];
    sequence[1..width].copy_from_slice(rest.get(..width - 1)?);
    let character = std::str::from_utf8(&sequence[..width]).ok()?.chars().next()?;
    Some((character, width))
}

fn push_tag(byte: u8, argument: &mut impl FnMut() -> u8, out: &mut String) {
    let tag = match byte {
        1 => "<HOME>",
        2 => {
            let (x, y) = (argument(), argument());
            let _ = write!(out, "<POS:{x},{y}>");
            return;
        }
        3 => "<LEFT>",
        4 => "<RIGHT>",
        5 => "<UP>",
        6 => "<DOWN>",
        8 => "<BS>",
        9 => "<TAB>",
        10 => "<LF>",
        11 => "<CLEOL>",
        12 => "<CLBELOW>",
        13 => "<CR>",
        14 => {
            let _ = write!(out, "<SETX:{}>", argument());
            return;
        }
        15 => {
            let _ = write!(out, "<SETY:{}>", argument());
            return;
        }
        16 => "<CLS>",
        _ => {
            let _ = write!(out, "<0x{byte:02X}>");
            return;
        }
    };
    out.push_str(tag);
}

fn push_ansi(byte: u8, argument: &mut impl FnMut() -> u8, out: &mut String) {
    match byte {
        1 => out.push_str("\x1b[H"),
        2 => {
            let (x, y) = (argument(), argument());
            let _ = write!(out, "\x1b[{};{}H", u16::from(y) + 1, u16::from(x) + 1);
        }
        3 => out.push_str("\x1b[D"),
        4 => out.push_str("\x1b[C"),
        5 => out.push_str("\x1b[A"),
        6 => out.push_str("\x1b[B"),
        7 => out.push('\x07'),
        8 => out.push('\x08'),
        10 | 13 => out.push('\n'),
        11 => out.push_str("\x1b[K"),
        12 => out.push_str("\x1b[J"),
        14 => {
            let _ = write!(out, "\x1b[{}G", u16::from(argument()) + 1);
        }
        15 => {
            let _ = write!(out, "\x1b[{}d", u16::from(argument()) + 1);
        }
        0 | 16 => out.push_str("\x1b[2J\x1b[H"),
        _ => {
            let _ = write!(out, "<0x{byte:02X}>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(line: &[u8], controls: Controls) -> String {
        let mut out = String::new();
        render(line, controls, &mut out);
        out
    }

    #[test]
    fn tags_follow_the_reference_log() {
        let line = b"\x01\x02\x05\x07x\x03\x04\x0e\x09\x0f\x02\x10\x0b\x0c\x08\x11";
        assert_eq!(
            rendered(line, Controls::Tags),
            "<HOME><POS:5,7>x<LEFT><RIGHT><SETX:9><SETY:2><CLS><CLEOL><CLBELOW><BS><0x11>"
        );
    }

    #[test]
    fn utf8_shows_as_characters_and_other_high_bytes_one_by_one() {
        // `°`, `€`, `😀`; then a lone continuation byte, a cut sequence, an overlong `/` and a surrogate.
        let line = b"25\xc2\xb0C \xe2\x82\xac \xf0\x9f\x98\x80|\xb0|\xe2\x82|\xc0\xaf|\xed\xa0\x80";
        assert_eq!(
            rendered(line, Controls::Plain),
            "25\u{b0}C \u{20ac} \u{1f600}|\u{b0}|\u{e2}\u{82}|\u{c0}\u{af}|\u{ed}\u{a0}\u{80}"
        );
        assert_eq!(rendered(line, Controls::Ansi), rendered(line, Controls::Plain));
        assert_eq!(
            rendered(line, Controls::Tags),
            "25\u{b0}C \u{20ac} \u{1f600}|<0xB0>|<0xE2><0x82>|<0xC0><0xAF>|<0xED><0xA0><0x80>"
        );
        assert_eq!(
            rendered(b"\xc3", Controls::Plain),
            "\u{c3}",
            "a sequence cut by the line's end"
        );
    }

    #[test]
    fn control_arguments_are_bytes_not_characters() {
        // POS 0xC2,0xB0 then `x`: the two arguments are not read as `°`.
        assert_eq!(rendered(b"\x02\xc2\xb0x", Controls::Tags), "<POS:194,176>x");
        assert_eq!(rendered(b"\x02\xc2\xb0x", Controls::Plain), "x");
    }

    #[test]
    fn raw_keeps_codes_and_their_arguments_as_characters() {
        assert_eq!(
            rendered(b"\x01\x02\xc2\xb0x\x0e\x09\x10\xc2\xb0", Controls::Raw),
            "\u{1}\u{2}\u{c2}\u{b0}x\u{e}\u{9}\u{10}\u{b0}"
        );
    }

    #[test]
    fn ansi_moves_the_cursor_and_plain_drops_it() {
        assert_eq!(
            rendered(b"\x02\x00\x01hi\x10", Controls::Ansi),
            "\x1b[2;1Hhi\x1b[2J\x1b[H"
        );
        assert_eq!(rendered(b"\x02\x00\x01hi\tthere\x10", Controls::Plain), "hi\tthere");
    }
}
