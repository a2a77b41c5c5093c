//! `sluicegate rlnc …`: network-coding tools.

use std::io::Write;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use sluicegate_rlnc::Mode;
use sluicegate_rlnc::gf::Backend;
use sluicegate_rlnc::speed::{self, SpeedConfig};

use crate::exit::Failure;

mod partial;
mod recv;
mod relay;
mod security;
mod send;
mod transfer;
mod verify;

/// `sluicegate rlnc` arguments.
#[derive(Args, Debug)]
pub struct RlncArgs {
    #[command(subcommand)]
    command: RlncCommand,
}

#[derive(Subcommand, Debug)]
enum RlncCommand {
    /// Single-core encode/decode speed report, like `openssl speed`.
    Bench(BenchArgs),
    /// Send a file or stdin over UDP to `sluicegate rlnc recv`, repairing loss by coding.
    Send(send::SendArgs),
    /// Receive one transfer from `sluicegate rlnc send` into a file or stdout.
    Recv(recv::RecvArgs),
    /// Relay a transfer from a sender to a receiver, recoding on the way so each hop repairs its own loss.
    Relay(relay::RelayArgs),
    /// Worker-pool throughput or transfer resilience, as a table or JSON.
    Verify(verify::VerifyArgs),
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Generation sizes K (symbols per generation), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,128",
          value_parser = clap::value_parser!(u8).range(1..))]
    k: Vec<u8>,
    /// Symbol size S in bytes (1..=9000).
    #[arg(long, default_value_t = 1500)]
    symbol_size: u16,
    /// Coding mode to measure.
    #[arg(long, value_enum, default_value_t = ModeArg::Both)]
    mode: ModeArg,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
    /// Minimum measuring time per figure, in milliseconds.
    #[arg(long, default_value_t = 300)]
    min_time_ms: u64,
    /// Kernel backend to measure instead of the fastest one this CPU has
    /// (portable, ssse3, gfni128, avx2, avx512bw, gfni256, gfni512).
    #[arg(long, value_name = "NAME")]
    kernel: Option<String>,
    /// Also measure the bounds (64-byte GFNI's register-only multiply-add
    /// loop, memcpy in L1 and L2) and the raw kernels as a fraction of each.
    #[arg(long)]
    kernels: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ModeArg {
    Random,
    Systematic,
    Both,
}

impl ModeArg {
    /// The mode of a transfer (`both` means systematic there).
    fn single(self) -> Mode {
        match self {
            ModeArg::Random => Mode::Random,
            ModeArg::Systematic | ModeArg::Both => Mode::Systematic,
        }
    }
}

/// Run `sluicegate rlnc …`.
pub fn run(args: RlncArgs) -> Result<(), Failure> {
    match args.command {
        RlncCommand::Bench(b) => bench(b),
        RlncCommand::Send(a) => send::send(a),
        RlncCommand::Recv(a) => recv::recv(a),
        RlncCommand::Relay(a) => relay::run(a),
        RlncCommand::Verify(a) => verify::run(a),
    }
}

fn bench(args: BenchArgs) -> Result<(), Failure> {
    if let Some(name) = &args.kernel {
        let backend: Backend = name.parse().map_err(Failure::usage)?;
        backend.activate().map_err(Failure::usage)?;
    }
    bench_report(args).map_err(Failure::runtime)
}

fn bench_report(args: BenchArgs) -> anyhow::Result<()> {
    let modes = match args.mode {
        ModeArg::Random => vec![Mode::Random],
        ModeArg::Systematic => vec![Mode::Systematic],
        ModeArg::Both => vec![Mode::Random, Mode::Systematic],
    };
    let config = SpeedConfig {
        ks: args.k,
        symbol_size: args.symbol_size,
        modes,
        min_time: Duration::from_millis(args.min_time_ms),
    };
    let mut out = std::io::stdout().lock();
    let backend = speed::backend();
    if !args.json {
        let available: Vec<&str> = Backend::available().map(Backend::name).collect();
        writeln!(out, "kernel backend: {} ({})", backend.name(), backend.describe())?;
        writeln!(out, "available: {}", available.join(", "))?;
    }
    if args.kernels {
        let bounds = speed::bounds(config.min_time);
        let figures = speed::kernel_figures(&bounds, config.min_time);
        if args.json {
            let line = serde_json::json!({ "bounds": bounds, "kernels": figures });
            writeln!(out, "{line}")?;
        } else {
            print_kernels(&mut out, &bounds, &figures)?;
        }
    }
    if !args.json {
        writeln!(
            out,
            "{:>4} {:>6} {:>11} {:>14} {:>14}",
            "K", "S", "mode", "encode MB/s", "decode MB/s"
        )?;
    }
    // Measure and print one line at a time so slow machines show progress.
    for &mode in &config.modes {
        for &k in &config.ks {
            let r = speed::measure(k, config.symbol_size, mode, config.min_time)?;
            if args.json {
                writeln!(out, "{}", serde_json::to_string(&r)?)?;
            } else {
                let mode = match r.mode {
                    Mode::Random => "random",
                    Mode::Systematic => "systematic",
                };
                writeln!(
                    out,
                    "{:>4} {:>6} {:>11} {:>14.1} {:>14.1}",
                    r.k, r.symbol_size, mode, r.encode_mb_s, r.decode_mb_s
                )?;
            }
            out.flush()?;
        }
    }
    Ok(())
}

fn print_kernels(out: &mut impl Write, bounds: &speed::Bounds, figures: &[speed::KernelFigure]) -> std::io::Result<()> {
    let or_dash = |g: Option<f64>| g.map_or_else(|| "-".to_string(), |g| format!("{g:.2}"));
    writeln!(
        out,
        "bounds GB/s: 64-byte GFNI register-only multiply-add {}, memcpy L1 {:.1}, memcpy L2 {:.1}",
        bounds
            .gfni_peak_gb_s
            .map_or_else(|| "-".to_string(), |g| format!("{g:.1}")),
        bounds.l1_copy_gb_s,
        bounds.l2_copy_gb_s
    )?;
    writeln!(
        out,
        "{:<16} {:>8} {:>10} {:>9} {:>9}",
        "kernel (S=1500)", "GB/s", "of GFNI", "of L1 cp", "of L2 cp"
    )?;
    for f in figures {
        writeln!(
            out,
            "{:<16} {:>8.1} {:>10} {:>9.2} {:>9.2}",
            f.kernel,
            f.gb_s,
            or_dash(f.of_gfni_peak),
            f.of_l1_copy,
            f.of_l2_copy
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Wrapper {
        #[command(subcommand)]
        command: RlncCommand,
    }

    #[test]
    fn parses_the_documented_flags() {
        let w = Wrapper::try_parse_from([
            "x",
            "bench",
            "--k",
            "16,32,64,128",
            "--symbol-size",
            "1500",
            "--mode",
            "systematic",
            "--json",
        ])
        .unwrap();
        let RlncCommand::Bench(b) = w.command else { panic!() };
        assert_eq!(b.k, [16, 32, 64, 128]);
        assert_eq!(b.symbol_size, 1500);
        assert!(matches!(b.mode, ModeArg::Systematic));
        assert!(b.json);
        assert!(b.kernel.is_none() && !b.kernels);
        let w = Wrapper::try_parse_from(["x", "bench", "--kernel", "avx2", "--kernels"]).unwrap();
        let RlncCommand::Bench(b) = w.command else { panic!() };
        assert_eq!(b.kernel.as_deref(), Some("avx2"));
        assert!(b.kernels);
        assert!(Wrapper::try_parse_from(["x", "bench", "--k", "0"]).is_err());
    }
}
