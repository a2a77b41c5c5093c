//! Secured `sluicegate rlnc send`/`recv`/`relay` as a user runs them, over
//! 127.0.0.1: the printed code, a wrong code, a relay, bad secrets.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

fn sluicegate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluicegate"))
}

fn free_addr() -> String {
    let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("127.0.0.1:{port}")
}

fn data(len: u32) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect()
}

fn recv(addr: &str, out: &Path, extra: &[&str]) -> Child {
    sluicegate()
        .args([
            "rlnc",
            "recv",
            "--listen",
            addr,
            "--wait",
            "20",
            "--linger-ms",
            "300",
            "--json",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_sender_prints_a_code_and_a_receiver_given_it_gets_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.bin"), dir.path().join("out.bin"));
    let content = data(800_000);
    std::fs::write(&input, &content).unwrap();
    let addr = free_addr();
    // The sender starts first, as a user would, and prints the code.
    let mut send = sluicegate()
        .args(["rlnc", "send", "--to", &addr, "--json"])
        .arg(&input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(send.stderr.take().unwrap());
    let mut line = String::new();
    // Notes (a socket buffer capped by the system) may come first.
    while line.is_empty() || line.starts_with("note: ") {
        line.clear();
        stderr.read_line(&mut line).unwrap();
    }
    let code = line
        .strip_prefix("code: ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no code printed: {line:?}"))
        .to_string();
    let parts: Vec<&str> = code.split('-').collect();
    assert_eq!(parts.len(), 4, "{code}");
    // A second later, the receiver with the code the user read.
    std::thread::sleep(Duration::from_millis(500));
    let recv = recv(&addr, &output, &["--code", &code]).wait_with_output().unwrap();
    let send_out = send.wait_with_output().unwrap();
    assert!(send_out.status.success(), "sender failed");
    assert!(recv.status.success(), "{}", text(&recv.stderr));
    assert!(std::fs::read(&output).unwrap() == content);
    let sent: serde_json::Value = serde_json::from_slice(&send_out.stdout).unwrap();
    let received: serde_json::Value = serde_json::from_slice(&recv.stdout).unwrap();
    assert_eq!(sent["verified"], true);
    assert_eq!(sent["sha256"], received["sha256"]);
    assert!(received["secure"]["opened"].as_u64().unwrap() > 600);
    assert_eq!(received["secure"]["unauthenticated"], 0);
}

#[test]
fn a_wrong_code_fails_both_sides_with_exit_4_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, data(10_000)).unwrap();
    let addr = free_addr();
    let recv = recv(&addr, &dir.path().join("out.bin"), &["--code", "12-acorn-amber-anchor"]);
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let send = sluicegate()
        .args(["rlnc", "send", "--to", &addr, "--code", "12-acorn-amber-angle"])
        .arg(&input)
        .output()
        .unwrap();
    let recv = recv.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    for (side, out) in [("sender", &send), ("receiver", &recv)] {
        assert_eq!(out.status.code(), Some(4), "{side}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("wrong code"),
            "{side}: {}",
            text(&out.stderr)
        );
    }
    assert!(!dir.path().join("out.bin").exists());
}

#[test]
fn two_hops_through_a_relay_with_loss_on_both_are_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.bin"), dir.path().join("out.bin"));
    let content = data(1_500_000);
    std::fs::write(&input, &content).unwrap();
    let (relay_addr, recv_addr) = (free_addr(), free_addr());
    let code = "3-otter-comet-sugar";
    let loss = ["--loss", "0.1"];
    let recv = recv(&recv_addr, &output, &["--code", code, loss[0], loss[1]]);
    let relay = sluicegate()
        .args([
            "rlnc",
            "relay",
            "--listen",
            &relay_addr,
            "--to",
            &recv_addr,
            "--code",
            code,
            "--json",
        ])
        .args(["--linger-ms", "300", "--seed", "5"])
        .args(loss)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let send = sluicegate()
        .args(["rlnc", "send", "--to", &relay_addr, "--code", code, "--json"])
        .args(loss)
        .arg(&input)
        .output()
        .unwrap();
    let (recv, relay) = (recv.wait_with_output().unwrap(), relay.wait_with_output().unwrap());
    assert!(send.status.success(), "sender: {}", text(&send.stderr));
    assert!(relay.status.success(), "relay: {}", text(&relay.stderr));
    assert!(recv.status.success(), "receiver: {}", text(&recv.stderr));
    let digest: String = Sha256::digest(&content).iter().map(|b| format!("{b:02x}")).collect();
    let sent: serde_json::Value = serde_json::from_slice(&send.stdout).unwrap();
    let relayed: serde_json::Value = serde_json::from_slice(&relay.stdout).unwrap();
    let received: serde_json::Value = serde_json::from_slice(&recv.stdout).unwrap();
    assert!(std::fs::read(&output).unwrap() == content);
    assert_eq!(sent["verified"], true);
    for v in [&sent["sha256"], &relayed["receiver_sha256"], &received["sha256"]] {
        assert_eq!(v, &serde_json::json!(digest));
    }
    assert!(relayed["stats"]["data_out"].as_u64().unwrap() > 0);
    eprintln!("relay: {relayed}");
}

fn run(args: &[&str]) -> Output {
    sluicegate().args(args).output().unwrap()
}

#[test]
fn secrets_that_cannot_be_used_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let out = out.to_str().unwrap();
    let addr = free_addr();
    // No secret on a listening side: usage.
    let r = run(&["rlnc", "recv", "--listen", &addr, "--out", out]);
    assert_eq!(r.status.code(), Some(2));
    assert!(text(&r.stderr).contains("--code"), "{}", text(&r.stderr));
    // A typo in a code word: usage, naming the word.
    let r = run(&[
        "rlnc",
        "recv",
        "--listen",
        &addr,
        "--out",
        out,
        "--code",
        "7-harbr-velvet-zebra",
    ]);
    assert_eq!(r.status.code(), Some(2));
    assert!(text(&r.stderr).contains("harbr"), "{}", text(&r.stderr));
    // A key file that is not a key: bad input.
    let key = dir.path().join("key");
    std::fs::write(&key, "not a key\n").unwrap();
    let r = sluicegate()
        .args(["rlnc", "recv", "--listen", &addr, "--out", out, "--key-file"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(3));
    assert!(text(&r.stderr).contains("32 random bytes"), "{}", text(&r.stderr));
    // Two secrets at once: usage.
    let r = run(&[
        "rlnc",
        "recv",
        "--listen",
        &addr,
        "--out",
        out,
        "--code",
        "7-harbor-velvet-zebra",
        "--insecure",
    ]);
    assert_eq!(r.status.code(), Some(2));
    // A sender given a code (so its receiver should be listening) to a
    // closed port: exit 4 within a second, naming the address.
    let closed = free_addr();
    let start = Instant::now();
    let input = dir.path().join("in");
    std::fs::write(&input, b"x").unwrap();
    let r = sluicegate()
        .args(["rlnc", "send", "--to", &closed, "--code", "7-harbor-velvet-zebra"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(4), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains(&format!("nothing is listening at {closed}")),
        "{}",
        text(&r.stderr)
    );
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
    // A sender whose receiver never answers the handshake: exit 4 in time.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let start = Instant::now();
    let r = sluicegate()
        .args([
            "rlnc",
            "send",
            "--to",
            &addr,
            "--code",
            "7-harbor-velvet-zebra",
            "--handshake-timeout",
            "1",
        ])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(4), "{}", text(&r.stderr));
    assert!(text(&r.stderr).contains("no handshake"), "{}", text(&r.stderr));
    assert!(start.elapsed() < Duration::from_secs(4));
}

#[test]
fn insecure_warns_and_a_key_file_works() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output, key) = (dir.path().join("in"), dir.path().join("out"), dir.path().join("key"));
    let content = data(200_000);
    std::fs::write(&input, &content).unwrap();
    std::fs::write(
        &key,
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
    )
    .unwrap();
    let addr = free_addr();
    let recv = recv(&addr, &output, &["--key-file", key.to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(300));
    let send = sluicegate()
        .args(["rlnc", "send", "--to", &addr, "--key-file"])
        .arg(&key)
        .arg(&input)
        .output()
        .unwrap();
    assert!(send.status.success(), "{}", text(&send.stderr));
    assert!(recv.wait_with_output().unwrap().status.success());
    assert!(std::fs::read(&output).unwrap() == content);
    let r = run(&[
        "rlnc",
        "send",
        "--to",
        &free_addr(),
        "--insecure",
        "--timeout",
        "1",
        "/dev/null",
    ]);
    assert!(text(&r.stderr).contains("warning: --insecure"), "{}", text(&r.stderr));
}
