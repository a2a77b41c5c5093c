//! `sluicegate rlnc send`/`recv`/`verify` as a user runs them, over 127.0.0.1:
//! byte-exact transfers, streams, and every way a transfer can fail (no
//! receiver, a receiver or sender that goes away, a full disk), with the
//! exit code and the files left behind.

use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

mod rlnc_common;
use rlnc_common::listening_on;

fn sluicegate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluicegate"))
}

fn data(len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// `in.bin` of `len` bytes in `dir`, the path `out.bin` beside it, and the bytes.
fn input_file(dir: &Path, len: usize) -> (PathBuf, PathBuf, Vec<u8>) {
    let bytes = data(len);
    std::fs::write(dir.join("in.bin"), &bytes).unwrap();
    (dir.join("in.bin"), dir.join("out.bin"), bytes)
}

/// A running `rlnc recv` and the address it printed.
struct Receiver {
    child: Child,
    addr: SocketAddr,
    stdout: thread::JoinHandle<Vec<u8>>,
    stderr: mpsc::Receiver<String>,
}

impl Receiver {
    /// Starts `rlnc recv --listen 127.0.0.1:0 ARGS` and reads its `listening on` line.
    fn start(args: &[&str]) -> Receiver {
        let mut child = sluicegate()
            .args(["rlnc", "recv", "--listen", "127.0.0.1:0", "--insecure"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (addr, lines) = listening_on(child.stderr.take().unwrap());
        // The rest of stderr and stdout, read on threads so the receiver never blocks on them.
        let (tx, stderr) = mpsc::channel();
        thread::spawn(move || {
            let rest: Vec<String> = lines.map_while(Result::ok).collect();
            let _ = tx.send(rest.join("\n"));
        });
        let mut out = child.stdout.take().unwrap();
        let stdout = thread::spawn(move || {
            let mut bytes = Vec::new();
            out.read_to_end(&mut bytes).unwrap();
            bytes
        });
        Receiver {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    /// Waits at most `limit` for the exit; the output and stderr.
    fn finish(mut self, limit: Duration) -> (Output, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(start.elapsed() < limit, "the receiver did not exit within {limit:?}");
            thread::sleep(Duration::from_millis(10));
        };
        let stdout = self.stdout.join().unwrap();
        let stderr = self.stderr.recv_timeout(Duration::from_secs(5)).unwrap();
        let output = Output {
            status,
            stdout,
            stderr: stderr.clone().into_bytes(),
        };
        (output, stderr)
    }
}

fn send(input: &Path, to: SocketAddr, args: &[&str]) -> Child {
    sluicegate()
        .args(["rlnc", "send", "--to", &to.to_string(), "--insecure"])
        .args(args)
        .arg(input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits at most `limit` for `child`; its output and how long it took.
fn wait_within(mut child: Child, limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        thread::sleep(Duration::from_millis(5));
    }
    (child.wait_with_output().unwrap(), start.elapsed())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

/// Waits until `path` holds at least `len` bytes.
fn wait_for_bytes(path: &Path, len: u64) {
    let start = Instant::now();
    while std::fs::metadata(path).map_or(0, |m| m.len()) < len {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} did not grow",
            path.display()
        );
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn send_and_recv_move_a_file_through_loss_and_agree_on_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output, bytes) = input_file(dir.path(), 1_500_000);
    // Lingering longer than the sender's doubled probe timeout on a loaded
    // machine: with loss both ways, its last probes must still find the
    // receiver to draw the done again.
    let receiver = Receiver::start(&[
        "--linger-ms",
        "1000",
        "--json",
        "--loss",
        "0.1",
        "--out",
        output.to_str().unwrap(),
    ]);
    let listening = receiver.addr;
    let (sent, _) = wait_within(
        send(&input, listening, &["--loss", "0.2", "--burst", "--json"]),
        Duration::from_secs(30),
    );
    assert!(sent.status.success(), "{}", stderr(&sent));
    let (received, _) = receiver.finish(Duration::from_secs(10));
    assert!(received.status.success());
    assert!(std::fs::read(&output).unwrap() == bytes);
    assert_eq!(
        files_in(dir.path()),
        [input.clone(), output.clone()],
        "no partial file left"
    );
    let sent: serde_json::Value = serde_json::from_slice(&sent.stdout).unwrap();
    let received: serde_json::Value = serde_json::from_slice(&received.stdout).unwrap();
    assert_eq!(sent["verified"], true);
    assert_eq!(sent["sha256"], received["sha256"]);
    assert_eq!(received["bytes"], 1_500_000);
    let peer: SocketAddr = received["peer"].as_str().unwrap().parse().unwrap();
    assert_eq!(peer.ip(), listening.ip());
}

#[test]
fn stdin_streams_to_stdout() {
    let bytes = data(700_001);
    let receiver = Receiver::start(&["--linger-ms", "100", "--out", "-"]);
    let mut sender = sluicegate()
        .args(["rlnc", "send", "--to", &receiver.addr.to_string(), "--insecure", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = sender.stdin.take().unwrap();
    let feed = bytes.clone();
    let writer = thread::spawn(move || {
        // In pieces, so the sender sees a stream and not one read.
        for piece in feed.chunks(50_000) {
            stdin.write_all(piece).unwrap();
            thread::sleep(Duration::from_millis(2));
        }
    });
    let (sent, _) = wait_within(sender, Duration::from_secs(30));
    writer.join().unwrap();
    assert!(sent.status.success(), "{}", stderr(&sent));
    assert!(stderr(&sent).contains("verified: SHA-256 equal"));
    let (received, _) = receiver.finish(Duration::from_secs(10));
    assert!(received.status.success());
    assert!(received.stdout == bytes);
}

#[test]
fn a_reader_that_stops_reading_stdout_ends_the_receiver_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _, bytes) = input_file(dir.path(), 4_000_000);
    let mut receiver = sluicegate()
        .args(["rlnc", "recv", "--listen", "127.0.0.1:0", "--insecure", "--out", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (addr, lines) = listening_on(receiver.stderr.take().unwrap());
    thread::spawn(move || lines.for_each(drop));
    let sender = send(&input, addr, &["--rate", "10"]);
    // Like `| head -c 1000`: read a little, then close the pipe.
    let mut head = [0u8; 1000];
    receiver.stdout.take().unwrap().read_exact(&mut head).unwrap();
    assert_eq!(head, bytes[..1000]);
    let (received, _) = wait_within(receiver, Duration::from_secs(10));
    assert_eq!(received.status.code(), Some(0));
    let (sent, _) = wait_within(sender, Duration::from_secs(10));
    assert_eq!(sent.status.code(), Some(4), "{}", stderr(&sent));
}

#[test]
fn a_sender_to_a_closed_port_exits_4_within_a_second_naming_the_address() {
    let closed = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, data(2_000_000)).unwrap();
    // The timeout is far longer than the bound: only the refusals can end it in time.
    let (out, took) = wait_within(send(&input, closed, &["--timeout", "30"]), Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(
        stderr(&out).contains(&format!("nothing is listening at {closed}")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_silent_peer_is_exit_4_after_the_timeout_and_a_missing_file_3() {
    // Something listens (no refusal) but never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, b"hello").unwrap();
    let (out, took) = wait_within(send(&input, addr, &["--timeout", "1"]), Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(took >= Duration::from_secs(1), "took {took:?}");
    assert!(
        stderr(&out).contains(&format!("no progress from {addr}")),
        "{}",
        stderr(&out)
    );
    let (out, _) = wait_within(send(&dir.path().join("missing"), addr, &[]), Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(3));
}

/// A transfer slow enough to interrupt: 8 MB at 2 MB/s.
fn slow_transfer(dir: &Path) -> (PathBuf, PathBuf, Receiver, Child) {
    let (input, output, _) = input_file(dir, 8_000_000);
    let receiver = Receiver::start(&["--out", output.to_str().unwrap()]);
    let sender = send(&input, receiver.addr, &["--rate", "2", "--timeout", "30"]);
    wait_for_bytes(&dir.join("out.bin.partial"), 500_000);
    (input, output, receiver, sender)
}

#[test]
fn a_receiver_killed_mid_transfer_leaves_no_file_under_the_target_name_and_the_sender_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let (_, output, mut receiver, sender) = slow_transfer(dir.path());
    let receiver_addr = receiver.addr;
    receiver.child.kill().unwrap();
    let (_, _) = receiver.finish(Duration::from_secs(5));
    // The sender's 30 s timeout would be too late: the closed port ends it.
    let (sent, took) = wait_within(sender, Duration::from_secs(10));
    assert_eq!(sent.status.code(), Some(4), "{}", stderr(&sent));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let expected = format!("the receiver at {} went away", receiver_addr);
    assert!(stderr(&sent).contains(&expected), "{}", stderr(&sent));
    assert!(!output.exists(), "a killed receiver wrote under the target name");
}

#[test]
fn a_receiver_stopped_by_sigterm_removes_its_partial_file_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _, receiver, sender) = slow_transfer(dir.path());
    let kill = Command::new("kill")
        .args(["-TERM", &receiver.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let (received, stderr_text) = receiver.finish(Duration::from_secs(5));
    assert_eq!(received.status.code(), Some(1), "{stderr_text}");
    assert!(stderr_text.contains("interrupted"), "{stderr_text}");
    assert_eq!(files_in(dir.path()), [input], "partial file removed");
    let (sent, _) = wait_within(sender, Duration::from_secs(10));
    assert_eq!(sent.status.code(), Some(4));
}

#[test]
fn a_sender_that_goes_away_ends_the_receiver_with_exit_4_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _, receiver, mut sender) = slow_transfer(dir.path());
    sender.kill().unwrap();
    let _ = sender.wait();
    let start = Instant::now();
    // The receiver's 10 s timeout would be too late: its feedback to the closed port ends it.
    let (received, stderr_text) = receiver.finish(Duration::from_secs(5));
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
    assert_eq!(received.status.code(), Some(4), "{stderr_text}");
    assert!(stderr_text.contains("the sender at 127.0.0.1:"), "{stderr_text}");
    assert_eq!(files_in(dir.path()), [input], "partial file removed");
}

/// Starts `rlnc recv` on a given address (a restart on the port just freed).
fn restart_receiver(addr: SocketAddr, args: &[&str]) -> Child {
    sluicegate()
        .args(["rlnc", "recv", "--listen", &addr.to_string(), "--insecure"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_receiver_restarted_mid_transfer_ends_both_sides_within_the_timeout_or_completes() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output, bytes) = input_file(dir.path(), 8_000_000);
    let timeout = Duration::from_secs(3);
    let first = Receiver::start(&["--timeout", "3", "--out", output.to_str().unwrap()]);
    let addr = first.addr;
    let sender = send(&input, addr, &["--rate", "2", "--timeout", "3"]);
    wait_for_bytes(&dir.path().join("out.bin.partial"), 500_000);
    let mut first = first;
    first.child.kill().unwrap();
    let _ = first.finish(Duration::from_secs(5));
    let second = restart_receiver(
        addr,
        &["--timeout", "3", "--wait", "3", "--out", output.to_str().unwrap()],
    );
    // Both must end by themselves: the timeout, plus slack for a loaded machine.
    let (sent, _) = wait_within(sender, timeout + Duration::from_secs(2));
    let (received, _) = wait_within(second, timeout + Duration::from_secs(2));
    let codes = (sent.status.code(), received.status.code());
    eprintln!(
        "exit codes {codes:?}\nsender: {}\nreceiver: {}",
        stderr(&sent),
        stderr(&received)
    );
    match codes {
        (Some(0), Some(0)) => assert!(std::fs::read(&output).unwrap() == bytes, "completed, byte-exact"),
        (Some(4), Some(4)) => assert!(!output.exists(), "nothing under the target name"),
        other => panic!(
            "exit codes {other:?}\nsender: {}\nreceiver: {}",
            stderr(&sent),
            stderr(&received)
        ),
    }
}

#[test]
fn a_full_disk_is_exit_1_and_leaves_no_partial_file() {
    if !is_root() || Command::new("unshare").arg("--version").output().is_err() {
        eprintln!("skipped: a 1 MiB tmpfs in a private mount namespace needs root and unshare(1)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, data(3_000_000)).unwrap();
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    // The receiver runs in a mount namespace of its own over a 1 MiB tmpfs;
    // the shell lists the tmpfs after it exits (the mount ends with the namespace).
    let script = format!(
        "mount -t tmpfs -o size=1m sluicegate-test {d} && {bin} rlnc recv --listen 127.0.0.1:0 --insecure --out {d}/out.bin; code=$?; echo left: $(ls -A {d}) >&2; exit $code",
        d = disk.display(),
        bin = env!("CARGO_BIN_EXE_sluicegate"),
    );
    let mut child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (addr, lines) = listening_on(child.stderr.take().unwrap());
    let sender = send(&input, addr, &[]);
    let (received, _) = wait_within(child, Duration::from_secs(20));
    let mut rest = String::new();
    for line in lines.map_while(Result::ok) {
        rest.push_str(&line);
        rest.push('\n');
    }
    assert_eq!(received.status.code(), Some(1), "{rest}");
    assert!(rest.contains("No space left on device"), "{rest}");
    assert!(
        rest.contains("left: \n") || rest.trim_end().ends_with("left:"),
        "{rest}"
    );
    let (sent, _) = wait_within(sender, Duration::from_secs(10));
    assert_eq!(sent.status.code(), Some(4), "{}", stderr(&sent));
}

fn is_root() -> bool {
    let mut status = String::new();
    std::fs::File::open("/proc/self/status")
        .and_then(|mut f| f.read_to_string(&mut status))
        .is_ok()
        && status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .is_some_and(|l| l.split_whitespace().nth(2) == Some("0"))
}

/// The JSON rows of `rlnc verify ARGS --json`, which must succeed.
fn verify_rows(args: &[&str]) -> Vec<serde_json::Value> {
    let out = sluicegate()
        .args(["rlnc", "verify"])
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn verify_resilience_reports_equal_digests_and_bounded_overhead_in_json() {
    let rows = verify_rows(&["--mode", "resilience", "--size-mb", "0.3"]);
    assert_eq!(rows.len(), 14);
    // ⌈300 000 / (32 × 1200)⌉ = 8 generations of K = 32.
    assert!(rows.iter().all(|r| r["packets_needed"] == 8 * 32));
    for r in &rows {
        assert_eq!(r["sha256_equal"], true, "{r}");
        // Coding repairs loss at close to its rate: 1 ÷ (1 − p), with room for
        // feedback loss and the last generation's round trips.
        let (loss, overhead) = (r["loss"].as_f64().unwrap(), r["overhead"].as_f64().unwrap());
        assert!(overhead <= 1.6 / (1.0 - loss), "{r}");
    }
    let clean = &rows[0];
    assert_eq!(
        (clean["pattern"].as_str(), clean["loss"].as_f64()),
        (Some("independent"), Some(0.0))
    );
    assert_eq!(
        clean["packets_sent"], clean["packets_needed"],
        "no loss, no repair: {clean}"
    );
}

#[test]
fn verify_throughput_measures_each_worker_count_and_codes_every_packet() {
    let rows = verify_rows(&["--mode", "throughput", "--size-mb", "1", "--workers", "2"]);
    let shape: Vec<(&str, u64)> = rows
        .iter()
        .map(|r| (r["mode"].as_str().unwrap(), r["workers"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        shape,
        [("systematic", 1), ("systematic", 2), ("random", 1), ("random", 2)]
    );
    for r in &rows {
        // ⌈1 000 000 / 38 400⌉ = 27 generations of K = 32 packets, each coded once.
        assert_eq!(r["packets"], 27 * 32, "{r}");
        assert!(r["mb_per_s"].as_f64().unwrap() > 0.0, "{r}");
    }
    assert!(rows.iter().filter(|r| r["workers"] == 1).all(|r| r["speedup"] == 1.0));
}
