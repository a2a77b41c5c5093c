//! How `sluicegate rlnc` sessions end when a peer goes away, over 127.0.0.1:
//! a receiver restarted on the same port mid-transfer ends both sides at
//! once with exit code 4 and says why, and a sender whose receiver was
//! killed exits non-zero within its timeout.

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn sluicegate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluicegate"))
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn receiver(addr: &str, out: &std::path::Path) -> Child {
    sluicegate()
        .args([
            "rlnc",
            "recv",
            "--listen",
            addr,
            "--wait",
            "20",
            "--timeout",
            "5",
            "--out",
        ])
        .arg(out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` at most `limit`; its exit code and stderr.
fn finish(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A sender of 12 MB held to 3 MB/s, so the transfer is still running when the test acts.
fn slow_sender(addr: &str, input: &std::path::Path, timeout: &str) -> Child {
    sluicegate()
        .args(["rlnc", "send", "--to", addr, "--rate", "3", "--timeout", timeout])
        .arg(input)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn input(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("in.bin");
    std::fs::write(
        &path,
        (0..12_000_000u32).map(|i| (i * 7 + i / 251) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    path
}

#[test]
fn a_receiver_restarted_mid_transfer_ends_both_sides_with_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path());
    let addr = format!("127.0.0.1:{}", free_port());
    let mut first = receiver(&addr, &dir.path().join("first.bin"));
    std::thread::sleep(Duration::from_millis(200));
    let sender = slow_sender(&addr, &input, "10");
    std::thread::sleep(Duration::from_millis(1500));
    first.kill().unwrap();
    first.wait().unwrap();
    let restarted = Instant::now();
    let second = receiver(&addr, &dir.path().join("second.bin"));
    // Both end within a second or two of the restart, not after the 10 s timeout.
    let (code, stderr) = finish(second, Duration::from_secs(4));
    assert_eq!(code, Some(4), "receiver: {stderr}");
    assert!(stderr.contains("earlier receiver"), "receiver: {stderr}");
    let (code, stderr) = finish(sender, Duration::from_secs(4));
    assert_eq!(code, Some(4), "sender: {stderr}");
    assert!(stderr.contains("restarted"), "sender: {stderr}");
    assert!(restarted.elapsed() < Duration::from_secs(4));
}

#[test]
fn a_sender_whose_receiver_was_killed_fails_within_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path());
    let addr = format!("127.0.0.1:{}", free_port());
    let mut receiver = receiver(&addr, &dir.path().join("out.bin"));
    std::thread::sleep(Duration::from_millis(200));
    let sender = slow_sender(&addr, &input, "2");
    std::thread::sleep(Duration::from_millis(1000));
    receiver.kill().unwrap();
    receiver.wait().unwrap();
    let killed = Instant::now();
    let (code, stderr) = finish(sender, Duration::from_secs(5));
    assert_ne!(code, Some(0), "sender: {stderr}");
    assert!(killed.elapsed() < Duration::from_millis(3500), "{:?}", killed.elapsed());
}
