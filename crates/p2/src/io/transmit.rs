//! Bytes to the P2 (`docs/p2-protocol.md` A.6): typed input, and the replies to `PC_KEY`/`PC_MOUSE` a program
//! blocks on. The same link the bytes come from, written from other threads than its reader: the write half of
//! the serial port (a second descriptor of the same port), the same TCP socket, or the in-process simulator's
//! input. A replay or standard input has no way back; its [`Opened`](super::Opened) holds no transmitter.

use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::source::{RESET_PULSE, ResetLine};

/// How long a write may wait for room in the OS buffer before it fails: a P2 reads at its baud rate, so a
/// reply or a typed line goes out at once unless the line is stuck.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// Why bytes could not be sent or the P2 reset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransmitError {
    /// Only a serial port has a reset line.
    #[error("cannot reset the P2 through {input}: only a serial port has a reset line (DTR/RTS)")]
    NoResetLine {
        /// The input, as [`SourceSpec`](super::SourceSpec) names it.
        input: String,
    },
    /// The write (or driving the reset line) failed.
    #[error("cannot write to {input}: {source}")]
    Io {
        /// The input.
        input: String,
        /// Why.
        source: io::Error,
    },
}

/// The way back to the P2 of one link; clones share it, and each write goes out whole before the next starts.
///
/// # Examples
/// ```
/// use sluicegate_p2::io::{SourceSpec, Scenario};
///
/// let opened = SourceSpec::Simulate { scenario: Scenario::Demo, pace: None }.open().unwrap();
/// let transmitter = opened.transmitter.expect("the simulator reads what is typed");
/// transmitter.transmit(b"7\r").unwrap();
/// assert!(!transmitter.can_reset());
/// ```
#[derive(Clone)]
pub struct Transmitter {
    link: Arc<Mutex<Box<dyn Link>>>,
    input: Arc<str>,
    can_reset: bool,
}

impl std::fmt::Debug for Transmitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transmitter")
            .field("input", &self.input)
            .field("can_reset", &self.can_reset)
            .finish()
    }
}

/// A link's write side.
pub(crate) trait Link: Send {
    /// Writes all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Drives `line` high for [`RESET_PULSE`], then low; `None` when the link has no reset line.
    fn reset(&mut self, _line: ResetLine) -> Option<io::Result<()>> {
        None
    }
}

impl Transmitter {
    pub(crate) fn new(link: impl Link + 'static, input: &str, can_reset: bool) -> Self {
        Self {
            link: Arc::new(Mutex::new(Box::new(link))),
            input: input.into(),
            can_reset,
        }
    }

    /// Sends `bytes` to the P2, waiting at most [`WRITE_TIMEOUT`] for room.
    ///
    /// # Errors
    /// [`TransmitError::Io`] when the link refuses them (unplugged, closed, stuck).
    pub fn transmit(&self, bytes: &[u8]) -> Result<(), TransmitError> {
        self.lock().write_all(bytes).map_err(|source| TransmitError::Io {
            input: self.input.to_string(),
            source,
        })
    }

    /// Resets the P2: pulses `line` (DTR on a Prop Plug, RTS on some adapters) for [`RESET_PULSE`].
    ///
    /// # Errors
    /// [`TransmitError::NoResetLine`] for a link other than a serial port; [`TransmitError::Io`] when the
    /// driver refuses to drive the line.
    pub fn reset(&self, line: ResetLine) -> Result<(), TransmitError> {
        match self.lock().reset(line) {
            None => Err(TransmitError::NoResetLine {
                input: self.input.to_string(),
            }),
            Some(result) => result.map_err(|source| TransmitError::Io {
                input: self.input.to_string(),
                source,
            }),
        }
    }

    /// Whether [`reset`](Self::reset) can work (a serial port).
    pub fn can_reset(&self) -> bool {
        self.can_reset
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Box<dyn Link>> {
        self.link.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A serial port's second descriptor.
pub(crate) struct SerialLink(pub(crate) Box<dyn serialport::SerialPort>);

impl Link for SerialLink {
    /// Written into the driver's buffer, which sends it; not drained (`tcdrain` waits for a far end that may
    /// not be reading).
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }

    fn reset(&mut self, line: ResetLine) -> Option<io::Result<()>> {
        let port = &mut self.0;
        let mut drive = |level: bool| match line {
            ResetLine::Dtr => port.write_data_terminal_ready(level),
            ResetLine::Rts => port.write_request_to_send(level),
        };
        let pulse = drive(true).and_then(|()| {
            std::thread::sleep(RESET_PULSE);
            drive(false)
        });
        Some(pulse.map_err(io::Error::from))
    }
}

/// The same TCP socket.
pub(crate) struct TcpLink(pub(crate) TcpStream);

impl Link for TcpLink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        Write::write_all(&mut self.0, bytes)
    }
}
