//! `sluicegate p2 detect` and `sluicegate p2 load` end to end over a real pseudo-terminal pair, against the
//! simulator's ROM-loader personality (`sluicegate p2 simulate … --pty --rom-loader`).

mod p2_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Output, Stdio};

use p2_common::{exclusive, hex_bytes, json_lines, sluicegate};
use sluicegate_p2::loader::{PROP_CHK, PROP_TXT, with_checksum};
use sluicegate_p2::simulate;

/// The simulated P2 with its ROM loader on a fresh pty, already listening.
struct RomSimulator {
    child: Child,
    _stdin: ChildStdin,
    path: String,
}

impl RomSimulator {
    fn spawn(extra: &[&str]) -> RomSimulator {
        let mut child = sluicegate()
            .args([
                "p2",
                "simulate",
                "demo",
                "--pty",
                "--rom-loader",
                "--linger-ms",
                "300",
                "--wait-ms",
                "20000",
            ])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut path = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut path)
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"\n").unwrap();
        RomSimulator {
            child,
            _stdin: stdin,
            path: path.trim().to_owned(),
        }
    }

    /// Waits for the end; returns its stderr.
    fn finish(mut self) -> String {
        let mut stderr = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert!(self.child.wait().unwrap().success(), "simulator failed: {stderr}");
        stderr
    }
}

fn run(args: &[&str]) -> Output {
    sluicegate().args(args).output().unwrap()
}

fn run_logged(args: &[&str]) -> Output {
    sluicegate()
        .args(args)
        .env("SLUICEGATE_LOG", "sluicegate=debug")
        .output()
        .unwrap()
}

/// The text without terminal colour sequences (`ESC [ … m`).
fn without_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            plain.push(c);
        }
    }
    plain
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn image_file(len: usize) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let image: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
    file.write_all(&image).unwrap();
    file
}

#[test]
fn detect_reports_the_simulated_chip() {
    let _one = exclusive();
    for (letter, expected) in [("G", "rev B/C"), ("E", "FPGA")] {
        let simulator = RomSimulator::spawn(&["--chip", letter]);
        let output = run(&["p2", "detect", "--port", &simulator.path, "--answer-ms", "2000"]);
        let stderr = simulator.finish();
        assert!(output.status.success(), "{}", text(&output.stderr));
        let stdout = text(&output.stdout);
        assert!(stdout.contains(expected), "{letter}: {stdout}");
        assert!(
            stderr.contains("hung up after 19 bytes"),
            "only Prop_Chk was sent: {stderr}"
        );
    }
}

#[test]
fn detect_refuses_an_unsupported_chip() {
    let _one = exclusive();
    let simulator = RomSimulator::spawn(&["--chip", "Q"]);
    let output = run(&["p2", "detect", "--port", &simulator.path, "--answer-ms", "2000"]);
    simulator.finish();
    assert_eq!(output.status.code(), Some(4));
    assert!(text(&output.stdout).contains("unsupported chip (Prop_Ver Q)"));
}

#[test]
fn a_silent_port_times_out_with_a_clear_message() {
    let _one = exclusive();
    let simulator = RomSimulator::spawn(&["--silent"]);
    let started = std::time::Instant::now();
    let output = run(&["p2", "detect", "--port", &simulator.path]);
    let elapsed = started.elapsed();
    simulator.finish();
    assert_eq!(output.status.code(), Some(4), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no P2 answered Prop_Chk within 200 ms (heard nothing)"),
        "{stderr}"
    );
    assert!(elapsed.as_secs() < 5, "{elapsed:?}");
}

/// The load succeeds, the simulator got exactly the image (with its checksum long), and the terminal's first
/// message is the golden sync without the fused `.`; every message of the session arrives intact. The simulator
/// sends the `.` fused to the session in one write, so the loader's read that finds it also takes the session's
/// first bytes, which it hands to the terminal (the debug log says how many).
#[test]
fn verified_load_then_monitor_starts_with_the_first_line_intact() {
    let _one = exclusive();
    let file = image_file(100_000);
    let simulator = RomSimulator::spawn(&[]);
    let output = run_logged(&[
        "p2",
        "load",
        file.path().to_str().unwrap(),
        "--port",
        &simulator.path,
        "--verify",
        "--then-monitor",
        "--json",
        "--answer-ms",
        "2000",
    ]);
    let stderr = simulator.finish();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("checksum good"));
    let handed_over: usize = without_ansi(&text(&output.stderr))
        .split("handed_over=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no hand-over logged: {}", text(&output.stderr)));
    assert!(handed_over > 0, "the checksum reply arrived fused to the session");
    let sent = with_checksum(&std::fs::read(file.path()).unwrap()).len();
    assert!(
        stderr.contains(&format!("loaded {sent} bytes (long sum 0x706f7250)")),
        "{stderr}"
    );

    let messages = json_lines(&output.stdout);
    let stream = simulate::demo_session();
    assert_eq!(messages.len(), stream.messages().len(), "message count");
    assert_eq!(hex_bytes(&messages[0]), b"Cog0  INIT $0000_0000 $0000_0000 load\r\n");
    for (index, (got, expected)) in messages.iter().zip(stream.messages()).enumerate() {
        assert_eq!(
            hex_bytes(got),
            &stream.bytes()[expected.range.clone()],
            "message {index}"
        );
    }
}

/// Without --verify the download ends with `~`, no reply comes, and monitoring starts at once, after the switch
/// to a debug baud other than the loader's.
#[test]
fn unverified_load_then_monitor_gets_the_whole_session() {
    let _one = exclusive();
    let file = image_file(1234);
    let simulator = RomSimulator::spawn(&[]);
    let output = run(&[
        "p2",
        "load",
        file.path().to_str().unwrap(),
        "--port",
        &simulator.path,
        "--then-monitor",
        "--json",
        "--baud",
        "115200",
        "--answer-ms",
        "2000",
    ]);
    let stderr = simulator.finish();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("listening on"));
    assert!(text(&output.stderr).contains("at 115200 baud"));
    assert!(stderr.contains("loaded 1234 bytes"), "{stderr}");
    let messages = json_lines(&output.stdout);
    assert_eq!(messages.len(), simulate::demo_session().messages().len());
    assert_eq!(hex_bytes(&messages[0]), b"Cog0  INIT $0000_0000 $0000_0000 load\r\n");
}

#[test]
fn a_corrupted_transfer_gets_a_bang_and_a_clear_error() {
    let _one = exclusive();
    let file = image_file(3000);
    // The 6th base64 character of the first line: after Prop_Chk, the Prop_Txt header and the line's `>`.
    let corrupt = (PROP_CHK.len() + PROP_TXT.len() + 6).to_string();
    let simulator = RomSimulator::spawn(&["--corrupt-byte", &corrupt]);
    let output = run(&[
        "p2",
        "load",
        file.path().to_str().unwrap(),
        "--port",
        &simulator.path,
        "--verify",
        "--then-monitor",
        "--answer-ms",
        "2000",
    ]);
    let stderr = simulator.finish();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let host = text(&output.stderr);
    assert!(host.contains("the P2 replied `!`"), "{host}");
    assert!(host.contains("transfer was corrupted"), "{host}");
    assert!(
        stderr.contains("rejected a download of 3004 bytes: checksum"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no monitoring after a failed load");
}

#[test]
fn an_image_over_the_size_limit_is_refused_before_sending() {
    let _one = exclusive();
    // Over every chip's limit: refused before the port is opened.
    let huge = image_file(0x10_0001);
    let output = run(&["p2", "load", huge.path().to_str().unwrap(), "--port", "/dev/null"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(text(&output.stderr).contains("over the 1048576-byte load limit"));

    // Over this chip's limit (an `E` FPGA takes 512 KiB): refused after Prop_Chk, before Prop_Txt.
    let file = image_file(0x8_0001);
    let simulator = RomSimulator::spawn(&["--chip", "E"]);
    let output = run(&[
        "p2",
        "load",
        file.path().to_str().unwrap(),
        "--port",
        &simulator.path,
        "--answer-ms",
        "2000",
    ]);
    let stderr = simulator.finish();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("over the 524288-byte load limit of the P2 FPGA image (Prop_Ver E)"),
        "{}",
        text(&output.stderr)
    );
    assert!(
        stderr.contains("hung up after 19 bytes"),
        "nothing after Prop_Chk: {stderr}"
    );
}
