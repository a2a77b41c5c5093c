//! `sluicegate audio` end to end, against a real PulseAudio server started by the test.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sluicegate_audio::Goertzel;
use sluicegate_audio::test_support::{NULL_SINK, PulseServer};

fn sluicegate(server: Option<&PulseServer>, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluicegate"));
    if let Some(server) = server {
        server.set_env(&mut command);
    }
    command.arg("audio").args(args);
    command
}

fn run(command: &mut Command) -> (Option<i32>, String, String) {
    let Output { status, stdout, stderr } = command.output().expect("run sluicegate");
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Waits until `path` holds more than `bytes` (the capture is under way).
fn wait_for_size(path: &Path, bytes: u64, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(path).map_or(0, |meta| meta.len()) <= bytes {
        assert!(child.try_wait().unwrap().is_none(), "sluicegate exited early");
        assert!(Instant::now() < deadline, "no audio written to {}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_with_timeout(child: Child) -> Output {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    receiver
        .recv_timeout(Duration::from_secs(10))
        .expect("sluicegate must exit, not hang")
        .unwrap()
}

fn tone_amplitude(samples: &[f32], channels: usize, frequency: f64) -> f64 {
    let mut detector = Goertzel::new(frequency, 48_000.0);
    // Skip the first 100 ms (the player's start).
    for frame in samples.chunks_exact(channels).skip(4_800) {
        detector.handle_sample(f64::from(frame[0]));
    }
    detector.amplitude()
}

/// The tone's amplitude in its loudest 100 ms window: the level it was captured at, which a loaded
/// machine's underrun (a gap in the player's stream, not in the capture) does not lower.
fn loudest_tone_amplitude(samples: &[f32], channels: usize, frequency: f64) -> f64 {
    samples
        .chunks_exact(4_800 * channels)
        .map(|window| {
            let mut detector = Goertzel::new(frequency, 48_000.0);
            for frame in window.chunks_exact(channels) {
                detector.handle_sample(f64::from(frame[0]));
            }
            detector.amplitude()
        })
        .fold(0.0, f64::max)
}

#[test]
fn capture_writes_a_wav_of_exactly_the_requested_duration_with_stats() {
    let server = PulseServer::start();
    let _player = server.play_tone("tone", 1_000.0, 0.5);
    let wav = server.scratch_dir().join("out.wav");
    let (code, _, stderr) =
        run(sluicegate(Some(&server), &["capture", "--duration", "1", "--stats", "--out"]).arg(&wav));
    assert_eq!(code, Some(0), "{stderr}");
    let mut reader = hound::WavReader::open(&wav).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.sample_format),
        (2, 48_000, hound::SampleFormat::Float)
    );
    assert_eq!(reader.duration(), 48_000, "exactly one second of frames");
    let samples: Vec<f32> = reader.samples::<f32>().map(Result::unwrap).collect();
    let tone = loudest_tone_amplitude(&samples, 2, 1_000.0);
    assert!((tone - 0.5).abs() < 0.05, "1 kHz amplitude {tone}");
    assert!(
        stderr.contains("\"pool_hits\":") && stderr.contains("\"hit_rate\":100.0"),
        "{stderr}"
    );
    // A sine of amplitude 0.5 peaks at −6 dBFS; its RMS (−9 dBFS without gaps) is whatever the file holds,
    // lower if the player started late or underran on a loaded machine.
    let rms: f64 = stderr
        .split_once("channel 1: peak -6.0 dBFS, RMS ")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no level meter for channel 1: {stderr}"));
    let squares: f64 = samples.chunks_exact(2).map(|frame| f64::from(frame[1]).powi(2)).sum();
    let file_rms = 10.0 * (squares / 48_000.0).log10();
    assert!(
        (rms - file_rms).abs() <= 0.06,
        "meter {rms} dBFS, file {file_rms:.2} dBFS: {stderr}"
    );
    assert!(rms <= -8.9, "{stderr}");
}

#[test]
fn capture_of_one_application_to_stdout_as_raw_s16() {
    let server = PulseServer::start();
    let _low = server.play_tone("low", 440.0, 0.4);
    let _high = server.play_tone("high", 1_000.0, 0.4);
    let args = [
        "capture",
        "--app",
        "high",
        "--format",
        "s16le",
        "--channels",
        "1",
        "--duration",
        "0.5",
        "--out",
        "-",
    ];
    let output = sluicegate(Some(&server), &args).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.stdout.len(), 24_000 * 2, "half a second of mono s16");
    let samples: Vec<f32> = output
        .stdout
        .chunks_exact(2)
        .map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0)
        .collect();
    let tone = loudest_tone_amplitude(&samples, 1, 1_000.0);
    assert!((tone - 0.4).abs() < 0.04, "1 kHz amplitude {tone}");
    assert!(
        tone_amplitude(&samples, 1, 440.0) < 0.004,
        "the other application leaked in"
    );
}

#[test]
fn a_killed_server_leaves_a_finished_wav_and_a_clear_error() {
    let mut server = PulseServer::start();
    let _player = server.play_tone("tone", 1_000.0, 0.5);
    let wav = server.scratch_dir().join("cut.wav");
    let mut child = sluicegate(Some(&server), &["capture", "--format", "s16le", "--out"])
        .arg(&wav)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_size(&wav, 48_000, &mut child);
    server.kill();
    let output = wait_with_timeout(child);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(4),
        "the server is a peer that can no longer be used: {stderr}"
    );
    assert!(
        stderr.contains("sluicegate: lost the sound server") && stderr.contains("s saved in"),
        "{stderr}"
    );
    let file_len = std::fs::metadata(&wav).unwrap().len();
    let reader = hound::WavReader::open(&wav).unwrap();
    assert!(reader.duration() > 0);
    assert_eq!(
        u64::from(reader.duration()) * 4 + 58,
        file_len,
        "the header counts every frame written"
    );
}

#[test]
fn ctrl_c_finishes_the_wav_header() {
    let server = PulseServer::start();
    let _player = server.play_tone("tone", 1_000.0, 0.5);
    let wav = server.scratch_dir().join("interrupted.wav");
    let mut child = sluicegate(Some(&server), &["capture", "--out"])
        .arg(&wav)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_size(&wav, 100_000, &mut child);
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = wait_with_timeout(child);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let file_len = std::fs::metadata(&wav).unwrap().len();
    let reader = hound::WavReader::open(&wav).unwrap();
    assert_eq!(u64::from(reader.duration()) * 8 + 58, file_len);
}

#[test]
fn devices_lists_sinks_monitors_and_playing_applications() {
    let server = PulseServer::start();
    let player = server.play_tone("listed-app", 440.0, 0.1);
    let (code, stdout, stderr) = run(&mut sluicegate(Some(&server), &["devices"]));
    assert_eq!(code, Some(0), "{stderr}");
    let default_sink = stdout
        .lines()
        .any(|line| line.starts_with(" *") && line.ends_with(&format!("{NULL_SINK}  (Null Output)")));
    assert!(default_sink, "the null sink is listed as the default: {stdout}");
    assert!(stdout.contains(&format!("{NULL_SINK}.monitor")), "{stdout}");
    assert!(
        stdout.contains(&format!("pid {:<8} listed-app", player.pid())),
        "{stdout}"
    );
}

#[test]
fn bad_arguments_are_refused_with_usage_errors() {
    let server = PulseServer::start();
    let out = server.scratch_dir().join("never.wav");
    let out = out.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["capture", "--chunk-ms", "0", "--out", out], "not a positive duration"),
        (&["capture", "--channels", "0", "--out", out], "channel count 0"),
        (&["capture", "--format", "f64le", "--out", out], "unknown sample format"),
        (
            &["capture", "--source", "x", "--app", "y", "--out", out],
            "cannot be used with",
        ),
        (&["capture", "--pool", "fixed:0", "--out", out], "at least one buffer"),
        (&["capture", "--duration=-1", "--out", out], "not a positive duration"),
    ];
    for (args, message) in cases {
        let (code, _, stderr) = run(&mut sluicegate(Some(&server), args));
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert!(
        !Path::new(out).exists(),
        "no file is created for a capture that never started"
    );
}

/// A server that cannot be reached, and a source or application that does not exist, are a device or peer
/// that cannot be used: exit 4, as for a missing serial port, with the cause named.
#[test]
fn a_missing_server_source_or_application_exits_4() {
    let server = PulseServer::start();
    let out = server.scratch_dir().join("never.wav");
    let out = out.to_str().unwrap();
    let missing: [(&[&str], &str); 2] = [
        (
            &["capture", "--source", "no-such-source", "--out", out],
            "sluicegate: no source named \"no-such-source\"",
        ),
        (
            &["capture", "--pid", "999999", "--out", out],
            "sluicegate: no application with process id 999999 is playing",
        ),
    ];
    for (args, message) in missing {
        let (code, _, stderr) = run(&mut sluicegate(Some(&server), args));
        assert_eq!(code, Some(4), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert!(!Path::new(out).exists(), "no file for a capture that never started");
    let unreachable = "unix:/nonexistent/native";
    for args in [
        &["devices", "--server", unreachable][..],
        &["capture", "--server", unreachable, "--out", out][..],
    ] {
        let (code, _, stderr) = run(&mut sluicegate(None, args));
        assert_eq!(code, Some(4), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot connect to the sound server unix:/nonexistent/native"),
            "{args:?}: {stderr}"
        );
    }
}
