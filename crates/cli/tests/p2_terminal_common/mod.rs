//! What the p2 terminal's and displays' end-to-end tests share: starting a terminal and signalling it, and
//! what they check: every message of a stream, in order, byte-exact; the `--stats --json` report; and the
//! three pictures of the HSV16 burst (docs/p2-displays.md D2), pixel by pixel against the colour formulas of
//! A.0, written out here from the spec's words.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use sluicegate_p2::simulate;

use crate::p2_common::hex_bytes;

/// Starts `command` with stdin, stdout and stderr piped.
pub fn spawn_piped(command: &mut Command) -> Child {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `signal` (`-INT`, `-USR1`, …) to a running terminal.
pub fn send_signal(terminal: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &terminal.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal}");
}

/// The last line of stderr that is a JSON object: the `--stats --json` report.
pub fn stats(stderr: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .unwrap_or_else(|| panic!("no stats in: {text}"));
    serde_json::from_str(line).expect("stats are JSON")
}

/// Every message of `stream`, in order, byte-exact, and nothing else.
pub fn assert_complete(messages: &[Value], stream: &simulate::Stream) {
    assert_eq!(messages.len(), stream.messages().len(), "message count");
    for (index, (got, expected)) in messages.iter().zip(stream.messages()).enumerate() {
        assert_eq!(
            hex_bytes(got),
            &stream.bytes()[expected.range.clone()],
            "message {index}"
        );
        assert_eq!(
            got["code"].as_u64(),
            Some(u64::from(expected.kind.code())),
            "message {index} kind"
        );
    }
}

/// A.0's `HUE[i]` (R, G, B): for each channel `k = i − 7.2 + offset` (offsets 2·256/3, 256/3 and 0; less 256
/// from 256 up): 0 below 256·2/6, rising to 255 until 256·3/6, 255 until 256·5/6, falling to 0 at 256.
/// Computed exactly in fifteenths (`K = 15·k`); rounded half to even, except where PNut's x87 arithmetic breaks
/// an exact tie: its extended-precision 7.2 lies a hair above the true value, so a rising tie rounds up and a
/// falling one down (the ties are HUE\[20\] and HUE\[148\]; the display library documents the 80-bit re-run).
fn hue(i: u32) -> [u32; 3] {
    let level = |offset: i64| {
        let mut k = 15 * i64::from(i) - 108 + offset;
        if k >= 3840 {
            k -= 3840;
        }
        // The value is numerator / 640 (×255 of the ramp's fifteenths).
        let (numerator, tie_up) = match k {
            ..1280 => return 0,
            1280..1920 => ((k - 1280) * 255, true),
            1920..3200 => return 255,
            _ => ((3840 - k) * 255, false),
        };
        let (whole, rest) = (numerator / 640, numerator % 640);
        let up = match rest.cmp(&320) {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => tie_up,
        };
        (whole + i64::from(up)) as u32
    };
    [level(2560), level(1280), level(0)]
}

/// The three HSV16 modes of the burst.
#[derive(Clone, Copy)]
enum Mode {
    Plain,
    White,
    Extended,
}

/// A.0's HSV16 (tune 0): hue from the high byte, brightness from the low byte, towards white in the W mode
/// and above 127 in the X mode.
fn hsv16(mode: Mode, value: u32) -> u32 {
    let mut p = value & 255;
    let white = match mode {
        Mode::Plain => false,
        Mode::White => true,
        Mode::Extended => p >= 128,
    };
    if let Mode::Extended = mode {
        p = if p < 128 { 2 * p } else { ((p & 127) * 2) ^ 254 };
    }
    let mut rgb = 0;
    for channel in hue(value >> 8) {
        let c = if white { channel ^ 255 } else { channel };
        let out = (c * p + 255) >> 8;
        rgb = (rgb << 8) | if white { out ^ 255 } else { out };
    }
    rgb
}

/// `j.png`, `k.png` and `l.png` in `dir` are the pictures of D2: pixel (x, y) holds value `x·256 + y`.
pub fn assert_hsv16_pictures(dir: &Path) {
    // The spec's worked values first: a transcription error would show here.
    for (i, rgb) in [
        (0, 0xFF0000),
        (21, 0xFF5200),
        (42, 0xFFD000),
        (64, 0xABFF00),
        (85, 0x2DFF00),
        (107, 0x00FF56),
        (128, 0x00FFD4),
        (149, 0x00ADFF),
        (170, 0x002FFF),
        (192, 0x5400FF),
        (213, 0xD200FF),
        (234, 0xFF00AF),
        (255, 0xFF0031),
    ] {
        let [r, g, b] = hue(i);
        assert_eq!((r << 16) | (g << 8) | b, rgb, "HUE[{i}]");
    }
    assert_eq!(hsv16(Mode::Plain, 0x55FF), 0x2DFF00);
    assert_eq!(hsv16(Mode::White, 0x007F), 0xFF8080);
    assert_eq!(hsv16(Mode::Extended, 0x0080), 0xFF0101);
    for (name, mode) in [("j", Mode::Plain), ("k", Mode::White), ("l", Mode::Extended)] {
        let path = dir.join(format!("{name}.png"));
        let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let image = sluicegate_p2_display::read_png(&bytes).unwrap();
        assert_eq!((image.width(), image.height()), (256, 256), "{name}: logical size");
        let pixel = |x: u32, y: u32| image.get(x, y).unwrap();
        for x in 0..256 {
            for y in 0..256 {
                assert_eq!(
                    pixel(x, y),
                    hsv16(mode, (x << 8) | y),
                    "{name}: pixel ({x}, {y}), value ${:04X}",
                    (x << 8) | y
                );
            }
        }
        // D2 in words.
        let bottom = [(0, 0xFF0000), (85, 0x2DFF00), (170, 0x002FFF)];
        match mode {
            Mode::Plain => {
                assert!((0..256).all(|x| pixel(x, 0) == 0), "j: top row black");
                assert!(
                    bottom.iter().all(|&(x, rgb)| pixel(x, 255) == rgb),
                    "j: saturated bottom"
                );
            }
            Mode::White => {
                assert!((0..256).all(|x| pixel(x, 0) == 0xFFFFFF), "k: top row white");
                assert!(
                    bottom.iter().all(|&(x, rgb)| pixel(x, 255) == rgb),
                    "k: saturated bottom"
                );
            }
            Mode::Extended => {
                assert!((0..256).all(|x| pixel(x, 0) == 0), "l: top row black");
                assert!((0..256).all(|x| pixel(x, 255) == 0xFFFFFF), "l: bottom row white");
                assert_eq!(
                    (pixel(0, 127), pixel(0, 128)),
                    (0xFE0000, 0xFF0101),
                    "l: saturated mid-way"
                );
            }
        }
    }
}
