//! `sluicegate rlnc send`: a file or stdin over UDP to `rlnc recv`.

use std::fs::File;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use sluicegate_rlnc::net::{self, SendOptions, Socket, SocketOptions};
use sluicegate_rlnc::transfer::SenderConfig;

use super::ModeArg;
use super::security::{self, Resolved, SecurityArgs};
use super::transfer::{Bar, LossArgs, cancel_on_signals, cpu_seconds, hex, net_failure, note_capped_buffers};
use crate::exit::Failure;

/// `sluicegate rlnc send` arguments.
#[derive(Args, Debug)]
pub struct SendArgs {
    /// File to send, `-` for stdin.
    file: PathBuf,
    /// Receiver address, e.g. 127.0.0.1:7000.
    #[arg(long)]
    to: SocketAddr,
    /// Symbols per generation.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u8).range(1..))]
    k: u8,
    /// Symbol size in bytes (1200 fits a 1500-byte MTU).
    #[arg(long, default_value_t = 1200, value_parser = clap::value_parser!(u16).range(1..=9000))]
    symbol_size: u16,
    /// Coding mode.
    #[arg(long, value_enum, default_value_t = ModeArg::Systematic)]
    mode: ModeArg,
    /// Generations in flight at most; the congestion controller sizes the window to the path below this.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u16).range(1..=1024))]
    window: u16,
    /// Rate ceiling in MB/s (default: none, the congestion controller finds the path's rate); also sizes
    /// the socket's send buffer (20 ms of it, 1–32 MiB; 32 MiB without a ceiling).
    #[arg(long)]
    rate: Option<f64>,
    /// Session id (default: random).
    #[arg(long)]
    session: Option<u64>,
    /// Give up after this many seconds without progress from the receiver. A closed port
    /// (nothing listening, or the receiver gone) ends the transfer at once with exit code 4.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    #[command(flatten)]
    security: SecurityArgs,
    /// Give up if the receiver has not answered the handshake within this many seconds (time to
    /// start it and type the code). With a printed code a closed port is waited out until then.
    #[arg(long, default_value_t = 120)]
    handshake_timeout: u64,
    #[command(flatten)]
    loss: LossArgs,
    /// One JSON object on stdout instead of the summary (and no progress bar).
    #[arg(long)]
    json: bool,
}

fn random_session() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

/// The input and its length when it is a regular file.
fn open_input(path: &PathBuf) -> Result<(Box<dyn Read + Send>, Option<u64>), Failure> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(io::stdin()), None));
    }
    let file = File::open(path)
        .with_context(|| format!("cannot open {}", path.display()))
        .map_err(Failure::input)?;
    let len = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    Ok((Box::new(file), len))
}

/// `sluicegate rlnc send`.
pub fn send(args: SendArgs) -> Result<(), Failure> {
    let (input, len) = open_input(&args.file)?;
    let resolved = args.security.for_sender()?;
    resolved.warn();
    let mut config = SenderConfig::new(args.session.unwrap_or_else(random_session));
    config.k = args.k;
    config.symbol_size = args.symbol_size;
    config.mode = args.mode.single();
    config.window = args.window;
    config.rate = args.rate.map_or(0, |r| (r * 1e6) as u64);
    let mut socket = Socket::connect(args.to, SocketOptions::sender(config.rate))
        .with_context(|| format!("cannot open a UDP socket to {}", args.to))
        .map_err(Failure::device)?;
    note_capped_buffers(socket.tuning());
    let options = SendOptions {
        loss: args.loss.model(),
        seed: args.loss.seed,
        timeout: Duration::from_secs(args.timeout),
        cancel: Some(cancel_on_signals()?),
        security: resolved.security(),
        handshake: security::handshake(Some(Duration::from_secs(args.handshake_timeout))),
        await_receiver: matches!(resolved, Resolved::Printed(_)),
        ..SendOptions::new(config)
    };
    if let Resolved::Printed(code) = &resolved {
        security::print_code(code);
    }
    let bar = Bar::new(args.json, len);
    let cpu_before = cpu_seconds();
    let report = net::send(&mut socket, input, &options, &mut |p| bar.update(p)).map_err(net_failure)?;
    bar.finish();
    let cpu = cpu_seconds() - cpu_before;
    let secs = report.elapsed.as_secs_f64();
    let needed = report.bytes.div_ceil(config.generation_bytes() as u64).max(1) * u64::from(config.k);
    let overhead = report.stats.data_sent as f64 / needed as f64;
    let (receiver_len, receiver_digest) = report.receiver_digest;
    if args.json {
        let line = serde_json::json!({
            "bytes": report.bytes,
            "seconds": secs,
            "mb_per_s": report.bytes as f64 / secs / 1e6,
            "session": config.session,
            "packets_sent": report.stats.data_sent,
            "packets_needed": needed,
            "overhead": overhead,
            "boosted": report.stats.boosted,
            "injected_losses": report.injected_losses,
            "send_calls": report.send_calls,
            "gso": report.tuning.gso,
            "send_buffer": report.tuning.send_buffer.granted,
            "cpu_seconds": cpu,
            "cpu_seconds_per_gb": cpu / (report.bytes.max(1) as f64 / 1e9),
            "pool_dynamic_allocations": report.pool.dynamic_allocations,
            "sha256": hex(&report.digest),
            "receiver_sha256": hex(&receiver_digest),
            "receiver_bytes": receiver_len,
            "verified": report.verified(),
            "secure": report.secure,
        });
        println!("{line}");
    } else {
        eprintln!(
            "sent {} bytes in {secs:.2} s ({:.2} MB/s, {cpu:.2} s of CPU), {} packets for {needed} needed (overhead {overhead:.3}) in {} sends, session {:016x}",
            report.bytes,
            report.bytes as f64 / secs / 1e6,
            report.stats.data_sent,
            report.send_calls,
            config.session
        );
        eprintln!("sha256 {}  (sent)", hex(&report.digest));
        eprintln!("sha256 {}  (received, {receiver_len} bytes)", hex(&receiver_digest));
    }
    if !report.verified() {
        return Err(Failure::runtime(anyhow::anyhow!(
            "the receiver's SHA-256 differs from the input's"
        )));
    }
    if !args.json {
        eprintln!("verified: SHA-256 equal");
    }
    Ok(())
}
