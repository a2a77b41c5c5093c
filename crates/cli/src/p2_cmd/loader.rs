//! `sluicegate p2 detect` and `sluicegate p2 load`: the I/O edge of the ROM loader (`docs/p2-protocol.md` B.1).
//! The text and the parsing are [`sluicegate_p2::loader`]'s; here are the port, the timing and the baud switch.
//!
//! On a pseudo-terminal (the simulator, tests) there are no control lines: a refused DTR/RTS pulse or baud
//! change is a warning there, because the far end cannot see either, and an error on any other port.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sluicegate_p2::io::source::SerialSource;
use sluicegate_p2::io::{Opened, ResetLine};
use sluicegate_p2::loader::{Chip, Download, DownloadError, Ending, LOADER_BAUD, PROP_CHK, Verdict, parse_chip};

use super::terminal::{self, MonitorArgs};
use crate::exit::Failure;

/// B.1 step 1: quiet time before the reset pulse.
const BEFORE_RESET: Duration = Duration::from_millis(250);
/// B.1 step 1: from the reset pulse to `Prop_Chk` (PNut v51's timing).
const AFTER_RESET: Duration = Duration::from_millis(17);
/// B.1 step 4: from the chip's answer to `Prop_Txt`.
const BEFORE_DOWNLOAD: Duration = Duration::from_millis(15);
/// Longest write stall (the line refuses bytes this long) before the download is given up.
const WRITE_STALL: Duration = Duration::from_secs(5);

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Serial port of the P2 (e.g. /dev/ttyUSB0).
    #[arg(long, value_name = "DEVICE")]
    port: String,
    /// Reset with RTS instead of DTR.
    #[arg(long)]
    rts: bool,
    /// How long to wait for the chip's answer to Prop_Chk (milliseconds; the reference waits 200).
    #[arg(long, default_value_t = 200, value_name = "MS")]
    answer_ms: u64,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The binary image to load into hub RAM.
    file: PathBuf,
    /// Serial port of the P2 (e.g. /dev/ttyUSB0).
    #[arg(long, value_name = "DEVICE")]
    port: String,
    /// End with `?`: the P2 checks a checksum long (appended here) and replies `.` or `!`; without it, `~`.
    #[arg(long)]
    verify: bool,
    /// After the download, keep the port open and run the terminal on it (at --baud, with the terminal's
    /// options).
    #[arg(long)]
    then_monitor: bool,
    /// How long to wait for the chip's answer to Prop_Chk, and for the checksum reply after the transfer
    /// (milliseconds).
    #[arg(long, default_value_t = 200, value_name = "MS")]
    answer_ms: u64,
    #[command(flatten)]
    monitor: MonitorArgs,
}

pub fn run_detect(args: DetectArgs) -> Result<(), Failure> {
    let line = if args.rts { ResetLine::Rts } else { ResetLine::Dtr };
    let mut link = Link::open(&args.port)?;
    let chip = link.detect(line, Duration::from_millis(args.answer_ms))?;
    println!("{chip}");
    if chip.load_limit().is_none() {
        return Err(Failure::device(anyhow::anyhow!(
            "{}: the {chip} is not supported",
            args.port
        )));
    }
    Ok(())
}

pub fn run_load(args: LoadArgs) -> Result<(), Failure> {
    let monitor = &args.monitor;
    if !args.then_monitor && monitor.shapes_the_terminal() {
        return Err(Failure::usage(anyhow::anyhow!(
            "the terminal's options (--json, --stats, --log, --windows, --record, ...) apply only with --then-monitor"
        )));
    }
    let path = args.port.clone();
    let image = std::fs::read(&args.file)
        .map_err(|error| Failure::input(anyhow::anyhow!("cannot read {}: {error}", args.file.display())))?;
    let ending = if args.verify { Ending::Check } else { Ending::Run };
    // Refuse what no chip takes before the port is touched.
    let largest = Chip::RevBC;
    Download::new(&image, largest, ending).map_err(|error| refused(&args.file, error))?;

    let line = if monitor.rts { ResetLine::Rts } else { ResetLine::Dtr };
    let answer = Duration::from_millis(args.answer_ms);
    let mut link = Link::open(&path)?;
    let chip = link.detect(line, answer)?;
    let download = Download::new(&image, chip, ending).map_err(|error| refused(&args.file, error))?;
    std::thread::sleep(BEFORE_DOWNLOAD);
    link.send(&download)?;
    let pending = match ending {
        Ending::Check => {
            // B.1 step 5: the `.` often arrives fused to the program's first output. It is dropped here and the
            // rest goes to the terminal first, so its first line is intact (`Cog0  INIT …`, not `.Cog0  INIT …`).
            let transfer = Duration::from_secs_f64(download.text().len() as f64 * 10.0 / f64::from(LOADER_BAUD));
            let (verdict, rest) = link.verdict(answer + transfer + Duration::from_secs(1))?;
            if verdict == Verdict::Bad {
                return Err(Failure::runtime(anyhow::anyhow!(
                    "{path}: the P2 replied `!`: the checksum of the {} bytes received is wrong (the transfer was \
                     corrupted); the program does not run",
                    download.image_len()
                )));
            }
            tracing::debug!(
                handed_over = rest.len(),
                "bytes after the checksum reply go to the terminal first"
            );
            rest
        }
        Ending::Run => Vec::new(),
    };
    // Back to the debug baud with no flush: the program's first bytes may already be in the OS buffer.
    link.set_baud(monitor.baud())?;
    eprintln!(
        "sluicegate p2: loaded {} ({} bytes) into the {chip}{}",
        args.file.display(),
        image.len(),
        if args.verify { ", checksum good" } else { "" }
    );
    if !args.then_monitor {
        return Ok(());
    }
    let source = link.source.with_pending(pending);
    terminal::run(monitor, Opened::port(source, &path, monitor.baud())?)
}

fn refused(file: &Path, error: DownloadError) -> Failure {
    let failure = anyhow::anyhow!("{}: not sent: {error}", file.display());
    match error {
        DownloadError::Unsupported { .. } => Failure::device(failure),
        _ => Failure::input(failure),
    }
}

/// An open port at the loader's baud.
struct Link {
    source: SerialSource,
    path: String,
    pseudo_terminal: bool,
}

impl Link {
    fn open(path: &str) -> Result<Link, Failure> {
        let source = SerialSource::open(path, LOADER_BAUD)?;
        let pseudo_terminal = std::fs::canonicalize(path).is_ok_and(|real| real.starts_with("/dev/pts"));
        Ok(Link {
            source,
            path: path.to_owned(),
            pseudo_terminal,
        })
    }

    /// A refused control-line or baud change: a warning on a pseudo-terminal, an error elsewhere.
    fn tolerate(&self, what: &str, error: impl std::fmt::Display) -> Result<(), Failure> {
        if self.pseudo_terminal {
            tracing::debug!(%error, "{what} refused by a pseudo-terminal");
            eprintln!(
                "sluicegate p2: {}: {what} is not available on a pseudo-terminal; going on",
                self.path
            );
            Ok(())
        } else {
            Err(Failure::device(anyhow::anyhow!(
                "{}: {what} failed: {error}",
                self.path
            )))
        }
    }

    /// B.1 steps 1-3: reset, `Prop_Chk`, the chip's answer.
    fn detect(&mut self, line: ResetLine, answer: Duration) -> Result<Chip, Failure> {
        std::thread::sleep(BEFORE_RESET);
        if let Err(error) = self.source.reset(line) {
            self.tolerate("the reset pulse", error)?;
        }
        std::thread::sleep(AFTER_RESET);
        // What arrived before the reset is not the ROM's answer.
        if let Err(error) = self.source.port_mut().clear(serialport::ClearBuffer::Input) {
            self.tolerate("clearing the input buffer", error)?;
        }
        self.write(PROP_CHK)?;
        self.drain();
        let mut received = Vec::new();
        let deadline = Instant::now() + answer;
        while Instant::now() < deadline {
            self.read_into(&mut received)?;
            if let Some(chip) = parse_chip(&received) {
                return Ok(chip);
            }
        }
        let heard = if received.is_empty() {
            "nothing".to_owned()
        } else {
            format!("{} bytes but no Prop_Ver line", received.len())
        };
        Err(Failure::device(anyhow::anyhow!(
            "{}: no P2 answered Prop_Chk within {} ms (heard {heard}); check the cable, power and reset line (--rts)",
            self.path,
            answer.as_millis()
        )))
    }

    /// B.1 steps 4-5: the download, line by line, with a progress bar when stderr is a terminal.
    fn send(&mut self, download: &Download) -> Result<(), Failure> {
        let progress = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(download.text().len() as u64);
            if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {eta}") {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message("loading");
            bar
        } else {
            ProgressBar::hidden()
        };
        for piece in download.pieces() {
            self.write(piece)?;
            progress.inc(piece.len() as u64);
        }
        // Drained once at the end, not per line: a drain per line costs a USB round trip each.
        self.drain();
        progress.finish_and_clear();
        Ok(())
    }

    /// Waits for `.` or `!`; what came before it is not part of the protocol and is dropped (B.1 step 6), what
    /// came after it is returned for the terminal.
    fn verdict(&mut self, wait: Duration) -> Result<(Verdict, Vec<u8>), Failure> {
        let mut received = Vec::new();
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            self.read_into(&mut received)?;
            if let Some(at) = received.iter().position(|&byte| Verdict::from_byte(byte).is_some()) {
                let verdict = Verdict::from_byte(received[at]).unwrap_or(Verdict::Bad);
                if at > 0 {
                    tracing::debug!(dropped = at, "bytes before the checksum reply");
                }
                return Ok((verdict, received.split_off(at + 1)));
            }
        }
        Err(Failure::device(anyhow::anyhow!(
            "{}: no checksum reply (`.` or `!`) within {} ms of the end of the download",
            self.path,
            wait.as_millis()
        )))
    }

    fn set_baud(&mut self, baud: u32) -> Result<(), Failure> {
        if baud == LOADER_BAUD {
            return Ok(());
        }
        if let Err(error) = self.source.port_mut().set_baud_rate(baud) {
            self.tolerate("the switch to the debug baud", error)?;
        }
        Ok(())
    }

    fn write(&mut self, mut bytes: &[u8]) -> Result<(), Failure> {
        let mut stalled_since = Instant::now();
        while !bytes.is_empty() {
            match self.source.port_mut().write(bytes) {
                Ok(written) if written > 0 => {
                    bytes = &bytes[written..];
                    stalled_since = Instant::now();
                }
                Ok(_) => {}
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(error) => return Err(Failure::device(anyhow::anyhow!("{}: write failed: {error}", self.path))),
            }
            if stalled_since.elapsed() > WRITE_STALL {
                return Err(Failure::device(anyhow::anyhow!(
                    "{}: the line took no bytes for {} s",
                    self.path,
                    WRITE_STALL.as_secs()
                )));
            }
        }
        Ok(())
    }

    /// Waits until the OS has sent what was written (before listening for an answer or changing the baud).
    fn drain(&mut self) {
        if let Err(error) = self.source.port_mut().flush() {
            tracing::debug!(%error, "drain refused");
        }
    }

    /// One read of at most the source's poll interval.
    fn read_into(&mut self, received: &mut Vec<u8>) -> Result<(), Failure> {
        let mut buf = [0u8; 4096];
        match self.source.port_mut().read(&mut buf) {
            Ok(len) => received.extend_from_slice(&buf[..len]),
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ) => {}
            Err(error) => return Err(Failure::device(anyhow::anyhow!("{}: read failed: {error}", self.path))),
        }
        Ok(())
    }
}
