//! `sluicegate`: zero-copy streaming pipelines — a Propeller 2 debug terminal (`p2`), random linear network
//! coding (`rlnc`) and system audio capture (`audio`).

#![forbid(unsafe_code)]

mod audio_cmd;
mod exit;
mod p2_cmd;
mod rlnc_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "sluicegate",
    version,
    about = "Zero-copy streaming pipelines: a P2 debug terminal, network coding, audio capture",
    after_help = "Exit codes: 0 success, 1 failure while running, 2 bad usage, 3 bad input data, 4 device unavailable.\n\
                  Set SLUICEGATE_LOG=debug for diagnostics on stderr."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parallax Propeller 2 debug terminal: every DEBUG message at 2 Mbaud, framed, classified and routed.
    P2(Box<p2_cmd::P2Args>),
    /// Random linear network coding over GF(2^8): speed report, UDP file transfer, verify suite.
    Rlnc(rlnc_cmd::RlncArgs),
    /// Capture system or per-application audio from PulseAudio into pooled zero-copy buffers.
    Audio(audio_cmd::AudioArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("SLUICEGATE_LOG"))
        .init();
    let result = match Cli::parse().command {
        Command::P2(args) => p2_cmd::run(*args),
        Command::Rlnc(args) => rlnc_cmd::run(args),
        Command::Audio(args) => audio_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
