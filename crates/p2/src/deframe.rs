//! The sans-IO deframer (`docs/p2-protocol.md` A.1, A.2, A.5): chunks of bytes, gaps and clock ticks in; messages and
//! counted discards out, as slices of the pooled chunk buffers.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use memchr::memchr2;
use sluicegate_core::{BufferPool, PoolBuf, PoolBytes, Sizing};

use crate::classify::classify;
use crate::counters::FramingCounters;
use crate::message::{CogId, DiscardReason, DiscardRef, Flags, MessageKind, MessageRef, Output, OutputRef};
use crate::wire::{DB_PAYLOAD_MAX, DEBUGGER_PACKET_LEN};

/// The largest `max_line` a [`Config`] accepts (16 MiB): a carry buffer of that size is allocated per long line.
pub const MAX_LINE_LIMIT: usize = 16 << 20;

/// Which 0xDB header layout to read (A.2.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DbHeader {
    /// `[0xDB][lenLo][lenHi][payload]`: the reference's current layout.
    #[default]
    Length,
    /// `[0xDB][subtype][lenLo][lenHi][payload]`: the older layout (`db_header = with_subtype`).
    WithSubtype,
}

impl DbHeader {
    const fn len(self) -> usize {
        match self {
            DbHeader::Length => 3,
            DbHeader::WithSubtype => 4,
        }
    }
}

/// Deframer settings; [`Default`] gives the values of `docs/p2-protocol.md` A.2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// A.2.3: a line with no end of line within this many bytes is emitted, flagged `overlong`. Default 65,536.
    pub max_line: usize,
    /// A.2.3: after this long without input, unfinished text is emitted flagged `partial`, and a CR or LF that
    /// ends the input so far is taken as a complete end of line. Default 50 ms.
    pub idle: Duration,
    /// A.2.2: the 0xDB header layout. Default [`DbHeader::Length`].
    pub db_header: DbHeader,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_line: 65_536,
            idle: Duration::from_millis(50),
            db_header: DbHeader::Length,
        }
    }
}

impl Config {
    /// The longest message this configuration can produce: a line of `max_line` bytes plus the partner of an
    /// end of line found at its last byte, or the largest packet.
    pub fn max_message(&self) -> usize {
        (self.max_line + 1)
            .max(DEBUGGER_PACKET_LEN)
            .max(self.db_header.len() + DB_PAYLOAD_MAX)
    }
}

/// A [`Config`] the deframer cannot work with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `max_line` must be 1..=[`MAX_LINE_LIMIT`].
    #[error("max_line must be between 1 and {MAX_LINE_LIMIT}, not {max_line}")]
    MaxLine {
        /// The value given.
        max_line: usize,
    },
}

/// What the deframer was given, in order: processing inputs in order makes the output independent of when the
/// caller polls.
#[derive(Debug)]
enum Input {
    Chunk {
        bytes: PoolBytes,
        arrival: Instant,
    },
    Tick {
        now: Instant,
    },
    /// `resync`: false for the end of input, which flushes like a gap but neither counts one nor resynchronises.
    Gap {
        lost: u64,
        resync: bool,
    },
}

/// What a framing attempt needs to decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// One more byte of a possible packet header.
    Header,
    /// The rest of a packet of `total` bytes.
    Packet { total: usize },
    /// An end of line; the first `scanned` bytes hold none.
    LineEnd { scanned: usize },
    /// The byte after a CR or LF that ends the input so far, which may be its partner.
    Partner,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    Debugger(CogId),
    Db,
    Text,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Message { len: usize, framing: Framing, flags: Flags },
    Padding { len: usize },
    More(Need),
}

/// Which buffer an [`Emit`] lies in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// The front input chunk.
    Front,
    /// [`State::assembled`].
    Assembled,
}

/// An output decided, as plain data: the borrow of its buffer is taken only when it is handed out, after the
/// framing loop that may pop the input queue.
#[derive(Clone, Copy, Debug)]
enum Emit {
    Message {
        source: Source,
        start: usize,
        len: usize,
        kind: MessageKind,
        flags: Flags,
        arrival: Instant,
        sequence: u64,
    },
    Discard {
        source: Source,
        start: usize,
        len: usize,
        reason: DiscardReason,
    },
}

/// Resynchronisation after a gap (A.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resync {
    Off,
    /// Discarding up to the next end of line; `seen` bytes so far (bounded by `max_line`).
    Scanning {
        seen: usize,
    },
    /// The end of line was the last byte seen; its partner, if next, is discarded too.
    AfterEol(u8),
}

/// A message that has not all arrived yet, being assembled in a buffer of its own.
#[derive(Debug)]
struct Carry {
    buf: PoolBuf,
    arrival: Instant,
    /// Leading bytes known to hold no end of line.
    scanned: usize,
}

/// The first CR or LF in `bytes`.
///
/// Most lines are short (an HSV16 update is 13 bytes), and `memchr2`'s setup cost about 7 ns per line in the
/// HSV16 bench (21 % of the deframer's time in `perf`). Looking at the first 16 bytes a word at a time took the
/// HSV16 deframe bench from 28 to 36 M messages/s; looking at the first 64 took the mixed stream (lines of
/// 20–60 bytes) from 0.8 to about 1.1 GiB/s, together with [`zero_run`]. Longer lines go to `memchr2`.
#[inline(always)]
fn find_eol(bytes: &[u8]) -> Option<usize> {
    const SHORT_LINE: usize = 64;
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut offset = 0;
    while offset < SHORT_LINE {
        let Some(word) = bytes[offset..].first_chunk::<8>() else {
            break;
        };
        let word = u64::from_le_bytes(*word);
        let (cr, lf) = (word ^ (ONES * u64::from(b'\r')), word ^ (ONES * u64::from(b'\n')));
        // A zero byte of `cr` or `lf` is a CR or LF in `word`; the lowest flagged byte is exact (borrows only
        // flag bytes above a true zero).
        let found = ((cr.wrapping_sub(ONES) & !cr) | (lf.wrapping_sub(ONES) & !lf)) & HIGHS;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    memchr2(b'\r', b'\n', &bytes[offset..]).map(|i| offset + i)
}

/// How many zero bytes `bytes` starts with, a word at a time (padding runs are tens to hundreds of bytes).
fn zero_run(bytes: &[u8]) -> usize {
    let mut len = 0;
    while let Some(word) = bytes[len..].first_chunk::<8>() {
        let word = u64::from_le_bytes(*word);
        if word != 0 {
            return len + (word.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    len + bytes[len..].iter().take_while(|&&b| b == 0).count()
}

/// A.2.3: CRLF and LFCR are one end of line.
fn is_partner(eol: u8, next: u8) -> bool {
    (eol == b'\r' && next == b'\n') || (eol == b'\n' && next == b'\r')
}

/// One framing decision at a message start (A.2, rules tried in order). `window` is not empty. `finished` means
/// no more bytes will extend this window (the input went idle or was cut), so text need not wait.
///
/// Inlined, with `text` and `find_eol`, into the polling loop: called, each handed its `Step` back through
/// memory; inlined, HSV16 deframe went from 83 to 106 M messages/s and deframe + route from 44.5 to 49 M
/// (criterion, CPU time).
#[inline(always)]
fn frame(window: &[u8], config: &Config, after_packet: bool, finished: bool, scanned: usize) -> Step {
    let first = window[0];
    // A.2.0: zeros right after a debugger packet are padding (so a cog-0 packet right after a packet is too).
    if after_packet && first == 0 {
        return Step::Padding { len: zero_run(window) };
    }
    // A.2.1: cog id 0–7 as a little-endian long, then 416 bytes in all.
    if let Some(cog) = CogId::new(first) {
        let header = &window[..window.len().min(4)];
        if header[1..].iter().all(|&b| b == 0) {
            if header.len() == 4 {
                return packet(window, DEBUGGER_PACKET_LEN, Framing::Debugger(cog));
            }
            if !finished {
                return Step::More(Need::Header);
            }
        }
    } else if first == 0xDB {
        // A.2.2: little-endian length after the 0xDB (and the subtype, in the older layout).
        let header_len = config.db_header.len();
        match window.get(header_len - 2..header_len) {
            Some(&[lo, hi]) => {
                let payload = usize::from(u16::from_le_bytes([lo, hi]));
                if payload <= DB_PAYLOAD_MAX {
                    return packet(window, header_len + payload, Framing::Db);
                }
            }
            _ if !finished => return Step::More(Need::Header),
            _ => {}
        }
    }
    text(window, config.max_line, finished, scanned)
}

fn packet(window: &[u8], total: usize, framing: Framing) -> Step {
    if window.len() >= total {
        Step::Message {
            len: total,
            framing,
            flags: Flags::NONE,
        }
    } else {
        Step::More(Need::Packet { total })
    }
}

/// A.2.3: a line ends at its first CR, LF, CRLF or LFCR, whatever follows (the reference merged lines unless
/// the next byte looked like a message start, B.2.4).
#[inline(always)]
fn text(window: &[u8], max_line: usize, finished: bool, scanned: usize) -> Step {
    let limit = window.len().min(max_line);
    let from = scanned.min(limit);
    let line = |len, flags| Step::Message {
        len,
        framing: Framing::Text,
        flags,
    };
    match find_eol(&window[from..limit]) {
        Some(offset) => {
            let eol = from + offset;
            match window.get(eol + 1) {
                Some(&next) if is_partner(window[eol], next) => line(eol + 2, Flags::NONE),
                Some(_) => line(eol + 1, Flags::NONE),
                None if finished => line(eol + 1, Flags::NONE),
                None => Step::More(Need::Partner),
            }
        }
        None if window.len() >= max_line => line(max_line, Flags::OVERLONG),
        None if finished => line(window.len(), Flags::PARTIAL),
        None => Step::More(Need::LineEnd { scanned: window.len() }),
    }
}

/// Everything but the input queue, so that the queue's front can be borrowed while this changes.
#[derive(Debug)]
struct State {
    config: Config,
    max_message: usize,
    pool: BufferPool,
    /// Read position in the front chunk.
    pos: usize,
    /// Whether the front chunk's arrival has been taken into account.
    entered: bool,
    carry: Option<Carry>,
    /// The buffer of the last assembled message or truncated discard, kept until the next poll.
    assembled: Option<PoolBytes>,
    after_packet: bool,
    idle: bool,
    resync: Resync,
    last_arrival: Option<Instant>,
    sequence: u64,
    counters: FramingCounters,
}

/// What became of the carry.
enum CarryStep {
    Output(Emit),
    /// Bytes were appended from the front chunk (or an empty chunk was passed): frame again.
    Progress,
    /// It needs bytes, and the front input is not a chunk.
    Blocked,
}

/// Frames the P2 debug stream (`docs/p2-protocol.md` A.2): feed it with `handle_*`, take [`Output`]s with
/// [`poll_output`](Self::poll_output) until it returns `None`, or borrowed [`OutputRef`]s with
/// [`poll_ref`](Self::poll_ref) (no reference count: the single-threaded hot path).
///
/// Messages are slices of the chunks given to [`handle_chunk`](Self::handle_chunk) (no copy, no allocation); a
/// message split across chunks is copied once into a buffer from the deframer's pool. Every byte given comes
/// out again, in order, in a message or a counted [`Discard`](crate::Discard) (A.1), and any split of the same bytes into
/// chunks gives the same messages (discards may be cut differently, their bytes are the same).
///
/// Time is an argument: `handle_chunk`'s `arrival` and [`handle_timeout`](Self::handle_timeout)'s `now` are
/// [`Instant`]s from the caller's clock (a recording's replay may use any base instant plus recorded offsets).
/// Inputs are processed in the order given, so the output does not depend on when the caller polls.
///
/// A.2.0 limit: a cog-0 debugger packet that directly follows another debugger packet is indistinguishable
/// from padding and is discarded as padding.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
/// use sluicegate_p2::{Deframer, Config, Output, MessageKind};
///
/// let mut deframer = Deframer::new(Config::default()).unwrap();
/// let t0 = Instant::now();
/// deframer.handle_bytes(b"Cog0  hi\r\nCog1  half", t0);
/// let Some(Output::Message(first)) = deframer.poll_output() else { panic!() };
/// assert_eq!(&first.bytes[..], b"Cog0  hi\r\n");
/// assert!(deframer.poll_output().is_none(), "waits for the end of the line");
/// deframer.handle_timeout(t0 + Duration::from_millis(50));
/// let Some(Output::Message(prompt)) = deframer.poll_output() else { panic!() };
/// assert_eq!(&prompt.bytes[..], b"Cog1  half"); // flagged partial: the input went idle
/// ```
#[derive(Debug)]
pub struct Deframer {
    inputs: VecDeque<Input>,
    state: State,
}

impl Deframer {
    /// A deframer with a pool of its own (4 buffers of [`Config::max_message`] bytes, growing to 1,024).
    ///
    /// # Errors
    /// [`ConfigError`] if the configuration is out of range.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        let pool = BufferPool::new(Sizing::Adaptive { min: 4, max: 1024 }, config.max_message());
        Self::with_pool(config, pool)
    }

    /// A deframer taking the buffers it needs (for [`handle_bytes`](Self::handle_bytes) and for messages
    /// that span chunks) from `pool`, whose buffers should hold [`Config::max_message`] bytes (larger messages
    /// fall back to a counted allocation). Cheap: a restarted worker makes a new deframer on the same pool.
    ///
    /// # Errors
    /// [`ConfigError`] if the configuration is out of range.
    pub fn with_pool(config: Config, pool: BufferPool) -> Result<Self, ConfigError> {
        if !(1..=MAX_LINE_LIMIT).contains(&config.max_line) {
            return Err(ConfigError::MaxLine {
                max_line: config.max_line,
            });
        }
        Ok(Self {
            inputs: VecDeque::with_capacity(16),
            state: State {
                max_message: config.max_message(),
                config,
                pool,
                pos: 0,
                entered: false,
                carry: None,
                assembled: None,
                after_packet: false,
                idle: false,
                resync: Resync::Off,
                last_arrival: None,
                sequence: 0,
                counters: FramingCounters::default(),
            },
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// The pool the deframer takes its buffers from.
    pub fn pool(&self) -> &BufferPool {
        &self.state.pool
    }

    /// Bytes that arrived at `arrival`, in a frozen pooled buffer; messages will be slices of it.
    pub fn handle_chunk(&mut self, bytes: PoolBytes, arrival: Instant) {
        if bytes.is_empty() {
            return;
        }
        self.state.counters.bytes_in += bytes.len() as u64;
        self.inputs.push_back(Input::Chunk { bytes, arrival });
    }

    /// Bytes that arrived at `arrival`, copied into buffers from the deframer's pool (one copy per chunk, none
    /// per message).
    pub fn handle_bytes(&mut self, mut bytes: &[u8], arrival: Instant) {
        while !bytes.is_empty() {
            // A pooled buffer; `max(1)` keeps making progress with a pool of empty buffers.
            let pool = &self.state.pool;
            let mut buf = pool.acquire_at_least(bytes.len().min(pool.buffer_capacity()).max(1));
            let n = bytes.len().min(buf.remaining());
            buf.spare_mut()[..n].copy_from_slice(&bytes[..n]);
            buf.advance(n);
            self.handle_chunk(buf.freeze(), arrival);
            bytes = &bytes[n..];
        }
    }

    /// The caller's clock reads `now`. If the input has been idle for [`Config::idle`] by then, unfinished
    /// text is emitted (A.2.3) and resynchronisation ends.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.inputs.push_back(Input::Tick { now });
    }

    /// `lost` bytes that followed the input so far never reached the deframer (A.5, ring overflow). Pending
    /// text is emitted flagged `resync`, the start of a pending packet is discarded as
    /// [`Truncated`](DiscardReason::Truncated), and the bytes after the gap up to and including the next end of
    /// line (the rest of a line whose start was lost) are discarded as [`Resync`](DiscardReason::Resync).
    /// Resynchronisation also ends at idle, or after `max_line` bytes without an end of line.
    pub fn handle_gap(&mut self, lost: u64) {
        self.inputs.push_back(Input::Gap { lost, resync: true });
    }

    /// The input has ended (end of a file, port closed): pending text is emitted flagged `partial`, the start
    /// of a pending packet is discarded as [`Truncated`](DiscardReason::Truncated). Later input starts afresh.
    pub fn handle_end(&mut self) {
        self.inputs.push_back(Input::Gap { lost: 0, resync: false });
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, if something waits for the idle timeout.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let state = &self.state;
        let waiting = state.carry.is_some() || state.resync != Resync::Off;
        if !waiting || state.idle {
            return None;
        }
        state.last_arrival.and_then(|last| last.checked_add(state.config.idle))
    }

    /// Bytes given and not yet emitted: the unfinished message and any input not yet polled.
    pub fn pending_bytes(&self) -> usize {
        let state = &self.state;
        let queued: usize = self
            .inputs
            .iter()
            .map(|input| match input {
                Input::Chunk { bytes, .. } => bytes.len(),
                _ => 0,
            })
            .sum();
        queued - state.pos.min(queued) + state.carry.as_ref().map_or(0, |carry| carry.buf.len())
    }

    /// The counters so far.
    pub fn counters(&self) -> FramingCounters {
        FramingCounters {
            outputs: self.state.counters.outputs.settled(),
            ..self.state.counters
        }
    }

    /// The next message or discard, or `None` when the input given so far holds no more.
    ///
    /// The owned form of [`poll_ref`](Self::poll_ref): one reference count per output, to send it to another
    /// thread or keep it.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.poll_ref().map(|output| output.to_output())
    }

    /// The next message or discard, borrowed from the buffer it lies in, or `None` when the input given so far
    /// holds no more. Nothing is counted or copied; [`MessageRef::to_pool_bytes`] makes an owned handle.
    ///
    /// # Examples
    /// ```
    /// use std::time::Instant;
    /// use sluicegate_p2::{Config, Deframer};
    ///
    /// let mut deframer = Deframer::new(Config::default()).unwrap();
    /// deframer.handle_bytes(b"Cog0  a\r\nCog0  b\r\n", Instant::now());
    /// let mut lines = Vec::new();
    /// while let Some(output) = deframer.poll_ref() {
    ///     lines.push(output.bytes().len());
    /// }
    /// assert_eq!(lines, [9, 9]);
    /// ```
    // Inlined into the caller's loop (with the framing), the output is built in place rather than copied out
    // of a returned value: HSV16 deframe 75 -> 83 M messages/s (criterion).
    #[inline(always)]
    pub fn poll_ref(&mut self) -> Option<OutputRef<'_>> {
        if self.state.assembled.is_some() {
            self.state.assembled = None;
        }
        let emit = self.next_emit()?;
        Some(self.output_ref(emit))
    }

    #[inline(always)]
    fn output_ref(&self, emit: Emit) -> OutputRef<'_> {
        let buffer = |source| match source {
            Source::Front => match self.inputs.front() {
                Some(Input::Chunk { bytes, .. }) => bytes,
                _ => unreachable!("a front emit lies in the front chunk"),
            },
            Source::Assembled => match self.state.assembled.as_ref() {
                Some(bytes) => bytes,
                None => unreachable!("an assembled emit keeps its buffer"),
            },
        };
        match emit {
            Emit::Message {
                source,
                start,
                len,
                kind,
                flags,
                arrival,
                sequence,
            } => OutputRef::Message(MessageRef::new(
                buffer(source),
                start,
                len,
                kind,
                flags,
                arrival,
                sequence,
            )),
            Emit::Discard {
                source,
                start,
                len,
                reason,
            } => OutputRef::Discard(DiscardRef::new(buffer(source), start, len, reason)),
        }
    }

    #[inline(always)]
    fn next_emit(&mut self) -> Option<Emit> {
        let state = &mut self.state;
        loop {
            if state.carry.is_some() {
                match state.step_carry(self.inputs.front()) {
                    CarryStep::Output(output) => return Some(output),
                    CarryStep::Progress => {
                        if let Some(Input::Chunk { bytes, .. }) = self.inputs.front()
                            && state.pos >= bytes.len()
                        {
                            self.inputs.pop_front();
                            state.pos = 0;
                            state.entered = false;
                        }
                        continue;
                    }
                    CarryStep::Blocked => {}
                }
            }
            match self.inputs.front()? {
                Input::Chunk { bytes, arrival } => {
                    if state.pos >= bytes.len() {
                        self.inputs.pop_front();
                        state.pos = 0;
                        state.entered = false;
                        continue;
                    }
                    state.enter(*arrival);
                    if let Some(output) = state.step_chunk(bytes, *arrival) {
                        return Some(output);
                    }
                }
                &Input::Tick { now } => {
                    self.inputs.pop_front();
                    let idle = state
                        .last_arrival
                        .is_some_and(|last| now.saturating_duration_since(last) >= state.config.idle);
                    if idle && !state.idle {
                        state.idle = true;
                        state.resync = Resync::Off;
                    }
                }
                &Input::Gap { lost, resync } => {
                    if let Some(output) = state.flush_carry(resync) {
                        return Some(output);
                    }
                    self.inputs.pop_front();
                    state.after_packet = false;
                    if resync {
                        state.counters.gaps += 1;
                        state.counters.lost_bytes = state.counters.lost_bytes.saturating_add(lost);
                        state.resync = Resync::Scanning { seen: 0 };
                    } else {
                        state.resync = Resync::Off;
                    }
                }
            }
        }
    }
}

impl State {
    /// New bytes: the input is no longer idle.
    fn enter(&mut self, arrival: Instant) {
        if !self.entered {
            self.entered = true;
            self.idle = false;
            self.last_arrival = Some(arrival);
        }
    }

    /// Frames at the read position of `chunk`, whose remaining bytes are not empty and no carry is pending.
    #[inline(always)]
    fn step_chunk(&mut self, chunk: &PoolBytes, arrival: Instant) -> Option<Emit> {
        let start = self.pos;
        let window = &chunk[start..];
        if self.resync != Resync::Off {
            let len = self.resync_len(window);
            self.pos += len;
            return (len > 0).then(|| self.discard(Source::Front, start, len, DiscardReason::Resync));
        }
        match frame(window, &self.config, self.after_packet, false, 0) {
            Step::Message { len, framing, flags } => {
                self.pos += len;
                Some(self.message(Source::Front, start, &window[..len], framing, flags, arrival))
            }
            Step::Padding { len } => {
                self.pos += len;
                Some(self.discard(Source::Front, start, len, DiscardReason::Padding))
            }
            Step::More(need) => {
                let mut buf = self.pool.acquire_at_least(self.max_message);
                buf.extend_from_slice(window)
                    .unwrap_or_else(|_| unreachable!("a carry holds max_message bytes"));
                let scanned = if let Need::LineEnd { scanned } = need {
                    scanned
                } else {
                    0
                };
                self.carry = Some(Carry { buf, arrival, scanned });
                self.pos = chunk.len();
                None
            }
        }
    }

    /// How many bytes at the start of `window` the resynchronisation discards (A.5); updates its state.
    fn resync_len(&mut self, window: &[u8]) -> usize {
        match self.resync {
            Resync::Off => 0,
            Resync::AfterEol(eol) => {
                self.resync = Resync::Off;
                usize::from(is_partner(eol, window[0]))
            }
            Resync::Scanning { seen } => {
                let look = &window[..window.len().min(self.config.max_line.saturating_sub(seen))];
                match memchr2(b'\r', b'\n', look) {
                    Some(eol) => match window.get(eol + 1) {
                        Some(&next) => {
                            self.resync = Resync::Off;
                            eol + 1 + usize::from(is_partner(window[eol], next))
                        }
                        None => {
                            self.resync = Resync::AfterEol(window[eol]);
                            eol + 1
                        }
                    },
                    None => {
                        let seen = seen + look.len();
                        self.resync = if seen >= self.config.max_line {
                            Resync::Off
                        } else {
                            Resync::Scanning { seen }
                        };
                        look.len()
                    }
                }
            }
        }
    }

    /// Tries to finish the carry, appending bytes from the front input if it is a chunk (only as many as the
    /// framing needs, so the carry never holds bytes of the next message).
    fn step_carry(&mut self, front: Option<&Input>) -> CarryStep {
        let Some(carry) = self.carry.as_ref() else {
            return CarryStep::Blocked;
        };
        let step = frame(&carry.buf, &self.config, false, self.idle, carry.scanned);
        let need = match step {
            Step::Message { len, framing, flags } => return CarryStep::Output(self.emit_carry(len, framing, flags)),
            // A carry never starts with padding: padding is discarded as soon as it is seen.
            Step::Padding { .. } => unreachable!("padding is never carried"),
            Step::More(need) => need,
        };
        let Some(Input::Chunk { bytes, arrival }) = front else {
            return CarryStep::Blocked;
        };
        let available = &bytes[self.pos.min(bytes.len())..];
        if available.is_empty() {
            return CarryStep::Progress;
        }
        self.enter(*arrival);
        let Some(carry) = self.carry.as_mut() else {
            return CarryStep::Blocked;
        };
        let have = carry.buf.len();
        let take = match need {
            Need::Header => 1,
            Need::Packet { total } => total.saturating_sub(have).min(available.len()),
            Need::LineEnd { scanned } => {
                carry.scanned = scanned;
                let look = &available[..available.len().min(self.config.max_line.saturating_sub(have))];
                memchr2(b'\r', b'\n', look).map_or(look.len(), |eol| eol + 1)
            }
            Need::Partner => {
                let eol = carry.buf.last().copied().unwrap_or_default();
                let len = have + usize::from(is_partner(eol, available[0]));
                if len > have {
                    self.append(&available[..1]);
                }
                return CarryStep::Output(self.emit_carry(len, Framing::Text, Flags::NONE));
            }
        };
        self.append(&available[..take]);
        CarryStep::Progress
    }

    fn append(&mut self, bytes: &[u8]) {
        if let Some(carry) = self.carry.as_mut() {
            carry
                .buf
                .extend_from_slice(bytes)
                .unwrap_or_else(|_| unreachable!("a carry holds max_message bytes"));
            self.pos += bytes.len();
        }
    }

    /// Gap or end of input: frames the carry as if idle; an unfinished packet is discarded as truncated. Text
    /// cut by a gap is flagged `resync` rather than `partial`.
    fn flush_carry(&mut self, gap: bool) -> Option<Emit> {
        let carry = self.carry.as_ref()?;
        match frame(&carry.buf, &self.config, false, true, carry.scanned) {
            Step::Message { len, framing, flags } => {
                let flags = if gap && flags == Flags::PARTIAL {
                    Flags::RESYNC
                } else {
                    flags
                };
                Some(self.emit_carry(len, framing, flags))
            }
            _ => {
                let carry = self.carry.take()?;
                let bytes = carry.buf.freeze();
                let len = bytes.len();
                self.assembled = Some(bytes);
                Some(self.discard(Source::Assembled, 0, len, DiscardReason::Truncated))
            }
        }
    }

    /// Emits the carry's first `len` bytes. When idle framing ends a message before the carry's end (an
    /// unfinished packet header turned out to be text), the rest becomes the new carry.
    fn emit_carry(&mut self, len: usize, framing: Framing, flags: Flags) -> Emit {
        let Some(carry) = self.carry.take() else {
            unreachable!("emit_carry without a carry")
        };
        let assembled = carry.buf.freeze();
        if len < assembled.len() {
            let mut buf = self.pool.acquire_at_least(self.max_message);
            buf.extend_from_slice(&assembled[len..])
                .unwrap_or_else(|_| unreachable!("fits: it was carried"));
            self.carry = Some(Carry {
                buf,
                arrival: carry.arrival,
                scanned: 0,
            });
        }
        let emit = self.message(
            Source::Assembled,
            0,
            &assembled[..len],
            framing,
            flags | Flags::ASSEMBLED,
            carry.arrival,
        );
        self.assembled = Some(assembled);
        emit
    }

    // Inlined into the framing paths, the message is built in place: +13 % messages/s on HSV16 (criterion).
    #[inline(always)]
    fn message(
        &mut self,
        source: Source,
        start: usize,
        bytes: &[u8],
        framing: Framing,
        mut flags: Flags,
        arrival: Instant,
    ) -> Emit {
        let kind = match framing {
            Framing::Debugger(cog) => MessageKind::Debugger(cog),
            Framing::Db => MessageKind::DbPacket,
            Framing::Text => {
                let (kind, refinement) = classify(bytes);
                flags = flags | refinement;
                kind
            }
        };
        self.after_packet = matches!(framing, Framing::Debugger(_));
        // `messages` and `message_bytes` are summed from the per-kind counts when read.
        self.counters.outputs.count_message(kind, flags, bytes.len());
        let sequence = self.sequence;
        self.sequence += 1;
        Emit::Message {
            source,
            start,
            len: bytes.len(),
            kind,
            flags,
            arrival,
            sequence,
        }
    }

    #[inline]
    fn discard(&mut self, source: Source, start: usize, len: usize, reason: DiscardReason) -> Emit {
        self.counters.outputs.count_discard(reason, len);
        Emit::Discard {
            source,
            start,
            len,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::KindCount;

    fn t0() -> Instant {
        static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        *BASE.get_or_init(Instant::now)
    }

    fn ms(n: u64) -> Instant {
        t0() + Duration::from_millis(n)
    }

    fn deframer() -> Deframer {
        Deframer::new(Config::default()).unwrap()
    }

    fn drain(deframer: &mut Deframer) -> Vec<Output> {
        std::iter::from_fn(|| deframer.poll_output()).collect()
    }

    /// Feeds each chunk (polling after each), then ends the input; returns everything, checking conservation.
    fn run_with(config: Config, chunks: &[&[u8]]) -> Vec<Output> {
        let mut deframer = Deframer::new(config).unwrap();
        let mut outputs = Vec::new();
        for chunk in chunks {
            deframer.handle_bytes(chunk, ms(0));
            outputs.extend(drain(&mut deframer));
        }
        deframer.handle_end();
        outputs.extend(drain(&mut deframer));
        let given: Vec<u8> = chunks.concat();
        let out: Vec<u8> = outputs.iter().flat_map(|o| o.bytes().to_vec()).collect();
        assert_eq!(
            out.escape_ascii().to_string(),
            given.escape_ascii().to_string(),
            "A.1: every byte accounted for"
        );
        let counters = deframer.counters();
        assert_eq!(
            counters.bytes_in,
            counters.outputs.message_bytes + counters.outputs.discarded_bytes
        );
        outputs
    }

    fn run(chunks: &[&[u8]]) -> Vec<Output> {
        run_with(Config::default(), chunks)
    }

    fn texts(outputs: &[Output]) -> Vec<Vec<u8>> {
        outputs
            .iter()
            .filter_map(Output::message)
            .map(|m| m.bytes.to_vec())
            .collect()
    }

    fn every_split(bytes: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let whole = vec![bytes.to_vec()];
        let ones = bytes.chunks(1).map(<[u8]>::to_vec).collect();
        let mut splits = vec![whole, ones];
        for at in 1..bytes.len() {
            splits.push(vec![bytes[..at].to_vec(), bytes[at..].to_vec()]);
        }
        splits
    }

    /// The same messages whatever the split (A.1), and those given.
    fn assert_frames(bytes: &[u8], expected: &[&[u8]]) {
        for split in every_split(bytes) {
            let chunks: Vec<&[u8]> = split.iter().map(Vec::as_slice).collect();
            let got = texts(&run(&chunks));
            assert_eq!(
                got,
                expected,
                "split {:?}",
                split.iter().map(Vec::len).collect::<Vec<_>>()
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn zero_run_counts_leading_zeros(
            zeros in 0usize..40,
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
        ) {
            let mut bytes = vec![0u8; zeros];
            bytes.extend_from_slice(&tail);
            proptest::prop_assert_eq!(zero_run(&bytes), bytes.iter().take_while(|&&b| b == 0).count());
        }

        #[test]
        fn find_eol_agrees_with_a_plain_search(
            bytes in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just(b'\r'), proptest::strategy::Just(b'\n'), proptest::strategy::Just(0u8),
                proptest::strategy::Just(0x8D), proptest::strategy::Just(0x0C), proptest::prelude::any::<u8>()
            ], 0..100),
            start in 0usize..40,
        ) {
            let bytes = &bytes[start.min(bytes.len())..];
            proptest::prop_assert_eq!(find_eol(bytes), bytes.iter().position(|&b| b == b'\r' || b == b'\n'));
        }
    }

    #[test]
    fn every_end_of_line_ends_a_line_whatever_follows() {
        // Reference bug B.2.4: lines not followed by `Cog`, a backtick, 0xDB or a control byte were merged.
        assert_frames(
            b"Cog0  a\r\nHello\r\nworld\r\nCog1  b\r\n",
            &[b"Cog0  a\r\n", b"Hello\r\n", b"world\r\n", b"Cog1  b\r\n"],
        );
    }

    #[test]
    fn cr_lf_crlf_and_lfcr_each_end_one_line() {
        assert_frames(
            b"a\rb\nc\r\nd\n\re\r\rf\n\n",
            &[b"a\r", b"b\n", b"c\r\n", b"d\n\r", b"e\r", b"\r", b"f\n", b"\n"],
        );
        assert_frames(b"\r\n\r\n", &[b"\r\n", b"\r\n"]);
    }

    #[test]
    fn an_end_of_line_ending_the_input_waits_for_its_partner_until_idle() {
        let mut deframer = deframer();
        deframer.handle_bytes(b"abc\r", ms(0));
        assert!(drain(&mut deframer).is_empty());
        assert_eq!(deframer.poll_timeout(), Some(ms(50)));
        deframer.handle_timeout(ms(49));
        assert!(drain(&mut deframer).is_empty(), "not idle yet");
        deframer.handle_bytes(b"\n", ms(49));
        assert_eq!(texts(&drain(&mut deframer)), [b"abc\r\n"]);

        deframer.handle_bytes(b"def\n", ms(60));
        assert!(drain(&mut deframer).is_empty());
        deframer.handle_timeout(ms(110));
        let outputs = drain(&mut deframer);
        assert_eq!(texts(&outputs), [b"def\n"]);
        let flags = outputs[0].message().unwrap().flags;
        assert!(!flags.contains(Flags::PARTIAL), "a complete line: {flags:?}");
        deframer.handle_bytes(b"\rnext\n\r", ms(111));
        assert_eq!(
            texts(&drain(&mut deframer)),
            [&b"\r"[..], b"next\n\r"],
            "after idle, a lone CR is a new line"
        );
        assert_eq!(deframer.poll_timeout(), None);
    }

    #[test]
    fn text_without_end_of_line_is_emitted_partial_when_idle() {
        let mut deframer = deframer();
        deframer.handle_bytes(b"Cog0  Enter value: ", ms(0));
        deframer.handle_timeout(ms(10));
        assert!(drain(&mut deframer).is_empty());
        deframer.handle_bytes(b"> ", ms(20));
        deframer.handle_timeout(ms(69));
        assert!(drain(&mut deframer).is_empty(), "idle counts from the last input");
        deframer.handle_timeout(ms(70));
        let outputs = drain(&mut deframer);
        let message = outputs[0].message().unwrap();
        assert_eq!(&message.bytes[..], b"Cog0  Enter value: > ");
        assert_eq!(message.flags, Flags::PARTIAL | Flags::ASSEMBLED);
        assert_eq!(message.arrival, ms(0), "arrival of the first byte");
        assert_eq!(deframer.counters().outputs.partial_flushes, 1);
    }

    #[test]
    fn output_does_not_depend_on_when_the_caller_polls() {
        let inputs = |deframer: &mut Deframer, poll_between: bool| {
            let mut outputs = Vec::new();
            deframer.handle_bytes(b"abc", ms(0));
            if poll_between {
                outputs.extend(drain(deframer));
            }
            deframer.handle_timeout(ms(100));
            if poll_between {
                outputs.extend(drain(deframer));
            }
            deframer.handle_bytes(b"def\r\n", ms(100));
            outputs.extend(drain(deframer));
            texts(&outputs)
        };
        assert_eq!(inputs(&mut deframer(), true), [b"abc".to_vec(), b"def\r\n".to_vec()]);
        assert_eq!(inputs(&mut deframer(), false), [b"abc".to_vec(), b"def\r\n".to_vec()]);
    }

    fn debugger_packet(cog: u8, fill: u8) -> Vec<u8> {
        let mut packet = vec![fill; DEBUGGER_PACKET_LEN];
        packet[..4].copy_from_slice(&u32::from(cog).to_le_bytes());
        packet
    }

    #[test]
    fn a_debugger_packet_is_416_bytes_and_its_cr_lf_are_data() {
        // Reference bug B.2.5: the text rule ran first and cut packets at CR/LF.
        let mut bytes = debugger_packet(1, b'\n');
        bytes[100] = b'\r';
        bytes.extend_from_slice(b"Cog1  after\r\n");
        let outputs = run(&[&bytes]);
        let kinds: Vec<MessageKind> = outputs.iter().filter_map(Output::message).map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [
                MessageKind::Debugger(CogId::new(1).unwrap()),
                MessageKind::Cog(CogId::new(1).unwrap())
            ]
        );
        assert_eq!(outputs[0].bytes().len(), 416);
        for split in [1, 3, 4, 5, 200, 415, 416, 417] {
            let outputs = run(&[&bytes[..split], &bytes[split..]]);
            assert_eq!(outputs[0].bytes().len(), 416, "split at {split}");
        }
    }

    #[test]
    fn a_packet_waits_for_its_bytes_however_long() {
        let packet = debugger_packet(3, 0xAA);
        let mut deframer = deframer();
        deframer.handle_bytes(&packet[..200], ms(0));
        deframer.handle_timeout(ms(1000));
        assert!(drain(&mut deframer).is_empty(), "packets are not text: no idle flush");
        deframer.handle_bytes(&packet[200..], ms(2000));
        let outputs = drain(&mut deframer);
        let message = outputs[0].message().unwrap();
        assert_eq!((message.kind.code(), message.bytes.len()), (12, 416));
        assert_eq!(message.flags, Flags::ASSEMBLED);
    }

    #[test]
    fn zero_padding_after_a_debugger_packet_is_counted_and_skipped() {
        let mut bytes = debugger_packet(1, 7);
        bytes.extend_from_slice(&[0; 40]);
        bytes.extend_from_slice(b"Cog0  next\r\n");
        for split in [416, 417, 440, 456, 457] {
            let outputs = run(&[&bytes[..split], &bytes[split..]]);
            assert_eq!(texts(&outputs), [&bytes[..416], b"Cog0  next\r\n"]);
            let padding: usize = outputs
                .iter()
                .filter_map(|o| match o {
                    Output::Discard(d) if d.reason == DiscardReason::Padding => Some(d.bytes.len()),
                    _ => None,
                })
                .sum();
            assert_eq!(padding, 40);
        }
    }

    #[test]
    fn zeros_not_after_a_packet_start_a_cog0_packet_and_after_one_are_padding() {
        // A.2.0's documented limit: a cog-0 packet right after a packet is indistinguishable from padding.
        let cog0 = debugger_packet(0, 0x55);
        let outputs = run(&[&cog0]);
        assert_eq!(
            outputs[0].message().unwrap().kind,
            MessageKind::Debugger(CogId::new(0).unwrap())
        );
        let mut two = debugger_packet(2, 0x55);
        two.extend_from_slice(&cog0);
        let outputs = run(&[&two]);
        assert!(matches!(&outputs[1], Output::Discard(d) if d.reason == DiscardReason::Padding && d.bytes.len() == 4));
    }

    #[test]
    fn control_code_lines_are_text_not_debugger_packets() {
        // B.2.5: the reference classified any message starting 0x00–0x07 as a debugger packet.
        let outputs = run(&[b"\x01\x02Hello\r\n\x00A\r\n"]);
        let kinds: Vec<MessageKind> = outputs.iter().filter_map(Output::message).map(|m| m.kind).collect();
        assert_eq!(kinds, [MessageKind::TerminalOutput, MessageKind::TerminalOutput]);
    }

    #[test]
    fn an_unfinished_packet_header_is_text_when_idle() {
        let mut deframer = deframer();
        deframer.handle_bytes(b"\x01\x00", ms(0));
        assert!(drain(&mut deframer).is_empty());
        deframer.handle_timeout(ms(50));
        let outputs = drain(&mut deframer);
        assert_eq!(texts(&outputs), [b"\x01\x00"]);
        assert_eq!(outputs[0].message().unwrap().kind, MessageKind::TerminalOutput);
    }

    #[test]
    fn db_packets_are_framed_by_length_with_cr_lf_inside() {
        // B.3: the reference showed DB packets as text on the terminal; here they are DB_PACKET by framing.
        let bytes = b"\xDB\x05\x00\r\n\r\nXCog0  x\r\n";
        for split in every_split(bytes) {
            let chunks: Vec<&[u8]> = split.iter().map(Vec::as_slice).collect();
            let outputs = run(&chunks);
            let first = outputs[0].message().unwrap();
            assert_eq!(
                (&first.bytes[..], first.kind),
                (&b"\xDB\x05\x00\r\n\r\nX"[..], MessageKind::DbPacket)
            );
        }
        let empty = run(&[b"\xDB\x00\x00"]);
        assert_eq!(empty[0].message().unwrap().kind, MessageKind::DbPacket);
    }

    #[test]
    fn a_db_length_over_8192_means_text() {
        let outputs = run(&[b"\xDB\x01\x20abc\r\n"]); // 0x2001 = 8193
        let message = outputs[0].message().unwrap();
        assert_eq!(
            (&message.bytes[..], message.kind),
            (&b"\xDB\x01\x20abc\r\n"[..], MessageKind::TerminalOutput)
        );
        let mut max = vec![0xDB, 0x00, 0x20];
        max.resize(3 + 8192, b'\n');
        let outputs = run(&[&max]);
        assert_eq!(
            (outputs.len(), outputs[0].message().unwrap().kind),
            (1, MessageKind::DbPacket)
        );
    }

    #[test]
    fn the_older_db_layout_reads_a_subtype_before_the_length() {
        let config = Config {
            db_header: DbHeader::WithSubtype,
            ..Config::default()
        };
        let outputs = run_with(config.clone(), &[b"\xDB\x80\x02\x00\r\nCog0  x\r\n"]);
        assert_eq!(texts(&outputs), [&b"\xDB\x80\x02\x00\r\n"[..], b"Cog0  x\r\n"]);
        assert_eq!(outputs[0].message().unwrap().kind, MessageKind::DbPacket);
        let mut deframer = Deframer::new(config).unwrap();
        deframer.handle_bytes(b"\xDB\nA", ms(0));
        deframer.handle_timeout(ms(50));
        assert_eq!(
            texts(&drain(&mut deframer)),
            [&b"\xDB\n"[..], b"A"],
            "an unfinished header is text when idle"
        );
    }

    #[test]
    fn bytes_after_a_rejected_end_of_line_are_never_lost() {
        // Reference bug B.2.4: after an embedded CRLF was rejected and the buffer ran out, bytes were consumed.
        assert_frames(
            b"Hello\r\nworld\r\nmore text",
            &[b"Hello\r\n", b"world\r\n", b"more text"],
        );
    }

    #[test]
    fn lines_longer_than_8184_bytes_are_kept_whole() {
        // Reference bug B.2.7: a message over 8184 bytes made the pool throw and was lost.
        let mut line = vec![b'x'; 20_000];
        line.extend_from_slice(b"\r\n");
        for chunks in [vec![&line[..]], line.chunks(4096).collect(), line.chunks(7).collect()] {
            let outputs = run(&chunks);
            assert_eq!(texts(&outputs), [line.clone()]);
            assert!(!outputs[0].message().unwrap().flags.contains(Flags::OVERLONG));
        }
    }

    #[test]
    fn a_line_without_end_within_max_line_is_emitted_overlong_and_framing_goes_on() {
        let config = Config {
            max_line: 8,
            ..Config::default()
        };
        let bytes = b"0123456789abcdefXY\r\nok\r\n";
        for split in every_split(bytes) {
            let chunks: Vec<&[u8]> = split.iter().map(Vec::as_slice).collect();
            let outputs = run_with(config.clone(), &chunks);
            assert_eq!(texts(&outputs), [&b"01234567"[..], b"89abcdef", b"XY\r\n", b"ok\r\n"]);
            let flags: Vec<bool> = outputs
                .iter()
                .map(|o| o.message().unwrap().flags.contains(Flags::OVERLONG))
                .collect();
            assert_eq!(flags, [true, true, false, false]);
        }
        let outputs = run_with(config, &[b"0123456\r\nx"]);
        assert_eq!(
            texts(&outputs)[0],
            b"0123456\r\n",
            "an end of line found within max_line keeps its partner"
        );
        assert_eq!(
            Deframer::new(Config {
                max_line: 0,
                ..Config::default()
            })
            .err(),
            Some(ConfigError::MaxLine { max_line: 0 })
        );
    }

    #[test]
    fn a_gap_flushes_pending_text_and_discards_up_to_the_next_end_of_line() {
        let mut deframer = deframer();
        deframer.handle_bytes(b"Cog0  hel", ms(0));
        deframer.handle_gap(100);
        deframer.handle_bytes(b"lo wor", ms(1));
        deframer.handle_bytes(b"ld\r", ms(2));
        deframer.handle_bytes(b"\nCog1  ok\r\n", ms(3));
        let outputs = drain(&mut deframer);
        let first = outputs[0].message().unwrap();
        assert_eq!(
            (&first.bytes[..], first.flags),
            (&b"Cog0  hel"[..], Flags::RESYNC | Flags::ASSEMBLED)
        );
        let resync: Vec<u8> = outputs
            .iter()
            .filter_map(|o| match o {
                Output::Discard(d) if d.reason == DiscardReason::Resync => Some(d.bytes.to_vec()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(resync, b"lo world\r\n");
        assert_eq!(texts(&outputs)[1..], [b"Cog1  ok\r\n"]);
        let counters = deframer.counters();
        assert_eq!(
            (counters.gaps, counters.lost_bytes, counters.outputs.resync_bytes),
            (1, 100, 10)
        );
    }

    #[test]
    fn a_gap_discards_the_start_of_a_packet_as_truncated() {
        let packet = debugger_packet(2, 1);
        let outputs = run(&[&packet[..100]]);
        assert!(
            matches!(&outputs[..], [Output::Discard(d)] if d.reason == DiscardReason::Truncated && d.bytes.len() == 100)
        );
        let mut deframer = deframer();
        deframer.handle_bytes(&packet[..100], ms(0));
        deframer.handle_gap(5);
        deframer.handle_timeout(ms(60));
        deframer.handle_bytes(b"Cog2  fresh\r\n", ms(70));
        let outputs = drain(&mut deframer);
        assert_eq!(outputs.len(), 2);
        assert_eq!(
            texts(&outputs),
            [b"Cog2  fresh\r\n"],
            "idle ended the resynchronisation"
        );
    }

    #[test]
    fn pending_bytes_and_counters_account_for_everything() {
        let mut deframer = deframer();
        deframer.handle_bytes(b"Cog0  a\r\nCog1  b", ms(0));
        assert_eq!(deframer.pending_bytes(), 16);
        drain(&mut deframer);
        assert_eq!(deframer.pending_bytes(), 7);
        let counters = deframer.counters();
        assert_eq!(
            (
                counters.bytes_in,
                counters.outputs.messages,
                counters.outputs.message_bytes
            ),
            (16, 1, 9)
        );
        assert_eq!(
            counters.outputs.per_kind.get(MessageKind::Cog(CogId::new(0).unwrap())),
            KindCount { messages: 1, bytes: 9 }
        );
        let json = serde_json::to_value(counters).unwrap();
        assert_eq!(json["bytes_in"], 16);
        assert_eq!(json["per_kind"]["cog0"]["messages"], 1);
        assert_eq!(json["per_kind"]["invalid_cog"]["bytes"], 0);
    }

    #[test]
    fn deframer_and_router_can_move_to_a_worker_thread() {
        fn send<T: Send>(_: &T) {}
        send(&deframer());
        send(&crate::Router::new());
        let mut deframer = deframer();
        let worker = std::thread::spawn(move || {
            deframer.handle_bytes(b"Cog0  from a worker\r\n", ms(0));
            deframer.poll_output().map(|output| output.bytes().len())
        });
        assert_eq!(worker.join().unwrap(), Some(21));
    }

    #[test]
    fn borrowed_outputs_of_assembled_messages_and_truncated_packets_own_their_buffer_until_the_next_poll() {
        let mut deframer = deframer();
        deframer.handle_bytes(b"Cog0  sp", ms(0));
        deframer.handle_bytes(b"lit\r\n\x01\x00\x00\x00abc", ms(1));
        let Some(OutputRef::Message(message)) = deframer.poll_ref() else {
            panic!("the assembled line")
        };
        assert_eq!(message.bytes(), b"Cog0  split\r\n");
        assert!(message.flags.contains(Flags::ASSEMBLED));
        let kept = message.to_pool_bytes();
        assert_eq!((kept.as_ptr(), &kept[..]), (message.bytes().as_ptr(), message.bytes()));
        assert_eq!(&message.slice(6..11)[..], b"split");
        assert_eq!(message.to_message().bytes, kept);
        assert!(deframer.poll_ref().is_none(), "the packet waits");
        deframer.handle_end();
        let Some(OutputRef::Discard(discard)) = deframer.poll_ref() else {
            panic!("the truncated packet")
        };
        assert_eq!(
            (discard.bytes(), discard.reason),
            (&b"\x01\x00\x00\x00abc"[..], DiscardReason::Truncated)
        );
        assert_eq!(discard.to_discard().bytes.len(), 7);
        assert!(deframer.poll_ref().is_none());
        drop(kept);
        assert_eq!(
            deframer.pool().stats().in_use,
            0,
            "every buffer is back once polled past"
        );
    }

    #[test]
    fn sequence_numbers_count_messages_only() {
        let mut bytes = debugger_packet(1, 9);
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(b"a\n");
        let sequences: Vec<u64> = run(&[&bytes])
            .iter()
            .filter_map(Output::message)
            .map(|m| m.sequence)
            .collect();
        assert_eq!(sequences, [0, 1]);
    }
}
