//! The p2 browser UI, measured (a benchmark, not a test; figures in BENCHMARKS.md, "p2 browser UI"):
//!
//! 1. CPU of `sluicegate p2 --port PTY --ui` while a test P2 sends mixed display traffic at a sustained
//!    2 Mbaud, with one page open and with none, alternating in the same run;
//! 2. arrival → pixels-on-page latency, measured in the page: a 2 × 1 RGB24 BITMAP carries the microsecond its
//!    line was written to the pty, and the page's `putImageData` of that rectangle (inside its animation frame)
//!    subtracts it from its own clock (the same machine's clock);
//! 3. during the HSV16 burst at 2 Mbaud (`sluicegate p2 simulate hsv16 --pty --pace 2000000`): the page's
//!    animation-frame intervals (a frozen page shows as a long interval) and the WebSocket bytes it receives.
//!
//! ```sh
//! cargo bench -p sluicegate-cli --bench p2_ui -- [SECONDS_PER_RUN [ROUNDS]]   # defaults 10 and 2
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serialport::{SerialPort, TTYPort};
use sluicegate_p2_ui::devtools::{Browser, Page};

const SLUICEGATE: &str = env!("CARGO_BIN_EXE_sluicegate");

/// 2,000,000 baud, 8N1: 200 bytes a millisecond.
const BYTES_PER_MS: usize = 200;

/// A latency probe every this often.
const PROBE_EVERY: Duration = Duration::from_millis(10);

const PAGE_HOOKS: &str = r"(() => {
  window.__latency = [];
  window.__frames = [];
  const put = CanvasRenderingContext2D.prototype.putImageData;
  CanvasRenderingContext2D.prototype.putImageData = function (data, x, y, ...rest) {
    put.call(this, data, x, y, ...rest);
    if (this.canvas.dataset.name === 'lat' && x === 0 && data.width >= 2) {
      const d = data.data;
      const sent = (d[4] << 16 | d[5] << 8 | d[6]) * 16777216 + (d[0] << 16 | d[1] << 8 | d[2]);
      if (sent === 0) return;  // the black image before the first probe
      const now = Math.round((performance.timeOrigin + performance.now()) * 1000) % 281474976710656;
      window.__latency.push((now - sent) / 1000);
    }
  };
  (function frame(t) { window.__frames.push(t); requestAnimationFrame(frame); })(performance.now());
  // Also when the probe's rectangle reaches the page, to tell the server's share from the browser's.
  window.__arrival = [];
  const socket = window.sluicegate.socket;
  const receive = socket.onmessage;
  socket.onmessage = (event) => {
    receive(event);
    if (typeof event.data !== 'string' && event.data.byteLength === 24 && new Uint8Array(event.data)[0] === 1) {
      const d = new Uint8Array(event.data, 16);
      const sent = (d[4] << 16 | d[5] << 8 | d[6]) * 16777216 + (d[0] << 16 | d[1] << 8 | d[2]);
      const now = Math.round((performance.timeOrigin + performance.now()) * 1000) % 281474976710656;
      if (sent) window.__arrival.push((now - sent) / 1000);
    }
  };
  return true;
})()";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).collect();
    let seconds: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(10);
    let rounds: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let browser = match Browser::launch(1400, 900) {
        Ok(browser) => browser,
        Err(error) => {
            eprintln!("p2_ui bench: {error}");
            return;
        }
    };
    println!(
        "p2 browser UI: {seconds} s per run, {rounds} rounds; load average {}",
        load_average()
    );
    println!();
    println!(
        "| round | page | CPU % of a core | → pixels p50 | p90 | p99 | max | → WebSocket p50 | p99 | probes | WebSocket | per thread, % of a core |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for round in 1..=rounds {
        for with_page in [false, true] {
            let run = mixed_traffic(&browser, with_page, Duration::from_secs(seconds));
            let latency = if with_page {
                format!(
                    "{:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {}",
                    percentile(&run.latency, 0.50),
                    percentile(&run.latency, 0.90),
                    percentile(&run.latency, 0.99),
                    percentile(&run.latency, 1.0),
                    percentile(&run.arrival, 0.50),
                    percentile(&run.arrival, 0.99),
                    run.latency.len()
                )
            } else {
                "— | — | — | — | — | — | —".to_owned()
            };
            println!(
                "| {round} | {} | {:.2} | {latency} | {:.1} MB/s | {} |",
                if with_page { "one" } else { "none" },
                run.cpu_percent,
                run.websocket / 1e6,
                run.threads
            );
        }
    }
    println!();
    println!("| HSV16 burst | burst | frame interval p50 | p99 | max | WebSocket | updates |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for round in 1..=rounds {
        let burst = hsv16_burst(&browser);
        println!(
            "| {round} | {:.2} s | {:.1} ms | {:.1} ms | {:.1} ms | {:.0} kB/s | {:.0}/s |",
            burst.seconds,
            percentile(&burst.intervals, 0.50),
            percentile(&burst.intervals, 0.99),
            percentile(&burst.intervals, 1.0),
            burst.bytes_per_second / 1000.0,
            burst.updates_per_second
        );
    }
}

struct MixedRun {
    cpu_percent: f64,
    /// Each thread's share, % of a core.
    threads: String,
    /// Bytes per second the page received.
    websocket: f64,
    /// Probe written → its pixels put on the canvas (in the page's animation frame), milliseconds.
    latency: Vec<f64>,
    /// Probe written → its rectangle received by the page's WebSocket handler, milliseconds.
    arrival: Vec<f64>,
}

/// The terminal on a pty that a paced writer fills with mixed display traffic at 2 Mbaud for `duration` (after
/// a second to settle), with or without a page; its CPU over `duration`, and the page's latencies.
fn mixed_traffic(browser: &Browser, with_page: bool, duration: Duration) -> MixedRun {
    let (master, slave) = TTYPort::pair().expect("a pty pair");
    let path = slave.name().expect("the pty's name");
    drop(slave);
    let (mut terminal, url) = start_terminal(&["--port", &path]);
    let page = with_page.then(|| open_page(browser, &url));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || write_paced(master, &stop))
    };
    std::thread::sleep(Duration::from_secs(1));
    let received = |page: &Option<Page<'_>>| {
        page.as_ref()
            .and_then(|page| page.evaluate("window.sluicegate.stats.bytes").ok())
            .and_then(|value| value.as_f64())
            .unwrap_or(0.0)
    };
    let bytes_before = received(&page);
    let before = cpu_ticks(terminal.id());
    let threads_before = thread_ticks(terminal.id());
    let started = Instant::now();
    std::thread::sleep(duration);
    let used = cpu_ticks(terminal.id()) - before;
    let elapsed = started.elapsed().as_secs_f64();
    let websocket = (received(&page) - bytes_before) / elapsed;
    let per_second = ticks_per_second() * elapsed / 100.0;
    let threads: Vec<String> = thread_ticks(terminal.id())
        .into_iter()
        .map(|(name, ticks)| {
            let spent = ticks - threads_before.get(&name).copied().unwrap_or(0);
            format!("{name} {:.1}", spent as f64 / per_second)
        })
        .collect();
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    let latency = page
        .as_ref()
        .map_or_else(Vec::new, |page| floats(page, "window.__latency"));
    let arrival = page
        .as_ref()
        .map_or_else(Vec::new, |page| floats(page, "window.__arrival"));
    if let Some(page) = page {
        let _ = page.close();
    }
    stop_terminal(&mut terminal);
    MixedRun {
        cpu_percent: 100.0 * used as f64 / ticks_per_second() / elapsed,
        threads: threads.join(", "),
        websocket,
        latency,
        arrival,
    }
}

struct Burst {
    seconds: f64,
    intervals: Vec<f64>,
    bytes_per_second: f64,
    updates_per_second: f64,
}

/// The HSV16 burst at 2 Mbaud from the simulator with a page open: the page's frame intervals and WebSocket
/// bytes while the messages come.
fn hsv16_burst(browser: &Browser) -> Burst {
    let mut simulator = Command::new(SLUICEGATE)
        .args([
            "p2",
            "simulate",
            "hsv16",
            "--pty",
            "--pace",
            "2000000",
            "--linger-ms",
            "300",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the simulator");
    let mut path = String::new();
    BufReader::new(simulator.stdout.take().expect("piped"))
        .read_line(&mut path)
        .expect("the pty's path");
    let (mut terminal, url) = start_terminal(&["--port", path.trim()]);
    let page = open_page(browser, &url);
    // (page time, bytes received, updates drawn, frames drawn, input ended)
    let sample = |page: &Page<'_>| {
        let value = page
            .evaluate(
                "[performance.now(), window.sluicegate.stats.bytes, window.sluicegate.stats.updates, \
                 window.sluicegate.stats.frames, Boolean(window.sluicegate.status && window.sluicegate.status.input_ended)]",
            )
            .expect("the page's counters");
        let at = |i: usize| value[i].as_f64().unwrap_or(0.0);
        (at(0), at(1), at(2), at(3), value[4] == serde_json::json!(true))
    };
    let _ = simulator.stdin.take().expect("piped").write_all(b"\n");
    // The burst, as the page sees it: from its first frame to its last.
    let mut first = None;
    let mut last = sample(&page);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let now = sample(&page);
        if now.3 > last.3 {
            first.get_or_insert(last);
            last = now;
        }
        if now.4 || Instant::now() > deadline {
            break;
        }
    }
    let first = first.unwrap_or(last);
    let frames = floats(&page, "window.__frames");
    let intervals: Vec<f64> = frames
        .windows(2)
        .filter(|pair| pair[0] >= first.0 && pair[1] <= last.0)
        .map(|pair| pair[1] - pair[0])
        .collect();
    let seconds = (last.0 - first.0) / 1000.0;
    let _ = page.close();
    stop_terminal(&mut terminal);
    let _ = simulator.wait();
    Burst {
        seconds,
        intervals,
        bytes_per_second: (last.1 - first.1) / seconds.max(1e-9),
        updates_per_second: (last.2 - first.2) / seconds.max(1e-9),
    }
}

fn start_terminal(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(SLUICEGATE)
        .arg("p2")
        .args(args)
        .args(["--ui", ":0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sluicegate p2");
    let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("ui: ").map(str::to_owned))
        .expect("the ui: line");
    std::thread::spawn(move || lines.for_each(drop));
    (child, url)
}

fn stop_terminal(terminal: &mut Child) {
    let _ = Command::new("kill").args(["-INT", &terminal.id().to_string()]).status();
    let _ = terminal.wait();
}

fn open_page<'b>(browser: &'b Browser, url: &str) -> Page<'b> {
    let page = browser.open(url).expect("the page opens");
    page.wait_for("window.sluicegate.status !== null", Duration::from_secs(10))
        .expect("the page connects");
    page.evaluate(PAGE_HOOKS).expect("the hooks");
    page
}

fn floats(page: &Page<'_>, expression: &str) -> Vec<f64> {
    page.evaluate(expression)
        .ok()
        .and_then(|value| {
            value
                .as_array()
                .map(|values| values.iter().filter_map(serde_json::Value::as_f64).collect())
        })
        .unwrap_or_default()
}

/// Writes mixed display traffic at 2 Mbaud until `stop`, a latency probe every [`PROBE_EVERY`].
fn write_paced(mut port: TTYPort, stop: &AtomicBool) {
    let _ = port.set_timeout(Duration::from_secs(1));
    let mut traffic = Traffic::new();
    let mut pending: Vec<u8> = Vec::new();
    for declaration in DECLARATIONS {
        pending.extend_from_slice(declaration.as_bytes());
        pending.extend_from_slice(b"\r\n");
    }
    let started = Instant::now();
    let mut sent = 0usize;
    let mut next_probe = started;
    while !stop.load(Ordering::Relaxed) {
        let budget = started.elapsed().as_millis() as usize * BYTES_PER_MS;
        if sent < budget {
            let mut chunk = Vec::new();
            if Instant::now() >= next_probe {
                next_probe += PROBE_EVERY;
                let micros = (SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_micros()
                    % (1 << 48)) as u64;
                chunk.extend_from_slice(
                    format!("`lat ${:06X} ${:06X}\r\n", micros & 0xFF_FFFF, micros >> 24).as_bytes(),
                );
            }
            // Whole lines only, so that a probe never lands inside another line.
            while chunk.len() < budget - sent {
                if pending.is_empty() {
                    traffic.tick(&mut pending);
                }
                let end = pending
                    .iter()
                    .position(|&byte| byte == b'\n')
                    .map_or(pending.len(), |at| at + 1);
                chunk.extend(pending.drain(..end));
            }
            if port.write_all(&chunk).is_err() {
                return;
            }
            sent += chunk.len();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

const DECLARATIONS: [&str; 10] = [
    "`scope s1 size 256 128 samples 256",
    "`s1 'sine' -1000 1000 120 4 15 'ramp' 0 1000 120 4 0",
    "`logic l1 samples 64 spacing 4 'count' 8",
    "`scope_xy xy size 80 range 1000 samples 128 rate 8 'liss'",
    "`fft f1 size 256 128 samples 256",
    "`f1 'chirp' 0 1000 120 0 15",
    "`plot p1 size 192 192",
    "`term t1 size 40 10",
    "`bitmap b1 size 128 64 dotsize 2 hsv16",
    "`bitmap lat size 2 1 rgb24",
];

/// Mixed display traffic, one animation step at a time.
struct Traffic {
    tick: u32,
}

impl Traffic {
    fn new() -> Traffic {
        Traffic { tick: 0 }
    }

    fn tick(&mut self, out: &mut Vec<u8>) {
        let t = self.tick;
        self.tick += 1;
        let mut line = |text: String| {
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        let wave = |n: u32, period: f64| (900.0 * (std::f64::consts::TAU * f64::from(n) / period).sin()).round() as i32;
        let samples: Vec<String> = (t * 8..t * 8 + 8)
            .map(|n| format!("{} {}", wave(n, 64.0), (n * 16) % 1000))
            .collect();
        line(format!("`s1 {}", samples.join(" ")));
        line(format!("`l1 {} {} {} {}", t * 4, t * 4 + 1, t * 4 + 2, t * 4 + 3));
        let points: Vec<String> = (t * 8..t * 8 + 8)
            .map(|n| format!("{} {}", wave(3 * n, 256.0), wave(2 * n, 256.0)))
            .collect();
        line(format!("`xy {}", points.join(" ")));
        let chirp: Vec<String> = (t * 16..t * 16 + 16)
            .map(|n| wave(n * (1 + n % 200) / 8, 256.0).to_string())
            .collect();
        line(format!("`f1 {}", chirp.join(" ")));
        let row: Vec<String> = (0..128u32)
            .map(|x| format!("${:X}", ((x * 2 + t) & 255) << 8 | (255 - (t % 64) * 4)))
            .collect();
        line(format!("`b1 {}", row.join(" ")));
        if t.is_multiple_of(4) {
            let angle = std::f64::consts::TAU * f64::from(t) / 48.0;
            line(format!(
                "`p1 CLEAR SET 96 96 BLUE CIRCLE 160 3 ORANGE LINESIZE 3 LINE {} {} SET 96 20 WHITE TEXT 12 'tick {t}'",
                96 + (70.0 * angle.cos()).round() as i32,
                96 + (70.0 * angle.sin()).round() as i32
            ));
            line(format!("`t1 {} 'tick {t}' 13", 4 + (t / 4) % 4));
        }
    }
}

/// User plus system CPU time of each thread of `pid` by name, in clock ticks.
fn thread_ticks(pid: u32) -> std::collections::BTreeMap<String, u64> {
    let mut threads = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return threads;
    };
    for task in tasks.flatten() {
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        *threads.entry(name.trim().to_owned()).or_default() += stat_ticks(&stat);
    }
    threads
}

/// User plus system CPU time of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    stat_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// User plus system time in a `/proc/…/stat` line.
fn stat_ticks(stat: &str) -> u64 {
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    // After the command name: state is field 3; utime and stime are fields 14 and 15.
    fields.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn percentile(values: &[f64], quantile: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * quantile).round() as usize]
}
