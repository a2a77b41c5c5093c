//! Random element streams to random displays: the input's first bytes declare up to a few displays of each of the
//! nine types with sizes and options taken from the input, then every input line (split at LF) is a message, half
//! of them aimed at an open display's name. Nothing may panic or hang, at most 32 displays exist, every image stays
//! within the sizes docs/p2-displays.md A allows, and events are drained as a front end would.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sluicegate_p2_display::{DISPLAYS_MAX, Displays};

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

fuzz_target!(|data: &[u8]| {
    let mut displays = Displays::new();
    let start = Instant::now();
    let (head, body) = data.split_at(data.len().min(8));
    for (i, pair) in head.chunks(2).enumerate() {
        // Sizes up to 252: big enough for every code path, small enough for thousands of runs a second.
        let size = pair.get(1).map_or(16, |&b| u32::from(b % 64) * 4);
        let line = declaration(pair[0], NAMES[i], pair[0] / 9, size);
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
        while displays.poll_event().is_some() {}
        if i % 8 == 0 {
            let ids: Vec<_> = displays.iter().map(|d| d.id()).collect();
            for id in ids {
                let frame = displays.frame(id).expect("open");
                assert!(u64::from(frame.image.width()) * u64::from(frame.image.height()) <= 1 << 24);
            }
        }
    }
});
