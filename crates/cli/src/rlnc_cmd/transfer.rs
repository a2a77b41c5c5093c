//! `sluicegate rlnc send` and `sluicegate rlnc recv`: files and streams over UDP.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sluicegate_rlnc::net::{self, NetError, Progress, ReceiveOptions, SendOptions};
use sluicegate_rlnc::transfer::link::LossModel;
use sluicegate_rlnc::transfer::{ReceiverConfig, SenderConfig};

use super::ModeArg;
use crate::exit::Failure;

/// Loss injection flags, on either side.
#[derive(Args, Debug, Clone, Copy)]
pub struct LossArgs {
    /// Drop this fraction (0..1) of outgoing datagrams, for testing.
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    loss: f64,
    /// Drop in bursts (Gilbert–Elliott, same average as --loss) instead of independently.
    #[arg(long)]
    burst: bool,
    /// Mean burst length in datagrams, with --burst.
    #[arg(long, default_value_t = 4.0)]
    burst_len: f64,
    /// Seed of the loss process.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn fraction(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..0.95).contains(&p) {
        Ok(p)
    } else {
        Err("must be in 0..0.95".into())
    }
}

impl LossArgs {
    fn model(&self) -> LossModel {
        if self.loss == 0.0 {
            LossModel::None
        } else if self.burst {
            LossModel::bursty(self.loss, self.burst_len)
        } else {
            LossModel::Independent(self.loss)
        }
    }
}

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
    /// Rate ceiling in MB/s (default: none; the congestion controller finds the path's rate).
    #[arg(long)]
    rate: Option<f64>,
    /// Session id (default: random).
    #[arg(long)]
    session: Option<u64>,
    /// Give up after this many seconds without progress at the receiver.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    #[command(flatten)]
    loss: LossArgs,
    /// One JSON object on stdout instead of the summary.
    #[arg(long)]
    json: bool,
}

/// `sluicegate rlnc recv` arguments.
#[derive(Args, Debug)]
pub struct RecvArgs {
    /// Address to listen on, e.g. 127.0.0.1:7000.
    #[arg(long)]
    listen: SocketAddr,
    /// Output file, `-` for stdout.
    #[arg(long)]
    out: PathBuf,
    /// Accept only this session id (default: the first sender's).
    #[arg(long)]
    session: Option<u64>,
    /// Give up after this many seconds without progress once the transfer started.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Give up if no transfer starts within this many seconds (default: wait forever).
    #[arg(long)]
    wait: Option<u64>,
    /// After done, keep answering the sender this many milliseconds.
    #[arg(long, default_value_t = 1000)]
    linger_ms: u64,
    #[command(flatten)]
    loss: LossArgs,
    /// One JSON object instead of the summary (on stderr when --out is stdout).
    #[arg(long)]
    json: bool,
}

fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A progress bar on stderr, only when stderr is a terminal.
fn progress_bar() -> Option<ProgressBar> {
    io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{bytes}/{total_bytes} {wide_bar} {bytes_per_sec} {eta}")
                .expect("valid template"),
        );
        bar
    })
}

fn update(bar: &Option<ProgressBar>, p: Progress) {
    if let Some(bar) = bar {
        if let Some(total) = p.total {
            bar.set_length(total);
        }
        bar.set_position(p.bytes);
    }
}

fn net_failure(error: NetError) -> Failure {
    match error {
        NetError::PeerSilent(_) | NetError::Session(_) => Failure::device(error),
        other => Failure::runtime(other),
    }
}

fn random_session() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

/// `sluicegate rlnc send`.
pub fn send(args: SendArgs) -> Result<(), Failure> {
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            File::open(&args.file)
                .with_context(|| format!("cannot open {}", args.file.display()))
                .map_err(Failure::input)?,
        )
    };
    let bind: SocketAddr = if args.to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
        .parse()
        .expect("valid address");
    let socket = UdpSocket::bind(bind)
        .context("cannot bind a UDP socket")
        .map_err(Failure::device)?;
    let mut config = SenderConfig::new(args.session.unwrap_or_else(random_session));
    config.k = args.k;
    config.symbol_size = args.symbol_size;
    config.mode = args.mode.single();
    config.window = args.window;
    config.rate = args.rate.map_or(0, |r| (r * 1e6) as u64);
    config.idle_timeout = Duration::from_secs(args.timeout);
    let options = SendOptions {
        config,
        loss: args.loss.model(),
        seed: args.loss.seed,
    };
    let bar = progress_bar();
    let report = net::send(&socket, args.to, input, &options, &mut |p| update(&bar, p)).map_err(net_failure)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
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
            "sha256": hex(&report.digest),
            "receiver_sha256": hex(&receiver_digest),
            "receiver_bytes": receiver_len,
            "verified": report.verified(),
        });
        println!("{line}");
    } else {
        eprintln!(
            "sent {} bytes in {secs:.2} s ({:.2} MB/s), {} packets for {needed} needed (overhead {overhead:.3}), session {:016x}",
            report.bytes,
            report.bytes as f64 / secs / 1e6,
            report.stats.data_sent,
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

/// `sluicegate rlnc recv`.
pub fn recv(args: RecvArgs) -> Result<(), Failure> {
    let to_stdout = args.out.as_os_str() == "-";
    let output: Box<dyn Write> = if to_stdout {
        Box::new(BufWriter::new(io::stdout().lock()))
    } else {
        Box::new(BufWriter::new(
            File::create(&args.out)
                .with_context(|| format!("cannot create {}", args.out.display()))
                .map_err(Failure::runtime)?,
        ))
    };
    let socket = UdpSocket::bind(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))
        .map_err(Failure::device)?;
    let options = ReceiveOptions {
        config: ReceiverConfig {
            session: args.session,
            idle_timeout: Duration::from_secs(args.timeout),
            linger: Duration::from_millis(args.linger_ms),
            ..ReceiverConfig::new(random_session() as u32)
        },
        loss: args.loss.model(),
        seed: args.loss.seed,
        first_timeout: args.wait.map(Duration::from_secs),
    };
    let bar = progress_bar();
    let report = net::receive(&socket, output, &options, &mut |p| update(&bar, p)).map_err(net_failure)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let secs = report.elapsed.as_secs_f64();
    let s = report.stats;
    if args.json {
        let line = serde_json::json!({
            "bytes": report.bytes,
            "seconds": secs,
            "session": report.session,
            "sha256": hex(&report.digest),
            "stats": s,
        });
        if to_stdout {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    } else {
        eprintln!(
            "received {} bytes in {secs:.2} s, session {:016x}: {} data datagrams ({} innovative, {} redundant), {} malformed, {} foreign ignored",
            report.bytes, report.session, s.data, s.innovative, s.redundant, s.malformed, s.foreign
        );
        eprintln!("sha256 {}", hex(&report.digest));
    }
    Ok(())
}
