//! `sluicegate rlnc recv`: one transfer from `rlnc send` into a file or stdout.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use sluicegate_rlnc::net::{self, NetError, ReceiveOptions, Socket, SocketOptions};
use sluicegate_rlnc::transfer::ReceiverConfig;

use super::partial::PartialFile;
use super::security::{self, SecurityArgs};
use super::transfer::{Bar, LossArgs, cancel_on_signals, cpu_seconds, hex, net_failure, note_capped_buffers};
use crate::exit::Failure;

/// `sluicegate rlnc recv` arguments.
#[derive(Args, Debug)]
pub struct RecvArgs {
    /// Address to listen on, e.g. 0.0.0.0:7000 (port 0: any free port). Printed on stderr as
    /// `listening on ADDRESS` once bound.
    #[arg(long)]
    listen: SocketAddr,
    /// Output file, `-` for stdout. A file is written as FILE.partial and renamed to FILE only
    /// once complete; on failure or Ctrl-C the partial file is removed.
    #[arg(long)]
    out: PathBuf,
    /// Accept only this session id (default: the first sender's).
    #[arg(long)]
    session: Option<u64>,
    /// Once a transfer started, give up after this many seconds without data. A sender whose
    /// port closes (it went away) ends the transfer at once with exit code 4.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Give up if no transfer starts within this many seconds (default: wait for the first
    /// datagram forever).
    #[arg(long)]
    wait: Option<u64>,
    /// After done, keep answering the sender this many milliseconds.
    #[arg(long, default_value_t = 1000)]
    linger_ms: u64,
    /// Socket receive buffer to ask for, in MiB (the system may cap it at net.core.rmem_max,
    /// and says so); 32 MiB holds 30 ms of 1 GB/s.
    #[arg(long, default_value_t = 32)]
    socket_buffer_mib: usize,
    #[command(flatten)]
    security: SecurityArgs,
    #[command(flatten)]
    loss: LossArgs,
    /// One JSON object instead of the summary (on stderr when --out is stdout), no progress bar.
    #[arg(long)]
    json: bool,
}

/// Where the received bytes go.
enum Destination {
    Stdout(io::Stdout),
    File(PartialFile),
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Destination::Stdout(out) => out.write(buf),
            Destination::File(file) => file.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Destination::Stdout(out) => out.flush(),
            Destination::File(file) => file.flush(),
        }
    }
}

impl Destination {
    fn commit(&mut self) -> io::Result<()> {
        match self {
            Destination::Stdout(out) => out.flush(),
            Destination::File(file) => file.commit(),
        }
    }
}

/// `sluicegate rlnc recv`.
pub fn recv(args: RecvArgs) -> Result<(), Failure> {
    let resolved = args.security.for_listener("rlnc recv")?;
    let to_stdout = args.out.as_os_str() == "-";
    if args.out.is_dir() {
        return Err(Failure::usage(anyhow::anyhow!(
            "--out {} is a directory; name the file to write",
            args.out.display()
        )));
    }
    let cancel = cancel_on_signals()?;
    let socket_options = SocketOptions {
        receive_buffer: args.socket_buffer_mib << 20,
        ..SocketOptions::receiver()
    };
    let mut socket = Socket::bind(args.listen, socket_options)
        .with_context(|| format!("cannot listen on {}", args.listen))
        .map_err(Failure::device)?;
    let (output, partial) = if to_stdout {
        (Destination::Stdout(io::stdout()), None)
    } else {
        let file = PartialFile::create(&args.out)
            .with_context(|| format!("cannot create {}.partial", args.out.display()))
            .map_err(Failure::runtime)?;
        let partial = file.temporary().to_owned();
        (Destination::File(file), Some(partial))
    };
    let local = socket.local_addr().map_err(Failure::device)?;
    eprintln!("listening on {local}");
    resolved.warn();
    note_capped_buffers(socket.tuning());
    let options = ReceiveOptions {
        config: ReceiverConfig {
            session: args.session,
            ..ReceiverConfig::new(net::random_instance())
        },
        loss: args.loss.model(),
        seed: args.loss.seed,
        timeout: Duration::from_secs(args.timeout),
        first_timeout: args.wait.map(Duration::from_secs),
        linger: Duration::from_millis(args.linger_ms),
        cancel: Some(cancel),
        security: resolved.security(),
        // The sender's handshake is its first datagram: waited for as long.
        handshake: security::handshake(args.wait.map(Duration::from_secs)),
    };
    let bar = Bar::new(args.json, None);
    let cpu_before = cpu_seconds();
    let report = net::receive_and_commit(
        &mut socket,
        output,
        |output, _digest| output.commit(),
        &options,
        &mut |p| bar.update(p),
    );
    bar.finish();
    let report = match report {
        Ok(report) => report,
        // The reader of stdout stopped reading (`| head`): what it wanted, it has.
        Err(NetError::Output(e)) if to_stdout && e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => {
            if let Some(partial) = &partial {
                eprintln!("{} removed; {} not written", partial.display(), args.out.display());
            }
            return Err(net_failure(e));
        }
    };
    let cpu = cpu_seconds() - cpu_before;
    let secs = report.elapsed.as_secs_f64();
    let s = report.stats;
    if report.socket_drops > 0 {
        eprintln!(
            "note: the socket dropped {} datagrams for want of buffer space (receive buffer {} bytes; --socket-buffer-mib and {} raise it)",
            report.socket_drops, report.tuning.receive_buffer.granted, report.tuning.receive_buffer.limit
        );
    }
    if args.json {
        let line = serde_json::json!({
            "bytes": report.bytes,
            "seconds": secs,
            "mb_per_s": report.bytes as f64 / secs.max(1e-9) / 1e6,
            "session": report.session,
            "peer": report.peer.map(|p| p.to_string()),
            "sha256": hex(&report.digest),
            "socket_drops": report.socket_drops,
            "receive_calls": report.receive_calls,
            "gro": report.tuning.gro,
            "receive_buffer": report.tuning.receive_buffer.granted,
            "cpu_seconds": cpu,
            "cpu_seconds_per_gb": cpu / (report.bytes.max(1) as f64 / 1e9),
            "stats": s,
            "secure": report.secure,
        });
        if to_stdout {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    } else {
        eprintln!(
            "received {} bytes in {secs:.2} s ({cpu:.2} s of CPU), session {:016x}: {} data datagrams ({} innovative, {} redundant), {} malformed, {} foreign ignored, {} dropped in the socket",
            report.bytes,
            report.session,
            s.data,
            s.innovative,
            s.redundant,
            s.malformed,
            s.foreign,
            report.socket_drops
        );
        let refused = report.secure.channel;
        eprintln!(
            "refused before decoding: {} not authentic (tampered or foreign), {} replayed, {} malformed",
            refused.unauthenticated,
            refused.replayed,
            refused.malformed + report.secure.handshake_ignored + report.secure.before_keys
        );
        eprintln!("sha256 {}", hex(&report.digest));
    }
    Ok(())
}
