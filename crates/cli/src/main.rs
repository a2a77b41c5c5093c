//! The `sluicegate` command.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod audio_cmd;

#[derive(Debug, Parser)]
#[command(name = "sluicegate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Capture system or per-application audio from PulseAudio.
    Audio(audio_cmd::AudioArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Audio(args) => audio_cmd::run(args),
    }
}
