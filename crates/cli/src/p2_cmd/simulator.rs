//! `sluicegate p2 simulate`: the built-in P2 on the far end of a serial line, for tests, demos and users without
//! a board. Paced writes are non-blocking: a byte the line refuses is lost, as on a UART without flow control,
//! and counted. Paced, it also reads what the terminal types to it at the demo's prompt and echoes it.

use std::io::{BufRead, Read as _, Write};
use std::time::{Duration, Instant};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use serialport::{SerialPort, TTYPort};
use sluicegate_p2::io::source::{Read, SimulatedSource};
use sluicegate_p2::io::{DEFAULT_BAUD, Pace, Scenario, Source};
use sluicegate_p2::loader::{RomLoader, RomOutput};

use crate::exit::Failure;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// What the P2 sends: hsv16, mixed or demo.
    #[arg(value_parser = super::scenario_parser())]
    scenario: Scenario,
    /// Send at this baud rate (8N1), with non-blocking writes, reading what is typed at the demo's prompt;
    /// without it, as fast as the line takes bytes.
    #[arg(long, value_name = "BAUD", value_parser = clap::value_parser!(u32).range(1..))]
    pace: Option<u32>,
    /// Write to this serial device.
    #[arg(long, value_name = "PATH", required_unless_present = "pty", conflicts_with = "pty")]
    device: Option<String>,
    /// Open a fresh pseudo-terminal, print the path to connect to on stdout, and start when a line (or end of
    /// input) arrives on stdin.
    #[arg(long)]
    pty: bool,
    /// Baud rate to open --device at.
    #[arg(long, default_value_t = DEFAULT_BAUD)]
    baud: u32,
    /// Keep the line open this long after the last byte, so the reader can drain it (milliseconds).
    #[arg(long, default_value_t = 500, value_name = "MS")]
    linger_ms: u64,
    /// Speak the P2 ROM loader first (docs/p2-protocol.md B.1): answer Prop_Chk, take a Prop_Txt download, reply
    /// to `?`, and send the scenario only once the downloaded program "runs".
    #[arg(long)]
    rom_loader: bool,
    /// The letter of the ROM's `Prop_Ver` answer (A, G = silicon; B, E = FPGA; others unsupported).
    #[arg(long, default_value_t = 'G', requires = "rom_loader")]
    chip: char,
    /// A P2 that never answers: read and ignore everything.
    #[arg(long, requires = "rom_loader")]
    silent: bool,
    /// Give up waiting for a host that sends nothing after this long (milliseconds).
    #[arg(long, default_value_t = 30_000, value_name = "MS", requires = "rom_loader")]
    wait_ms: u64,
    /// Test switch: replace the Nth byte received from the host (counting from 0) by the next base64
    /// character, as a corrupted line would.
    #[arg(long, hide = true, value_name = "N", requires = "rom_loader")]
    corrupt_byte: Option<usize>,
}

pub fn run(args: SimulateArgs) -> Result<(), Failure> {
    let stream = args.scenario.stream();
    let mut port: Box<dyn SerialPort> = if args.pty {
        let (master, slave) = TTYPort::pair()
            .map_err(|error| Failure::device(anyhow::anyhow!("cannot open a pseudo-terminal: {error}")))?;
        let path = slave.name().unwrap_or_default();
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{path}")
            .and_then(|()| stdout.flush())
            .map_err(Failure::runtime)?;
        eprintln!("sluicegate p2 simulate: connect to {path}, then press Enter to start");
        let mut line = String::new();
        // Our handle on the far end holds a lock that would keep the terminal out: close it before it connects.
        drop(slave);
        let _ = std::io::stdin().lock().read_line(&mut line);
        Box::new(master)
    } else {
        let path = args.device.as_deref().expect("clap requires --device without --pty");
        serialport::new(path, args.baud)
            .open()
            .map_err(|error| Failure::device(anyhow::anyhow!("serial port {path}: {error}")))?
    };
    let checksum_reply = if args.rom_loader {
        match serve_rom_loader(port.as_mut(), &args)? {
            Some(reply) => reply,
            None => return Ok(()),
        }
    } else {
        Vec::new()
    };
    // A P2 is never descheduled: keep the simulated UART on time when the OS allows it.
    if let Err(error) = sluicegate_core::realtime::raise_current_thread() {
        tracing::debug!(%error, "simulator stays at normal priority");
    }
    let started = Instant::now();
    let (sent, refused) = match args.pace {
        Some(baud) => send_paced(port.as_mut(), &checksum_reply, &stream, baud)?,
        None => {
            let bytes = &[checksum_reply.as_slice(), stream.bytes()].concat();
            port.set_timeout(Duration::from_secs(30)).map_err(Failure::runtime)?;
            port.write_all(bytes)
                .map_err(|error| Failure::device(anyhow::anyhow!("write failed: {error}")))?;
            (stream.bytes().len(), 0)
        }
    };
    let _ = port.flush();
    eprintln!(
        "sluicegate p2 simulate: sent {} messages, {sent} bytes in {:.2} s; {refused} bytes refused by the line (lost)",
        stream.messages().len(),
        started.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_millis(args.linger_ms));
    Ok(())
}

/// The ROM loader's side of B.1 until a downloaded program runs (`Some` with the checksum reply still to send,
/// empty after `~`), or the host hangs up or stays silent for `--wait-ms` (`None`).
fn serve_rom_loader(port: &mut dyn SerialPort, args: &SimulateArgs) -> Result<Option<Vec<u8>>, Failure> {
    let letter = u8::try_from(args.chip)
        .ok()
        .filter(u8::is_ascii_graphic)
        .ok_or_else(|| Failure::usage(anyhow::anyhow!("--chip must be one printable ASCII letter")))?;
    let mut rom = RomLoader::new(letter);
    port.set_timeout(Duration::from_millis(20)).map_err(Failure::runtime)?;
    let wait = Duration::from_millis(args.wait_ms);
    let mut last_heard = Instant::now();
    let mut received = 0usize;
    let mut buf = [0u8; 4096];
    loop {
        let len = match port.read(&mut buf) {
            Ok(len) => len,
            // No terminal on the other end (yet, or any more): a pty master reports a hang-up.
            Err(error) if matches!(error.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::Other) => {
                if received > 0 {
                    eprintln!("sluicegate p2 simulate: the host hung up after {received} bytes; no program runs");
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(5));
                0
            }
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ) =>
            {
                0
            }
            Err(error) => return Err(Failure::device(anyhow::anyhow!("read failed: {error}"))),
        };
        if len == 0 {
            if last_heard.elapsed() > wait {
                eprintln!(
                    "sluicegate p2 simulate: nothing from the host for {} ms; giving up",
                    args.wait_ms
                );
                return Ok(None);
            }
            continue;
        }
        last_heard = Instant::now();
        let bytes = &mut buf[..len];
        if let Some(at) = args
            .corrupt_byte
            .and_then(|n| n.checked_sub(received))
            .filter(|&at| at < len)
        {
            bytes[at] = next_base64_character(bytes[at]);
            eprintln!("sluicegate p2 simulate: corrupted byte {} in flight", received + at);
        }
        received += len;
        if args.silent {
            continue;
        }
        rom.handle_bytes(bytes);
        let mut outputs = std::iter::from_fn(|| rom.poll_output()).peekable();
        let mut checksum_reply = Vec::new();
        while let Some(output) = outputs.next() {
            match output {
                // B.1 step 5: the `.` goes out with the program's first output, fused to it, as on a real P2.
                RomOutput::Reply(reply) if matches!(outputs.peek(), Some(RomOutput::Run(_))) => checksum_reply = reply,
                RomOutput::Reply(reply) => {
                    port.write_all(&reply)
                        .map_err(|error| Failure::device(anyhow::anyhow!("write failed: {error}")))?;
                    let _ = port.flush();
                }
                RomOutput::Run(loaded) => {
                    eprintln!(
                        "sluicegate p2 simulate: loaded {} bytes (long sum {:#010x}), running",
                        loaded.image.len(),
                        loaded.sum
                    );
                    return Ok(Some(checksum_reply));
                }
                RomOutput::Rejected(loaded) => {
                    let fault = loaded.fault.map(|fault| fault.to_string()).unwrap_or_default();
                    eprintln!(
                        "sluicegate p2 simulate: rejected a download of {} bytes: {fault}",
                        loaded.image.len()
                    );
                }
            }
        }
    }
}

/// The base64 character after `byte` (wrapping), or `byte` with its low bit flipped if it is not base64.
fn next_base64_character(byte: u8) -> u8 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    match ALPHABET.iter().position(|&c| c == byte) {
        Some(index) => ALPHABET[(index + 1) % 64],
        None => byte ^ 1,
    }
}

/// Writes `reply` (the ROM loader's checksum answer, if any), then `stream` at `baud` (10 bits a byte) with
/// non-blocking writes, paced by the in-process simulator's source: like it, the program reads what is typed
/// to it (read from the line on a thread of its own) at the stream's prompts and echoes it. Returns the bytes
/// of the stream the line took (echoes included) and those it refused.
fn send_paced(
    port: &mut dyn SerialPort,
    reply: &[u8],
    stream: &sluicegate_p2::simulate::Stream,
    baud: u32,
) -> Result<(usize, usize), Failure> {
    if baud == 0 {
        return Err(Failure::usage(anyhow::anyhow!("--pace must be a positive baud rate")));
    }
    port.set_timeout(Duration::ZERO).map_err(Failure::runtime)?;
    let mut program = SimulatedSource::new(stream, Pace::Baud(baud));
    let typed = program.transmitter();
    let mut line = port.try_clone().map_err(Failure::runtime)?;
    line.set_timeout(Duration::from_millis(20)).map_err(Failure::runtime)?;
    let done = Arc::new(AtomicBool::new(false));
    let keyboard = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            while !done.load(Ordering::Relaxed) {
                match line.read(&mut buf) {
                    Ok(len) => {
                        let _ = typed.transmit(&buf[..len]);
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
                    // The terminal went away.
                    Err(_) => return,
                }
            }
        })
    };
    let mut write = |bytes: &[u8]| match port.write(bytes) {
        Ok(written) => Ok(written),
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            Ok(0)
        }
        Err(error) => Err(Failure::device(anyhow::anyhow!("write failed: {error}"))),
    };
    write(reply)?;
    let (mut sent, mut refused) = (0, 0);
    let mut buf = vec![0u8; 64 * 1024];
    let result = loop {
        match program.read(&mut buf) {
            Ok(Read::Data { len, .. }) => match write(&buf[..len]) {
                Ok(written) => {
                    sent += written;
                    refused += len - written;
                }
                Err(failure) => break Err(failure),
            },
            Ok(Read::Idle) => {}
            Ok(Read::End) => break Ok((sent, refused)),
            Err(error) => break Err(Failure::runtime(error)),
        }
    };
    done.store(true, Ordering::Relaxed);
    let _ = keyboard.join();
    result
}
