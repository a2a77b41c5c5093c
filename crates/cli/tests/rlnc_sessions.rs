//! How `sluicegate rlnc` sessions end when a peer goes away, over 127.0.0.1:
//! a receiver restarted on the same port mid-transfer ends both sides with
//! exit code 4 and says why — at once when the sender's data reaches the
//! new receiver (datagrams in the clear: encrypted, the restarted receiver
//! has no keys for the session, and both sides end within their timeouts
//! instead), or, when the sender saw the port closed between the two
//! receivers, the sender at once and the new receiver at its `--wait` — and
//! a sender whose receiver was killed exits non-zero within its timeout.

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn sluicegate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluicegate"))
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A key file both ends are given (the datagrams are encrypted, as by default).
fn key(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("key");
    let key: Vec<u8> = (0..32u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8).collect();
    std::fs::write(&path, key).unwrap();
    path
}

/// How both ends secure their datagrams: a shared key file, or in the clear.
#[derive(Clone, Copy)]
enum Keying {
    KeyFile,
    Insecure,
}

impl Keying {
    fn args(self, dir: &std::path::Path) -> Vec<std::ffi::OsString> {
        match self {
            Keying::KeyFile => vec!["--key-file".into(), key(dir).into()],
            Keying::Insecure => vec!["--insecure".into()],
        }
    }
}

fn receiver(addr: &str, out: &std::path::Path, keying: Keying, wait: &str) -> Child {
    sluicegate()
        .args(["rlnc", "recv", "--listen", addr, "--wait", wait, "--timeout", "5"])
        .args(keying.args(out.parent().unwrap()))
        .arg("--out")
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
fn slow_sender(addr: &str, input: &std::path::Path, keying: Keying, timeout: &str) -> Child {
    sluicegate()
        .args(["rlnc", "send", "--to", addr, "--rate", "3", "--timeout", timeout])
        .args(keying.args(input.parent().unwrap()))
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

/// Kills the first receiver 1.5 s into a transfer and starts a second on
/// the same port; the second receiver's and the sender's exit codes and
/// messages, and how long after the restart each ended.
fn restart(keying: Keying, sender_timeout: &str, wait: &str) -> [(Option<i32>, String, Duration); 2] {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path());
    let addr = format!("127.0.0.1:{}", free_port());
    let mut first = receiver(&addr, &dir.path().join("first.bin"), keying, "20");
    std::thread::sleep(Duration::from_millis(200));
    let sender = slow_sender(&addr, &input, keying, sender_timeout);
    std::thread::sleep(Duration::from_millis(1500));
    first.kill().unwrap();
    first.wait().unwrap();
    let restarted = Instant::now();
    let second = receiver(&addr, &dir.path().join("second.bin"), keying, wait);
    let (code, stderr) = finish(second, Duration::from_secs(8));
    let receiver_ended = restarted.elapsed();
    let (sender_code, sender_stderr) = finish(sender, Duration::from_secs(8));
    let sender_ended = restarted.elapsed();
    [
        (code, stderr, receiver_ended),
        (sender_code, sender_stderr, sender_ended),
    ]
}

/// Whether the sender saw the restart gap's refusals (the port closed
/// between the two receivers) and ended on them, so that the second receiver
/// was never sent to: then the second one is only a listener, and ends at
/// its `--wait`.
fn sender_saw_the_port_closed(sender: &(Option<i32>, String, Duration)) -> bool {
    sender.1.contains("went away")
}

#[test]
fn a_receiver_restarted_mid_transfer_ends_both_sides_with_exit_4() {
    let [receiver, sender] = restart(Keying::Insecure, "10", "3");
    eprintln!("receiver: {receiver:?}\nsender: {sender:?}");
    // Both within a few seconds of the restart, not after the 10 s timeout.
    assert_eq!(sender.0, Some(4), "sender: {}", sender.1);
    assert!(sender.2 < Duration::from_secs(5), "{:?}", sender.2);
    assert_eq!(receiver.0, Some(4), "receiver: {}", receiver.1);
    if sender_saw_the_port_closed(&sender) {
        assert!(receiver.1.contains("no transfer started"), "receiver: {}", receiver.1);
        assert!(receiver.2 < Duration::from_secs(5), "{:?}", receiver.2);
    } else {
        // The sender's data, bound to the first receiver, reached the second.
        assert!(receiver.1.contains("earlier receiver"), "receiver: {}", receiver.1);
        assert!(receiver.2 < Duration::from_secs(3), "{:?}", receiver.2);
        assert!(sender.1.contains("restarted"), "sender: {}", sender.1);
        assert!(sender.2 < Duration::from_secs(3), "{:?}", sender.2);
    }
}

#[test]
fn encrypted_a_restarted_receiver_and_its_sender_end_within_their_timeouts() {
    // The restarted receiver cannot open the session's datagrams (it has no
    // keys for it): it sees no transfer start within its 3 s wait, and the
    // sender no progress within its 3 s timeout (or, if it saw the port
    // closed between the two receivers, ends on that at once).
    let [receiver, sender] = restart(Keying::KeyFile, "3", "3");
    eprintln!("receiver: {receiver:?}\nsender: {sender:?}");
    assert_eq!(receiver.0, Some(4), "receiver: {}", receiver.1);
    assert!(receiver.2 < Duration::from_secs(5), "{:?}", receiver.2);
    assert_eq!(sender.0, Some(4), "sender: {}", sender.1);
    assert!(
        sender.1.contains("no progress") || sender_saw_the_port_closed(&sender),
        "sender: {}",
        sender.1
    );
    assert!(sender.2 < Duration::from_secs(5), "{:?}", sender.2);
}

#[test]
fn a_sender_whose_receiver_was_killed_fails_within_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path());
    let addr = format!("127.0.0.1:{}", free_port());
    let mut receiver = receiver(&addr, &dir.path().join("out.bin"), Keying::KeyFile, "20");
    std::thread::sleep(Duration::from_millis(200));
    let sender = slow_sender(&addr, &input, Keying::KeyFile, "2");
    std::thread::sleep(Duration::from_millis(1000));
    receiver.kill().unwrap();
    receiver.wait().unwrap();
    let killed = Instant::now();
    let (code, stderr) = finish(sender, Duration::from_secs(5));
    assert_ne!(code, Some(0), "sender: {stderr}");
    assert!(killed.elapsed() < Duration::from_millis(3500), "{:?}", killed.elapsed());
}
