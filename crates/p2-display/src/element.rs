//! PNut's element scanner (docs/p2-displays.md B.1): a backtick line becomes symbols, numbers and strings;
//! every other byte separates them. Symbols are looked up in the reserved table ([`Keyword`] and the nine
//! display types) before the table of open display names.

use sluicegate_p2::WindowType;

/// The longest symbol PNut keeps; longer symbols are silently truncated (B.1).
pub const SYMBOL_MAX: usize = 30;

/// A reserved word other than the nine display types, in PNut's own order (which groups colours, colour modes
/// and packing words so that a range check finds each group).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Keyword {
    Black,
    White,
    Orange,
    Blue,
    Green,
    Cyan,
    Red,
    Magenta,
    Yellow,
    Gray,
    Lut1,
    Lut2,
    Lut4,
    Lut8,
    Luma8,
    Luma8w,
    Luma8x,
    Hsv8,
    Hsv8w,
    Hsv8x,
    Rgbi8,
    Rgbi8w,
    Rgbi8x,
    Rgb8,
    Hsv16,
    Hsv16w,
    Hsv16x,
    Rgb16,
    Rgb24,
    Longs1Bit,
    Longs2Bit,
    Longs4Bit,
    Longs8Bit,
    Longs16Bit,
    Words1Bit,
    Words2Bit,
    Words4Bit,
    Words8Bit,
    Bytes1Bit,
    Bytes2Bit,
    Bytes4Bit,
    Alt,
    Auto,
    Backcolor,
    Box,
    Cartesian,
    Channel,
    Circle,
    Clear,
    Close,
    Color,
    Crop,
    Depth,
    Dot,
    Dotsize,
    Hidexy,
    Holdoff,
    Layer,
    Line,
    Linesize,
    Logscale,
    Lutcolors,
    Mag,
    Obox,
    Opacity,
    Origin,
    Oval,
    PcKey,
    PcMouse,
    Polar,
    Pos,
    Precise,
    Range,
    Rate,
    Samples,
    Save,
    Scroll,
    Set,
    Signed,
    Size,
    Spacing,
    Sparse,
    Sprite,
    Spritedef,
    Text,
    Textangle,
    Textsize,
    Textstyle,
    Title,
    Trace,
    Trigger,
    Update,
    Window,
}

impl Keyword {
    /// `BLACK`…`GRAY` (`GREY` is the same word).
    pub fn is_color_name(self) -> bool {
        (Keyword::Black..=Keyword::Gray).contains(&self)
    }

    /// `LUT1`…`RGB24`.
    pub fn is_color_mode(self) -> bool {
        (Keyword::Lut1..=Keyword::Rgb24).contains(&self)
    }

    /// `LONGS_1BIT`…`BYTES_4BIT`.
    pub fn is_packing(self) -> bool {
        (Keyword::Longs1Bit..=Keyword::Bytes4Bit).contains(&self)
    }
}

/// What a symbol is, once looked up in the reserved table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reserved {
    Display(WindowType),
    Key(Keyword),
}

/// The reserved table (B.1: 103 words), sorted by spelling for a binary search.
const RESERVED: [(&[u8], Reserved); 103] = {
    use Keyword as K;
    use Reserved::{Display as D, Key};
    [
        (b"ALT", Key(K::Alt)),
        (b"AUTO", Key(K::Auto)),
        (b"BACKCOLOR", Key(K::Backcolor)),
        (b"BITMAP", D(WindowType::Bitmap)),
        (b"BLACK", Key(K::Black)),
        (b"BLUE", Key(K::Blue)),
        (b"BOX", Key(K::Box)),
        (b"BYTES_1BIT", Key(K::Bytes1Bit)),
        (b"BYTES_2BIT", Key(K::Bytes2Bit)),
        (b"BYTES_4BIT", Key(K::Bytes4Bit)),
        (b"CARTESIAN", Key(K::Cartesian)),
        (b"CHANNEL", Key(K::Channel)),
        (b"CIRCLE", Key(K::Circle)),
        (b"CLEAR", Key(K::Clear)),
        (b"CLOSE", Key(K::Close)),
        (b"COLOR", Key(K::Color)),
        (b"CROP", Key(K::Crop)),
        (b"CYAN", Key(K::Cyan)),
        (b"DEPTH", Key(K::Depth)),
        (b"DOT", Key(K::Dot)),
        (b"DOTSIZE", Key(K::Dotsize)),
        (b"FFT", D(WindowType::Fft)),
        (b"GRAY", Key(K::Gray)),
        (b"GREEN", Key(K::Green)),
        (b"GREY", Key(K::Gray)),
        (b"HIDEXY", Key(K::Hidexy)),
        (b"HOLDOFF", Key(K::Holdoff)),
        (b"HSV16", Key(K::Hsv16)),
        (b"HSV16W", Key(K::Hsv16w)),
        (b"HSV16X", Key(K::Hsv16x)),
        (b"HSV8", Key(K::Hsv8)),
        (b"HSV8W", Key(K::Hsv8w)),
        (b"HSV8X", Key(K::Hsv8x)),
        (b"LAYER", Key(K::Layer)),
        (b"LINE", Key(K::Line)),
        (b"LINESIZE", Key(K::Linesize)),
        (b"LOGIC", D(WindowType::Logic)),
        (b"LOGSCALE", Key(K::Logscale)),
        (b"LONGS_16BIT", Key(K::Longs16Bit)),
        (b"LONGS_1BIT", Key(K::Longs1Bit)),
        (b"LONGS_2BIT", Key(K::Longs2Bit)),
        (b"LONGS_4BIT", Key(K::Longs4Bit)),
        (b"LONGS_8BIT", Key(K::Longs8Bit)),
        (b"LUMA8", Key(K::Luma8)),
        (b"LUMA8W", Key(K::Luma8w)),
        (b"LUMA8X", Key(K::Luma8x)),
        (b"LUT1", Key(K::Lut1)),
        (b"LUT2", Key(K::Lut2)),
        (b"LUT4", Key(K::Lut4)),
        (b"LUT8", Key(K::Lut8)),
        (b"LUTCOLORS", Key(K::Lutcolors)),
        (b"MAG", Key(K::Mag)),
        (b"MAGENTA", Key(K::Magenta)),
        (b"MIDI", D(WindowType::Midi)),
        (b"OBOX", Key(K::Obox)),
        (b"OPACITY", Key(K::Opacity)),
        (b"ORANGE", Key(K::Orange)),
        (b"ORIGIN", Key(K::Origin)),
        (b"OVAL", Key(K::Oval)),
        (b"PC_KEY", Key(K::PcKey)),
        (b"PC_MOUSE", Key(K::PcMouse)),
        (b"PLOT", D(WindowType::Plot)),
        (b"POLAR", Key(K::Polar)),
        (b"POS", Key(K::Pos)),
        (b"PRECISE", Key(K::Precise)),
        (b"RANGE", Key(K::Range)),
        (b"RATE", Key(K::Rate)),
        (b"RED", Key(K::Red)),
        (b"RGB16", Key(K::Rgb16)),
        (b"RGB24", Key(K::Rgb24)),
        (b"RGB8", Key(K::Rgb8)),
        (b"RGBI8", Key(K::Rgbi8)),
        (b"RGBI8W", Key(K::Rgbi8w)),
        (b"RGBI8X", Key(K::Rgbi8x)),
        (b"SAMPLES", Key(K::Samples)),
        (b"SAVE", Key(K::Save)),
        (b"SCOPE", D(WindowType::Scope)),
        (b"SCOPE_XY", D(WindowType::ScopeXy)),
        (b"SCROLL", Key(K::Scroll)),
        (b"SET", Key(K::Set)),
        (b"SIGNED", Key(K::Signed)),
        (b"SIZE", Key(K::Size)),
        (b"SPACING", Key(K::Spacing)),
        (b"SPARSE", Key(K::Sparse)),
        (b"SPECTRO", D(WindowType::Spectro)),
        (b"SPRITE", Key(K::Sprite)),
        (b"SPRITEDEF", Key(K::Spritedef)),
        (b"TERM", D(WindowType::Term)),
        (b"TEXT", Key(K::Text)),
        (b"TEXTANGLE", Key(K::Textangle)),
        (b"TEXTSIZE", Key(K::Textsize)),
        (b"TEXTSTYLE", Key(K::Textstyle)),
        (b"TITLE", Key(K::Title)),
        (b"TRACE", Key(K::Trace)),
        (b"TRIGGER", Key(K::Trigger)),
        (b"UPDATE", Key(K::Update)),
        (b"WHITE", Key(K::White)),
        (b"WINDOW", Key(K::Window)),
        (b"WORDS_1BIT", Key(K::Words1Bit)),
        (b"WORDS_2BIT", Key(K::Words2Bit)),
        (b"WORDS_4BIT", Key(K::Words4Bit)),
        (b"WORDS_8BIT", Key(K::Words8Bit)),
        (b"YELLOW", Key(K::Yellow)),
    ]
};

/// The shortest reserved word (`ALT`, `BOX`, `RED`…) and the longest (`LONGS_16BIT`).
const RESERVED_MIN: usize = 3;
const RESERVED_MAX: usize = 11;

/// A word of at most 16 bytes as one integer, first byte most significant and zero-padded, so that integer
/// order is the words' byte order.
const fn key(word: &[u8]) -> u128 {
    let mut key = 0u128;
    let mut i = 0;
    while i < 16 {
        key <<= 8;
        if i < word.len() {
            key |= word[i] as u128;
        }
        i += 1;
    }
    key
}

/// [`RESERVED`]'s words as keys, in the same order. Every message's symbols are looked up here: integer
/// comparisons instead of byte-string ones, after a length check that lets short display names through at once,
/// took the HSV16 burst from 25.6 to 11.2 ms (the lookups were 57 % of its profile).
const RESERVED_KEYS: [u128; RESERVED.len()] = {
    let mut keys = [0; RESERVED.len()];
    let mut i = 0;
    while i < keys.len() {
        keys[i] = key(RESERVED[i].0);
        i += 1;
    }
    keys
};

/// The reserved meaning of an upper-case symbol, if it has one.
pub(crate) fn reserved(upper: &[u8]) -> Option<Reserved> {
    if !(RESERVED_MIN..=RESERVED_MAX).contains(&upper.len()) {
        return None;
    }
    let mut bytes = [0u8; 16];
    bytes[..upper.len()].copy_from_slice(upper);
    RESERVED_KEYS
        .binary_search(&u128::from_be_bytes(bytes))
        .ok()
        .map(|i| RESERVED[i].1)
}

/// A symbol as PNut stores it: upper case, at most [`SYMBOL_MAX`] bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Symbol {
    bytes: [u8; SYMBOL_MAX],
    len: u8,
}

impl Symbol {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Symbol({})", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// One token of a line, before symbols are looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// A symbol: its upper-case form, and where its (possibly truncated) original spelling lies in the line.
    Symbol {
        upper: Symbol,
        start: usize,
        end: usize,
    },
    Number(i32),
    /// A string's contents: `line[start..end]` (quotes excluded).
    Str {
        start: usize,
        end: usize,
    },
}

/// Splits a line into [`Token`]s as PNut's `get_dd_element` does: at each position try a symbol, then a number,
/// then a string; otherwise skip one byte.
#[derive(Clone, Debug)]
pub(crate) struct Scanner<'a> {
    line: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Self { line, pos: 0 }
    }

    /// Where the next token search starts (for error offsets).
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    fn byte(&self, i: usize) -> Option<u8> {
        self.line.get(i).copied()
    }

    fn symbol(&mut self) -> Option<Token> {
        let first = self.byte(self.pos)?;
        if !(first == b'_' || first.is_ascii_alphabetic()) {
            return None;
        }
        let start = self.pos;
        let mut upper = Symbol {
            bytes: [0; SYMBOL_MAX],
            len: 0,
        };
        let mut end = start;
        while let Some(b) = self.byte(self.pos) {
            if !(b == b'_' || b.is_ascii_alphanumeric()) {
                break;
            }
            if usize::from(upper.len) < SYMBOL_MAX {
                upper.bytes[usize::from(upper.len)] = b.to_ascii_uppercase();
                upper.len += 1;
                end = self.pos + 1;
            }
            self.pos += 1;
        }
        Some(Token::Symbol { upper, start, end })
    }

    fn number(&mut self) -> Option<Token> {
        let mut i = self.pos;
        let negative = self.byte(i) == Some(b'-');
        if negative {
            i += 1;
        }
        let (radix, first) = match self.byte(i)? {
            b'$' => (16, i + 1),
            b'%' => (2, i + 1),
            b'0'..=b'9' => (10, i),
            _ => return None,
        };
        let digit = |b: u8| (b as char).to_digit(radix);
        // The first digit must follow the prefix directly; later digits may be separated by `_`.
        let mut value = digit(self.byte(first)?)?;
        i = first + 1;
        while let Some(b) = self.byte(i) {
            if b == b'_' {
                i += 1;
                continue;
            }
            let Some(d) = digit(b) else { break };
            value = value.wrapping_mul(radix).wrapping_add(d);
            i += 1;
        }
        self.pos = i;
        let value = value as i32;
        Some(Token::Number(if negative { value.wrapping_neg() } else { value }))
    }

    fn string(&mut self) -> Option<Token> {
        if self.byte(self.pos) != Some(b'\'') {
            return None;
        }
        let start = self.pos + 1;
        let rest = &self.line[start..];
        let (end, next) = match rest.iter().position(|&b| b == b'\'') {
            Some(n) => (start + n, start + n + 1),
            // Unterminated: the string runs to the end of the line.
            None => (self.line.len(), self.line.len()),
        };
        self.pos = next;
        Some(Token::Str { start, end })
    }
}

impl Iterator for Scanner<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        while self.pos < self.line.len() {
            if let Some(token) = self.symbol().or_else(|| self.number()).or_else(|| self.string()) {
                return Some(token);
            }
            self.pos += 1;
        }
        None
    }
}

/// A data element handed to a display: a keyword, a number or a string (B.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Element {
    Key(Keyword),
    Num(i32),
    /// `line[start..end]`.
    Str {
        start: u32,
        end: u32,
    },
}

/// A display's read position in a message's elements, with PNut's `NextKey`/`NextNum`/`NextStr` semantics: each
/// takes the next element only if it is of that kind.
#[derive(Clone, Debug)]
pub(crate) struct Cursor<'a> {
    elements: &'a [Element],
    line: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(elements: &'a [Element], line: &'a [u8]) -> Self {
        Self { elements, line, pos: 0 }
    }

    /// Whether every element has been read (`NextEnd`).
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.elements.len()
    }

    /// Steps back one element (PNut's `Dec(ptr)`).
    pub(crate) fn back(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    pub(crate) fn next_key(&mut self) -> Option<Keyword> {
        match self.elements.get(self.pos) {
            Some(&Element::Key(key)) => {
                self.pos += 1;
                Some(key)
            }
            _ => None,
        }
    }

    pub(crate) fn next_num(&mut self) -> Option<i32> {
        match self.elements.get(self.pos) {
            Some(&Element::Num(n)) => {
                self.pos += 1;
                Some(n)
            }
            _ => None,
        }
    }

    pub(crate) fn next_str(&mut self) -> Option<&'a [u8]> {
        match self.elements.get(self.pos) {
            Some(&Element::Str { start, end }) => {
                self.pos += 1;
                Some(&self.line[start as usize..end as usize])
            }
            _ => None,
        }
    }

    /// `KeyVal`: the next number into `v`, if there is one.
    pub(crate) fn key_val(&mut self, v: &mut i32) -> bool {
        self.next_num().map(|n| *v = n).is_some()
    }

    /// `KeyValWithin`: the next number, clamped to `low..=high`, into `v`.
    pub(crate) fn key_val_within(&mut self, v: &mut i32, low: i32, high: i32) -> bool {
        self.next_num().map(|n| *v = n.max(low).min(high)).is_some()
    }

    /// `KeyBool`: the next number as a flag (non-zero = true).
    pub(crate) fn key_bool(&mut self, v: &mut bool) -> bool {
        self.next_num().map(|n| *v = n != 0).is_some()
    }

    /// `KeyIs`: takes the next element if it is `key`.
    pub(crate) fn key_is(&mut self, key: Keyword) -> bool {
        match self.next_key() {
            Some(k) if k == key => true,
            Some(_) => {
                self.back();
                false
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(line: &[u8]) -> Vec<Token> {
        Scanner::new(line).collect()
    }

    fn numbers(line: &[u8]) -> Vec<i32> {
        tokens(line)
            .into_iter()
            .map(|t| match t {
                Token::Number(n) => n,
                other => panic!("{other:?} is not a number"),
            })
            .collect()
    }

    #[test]
    fn the_reserved_table_is_sorted_and_complete() {
        assert!(RESERVED.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(RESERVED_KEYS.windows(2).all(|w| w[0] < w[1]), "keys keep the order");
        assert_eq!(RESERVED.iter().map(|(w, _)| w.len()).max(), Some(RESERVED_MAX));
        assert_eq!(RESERVED.iter().map(|(w, _)| w.len()).min(), Some(RESERVED_MIN));
        assert!(
            RESERVED.iter().all(|&(word, meaning)| reserved(word) == Some(meaning)),
            "every word found"
        );
        let displays = RESERVED
            .iter()
            .filter(|(_, r)| matches!(r, Reserved::Display(_)))
            .count();
        assert_eq!(displays, 9);
        // Every keyword is spelled once, GRAY twice (GREY).
        for k in 0..=Keyword::Window as u8 {
            let count = RESERVED
                .iter()
                .filter(|(_, r)| matches!(r, Reserved::Key(key) if *key as u8 == k))
                .count();
            assert_eq!(count, if k == Keyword::Gray as u8 { 2 } else { 1 }, "keyword {k}");
        }
        assert_eq!(reserved(b"SCOPE_XY"), Some(Reserved::Display(WindowType::ScopeXy)));
        assert_eq!(reserved(b"GREY"), Some(Reserved::Key(Keyword::Gray)));
        assert_eq!(reserved(b"grey"), None, "lookups take the upper-case form");
    }

    #[test]
    fn numbers_follow_pnut() {
        assert_eq!(numbers(b"$FF %1010 1_000 -5 -$10 -%11"), [255, 10, 1000, -5, -16, -3]);
        assert_eq!(numbers(b"$ffff_ffff 4294967296 4294967297"), [-1, 0, 1], "32-bit wrap");
        assert_eq!(numbers(b"1.5"), [1, 5], "no floats: `.` separates");
        assert_eq!(numbers(b"+7 - 8 -- 9"), [7, 8, 9], "`+` and a lone `-` are separators");
        assert_eq!(
            numbers(b"%%12"),
            [1, 2],
            "no quaternary: `%%` skips one `%`, `%1` then 2"
        );
        let t = tokens(b"$_1 $1_");
        assert!(
            matches!(t[0], Token::Symbol { upper, .. } if upper.as_bytes() == b"_1"),
            "`$_` is no number"
        );
        assert_eq!(t[1], Token::Number(1), "a trailing `_` is allowed");
    }

    #[test]
    fn symbols_strings_and_separators() {
        let line = b"j,'hi there'(3)title 'open";
        let t = tokens(line);
        assert!(matches!(t[0], Token::Symbol { upper, start: 0, end: 1 } if upper.as_bytes() == b"J"));
        assert_eq!(t[1], Token::Str { start: 3, end: 11 });
        assert_eq!(t[2], Token::Number(3));
        assert!(matches!(t[3], Token::Symbol { upper, .. } if upper.as_bytes() == b"TITLE"));
        assert_eq!(t[4], Token::Str { start: 22, end: 26 }, "unterminated: to the end");
        assert_eq!(t.len(), 5);
        // A digit after letters is part of the symbol; letters after digits start one.
        let t = tokens(b"ab12 12ab");
        assert!(matches!(t[0], Token::Symbol { upper, .. } if upper.as_bytes() == b"AB12"));
        assert_eq!(t[1], Token::Number(12));
        assert!(matches!(t[2], Token::Symbol { upper, .. } if upper.as_bytes() == b"AB"));
    }

    #[test]
    fn long_symbols_are_truncated_to_30() {
        let long = [b'a'; 40];
        let t = tokens(&long);
        assert_eq!(t.len(), 1);
        assert!(matches!(t[0], Token::Symbol { upper, start: 0, end: 30 } if upper.as_bytes() == [b'A'; 30]));
    }
}
