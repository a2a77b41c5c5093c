//! Parallax Serial Terminal control codes in terminal lines: as ANSI for a terminal, as the reference
//! logger's tags (B.5) for logs and `--show-controls`, or dropped for a pipe.

use std::fmt::Write as _;

/// How control codes are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Controls {
    /// ANSI escape sequences (stdout is a terminal).
    Ansi,
    /// `<HOME>`, `<POS:x,y>`, … as the reference's debug log writes them.
    Tags,
    /// Cursor and screen codes dropped, tabs and line ends kept (stdout is a file or pipe).
    Plain,
}

/// Renders one line (its trailing CR/LF already removed) into `out`.
pub fn render(line: &[u8], controls: Controls, out: &mut String) {
    let mut bytes = line.iter().copied();
    while let Some(byte) = bytes.next() {
        let mut argument = || bytes.next().unwrap_or(0);
        match (byte, controls) {
            (b'\t', Controls::Ansi | Controls::Plain) => out.push('\t'),
            (0x20..=0x7e, _) => out.push(char::from(byte)),
            (0x80.., Controls::Ansi | Controls::Plain) => out.push(char::from(byte)),
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
    fn ansi_moves_the_cursor_and_plain_drops_it() {
        assert_eq!(
            rendered(b"\x02\x00\x01hi\x10", Controls::Ansi),
            "\x1b[2;1Hhi\x1b[2J\x1b[H"
        );
        assert_eq!(rendered(b"\x02\x00\x01hi\tthere\x10", Controls::Plain), "hi\tthere");
    }
}
