//! Random element streams to random displays: the input's first bytes declare up to a few displays of each of the
//! nine types with sizes and options taken from the input, then every input line (split at LF) is a message, half
//! of them aimed at an open display's name; a few header bytes declare BITMAP, PLOT or TERM at the largest sizes PNut
//! accepts instead. Nothing may panic or hang, at most 32 displays exist, every image (frames and SAVE files) stays
//! within the sizes docs/p2-displays.md A.0 allows, and events are drained as a front end would.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sluicegate_p2_display::{DISPLAYS_MAX, Displays, Event};

const NAMES: [&str; 4] = ["a", "b", "c", "d"];

/// A declaration of display type `kind % 9` called `name`, its numbers taken from `b` and `size`.
fn declaration(kind: u8, name: &str, b: u8, size: u32) -> String {
    let small = size / 3 + 1;
    match kind % 9 {
        0 => format!("`bitmap {name} size {size} {small} dotsize {} sparse red", b % 20),
        1 => format!("`plot {name} size {size} {small} dotsize {}", b % 20),
        // A TERM's size is in characters: keep its picture near the others' (a 256-column TERM is 2056 px wide).
        2 => format!("`term {name} size {} {}", size / 4 + 1, size / 16 + 1),
        3 => format!("`logic {name} samples {size} spacing {} 'x' {} range 'y' rate {}", b % 33, b % 5, b % 7),
        4 => format!("`scope {name} size {size} {small} samples {size} linesize {} dotsize {}", b % 9, b % 5),
        5 => format!("`scope_xy {name} size {small} samples {} {} 'p' 'q'", b % 40, ["", "polar", "logscale", "polar 360 -90 logscale"][usize::from(b % 4)]),
        6 => format!("`fft {name} size {size} {small} samples {size} {} linesize {}", b % 8, i32::from(b % 17) - 8),
        7 => format!("`spectro {name} samples {size} depth {small} dotsize {} trace {} mag {}", b % 4 + 1, b % 16, b % 12),
        _ => format!("`midi {name} size {} range {} channel {}", b % 8 + 1, b % 128, b % 3),
    }
}

/// A declaration at the limits PNut accepts (a few header bytes ask for one), kept cheap: a BITMAP or PLOT 2048
/// pixels wide at DOTSIZE 256, whose window is 524,288 pixels wide (SAVE WINDOW must refuse it), a 256×256 TERM
/// from TEXTSIZE 15 on (refused: over 16 Mi pixels), or one row of 256 cells at 100 to 200 points (near the limit).
fn declaration_at_limits(kind: u8, name: &str, b: u8) -> String {
    match kind % 3 {
        0 => format!("`bitmap {name} size 2048 1 dotsize 256 sparse red trace {}", b % 16),
        1 => format!("`plot {name} size 2048 32 dotsize 256"),
        _ if b & 1 == 0 => format!("`term {name} size 256 256 textsize {}", 15 + b % 8),
        _ => format!("`term {name} size 256 1 textsize {}", 100 + b % 101),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut displays = Displays::new();
    let start = Instant::now();
    let (head, body) = data.split_at(data.len().min(8));
    for (i, pair) in head.chunks(2).enumerate() {
        // Sizes up to 252: big enough for every code path, small enough for thousands of runs a second.
        let size = pair.get(1).map_or(16, |&b| u32::from(b % 64) * 4);
        let line = if pair[0] >= 0xF4 {
            declaration_at_limits(pair[0], NAMES[i], pair.get(1).copied().unwrap_or(0))
        } else {
            declaration(pair[0], NAMES[i], pair[0] / 9, size)
        };
        let _ = displays.handle_line(line.as_bytes(), start);
    }
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let now = start + Duration::from_millis(i as u64);
        let _ = if i % 2 == 0 {
            let mut message = format!("`{} ", NAMES[i / 2 % NAMES.len()]).into_bytes();
            message.extend_from_slice(line);
            displays.handle_line(&message, now)
        } else {
            displays.handle_line(line, now)
        };
        assert!(displays.len() <= DISPLAYS_MAX);
        while let Some(event) = displays.poll_event() {
            if let Event::Save { image, .. } = event {
                assert!(u64::from(image.width()) * u64::from(image.height()) <= 1 << 24);
            }
        }
        if i % 8 == 0 {
            let ids: Vec<_> = displays.iter().map(|d| d.id()).collect();
            for id in ids {
                let frame = displays.frame(id).expect("open");
                assert!(u64::from(frame.image.width()) * u64::from(frame.image.height()) <= 1 << 24);
            }
        }
    }
});
