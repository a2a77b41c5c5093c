//! `sluicegate rlnc send`/`recv` over emulated links in network namespaces
//! this test creates (`scripts/netem/link.sh`: a router namespace between
//! two hosts, 100 Mbit/s, loss both ways, a fixed one-way delay): the
//! received file's SHA-256 equals the input's at 0, 1, 5 and 20 % loss with
//! 20 and 100 ms of delay each way. Where namespaces cannot be built (not
//! root, tools missing) each test says why and skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Namespaces a, r, b under a prefix of their own, torn down on drop.
struct Link {
    prefix: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/netem/link.sh")
}

impl Link {
    /// Builds the link, or says why it cannot and returns `None`.
    fn new() -> Option<Link> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let prefix = format!("sgt{}x{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let link = Link { prefix };
        let check = link.script(&["check"]);
        if !check.status.success() {
            eprintln!(
                "skipping the emulated-link test: {} (scripts/netem/link.sh check)",
                String::from_utf8_lossy(&check.stdout).trim()
            );
            return None;
        }
        let setup = link.script(&["setup"]);
        assert!(
            setup.status.success(),
            "setup: {}",
            String::from_utf8_lossy(&setup.stderr)
        );
        Some(link)
    }

    fn script(&self, args: &[&str]) -> Output {
        Command::new("bash")
            .arg(script())
            .args(args)
            .env("NETEM_NS", &self.prefix)
            .output()
            .expect("bash runs")
    }

    /// `mbit` Mbit/s, `delay_ms` one way, `loss` both ways.
    fn shape(&self, mbit: u32, delay_ms: u32, loss: f64) {
        let shaped = self.script(&["shape", &mbit.to_string(), &delay_ms.to_string(), &loss.to_string()]);
        assert!(
            shaped.status.success(),
            "shape: {}",
            String::from_utf8_lossy(&shaped.stderr)
        );
    }

    /// `sluicegate ARGS` inside namespace `host` (`'a'` sends from 10.200.0.1, `'b'` receives on 10.200.0.2).
    fn sluicegate(&self, host: char, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &format!("{}{host}", self.prefix)])
            .arg(env!("CARGO_BIN_EXE_sluicegate"))
            .args(args);
        command
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = self.script(&["teardown"]);
    }
}

fn data(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Sends `input` across `link`; returns both JSON summaries, what arrived, and the sender's wall time.
fn transfer(link: &Link, input: &Path, output: &Path) -> (serde_json::Value, serde_json::Value, Duration) {
    let out = output.to_str().unwrap();
    // Encrypted, as by default, with a key both ends hold.
    let key = input.with_file_name("key");
    std::fs::write(&key, data(32)).unwrap();
    let key = key.to_str().unwrap();
    let recv = link
        .sluicegate(
            'b',
            &[
                "rlnc",
                "recv",
                "--listen",
                "10.200.0.2:7000",
                "--wait",
                "30",
                "--json",
                "--key-file",
                key,
                "--out",
                out,
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let send = link
        .sluicegate(
            'a',
            &[
                "rlnc",
                "send",
                "--to",
                "10.200.0.2:7000",
                "--json",
                "--key-file",
                key,
                input.to_str().unwrap(),
            ],
        )
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    let recv = recv.wait_with_output().unwrap();
    assert!(send.status.success(), "send: {}", String::from_utf8_lossy(&send.stderr));
    assert!(recv.status.success(), "recv: {}", String::from_utf8_lossy(&recv.stderr));
    let sent = serde_json::from_slice(&send.stdout).unwrap();
    let received = serde_json::from_slice(&recv.stdout).unwrap();
    (sent, received, elapsed)
}

/// 2 MB at every loss rate over 100 Mbit/s with `delay_ms` each way.
fn byte_exact_at_every_loss(delay_ms: u32) {
    let Some(link) = Link::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    let bytes = data(2_000_000);
    std::fs::write(&input, &bytes).unwrap();
    let digest = format!("{:x}", Sha256::digest(&bytes));
    for loss in [0.0, 0.01, 0.05, 0.2] {
        link.shape(100, delay_ms, loss);
        let output = dir.path().join(format!("out-{loss}.bin"));
        let (sent, received, elapsed) = transfer(&link, &input, &output);
        eprintln!("{delay_ms} ms, loss {loss}: {elapsed:?}, overhead {}", sent["overhead"]);
        assert_eq!(sent["sha256"], digest, "{delay_ms} ms, loss {loss}");
        assert_eq!(received["sha256"], digest, "{delay_ms} ms, loss {loss}");
        assert_eq!(sent["verified"], true);
        assert!(
            std::fs::read(&output).unwrap() == bytes,
            "{delay_ms} ms, loss {loss}: file differs"
        );
    }
}

#[test]
fn byte_exact_at_0_1_5_and_20_percent_loss_with_20_ms_delay() {
    byte_exact_at_every_loss(20);
}

#[test]
fn byte_exact_at_0_1_5_and_20_percent_loss_with_100_ms_delay() {
    byte_exact_at_every_loss(100);
}
