//! `rlnc send`/`recv` between two network namespaces joined by a veth pair,
//! created by the test (root only; skipped with a message otherwise): the
//! batched datagrams cross a real device (segmentation offload on veth, not
//! loopback's shortcut), and a closed port is refused across it, where the
//! kernel rate-limits its ICMP answers.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod rlnc_common;
use rlnc_common::listening_on;

/// Two namespaces `<prefix>a` (10.201.x.1) and `<prefix>b` (10.201.x.2), removed on drop.
struct Namespaces {
    a: String,
    b: String,
    addr_b: String,
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Namespaces {
    /// `None` (with a message) where namespaces cannot be made.
    fn create() -> Option<Namespaces> {
        let uid = std::fs::read_to_string("/proc/self/status")
            .ok()?
            .lines()
            .find(|l| l.starts_with("Uid:"))?
            .split_whitespace()
            .nth(1)?
            .to_owned();
        if uid != "0" || !ip(&["-V"]) {
            eprintln!("skipped: network namespaces need root and iproute2");
            return None;
        }
        let id = std::process::id() % 250 + 1;
        let (a, b) = (format!("sgio{id}a"), format!("sgio{id}b"));
        let namespaces = Namespaces {
            a: a.clone(),
            b: b.clone(),
            addr_b: format!("10.201.{id}.2"),
        };
        let (va, vb) = (format!("sgio{id}va"), format!("sgio{id}vb"));
        let net_a = format!("10.201.{id}.1/24");
        let net_b = format!("10.201.{id}.2/24");
        let steps: [&[&str]; 10] = [
            &["netns", "add", &a],
            &["netns", "add", &b],
            &[
                "link", "add", &va, "netns", &a, "type", "veth", "peer", "name", &vb, "netns", &b,
            ],
            &["-n", &a, "addr", "add", &net_a, "dev", &va],
            &["-n", &b, "addr", "add", &net_b, "dev", &vb],
            &["-n", &a, "link", "set", &va, "up"],
            &["-n", &b, "link", "set", &vb, "up"],
            &["-n", &a, "link", "set", "lo", "up"],
            &["-n", &b, "link", "set", "lo", "up"],
            &["-n", &b, "link", "show", &vb],
        ];
        for step in steps {
            if !ip(step) {
                eprintln!("skipped: `ip {}` failed", step.join(" "));
                return None;
            }
        }
        Some(namespaces)
    }

    fn run(&self, namespace: &str, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", namespace, env!("CARGO_BIN_EXE_sluicegate")])
            .args(args);
        command
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        ip(&["netns", "del", &self.a]);
        ip(&["netns", "del", &self.b]);
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(0x9E37_79B9) >> 11) as u8)
        .collect()
}

fn check(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_transfer_crosses_a_veth_pair_byte_exact_and_a_closed_port_is_refused_across_it() {
    let Some(ns) = Namespaces::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    let output = dir.path().join("out.bin");
    let bytes = data(6_000_000);
    std::fs::write(&input, &bytes).unwrap();
    let listen = format!("{}:0", ns.addr_b);
    let mut receiver = ns
        .run(
            &ns.b,
            &[
                "rlnc",
                "recv",
                "--listen",
                &listen,
                "--insecure",
                "--linger-ms",
                "200",
                "--json",
                "--out",
            ],
        )
        .arg(&output)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (to, lines) = listening_on(receiver.stderr.take().unwrap());
    let to = to.to_string();
    // Drain the rest of stderr so the receiver never blocks on it.
    std::thread::spawn(move || lines.for_each(drop));
    let sent = ns
        .run(
            &ns.a,
            &[
                "rlnc",
                "send",
                "--to",
                &to,
                "--json",
                "--rate",
                "200",
                "--window",
                "32",
                "--insecure",
            ],
        )
        .arg(&input)
        .output()
        .unwrap();
    assert!(sent.status.success(), "{}", check(&sent));
    let received = receiver.wait_with_output().unwrap();
    assert!(received.status.success(), "{}", check(&received));
    assert!(std::fs::read(&output).unwrap() == bytes);
    let sent: serde_json::Value = serde_json::from_slice(&sent.stdout).unwrap();
    assert_eq!(sent["verified"], true);
    eprintln!("over veth: {sent}");

    // A namespace of the test's own: nothing listens on port 1 there.
    let closed = format!("{}:1", ns.addr_b);
    let start = Instant::now();
    let refused = ns
        .run(
            &ns.a,
            &["rlnc", "send", "--to", &closed, "--timeout", "30", "--insecure"],
        )
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(4), "{}", check(&refused));
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
    assert!(check(&refused).contains(&format!("nothing is listening at {closed}")));
    assert!(!Path::new(&dir.path().join("out.bin.partial")).exists());
}
