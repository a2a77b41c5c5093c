//! `sluicegate audio`: list the sound server's devices and applications, and capture one of them to a WAV
//! file or raw to stdout, with pool statistics, a level meter and a soak mode that measures memory and CPU.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sluicegate_audio::{
    Capture, CaptureConfig, CaptureError, Devices, Event, LevelMeter, Message, SampleFormat, StreamSpec, Target,
    WavWriter, list_devices,
};
use sluicegate_core::Sizing;

use crate::exit::Failure;

/// Audio capture from PulseAudio or PipeWire's pulse server.
#[derive(Debug, Args)]
pub struct AudioArgs {
    #[command(subcommand)]
    command: AudioCommand,
}

#[derive(Debug, Subcommand)]
enum AudioCommand {
    /// List sinks, sources (with the monitors of sinks) and the applications playing.
    Devices {
        /// Server to ask (e.g. unix:/run/user/1000/pulse/native); default: libpulse's usual lookup.
        #[arg(long)]
        server: Option<String>,
    },
    /// Record the default output's monitor (what the machine plays), a source or one application.
    Capture(CaptureArgs),
}

#[derive(Debug, Args)]
struct CaptureArgs {
    /// Server to connect to (e.g. unix:/run/user/1000/pulse/native); default: libpulse's usual lookup.
    #[arg(long)]
    server: Option<String>,
    /// Record this source (see `audio devices`) instead of the default output's monitor.
    #[arg(long, group = "target")]
    source: Option<String>,
    /// Record only the application with this name (its application.name, or binary).
    #[arg(long, group = "target")]
    app: Option<String>,
    /// Record only the application with this process id.
    #[arg(long, group = "target")]
    pid: Option<u32>,
    /// Sample format: f32le or s16le.
    #[arg(long, default_value = "f32le")]
    format: SampleFormat,
    /// Sample rate in Hz.
    #[arg(long, default_value_t = 48_000)]
    rate: u32,
    /// Channel count.
    #[arg(long, default_value_t = 2)]
    channels: u8,
    /// Stop after this many seconds of audio (default: until Ctrl-C or the source ends).
    #[arg(long, value_parser = parse_seconds)]
    duration: Option<Duration>,
    /// Audio per chunk, in milliseconds.
    #[arg(long, default_value = "10", value_parser = parse_millis)]
    chunk_ms: Duration,
    /// Buffer pool: fixed:N or adaptive:MIN:MAX.
    #[arg(long, default_value = "adaptive:50:200", value_parser = parse_pool)]
    pool: Sizing,
    /// Keep trying to reconnect when the server goes away, instead of ending with an error.
    #[arg(long)]
    reconnect: bool,
    /// Write a WAV file, or raw samples to stdout with `-`.
    #[arg(long, required_unless_present = "soak", conflicts_with = "soak")]
    out: Option<PathBuf>,
    /// Capture for SECONDS discarding the audio, and report RSS and CPU use at the start and the end.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    soak: Option<Duration>,
    /// Print pool statistics and the level meter at the end (on stderr).
    #[arg(long)]
    stats: bool,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| format!("{text} s is not a positive duration"))
}

fn parse_millis(text: &str) -> Result<Duration, String> {
    let millis: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of milliseconds"))?;
    parse_seconds(&(millis / 1000.0).to_string()).map_err(|_| format!("{text} ms is not a positive duration"))
}

fn parse_pool(text: &str) -> Result<Sizing, String> {
    let number = |part: &str| {
        part.parse::<usize>()
            .map_err(|_| format!("{part:?} is not a buffer count"))
    };
    let sizing = match text.split(':').collect::<Vec<_>>()[..] {
        ["fixed", n] => Sizing::Fixed(number(n)?),
        ["adaptive", min, max] => Sizing::Adaptive {
            min: number(min)?,
            max: number(max)?,
        },
        _ => return Err(format!("{text:?}: expected fixed:N or adaptive:MIN:MAX")),
    };
    match sizing {
        Sizing::Fixed(0) => Err("a fixed pool needs at least one buffer".into()),
        Sizing::Adaptive { min, max } if max == 0 || min > max => {
            Err(format!("adaptive:{min}:{max}: need 0 <= MIN <= MAX, MAX > 0"))
        }
        sizing => Ok(sizing),
    }
}

/// Runs an `audio` subcommand. The exit codes are the CLI's ([`Failure`]): a server that cannot be reached, a
/// source or application that does not exist, or one lost while capturing is a device that cannot be used
/// (4); option values no stream can take are bad usage (2); an output that cannot be written is a failure
/// while running (1).
pub fn run(args: AudioArgs) -> Result<(), Failure> {
    match args.command {
        AudioCommand::Devices { server } => print_devices(server.as_deref()),
        AudioCommand::Capture(args) => capture(args),
    }
}

fn print_devices(server: Option<&str>) -> Result<(), Failure> {
    let Devices {
        default_sink,
        default_source,
        sinks,
        sources,
        applications,
    } = list_devices(server)?;
    let mark = |name: &str, default: &Option<String>| if default.as_deref() == Some(name) { "*" } else { " " };
    let mut out = io::stdout().lock();
    let result = (|| -> io::Result<()> {
        writeln!(out, "Sinks (* default):")?;
        for sink in &sinks {
            writeln!(
                out,
                " {} {:>3}  {}  ({})",
                mark(&sink.name, &default_sink),
                sink.index,
                sink.name,
                sink.description
            )?;
        }
        writeln!(out, "Sources (* default; record with --source NAME):")?;
        for source in &sources {
            let monitor = source
                .monitor_of
                .as_ref()
                .map(|sink| format!(", monitor of {sink}"))
                .unwrap_or_default();
            let default = mark(&source.name, &default_source);
            writeln!(
                out,
                " {default} {:>3}  {}  ({}{monitor})",
                source.index, source.name, source.description
            )?;
        }
        writeln!(out, "Applications playing (record with --app NAME or --pid N):")?;
        for app in &applications {
            let pid = app.pid.map(|pid| pid.to_string()).unwrap_or_else(|| "-".into());
            let name = app.name.as_deref().or(app.binary.as_deref()).unwrap_or("?");
            writeln!(out, "   {:>3}  pid {pid:<8} {name}  (sink {})", app.index, app.sink)?;
        }
        Ok(())
    })();
    finish_output(result)
}

/// A closed stdout (`| head`) is not a failure.
fn finish_output(result: io::Result<()>) -> Result<(), Failure> {
    match result {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => {
            Err(Failure::runtime(anyhow::Error::new(error).context("writing to stdout")))
        }
        _ => Ok(()),
    }
}

/// Where captured audio goes.
enum Output {
    Wav(WavWriter<BufWriter<File>>, PathBuf),
    Raw(io::Stdout),
    Discard,
}

impl Output {
    /// Writes a chunk; `Ok(false)` when stdout was closed by its reader.
    fn write(&mut self, chunk: &[u8]) -> anyhow::Result<bool> {
        match self {
            Output::Wav(wav, path) => wav
                .write_samples(chunk)
                .with_context(|| format!("writing {}", path.display()))?,
            Output::Raw(stdout) => match stdout.lock().write_all(chunk) {
                Err(error) if error.kind() == io::ErrorKind::BrokenPipe => return Ok(false),
                result => result.context("writing to stdout")?,
            },
            Output::Discard => {}
        }
        Ok(true)
    }

    /// Keeps a WAV header current, so that even a killed process leaves a readable file.
    fn checkpoint(&mut self) -> anyhow::Result<()> {
        if let Output::Wav(wav, path) = self {
            wav.update_header()
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Output::Wav(wav, path) => {
                wav.finish().with_context(|| format!("finishing {}", path.display()))?;
            }
            Output::Raw(stdout) => match stdout.lock().flush() {
                Err(error) if error.kind() != io::ErrorKind::BrokenPipe => return Err(error.into()),
                _ => {}
            },
            Output::Discard => {}
        }
        Ok(())
    }
}

fn capture(args: CaptureArgs) -> Result<(), Failure> {
    let target = match (&args.source, &args.app, args.pid) {
        (Some(source), _, _) => Target::Source(source.clone()),
        (_, Some(app), _) => Target::ApplicationName(app.clone()),
        (_, _, Some(pid)) => Target::ApplicationPid(pid),
        _ => Target::DefaultMonitor,
    };
    let spec = StreamSpec {
        format: args.format,
        rate: args.rate,
        channels: args.channels,
    };
    let config = CaptureConfig {
        server: args.server.clone(),
        target,
        spec,
        chunk_duration: args.chunk_ms,
        pool: args.pool,
        reconnect: args.reconnect,
        ..CaptureConfig::default()
    };
    // Checked before connecting, so that bad arguments are reported as such even without a server.
    spec.chunk_bytes(config.chunk_duration).map_err(CaptureError::from)?;
    let rss_before = process_usage().ok();
    let limit = args.duration.or(args.soak).map(|duration| {
        let frames = (duration.as_secs_f64() * f64::from(spec.rate)).round() as u64;
        frames * spec.frame_bytes() as u64
    });
    let destination = match args.soak {
        Some(_) => None,
        None => Some(args.out.clone().expect("clap requires --out unless --soak")),
    };
    let recorder = Arc::new(Mutex::new(Recorder {
        destination,
        output: None,
        meter: LevelMeter::new(spec),
        spec,
        limit,
        written: 0,
        soak: args.soak.map(|_| Soak::new(rss_before)),
        failure: None,
        error: None,
        checkpoint_at: Instant::now(),
    }));
    // The chunks are handled on the capture thread as they arrive (writing, metering), which saves a
    // thread wake-up per chunk; this thread only waits for the end.
    let handler_recorder = Arc::clone(&recorder);
    let mut capture = Capture::start_with_handler(config, move |message| {
        handler_recorder
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .handle_message(message)
    })?;
    let stop = capture.stop_handle();
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM])
        .context("installing the Ctrl-C handler")
        .map_err(Failure::runtime)?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            stop.stop();
        }
    });
    capture.wait();

    let mut recorder = recorder.lock().unwrap_or_else(PoisonError::into_inner);
    let Recorder {
        output,
        meter,
        written,
        soak,
        failure,
        error,
        ..
    } = &mut *recorder;
    if let Some(error) = error.take() {
        return Err(Failure::runtime(error));
    }
    if let Some(output) = output.take() {
        output.finish().map_err(Failure::runtime)?;
    }
    let seconds = *written as f64 / spec.bytes_per_second() as f64;
    if let Some(soak) = soak {
        soak.report(&capture, seconds).map_err(Failure::runtime)?;
    }
    if args.stats || args.soak.is_some() {
        print_stats(&capture, meter, seconds).map_err(Failure::runtime)?;
    }
    match failure.take() {
        Some(error) => {
            let saved = args.out.as_ref().filter(|path| path.as_os_str() != "-");
            let saved = saved.map(|path| format!("{seconds:.2} s saved in {}", path.display()));
            let failure = Failure::from(error);
            Err(match saved {
                Some(saved) => failure.with_note(&saved),
                None => failure,
            })
        }
        None => Ok(()),
    }
}

/// What a capture does with its messages, on the capture thread: the output, the meter, the soak's
/// measurements, and how it ended.
struct Recorder {
    /// Where the audio goes: a WAV file, `-` for stdout, or nowhere (`None`, for `--soak`).
    destination: Option<PathBuf>,
    /// Opened when the stream has started, so that a capture that cannot start leaves an existing file alone.
    output: Option<Output>,
    meter: LevelMeter,
    spec: StreamSpec,
    /// Bytes to capture (`--duration`, `--soak`), if limited.
    limit: Option<u64>,
    written: u64,
    soak: Option<Soak>,
    /// The capture's own error ([`Event::Error`]).
    failure: Option<CaptureError>,
    /// Writing the output failed.
    error: Option<anyhow::Error>,
    checkpoint_at: Instant,
}

impl Recorder {
    /// Handles one message; breaks off when the output fails or closes, or the limit is reached.
    fn handle_message(&mut self, message: Message) -> ControlFlow<()> {
        match self.try_handle_message(message) {
            Ok(flow) => flow,
            Err(error) => {
                self.error = Some(error);
                ControlFlow::Break(())
            }
        }
    }

    /// The output, opened on first use.
    fn output(&mut self) -> anyhow::Result<&mut Output> {
        let output = match self.output.take() {
            Some(output) => output,
            None => match &self.destination {
                None => Output::Discard,
                Some(path) if path.as_os_str() == "-" => Output::Raw(io::stdout()),
                Some(path) => {
                    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
                    Output::Wav(WavWriter::new(BufWriter::new(file), self.spec)?, path.clone())
                }
            },
        };
        Ok(self.output.insert(output))
    }

    fn try_handle_message(&mut self, message: Message) -> anyhow::Result<ControlFlow<()>> {
        match message {
            Message::Chunk(chunk) => {
                let wanted = self
                    .limit
                    .map_or(chunk.len(), |limit| chunk.len().min((limit - self.written) as usize));
                let part = &chunk[..wanted];
                self.meter.handle_chunk(part);
                if !self.output()?.write(part)? {
                    return Ok(ControlFlow::Break(()));
                }
                self.written += wanted as u64;
                if let Some(soak) = self.soak.as_mut() {
                    soak.handle_progress(self.written, self.spec);
                }
                if self.limit.is_some_and(|limit| self.written >= limit) {
                    if let Some(soak) = self.soak.as_mut() {
                        soak.handle_end();
                    }
                    return Ok(ControlFlow::Break(()));
                }
                if self.checkpoint_at.elapsed() >= Duration::from_secs(1) {
                    self.output()?.checkpoint()?;
                    self.checkpoint_at = Instant::now();
                }
            }
            Message::Event(event @ Event::Started { .. }) => {
                self.output()?;
                report_event(&event);
            }
            Message::Event(Event::Error(error)) => self.failure = Some(error),
            Message::Event(Event::Stopped) => {}
            Message::Event(event) => report_event(&event),
        }
        Ok(ControlFlow::Continue(()))
    }
}

fn report_event(event: &Event) {
    match event {
        Event::Started { source, spec } => eprintln!("recording {source} ({spec})"),
        Event::DeviceAdded(device) => eprintln!("device added: {} ({:?})", device.name, device.kind),
        Event::DeviceRemoved(device) => eprintln!("device removed: {} ({:?})", device.name, device.kind),
        Event::DefaultChanged { kind, name } => eprintln!("default {kind:?} is now {name}"),
        Event::ApplicationStarted(app) | Event::ApplicationStopped(app) => {
            let verb = if matches!(event, Event::ApplicationStarted(_)) {
                "started"
            } else {
                "stopped"
            };
            let name = app.name.as_deref().unwrap_or("?");
            let pid = app.pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default();
            eprintln!("application {verb} playing: {name}{pid}");
        }
        Event::Reconnecting(error) => eprintln!("{error}; reconnecting"),
        other => eprintln!("{other:?}"),
    }
}

fn print_stats(capture: &Capture, meter: &LevelMeter, seconds: f64) -> anyhow::Result<()> {
    let stats = serde_json::to_string(&capture.pool_stats())?;
    eprintln!(
        "captured {seconds:.3} s, {} chunks dropped (consumer too slow)",
        capture.dropped_chunks()
    );
    eprintln!("pool: {stats}");
    for (channel, level) in meter.levels().iter().enumerate() {
        eprintln!(
            "channel {channel}: peak {:.1} dBFS, RMS {:.1} dBFS",
            level.peak_dbfs(),
            level.rms_dbfs()
        );
    }
    Ok(())
}

/// Resident memory and CPU time of this process, from procfs.
#[derive(Clone, Copy, Debug)]
struct Usage {
    rss_kib: u64,
    cpu_seconds: f64,
    at: Instant,
}

fn process_usage() -> io::Result<Usage> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other("no VmRSS in /proc/self/status"))?;
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (proc(5)).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |index: usize| fields.get(index).and_then(|field| field.parse::<u64>().ok());
    let (utime, stime) = ticks(11)
        .zip(ticks(12))
        .ok_or_else(|| io::Error::other("malformed /proc/self/stat"))?;
    // Linux reports these in USER_HZ, which is 100 on every architecture (proc(5), times(2)).
    Ok(Usage {
        rss_kib,
        cpu_seconds: (utime + stime) as f64 / 100.0,
        at: Instant::now(),
    })
}

/// The soak benchmark's measurements: usage before the capture, once warm (after 10 s of audio, when the
/// pool and the server's buffers have settled), once a minute, and at the end.
struct Soak {
    before: Option<Usage>,
    warm: Option<Usage>,
    end: Option<Usage>,
    next_report: u64,
}

/// Audio seconds after which the soak takes its starting measurement.
const SOAK_WARM_UP: u64 = 10;

impl Soak {
    fn new(before: Option<Usage>) -> Self {
        Soak {
            before,
            warm: None,
            end: None,
            next_report: SOAK_WARM_UP,
        }
    }

    fn handle_progress(&mut self, written: u64, spec: StreamSpec) {
        let seconds = written / spec.bytes_per_second() as u64;
        if seconds < self.next_report {
            return;
        }
        self.next_report = seconds + 60;
        let Ok(now) = process_usage() else { return };
        match self.warm {
            None => {
                eprintln!("soak: warm after {seconds} s: RSS {} KiB", now.rss_kib);
                self.warm = Some(now);
            }
            Some(warm) => eprintln!(
                "soak: {seconds} s: RSS {} KiB ({:+} KiB since warm), CPU {:.2} % of a core",
                now.rss_kib,
                now.rss_kib as i64 - warm.rss_kib as i64,
                cpu_percent(warm, now)
            ),
        }
    }

    /// Measures the end while the capture still runs (after it stops, its buffers are already freed).
    fn handle_end(&mut self) {
        if self.end.is_none() {
            self.end = process_usage().ok();
        }
    }

    fn report(&self, capture: &Capture, seconds: f64) -> anyhow::Result<()> {
        let end = match self.end {
            Some(end) => end,
            None => process_usage()?,
        };
        let rss = |usage: Option<Usage>| usage.map_or("?".to_owned(), |usage| format!("{} KiB", usage.rss_kib));
        eprintln!("soak: {seconds:.1} s of {} from {}", capture.spec(), capture.source());
        eprintln!(
            "soak: RSS before capture {}, warm (at {SOAK_WARM_UP} s) {}, end {}",
            rss(self.before),
            rss(self.warm),
            rss(Some(end))
        );
        if let Some(warm) = self.warm {
            eprintln!(
                "soak: RSS drift {:+} KiB since warm; CPU {:.3} % of a core since warm ({:.2} s CPU in {:.1} s)",
                end.rss_kib as i64 - warm.rss_kib as i64,
                cpu_percent(warm, end),
                end.cpu_seconds - warm.cpu_seconds,
                end.at.duration_since(warm.at).as_secs_f64()
            );
        }
        Ok(())
    }
}

fn cpu_percent(from: Usage, to: Usage) -> f64 {
    let wall = to.at.duration_since(from.at).as_secs_f64();
    if wall == 0.0 {
        0.0
    } else {
        (to.cpu_seconds - from.cpu_seconds) * 100.0 / wall
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_sizes_parse_and_nonsense_is_refused() {
        assert_eq!(parse_pool("fixed:8"), Ok(Sizing::Fixed(8)));
        assert_eq!(
            parse_pool("adaptive:50:200"),
            Ok(Sizing::Adaptive { min: 50, max: 200 })
        );
        for bad in [
            "fixed:0",
            "adaptive:9:3",
            "fixed",
            "elastic:3",
            "fixed:-1",
            "adaptive:1:0",
        ] {
            assert!(parse_pool(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_must_be_positive_numbers() {
        assert_eq!(parse_seconds("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["0", "-1", "soon", "NaN", "inf"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }

    /// The parsed fields follow what the process does: touching 64 MiB raises the resident size by about that
    /// much, and spinning raises the CPU time (fields read from the wrong place of `/proc` would not).
    #[test]
    fn procfs_usage_follows_this_process_memory_and_cpu() {
        let before = process_usage().unwrap();
        let touched = vec![1u8; 64 << 20];
        let grown = process_usage().unwrap();
        assert!(
            grown.rss_kib >= before.rss_kib + 48 * 1024,
            "RSS {} KiB -> {} KiB after touching 64 MiB",
            before.rss_kib,
            grown.rss_kib
        );
        drop(std::hint::black_box(touched));

        // USER_HZ ticks are 10 ms: spin until a tenth of a second of CPU shows, with a deadline.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut spins = 0u64;
        loop {
            for _ in 0..1_000_000 {
                spins = std::hint::black_box(spins.wrapping_add(1));
            }
            let now = process_usage().unwrap();
            if now.cpu_seconds >= before.cpu_seconds + 0.1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "CPU time stayed at {} s while this thread spun",
                now.cpu_seconds
            );
        }
    }
}
