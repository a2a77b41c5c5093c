//! `sluicegate p2`: the receive side of a Propeller 2 debug terminal; `sluicegate p2 detect` and `p2 load`, the
//! ROM loader (`docs/p2-protocol.md` B.1); and `sluicegate p2 simulate`, a P2 on the far end of a serial line.

mod displays;
mod loader;
mod outputs;
mod simulator;
mod stats;
mod terminal;
mod ui;

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Args, Subcommand};
use sluicegate_p2::io::{Pace, ResetLine, Scenario, SourceSpec, Speed};

use crate::exit::Failure;
use terminal::MonitorArgs;

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  sluicegate p2 --simulate demo --ui\n  \
                  sluicegate p2 --port /dev/ttyUSB0 --log logs/ --stats\n  \
                  sluicegate p2 --port /dev/ttyUSB0 --snapshots shots/ --save-dir saves/\n  \
                  sluicegate p2 --replay session.sgrec --speed max --json > messages.jsonl\n  \
                  sluicegate p2 simulate hsv16 --pty --pace 2000000\n  sluicegate p2 detect --port /dev/ttyUSB0\n  \
                  sluicegate p2 load program.bin --port /dev/ttyUSB0 --verify --then-monitor\n\n\
                  Exit codes: 0 success, 1 failure while running, 2 bad usage, 3 bad input data, 4 device unavailable."
)]
pub struct P2Args {
    #[command(subcommand)]
    action: Option<P2Action>,
    #[command(flatten)]
    terminal: TerminalArgs,
}

#[derive(Debug, Subcommand)]
enum P2Action {
    /// Run the built-in P2 on the far end of a serial line (a device or a fresh pseudo-terminal).
    Simulate(simulator::SimulateArgs),
    /// Reset the P2 and ask its ROM loader which chip it is.
    Detect(loader::DetectArgs),
    /// Reset the P2 and download a binary into hub RAM at 2 Mbaud through its ROM loader; then, with
    /// --then-monitor, run the terminal on the same port.
    Load(Box<loader::LoadArgs>),
}

/// Where the bytes come from: exactly one.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct SourceArgs {
    /// Serial port of the P2 (e.g. /dev/ttyUSB0), 8N1, no flow control.
    #[arg(long, value_name = "DEVICE")]
    port: Option<String>,
    /// Replay a capture: our .sgrec recording, the reference terminal's USB traffic log or .p2rec, or raw bytes.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Read the byte stream from standard input.
    #[arg(long)]
    stdin: bool,
    /// Read the byte stream from a TCP server (e.g. a serial-to-network bridge).
    #[arg(long, value_name = "HOST:PORT")]
    tcp: Option<String>,
    /// Run the built-in P2 in-process: hsv16 (three BITMAP windows and 65,536 updates), mixed (every kind of
    /// message) or demo (a realistic session at a readable pace).
    #[arg(long, value_name = "SCENARIO", value_parser = scenario_parser())]
    simulate: Option<Scenario>,
}

#[derive(Debug, Args)]
struct TerminalArgs {
    #[command(flatten)]
    source: Option<SourceArgs>,
    /// Pulse the reset line (DTR, or RTS with --rts) for 10 ms after opening the port (--port only).
    #[arg(long)]
    reset: bool,
    /// Replay speed: 1 (as recorded; the default) or max (--replay only).
    #[arg(long, value_parser = ["1", "max"])]
    speed: Option<String>,
    /// Pace of the in-process simulator in baud (--simulate only; default: a burst for hsv16/mixed, readable
    /// for demo).
    #[arg(long, value_name = "BAUD", value_parser = clap::value_parser!(u32).range(1..))]
    pace: Option<u32>,
    #[command(flatten)]
    monitor: MonitorArgs,
}

/// Parses a scenario name (`hsv16`, `mixed`, `demo`), listing them in `--help`.
fn scenario_parser() -> impl clap::builder::TypedValueParser<Value = Scenario> {
    PossibleValuesParser::new(Scenario::ALL.map(Scenario::name))
        .map(|name| name.parse::<Scenario>().expect("one of the names listed"))
}

pub fn run(args: P2Args) -> Result<(), Failure> {
    match args.action {
        Some(P2Action::Simulate(simulate)) => simulator::run(simulate),
        Some(P2Action::Detect(detect)) => loader::run_detect(detect),
        Some(P2Action::Load(load)) => loader::run_load(*load),
        None => run_terminal(args.terminal),
    }
}

/// Refuses an option that the chosen source would ignore, so that a mistyped command line does not look as
/// if it took effect.
fn check_applicable(args: &TerminalArgs, source: &SourceArgs) -> Result<(), Failure> {
    let only = |given: bool, option: &str, with: &str| {
        if given {
            Err(Failure::usage(anyhow::anyhow!("{option} applies only with {with}")))
        } else {
            Ok(())
        }
    };
    let port = source.port.is_some();
    only(args.reset && !port, "--reset", "--port")?;
    only(args.monitor.rts && !args.reset, "--rts", "--reset (or p2 load)")?;
    only(args.monitor.baud.is_some() && !port, "--baud", "--port")?;
    only(args.speed.is_some() && source.replay.is_none(), "--speed", "--replay")?;
    only(args.pace.is_some() && source.simulate.is_none(), "--pace", "--simulate")?;
    only(
        args.monitor.show_controls && args.monitor.json,
        "--show-controls",
        "terminal text (not --json)",
    )?;
    only(
        args.monitor.coalesce_ms.is_some() && (source.replay.is_some() || source.simulate.is_some()),
        "--coalesce-ms",
        "--port, --tcp or --stdin",
    )
}

/// The source the flags describe.
fn describe_source(args: &TerminalArgs) -> Result<SourceSpec, Failure> {
    let source = args.source.as_ref().ok_or_else(|| {
        Failure::usage(anyhow::anyhow!(
            "choose a source: --port, --replay, --stdin, --tcp or --simulate"
        ))
    })?;
    check_applicable(args, source)?;
    let line = if args.monitor.rts {
        ResetLine::Rts
    } else {
        ResetLine::Dtr
    };
    Ok(if let Some(path) = &source.port {
        SourceSpec::Port {
            path: path.clone(),
            baud: args.monitor.baud(),
            reset: args.reset.then_some(line),
        }
    } else if let Some(path) = &source.replay {
        let speed = if args.speed.as_deref() == Some("max") {
            Speed::Max
        } else {
            Speed::Realtime
        };
        SourceSpec::Replay {
            path: path.clone(),
            speed,
        }
    } else if source.stdin {
        SourceSpec::Stdin
    } else if let Some(address) = &source.tcp {
        SourceSpec::Tcp {
            address: address.clone(),
        }
    } else if let Some(scenario) = source.simulate {
        SourceSpec::Simulate {
            scenario,
            pace: args.pace.map(Pace::Baud),
        }
    } else {
        unreachable!("clap requires one source")
    })
}

fn run_terminal(args: TerminalArgs) -> Result<(), Failure> {
    let opened = describe_source(&args)?.open()?;
    terminal::run(&args.monitor, opened)
}
