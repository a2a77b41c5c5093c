//! What the deframer hands out: [`Message`]s and [`Discard`]s, with their [`MessageKind`] and [`Flags`].

use std::fmt;
use std::ops::BitOr;
use std::time::Instant;

use sluicegate_core::PoolBytes;

/// A cog number, 0–7: the P2 has eight cogs. Validated once, so the kinds built from it are always valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CogId(u8);

impl CogId {
    /// `Some` for 0–7.
    pub const fn new(n: u8) -> Option<Self> {
        if n < 8 { Some(Self(n)) } else { None }
    }

    /// The cog number, 0–7.
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// The kind of a message, numbered by its one-byte [`code`](Self::code) as the seed design numbers it
/// (`docs/p2-protocol.md` A.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Code 0: a `[0xDB][len]` packet (A.2.2).
    DbPacket,
    /// Codes 1–8: a text line starting `CogN` and a space.
    Cog(CogId),
    /// Codes 9–16: a 416-byte debugger packet (A.2.1) from this cog.
    Debugger(CogId),
    /// Code 17: a text line starting with a backtick: a window declaration or update.
    BacktickWindow,
    /// Code 18: any other text, PST control codes included.
    TerminalOutput,
    /// Code 19: a text line starting `Cog8` or `Cog9`.
    InvalidCog,
}

impl MessageKind {
    /// How many codes there are (0–19).
    pub const COUNT: usize = 20;

    /// The one-byte code: DB_PACKET=0, COG0–7=1–8, DEBUGGER0–7=9–16, BACKTICK_WINDOW=17,
    /// TERMINAL_OUTPUT=18, INVALID_COG=19.
    pub const fn code(self) -> u8 {
        match self {
            MessageKind::DbPacket => 0,
            MessageKind::Cog(cog) => 1 + cog.0,
            MessageKind::Debugger(cog) => 9 + cog.0,
            MessageKind::BacktickWindow => 17,
            MessageKind::TerminalOutput => 18,
            MessageKind::InvalidCog => 19,
        }
    }

    /// The kind with this code, if it is one (0–19).
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => MessageKind::DbPacket,
            1..=8 => MessageKind::Cog(CogId(code - 1)),
            9..=16 => MessageKind::Debugger(CogId(code - 9)),
            17 => MessageKind::BacktickWindow,
            18 => MessageKind::TerminalOutput,
            19 => MessageKind::InvalidCog,
            _ => return None,
        })
    }

    /// Every kind, in code order.
    pub fn all() -> impl Iterator<Item = MessageKind> {
        (0..Self::COUNT as u8).filter_map(Self::from_code)
    }

    /// The snake_case name used in JSON counters and logs: `db_packet`, `cog0`…`cog7`, `debugger0`…`debugger7`,
    /// `backtick_window`, `terminal_output`, `invalid_cog`.
    pub const fn name(self) -> &'static str {
        const COGS: [&str; 8] = ["cog0", "cog1", "cog2", "cog3", "cog4", "cog5", "cog6", "cog7"];
        const DEBUGGERS: [&str; 8] = [
            "debugger0",
            "debugger1",
            "debugger2",
            "debugger3",
            "debugger4",
            "debugger5",
            "debugger6",
            "debugger7",
        ];
        match self {
            MessageKind::DbPacket => "db_packet",
            MessageKind::Cog(cog) => COGS[cog.0 as usize],
            MessageKind::Debugger(cog) => DEBUGGERS[cog.0 as usize],
            MessageKind::BacktickWindow => "backtick_window",
            MessageKind::TerminalOutput => "terminal_output",
            MessageKind::InvalidCog => "invalid_cog",
        }
    }
}

/// A set of message kinds, one bit per code; what a destination subscribes to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindSet(u32);

impl KindSet {
    /// No kind.
    pub const EMPTY: KindSet = KindSet(0);
    /// Every kind (the debug log, JSON output; `docs/p2-protocol.md` A.4).
    pub const ALL: KindSet = KindSet((1 << MessageKind::COUNT) - 1);
    /// COG0–COG7 lines (per-cog sinks).
    pub const COGS: KindSet = KindSet(0xFF << 1);
    /// DEBUGGER0–7 packets and DB packets (the debugger sink). A.4: DB packets never reach the terminal as text.
    pub const DEBUGGER: KindSet = KindSet((0xFF << 9) | 1);
    /// What the terminal shows: TERMINAL_OUTPUT, INVALID_COG and COG lines (A.4).
    pub const TERMINAL: KindSet = KindSet(Self::COGS.0 | (1 << 18) | (1 << 19));

    /// The set holding only `kind`.
    pub const fn only(kind: MessageKind) -> KindSet {
        KindSet(1 << kind.code())
    }

    /// Whether `kind` is in the set.
    pub const fn contains(self, kind: MessageKind) -> bool {
        self.0 & (1 << kind.code()) != 0
    }

    /// The union of two sets.
    pub const fn with(self, other: KindSet) -> KindSet {
        KindSet(self.0 | other.0)
    }
}

impl BitOr for KindSet {
    type Output = KindSet;
    fn bitor(self, other: KindSet) -> KindSet {
        self.with(other)
    }
}

/// What the deframer and classifier noticed about a message, beyond its kind.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    /// Nothing special.
    pub const NONE: Flags = Flags(0);
    /// A.2.3: no end of line within the maximum line length; these are the first bytes, the rest follows.
    pub const OVERLONG: Flags = Flags(1);
    /// A.2.3: text without an end of line, emitted because the input went idle.
    pub const PARTIAL: Flags = Flags(1 << 1);
    /// A.5: text cut short by a gap in the input (bytes were lost after it).
    pub const RESYNC: Flags = Flags(1 << 2);
    /// A.3: the golden sync line `CogN  INIT $0000_0000 $0000_0000 load` (the P2 rebooted).
    pub const GOLDEN_SYNC: Flags = Flags(1 << 3);
    /// The message spanned input chunks and was assembled (copied once) into a buffer of its own.
    pub const ASSEMBLED: Flags = Flags(1 << 4);

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets of flags.
    pub const fn with(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// These flags less those of `other` (e.g. without [`ASSEMBLED`](Self::ASSEMBLED), the one flag that
    /// depends on how the input was chunked).
    pub const fn without(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, other: Flags) -> Flags {
        self.with(other)
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 5] = ["OVERLONG", "PARTIAL", "RESYNC", "GOLDEN_SYNC", "ASSEMBLED"];
        let mut set = f.debug_set();
        for (bit, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << bit) != 0 {
                set.entry(&format_args!("{name}"));
            }
        }
        set.finish()
    }
}

/// One framed, classified message.
///
/// `bytes` is a slice of the pooled buffer the bytes arrived in (or, for a message that spanned chunks, of the
/// one buffer it was assembled into): cloning it to hand it on costs a reference count, not a copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The message exactly as received, end of line included.
    pub bytes: PoolBytes,
    /// Its kind (A.3).
    pub kind: MessageKind,
    /// Framing and classification notes.
    pub flags: Flags,
    /// When the chunk holding its first byte arrived.
    pub arrival: Instant,
    /// 0 for the first message a deframer emits, then 1, 2, … (discards are not numbered).
    pub sequence: u64,
}

/// Why bytes were discarded rather than framed; each reason has its own counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DiscardReason {
    /// A.2.0: zero bytes right after a debugger packet.
    Padding,
    /// A.5: after a gap, the bytes up to and including the next end of line (the rest of a line whose start
    /// was lost).
    Resync,
    /// A.5: the start of a debugger or 0xDB packet whose remainder was lost in a gap.
    Truncated,
}

/// Bytes given to the deframer that belong to no message; counted and handed out so that messages and discards
/// together give back the input exactly (A.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discard {
    /// The discarded bytes (a slice of the input buffer).
    pub bytes: PoolBytes,
    /// Why.
    pub reason: DiscardReason,
}

/// What [`Deframer::poll_output`](crate::Deframer::poll_output) yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// A framed, classified message.
    Message(Message),
    /// Counted bytes that belong to no message.
    Discard(Discard),
}

impl Output {
    /// The bytes this output accounts for.
    pub fn bytes(&self) -> &PoolBytes {
        match self {
            Output::Message(message) => &message.bytes,
            Output::Discard(discard) => &discard.bytes,
        }
    }

    /// The message, if this is one.
    pub fn message(&self) -> Option<&Message> {
        match self {
            Output::Message(message) => Some(message),
            Output::Discard(_) => None,
        }
    }
}

/// A [`Message`] borrowed from the buffer it lies in: what [`Deframer::poll_ref`](crate::Deframer::poll_ref)
/// yields and what [`Destination`](crate::Destination)s receive.
///
/// Looking at the bytes costs nothing; [`to_pool_bytes`](Self::to_pool_bytes) makes the owned, zero-copy handle
/// (one reference count) for a destination that keeps the message. An owned handle per message (a slice and
/// its drop, two atomic read-modify-writes, which also drain the store buffer) was about a quarter of the
/// deframer's time in `perf`; without it HSV16 deframe went from 45 to 76 M messages/s (criterion bench `p2`,
/// CPU time), for destinations that mostly only look.
///
/// # Examples
/// ```
/// use std::time::Instant;
/// use sluicegate_p2::{Config, Deframer, OutputRef};
///
/// let mut deframer = Deframer::new(Config::default()).unwrap();
/// deframer.handle_bytes(b"Cog0  hi\r\n", Instant::now());
/// let Some(OutputRef::Message(message)) = deframer.poll_ref() else { panic!() };
/// assert_eq!(message.bytes(), b"Cog0  hi\r\n");
/// let kept = message.to_pool_bytes(); // shares the chunk's buffer
/// assert_eq!(kept.as_ptr(), message.bytes().as_ptr());
/// ```
#[derive(Clone, Copy)]
pub struct MessageRef<'a> {
    /// Private with `buffer`, so that `to_pool_bytes` always slices the bytes shown.
    bytes: &'a [u8],
    buffer: &'a PoolBytes,
    /// Its kind (A.3).
    pub kind: MessageKind,
    /// Framing and classification notes.
    pub flags: Flags,
    /// When the chunk holding its first byte arrived.
    pub arrival: Instant,
    /// 0 for the first message a deframer emits, then 1, 2, … (discards are not numbered).
    pub sequence: u64,
}

/// Where `part` (a subslice of `buffer`) starts in it.
fn offset_in(buffer: &PoolBytes, part: &[u8]) -> usize {
    part.as_ptr().addr() - buffer.as_ptr().addr()
}

impl<'a> MessageRef<'a> {
    /// `len` bytes of `buffer` from `start`.
    pub(crate) fn new(
        buffer: &'a PoolBytes,
        start: usize,
        len: usize,
        kind: MessageKind,
        flags: Flags,
        arrival: Instant,
        sequence: u64,
    ) -> Self {
        Self {
            bytes: &buffer[start..start + len],
            buffer,
            kind,
            flags,
            arrival,
            sequence,
        }
    }

    /// The message exactly as received, end of line included.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The bytes as an owned handle on the same buffer (one reference count, no copy).
    pub fn to_pool_bytes(&self) -> PoolBytes {
        self.slice(0..self.bytes.len())
    }

    /// Part of the bytes (`range` within [`bytes`](Self::bytes)) as an owned handle on the same buffer.
    ///
    /// # Panics
    /// If `range` is out of bounds, like slicing [`bytes`](Self::bytes).
    pub fn slice(&self, range: std::ops::Range<usize>) -> PoolBytes {
        assert!(
            range.start <= range.end && range.end <= self.bytes.len(),
            "slice out of the message"
        );
        let start = offset_in(self.buffer, self.bytes);
        self.buffer.slice(start + range.start..start + range.end)
    }

    /// The owned message (one reference count, no copy).
    pub fn to_message(&self) -> Message {
        Message {
            bytes: self.to_pool_bytes(),
            kind: self.kind,
            flags: self.flags,
            arrival: self.arrival,
            sequence: self.sequence,
        }
    }
}

impl<'a> From<&'a Message> for MessageRef<'a> {
    fn from(message: &'a Message) -> Self {
        Self {
            bytes: &message.bytes,
            buffer: &message.bytes,
            kind: message.kind,
            flags: message.flags,
            arrival: message.arrival,
            sequence: message.sequence,
        }
    }
}

impl fmt::Debug for MessageRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageRef")
            .field("bytes", &self.bytes.escape_ascii().to_string())
            .field("kind", &self.kind)
            .field("flags", &self.flags)
            .field("arrival", &self.arrival)
            .field("sequence", &self.sequence)
            .finish()
    }
}

/// A [`Discard`] borrowed from the buffer it lies in.
#[derive(Clone, Copy)]
pub struct DiscardRef<'a> {
    bytes: &'a [u8],
    buffer: &'a PoolBytes,
    /// Why.
    pub reason: DiscardReason,
}

impl<'a> DiscardRef<'a> {
    pub(crate) fn new(buffer: &'a PoolBytes, start: usize, len: usize, reason: DiscardReason) -> Self {
        Self {
            bytes: &buffer[start..start + len],
            buffer,
            reason,
        }
    }

    /// The discarded bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The owned discard (one reference count, no copy).
    pub fn to_discard(&self) -> Discard {
        let start = offset_in(self.buffer, self.bytes);
        Discard {
            bytes: self.buffer.slice(start..start + self.bytes.len()),
            reason: self.reason,
        }
    }
}

impl<'a> From<&'a Discard> for DiscardRef<'a> {
    fn from(discard: &'a Discard) -> Self {
        Self {
            bytes: &discard.bytes,
            buffer: &discard.bytes,
            reason: discard.reason,
        }
    }
}

impl fmt::Debug for DiscardRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscardRef")
            .field("len", &self.bytes.len())
            .field("reason", &self.reason)
            .finish()
    }
}

/// What [`Deframer::poll_ref`](crate::Deframer::poll_ref) yields: an [`Output`] borrowed from its buffer.
#[derive(Clone, Copy, Debug)]
pub enum OutputRef<'a> {
    /// A framed, classified message.
    Message(MessageRef<'a>),
    /// Counted bytes that belong to no message.
    Discard(DiscardRef<'a>),
}

impl<'a> OutputRef<'a> {
    /// The bytes this output accounts for.
    pub fn bytes(&self) -> &'a [u8] {
        match self {
            OutputRef::Message(message) => message.bytes,
            OutputRef::Discard(discard) => discard.bytes,
        }
    }

    /// The message, if this is one.
    pub fn message(&self) -> Option<&MessageRef<'a>> {
        match self {
            OutputRef::Message(message) => Some(message),
            OutputRef::Discard(_) => None,
        }
    }

    /// The owned output (one reference count, no copy).
    pub fn to_output(&self) -> Output {
        match self {
            OutputRef::Message(message) => Output::Message(message.to_message()),
            OutputRef::Discard(discard) => Output::Discard(discard.to_discard()),
        }
    }
}

impl<'a> From<&'a Output> for OutputRef<'a> {
    fn from(output: &'a Output) -> Self {
        match output {
            Output::Message(message) => OutputRef::Message(message.into()),
            Output::Discard(discard) => OutputRef::Discard(discard.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_seed_numbering_and_round_trip() {
        let cog = |n| CogId::new(n).unwrap();
        assert_eq!(MessageKind::DbPacket.code(), 0);
        assert_eq!(MessageKind::Cog(cog(0)).code(), 1);
        assert_eq!(MessageKind::Cog(cog(7)).code(), 8);
        assert_eq!(MessageKind::Debugger(cog(0)).code(), 9);
        assert_eq!(MessageKind::Debugger(cog(7)).code(), 16);
        assert_eq!(MessageKind::BacktickWindow.code(), 17);
        assert_eq!(MessageKind::TerminalOutput.code(), 18);
        assert_eq!(MessageKind::InvalidCog.code(), 19);
        let codes: Vec<u8> = MessageKind::all().map(MessageKind::code).collect();
        assert_eq!(codes, (0..20).collect::<Vec<u8>>());
        assert_eq!(MessageKind::from_code(20), None);
        assert_eq!(CogId::new(8), None);
    }

    #[test]
    fn kind_sets_match_the_routing_rules() {
        let cog3 = MessageKind::Cog(CogId::new(3).unwrap());
        let debugger3 = MessageKind::Debugger(CogId::new(3).unwrap());
        assert!(KindSet::TERMINAL.contains(cog3) && KindSet::TERMINAL.contains(MessageKind::InvalidCog));
        assert!(
            !KindSet::TERMINAL.contains(MessageKind::DbPacket),
            "A.4: DB packets never reach the terminal"
        );
        assert!(!KindSet::TERMINAL.contains(debugger3) && !KindSet::TERMINAL.contains(MessageKind::BacktickWindow));
        assert!(KindSet::DEBUGGER.contains(debugger3) && KindSet::DEBUGGER.contains(MessageKind::DbPacket));
        assert!(!KindSet::DEBUGGER.contains(cog3));
        assert!(MessageKind::all().all(|kind| KindSet::ALL.contains(kind)));
        assert_eq!(
            KindSet::only(cog3) | KindSet::only(debugger3),
            KindSet::only(debugger3).with(KindSet::only(cog3))
        );
    }

    #[test]
    fn flags_combine_and_print_their_names() {
        let flags = Flags::PARTIAL | Flags::RESYNC;
        assert!(flags.contains(Flags::PARTIAL) && flags.contains(Flags::RESYNC));
        assert!(!flags.contains(Flags::OVERLONG));
        assert_eq!(flags.without(Flags::RESYNC | Flags::ASSEMBLED), Flags::PARTIAL);
        assert_eq!(format!("{flags:?}"), "{PARTIAL, RESYNC}");
    }
}
