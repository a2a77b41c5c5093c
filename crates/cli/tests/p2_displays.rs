//! `sluicegate p2`'s displays end to end, as a user runs it: snapshots of the HSV16 burst through stdin,
//! PC_KEY/PC_MOUSE answered to a test P2 on a pseudo-terminal, snapshots on SIGUSR1, SAVE files inside
//! `--save-dir` only, and an input with no way back saying so.

mod p2_common;
mod p2_terminal_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use p2_common::{exclusive, json_lines, sluicegate};
use p2_terminal_common::{assert_complete, assert_hsv16_pictures, send_signal, spawn_piped, stats};
use serialport::{SerialPort, TTYPort};
use sluicegate_p2::simulate;
use sluicegate_p2_display::read_png;

/// `sluicegate p2 --stdin --stats --json` with `extra` arguments on `input` to its end (written from a thread:
/// the terminal's output is read meanwhile).
fn terminal_on_stdin(input: Vec<u8>, extra: &[&std::ffi::OsStr]) -> Output {
    let mut terminal = spawn_piped(sluicegate().args(["p2", "--stdin", "--stats", "--json"]).args(extra));
    let mut stdin = terminal.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let output = terminal.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

fn arg(text: &str) -> &std::ffi::OsStr {
    text.as_ref()
}

#[test]
fn hsv16_through_stdin_every_message_and_the_pictures_of_d2() {
    let _one = exclusive();
    let stream = simulate::hsv16();
    let dir = tempfile::tempdir().unwrap();
    let output = terminal_on_stdin(stream.bytes().to_vec(), &[arg("--snapshots"), dir.path().as_os_str()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_complete(&json_lines(&output.stdout), &stream);
    let stats = stats(&output.stderr);
    let displays = &stats["displays"];
    assert_eq!(displays["lines"], 65_539);
    assert_eq!(displays["queue_dropped"], 0);
    assert_eq!(displays["snapshots_written"], 3);
    let bitmap = displays["per_type"]
        .as_array()
        .unwrap()
        .iter()
        .find(|kind| kind["type"] == "BITMAP")
        .unwrap();
    assert_eq!(bitmap["declared"], 3);
    assert_eq!(bitmap["applied"], 3 * 65_536, "each line to j, k and l");
    assert_eq!(bitmap["dropped"], 0);
    assert_eq!(bitmap["frames"], 3 * 256, "a refresh per column (RATE = height)");
    assert_hsv16_pictures(dir.path());
}

/// A pty pair: the test P2's side, and the path the terminal opens. The P2's side is not inherited by the
/// terminal (which would then never see it close).
fn test_p2() -> (TTYPort, String) {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    use std::os::fd::AsRawFd;
    let (mut master, slave) = TTYPort::pair().expect("a pty pair");
    let path = slave.name().expect("the slave's path");
    drop(slave);
    fcntl(master.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).unwrap();
    master.set_timeout(Duration::from_millis(20)).unwrap();
    (master, path)
}

/// Reads what arrives on the P2's side until `len` bytes or `wait` has passed.
fn read_for(master: &mut TTYPort, len: usize, wait: Duration) -> Vec<u8> {
    let until = Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < len && Instant::now() < until {
        match master.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
            // The terminal closed its side.
            Err(_) => break,
        }
    }
    got
}

#[test]
fn pc_key_and_pc_mouse_over_a_pty_get_the_default_answers_exactly_once() {
    let _one = exclusive();
    let (mut p2, path) = test_p2();
    let mut terminal = spawn_piped(sluicegate().args(["p2", "--port", &path, "--stats", "--json"]));
    let mut stderr = terminal.stderr.take().unwrap();
    let mut first = [0u8; 12];
    stderr.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"sluicegate p", "the terminal started");
    p2.write_all(b"`term t1 size 12 3\r\n`bitmap b1 size 8 8 dotsize 4\r\n")
        .unwrap();
    let requests: [(&[u8], &[u8]); 4] = [
        (b"`t1 PC_KEY\r\n", &[0, 0, 0, 0]),
        (b"`t1 PC_MOUSE\r\n", &[0xFF, 0xFF, 0xFF, 0x03, 0xFF, 0xFF, 0xFF, 0xFF]),
        (b"`b1 pc_key\r\n", &[0, 0, 0, 0]),
        (b"`b1 pc_mouse\r\n", &[0xFF, 0xFF, 0xFF, 0x03, 0xFF, 0xFF, 0xFF, 0xFF]),
    ];
    let mut slowest = Duration::ZERO;
    for round in 0..25 {
        for (request, answer) in requests {
            let asked = Instant::now();
            p2.write_all(request).unwrap();
            let got = read_for(&mut p2, answer.len(), Duration::from_secs(5));
            slowest = slowest.max(asked.elapsed());
            assert_eq!(
                got,
                answer,
                "round {round}: {}",
                String::from_utf8_lossy(request).trim()
            );
        }
    }
    assert!(
        read_for(&mut p2, 1, Duration::from_millis(300)).is_empty(),
        "one answer a request"
    );
    eprintln!("slowest request → answer: {slowest:?}");
    assert!(slowest < Duration::from_millis(500), "{slowest:?}");
    drop(p2);
    let output = terminal.wait_with_output().unwrap();
    let mut rest = Vec::new();
    stderr.read_to_end(&mut rest).unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&rest));
    let displays = &stats(&rest)["displays"];
    assert_eq!(
        (displays["replies_sent"].as_u64(), displays["replies_not_sent"].as_u64()),
        (Some(100), Some(0))
    );
}

/// `image` of a one-colour 4×2 bitmap `b` written so far.
const BITMAP: &[u8] =
    b"`bitmap b size 4 2 rgb24 rate 8\r\n`b $FF0000 $00FF00 $0000FF $FFFFFF $123456 $654321 $ABCDEF $000000\r\n";

fn assert_bitmap(path: &Path) {
    let image = read_png(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(
        image.pixels(),
        [
            0xFF0000, 0x00FF00, 0x0000FF, 0xFFFFFF, 0x123456, 0x654321, 0xABCDEF, 0x000000
        ]
    );
}

#[test]
fn sigusr1_writes_the_snapshots_of_the_displays_open_then() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("b.png");
    let mut terminal = spawn_piped(sluicegate().args(["p2", "--stdin", "--snapshots"]).arg(dir.path()));
    let mut stdin = terminal.stdin.take().unwrap();
    let mut stdout = BufReader::new(terminal.stdout.take().unwrap());
    stdin.write_all(BITMAP).unwrap();
    stdin.write_all(b"Cog0  drawn\r\n").unwrap();
    stdin.flush().unwrap();
    // The terminal runs (its signal handlers too) once it shows what it read.
    let mut line = String::new();
    while !line.contains("drawn") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the terminal ended");
    }
    send_signal(&terminal, "-USR1");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !snapshot.exists() {
        assert!(Instant::now() < deadline, "no snapshot 10 s after SIGUSR1");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_bitmap(&snapshot);
    assert!(
        terminal.try_wait().unwrap().is_none(),
        "the terminal goes on after SIGUSR1"
    );
    std::fs::remove_file(&snapshot).unwrap();
    drop(stdin);
    let output = terminal.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_bitmap(&snapshot);
}

#[test]
fn save_writes_inside_the_save_dir_and_refuses_names_that_would_leave_it() {
    let _one = exclusive();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("saves");
    let input = [
        BITMAP,
        b"`b SAVE 'picture'\r\n`b save '../escaped'\r\n`b save 'a/b'\r\n`b save 'C:evil'\r\n`b save 'Copy.PNG'\r\n",
    ]
    .concat();
    let output = terminal_on_stdin(input, &[arg("--save-dir"), dir.as_os_str()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let bmp = std::fs::read(dir.join("picture.bmp")).unwrap();
    assert_eq!(&bmp[..2], b"BM");
    assert_eq!(bmp.len(), 54 + 2 * 12, "4×2 pixels, 24-bit rows");
    // Bottom row first, blue-green-red: $123456 then $654321.
    assert_eq!(&bmp[54..60], [0x56, 0x34, 0x12, 0x21, 0x43, 0x65]);
    assert_bitmap(&dir.join("Copy.PNG"));
    let mut written: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .chain(std::fs::read_dir(&dir).unwrap())
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(
        written,
        ["Copy.PNG", "picture.bmp", "saves"],
        "nothing outside the save directory"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr
            .matches("was refused: its file name would leave the save directory")
            .count(),
        1,
        "said once: {stderr}"
    );
    let displays = &stats(&output.stderr)["displays"];
    assert_eq!(displays["saves_written"], 2);
    let bitmap = &displays["per_type"][0];
    assert_eq!(
        (bitmap["type"].as_str(), bitmap["saves_refused"].as_u64()),
        (Some("BITMAP"), Some(3))
    );
}

#[test]
fn without_a_save_dir_a_save_is_counted_and_ignored() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let input = [BITMAP, b"`b SAVE 'picture'\r\n`b SAVE 'again'\r\n"].concat();
    let mut terminal = spawn_piped(
        sluicegate()
            .args(["p2", "--stdin", "--stats", "--json"])
            .current_dir(dir.path()),
    );
    terminal.stdin.take().unwrap().write_all(&input).unwrap();
    let output = terminal.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no file written");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("ignored: no save directory (--save-dir)").count(),
        1,
        "{stderr}"
    );
    assert_eq!(stats(&output.stderr)["displays"]["saves_ignored"], 2);
}

#[test]
fn a_request_from_an_input_without_a_way_back_is_counted_with_one_notice() {
    let _one = exclusive();
    let input = b"`term t size 4 1\r\n`t PC_KEY\r\n`t PC_MOUSE\r\n".to_vec();
    let output = terminal_on_stdin(input, &[]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr
            .matches("PC_KEY from display 't' not answered: standard input has no way back to the P2")
            .count(),
        1,
        "{stderr}"
    );
    assert!(!stderr.contains("PC_MOUSE from"), "one notice: {stderr}");
    let displays = &stats(&output.stderr)["displays"];
    assert_eq!(
        (displays["replies_sent"].as_u64(), displays["replies_not_sent"].as_u64()),
        (Some(0), Some(2))
    );
}

#[test]
fn no_displays_turns_the_display_host_off_and_refuses_snapshots() {
    let output = terminal_on_stdin(BITMAP.to_vec(), &[arg("--no-displays")]);
    assert!(output.status.success());
    assert!(stats(&output.stderr)["displays"].is_null());
    let refused = sluicegate()
        .args(["p2", "--stdin", "--no-displays", "--snapshots", "x"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "a usage error");
}

#[test]
fn keys_typed_at_the_terminal_reach_the_p2_and_ctrl_c_still_ends_it() {
    use nix::fcntl::OFlag;
    use nix::sys::termios::{InputFlags, LocalFlags, SetArg, tcgetattr, tcsetattr};
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let _one = exclusive();
    let (mut p2, path) = test_p2();
    // The terminal's stdin: the far side of a second pty, set up as a user's terminal window is (line by
    // line, echoing, signals on; the pair starts raw).
    let (mut keyboard, tty) = test_p2();
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(OFlag::O_NOCTTY.bits())
        .open(tty)
        .unwrap();
    let mut settings = tcgetattr(tty.as_raw_fd()).unwrap();
    settings.local_flags |= LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG | LocalFlags::IEXTEN;
    settings.input_flags |= InputFlags::ICRNL | InputFlags::IXON;
    tcsetattr(tty.as_raw_fd(), SetArg::TCSANOW, &settings).unwrap();
    let settings = tcgetattr(tty.as_raw_fd()).unwrap();
    // `setsid --ctty`: in a session of its own with that terminal as its controlling terminal, where Ctrl-C
    // is a SIGINT from the terminal driver, as in a terminal window.
    let mut terminal = std::process::Command::new("setsid")
        .args(["--ctty", "--wait"])
        .arg(env!("CARGO_BIN_EXE_sluicegate"))
        .args(["p2", "--port", &path, "--stats", "--json"])
        .stdin(tty.try_clone().unwrap())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(terminal.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("listening on"), "{line}");
    // Once the terminal reads its stdin key by key.
    let deadline = Instant::now() + Duration::from_secs(10);
    while tcgetattr(tty.as_raw_fd())
        .unwrap()
        .local_flags
        .contains(LocalFlags::ICANON)
    {
        assert!(Instant::now() < deadline, "stdin never left line mode");
        std::thread::sleep(Duration::from_millis(5));
    }
    keyboard.write_all(b"ab\x7fc\r").unwrap();
    let typed = read_for(&mut p2, 5, Duration::from_secs(5));
    if typed != b"ab\x08c\r" {
        let _ = terminal.kill();
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        panic!("Backspace as 8, Enter as CR: got {typed:02X?}; the terminal said: {line}{rest}");
    }
    keyboard.write_all(b"\x03").unwrap();
    let status = terminal.wait().unwrap();
    assert!(status.success(), "Ctrl-C ends the terminal with success");
    let mut rest = Vec::new();
    stderr.read_to_end(&mut rest).unwrap();
    assert!(stats(&rest)["messages"].is_u64(), "the statistics at exit");
    let restored = tcgetattr(tty.as_raw_fd()).unwrap();
    assert_eq!(
        (restored.local_flags, restored.input_flags),
        (settings.local_flags, settings.input_flags),
        "the terminal's settings restored"
    );
    assert!(
        read_for(&mut p2, 1, Duration::from_millis(100)).is_empty(),
        "Ctrl-C is not sent"
    );
}

#[test]
fn the_pty_simulator_echoes_what_is_typed_at_its_prompt() {
    let _one = exclusive();
    let mut simulator = spawn_piped(sluicegate().args([
        "p2",
        "simulate",
        "demo",
        "--pty",
        "--pace",
        "2000000",
        "--linger-ms",
        "100",
    ]));
    let mut path = String::new();
    BufReader::new(simulator.stdout.take().unwrap())
        .read_line(&mut path)
        .unwrap();
    let mut line = serialport::new(path.trim(), 2_000_000)
        .timeout(Duration::from_millis(20))
        .open()
        .unwrap();
    simulator.stdin.take().unwrap().write_all(b"\n").unwrap();
    let mut got = Vec::new();
    let read_until = |line: &mut Box<dyn SerialPort>, got: &mut Vec<u8>, text: &[u8], times: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 4096];
        while got.windows(text.len()).filter(|window| *window == text).count() < times {
            assert!(
                Instant::now() < deadline,
                "{:?} within 20 s",
                String::from_utf8_lossy(text)
            );
            match line.read(&mut buf) {
                Ok(len) => got.extend_from_slice(&buf[..len]),
                Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
                Err(error) => panic!("{error}"),
            }
        }
    };
    let mut answers = Vec::new();
    for (round, typed) in [&b"1234\r"[..], b"56\r\r"].into_iter().enumerate() {
        read_until(&mut line, &mut got, b"Enter a value: ", round + 1);
        let prompt_end = got.len();
        line.write_all(typed).unwrap();
        read_until(&mut line, &mut got, format!("round {round} done").as_bytes(), 1);
        answers.push(got[prompt_end..].to_vec());
    }
    assert!(
        answers[0].starts_with(b"1234\r\n"),
        "{:?}",
        String::from_utf8_lossy(&answers[0])
    );
    assert!(
        answers[1].starts_with(b"56\r\n"),
        "{:?}",
        String::from_utf8_lossy(&answers[1])
    );
    drop(line);
    let output = simulator.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn the_demo_leaves_a_picture_in_each_of_its_nine_displays() {
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let output = sluicegate()
        .args([
            "p2",
            "--simulate",
            "demo",
            "--pace",
            "20000000",
            "--stats",
            "--json",
            "--snapshots",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let displays = &stats(&output.stderr)["displays"];
    assert_eq!(displays["snapshots_written"], 9);
    let types = displays["per_type"].as_array().unwrap();
    assert_eq!(types.len(), 9, "{types:?}");
    for kind in types {
        assert_eq!(
            (kind["declared"].as_u64(), kind["dropped"].as_u64()),
            (Some(2), Some(0)),
            "{kind}"
        );
        assert!(kind["frames"].as_u64().unwrap() > 0, "{kind}");
    }
    // BITMAP, PLOT and SPECTRO at their logical size; every picture holds more than a background.
    for (name, size) in [
        ("mybitmap", Some((64, 64))),
        ("myplot", Some((192, 192))),
        ("myspectro", Some((128, 64))),
        ("myterm", None),
        ("myscope", None),
        ("myxy", None),
        ("mylogic", None),
        ("myfft", None),
        ("mymidi", None),
    ] {
        let image = read_png(&std::fs::read(dir.path().join(format!("{name}.png"))).unwrap()).unwrap();
        if let Some(size) = size {
            assert_eq!((image.width(), image.height()), size, "{name}");
        }
        let mut colours: Vec<u32> = image.pixels().to_vec();
        colours.sort_unstable();
        colours.dedup();
        assert!(colours.len() >= 8, "{name}: only {} colours", colours.len());
    }
}
