//! `sluicegate p2` end to end, as a user runs it: the simulator on one end of a real pseudo-terminal pair, the
//! terminal on the other, JSON out; replay of recordings; bad input.

mod p2_common;
mod p2_terminal_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::Duration;

use p2_common::{exclusive, hex_bytes, json_lines, sluicegate};
use p2_terminal_common::{assert_complete, assert_hsv16_pictures, send_signal, spawn_piped, stats};
use serde_json::Value;
use sluicegate_p2::simulate;

/// A simulator on a fresh pty, started once `start` is called.
struct Simulator {
    child: Child,
    stdin: Option<ChildStdin>,
    path: String,
}

/// A test that fails before the simulator ends must not leave it waiting for a reader.
impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Simulator {
    fn spawn(scenario: &str, pace: Option<u32>) -> Simulator {
        let mut command = sluicegate();
        command.args(["p2", "simulate", scenario, "--pty", "--linger-ms", "300"]);
        if let Some(baud) = pace {
            command.args(["--pace", &baud.to_string()]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut path = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut path)
            .unwrap();
        Simulator {
            stdin: child.stdin.take(),
            child,
            path: path.trim().to_owned(),
        }
    }

    fn start(&mut self) {
        let mut stdin = self.stdin.take().unwrap();
        stdin.write_all(b"\n").unwrap();
    }

    /// Waits for the end; returns how many bytes the line refused.
    fn finish(mut self) -> u64 {
        let mut stderr = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert!(self.child.wait().unwrap().success(), "simulator failed: {stderr}");
        let refused = stderr
            .split("; ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("{stderr}"));
        refused.parse().unwrap()
    }
}

/// Runs the terminal on the simulator's pty and returns its output once the simulator hangs up.
fn terminal_on<S: AsRef<std::ffi::OsStr>>(simulator: &mut Simulator, extra: &[S]) -> Output {
    let mut terminal = sluicegate()
        .args(["p2", "--port", &simulator.path, "--json", "--stats"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(terminal.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.contains("listening on"), "terminal did not start: {first}");
    simulator.start();
    let stdout_reader = {
        let mut stdout = terminal.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            stdout.read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    let mut rest = Vec::new();
    stderr.read_to_end(&mut rest).unwrap();
    let status = terminal.wait().unwrap();
    Output {
        status,
        stdout: stdout_reader.join().unwrap(),
        stderr: [first.into_bytes(), rest].concat(),
    }
}

/// Two other processes keeping both cores busy until dropped.
struct CpuLoad(Vec<Child>);

impl CpuLoad {
    fn start() -> CpuLoad {
        let spin = || {
            Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .expect("sh")
        };
        CpuLoad(vec![spin(), spin()])
    }
}

impl Drop for CpuLoad {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether this process may run a thread at real-time priority (`SCHED_FIFO`), as the terminal's reader asks
/// for; the OS's refusal otherwise.
fn realtime_refused() -> Option<String> {
    std::thread::spawn(|| {
        sluicegate_core::realtime::raise_current_thread()
            .err()
            .map(|error| error.to_string())
    })
    .join()
    .unwrap()
}

/// With both cores kept busy by two spinning processes, the terminal's reader keeps up with a paced 2 Mbaud
/// line only at real-time priority (at normal priority it lost 35 % of the burst on this project's 2-core
/// machine, `sluicegate_core::realtime`). Where the OS refuses `SCHED_FIFO`, a loss would measure the machine,
/// not the terminal: the test says so on stderr (past the harness's capture) and checks nothing.
#[test]
fn hsv16_over_a_pty_at_2_mbaud_with_non_blocking_writes_under_cpu_load() {
    if let Some(refusal) = realtime_refused() {
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED hsv16_over_a_pty_at_2_mbaud_with_non_blocking_writes_under_cpu_load: {refusal}; run as root or \
             with an rtprio limit (ulimit -r) to check that a loaded machine loses no byte"
        );
        return;
    }
    let _one = exclusive();
    let stream = simulate::hsv16();
    let mut simulator = Simulator::spawn("hsv16", Some(2_000_000));
    let load = CpuLoad::start();
    let output = terminal_on::<&str>(&mut simulator, &[]);
    drop(load);
    let refused = simulator.finish();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(refused, 0, "the pty refused bytes: the terminal fell behind");
    assert_complete(&json_lines(&output.stdout), &stream);
    let stats = stats(&output.stderr);
    assert_eq!(stats["bytes_in"], stream.bytes().len());
    assert_eq!(stats["overflows"], 0);
    assert_eq!(stats["ring"]["fill"], 0, "at exit every byte read has been framed");
    assert!(stats["ring"]["high_water"].as_u64().unwrap() > 0);
}

/// The HSV16 burst paced at 2 Mbaud over a pty with the displays written as snapshots: every message, and the
/// three bitmaps are D2's pictures. (A line is shown unfinished after the input has been idle for `--idle-ms`:
/// with the default 50 ms, one run of this test on a machine busy with other jobs, load average 10, saw a line
/// cut in two; a second of silence mid-line is not what this test is about.)
#[test]
fn hsv16_over_a_pty_at_2_mbaud_every_message_and_the_pictures_of_d2() {
    let _one = exclusive();
    let stream = simulate::hsv16();
    let snapshots = tempfile::tempdir().unwrap();
    let mut simulator = Simulator::spawn("hsv16", Some(2_000_000));
    let output = terminal_on(
        &mut simulator,
        &[
            "--snapshots".as_ref(),
            snapshots.path().as_os_str(),
            "--idle-ms".as_ref(),
            "1000".as_ref(),
        ],
    );
    let refused = simulator.finish();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(refused, 0, "the pty refused bytes: the terminal fell behind");
    assert_complete(&json_lines(&output.stdout), &stream);
    let stats = stats(&output.stderr);
    assert_eq!(stats["displays"]["lines"], 65_539);
    assert_eq!(stats["displays"]["queue_dropped"], 0);
    assert_eq!(stats["displays"]["snapshots_written"], 3);
    assert_hsv16_pictures(snapshots.path());
}

#[test]
fn hsv16_over_a_pty_unpaced_five_times_without_a_loss() {
    let _one = exclusive();
    let stream = simulate::hsv16();
    for run in 0..5 {
        let mut simulator = Simulator::spawn("hsv16", None);
        let output = terminal_on::<&str>(&mut simulator, &[]);
        assert_eq!(simulator.finish(), 0);
        assert!(
            output.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_complete(&json_lines(&output.stdout), &stream);
    }
}

#[test]
fn worker_panic_mid_burst_loses_and_repeats_nothing() {
    let _one = exclusive();
    let stream = simulate::hsv16();
    let mut simulator = Simulator::spawn("hsv16", None);
    let output = terminal_on(&mut simulator, &["--inject-panic-after", "30000"]);
    simulator.finish();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_complete(&json_lines(&output.stdout), &stream);
    let stats = stats(&output.stderr);
    assert_eq!(stats["restarts"], 1);
    assert_eq!(
        stats["messages"],
        stream.messages().len(),
        "each message counted once, though the restarted deframer framed some again"
    );
    assert_eq!(stats["bytes_in"], stream.bytes().len());
    assert!(String::from_utf8_lossy(&output.stderr).contains("extraction worker restarted"));
}

/// `--stats --json` is one object whose keys, nested ones included (ring, chunk pool, latency), are all
/// snake_case.
#[test]
fn stats_json_keys_are_snake_case_throughout() {
    fn keys(value: &Value, path: &str, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    found.push(format!("{path}{key}"));
                    keys(inner, &format!("{path}{key}."), found);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| keys(item, path, found)),
            _ => {}
        }
    }
    let _one = exclusive();
    let output = sluicegate()
        .args(["p2", "--simulate", "mixed", "--json", "--stats"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut found = Vec::new();
    keys(&stats(&output.stderr), "", &mut found);
    assert!(found.iter().any(|key| key == "chunk_pool.hit_rate"), "{found:?}");
    assert!(found.iter().any(|key| key == "latency.p99_us"), "{found:?}");
    let odd: Vec<&String> = found
        .iter()
        .filter(|key| {
            let last = key.rsplit('.').next().unwrap_or_default();
            last.is_empty()
                || !last
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
        })
        .collect();
    assert!(odd.is_empty(), "keys not in snake_case: {odd:?}");
}

#[test]
fn overflow_is_counted_exactly_resyncs_and_keeps_every_other_message() {
    let _one = exclusive();
    let stream = simulate::hsv16();
    let output = sluicegate()
        .args([
            "p2",
            "--simulate",
            "hsv16",
            "--json",
            "--stats",
            "--ring-bytes",
            "65536",
            "--stall-ms",
            "700",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reported: u64 = stderr
        .lines()
        .filter_map(|line| line.split("stayed full, ").nth(1))
        .map(|rest| rest.split(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    let stats = stats(&output.stderr);
    assert!(reported > 0, "no overflow happened: {stderr}");
    assert_eq!(
        stats["overflow_bytes"], reported,
        "events and stats agree on the exact count"
    );
    let total = |key: &str| stats[key].as_u64().unwrap();
    assert_eq!(
        total("bytes_in"),
        total("message_bytes") + total("padding_bytes") + total("discarded_bytes")
    );

    // Every message is the stream's bytes at a later position; those not cut by the gap are whole messages.
    let starts: std::collections::HashMap<usize, usize> = stream
        .messages()
        .iter()
        .map(|message| (message.range.start, message.range.end))
        .collect();
    let mut position = 0;
    let mut intact = 0;
    for message in json_lines(&output.stdout) {
        let bytes = hex_bytes(&message);
        let found = stream.bytes()[position..]
            .windows(bytes.len())
            .position(|window| window == bytes);
        let start = position + found.expect("a message that is not in the stream");
        let cut = message["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|flag| matches!(flag.as_str(), Some("resync" | "partial")));
        if !cut {
            assert_eq!(
                starts.get(&start),
                Some(&(start + bytes.len())),
                "a whole message at {start}"
            );
            intact += 1;
        }
        position = start + bytes.len();
    }
    assert_eq!(intact as u64 + total("partial_flushes"), total("messages"));
}

#[test]
fn record_then_replay_gives_identical_json() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("session.sgrec");
    let live = sluicegate()
        .args(["p2", "--simulate", "mixed", "--json", "--record"])
        .arg(&recording)
        .output()
        .unwrap();
    assert!(live.status.success(), "{}", String::from_utf8_lossy(&live.stderr));
    let replay = sluicegate()
        .args(["p2", "--speed", "max", "--json", "--replay"])
        .arg(&recording)
        .output()
        .unwrap();
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    assert!(!live.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&live.stdout),
        String::from_utf8_lossy(&replay.stdout)
    );
}

/// A USB traffic log as the reference writes it (B.5), from a real capture and its real read sizes.
/// Pauses longer than the idle time end unfinished text live (a prompt, a lone CR); a replay at full speed,
/// whose bytes all come early, ends it at the same places because idleness follows the recorded times.
#[test]
fn a_replay_at_full_speed_ends_text_at_the_recorded_pauses() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("pauses.sgrec");
    let mut terminal = spawn_piped(
        sluicegate()
            .args(["p2", "--stdin", "--json", "--record"])
            .arg(&recording),
    );
    let mut stdin = terminal.stdin.take().unwrap();
    for (part, pause) in [
        (&b"Cog0  a\r\nCog0  prompt> "[..], 300),
        (b"rest\r\n", 200),
        (b"\r", 200),
        (b"\nX", 0),
    ] {
        stdin.write_all(part).unwrap();
        std::thread::sleep(Duration::from_millis(pause));
    }
    drop(stdin);
    let live = terminal.wait_with_output().unwrap();
    assert!(live.status.success());
    let texts = |stdout: &[u8]| -> Vec<String> {
        json_lines(stdout)
            .iter()
            .map(|message| message["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        texts(&live.stdout),
        ["Cog0  a\r\n", "Cog0  prompt> ", "rest\r\n", "\r", "\n", "X"],
        "the pauses end text live"
    );
    let replay = sluicegate()
        .args(["p2", "--speed", "max", "--json", "--replay"])
        .arg(&recording)
        .output()
        .unwrap();
    assert!(replay.status.success());
    assert_eq!(
        String::from_utf8_lossy(&replay.stdout),
        String::from_utf8_lossy(&live.stdout)
    );
}

#[test]
fn replay_of_a_reference_usb_traffic_log_gives_the_capture_s_messages() {
    let _one = exclusive();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../p2/tests/fixtures/");
    let bytes = std::fs::read(format!("{fixtures}real-session-2025-08-30.bin")).unwrap();
    let sizes = std::fs::read_to_string(format!("{fixtures}real-session-2025-08-30.chunks")).unwrap();
    let mut log = String::from("================================================================================\n");
    let mut offset = 0;
    for (index, size) in sizes
        .lines()
        .map(|line| line.trim().parse::<usize>().unwrap())
        .enumerate()
    {
        let chunk = &bytes[offset..offset + size];
        offset += size;
        log.push_str(&format!(
            "[USB RECV 2025-08-30T06:30:{:02}.{:03}Z] Received {size} bytes\n[USB RECV HEX/ASCII]:\n",
            index / 10,
            index * 7 % 1000
        ));
        for (row, row_bytes) in chunk.chunks(16).enumerate() {
            log.push_str(&format!("  {:04x}: ", row * 16));
            for (i, byte) in row_bytes.iter().enumerate() {
                log.push_str(&format!("${byte:02X} {}", if i == 7 { " " } else { "" }));
            }
            let ascii: String = row_bytes
                .iter()
                .map(|&b| {
                    if (0x20..0x7f).contains(&(b & 0x7f)) {
                        char::from(b & 0x7f)
                    } else {
                        '.'
                    }
                })
                .collect();
            log.push_str(&format!(" {ascii}\n"));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usb-traffic_250830-063000.log");
    std::fs::write(&path, log).unwrap();
    let from_log = sluicegate()
        .args(["p2", "--speed", "max", "--json", "--stats", "--replay"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        from_log.status.success(),
        "{}",
        String::from_utf8_lossy(&from_log.stderr)
    );
    let messages = json_lines(&from_log.stdout);
    let kinds: Vec<&str> = messages
        .iter()
        .map(|message| message["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|&&kind| kind == "debugger1").count(),
        2,
        "two COG1 debugger packets: {kinds:?}"
    );
    let golden: Vec<_> = messages
        .iter()
        .filter(|message| message["flags"].as_array().unwrap().iter().any(|f| f == "golden_sync"))
        .collect();
    assert_eq!(golden.len(), 2, "the session twice, each starting with a golden sync");
    let stats = stats(&from_log.stderr);
    assert_eq!(stats["bytes_in"], bytes.len());
    assert_eq!(stats["padding_bytes"], 80, "40 zero bytes after each packet");
    let rebuilt: Vec<u8> = messages.iter().flat_map(hex_bytes).collect();
    assert_eq!(rebuilt.len() + 80, bytes.len());
}

/// Sends `signal` (`-INT`, `-USR1`) to a running terminal.
fn run_failing(args: &[&str]) -> (i32, String) {
    let output = sluicegate().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code().unwrap(), stderr)
}

#[test]
fn bad_input_is_one_clear_line_and_a_meaningful_exit_code() {
    let _one = exclusive();
    let (code, stderr) = run_failing(&["p2", "--port", "/dev/no-such-p2"]);
    assert_eq!(
        (code, stderr.trim()),
        (4, "sluicegate: serial port /dev/no-such-p2: no such device")
    );

    let (code, stderr) = run_failing(&["p2", "--port", "/dev/null", "--baud", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("baud rate 0 is out of range"), "{stderr}");

    let (code, stderr) = run_failing(&["p2", "--stdin", "--cpu", "64"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--cpu 64: cannot pin the thread to CPU 64") && stderr.lines().count() == 1,
        "{stderr}"
    );
    let (code, stderr) = run_failing(&["p2", "--stdin", "--cpu", "fast"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("expected auto, any or a CPU number"), "{stderr}");

    let (code, stderr) = run_failing(&["p2", "--replay", "/nonexistent/capture.sgrec"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("cannot read /nonexistent/capture.sgrec"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("cut.sgrec");
    std::fs::write(&corrupt, b"SGREC\0\x01\0\0\0").unwrap();
    let (code, stderr) = run_failing(&["p2", "--replay", corrupt.to_str().unwrap()]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "sluicegate: {}: Sgrec capture truncated at byte 0: the header needs 6 more bytes",
            corrupt.display()
        )
    );

    let log = dir.path().join("usb-traffic.log");
    for (line, problem) in [
        (
            "[USB RECV 2025-10-15T17:13:1e300Z] Received 1 bytes",
            "USB traffic log line 4: `2025-10-15T17:13:1e300Z` is not an ISO time",
        ),
        (
            "[USB RECV 2025-10-15T17:13:37Z] Received 9223372036854775807 bytes",
            "USB traffic log line 4: the log ended with the receive block 9223372036854775806 bytes short",
        ),
    ] {
        std::fs::write(
            &log,
            format!("[USB RECV 2025-10-15T17:13:36Z] Received 1 bytes\n  0000: $41\n\n{line}\n  0000: $42\n"),
        )
        .unwrap();
        let (code, stderr) = run_failing(&["p2", "--replay", log.to_str().unwrap()]);
        assert_eq!(code, 3, "{stderr}");
        assert_eq!(stderr.trim(), format!("sluicegate: {}: {problem}", log.display()));
    }
}

/// A `.sgrec` cut short (the terminal killed, a full disk) replays every whole record; the cut last one is
/// dropped with a warning.
#[test]
fn a_cut_recording_replays_its_whole_records_with_a_warning() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.sgrec");
    let mut file = b"SGREC\0\x01\0\0\0\0\0\0\0\0\0".to_vec();
    file.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0]);
    file.extend_from_slice(b"Cog0  ok\r\n");
    file.extend_from_slice(&[5, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0]);
    file.extend_from_slice(b"Cog0  c");
    std::fs::write(&cut, &file).unwrap();
    let output = sluicegate()
        .args(["p2", "--speed", "max", "--json", "--replay"])
        .arg(&cut)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let texts: Vec<Value> = json_lines(&output.stdout)
        .iter()
        .map(|message| message["text"].clone())
        .collect();
    assert_eq!(texts, ["Cog0  ok\r\n"]);
    assert_eq!(
        stderr.trim(),
        format!(
            "sluicegate p2: warning: {}: cut short: the last record, at byte 38, is incomplete; its 19 bytes were \
             dropped",
            cut.display()
        )
    );
}

/// An option the chosen source would ignore, or a value out of its range, is refused before anything runs; an
/// error's cause is said once.
#[test]
fn options_that_do_not_apply_or_are_out_of_range_are_usage_errors() {
    let _one = exclusive();
    for args in [
        &["p2", "--stdin", "--reset"][..],
        &["p2", "--stdin", "--rts"],
        &["p2", "--stdin", "--baud", "115200"],
        &["p2", "--stdin", "--speed", "max"],
        &["p2", "--stdin", "--pace", "100"],
        &["p2", "--simulate", "mixed", "--speed", "max"],
        &["p2", "--simulate", "mixed", "--coalesce-ms", "0"],
        &["p2", "--stdin", "--json", "--show-controls"],
    ] {
        let (code, stderr) = run_failing(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("applies only with") && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
    }
    for (option, value) in [
        ("--pace", "0"),
        ("--coalesce-ms", "101"),
        ("--ring-bytes", "65535"),
        ("--ring-bytes", "18446744073709551615"),
    ] {
        let (code, stderr) = run_failing(&["p2", "--simulate", "mixed", option, value]);
        assert_eq!(code, 2, "{option} {value}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{option}")),
            "{stderr}"
        );
    }
    let (code, stderr) = run_failing(&["p2", "--tcp", "no-port-here"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot connect to no-port-here"), "{stderr}");
    let (code, stderr) = run_failing(&["p2", "simulate", "demo", "--pty", "--pace", "0"]);
    assert_eq!(code, 2, "refused before the pty is opened: {stderr}");
    let (code, stderr) = run_failing(&["p2", "load", "/nonexistent.bin", "--port", "/dev/null", "--json"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("apply only with --then-monitor"), "{stderr}");
    let (code, stderr) = run_failing(&["p2", "--replay", "/nonexistent/capture.sgrec"]);
    assert_eq!(
        (code, stderr.trim()),
        (
            3,
            "sluicegate: cannot read /nonexistent/capture.sgrec: No such file or directory (os error 2)"
        )
    );
}

/// A run that cannot start (its debug log cannot be written) fails before it touches the recording: an earlier
/// recording of the same name is left whole.
#[test]
fn a_run_that_cannot_start_leaves_an_earlier_recording_alone() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("keep.sgrec");
    std::fs::write(&recording, b"an earlier session").unwrap();
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, b"").unwrap();
    let output = sluicegate()
        .args(["p2", "--simulate", "mixed", "--log"])
        .arg(blocked.join("logs"))
        .arg("--record")
        .arg(&recording)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the debug log"), "{stderr}");
    assert_eq!(std::fs::read(&recording).unwrap(), b"an earlier session");
}

/// A read that fails (here stdin is a directory) ends the terminal with what came before delivered, and a
/// nonzero exit naming the input; the far end of a pseudo-terminal closing is an end, not a failure (the pty
/// tests above end so).
#[test]
fn a_failed_read_is_a_nonzero_exit_that_names_the_input() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let output = sluicegate()
        .args(["p2", "--stdin"])
        .stdin(std::fs::File::open(dir.path()).unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("reading standard input failed"), "{stderr}");
}

#[test]
fn a_port_held_by_another_terminal_is_reported_busy() {
    let _one = exclusive();
    let mut simulator = Simulator::spawn("demo", None);
    let mut first = sluicegate()
        .args(["p2", "--port", &simulator.path])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(first.stderr.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening"), "{line}");
    let (code, stderr) = run_failing(&["p2", "--port", &simulator.path]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("busy"), "{stderr}");
    simulator.start();
    simulator.finish();
    assert!(first.wait().unwrap().success());
    std::thread::sleep(Duration::from_millis(10));
}

#[test]
fn ctrl_c_ends_cleanly_with_stats_and_exit_code_zero() {
    let _one = exclusive();
    let mut terminal = sluicegate()
        .args(["p2", "--simulate", "demo", "--json", "--stats"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(terminal.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("golden_sync"), "{first}");
    send_signal(&terminal, "-INT");
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let output = terminal.wait_with_output().unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    let stats = stats(&output.stderr);
    let messages = 1 + json_lines(&rest).len() as u64;
    assert_eq!(
        stats["messages"], messages,
        "every message framed was written before exit"
    );
    assert!(
        messages < simulate::demo_session().messages().len() as u64,
        "stopped before the end"
    );
}

/// Ctrl-C or SIGTERM while stdin is still open (its reader blocked in a read that never ends) leaves a
/// recording of every byte read, flushed and whole: its replay gives the same messages.
#[test]
fn a_recording_interrupted_by_a_signal_holds_every_byte_read() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    for signal in ["-INT", "-TERM"] {
        let recording = dir.path().join(format!("session{signal}.sgrec"));
        let mut terminal = spawn_piped(
            sluicegate()
                .args(["p2", "--stdin", "--json", "--record"])
                .arg(&recording),
        );
        let mut stdin = terminal.stdin.take().unwrap();
        stdin.write_all(b"Cog0  ok\r\nCog0  two\r\n").unwrap();
        let mut stdout = BufReader::new(terminal.stdout.take().unwrap());
        let mut live = String::new();
        for _ in 0..2 {
            stdout.read_line(&mut live).unwrap();
        }
        send_signal(&terminal, signal);
        stdout.read_to_string(&mut live).unwrap();
        let output = terminal.wait_with_output().unwrap();
        assert!(output.status.success(), "{signal}: {:?}", output.status);
        drop(stdin);
        let replay = sluicegate()
            .args(["p2", "--speed", "max", "--json", "--replay"])
            .arg(&recording)
            .output()
            .unwrap();
        assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
        let texts = |stdout: &[u8]| -> Vec<Value> {
            json_lines(stdout)
                .iter()
                .map(|message| message["text"].clone())
                .collect()
        };
        assert_eq!(texts(live.as_bytes()), ["Cog0  ok\r\n", "Cog0  two\r\n"], "{signal}");
        assert_eq!(texts(&replay.stdout), texts(live.as_bytes()), "{signal}");
    }
}

#[test]
fn a_recording_that_cannot_be_written_fails_the_run() {
    let _one = exclusive();
    let mut terminal = sluicegate()
        .args(["p2", "--stdin", "--record", "/dev/full"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    terminal.stdin.take().unwrap().write_all(b"Cog0  ok\r\n").unwrap();
    let output = terminal.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "sluicegate: cannot write the recording /dev/full: No space left on device (os error 28)"
    );
}

/// SIGUSR1 reports the stats of a running terminal, between messages, even while its input is quiet; a line
/// after it is still framed, and the end of the input ends it cleanly.
#[test]
fn sigusr1_reports_stats_while_the_input_is_quiet() {
    let _one = exclusive();
    let mut terminal = spawn_piped(sluicegate().args(["p2", "--stdin", "--json", "--stats"]));
    let mut stdin = terminal.stdin.take().unwrap();
    let mut stdout = BufReader::new(terminal.stdout.take().unwrap());
    let mut stderr = BufReader::new(terminal.stderr.take().unwrap());
    stdin.write_all(b"Cog0  before\r\n").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("before"), "{line}");
    send_signal(&terminal, "-USR1");
    let mut report = String::new();
    stderr.read_line(&mut report).unwrap();
    let report: Value = serde_json::from_str(&report).expect("a stats object");
    assert_eq!(report["messages"], 1, "{report}");
    stdin.write_all(b"Cog0  after\r\n").unwrap();
    drop(stdin);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("after"), "{rest}");
    let mut last = Vec::new();
    stderr.read_to_end(&mut last).unwrap();
    assert!(terminal.wait().unwrap().success());
    assert_eq!(stats(&last)["messages"], 2);
}

#[test]
fn stdin_to_its_end_frames_everything_including_the_unfinished_last_line() {
    let _one = exclusive();
    let mut terminal = spawn_piped(sluicegate().args(["p2", "--stdin", "--json"]));
    terminal
        .stdin
        .take()
        .unwrap()
        .write_all(b"Cog0  hello\r\n`TERM t SIZE 9 9\r\n`t 'x'\r\nprompt> ")
        .unwrap();
    let output = terminal.wait_with_output().unwrap();
    assert!(output.status.success());
    let messages = json_lines(&output.stdout);
    let texts: Vec<&str> = messages
        .iter()
        .map(|message| message["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["Cog0  hello\r\n", "`TERM t SIZE 9 9\r\n", "`t 'x'\r\n", "prompt> "]
    );
    assert_eq!(messages[2]["targets"], serde_json::json!(["t"]));
    let flags = messages[3]["flags"].as_array().unwrap();
    assert!(flags.iter().any(|flag| flag == "partial"), "{flags:?}");
}

/// Each output writes out what it buffered once nothing more is queued, not at the last message it takes: a
/// line followed by a debugger packet (which the terminal does not show) shows at once, and so does a window
/// update followed by a text line (which window files do not take), while the input stays open.
#[test]
fn the_last_line_shows_at_once_when_messages_another_output_takes_follow_it() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let mut terminal = spawn_piped(sluicegate().args(["p2", "--stdin", "--windows"]).arg(dir.path()));
    let mut stdin = terminal.stdin.take().unwrap();
    let mut input = b"`TERM t SIZE 9 9\r\n`t 'x'\r\nCog0  hello\r\n".to_vec();
    input.extend_from_slice(&[1, 0, 0, 0]);
    input.resize(input.len() + 412, 0);
    stdin.write_all(&input).unwrap();
    let stdout = terminal.stdout.take().unwrap();
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = line_tx.send(line.unwrap());
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let shown = std::iter::from_fn(|| {
        line_rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .ok()
    })
    .any(|line| line.contains("hello"));
    let window = dir.path().join("t.txt");
    let mut updated = false;
    while !updated && std::time::Instant::now() < deadline {
        updated = std::fs::read_to_string(&window).is_ok_and(|text| text.lines().nth(1) == Some("'x'"));
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    assert!(terminal.wait().unwrap().success());
    reader.join().unwrap();
    assert!(shown, "the line before the debugger packet waited for more input");
    assert!(
        updated,
        "the window update before the text line waited for more input: {:?}",
        std::fs::read_to_string(&window)
    );
}

#[test]
fn a_closed_output_pipe_ends_the_terminal_quietly_with_success() {
    let _one = exclusive();
    let mut terminal = sluicegate()
        .args(["p2", "--simulate", "hsv16", "--json", "--stats"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(terminal.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("{\"seq\":0,"), "{first}");
    // The reader above is dropped: the pipe is closed with most of the burst still to write.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = terminal.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the terminal did not end after its output closed"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    terminal.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "only the statistics: {stderr}");
    // Every byte read is still accounted for, though most messages were never written.
    let stats = stats(stderr.as_bytes());
    let total = |key: &str| stats[key].as_u64().unwrap();
    assert_eq!(
        total("bytes_in"),
        total("message_bytes") + total("padding_bytes") + total("discarded_bytes"),
        "{stats}"
    );
}

/// Spawns `command` with stdin, stdout and stderr piped.
/// `sluicegate p2 --stdin` with `extra` arguments on `input` to its end.
fn terminal_on_stdin(input: &[u8], extra: &[&std::ffi::OsStr]) -> Output {
    let mut terminal = spawn_piped(sluicegate().args(["p2", "--stdin"]).args(extra));
    terminal.stdin.take().unwrap().write_all(input).unwrap();
    terminal.wait_with_output().unwrap()
}

#[test]
fn windows_whose_names_differ_in_unsafe_characters_keep_their_own_files() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let input = b"`TERM a.b\r\n`TERM a_b\r\n`TERM A%2eB\r\n`a.b one\r\n`a_b two\r\n`a%2eb three\r\n";
    let output = terminal_on_stdin(input, &["--windows".as_ref(), dir.path().as_os_str()]);
    assert!(output.status.success(), "{output:?}");
    let read = |file: &str| std::fs::read_to_string(dir.path().join(file)).unwrap();
    assert_eq!(read("a%2Eb.txt"), "`TERM a.b\none\n");
    assert_eq!(read("a_b.txt"), "`TERM a_b\ntwo\n");
    assert_eq!(read("a%252eb.txt"), "`TERM A%2eB\nthree\n");
}

/// A window declared again (as a rebooted program does) starts the next file; the first keeps all it received,
/// with nothing of it written after the new declaration.
#[test]
fn a_redeclared_window_starts_a_new_file_and_the_first_keeps_its_data() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let mut input = b"`TERM t\r\n".to_vec();
    let old: String = (0..300).map(|i| format!("old{i}\n")).collect();
    for i in 0..300 {
        input.extend_from_slice(format!("`t old{i}\r\n").as_bytes());
    }
    input.extend_from_slice(b"`TERM t\r\n`t new0\r\n`t new1\r\n`t new2\r\n");
    input.extend_from_slice(b"Cog0  INIT $0000_0000 $0000_0000 load\r\n`TERM T\r\n`t after\r\n");
    let output = terminal_on_stdin(&input, &["--windows".as_ref(), dir.path().as_os_str()]);
    assert!(output.status.success(), "{output:?}");
    let read = |file: &str| std::fs::read_to_string(dir.path().join(file)).unwrap();
    assert_eq!(read("t.txt"), format!("`TERM t\n{old}"));
    assert_eq!(read("t.2.txt"), "`TERM t\nnew0\nnew1\nnew2\n");
    assert_eq!(read("t.3.txt"), "`TERM T\nafter\n", "after a reboot");
}

/// A window whose file cannot be created is one line on stderr; the terminal, the other windows and the exit
/// code are as if it were not there.
#[test]
fn a_window_file_that_cannot_be_written_is_reported_once_and_the_session_goes_on() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(300);
    let input = format!("`TERM {long}\r\n`TERM ok\r\n`{long} 1\r\n`ok hi\r\n`{long} 2\r\nCog0  after\r\n");
    let output = terminal_on_stdin(input.as_bytes(), &["--windows".as_ref(), dir.path().as_os_str()]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.ends_with("Cog0  after\n"), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("sluicegate p2: window '{long}': cannot write "))
            && stderr.contains("File name too long"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ok.txt")).unwrap(),
        "`TERM ok\nhi\n"
    );
}

#[test]
fn terminal_text_shows_utf8_as_its_characters() {
    let _one = exclusive();
    let output = terminal_on_stdin(b"Cog0  25\xc2\xb0C\r\nlatin-1 caf\xe9\r\n", &[]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "Cog0  25\u{b0}C\nlatin-1 caf\u{e9}\n"
    );
}

/// A session that starts with the P2's reboot line (as after a reset) logs into the first file, and the next
/// reboot starts the second: no empty first file.
#[test]
fn a_session_that_starts_with_a_reboot_has_no_empty_first_log() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let input =
        b"Cog0  INIT $0000_0000 $0000_0000 load\r\nCog0  one\r\nCog0  INIT $0000_0000 $0000_0000 load\r\nCog0  two\r\n";
    let output = terminal_on_stdin(input, &["--log".as_ref(), dir.path().as_os_str()]);
    assert!(output.status.success());
    let mut logs: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    logs.sort();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(
        logs.iter().all(|log| log.lines().count() == 2),
        "a reboot line and one line each: {logs:?}"
    );
}

/// The debug log's new file at a reboot cannot be made (its directory was removed): one clear line and exit 1,
/// not a panic on the lines that follow the reboot.
#[test]
fn a_debug_log_that_cannot_start_its_next_file_ends_the_session_cleanly() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let mut terminal = spawn_piped(sluicegate().args(["p2", "--stdin", "--log"]).arg(&logs));
    let mut stdin = terminal.stdin.take().unwrap();
    let mut stdout = BufReader::new(terminal.stdout.take().unwrap());
    stdin.write_all(b"Cog0  first\r\n").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "Cog0  first\n");
    std::fs::remove_dir_all(&logs).unwrap();
    stdin
        .write_all(b"Cog0  INIT $0000_0000 $0000_0000 load\r\nCog0  second\r\n")
        .unwrap();
    drop(stdin);
    let output = terminal.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot create the debug log ") && stderr.contains(&*logs.to_string_lossy()),
        "{stderr}"
    );
}
