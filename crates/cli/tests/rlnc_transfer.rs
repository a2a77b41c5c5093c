//! `sluicegate rlnc send`/`recv`/`verify` as a user runs them, over 127.0.0.1.

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::Duration;

fn sluicegate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluicegate"))
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn send_and_recv_move_a_file_through_loss_and_agree_on_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    let output = dir.path().join("out.bin");
    let data: Vec<u8> = (0..1_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&input, &data).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let recv = sluicegate()
        .args([
            "rlnc",
            "recv",
            "--listen",
            &addr,
            "--wait",
            "20",
            "--linger-ms",
            "300",
            "--json",
            "--insecure",
            "--out",
        ])
        .arg(&output)
        .args(["--loss", "0.1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let send = sluicegate()
        .args([
            "rlnc",
            "send",
            "--to",
            &addr,
            "--loss",
            "0.2",
            "--burst",
            "--json",
            "--insecure",
        ])
        .arg(&input)
        .output()
        .unwrap();
    assert!(send.status.success(), "{}", String::from_utf8_lossy(&send.stderr));
    let recv = recv.wait_with_output().unwrap();
    assert!(recv.status.success());
    assert!(std::fs::read(&output).unwrap() == data);
    let sent: serde_json::Value = serde_json::from_slice(&send.stdout).unwrap();
    let received: serde_json::Value = serde_json::from_slice(&recv.stdout).unwrap();
    assert_eq!(sent["verified"], true);
    assert_eq!(sent["sha256"], received["sha256"]);
    assert_eq!(received["bytes"], 1_500_000);
}

#[test]
fn a_silent_peer_is_exit_code_4_and_a_missing_file_3() {
    let addr = format!("127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, b"hello").unwrap();
    let out = sluicegate()
        .args(["rlnc", "send", "--to", &addr, "--timeout", "1", "--insecure"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let out = sluicegate()
        .args(["rlnc", "send", "--to", &addr])
        .arg(dir.path().join("missing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn verify_resilience_reports_equal_digests_in_json() {
    let out = sluicegate()
        .args(["rlnc", "verify", "--mode", "resilience", "--size-mb", "0.3", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 14);
    assert!(rows.iter().all(|r| r["sha256_equal"] == true));
    assert!(rows.iter().all(|r| r["overhead"].as_f64().unwrap() >= 1.0));
}

#[test]
fn verify_throughput_measures_each_worker_count() {
    let out = sluicegate()
        .args([
            "rlnc",
            "verify",
            "--mode",
            "throughput",
            "--size-mb",
            "1",
            "--workers",
            "2",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = String::from_utf8(out.stdout).unwrap().lines().count();
    assert_eq!(rows, 4);
}
