//! Classification (`docs/p2-protocol.md` A.3): the one-byte kind of a text line, the golden sync, backtick window
//! declarations and updates with a quote-aware tokenizer, and the named longs of a debugger packet.
//!
//! Everything here borrows from the message bytes and allocates nothing.

use crate::message::{CogId, Flags, MessageKind};

/// What a golden-sync line says after `CogN` and its spaces (A.3).
const GOLDEN_SYNC: &[u8] = b"INIT $0000_0000 $0000_0000 load";

/// The kind of a text line framed by A.2.3, and [`Flags::GOLDEN_SYNC`] when it is the P2's reboot line.
///
/// Packets are classified by their framing (A.2.1, A.2.2), not here: a text line starting with 0x00–0x07 or
/// 0xDB is TERMINAL_OUTPUT (the reference classified by first byte only, B.2.5).
///
/// # Examples
/// ```
/// use sluicegate_p2::{classify, CogId, Flags, MessageKind};
/// let cog0 = MessageKind::Cog(CogId::new(0).unwrap());
/// assert_eq!(classify(b"Cog0  hi\r\n"), (cog0, Flags::NONE));
/// assert_eq!(classify(b".Cog0 INIT $0000_0000 $0000_0000 load\r\n"), (cog0, Flags::GOLDEN_SYNC));
/// assert_eq!(classify(b"Cog9  ?\r\n").0, MessageKind::InvalidCog);
/// assert_eq!(classify(b"`j k l $FFFF\r\n").0, MessageKind::BacktickWindow);
/// assert_eq!(classify(b"\x01hello\r\n").0, MessageKind::TerminalOutput);
/// ```
pub fn classify(text: &[u8]) -> (MessageKind, Flags) {
    const TERMINAL: (MessageKind, Flags) = (MessageKind::TerminalOutput, Flags::NONE);
    match text.first() {
        Some(b'`') => (MessageKind::BacktickWindow, Flags::NONE),
        Some(b'C') => cog_line(text),
        // A.3 / B.1: after a download the checksum reply (`.` or `!`) arrives fused to the golden sync.
        Some(b'.' | b'!') => match cog_line(&text[1..]) {
            (kind @ MessageKind::Cog(_), Flags::GOLDEN_SYNC) => (kind, Flags::GOLDEN_SYNC),
            _ => TERMINAL,
        },
        _ => TERMINAL,
    }
}

/// `Cog` + digit 0–7 + at least one space is a COG line (the P2 sends two; the reference required exactly two
/// and missed the golden sync otherwise, B.2.6); `Cog8`/`Cog9` is INVALID_COG.
fn cog_line(text: &[u8]) -> (MessageKind, Flags) {
    let [b'C', b'o', b'g', digit, rest @ ..] = text else {
        return (MessageKind::TerminalOutput, Flags::NONE);
    };
    match digit {
        b'0'..=b'7' => {
            let spaces = rest.iter().take_while(|&&b| b == b' ').count();
            if spaces == 0 {
                return (MessageKind::TerminalOutput, Flags::NONE);
            }
            let cog = CogId::new(digit - b'0').map_or(MessageKind::TerminalOutput, MessageKind::Cog);
            let golden = rest[spaces..].starts_with(GOLDEN_SYNC);
            (cog, if golden { Flags::GOLDEN_SYNC } else { Flags::NONE })
        }
        b'8' | b'9' => (MessageKind::InvalidCog, Flags::NONE),
        _ => (MessageKind::TerminalOutput, Flags::NONE),
    }
}

/// The text of a line without its end-of-line bytes (whatever their form: CR, LF, CRLF, LFCR).
pub fn without_line_end(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|&b| b != b'\r' && b != b'\n')
        .map_or(0, |i| i + 1);
    &line[..end]
}

/// The tokens of a backtick command (A.3): split on spaces and tabs; a quoted string (`'…'` or `"…"`, quotes
/// included) stays inside one token even when it holds spaces. Trailing CR/LF are not part of any token.
///
/// # Examples
/// ```
/// use sluicegate_p2::Tokens;
/// let tokens: Vec<&[u8]> = Tokens::new(b"bitmap j title 'HSV 16'\tpos 100\r\n").collect();
/// assert_eq!(tokens, [&b"bitmap"[..], b"j", b"title", b"'HSV 16'", b"pos", b"100"]);
/// ```
#[derive(Clone, Debug)]
pub struct Tokens<'a> {
    rest: &'a [u8],
}

impl<'a> Tokens<'a> {
    /// Tokens of `text` (its trailing CR/LF ignored).
    pub fn new(text: &'a [u8]) -> Self {
        Self {
            rest: without_line_end(text),
        }
    }

    /// The text not yet returned as tokens, leading spaces and tabs skipped.
    pub fn remainder(&self) -> &'a [u8] {
        let start = self
            .rest
            .iter()
            .position(|&b| !is_separator(b))
            .unwrap_or(self.rest.len());
        &self.rest[start..]
    }
}

pub(crate) fn is_separator(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let text = self.remainder();
        if text.is_empty() {
            self.rest = text;
            return None;
        }
        // Most tokens hold no quote: find the first separator or quote, and only walk quotes byte by byte.
        let mut end = text
            .iter()
            .position(|&b| is_separator(b) || b == b'\'' || b == b'"')
            .unwrap_or(text.len());
        let mut quote = None;
        while end < text.len() {
            let b = text[end];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'\'' || b == b'"' => quote = Some(b),
                None if is_separator(b) => break,
                None => {}
            }
            end += 1;
        }
        self.rest = &text[end..];
        Some(&text[..end])
    }
}

/// The DEBUG window types a backtick declaration can create (A.3, B.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WindowType {
    /// `TERM`: text grid.
    Term,
    /// `SCOPE`: oscilloscope.
    Scope,
    /// `SCOPE_XY`: X/Y plot.
    ScopeXy,
    /// `LOGIC`: logic analyser.
    Logic,
    /// `PLOT`: vector canvas.
    Plot,
    /// `BITMAP`: pixel raster.
    Bitmap,
    /// `MIDI`: piano keyboard.
    Midi,
    /// `FFT`: spectrum.
    Fft,
    /// `SPECTRO`: spectrogram.
    Spectro,
}

impl WindowType {
    const ALL: [(WindowType, &'static [u8]); 9] = [
        (WindowType::Term, b"TERM"),
        (WindowType::Scope, b"SCOPE"),
        (WindowType::ScopeXy, b"SCOPE_XY"),
        (WindowType::Logic, b"LOGIC"),
        (WindowType::Plot, b"PLOT"),
        (WindowType::Bitmap, b"BITMAP"),
        (WindowType::Midi, b"MIDI"),
        (WindowType::Fft, b"FFT"),
        (WindowType::Spectro, b"SPECTRO"),
    ];

    /// The type a declaration's first token names, compared case-insensitively (A.3).
    pub fn from_token(token: &[u8]) -> Option<WindowType> {
        // Lengths are 3–8: most update targets (`j`, `MyLogic`) are rejected by the length check alone.
        if !(3..=8).contains(&token.len()) {
            return None;
        }
        Self::ALL
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(token))
            .map(|&(window_type, _)| window_type)
    }

    /// The keyword, upper case.
    pub fn keyword(self) -> &'static str {
        match self {
            WindowType::Term => "TERM",
            WindowType::Scope => "SCOPE",
            WindowType::ScopeXy => "SCOPE_XY",
            WindowType::Logic => "LOGIC",
            WindowType::Plot => "PLOT",
            WindowType::Bitmap => "BITMAP",
            WindowType::Midi => "MIDI",
            WindowType::Fft => "FFT",
            WindowType::Spectro => "SPECTRO",
        }
    }
}

/// A backtick message, split into a declaration or an update (A.3).
#[derive(Clone, Debug)]
pub enum Backtick<'a> {
    /// `` `TYPE name keywords… ``: opens a window.
    Create(Declaration<'a>),
    /// `` `target target… data… ``: the tokens after the backtick; which leading ones name windows depends on
    /// the windows that exist, so the [`Router`](crate::Router) splits targets from data.
    Update(Tokens<'a>),
}

/// A window declaration: `` `TERM MyTerm SIZE 40 20 ``.
#[derive(Clone, Debug)]
pub struct Declaration<'a> {
    /// The first token's type.
    pub window_type: WindowType,
    /// The second token (`None` when the line stops after the type; the router reports that as an error).
    pub name: Option<&'a [u8]>,
    /// The declaration keywords after the name.
    pub keywords: Tokens<'a>,
}

impl<'a> Backtick<'a> {
    /// Splits a BACKTICK_WINDOW line; `None` if it does not start with a backtick.
    ///
    /// # Examples
    /// ```
    /// use sluicegate_p2::{Backtick, WindowType};
    /// let Some(Backtick::Create(declaration)) = Backtick::parse(b"`TERM MyTerm SIZE 40 20\r\n") else { panic!() };
    /// assert_eq!((declaration.window_type, declaration.name), (WindowType::Term, Some(&b"MyTerm"[..])));
    /// let Some(Backtick::Update(mut tokens)) = Backtick::parse(b"`MyTerm 'hello'\r\n") else { panic!() };
    /// assert_eq!(tokens.next(), Some(&b"MyTerm"[..]));
    /// ```
    pub fn parse(line: &'a [u8]) -> Option<Backtick<'a>> {
        let text = line.strip_prefix(b"`")?;
        let tokens = Tokens::new(text);
        let mut after_type = tokens.clone();
        match after_type.next().and_then(WindowType::from_token) {
            Some(window_type) => {
                let name = after_type.next();
                Some(Backtick::Create(Declaration {
                    window_type,
                    name,
                    keywords: after_type,
                }))
            }
            None => Some(Backtick::Update(tokens)),
        }
    }
}

/// The first 20 longs of a 416-byte debugger packet, by name (B.2.5; only "416 bytes, first long = cog id" is
/// confirmed by captures, so the rest of the packet is left as bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct DebuggerStatus {
    /// mCOGN: the cog id (also the packet's framing key, A.2.1).
    pub cogn: u32,
    /// mBRKS: break status.
    pub brks: u32,
    pub stas: u32,
    pub stbs: u32,
    pub call: u32,
    pub pc: u32,
    pub skip: u32,
    pub rega: u32,
    pub regb: u32,
    pub ptra: u32,
    pub ptrb: u32,
    pub dira: u32,
    pub dirb: u32,
    pub outa: u32,
    pub outb: u32,
    pub ina: u32,
    pub inb: u32,
    pub flag: u32,
    pub ijmp: u32,
    pub cond: u32,
}

/// A debugger packet that cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Debugger packets are exactly 416 bytes (A.2.1).
    #[error("a debugger packet is 416 bytes, this one is {len}")]
    Length {
        /// The length given.
        len: usize,
    },
}

impl DebuggerStatus {
    /// Reads the 20 little-endian longs at the start of a debugger packet.
    ///
    /// # Errors
    /// [`DecodeError::Length`] unless `packet` is exactly 416 bytes.
    pub fn parse(packet: &[u8]) -> Result<DebuggerStatus, DecodeError> {
        if packet.len() != crate::wire::DEBUGGER_PACKET_LEN {
            return Err(DecodeError::Length { len: packet.len() });
        }
        let mut longs = packet
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let mut next = || longs.next().unwrap_or_default();
        Ok(DebuggerStatus {
            cogn: next(),
            brks: next(),
            stas: next(),
            stbs: next(),
            call: next(),
            pc: next(),
            skip: next(),
            rega: next(),
            regb: next(),
            ptra: next(),
            ptrb: next(),
            dira: next(),
            dirb: next(),
            outa: next(),
            outb: next(),
            ina: next(),
            inb: next(),
            flag: next(),
            ijmp: next(),
            cond: next(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_end_is_stripped_whatever_its_form() {
        assert_eq!(without_line_end(b"Cog0  x\r\n"), b"Cog0  x");
        assert_eq!(without_line_end(b"x\n\r"), b"x");
        assert_eq!(without_line_end(b"\r\n"), b"");
    }

    fn cog(n: u8) -> MessageKind {
        MessageKind::Cog(CogId::new(n).unwrap())
    }

    #[test]
    fn cog_lines_need_a_digit_and_a_space() {
        assert_eq!(classify(b"Cog0  hi\r\n"), (cog(0), Flags::NONE));
        assert_eq!(classify(b"Cog7 one space\n"), (cog(7), Flags::NONE));
        assert_eq!(classify(b"Cog0\r\n").0, MessageKind::TerminalOutput);
        assert_eq!(classify(b"Cog0x\r\n").0, MessageKind::TerminalOutput);
        assert_eq!(classify(b"Cogs\r\n").0, MessageKind::TerminalOutput);
        assert_eq!(classify(b"Cog").0, MessageKind::TerminalOutput);
        assert_eq!(classify(b"cog0  lower\r\n").0, MessageKind::TerminalOutput);
        assert_eq!(classify(b"Cog8  x\r\n").0, MessageKind::InvalidCog);
        assert_eq!(classify(b"Cog9\r\n").0, MessageKind::InvalidCog);
        assert_eq!(classify(b"").0, MessageKind::TerminalOutput);
    }

    /// Reference bug B.2.6: the golden sync was matched with exactly one space, so real hardware (two spaces)
    /// never rebooted. Any number of spaces, and a fused checksum character, must match.
    #[test]
    fn golden_sync_with_one_two_or_more_spaces_and_a_fused_checksum() {
        for line in [
            &b"Cog0 INIT $0000_0000 $0000_0000 load\r\n"[..],
            b"Cog0  INIT $0000_0000 $0000_0000 load\r\n",
            b"Cog0     INIT $0000_0000 $0000_0000 load",
            b".Cog0  INIT $0000_0000 $0000_0000 load\r\n",
            b"!Cog0  INIT $0000_0000 $0000_0000 load\r\n",
        ] {
            assert_eq!(classify(line), (cog(0), Flags::GOLDEN_SYNC), "{}", line.escape_ascii());
        }
        assert_eq!(
            classify(b"Cog3  INIT $0000_0000 $0000_0000 load\r\n"),
            (cog(3), Flags::GOLDEN_SYNC)
        );
        assert_eq!(
            classify(b"Cog0  INIT $0000_0F5C $0000_1C68 jump\r\n"),
            (cog(0), Flags::NONE)
        );
        assert_eq!(
            classify(b"Cog0INIT $0000_0000 $0000_0000 load\r\n").0,
            MessageKind::TerminalOutput
        );
        assert_eq!(
            classify(b".Cog0  hello\r\n").0,
            MessageKind::TerminalOutput,
            "a fused checksum only on the sync"
        );
        assert_eq!(
            classify(b"..Cog0  INIT $0000_0000 $0000_0000 load\r\n").0,
            MessageKind::TerminalOutput
        );
    }

    #[test]
    fn backtick_lines_are_windows_and_control_codes_are_terminal_text() {
        assert_eq!(classify(b"`j $0\r\n").0, MessageKind::BacktickWindow);
        for first in 0u8..=16 {
            assert_eq!(classify(&[first, b'A', b'\r']).0, MessageKind::TerminalOutput);
        }
        assert_eq!(classify(b"\xDB\x00\x30text\n").0, MessageKind::TerminalOutput);
    }

    #[test]
    fn tokens_split_on_spaces_and_tabs_and_keep_quotes_whole() {
        let all = |text: &'static [u8]| Tokens::new(text).collect::<Vec<_>>();
        assert_eq!(all(b"  a\t\tb  c \r\n"), [&b"a"[..], b"b", b"c"]);
        assert_eq!(
            all(b"TEXT 'two words' \"x\ty\" end"),
            [&b"TEXT"[..], b"'two words'", b"\"x\ty\"", b"end"]
        );
        assert_eq!(all(b"title'a b'c d"), [&b"title'a b'c"[..], b"d"]);
        assert_eq!(all(b"'unterminated quote"), [&b"'unterminated quote"[..]]);
        assert_eq!(all(b"\"it's\" x"), [&b"\"it's\""[..], b"x"]);
        assert!(all(b"\r\n").is_empty() && all(b"").is_empty());
        let mut tokens = Tokens::new(b"j k  $FF 'a b'\r\n");
        tokens.next();
        assert_eq!(tokens.remainder(), b"k  $FF 'a b'");
    }

    #[test]
    fn creates_name_a_window_type_case_insensitively() {
        for (line, window_type) in [
            (&b"`bitmap j title 'HSV16'"[..], WindowType::Bitmap),
            (b"`SCOPE_XY xy", WindowType::ScopeXy),
            (b"`Spectro s", WindowType::Spectro),
            (b"`term t", WindowType::Term),
            (b"`LOGIC MyLogic SAMPLES 32", WindowType::Logic),
            (b"`midi m", WindowType::Midi),
            (b"`fft f", WindowType::Fft),
            (b"`plot p", WindowType::Plot),
            (b"`scope s", WindowType::Scope),
        ] {
            let Some(Backtick::Create(declaration)) = Backtick::parse(line) else {
                panic!("{line:?}")
            };
            assert_eq!(declaration.window_type, window_type);
            assert!(declaration.name.is_some());
        }
        let Some(Backtick::Create(declaration)) = Backtick::parse(b"`TERM\r\n") else {
            panic!()
        };
        assert_eq!(declaration.name, None);
        let Some(Backtick::Create(declaration)) = Backtick::parse(b"`bitmap j title 'HSV16' pos 100\r\n") else {
            panic!()
        };
        assert_eq!(
            declaration.keywords.collect::<Vec<_>>(),
            [&b"title"[..], b"'HSV16'", b"pos", b"100"]
        );
        assert!(
            matches!(Backtick::parse(b"`debugger d"), Some(Backtick::Update(_))),
            "DEBUGGER is not declarable"
        );
        assert!(matches!(Backtick::parse(b"`terminal t"), Some(Backtick::Update(_))));
        assert!(Backtick::parse(b"j k").is_none());
    }

    #[test]
    fn debugger_status_names_the_first_twenty_longs() {
        let mut packet = [0u8; 416];
        for (i, long) in packet.chunks_exact_mut(4).take(20).enumerate() {
            long.copy_from_slice(&(i as u32 * 0x0101_0101).to_le_bytes());
        }
        let status = DebuggerStatus::parse(&packet).unwrap();
        assert_eq!((status.cogn, status.brks, status.pc), (0, 0x0101_0101, 5 * 0x0101_0101));
        assert_eq!(status.cond, 19 * 0x0101_0101);
        assert_eq!(
            DebuggerStatus::parse(&packet[..415]),
            Err(DecodeError::Length { len: 415 })
        );
    }
}
