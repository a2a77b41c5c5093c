//! Where the bytes come from (`docs/p2-protocol.md` A.6): a serial port, a capture file, stdin, a TCP socket, or the
//! built-in simulator. Each is a thin adapter behind [`Source`], read by the pipeline's reader thread; a front
//! end opens one from a description with [`SourceSpec::open`](super::SourceSpec::open).

use std::collections::VecDeque;
use std::io;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::transmit::{Link, SerialLink, TcpLink, Transmitter, WRITE_TIMEOUT};

use crate::recording::{Cut, Recording, RecordingError};
use crate::simulate;

/// How long a source blocks at most before it reports [`Read::Idle`], so the reader can notice a stop.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// How long a serial port's reader waits for input before it reports [`Read::Idle`] (Linux). Longer than
/// [`POLL_INTERVAL`]: an idle port's timer wake-ups were most of the terminal's idle CPU (a timer wake-up costs
/// 12–23 µs on this project's virtual machine, BENCHMARKS.md), and a stop ends the pipeline without waiting
/// for its reader.
pub const TTY_WAIT: Duration = Duration::from_millis(250);

/// The default debug baud rate (A.6).
pub const DEFAULT_BAUD: u32 = 2_000_000;

/// The reset pulse (A.6, B.1): assert, 10 ms, release.
pub const RESET_PULSE: Duration = Duration::from_millis(10);

/// What one [`Source::read`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// `len` bytes were written to the buffer. `at` is their recorded arrival time since the start of the
    /// capture for a replay, `None` for a live source (the reader stamps them with its clock).
    Data {
        /// Bytes read.
        len: usize,
        /// Recorded arrival time, for replays.
        at: Option<Duration>,
    },
    /// Nothing arrived within the source's wait ([`POLL_INTERVAL`], [`TTY_WAIT`]).
    Idle,
    /// The input has ended (end of file, peer closed).
    End,
}

/// A byte source read by one thread.
pub trait Source: Send {
    /// Reads what is available into `buf`, blocking at most about [`POLL_INTERVAL`] ([`TTY_WAIT`] for a
    /// serial port on Linux).
    ///
    /// # Errors
    /// The underlying I/O error (a serial port unplugged, a socket reset).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<Read>;
}

/// Why a source could not be opened. Each message names its cause and also chains it as its `source`, for
/// callers that walk the chain; the CLI's one line says it once (`exit::one_line`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The serial port does not exist.
    #[error("serial port {path}: no such device")]
    PortMissing {
        /// The path given.
        path: String,
    },
    /// Another program holds the serial port.
    #[error("serial port {path}: busy (another program has it open)")]
    PortBusy {
        /// The path given.
        path: String,
    },
    /// The port exists but could not be opened or configured.
    #[error("serial port {path}: {reason}")]
    Port {
        /// The path given.
        path: String,
        /// The driver's words.
        reason: String,
    },
    /// A baud rate no UART runs at.
    #[error("baud rate {baud} is out of range (1..=20000000)")]
    BadBaud {
        /// The rate given.
        baud: u32,
    },
    /// A capture file could not be read.
    #[error("cannot read {path}: {source}")]
    File {
        /// The path given.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A capture file is corrupt.
    #[error("{path}: {source}")]
    Recording {
        /// The path given.
        path: PathBuf,
        /// What is wrong and where.
        source: RecordingError,
    },
    /// A TCP connection failed.
    #[error("cannot connect to {address}: {source}")]
    Tcp {
        /// The address given.
        address: String,
        /// Why.
        source: io::Error,
    },
}

/// Which control line resets the P2 (A.6): DTR on a Prop Plug, RTS on some adapters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResetLine {
    /// Data Terminal Ready.
    #[default]
    Dtr,
    /// Request To Send.
    Rts,
}

/// A serial port, 8N1, no flow control. Opening it toggles no control line (A.6).
pub struct SerialSource {
    port: Box<dyn serialport::SerialPort>,
    /// Bytes already read from the port by someone else (the loader), given out before the port's own.
    pending: Vec<u8>,
    pending_from: usize,
    /// The port's input, waited for edge-triggered (set up at the first read, after any loader).
    #[cfg(target_os = "linux")]
    input: TtyInput,
}

impl std::fmt::Debug for SerialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialSource").field("port", &self.port.name()).finish()
    }
}

impl SerialSource {
    /// Opens `path` at `baud`.
    ///
    /// # Errors
    /// [`SourceError`] saying whether the port is missing, busy, or refused the settings.
    pub fn open(path: &str, baud: u32) -> Result<Self, SourceError> {
        if !(1..=20_000_000).contains(&baud) {
            return Err(SourceError::BadBaud { baud });
        }
        if !Path::new(path).exists() {
            return Err(SourceError::PortMissing { path: path.to_owned() });
        }
        let builder = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(POLL_INTERVAL);
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd as _;
            let port = builder
                .open_native()
                .map_err(|error| classify_port_error(path, error))?;
            Ok(Self {
                input: TtyInput::Unprepared(port.as_raw_fd()),
                port: Box::new(port),
                pending: Vec::new(),
                pending_from: 0,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let port = builder.open().map_err(|error| classify_port_error(path, error))?;
            Ok(Self {
                port,
                pending: Vec::new(),
                pending_from: 0,
            })
        }
    }

    /// The same port, giving out `pending` first: bytes already read from it (by the loader, after a
    /// download, B.1) that the pipeline must see.
    #[must_use]
    pub fn with_pending(mut self, pending: Vec<u8>) -> Self {
        self.pending = pending;
        self.pending_from = 0;
        self
    }

    /// The open port, for the ROM loader's writes, reads and baud switch.
    pub fn port_mut(&mut self) -> &mut dyn serialport::SerialPort {
        self.port.as_mut()
    }

    /// The port's way back to the P2 (typed input, PC_KEY/PC_MOUSE replies, the reset line): a second
    /// descriptor of the same port, written from other threads while this one reads.
    ///
    /// # Errors
    /// [`SourceError::Port`] if the port cannot be duplicated.
    pub fn transmitter(&self) -> Result<Transmitter, SourceError> {
        let path = self.port.name().unwrap_or_default();
        let mut port = self
            .port
            .try_clone()
            .map_err(|error| classify_port_error(&path, error))?;
        port.set_timeout(WRITE_TIMEOUT)
            .map_err(|error| classify_port_error(&path, error))?;
        Ok(Transmitter::new(SerialLink(port), &format!("serial port {path}"), true))
    }

    /// Pulses the reset line: assert, [`RESET_PULSE`], release.
    ///
    /// # Errors
    /// If the driver refuses to drive the line.
    pub fn reset(&mut self, line: ResetLine) -> Result<(), SourceError> {
        let path = self.port.name().unwrap_or_default();
        let mut drive = |level: bool| match line {
            ResetLine::Dtr => self.port.write_data_terminal_ready(level),
            ResetLine::Rts => self.port.write_request_to_send(level),
        };
        drive(true).map_err(|error| classify_port_error(&path, error))?;
        std::thread::sleep(RESET_PULSE);
        drive(false).map_err(|error| classify_port_error(&path, error))
    }
}

fn classify_port_error(path: &str, error: serialport::Error) -> SourceError {
    let path = path.to_owned();
    match error.kind {
        // serialport reports a port held exclusively by another program (TIOCEXCL's EBUSY, or its flock) as
        // `NoDevice`; only a path that is gone is really missing.
        serialport::ErrorKind::NoDevice if Path::new(&path).exists() => SourceError::PortBusy { path },
        serialport::ErrorKind::NoDevice | serialport::ErrorKind::Io(io::ErrorKind::NotFound) => {
            SourceError::PortMissing { path }
        }
        _ => SourceError::Port {
            path,
            reason: error.description,
        },
    }
}

/// A live read's result as a [`Read`]: a timeout or an interrupted call is idle, zero bytes the end.
fn live_read(result: io::Result<usize>) -> io::Result<Read> {
    match result {
        Ok(0) => Ok(Read::End),
        Ok(len) => Ok(Read::Data { len, at: None }),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) =>
        {
            Ok(Read::Idle)
        }
        Err(error) => Err(error),
    }
}

impl Source for SerialSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<Read> {
        if self.pending_from < self.pending.len() {
            let pending = &self.pending[self.pending_from..];
            let len = pending.len().min(buf.len());
            buf[..len].copy_from_slice(&pending[..len]);
            self.pending_from += len;
            return Ok(Read::Data { len, at: None });
        }
        #[cfg(target_os = "linux")]
        {
            self.input.read(buf)
        }
        #[cfg(not(target_os = "linux"))]
        {
            live_read(io::Read::read(&mut self.port, buf))
        }
    }
}

/// A tty's input read without `poll` (Linux): wait in an edge-triggered epoll, then one non-blocking read.
///
/// Why: a tty's `poll` that finds no input waits for the driver's receive work to finish
/// (`n_tty_poll` → `tty_buffer_flush_work`). The reader is woken from inside that work, so its next `poll`,
/// right after the read, nearly always found the work still running and slept a second time: two context
/// switches a read instead of one (`perf record -e sched:sched_switch -g`, BENCHMARKS.md). An edge-triggered
/// epoll does not poll the tty again before it sleeps; the receive work's wake-up ends the wait. A read that
/// returns less than asked for took everything the line discipline had; one that fills the buffer is followed
/// by another before the next wait.
#[cfg(target_os = "linux")]
#[derive(Debug)]
enum TtyInput {
    /// The port's descriptor, still as serialport configured it (blocking, for the loader's reads).
    Unprepared(std::os::fd::RawFd),
    /// Non-blocking, registered with an epoll instance.
    Ready {
        tty: std::os::fd::RawFd,
        epoll: std::os::fd::RawFd,
        /// The last read filled its buffer: read again before waiting.
        more: bool,
    },
}

#[cfg(target_os = "linux")]
impl TtyInput {
    fn prepare(tty: std::os::fd::RawFd) -> nix::Result<Self> {
        use nix::fcntl::{FcntlArg, OFlag, fcntl};
        use nix::sys::epoll::{EpollCreateFlags, EpollEvent, EpollFlags, EpollOp, epoll_create1, epoll_ctl};
        let flags = OFlag::from_bits_truncate(fcntl(tty, FcntlArg::F_GETFL)?);
        fcntl(tty, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        let epoll = epoll_create1(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let mut interest = EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLET, 0);
        if let Err(error) = epoll_ctl(epoll, EpollOp::EpollCtlAdd, tty, &mut interest) {
            let _ = nix::unistd::close(epoll);
            return Err(error);
        }
        // Bytes that came before the registration are read first.
        Ok(Self::Ready { tty, epoll, more: true })
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<Read> {
        use nix::errno::Errno;
        if let Self::Unprepared(tty) = *self {
            *self = Self::prepare(tty)?;
        }
        let Self::Ready { tty, epoll, more } = self else {
            unreachable!("prepared above")
        };
        if !*more {
            let mut events = [nix::sys::epoll::EpollEvent::empty()];
            let timeout = isize::try_from(TTY_WAIT.as_millis()).unwrap_or(isize::MAX);
            match nix::sys::epoll::epoll_wait(*epoll, &mut events, timeout) {
                Ok(0) | Err(Errno::EINTR) => return Ok(Read::Idle),
                Ok(_) => {}
                Err(error) => return Err(error.into()),
            }
        }
        match nix::unistd::read(*tty, buf) {
            Ok(len) => {
                *more = len == buf.len();
                Ok(if len == 0 {
                    Read::End
                } else {
                    Read::Data { len, at: None }
                })
            }
            Err(Errno::EAGAIN | Errno::EINTR) => {
                *more = false;
                Ok(Read::Idle)
            }
            // A tty whose far end has gone (a pseudo-terminal's other side closed, a USB adapter unplugged)
            // reads EIO once its input is drained: the end of the link, not a failure of it.
            Err(Errno::EIO) => Ok(Read::End),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for TtyInput {
    fn drop(&mut self) {
        if let Self::Ready { epoll, .. } = *self {
            let _ = nix::unistd::close(epoll);
        }
    }
}

/// Any byte stream: stdin, or a TCP connection (read with a timeout so a stop is noticed).
#[derive(Debug)]
pub struct StreamSource<R> {
    reader: R,
}

impl StreamSource<io::Stdin> {
    /// Standard input. Its reads cannot time out: a stop takes effect at the next byte or end of input.
    pub fn stdin() -> Self {
        Self { reader: io::stdin() }
    }
}

impl StreamSource<TcpStream> {
    /// Connects to `address` (`host:port`).
    ///
    /// # Errors
    /// [`SourceError::Tcp`] if the connection fails.
    pub fn tcp(address: &str) -> Result<Self, SourceError> {
        let tcp_error = |source| SourceError::Tcp {
            address: address.to_owned(),
            source,
        };
        let stream = TcpStream::connect(address).map_err(tcp_error)?;
        stream.set_read_timeout(Some(POLL_INTERVAL)).map_err(tcp_error)?;
        Ok(Self { reader: stream })
    }
}

impl StreamSource<TcpStream> {
    /// The socket's way back to the P2 (typed input, PC_KEY/PC_MOUSE replies).
    ///
    /// # Errors
    /// [`SourceError::Tcp`] if the socket cannot be duplicated.
    pub fn transmitter(&self) -> Result<Transmitter, SourceError> {
        let peer = self
            .reader
            .peer_addr()
            .map_or_else(|_| "the TCP peer".to_owned(), |peer| peer.to_string());
        let tcp_error = |source| SourceError::Tcp {
            address: peer.clone(),
            source,
        };
        let stream = self.reader.try_clone().map_err(tcp_error)?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT)).map_err(tcp_error)?;
        Ok(Transmitter::new(TcpLink(stream), &format!("TCP {peer}"), false))
    }
}

impl<R: io::Read + Send> Source for StreamSource<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<Read> {
        live_read(self.reader.read(buf))
    }
}

/// How fast a replay runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Speed {
    /// At the recorded arrival times.
    #[default]
    Realtime,
    /// As fast as the pipeline takes it (arrival times are still the recorded ones).
    Max,
}

/// A capture file (ours, the reference's USB traffic log or `.p2rec`, or raw bytes) played back as reads.
#[derive(Debug)]
pub struct ReplaySource {
    recording: Recording,
    next: usize,
    within: usize,
    speed: Speed,
    started: Option<Instant>,
}

impl ReplaySource {
    /// Reads and parses `path`.
    ///
    /// # Errors
    /// [`SourceError::File`] if it cannot be read, [`SourceError::Recording`] if it is corrupt.
    pub fn open(path: &Path, speed: Speed) -> Result<Self, SourceError> {
        let file = std::fs::read(path).map_err(|source| SourceError::File {
            path: path.to_owned(),
            source,
        })?;
        let recording = Recording::parse(&file).map_err(|source| SourceError::Recording {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::new(recording, speed))
    }

    /// Plays `recording`.
    pub fn new(recording: Recording, speed: Speed) -> Self {
        Self {
            recording,
            next: 0,
            within: 0,
            speed,
            started: None,
        }
    }

    /// The incomplete last record of a `.sgrec` cut short, which is not played.
    pub fn cut(&self) -> Option<Cut> {
        self.recording.cut
    }
}

impl Source for ReplaySource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<Read> {
        let Some(chunk) = self.recording.chunks.get(self.next) else {
            return Ok(Read::End);
        };
        let started = *self.started.get_or_insert_with(Instant::now);
        if self.speed == Speed::Realtime {
            let due = started + chunk.at;
            let now = Instant::now();
            if due > now {
                std::thread::sleep((due - now).min(POLL_INTERVAL));
                if Instant::now() < due {
                    return Ok(Read::Idle);
                }
            }
        }
        let bytes = &self.recording.bytes(chunk)[self.within..];
        let len = bytes.len().min(buf.len());
        buf[..len].copy_from_slice(&bytes[..len]);
        let at = chunk.at;
        self.within += len;
        if self.within == chunk.range.len() {
            self.next += 1;
            self.within = 0;
        }
        Ok(Read::Data { len, at: Some(at) })
    }
}

/// What the built-in P2 sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// A.7: three BITMAP windows and 65,536 updates, back to back.
    Hsv16,
    /// Every kind of message, in random order (seeded).
    Mixed,
    /// A realistic session, at a readable pace.
    Demo,
}

impl Scenario {
    /// Every scenario, in the order their names are listed.
    pub const ALL: [Scenario; 3] = [Scenario::Hsv16, Scenario::Mixed, Scenario::Demo];

    /// The scenario's name on a command line or in an options object: `hsv16`, `mixed`, `demo`.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Hsv16 => "hsv16",
            Scenario::Mixed => "mixed",
            Scenario::Demo => "demo",
        }
    }

    /// The bytes and the messages they must give.
    pub fn stream(self) -> simulate::Stream {
        match self {
            Scenario::Hsv16 => simulate::hsv16(),
            Scenario::Mixed => simulate::mixed(0x5EED, 20_000),
            Scenario::Demo => simulate::demo_session(),
        }
    }

    /// How the built-in P2 paces it unless told otherwise: bursts as fast as they go, the demo a message every
    /// 20 ms (about 15 s for its 740 messages) so a person can watch its displays move.
    pub fn default_pace(self) -> Pace {
        match self {
            Scenario::Hsv16 | Scenario::Mixed => Pace::Burst,
            Scenario::Demo => Pace::PerMessage(Duration::from_millis(20)),
        }
    }
}

/// A scenario name that is not one of [`Scenario::ALL`]'s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario {given:?}: expected hsv16, mixed or demo")]
pub struct UnknownScenario {
    /// The name given.
    pub given: String,
}

impl std::str::FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == name)
            .ok_or_else(|| UnknownScenario { given: name.to_owned() })
    }
}

/// How the simulator spaces its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// As fast as the reader takes them.
    Burst,
    /// As a UART at this baud rate (8N1: 10 bits a byte) would send them.
    Baud(u32),
    /// One message, then this pause.
    PerMessage(Duration),
}

/// The built-in P2, run in-process. It reads what is typed to it ([`SimulatedSource::transmitter`]) at its
/// stream's [`Prompt`](simulate::Prompt)s when it is paced (not in a burst): it echoes each typed byte, and a
/// CR or LF ends the answer, which replaces the stream's own; with nothing typed for [`PROMPT_WAIT`] it
/// answers itself. Pacing resumes after the wait.
#[derive(Debug)]
pub struct SimulatedSource {
    bytes: Vec<u8>,
    message_ends: Vec<usize>,
    prompts: Vec<simulate::Prompt>,
    /// The next prompt not yet passed.
    next_prompt: usize,
    /// When the program reached the prompt it waits at, and when it last got a byte there.
    waiting: Option<(Instant, Instant)>,
    /// Whether anything was typed at the current prompt.
    answered: bool,
    typed: Arc<Mutex<VecDeque<u8>>>,
    /// Echoed bytes not yet read.
    echo: Vec<u8>,
    sent: usize,
    pace: Pace,
    started: Option<Instant>,
}

/// How long the simulated program waits at a prompt for something to be typed (again), before it answers
/// itself or takes what was typed.
pub const PROMPT_WAIT: Duration = Duration::from_secs(3);

/// Bytes typed to the simulated program that it holds until a prompt reads them; more are lost, as on a UART.
const TYPED_MAX: usize = 4096;

impl SimulatedSource {
    /// A simulator playing `stream` at `pace`.
    pub fn new(stream: &simulate::Stream, pace: Pace) -> Self {
        let message_ends = stream.messages().iter().map(|message| message.range.end).collect();
        Self {
            bytes: stream.bytes().to_vec(),
            message_ends,
            prompts: stream.prompts().to_vec(),
            next_prompt: 0,
            waiting: None,
            answered: false,
            typed: Arc::default(),
            echo: Vec::new(),
            sent: 0,
            pace,
            started: None,
        }
    }

    /// Its input: what is written there is typed to the simulated program.
    pub fn transmitter(&self) -> Transmitter {
        Transmitter::new(SimulatorLink(Arc::clone(&self.typed)), "the simulator", false)
    }

    /// How many bytes are due by now.
    fn due(&mut self) -> usize {
        let started = *self.started.get_or_insert_with(Instant::now);
        match self.pace {
            Pace::Burst => self.bytes.len(),
            Pace::Baud(baud) => {
                let elapsed = started.elapsed().as_secs_f64();
                ((elapsed * f64::from(baud) / 10.0) as usize).min(self.bytes.len())
            }
            Pace::PerMessage(pause) => {
                let released = (started.elapsed().as_nanos() / pause.as_nanos().max(1)) as usize + 1;
                self.message_ends
                    .get(released.min(self.message_ends.len()) - 1)
                    .copied()
                    .unwrap_or(self.bytes.len())
            }
        }
    }

    /// The prompt the program is reading at now, if it waits for input.
    fn prompt_here(&self) -> Option<&simulate::Prompt> {
        let prompt = self.prompts.get(self.next_prompt)?;
        (self.pace != Pace::Burst && self.sent == prompt.at).then_some(prompt)
    }

    /// Reads typed bytes at a prompt: echoes them, and passes the prompt on a line end or when the wait is
    /// over. Returns whether the program still waits.
    fn read_prompt(&mut self, default_end: usize) -> bool {
        let now = Instant::now();
        let (reached, last_heard) = self.waiting.get_or_insert((now, now));
        let mut line_ended = false;
        {
            let mut typed = self.typed.lock().unwrap_or_else(PoisonError::into_inner);
            while let Some(byte) = typed.pop_front() {
                if byte == b'\r' || byte == b'\n' {
                    line_ended = true;
                    break;
                }
                self.echo.push(byte);
                self.answered = true;
                *last_heard = now;
            }
        }
        let reached = *reached;
        let timed_out = now.saturating_duration_since(*last_heard) >= PROMPT_WAIT;
        if !line_ended && !timed_out {
            return true;
        }
        if line_ended || self.answered {
            self.sent = default_end;
        }
        // Pacing resumes where it stopped.
        if let Some(started) = self.started.as_mut() {
            *started += now.saturating_duration_since(reached);
        }
        self.next_prompt += 1;
        self.waiting = None;
        self.answered = false;
        false
    }
}

/// The simulated program's input.
struct SimulatorLink(Arc<Mutex<VecDeque<u8>>>);

impl Link for SimulatorLink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut typed = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let room = TYPED_MAX.saturating_sub(typed.len());
        typed.extend(&bytes[..bytes.len().min(room)]);
        Ok(())
    }
}

impl Source for SimulatedSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<Read> {
        loop {
            if !self.echo.is_empty() {
                let len = self.echo.len().min(buf.len());
                buf[..len].copy_from_slice(&self.echo[..len]);
                self.echo.drain(..len);
                return Ok(Read::Data { len, at: None });
            }
            let Some(default_end) = self.prompt_here().map(|prompt| prompt.default.end) else {
                break;
            };
            if !self.read_prompt(default_end) {
                continue;
            }
            if self.echo.is_empty() {
                std::thread::sleep(Duration::from_millis(5));
                return Ok(Read::Idle);
            }
        }
        if self.sent == self.bytes.len() {
            return Ok(Read::End);
        }
        // Stops at the next prompt the program waits at.
        let limit = match self.prompts.get(self.next_prompt) {
            Some(prompt) if self.pace != Pace::Burst => prompt.at,
            _ => self.bytes.len(),
        };
        let mut due = self.due().min(limit);
        if due <= self.sent {
            std::thread::sleep(Duration::from_millis(1).min(POLL_INTERVAL));
            due = self.due().min(limit);
            if due <= self.sent {
                return Ok(Read::Idle);
            }
        }
        let len = (due - self.sent).min(buf.len());
        buf[..len].copy_from_slice(&self.bytes[self.sent..self.sent + len]);
        self.sent += len;
        Ok(Read::Data { len, at: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::RecordingWriter;

    fn drain(source: &mut dyn Source) -> (Vec<u8>, Vec<Option<Duration>>) {
        let (mut bytes, mut times) = (Vec::new(), Vec::new());
        let mut buf = [0u8; 7];
        loop {
            match source.read(&mut buf).unwrap() {
                Read::Data { len, at } => {
                    bytes.extend_from_slice(&buf[..len]);
                    times.push(at);
                }
                Read::Idle => {}
                Read::End => return (bytes, times),
            }
        }
    }

    #[test]
    fn replay_gives_every_byte_with_its_recorded_time_even_in_small_reads() {
        let mut writer = RecordingWriter::new(Vec::new(), 0).unwrap();
        writer
            .write_chunk(Duration::from_micros(10), b"Cog0  hello\r\n")
            .unwrap();
        writer.write_chunk(Duration::from_micros(30), b"`j $1\r\n").unwrap();
        let recording = Recording::parse(&writer.finish().unwrap()).unwrap();
        let (bytes, times) = drain(&mut ReplaySource::new(recording, Speed::Max));
        assert_eq!(bytes, b"Cog0  hello\r\n`j $1\r\n");
        let micros = |at: Option<Duration>| at.map(|at| at.as_micros());
        assert_eq!(
            times.iter().copied().map(micros).collect::<Vec<_>>(),
            [Some(10), Some(10), Some(30)]
        );
    }

    #[test]
    fn simulator_burst_sends_the_whole_stream_once() {
        let stream = simulate::demo_session();
        let (bytes, _) = drain(&mut SimulatedSource::new(&stream, Pace::Burst));
        assert_eq!(bytes, stream.bytes());
    }

    #[test]
    fn simulator_per_message_releases_whole_messages() {
        let stream = simulate::demo_session();
        let mut source = SimulatedSource::new(&stream, Pace::PerMessage(Duration::from_secs(3600)));
        let mut buf = vec![0u8; 1 << 16];
        let Read::Data { len, .. } = source.read(&mut buf).unwrap() else {
            panic!("the first message is due")
        };
        assert_eq!(len, stream.messages()[0].range.end, "exactly the first message");
        assert_eq!(source.read(&mut buf).unwrap(), Read::Idle);
    }

    /// A pty pair: the master, and the slave opened as a port by its path.
    fn pty_port() -> (Box<dyn serialport::SerialPort>, SerialSource) {
        let (master, slave) = serialport::TTYPort::pair().expect("a pty pair");
        let path = serialport::SerialPort::name(&slave).expect("the slave's path");
        drop(slave);
        (Box::new(master), SerialSource::open(&path, DEFAULT_BAUD).unwrap())
    }

    #[test]
    fn a_port_handed_over_gives_the_pending_bytes_first() {
        use std::io::Write as _;
        let (mut master, source) = pty_port();
        let mut source = source.with_pending(b"Cog0  first\r\n".to_vec());
        master.write_all(b"then the port\n").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 5];
        while got.len() < 27 {
            if let Read::Data { len, .. } = source.read(&mut buf).unwrap() {
                got.extend_from_slice(&buf[..len]);
            }
        }
        assert_eq!(got, b"Cog0  first\r\nthen the port\n");
    }

    /// The edge-triggered wait (Linux) must neither stall on bytes left behind a full read nor miss bytes that
    /// arrive between a read and the next wait: bursts far larger than the tty's 4,096-byte buffer, read with
    /// buffers small and large, come out whole; a quiet line reads as idle.
    #[test]
    fn bursts_and_pauses_on_a_pty_come_out_whole_and_a_quiet_line_is_idle() {
        use std::io::Write as _;
        for buffer in [7, 4096, 65_536] {
            let (mut master, mut source) = pty_port();
            let sent: Vec<u8> = (0..60_000u32).map(|n| (n % 251) as u8).collect();
            let writer = {
                let sent = sent.clone();
                std::thread::spawn(move || {
                    for (index, burst) in sent.chunks(9_999).enumerate() {
                        master.write_all(burst).unwrap();
                        if index % 2 == 1 {
                            std::thread::sleep(Duration::from_millis(3));
                        }
                    }
                    master
                })
            };
            let mut got = Vec::new();
            let mut buf = vec![0u8; buffer];
            let deadline = Instant::now() + Duration::from_secs(20);
            while got.len() < sent.len() && Instant::now() < deadline {
                if let Read::Data { len, .. } = source.read(&mut buf).unwrap() {
                    got.extend_from_slice(&buf[..len]);
                }
            }
            // Before the join: a stalled reader leaves the writer blocked on a full pty.
            assert!(got == sent, "{} of {} bytes, buffer {buffer}", got.len(), sent.len());
            let _master = writer.join().unwrap();
            let started = Instant::now();
            assert_eq!(source.read(&mut buf).unwrap(), Read::Idle);
            assert!(started.elapsed() >= TTY_WAIT / 2, "an idle read waits");
        }
    }

    #[test]
    fn scenarios_are_found_by_name_and_an_unknown_name_is_refused() {
        for scenario in Scenario::ALL {
            assert_eq!(scenario.name().parse(), Ok(scenario));
        }
        assert_eq!(
            "HSV16".parse::<Scenario>().unwrap_err().to_string(),
            r#"unknown scenario "HSV16": expected hsv16, mixed or demo"#
        );
    }

    #[test]
    fn missing_port_and_bad_baud_are_named() {
        let missing = SerialSource::open("/dev/does-not-exist-sg", DEFAULT_BAUD).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "serial port /dev/does-not-exist-sg: no such device"
        );
        let bad = SerialSource::open("/dev/null", 0).unwrap_err();
        assert!(matches!(bad, SourceError::BadBaud { baud: 0 }));
    }
}
