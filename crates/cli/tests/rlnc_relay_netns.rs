//! Two hops through `rlnc relay` across real devices: three network
//! namespaces created by the test, sender ↔ relay and relay ↔ receiver each a
//! veth pair of its own subnet, sealed with one code, 10 % loss injected on
//! every direction of both hops. Root only; skipped with a message otherwise.

use std::process::{Command, Output, Stdio};

use sha2::{Digest, Sha256};

mod rlnc_common;
use rlnc_common::listening_on;

/// Namespaces `<p>s`, `<p>r`, `<p>d`; links s–r (10.203.N.0/24) and r–d
/// (10.204.N.0/24). Removed on drop.
struct Chain {
    prefix: String,
    subnet: u32,
}

fn ip(args: &[String]) -> bool {
    Command::new("ip")
        .args(args)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

impl Chain {
    fn create() -> Option<Chain> {
        let root = std::fs::read_to_string("/proc/self/status")
            .ok()?
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["Uid:", "0"]));
        if !root || !ip(&words("-V")) {
            eprintln!("skipped: network namespaces need root and iproute2");
            return None;
        }
        let subnet = std::process::id() % 250 + 1;
        let chain = Chain {
            prefix: format!("sgrl{subnet}"),
            subnet,
        };
        let p = &chain.prefix;
        let mut steps = vec![
            format!("netns add {p}s"),
            format!("netns add {p}r"),
            format!("netns add {p}d"),
        ];
        for (left, right, net) in [("s", "r", 203), ("r", "d", 204)] {
            let (l, r) = (format!("{p}{left}{right}"), format!("{p}{right}{left}"));
            steps.push(format!(
                "link add {l} netns {p}{left} type veth peer name {r} netns {p}{right}"
            ));
            steps.push(format!("-n {p}{left} addr add 10.{net}.{subnet}.1/24 dev {l}"));
            steps.push(format!("-n {p}{right} addr add 10.{net}.{subnet}.2/24 dev {r}"));
            steps.push(format!("-n {p}{left} link set {l} up"));
            steps.push(format!("-n {p}{right} link set {r} up"));
        }
        for step in steps {
            if !ip(&words(&step)) {
                eprintln!("skipped: `ip {step}` failed");
                return None;
            }
        }
        Some(chain)
    }

    /// `sluicegate ARGS` in namespace `<p><which>`.
    fn sluicegate(&self, which: &str, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &format!("{}{which}", self.prefix)])
            .arg(env!("CARGO_BIN_EXE_sluicegate"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        for which in ["s", "r", "d"] {
            ip(&words(&format!("netns del {}{which}", self.prefix)));
        }
    }
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn two_hops_through_a_relay_across_namespaces_with_loss_on_both_are_byte_exact() {
    let Some(chain) = Chain::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.bin"), dir.path().join("out.bin"));
    let content: Vec<u8> = (0..1_500_000u32)
        .map(|i| (i.wrapping_mul(0x9E37_79B9) >> 13) as u8)
        .collect();
    std::fs::write(&input, &content).unwrap();
    let n = chain.subnet;
    let code = "44-quartz-willow-tango";
    let loss = ["--loss", "0.1"];
    let out = output.to_str().unwrap();
    let listen = format!("10.204.{n}.2:0");
    let mut receiver = chain
        .sluicegate(
            "d",
            &[
                "rlnc", "recv", "--listen", &listen, "--code", code, "--json", "--out", out,
            ],
        )
        .args(["--linger-ms", "300"])
        .args(loss)
        .spawn()
        .unwrap();
    let (to, lines) = listening_on(receiver.stderr.take().unwrap());
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    let relay_listen = format!("10.203.{n}.2:0");
    let mut relay = chain
        .sluicegate(
            "r",
            &["rlnc", "relay", "--listen", &relay_listen, "--to", &to.to_string()],
        )
        .args(["--code", code, "--json", "--linger-ms", "300"])
        .args(loss)
        .spawn()
        .unwrap();
    let (via, relay_lines) = listening_on(relay.stderr.take().unwrap());
    let relay_drain = std::thread::spawn(move || relay_lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    let sent = chain
        .sluicegate(
            "s",
            &["rlnc", "send", "--to", &via.to_string(), "--code", code, "--json"],
        )
        .args(loss)
        .arg(&input)
        .output()
        .unwrap();
    let (received, relayed) = (receiver.wait_with_output().unwrap(), relay.wait_with_output().unwrap());
    let (receiver_log, relay_log) = (drain.join().unwrap(), relay_drain.join().unwrap());
    assert!(sent.status.success(), "sender: {}", text(&sent));
    assert!(relayed.status.success(), "relay: {relay_log}");
    assert!(received.status.success(), "receiver: {receiver_log}");
    assert!(std::fs::read(&output).unwrap() == content);
    let digest: String = Sha256::digest(&content).iter().map(|b| format!("{b:02x}")).collect();
    let sent: serde_json::Value = serde_json::from_slice(&sent.stdout).unwrap();
    let relayed: serde_json::Value = serde_json::from_slice(&relayed.stdout).unwrap();
    let received: serde_json::Value = serde_json::from_slice(&received.stdout).unwrap();
    assert_eq!(sent["verified"], true);
    for v in [&sent["sha256"], &relayed["receiver_sha256"], &received["sha256"]] {
        assert_eq!(v, &serde_json::json!(digest));
    }
    assert_eq!(received["secure"]["unauthenticated"], 0);
    eprintln!("across namespaces: sender {sent}\nrelay {relayed}");
}
