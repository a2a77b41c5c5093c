mod rlnc_cmd;

use clap::{Parser, Subcommand};

/// sluicegate: zero-copy streaming pipelines.
#[derive(Parser, Debug)]
#[command(name = "sluicegate", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// GF(2^8) network coding (rlnc pipeline).
    Rlnc(rlnc_cmd::RlncArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Rlnc(args) => rlnc_cmd::run(args),
    }
}
