//! The terminal: an open source through the p2 pipeline to the chosen outputs, until the input ends or a
//! signal stops it. `sluicegate p2` runs it on the source its flags describe; `p2 load --then-monitor` on the
//! port it loaded through.

use std::io::{IsTerminal, Stdout, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use clap::Args;
use sluicegate_p2::io::{
    DEFAULT_BAUD, Next, Opened, Origin, Pipeline, PipelineConfig, PipelineEvent, PipelineStats, Recorder, SourceSpec,
};
use sluicegate_p2::pst::Controls;
use sluicegate_p2::{Config, KindSet, Router, RoutingCounters, Subscription};
use sluicegate_p2_live::{HostStats, LiveFeed};

use super::displays::{DisplayHost, Keyboard};
use super::outputs::{self, JsonLines, LogFiles, Terminal, WindowFiles};
use super::stats::{Latency, Report};
use crate::exit::Failure;

/// How the terminal shows, keeps and counts what arrives (shared by `sluicegate p2` and `p2 load --then-monitor`).
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Debug baud rate of the serial port (--port only) [default: 2000000].
    #[arg(long)]
    pub baud: Option<u32>,
    /// Reset with RTS instead of DTR (with --reset, or when loading).
    #[arg(long)]
    pub rts: bool,
    /// One JSON object per message on stdout (instead of terminal text); stats as JSON on stderr.
    #[arg(long)]
    pub json: bool,
    /// Show PST control codes as tags (<HOME>, <POS:x,y>, …) instead of acting on them.
    #[arg(long)]
    pub show_controls: bool,
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
    /// Write every open DEBUG display as DIR/NAME.png at exit and on SIGUSR1 (BITMAP, PLOT and SPECTRO at
    /// their logical size, the others as drawn; NAME lower-cased and escaped as the --windows files are).
    #[arg(long, value_name = "DIR", conflicts_with = "no_displays")]
    pub snapshots: Option<PathBuf>,
    /// Write the files a display's SAVE asks for (f.bmp) into DIR, never outside it; without it a SAVE is
    /// counted and ignored.
    #[arg(long, value_name = "DIR", conflicts_with = "no_displays")]
    pub save_dir: Option<PathBuf>,
    /// Do not model the DEBUG displays: no snapshots, and PC_KEY/PC_MOUSE requests go unanswered (a P2 program
    /// that asks waits for ever).
    #[arg(long)]
    pub no_displays: bool,
    /// Serve the live page on ADDR and print its URL on stderr (`ui: http://…`): the terminal text, every DEBUG
    /// display, typed input, PC_KEY/PC_MOUSE from the page's keyboard and mouse, reset and recording, in a
    /// browser. ADDR defaults to 127.0.0.1:7022 (this machine only); :0 picks a free port; another interface
    /// is warned about. After a finite input ends the page stays until Ctrl-C.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:7022",
          value_parser = super::ui::parse_address, conflicts_with = "no_displays")]
    pub ui: Option<std::net::SocketAddr>,
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
    pub coalesce_ms: Option<u64>,
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

impl MonitorArgs {
    /// The debug baud rate.
    pub fn baud(&self) -> u32 {
        self.baud.unwrap_or(DEFAULT_BAUD)
    }

    /// Whether an option that only the terminal uses was given (for `p2 load` without `--then-monitor`).
    pub fn shapes_the_terminal(&self) -> bool {
        self.json
            || self.show_controls
            || self.stats
            || self.log.is_some()
            || self.windows.is_some()
            || self.record.is_some()
            || self.snapshots.is_some()
            || self.save_dir.is_some()
            || self.no_displays
            || self.ui.is_some()
            || self.baud.is_some()
            || self.coalesce_ms.is_some()
    }
}

/// `--coalesce-ms` when not given: eager reads. At 2 Mbaud over a pty they keep the terminal under 1 % of a
/// core with a p99 read → delivery of ~30 µs on a quiet host; coalesced reads halve the CPU but hold bytes in
/// the OS buffer for up to the window, which no latency figure of ours sees (BENCHMARKS.md, p2 terminal).
const DEFAULT_COALESCE_MS: u64 = 0;

/// The smallest and largest `--ring-bytes`: the smallest holds a whole longest line (64 KiB), so that a
/// ring too small for one message cannot discard every message after it; the largest bounds the allocation.
const RING_BYTES: (u64, u64) = (64 << 10, 1 << 30);

/// Outputs routed between two looks at the signals, events and write errors.
const ROUTE_BATCH: usize = 1024;

/// How long a live link's consumer waits for an output before it looks at the pipeline again: a safety net
/// only. Signals end the wait at once ([`Signals`]), and a timer wake-up costs 12–23 µs of CPU on this
/// project's virtual machine (BENCHMARKS.md).
const CONSUMER_WAIT: Duration = Duration::from_secs(1);

/// How long a replay's or the simulator's consumer waits (spinning) before it looks at the signals again.
const BUSY_WAIT: Duration = Duration::from_millis(50);

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

/// Runs the terminal on `opened` until its input ends, a signal stops it, or an output fails.
pub fn run(args: &MonitorArgs, opened: Opened) -> Result<(), Failure> {
    let Opened {
        source,
        spec,
        cut,
        transmitter,
    } = opened;
    if let (Some(cut), SourceSpec::Replay { path, .. }) = (cut, &spec) {
        eprintln!("sluicegate p2: warning: {}: {cut}", path.display());
    }
    let origin = spec.origin();
    let cpu = place_threads(args.cpu, origin)?;
    let failure: outputs::Failure = Arc::new(Mutex::new(None));
    // The files are opened first and the recording last: a run that cannot start leaves an earlier recording
    // of the same name as it was.
    let mut files = Files::open(args, &failure)?;
    let tap = Some(files.recorder.tap());
    let pipeline = Pipeline::start(source, pipeline_config(args, origin, cpu), tap).map_err(Failure::runtime)?;
    if let SourceSpec::Port { path, baud, .. } = &spec {
        eprintln!("sluicegate p2: listening on {path} at {baud} baud");
    }
    let mut displays = DisplayHost::start(args, &spec, transmitter.clone(), &files.recorder, pipeline.monitor())?;
    let keyboard = Keyboard::forward(&spec, transmitter);
    let signals = Signals::watch(&pipeline).map_err(Failure::runtime)?;
    let mut stdout = StdoutOutput::new(args, &pipeline, &failure);
    let routed = {
        let router = router(&mut stdout, &mut files, displays.take_feed());
        Consumer {
            args,
            pipeline: &pipeline,
            router,
            displays: &displays,
            latency: Latency::new(ROUTE_BATCH + 1),
            live: origin.is_live(),
            // A live link's outputs come a few at a time and the consumer sleeps between them (signals wake
            // it); a replay or the simulator keeps the channel busy, and its spinning wait ends every BUSY_WAIT.
            wait: if origin == Origin::Wire {
                CONSUMER_WAIT
            } else {
                BUSY_WAIT
            },
            failure: &failure,
        }
        .run(&signals)
    };
    drop(keyboard);
    let report_stats = |host: Option<&HostStats>| {
        if args.stats {
            print_stats(&pipeline.stats(), &routed.routing, routed.latency, host, args.json);
        }
    };
    if !signals.stop_requested() {
        displays.linger(
            || signals.stop_requested(),
            || {
                if signals.take_report() {
                    displays.write_snapshots();
                    report_stats(displays.stats().as_ref());
                }
            },
        );
    }
    signals.close();
    drop(stdout);
    report_stats(displays.finish().as_ref());
    let write_error = failure.lock().unwrap_or_else(PoisonError::into_inner).take();
    let recording = args.record.is_some().then_some(files.recorder);
    conclude(pipeline, recording, write_error, routed.source_failed, &spec)
}

/// Ends the session once everything routed is written: finishes the pipeline and the recording, and says how
/// it went (a closed output pipe is a success).
fn conclude(
    pipeline: Pipeline,
    recording: Option<Recorder>,
    write_error: Option<std::io::Error>,
    source_failed: Option<String>,
    spec: &SourceSpec,
) -> Result<(), Failure> {
    let finished = pipeline.finish();
    // Finished after the pipeline, so that a read that completes while the worker drains is in the file too.
    if let Some(recorder) = recording {
        recorder.stop().map_err(Failure::runtime)?;
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
        Some(error) if !spec.origin().is_live() => {
            Err(Failure::input(anyhow::anyhow!("reading {spec} failed: {error}")))
        }
        Some(error) => Err(Failure::device(anyhow::anyhow!("reading {spec} failed: {error}"))),
        None => Ok(()),
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

fn pipeline_config(args: &MonitorArgs, origin: Origin, cpu: Option<usize>) -> PipelineConfig {
    let defaults = PipelineConfig::for_origin(origin);
    PipelineConfig {
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
        ..defaults
    }
}

/// The outputs that are files: the debug log, the window files and the recording (idle without `--record`).
struct Files {
    log: Option<LogFiles>,
    windows: Option<WindowFiles>,
    recorder: Recorder,
}

impl Files {
    /// Opens what the options ask for; an unwritable directory or file is a failure while running (exit 1).
    fn open(args: &MonitorArgs, failure: &outputs::Failure) -> Result<Self, Failure> {
        let log = match &args.log {
            Some(dir) => Some(LogFiles::open(dir, Arc::clone(failure)).map_err(|error| {
                Failure::runtime(anyhow::anyhow!(
                    "cannot write the debug log in {}: {error}",
                    dir.display()
                ))
            })?),
            None => None,
        };
        let windows = match &args.windows {
            Some(dir) => Some(WindowFiles::open(dir).map_err(|error| {
                Failure::runtime(anyhow::anyhow!(
                    "cannot write window files in {}: {error}",
                    dir.display()
                ))
            })?),
            None => None,
        };
        let recorder = match &args.record {
            Some(path) => Recorder::create(path).map_err(Failure::runtime)?,
            None => Recorder::new(),
        };
        Ok(Files { log, windows, recorder })
    }
}

/// What goes to stdout: terminal text, or JSON lines.
enum StdoutOutput {
    Text(Terminal<Stdout>),
    Json(JsonLines<Stdout>),
}

impl StdoutOutput {
    fn new(args: &MonitorArgs, pipeline: &Pipeline, failure: &outputs::Failure) -> Self {
        if args.json {
            return StdoutOutput::Json(JsonLines::new(
                std::io::stdout(),
                pipeline.started(),
                Arc::clone(failure),
            ));
        }
        let controls = if args.show_controls {
            Controls::Tags
        } else if std::io::stdout().is_terminal() {
            Controls::Ansi
        } else {
            Controls::Plain
        };
        StdoutOutput::Text(Terminal::new(std::io::stdout(), controls, Arc::clone(failure)))
    }
}

/// The router over every output chosen.
fn router<'d>(stdout: &'d mut StdoutOutput, files: &'d mut Files, displays: Option<LiveFeed>) -> Router<'d> {
    const FEW: &str = "five destinations fit the router";
    let mut router = Router::new();
    match stdout {
        StdoutOutput::Text(terminal) => router
            .add_destination(terminal, Subscription::new(KindSet::TERMINAL).with_events())
            .expect(FEW),
        StdoutOutput::Json(json) => router
            .add_destination(json, Subscription::new(KindSet::ALL).with_events())
            .expect(FEW),
    };
    if let Some(log) = files.log.as_mut() {
        router
            .add_destination(log, Subscription::new(KindSet::ALL).with_events())
            .expect(FEW);
    }
    if let Some(windows) = files.windows.as_mut() {
        let subscription = Subscription::new(KindSet::EMPTY).with_window_updates().with_events();
        router.add_destination(windows, subscription).expect(FEW);
    }
    if let Some(feed) = displays {
        let subscription = feed.subscription();
        router.add_destination(feed, subscription).expect(FEW);
    }
    router
}

/// Ctrl-C and SIGTERM (stop) and SIGUSR1 (report the statistics), watched by a thread that wakes the consumer.
struct Signals {
    stop: Arc<AtomicBool>,
    report: Arc<AtomicBool>,
    handle: signal_hook::iterator::Handle,
}

impl Signals {
    fn watch(pipeline: &Pipeline) -> std::io::Result<Self> {
        use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGUSR1])?;
        let handle = signals.handle();
        let (stop, report) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let consumer = pipeline.outputs().nudger();
        let flags = (Arc::clone(&stop), Arc::clone(&report));
        std::thread::Builder::new().name("p2-signals".into()).spawn(move || {
            for signal in signals.forever() {
                let flag = if signal == SIGUSR1 { &flags.1 } else { &flags.0 };
                flag.store(true, Ordering::Relaxed);
                consumer.nudge();
            }
        })?;
        Ok(Signals { stop, report, handle })
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn take_report(&self) -> bool {
        self.report.swap(false, Ordering::Relaxed)
    }

    fn close(self) {
        self.handle.close();
    }
}

/// What the consumer leaves: the source's failure, if it failed, and the routing counters and latency.
struct Routed {
    source_failed: Option<String>,
    routing: RoutingCounters,
    latency: sluicegate_core::stats::LatencySummary,
}

/// The consumer side: takes the pipeline's outputs, routes them, and keeps the delivery latency.
struct Consumer<'a, 'd> {
    args: &'a MonitorArgs,
    pipeline: &'a Pipeline,
    router: Router<'d>,
    displays: &'a DisplayHost,
    latency: Latency,
    /// Arrival times are this run's clock: latencies mean something.
    live: bool,
    /// How long to wait for an output before looking at the signals again.
    wait: Duration,
    failure: &'a outputs::Failure,
}

impl Consumer<'_, '_> {
    /// Routes until the pipeline has ended.
    fn run(mut self, signals: &Signals) -> Routed {
        let mut stall = self.args.stall_ms.map(Duration::from_millis);
        let mut source_failed = None;
        let mut output_failed = false;
        let mut stopping = false;
        loop {
            if signals.stop_requested() && !stopping {
                stopping = true;
                self.pipeline.stop();
            }
            if signals.take_report() {
                self.displays.write_snapshots();
                self.print_stats();
            }
            while let Some(event) = self.pipeline.poll_event() {
                report_event(event, &mut source_failed);
            }
            self.displays.report_notices();
            let first = match self.pipeline.next(self.wait) {
                Next::Output(emitted) => emitted,
                Next::Waiting => continue,
                Next::Ended => break,
            };
            if let Some(stall) = stall.take() {
                std::thread::sleep(stall);
            }
            // What is queued (up to a bound, so a stop or a write error is still seen in a fast replay) is
            // routed before the signals and events are looked at again: their cost is paid per read, not per
            // message. After an output failed, what was read is still taken (and counted by the pipeline), not
            // routed.
            let batch = std::iter::once(first).chain(std::iter::from_fn(|| self.pipeline.try_next()).take(ROUTE_BATCH));
            for emitted in batch {
                if output_failed {
                    continue;
                }
                self.router.route(&emitted.output);
                if self.live && emitted.output.message().is_some() {
                    self.latency.routed(emitted.completed);
                }
            }
            // Written once nothing more is queued: a burst costs few writes, and a lone line shows at once.
            if !self.pipeline.has_queued() {
                self.router.flush();
                self.latency.delivered();
            }
            // An output that cannot be written ends the session.
            if !output_failed && self.failure.lock().unwrap_or_else(PoisonError::into_inner).is_some() {
                output_failed = true;
                self.pipeline.stop();
            }
        }
        self.router.flush();
        self.latency.delivered();
        while let Some(event) = self.pipeline.poll_event() {
            report_event(event, &mut source_failed);
        }
        Routed {
            source_failed,
            routing: *self.router.counters(),
            latency: self.latency.summary(),
        }
    }

    fn print_stats(&self) {
        print_stats(
            &self.pipeline.stats(),
            self.router.counters(),
            self.latency.summary(),
            self.displays.stats().as_ref(),
            self.args.json,
        );
    }
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

fn print_stats(
    pipeline: &PipelineStats,
    routing: &RoutingCounters,
    latency: sluicegate_core::stats::LatencySummary,
    displays: Option<&HostStats>,
    json: bool,
) {
    let report = Report::new(pipeline, routing, latency, displays);
    let mut stderr = std::io::stderr().lock();
    if json {
        let _ = writeln!(stderr, "{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        let _ = stderr.write_all(report.table().as_bytes());
    }
}
