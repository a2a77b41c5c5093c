//! The P2 ROM loader (`docs/p2-protocol.md` B.1) as pure pieces: the exact text the host sends, the chip's answer to
//! `Prop_Chk`, the checksum reply, and the ROM side as a state machine ([`RomLoader`]) for the simulator.
//!
//! No port, thread or clock here: the timing of B.1 (250 ms, reset pulse, 17 ms, 200 ms, 15 ms) and the baud
//! switch belong to the I/O edge that drives these pieces.
//!
//! # The checksum behind `?`
//! B.1 says only that `?` makes the P2 reply `.` (good) or `!` (bad). The rule used here is the one the P2
//! silicon documentation gives for `Prop_Txt … ?`: the ROM adds up everything it received as little-endian
//! longs (a final partial long padded with zeros) and replies `.` when the sum is `$706F_7250` ("Prop" in
//! ASCII). A checked [`Download`] therefore pads the image to whole longs and appends one checksum long,
//! `$706F_7250` minus the sum of the image's longs. [`RomLoader`] replies `!` when the sum is wrong, when a
//! character outside base64 (and outside the ignored `>`, `=` and white space) arrives, or when the image grows
//! past the chip's load limit, or when the last character carries bits past the last byte. Any other single
//! changed base64 character changes the sum (it alters at most two adjacent bytes by less than 256 each, which
//! cannot cancel modulo 2^32), so a one-character corruption in flight is always caught.
//!
//! ```
//! use sluicegate_p2::loader::{Chip, Download, Ending, RomLoader, RomOutput, PROP_CHK, parse_chip};
//!
//! let mut rom = RomLoader::new(b'G');
//! rom.handle_bytes(PROP_CHK);
//! let Some(RomOutput::Reply(reply)) = rom.poll_output() else { panic!("the ROM answers") };
//! assert_eq!(parse_chip(&reply), Some(Chip::RevBC));
//!
//! let download = Download::new(b"a tiny program", Chip::RevBC, Ending::Check).unwrap();
//! rom.handle_bytes(download.text());
//! assert!(matches!(rom.poll_output(), Some(RomOutput::Reply(reply)) if reply == b"."));
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// The baud rate of every download (B.1 physical link): always 2,000,000.
pub const LOADER_BAUD: u32 = 2_000_000;

/// Asks the ROM which chip it is (B.1 step 2). `>` is the autobaud character; the command ends with a space.
pub const PROP_CHK: &[u8] = b"> Prop_Chk 0 0 0 0 ";

/// Starts a base64 download to hub RAM (B.1 step 4), again ending with a space.
pub const PROP_TXT: &[u8] = b"> Prop_Txt 0 0 0 0 ";

/// Base64 characters per line; each line is sent as `>` followed by up to this many characters, no CR.
pub const LINE_CHARS: usize = 512;

/// The sum of all longs of a checked download ("Prop", little-endian).
pub const CHECKSUM_TARGET: u32 = 0x706F_7250;

/// The ROM's reply to `?` when the sum is right.
pub const CHECKSUM_GOOD: u8 = b'.';

/// The ROM's reply to `?` when the sum is wrong.
pub const CHECKSUM_BAD: u8 = b'!';

/// Which P2 answered `Prop_Chk` (B.1 step 3), from the letter after `Prop_Ver `.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chip {
    /// `A`: P2X8C4M64P rev A.
    RevA,
    /// `G`: P2X8C4M64P rev B or C.
    RevBC,
    /// `B` or `E`: an FPGA image of the P2.
    Fpga(u8),
    /// Any other letter: a chip sluicegate does not load.
    Unsupported(u8),
}

impl Chip {
    /// The chip a `Prop_Ver` letter names.
    pub fn from_letter(letter: u8) -> Chip {
        match letter {
            b'A' => Chip::RevA,
            b'G' => Chip::RevBC,
            b'B' | b'E' => Chip::Fpga(letter),
            other => Chip::Unsupported(other),
        }
    }

    /// The letter the ROM sends for this chip.
    pub fn letter(self) -> u8 {
        match self {
            Chip::RevA => b'A',
            Chip::RevBC => b'G',
            Chip::Fpga(letter) | Chip::Unsupported(letter) => letter,
        }
    }

    /// The most bytes a download may carry: 1 MiB on silicon, the FPGA image's hub size on an FPGA (`B`
    /// 256 KiB, `E` 512 KiB, as the reference terminal has it), `None` for a chip sluicegate does not load.
    pub fn load_limit(self) -> Option<usize> {
        match self {
            Chip::RevA | Chip::RevBC => Some(0x10_0000),
            Chip::Fpga(b'B') => Some(0x4_0000),
            Chip::Fpga(_) => Some(0x8_0000),
            Chip::Unsupported(_) => None,
        }
    }
}

impl std::fmt::Display for Chip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Chip::RevA => f.write_str("P2X8C4M64P rev A (Prop_Ver A)"),
            Chip::RevBC => f.write_str("P2X8C4M64P rev B/C (Prop_Ver G)"),
            Chip::Fpga(letter) => write!(f, "P2 FPGA image (Prop_Ver {})", char::from(*letter)),
            Chip::Unsupported(letter) => write!(f, "unsupported chip (Prop_Ver {})", letter.escape_ascii()),
        }
    }
}

/// Finds the chip in what arrived after `Prop_Chk` (B.1 step 3): the text is split on `\r?\n`, and the first
/// line starting `Prop_Ver ` followed by a character gives it. Noise before or after is ignored.
///
/// # Examples
/// ```
/// use sluicegate_p2::loader::{Chip, parse_chip};
/// assert_eq!(parse_chip(b"\x00junk\r\nProp_Ver G\r\n"), Some(Chip::RevBC));
/// assert_eq!(parse_chip(b"Prop_Ver "), None);
/// ```
pub fn parse_chip(received: &[u8]) -> Option<Chip> {
    received.split(|&byte| byte == b'\n').find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let rest = line.strip_prefix(b"Prop_Ver ")?;
        rest.first().copied().map(Chip::from_letter)
    })
}

/// How a download ends (B.1 step 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `?`: the ROM checks the sum and replies `.` or `!`, then runs the image if it was good.
    Check,
    /// `~`: the ROM runs the image at once and replies nothing.
    Run,
}

/// Why an image cannot be downloaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// Nothing to send.
    #[error("the image is empty")]
    Empty,
    /// The image (with its checksum long, when checked) is over the chip's load limit.
    #[error("the image is {len} bytes, over the {limit}-byte load limit of the {chip}")]
    TooLarge {
        /// Bytes that would be sent.
        len: usize,
        /// The chip's limit.
        limit: usize,
        /// The chip.
        chip: Chip,
    },
    /// The chip is not one sluicegate loads.
    #[error("cannot load the {chip}")]
    Unsupported {
        /// The chip.
        chip: Chip,
    },
}

/// The complete host text of one download: [`PROP_TXT`], the base64 lines, the ending character.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    text: Vec<u8>,
    /// Where each piece (header, each line, ending) ends in `text`.
    piece_ends: Vec<usize>,
    sent_len: usize,
}

impl Download {
    /// Builds the text for `image` on `chip`. With [`Ending::Check`] the image is padded with zeros to whole
    /// longs and a checksum long is appended (see the module docs); with [`Ending::Run`] it is sent as it is.
    /// Base64 is sent without `=` padding, as the reference terminal does.
    ///
    /// # Errors
    /// [`DownloadError`] for an empty image, an unsupported chip, or an image over the chip's limit; nothing
    /// has been sent then.
    pub fn new(image: &[u8], chip: Chip, ending: Ending) -> Result<Download, DownloadError> {
        if image.is_empty() {
            return Err(DownloadError::Empty);
        }
        let limit = chip.load_limit().ok_or(DownloadError::Unsupported { chip })?;
        let sent: std::borrow::Cow<'_, [u8]> = match ending {
            Ending::Run => image.into(),
            Ending::Check => with_checksum(image).into(),
        };
        if sent.len() > limit {
            return Err(DownloadError::TooLarge {
                len: sent.len(),
                limit,
                chip,
            });
        }
        let encoded = STANDARD_NO_PAD.encode(&sent);
        let mut text = Vec::with_capacity(PROP_TXT.len() + encoded.len() + encoded.len() / LINE_CHARS + 2);
        let mut piece_ends = Vec::with_capacity(encoded.len() / LINE_CHARS + 3);
        text.extend_from_slice(PROP_TXT);
        piece_ends.push(text.len());
        for line in encoded.as_bytes().chunks(LINE_CHARS) {
            text.push(b'>');
            text.extend_from_slice(line);
            piece_ends.push(text.len());
        }
        text.push(match ending {
            Ending::Check => b'?',
            Ending::Run => b'~',
        });
        piece_ends.push(text.len());
        Ok(Download {
            text,
            piece_ends,
            sent_len: sent.len(),
        })
    }

    /// Every byte to write, in order.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// The text in pieces (the header, each `>` line, the ending), for writing with progress.
    pub fn pieces(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.piece_ends.iter().copied());
        starts
            .zip(self.piece_ends.iter().copied())
            .map(|(start, end)| &self.text[start..end])
    }

    /// Bytes of hub RAM the download fills (the image, plus padding and checksum when checked).
    pub fn image_len(&self) -> usize {
        self.sent_len
    }
}

/// `image` padded with zeros to whole longs, with the long that makes the sum [`CHECKSUM_TARGET`] appended.
pub fn with_checksum(image: &[u8]) -> Vec<u8> {
    let mut padded = image.to_vec();
    padded.resize(image.len().next_multiple_of(4), 0);
    let sum = LongSum::of(&padded);
    padded.extend_from_slice(&CHECKSUM_TARGET.wrapping_sub(sum).to_le_bytes());
    padded
}

/// The running sum of little-endian longs over a byte stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct LongSum {
    sum: u32,
    len: usize,
}

impl LongSum {
    fn of(bytes: &[u8]) -> u32 {
        let mut sum = LongSum::default();
        bytes.iter().for_each(|&byte| sum.push(byte));
        sum.sum
    }

    fn push(&mut self, byte: u8) {
        let shift = 8 * (self.len % 4);
        self.sum = self.sum.wrapping_add(u32::from(byte) << shift);
        self.len += 1;
    }
}

/// What the checksum character says (B.1 step 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `.`
    Good,
    /// `!`
    Bad,
}

impl Verdict {
    /// The verdict a received byte gives, if it is a checksum character.
    pub fn from_byte(byte: u8) -> Option<Verdict> {
        match byte {
            CHECKSUM_GOOD => Some(Verdict::Good),
            CHECKSUM_BAD => Some(Verdict::Bad),
            _ => None,
        }
    }
}

/// What the simulated ROM wants done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RomOutput {
    /// Send these bytes to the host.
    Reply(Vec<u8>),
    /// A download ended and the image runs now.
    Run(Loaded),
    /// A checked download failed (`!` was replied before this); the ROM waits for a new command.
    Rejected(Loaded),
}

/// A finished download, as the ROM saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The decoded bytes, as written to hub RAM.
    pub image: Vec<u8>,
    /// The sum of its longs.
    pub sum: u32,
    /// How it ended.
    pub ending: Ending,
    /// Why it is bad, if it is.
    pub fault: Option<LoadFault>,
}

/// Why the ROM rejected a download.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadFault {
    /// A byte that is neither base64 nor ignored arrived at this offset of the data.
    #[error("byte {byte:#04x} at data offset {offset} is not base64")]
    NotBase64 {
        /// The byte.
        byte: u8,
        /// Its offset after the `Prop_Txt` header.
        offset: usize,
    },
    /// The decoded image passed the chip's load limit.
    #[error("the image passed the {limit}-byte load limit")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The last character carried bits past the last byte (a canonical encoder leaves them zero).
    #[error("the last base64 character carries stray bits")]
    StrayBits,
    /// The sum of the longs is not `$706F_7250`.
    #[error("checksum {sum:#010x}, expected {CHECKSUM_TARGET:#010x}")]
    Checksum {
        /// The sum received.
        sum: u32,
    },
}

#[derive(Debug)]
enum RomState {
    /// Collecting a command, token by token.
    Command { tokens: Vec<Vec<u8>>, token: Vec<u8> },
    /// Decoding `Prop_Txt` data.
    Data(DataDecoder),
    /// The image runs; the ROM no longer listens.
    Running,
}

#[derive(Debug, Default)]
struct DataDecoder {
    image: Vec<u8>,
    sum: LongSum,
    bits: u32,
    bit_count: u32,
    offset: usize,
    fault: Option<LoadFault>,
}

impl DataDecoder {
    fn handle_char(&mut self, byte: u8, limit: usize) {
        let offset = self.offset;
        self.offset += 1;
        if self.fault.is_some() {
            return;
        }
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'>' | b'=' | b' ' | b'\t' | b'\r' | b'\n' => return,
            _ => {
                self.fault = Some(LoadFault::NotBase64 { byte, offset });
                return;
            }
        };
        self.bits = (self.bits << 6) | u32::from(value);
        self.bit_count += 6;
        if self.bit_count >= 8 {
            self.bit_count -= 8;
            let decoded = (self.bits >> self.bit_count) as u8;
            self.bits &= (1 << self.bit_count) - 1;
            if self.image.len() == limit {
                self.fault = Some(LoadFault::TooLarge { limit });
                return;
            }
            self.image.push(decoded);
            self.sum.push(decoded);
        }
    }

    fn finish(self, ending: Ending) -> Loaded {
        let stray = (self.bits != 0).then_some(LoadFault::StrayBits);
        let fault = self.fault.or(stray).or(match ending {
            Ending::Check if self.sum.sum != CHECKSUM_TARGET => Some(LoadFault::Checksum { sum: self.sum.sum }),
            _ => None,
        });
        Loaded {
            image: self.image,
            sum: self.sum.sum,
            ending,
            fault,
        }
    }
}

/// The P2 boot ROM's serial loader, as far as B.1 uses it: feed it what the host sent with
/// [`handle_bytes`](Self::handle_bytes), take replies and events with [`poll_output`](Self::poll_output).
///
/// Commands are white-space separated tokens; `>` counts as white space (it is the autobaud character).
/// `Prop_Chk 0 0 0 0` is answered with `\r\nProp_Ver X\r\n`; `Prop_Txt 0 0 0 0` starts base64 data, ended by
/// `?` (reply `.` and run, or `!` and wait again) or `~` (run, no reply; a faulty image is rejected silently).
/// Any other command is ignored, as a chip that does not match a command stays silent.
#[derive(Debug)]
pub struct RomLoader {
    letter: u8,
    limit: usize,
    state: RomState,
    outputs: std::collections::VecDeque<RomOutput>,
}

impl RomLoader {
    /// A ROM that answers `Prop_Ver` with `letter`.
    pub fn new(letter: u8) -> RomLoader {
        RomLoader {
            letter,
            limit: Chip::from_letter(letter).load_limit().unwrap_or(0x10_0000),
            state: RomState::Command {
                tokens: Vec::new(),
                token: Vec::new(),
            },
            outputs: std::collections::VecDeque::new(),
        }
    }

    /// Whether a download has started the program (the ROM then ignores input).
    pub fn is_running(&self) -> bool {
        matches!(self.state, RomState::Running)
    }

    /// Feeds bytes from the host.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.handle_byte(byte);
        }
    }

    /// The next reply or event, if any.
    pub fn poll_output(&mut self) -> Option<RomOutput> {
        self.outputs.pop_front()
    }

    fn handle_byte(&mut self, byte: u8) {
        match &mut self.state {
            RomState::Running => {}
            RomState::Data(decoder) => {
                let ending = match byte {
                    b'?' => Ending::Check,
                    b'~' => Ending::Run,
                    _ => return decoder.handle_char(byte, self.limit),
                };
                let loaded = std::mem::take(decoder).finish(ending);
                match (ending, loaded.fault.is_none()) {
                    (Ending::Check, true) => self.outputs.push_back(RomOutput::Reply(vec![CHECKSUM_GOOD])),
                    (Ending::Check, false) => self.outputs.push_back(RomOutput::Reply(vec![CHECKSUM_BAD])),
                    (Ending::Run, _) => {}
                }
                if loaded.fault.is_none() {
                    self.state = RomState::Running;
                    self.outputs.push_back(RomOutput::Run(loaded));
                } else {
                    self.state = RomState::Command {
                        tokens: Vec::new(),
                        token: Vec::new(),
                    };
                    self.outputs.push_back(RomOutput::Rejected(loaded));
                }
            }
            RomState::Command { tokens, token } => {
                if !matches!(byte, b'>' | b' ' | b'\t' | b'\r' | b'\n') {
                    // A runaway token is noise, not a command: keep it short.
                    if token.len() < 16 {
                        token.push(byte);
                    }
                    return;
                }
                if token.is_empty() {
                    return;
                }
                tokens.push(std::mem::take(token));
                let command = tokens[0].as_slice();
                if command != b"Prop_Chk" && command != b"Prop_Txt" {
                    tokens.clear();
                    return;
                }
                if tokens.len() < 5 {
                    return;
                }
                let matches_any_chip = tokens[1..].iter().all(|field| field == b"0");
                let is_check = tokens[0] == b"Prop_Chk";
                tokens.clear();
                if !matches_any_chip {
                    return;
                }
                if is_check {
                    let mut reply = b"\r\nProp_Ver ".to_vec();
                    reply.push(self.letter);
                    reply.extend_from_slice(b"\r\n");
                    self.outputs.push_back(RomOutput::Reply(reply));
                } else {
                    self.state = RomState::Data(DataDecoder::default());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn image(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    fn drain(rom: &mut RomLoader) -> Vec<RomOutput> {
        std::iter::from_fn(|| rom.poll_output()).collect()
    }

    #[test]
    fn commands_are_byte_exact_with_a_trailing_space_and_no_cr() {
        assert_eq!(PROP_CHK, b"> Prop_Chk 0 0 0 0 ");
        assert_eq!(PROP_TXT, b"> Prop_Txt 0 0 0 0 ");
    }

    #[test]
    fn download_text_is_header_then_512_character_lines_then_the_ending() {
        // 1000 bytes with the checksum long: 1004 bytes, 1339 base64 characters (no padding).
        let download = Download::new(&image(1000), Chip::RevBC, Ending::Check).unwrap();
        assert_eq!(download.image_len(), 1004);
        let pieces: Vec<&[u8]> = download.pieces().collect();
        assert_eq!(pieces[0], PROP_TXT);
        assert_eq!(pieces.len(), 1 + 3 + 1);
        for line in &pieces[1..3] {
            assert_eq!(line.len(), 1 + LINE_CHARS);
            assert_eq!(line[0], b'>');
        }
        assert_eq!(pieces[3].len(), 1 + 1339 - 2 * LINE_CHARS);
        assert_eq!(pieces[4], b"?");
        assert_eq!(pieces.concat(), download.text());
        let text = download.text();
        assert!(!text.contains(&b'\r') && !text.contains(&b'\n') && !text.contains(&b'='));
        let base64: Vec<u8> = pieces[1..4].iter().flat_map(|line| line[1..].to_vec()).collect();
        assert_eq!(STANDARD_NO_PAD.decode(base64).unwrap(), with_checksum(&image(1000)));
    }

    #[test]
    fn exact_text_of_a_small_unchecked_download() {
        let download = Download::new(b"\x01\x02\x03\x04", Chip::RevA, Ending::Run).unwrap();
        assert_eq!(download.text(), b"> Prop_Txt 0 0 0 0 >AQIDBA~");
    }

    #[test]
    fn checksum_long_makes_the_sum_prop() {
        let checked = with_checksum(&image(13));
        assert_eq!(checked.len(), 20);
        assert_eq!(&checked[13..16], [0, 0, 0]);
        assert_eq!(LongSum::of(&checked), CHECKSUM_TARGET);
    }

    #[test]
    fn size_limits_per_chip_are_checked_before_anything_is_built() {
        assert!(Download::new(&image(0x10_0000), Chip::RevBC, Ending::Run).is_ok());
        assert_eq!(
            Download::new(&image(0x10_0000), Chip::RevBC, Ending::Check),
            Err(DownloadError::TooLarge {
                len: 0x10_0004,
                limit: 0x10_0000,
                chip: Chip::RevBC
            })
        );
        assert!(matches!(
            Download::new(&image(0x4_0001), Chip::Fpga(b'B'), Ending::Run),
            Err(DownloadError::TooLarge { limit: 0x4_0000, .. })
        ));
        assert_eq!(
            Download::new(b"x", Chip::Unsupported(b'Z'), Ending::Run),
            Err(DownloadError::Unsupported {
                chip: Chip::Unsupported(b'Z')
            })
        );
        assert_eq!(Download::new(b"", Chip::RevA, Ending::Run), Err(DownloadError::Empty));
    }

    #[test]
    fn chip_letters() {
        assert_eq!(parse_chip(b"\r\nProp_Ver A\r\n"), Some(Chip::RevA));
        assert_eq!(parse_chip(b"Prop_Ver G\n"), Some(Chip::RevBC));
        assert_eq!(
            parse_chip(b"noise\rProp_Ver B\r\n"),
            None,
            "a lone CR does not split lines"
        );
        assert_eq!(parse_chip(b"x\nProp_Ver E"), Some(Chip::Fpga(b'E')));
        assert_eq!(parse_chip(b"\nProp_Ver Q\r\n"), Some(Chip::Unsupported(b'Q')));
        assert_eq!(parse_chip(b"Prop_Ver\r\n"), None);
        assert_eq!(parse_chip(b""), None);
        assert_eq!(Chip::Unsupported(b'Q').load_limit(), None);
    }

    #[test]
    fn rom_answers_prop_chk_however_it_is_split_and_ignores_other_commands() {
        let mut rom = RomLoader::new(b'G');
        rom.handle_bytes(b"> Prop_Hex 0 0 0 0 > Prop_Chk 1 1 0 0 ");
        assert!(drain(&mut rom).is_empty());
        for &byte in PROP_CHK {
            rom.handle_bytes(&[byte]);
        }
        assert_eq!(drain(&mut rom), [RomOutput::Reply(b"\r\nProp_Ver G\r\n".to_vec())]);
    }

    #[test]
    fn rom_accepts_a_checked_download_and_runs_it() {
        let mut rom = RomLoader::new(b'A');
        let download = Download::new(&image(3000), Chip::RevA, Ending::Check).unwrap();
        rom.handle_bytes(download.text());
        let outputs = drain(&mut rom);
        assert_eq!(outputs[0], RomOutput::Reply(vec![CHECKSUM_GOOD]));
        let RomOutput::Run(loaded) = &outputs[1] else {
            panic!("{outputs:?}")
        };
        assert_eq!(loaded.image, with_checksum(&image(3000)));
        assert!(rom.is_running());
        rom.handle_bytes(PROP_CHK);
        assert!(drain(&mut rom).is_empty(), "a running program ignores the loader");
    }

    #[test]
    fn rom_runs_an_unchecked_download_without_a_reply() {
        let mut rom = RomLoader::new(b'G');
        rom.handle_bytes(Download::new(&image(10), Chip::RevBC, Ending::Run).unwrap().text());
        let outputs = drain(&mut rom);
        assert!(matches!(&outputs[..], [RomOutput::Run(loaded)] if loaded.image == image(10)));
    }

    #[test]
    fn rom_rejects_a_bad_character_and_waits_for_a_new_command() {
        let mut rom = RomLoader::new(b'G');
        rom.handle_bytes(b"> Prop_Txt 0 0 0 0 >AQ*DBA?");
        let outputs = drain(&mut rom);
        assert_eq!(outputs[0], RomOutput::Reply(vec![CHECKSUM_BAD]));
        assert!(matches!(
            &outputs[1],
            RomOutput::Rejected(Loaded {
                fault: Some(LoadFault::NotBase64 { byte: b'*', offset: 3 }),
                ..
            })
        ));
        rom.handle_bytes(PROP_CHK);
        assert_eq!(drain(&mut rom).len(), 1, "back to commands");
    }

    #[test]
    fn rom_enforces_its_load_limit() {
        let mut rom = RomLoader::new(b'B');
        rom.handle_bytes(Download::new(&image(0x4_0000), Chip::RevA, Ending::Run).unwrap().text());
        let outputs = drain(&mut rom);
        assert!(matches!(&outputs[0], RomOutput::Run(_)), "exactly the limit loads");
        let mut rom = RomLoader::new(b'B');
        rom.handle_bytes(Download::new(&image(0x4_0001), Chip::RevA, Ending::Run).unwrap().text());
        assert!(matches!(
            &drain(&mut rom)[..],
            [RomOutput::Rejected(Loaded {
                fault: Some(LoadFault::TooLarge { limit: 0x4_0000 }),
                ..
            })]
        ));
    }

    proptest! {
        #[test]
        fn any_single_changed_base64_character_gives_a_bad_checksum(
            len in 1usize..600,
            at in any::<prop::sample::Index>(),
            step in 1u8..64,
        ) {
            let download = Download::new(&image(len), Chip::RevBC, Ending::Check).unwrap();
            let mut text = download.text().to_vec();
            let data: Vec<usize> = (PROP_TXT.len()..text.len() - 1).filter(|&i| text[i] != b'>').collect();
            let i = data[at.index(data.len())];
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let index = ALPHABET.iter().position(|&c| c == text[i]).unwrap();
            text[i] = ALPHABET[(index + usize::from(step)) % 64];
            let mut rom = RomLoader::new(b'G');
            rom.handle_bytes(&text);
            prop_assert_eq!(rom.poll_output(), Some(RomOutput::Reply(vec![CHECKSUM_BAD])));
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_rom_or_the_chip_parser(
            prefix in prop::sample::select(vec![&b""[..], PROP_CHK, PROP_TXT]),
            bytes in prop::collection::vec(any::<u8>(), 0..2000),
        ) {
            let _ = parse_chip(&bytes);
            let mut rom = RomLoader::new(b'G');
            rom.handle_bytes(prefix);
            rom.handle_bytes(&bytes);
            while rom.poll_output().is_some() {}
        }

        #[test]
        fn any_split_of_a_download_gives_the_same_image(len in 1usize..2000, cut in any::<prop::sample::Index>()) {
            let download = Download::new(&image(len), Chip::RevBC, Ending::Check).unwrap();
            let text = download.text();
            let cut = cut.index(text.len());
            let mut rom = RomLoader::new(b'G');
            rom.handle_bytes(&text[..cut]);
            rom.handle_bytes(&text[cut..]);
            prop_assert_eq!(rom.poll_output(), Some(RomOutput::Reply(vec![CHECKSUM_GOOD])));
            let Some(RomOutput::Run(loaded)) = rom.poll_output() else { panic!("runs") };
            prop_assert_eq!(loaded.image, with_checksum(&image(len)));
        }
    }
}
