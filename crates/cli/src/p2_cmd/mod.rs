//! `sluicegate p2`: the receive side of a Propeller 2 debug terminal; `sluicegate p2 detect` and `p2 load`, the
//! ROM loader (p2-protocol B.1); and `sluicegate p2 simulate`, a P2 on the far end of a serial line.

mod loader;
mod outputs;
mod pst;
mod simulator;
mod tally;

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use crossbeam_channel::RecvTimeoutError;
use sluicegate_p2::pipeline::{Pipeline, PipelineConfig, PipelineEvent, Tap};
use sluicegate_p2::recording::RecordingWriter;
use sluicegate_p2::source::{
    self, Pace, ReplaySource, ResetLine, Scenario, SerialSource, SimulatedSource, Source, SourceError, Speed,
    StreamSource,
};
use sluicegate_p2::{Config, KindSet, Router, Subscription};

use crate::exit::Failure;
use outputs::{DebugLog, JsonLines, Terminal, WindowFiles};
use pst::Controls;
use tally::Tally;

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  sluicegate p2 --simulate demo\n  sluicegate p2 --port /dev/ttyUSB0 --log logs/ --stats\n  \
                  sluicegate p2 --replay session.sgrec --speed max --json > messages.jsonl\n  \
                  sluicegate p2 simulate hsv16 --pty --pace 2000000\n  sluicegate p2 detect --port /dev/ttyUSB0\n  \
                  sluicegate p2 load program.bin --port /dev/ttyUSB0 --verify --then-monitor"
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
    /// Run the built-in P2 in-process.
    #[arg(long, value_enum, value_name = "SCENARIO")]
    simulate: Option<ScenarioArg>,
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

/// How the terminal shows, keeps and counts what arrives (shared by `sluicegate p2` and `p2 load --then-monitor`).
#[derive(Debug, Args)]
struct MonitorArgs {
    /// Debug baud rate of the serial port (--port only) [default: 2000000].
    #[arg(long)]
    baud: Option<u32>,
    /// Reset with RTS instead of DTR (with --reset, or when loading).
    #[arg(long)]
    rts: bool,
    /// One JSON object per message on stdout (instead of terminal text); stats as JSON on stderr.
    #[arg(long)]
    json: bool,
    /// Show PST control codes as tags (<HOME>, <POS:x,y>, …) instead of acting on them.
    #[arg(long)]
    show_controls: bool,
    /// Write the debug log (the reference terminal's format) into DIR; a new file at each P2 reboot.
    #[arg(long, value_name = "DIR")]
    log: Option<PathBuf>,
    /// Write one file per DEBUG window declaration, with its data lines, into DIR (NAME.txt; a window declared
    /// again starts NAME.2.txt).
    #[arg(long, value_name = "DIR")]
    windows: Option<PathBuf>,
    /// Record the raw bytes with their arrival times (.sgrec) for --replay.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Print statistics at exit (and on SIGUSR1).
    #[arg(long)]
    stats: bool,
    /// Byte ring capacity, 64 KiB to 1 GiB.
    #[arg(long, default_value_t = sluicegate_core::ring::DEFAULT_RING_CAPACITY as u64, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(RING_BYTES.0..=RING_BYTES.1))]
    ring_bytes: u64,
    /// Idle time after which unfinished text is shown (milliseconds).
    #[arg(long, default_value_t = 50, value_name = "MS")]
    idle_ms: u64,
    /// Under sustained traffic from a port, TCP or stdin, read at most once per this many milliseconds
    /// (0 to 100), letting bytes gather in the OS buffer meanwhile: at 2 Mbaud, 10 gives a tenth of the reads
    /// and wake-ups and about half the CPU, but bytes then wait up to 10 ms before they are read and stamped.
    /// A message after a longer pause is read at once. The default, 0, reads every byte as soon as it arrives:
    /// the lowest latency and exact arrival times; CPU follows the adapter's read rate. [default: 0]
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=100))]
    coalesce_ms: Option<u64>,
    /// Where the terminal's threads run: `auto` keeps them together on the CPU it starts on when reading a
    /// port, TCP or stdin (a hand-over between threads on one CPU costs less than half as much), and free for
    /// a replay or the simulator; `any` leaves them free; a number pins them to that CPU.
    #[arg(long, default_value = "auto", value_name = "auto|any|N", value_parser = parse_cpu)]
    cpu: CpuChoice,
    /// Test switch: the extraction worker panics once before this many messages.
    #[arg(long, hide = true)]
    inject_panic_after: Option<u64>,
    /// Test switch: the consumer stalls this long before routing the first message (to force an overflow).
    #[arg(long, hide = true, value_name = "MS")]
    stall_ms: Option<u64>,
}

/// `--coalesce-ms` when not given: eager reads. At 2 Mbaud over a pty they meet both of issue 6's goals on a
/// quiet host (CPU under 1 % of a core, p99 read → delivery ~30 µs); coalesced reads halve the CPU but hold
/// bytes in the OS buffer for up to the window, which no latency figure of ours sees (BENCHMARKS.md).
const DEFAULT_COALESCE_MS: u64 = 0;

/// The smallest and largest `--ring-bytes`: the smallest holds a whole longest line (64 KiB), so that a
/// ring too small for one message cannot discard every message after it; the largest bounds the allocation.
const RING_BYTES: (u64, u64) = (64 << 10, 1 << 30);

/// `--cpu`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CpuChoice {
    /// Together for a live link, free otherwise.
    Auto,
    /// Free to move.
    Any,
    /// Pinned to this CPU.
    Pinned(usize),
}

fn parse_cpu(value: &str) -> Result<CpuChoice, String> {
    match value {
        "auto" => Ok(CpuChoice::Auto),
        "any" => Ok(CpuChoice::Any),
        number => number
            .parse()
            .map(CpuChoice::Pinned)
            .map_err(|_| format!("expected auto, any or a CPU number, not {number:?}")),
    }
}

/// Resolves `--cpu` and pins the calling (consumer) thread there; the pipeline pins its own two.
fn place_threads(choice: CpuChoice, origin: Origin) -> Result<Option<usize>, Failure> {
    let cpu = match choice {
        CpuChoice::Any => return Ok(None),
        CpuChoice::Auto if origin != Origin::Wire => return Ok(None),
        CpuChoice::Auto => match sluicegate_core::cpu::current() {
            Some(cpu) => cpu,
            None => return Ok(None),
        },
        CpuChoice::Pinned(cpu) => cpu,
    };
    match sluicegate_core::cpu::pin_current_thread(cpu) {
        Ok(()) => Ok(Some(cpu)),
        Err(error) if choice == CpuChoice::Auto => {
            tracing::debug!(%error, "the terminal's threads stay free to move");
            Ok(None)
        }
        Err(error) => Err(Failure::usage(anyhow::anyhow!("--cpu {cpu}: {error}"))),
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum ScenarioArg {
    /// The HSV16 burst: three BITMAP windows and 65,536 updates.
    Hsv16,
    /// Every kind of message.
    Mixed,
    /// A realistic session at a readable pace.
    Demo,
}

impl From<ScenarioArg> for Scenario {
    fn from(arg: ScenarioArg) -> Self {
        match arg {
            ScenarioArg::Hsv16 => Scenario::Hsv16,
            ScenarioArg::Mixed => Scenario::Mixed,
            ScenarioArg::Demo => Scenario::Demo,
        }
    }
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

impl MonitorArgs {
    fn baud(&self) -> u32 {
        self.baud.unwrap_or(source::DEFAULT_BAUD)
    }

    /// Whether an option that only the terminal uses was given (for `p2 load` without `--then-monitor`).
    fn shapes_the_terminal(&self) -> bool {
        self.json
            || self.show_controls
            || self.stats
            || self.log.is_some()
            || self.windows.is_some()
            || self.record.is_some()
            || self.baud.is_some()
            || self.coalesce_ms.is_some()
    }
}

fn open_source(args: &TerminalArgs) -> Result<Box<dyn Source>, Failure> {
    let source = args.source.as_ref().ok_or_else(|| {
        Failure::usage(anyhow::anyhow!(
            "choose a source: --port, --replay, --stdin, --tcp or --simulate"
        ))
    })?;
    check_applicable(args, source)?;
    let opened: Result<Box<dyn Source>, SourceError> = if let Some(path) = &source.port {
        SerialSource::open(path, args.monitor.baud()).and_then(|mut port| {
            if args.reset {
                port.reset(if args.monitor.rts {
                    ResetLine::Rts
                } else {
                    ResetLine::Dtr
                })?;
            }
            Ok(Box::new(port) as Box<dyn Source>)
        })
    } else if let Some(path) = &source.replay {
        ReplaySource::open(path, replay_speed(args)).map(|replay| {
            if let Some(cut) = replay.cut() {
                eprintln!("sluicegate p2: warning: {}: {cut}", path.display());
            }
            Box::new(replay) as Box<dyn Source>
        })
    } else if source.stdin {
        Ok(Box::new(StreamSource::stdin()))
    } else if let Some(address) = &source.tcp {
        StreamSource::tcp(address).map(|tcp| Box::new(tcp) as Box<dyn Source>)
    } else if let Some(scenario) = source.simulate {
        let scenario = Scenario::from(scenario);
        let pace = args.pace.map_or(scenario.default_pace(), Pace::Baud);
        Ok(Box::new(SimulatedSource::new(&scenario.stream(), pace)))
    } else {
        unreachable!("clap requires one source")
    };
    opened.map_err(|error| match error {
        // Not HOST:PORT at all: the command line is wrong, not the peer.
        SourceError::Tcp { source: ref cause, .. } if cause.kind() == std::io::ErrorKind::InvalidInput => {
            Failure::usage(error)
        }
        SourceError::PortMissing { .. }
        | SourceError::PortBusy { .. }
        | SourceError::Port { .. }
        | SourceError::Tcp { .. } => Failure::device(error),
        SourceError::BadBaud { .. } => Failure::usage(error),
        _ => Failure::input(error),
    })
}

fn replay_speed(args: &TerminalArgs) -> Speed {
    if args.speed.as_deref() == Some("max") {
        Speed::Max
    } else {
        Speed::Realtime
    }
}

/// The `--record` file, shared by the reader thread's tap and the main thread, which finishes it at exit
/// whatever the reader is doing (a stdin reader blocked in a read never ends): every byte read until then is
/// in the file, in whole records. The lock is taken once a read, and is uncontended until the exit.
#[derive(Clone)]
struct Recorder(Arc<Mutex<Recorded>>);

struct Recorded {
    /// `None` once finished, or after a write error.
    writer: Option<RecordingWriter<BufWriter<File>>>,
    /// The first write error, reported at exit.
    error: Option<std::io::Error>,
}

impl Recorder {
    fn create(path: &Path) -> anyhow::Result<Recorder> {
        let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let writer = RecordingWriter::new(BufWriter::new(file), u64::try_from(now.as_nanos()).unwrap_or(0))?;
        Ok(Recorder(Arc::new(Mutex::new(Recorded {
            writer: Some(writer),
            error: None,
        }))))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Records each read; a read after [`Recorder::finish`] is not (nor is it framed).
    fn tap(&self) -> Tap {
        let recorder = self.clone();
        Box::new(move |at, bytes| {
            let mut recorded = recorder.lock();
            if let Some(writer) = recorded.writer.as_mut()
                && let Err(error) = writer.write_chunk(at, bytes)
            {
                recorded.writer = None;
                recorded.error = Some(error);
            }
        })
    }

    /// Flushes the file and ends the recording.
    ///
    /// # Errors
    /// The first error writing it.
    fn finish(&self) -> std::io::Result<()> {
        let mut recorded = self.lock();
        if let Some(writer) = recorded.writer.take()
            && let Err(error) = writer.finish()
        {
            recorded.error = Some(error);
        }
        recorded.error.take().map_or(Ok(()), Err)
    }
}

/// Where the terminal's bytes come from, which decides how they are stamped and read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// A capture: arrival times come from the file.
    Recording(Speed),
    /// The in-process simulator: stamped with our clock.
    Simulator,
    /// A port, TCP or stdin: stamped with our clock, reads coalesced (`--coalesce-ms`).
    Wire,
}

fn run_terminal(args: TerminalArgs) -> Result<(), Failure> {
    let source = open_source(&args)?;
    let origin = match &args.source {
        Some(source) if source.replay.is_some() => Origin::Recording(replay_speed(&args)),
        Some(source) if source.simulate.is_some() => Origin::Simulator,
        _ => Origin::Wire,
    };
    let port = args.source.as_ref().and_then(|source| source.port.as_deref());
    let name = match &args.source {
        Some(SourceArgs { port: Some(port), .. }) => format!("serial port {port}"),
        Some(SourceArgs { tcp: Some(address), .. }) => format!("TCP {address}"),
        Some(SourceArgs { replay: Some(path), .. }) => path.display().to_string(),
        Some(SourceArgs { stdin: true, .. }) => "standard input".to_owned(),
        _ => "the simulator".to_owned(),
    };
    run_terminal_on(&args.monitor, source, origin, port, &name)
}

/// The terminal on an open source (the load command hands over its port); `port` names the serial port, if
/// it is one, and `name` the input in messages.
fn run_terminal_on(
    args: &MonitorArgs,
    source: Box<dyn Source>,
    origin: Origin,
    port: Option<&str>,
    name: &str,
) -> Result<(), Failure> {
    let live = !matches!(origin, Origin::Recording(_));
    // Faster than recorded, every byte comes early: only the recorded times can say a line went idle.
    let recorded_clock = origin == Origin::Recording(Speed::Max);
    let cpu = place_threads(args.cpu, origin)?;
    // The outputs are opened first and the recording last: a run that cannot start leaves an earlier
    // recording of the same name as it was.
    let failure: outputs::Failure = Arc::new(Mutex::new(None));
    let mut log = match &args.log {
        Some(dir) => Some(DebugLog::open(dir, Arc::clone(&failure)).map_err(|error| {
            Failure::runtime(anyhow::anyhow!(
                "cannot write the debug log in {}: {error}",
                dir.display()
            ))
        })?),
        None => None,
    };
    let mut windows = match &args.windows {
        Some(dir) => Some(WindowFiles::open(dir).map_err(|error| {
            Failure::runtime(anyhow::anyhow!(
                "cannot write window files in {}: {error}",
                dir.display()
            ))
        })?),
        None => None,
    };
    let recorder = match &args.record {
        Some(path) => Some(Recorder::create(path).map_err(Failure::runtime)?),
        None => None,
    };
    let tap = recorder.as_ref().map(Recorder::tap);
    let config = PipelineConfig {
        ring_capacity: usize::try_from(args.ring_bytes).unwrap_or(usize::MAX),
        deframer: Config {
            idle: Duration::from_millis(args.idle_ms),
            ..Config::default()
        },
        inject_panic_after: args.inject_panic_after,
        coalesce: if origin == Origin::Wire {
            Duration::from_millis(args.coalesce_ms.unwrap_or(DEFAULT_COALESCE_MS))
        } else {
            Duration::ZERO
        },
        cpu,
        recorded_clock,
        ..PipelineConfig::default()
    };
    let pipeline = Pipeline::start(source, config, tap).map_err(Failure::runtime)?;
    if let Some(port) = port {
        eprintln!("sluicegate p2: listening on {port} at {} baud", args.baud());
    }

    let stop = Arc::new(AtomicBool::new(false));
    let report = Arc::new(AtomicBool::new(false));
    let signals = watch_signals(&stop, &report, pipeline.outputs().nudger()).map_err(Failure::runtime)?;

    let controls = if args.show_controls {
        Controls::Tags
    } else if std::io::stdout().is_terminal() {
        Controls::Ansi
    } else {
        Controls::Plain
    };
    let mut terminal = (!args.json).then(|| Terminal::new(std::io::stdout(), controls, Arc::clone(&failure)));
    let mut json = args
        .json
        .then(|| JsonLines::new(std::io::stdout(), pipeline.started(), Arc::clone(&failure)));

    let mut tally = Tally::new(ROUTE_BATCH + 1);
    let source_failed = {
        let mut router = Router::new();
        const FEW: &str = "four destinations fit the router";
        if let Some(terminal) = terminal.as_mut() {
            router
                .add_destination(terminal, Subscription::new(KindSet::TERMINAL).with_events())
                .expect(FEW);
        }
        if let Some(json) = json.as_mut() {
            router
                .add_destination(json, Subscription::new(KindSet::ALL).with_events())
                .expect(FEW);
        }
        if let Some(log) = log.as_mut() {
            router
                .add_destination(log, Subscription::new(KindSet::ALL).with_events())
                .expect(FEW);
        }
        if let Some(windows) = windows.as_mut() {
            let subscription = Subscription::new(KindSet::EMPTY).with_window_updates().with_events();
            router.add_destination(windows, subscription).expect(FEW);
        }

        let mut stall = args.stall_ms.map(Duration::from_millis);
        let mut source_failed = None;
        let mut output_failed = false;
        let mut stopping = false;
        loop {
            if stop.load(Ordering::Relaxed) && !stopping {
                stopping = true;
                pipeline.stop();
            }
            if report.swap(false, Ordering::Relaxed) {
                print_stats(&tally, &pipeline.stats(), &router, args.json);
            }
            while let Some(event) = pipeline.poll_event() {
                report_event(event, &mut source_failed);
            }
            // A live link's outputs come a few at a time, about once a millisecond: the consumer sleeps at
            // once and a signal wakes it. A replay or the simulator keeps the channel busy: crossbeam's
            // spin-then-yield wait keeps the consumer on its CPU (a text replay runs ~40 % faster), and
            // signals are looked at every `BUSY_WAIT`.
            let next = if origin == Origin::Wire {
                pipeline.outputs().recv_timeout(CONSUMER_WAIT)
            } else {
                pipeline.outputs().receiver().recv_timeout(BUSY_WAIT)
            };
            let first = match next {
                Ok(emitted) => emitted,
                Err(RecvTimeoutError::Timeout) if pipeline.is_finished() => break,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if let Some(stall) = stall.take() {
                std::thread::sleep(stall);
            }
            // What is queued (up to a bound, so a stop or a write error is still seen in a fast replay) is
            // routed before the signals and events are looked at again: their cost is paid per read, not per
            // message.
            for emitted in std::iter::once(first).chain(pipeline.outputs().receiver().try_iter().take(ROUTE_BATCH)) {
                if !output_failed {
                    router.route(&emitted.output);
                }
                tally.observe(&emitted, live && !output_failed);
            }
            // Written once nothing more is queued: a burst costs few writes, and a lone line shows at once.
            if pipeline.outputs().receiver().is_empty() {
                router.flush();
                tally.delivered();
            }
            // An output that cannot be written ends the session; what was read is still counted (not routed),
            // so that the statistics add up.
            if !output_failed && failure.lock().unwrap_or_else(|poison| poison.into_inner()).is_some() {
                output_failed = true;
                pipeline.stop();
            }
        }
        router.flush();
        tally.delivered();
        while let Some(event) = pipeline.poll_event() {
            report_event(event, &mut source_failed);
        }
        if args.stats {
            print_stats(&tally, &pipeline.stats(), &router, args.json);
        }
        source_failed
    };
    signals.close();
    drop((terminal, json, log, windows));
    let write_error = failure.lock().unwrap_or_else(|poison| poison.into_inner()).take();
    let finished = pipeline.finish();
    // Finished after the pipeline, so that a read that completes while the worker drains is in the file too.
    if let (Some(recorder), Some(path)) = (recorder, &args.record) {
        recorder.finish().map_err(|error| {
            Failure::runtime(anyhow::anyhow!(
                "cannot write the recording {}: {error}",
                path.display()
            ))
        })?;
    }
    if let Some(error) = write_error {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(());
        }
        return Err(Failure::runtime(anyhow::anyhow!("cannot write output: {error}")));
    }
    finished.map_err(Failure::runtime)?;
    match source_failed {
        // Everything read before the failure has been framed, routed and written.
        Some(error) if !live => Err(Failure::input(anyhow::anyhow!("reading {name} failed: {error}"))),
        Some(error) => Err(Failure::device(anyhow::anyhow!("reading {name} failed: {error}"))),
        None => Ok(()),
    }
}

/// Outputs routed between two looks at the signals, events and write errors.
const ROUTE_BATCH: usize = 1024;

/// How long the consumer waits for an output before it looks at the pipeline again: a safety net only, for a
/// worker that ended without closing the channel. Signals end the wait at once (`watch_signals`), and a timer
/// wake-up costs 12–23 µs of CPU on this project's virtual machine (BENCHMARKS.md).
const CONSUMER_WAIT: Duration = Duration::from_secs(1);

/// How long a replay's or the simulator's consumer waits before it looks at the signals again.
const BUSY_WAIT: Duration = Duration::from_millis(50);

/// A thread that turns Ctrl-C and SIGTERM into `stop`, SIGUSR1 into `report`, and wakes the consumer for
/// either; close the returned handle when done.
fn watch_signals(
    stop: &Arc<AtomicBool>,
    report: &Arc<AtomicBool>,
    consumer: sluicegate_core::handover::Nudger,
) -> std::io::Result<signal_hook::iterator::Handle> {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGUSR1])?;
    let handle = signals.handle();
    let (stop, report) = (Arc::clone(stop), Arc::clone(report));
    std::thread::Builder::new().name("p2-signals".into()).spawn(move || {
        for signal in signals.forever() {
            let flag = if signal == SIGUSR1 { &report } else { &stop };
            flag.store(true, Ordering::Relaxed);
            consumer.nudge();
        }
    })?;
    Ok(handle)
}

/// Reports an event on stderr; a failed source is kept in `failed` for the exit code, reported once at the end.
fn report_event(event: PipelineEvent, failed: &mut Option<String>) {
    match event {
        PipelineEvent::Overflow { lost } => {
            eprintln!("sluicegate p2: overflow: the byte ring stayed full, {lost} bytes discarded; resynchronising");
        }
        PipelineEvent::WorkerRestarted { restarts, panic } => {
            eprintln!("sluicegate p2: extraction worker restarted (restart {restarts}) after: {panic}");
        }
        PipelineEvent::SourceFailed { error } => *failed = Some(error),
        _ => {}
    }
}

fn print_stats(tally: &Tally, pipeline: &sluicegate_p2::pipeline::PipelineStats, router: &Router<'_>, json: bool) {
    let stats = tally.report(pipeline, router.counters());
    let mut stderr = std::io::stderr().lock();
    if json {
        let _ = writeln!(stderr, "{}", serde_json::to_string(&stats).unwrap_or_default());
    } else {
        let _ = stderr.write_all(stats.table().as_bytes());
    }
}
