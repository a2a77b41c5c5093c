//! Names for per-window files (`--windows DIR` in the CLI): one file per window declaration, so that every
//! front end that saves windows names them alike.
//!
//! A file is named after its window, lower-cased (names are case-insensitive, `docs/p2-protocol.md` B.3), with
//! ASCII letters, digits, `_` and `-` kept and every other byte written `%XX` ([`file_stem`]): `a.b` is
//! `a%2Eb.txt` and `a_b` is `a_b.txt`, so two windows never share a file and the name reads back. A name
//! declared again in the same session (the program does so after a reboot) gets the next file, `t.2.txt`,
//! `t.3.txt`, … ([`WindowFileNames`]), rather than truncating `t.txt`: that keeps what the earlier declaration
//! received, and an escaped name never holds a `.`, so the suffix cannot clash with another window's name.
//!
//! # Examples
//! ```
//! use sluicegate_p2::window_files::WindowFileNames;
//!
//! let mut names = WindowFileNames::new();
//! assert_eq!(names.next(b"Scope.1"), "scope%2E1.txt");
//! assert_eq!(names.next(b"SCOPE.1"), "scope%2E1.2.txt");
//! assert_eq!(names.next(b"my term"), "my%20term.txt");
//! ```

use std::collections::HashMap;

/// A window name as a file stem: lower-cased, ASCII letters, digits, `_` and `-` as they are, any other byte
/// as `%XX` (upper-case hex), so distinct names give distinct stems and the name can be read back.
pub fn file_stem(name: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut stem = String::with_capacity(name.len());
    for byte in name.to_ascii_lowercase() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            stem.push(char::from(byte));
        } else {
            stem.push('%');
            stem.push(char::from(HEX[usize::from(byte >> 4)]));
            stem.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
    stem
}

/// The file names of one session's window declarations: `STEM.txt` for a name's first declaration,
/// `STEM.N.txt` for its Nth (names compared ASCII case-insensitively).
#[derive(Clone, Debug, Default)]
pub struct WindowFileNames {
    /// How many files each lower-cased name has had.
    declarations: HashMap<Vec<u8>, u32>,
}

impl WindowFileNames {
    /// No name declared yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The file name for a declaration of `name`.
    pub fn next(&mut self, name: &[u8]) -> String {
        let count = self.declarations.entry(name.to_ascii_lowercase()).or_insert(0);
        *count += 1;
        let stem = file_stem(name);
        match *count {
            1 => format!("{stem}.txt"),
            n => format!("{stem}.{n}.txt"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_escape_every_byte_but_letters_digits_underscore_and_dash() {
        assert_eq!(file_stem(b"MyTerm_2-b"), "myterm_2-b");
        assert_eq!(file_stem(b"a.b/c\xff"), "a%2Eb%2Fc%FF");
        assert_ne!(file_stem(b"a.b"), file_stem(b"a_b"));
    }

    #[test]
    fn a_redeclared_name_in_any_case_gets_the_next_number_and_others_are_untouched() {
        let mut names = WindowFileNames::new();
        assert_eq!(names.next(b"T"), "t.txt");
        assert_eq!(names.next(b"u"), "u.txt");
        assert_eq!(names.next(b"t"), "t.2.txt");
        assert_eq!(names.next(b"T"), "t.3.txt");
        assert_eq!(names.next(b"u"), "u.2.txt");
    }
}
