//! The terminal's displays and its way back to the P2: the display host session (snapshots, SAVE files,
//! PC_KEY/PC_MOUSE answers), and keys typed at the terminal sent to the P2.

use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsRawFd;

use nix::sys::termios::{self, InputFlags, LocalFlags, SetArg, SpecialCharacterIndices, Termios};
use sluicegate_p2::io::{PipelineMonitor, Recorder, ResetLine, SourceSpec, Transmitter};
use sluicegate_p2_live::{HostStats, LiveFeed, Notices, Session, SessionConfig};

use super::terminal::MonitorArgs;
use crate::exit::Failure;

/// The display host, when displays are modelled (the default; `--no-displays` turns them off).
pub struct DisplayHost {
    session: Option<Session>,
    notices: Option<Notices>,
}

impl DisplayHost {
    /// Starts the display host unless `--no-displays`.
    pub fn start(
        args: &MonitorArgs,
        spec: &SourceSpec,
        transmitter: Option<Transmitter>,
        recorder: &Recorder,
        pipeline: PipelineMonitor,
    ) -> Result<Self, Failure> {
        if args.no_displays {
            return Ok(Self {
                session: None,
                notices: None,
            });
        }
        let config = SessionConfig::new(spec.clone())
            .snapshots(args.snapshots.clone())
            .save_dir(args.save_dir.clone())
            .reset_line(if args.rts { ResetLine::Rts } else { ResetLine::Dtr });
        let session = Session::start(config, transmitter, recorder.clone(), pipeline).map_err(Failure::runtime)?;
        Ok(Self {
            notices: Some(session.notices()),
            session: Some(session),
        })
    }

    /// The router destination feeding the host.
    pub fn take_feed(&mut self) -> Option<LiveFeed> {
        self.session.as_mut().and_then(Session::take_feed)
    }

    /// SIGUSR1: snapshots now.
    pub fn write_snapshots(&self) {
        if let Some(session) = &self.session {
            session.write_snapshots();
        }
    }

    /// Prints the host's notices on stderr.
    pub fn report_notices(&self) {
        if let Some(notices) = &self.notices {
            while let Some(notice) = notices.poll() {
                let _ = writeln!(std::io::stderr().lock(), "sluicegate p2: {notice}");
            }
        }
    }

    /// The host's counters so far.
    pub fn stats(&self) -> Option<HostStats> {
        self.session.as_ref().map(Session::stats)
    }

    /// Ends the host once the router (and so the feed) is gone: the last lines applied, the snapshots
    /// written. Returns its counters.
    pub fn finish(mut self) -> Option<HostStats> {
        let stats = self.session.take().map(Session::finish);
        self.report_notices();
        stats
    }
}

/// Keys typed at the terminal go to the P2 while this lives: stdin, when it is a terminal, is read key by key
/// without echo, and each byte is sent as typed, Enter as CR and Backspace as 8 (PST's backspace). Ctrl-C
/// still ends the session: the terminal's signals stay on, and a Ctrl-C byte that reaches us anyway (a
/// terminal without them) is made the same SIGINT. Dropping it gives the terminal its settings back.
pub struct Keyboard {
    saved: Termios,
}

impl Keyboard {
    /// Starts forwarding typed keys to `transmitter` when stdin is a terminal (and not the input itself).
    pub fn forward(spec: &SourceSpec, transmitter: Option<Transmitter>) -> Option<Keyboard> {
        let transmitter = transmitter?;
        let stdin = std::io::stdin();
        if *spec == SourceSpec::Stdin || !stdin.is_terminal() {
            return None;
        }
        let fd = stdin.as_raw_fd();
        let saved = termios::tcgetattr(fd).ok()?;
        let mut keys = saved.clone();
        keys.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::IEXTEN);
        keys.input_flags
            .remove(InputFlags::ICRNL | InputFlags::INLCR | InputFlags::IXON);
        keys.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        keys.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        termios::tcsetattr(fd, SetArg::TCSANOW, &keys).ok()?;
        let started = std::thread::Builder::new()
            .name("p2-keys".into())
            .spawn(move || send_keys(&transmitter));
        if started.is_err() {
            let _ = termios::tcsetattr(fd, SetArg::TCSANOW, &saved);
            return None;
        }
        Some(Keyboard { saved })
    }
}

impl Drop for Keyboard {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_raw_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// Reads stdin until it ends, sending each read to the P2; a failed write is reported once and ends it.
fn send_keys(transmitter: &Transmitter) {
    const CTRL_C: u8 = 3;
    let mut buf = [0u8; 256];
    let mut stdin = std::io::stdin().lock();
    loop {
        let mut len = match stdin.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(len) => len,
        };
        let interrupted = buf[..len].iter().position(|&byte| byte == CTRL_C);
        if let Some(at) = interrupted {
            len = at;
        }
        for byte in &mut buf[..len] {
            if *byte == 0x7F {
                *byte = 8;
            }
        }
        let sent = if len == 0 {
            Ok(())
        } else {
            transmitter.transmit(&buf[..len])
        };
        if interrupted.is_some() {
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGINT);
            return;
        }
        if let Err(error) = sent {
            let _ = writeln!(std::io::stderr().lock(), "sluicegate p2: typed keys not sent: {error}");
            return;
        }
    }
}
