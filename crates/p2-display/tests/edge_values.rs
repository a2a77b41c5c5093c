//! Bad input never panics (docs/p2-displays.md A.0 "Limits here"): PLOT, BITMAP and TERM fed every keyword they
//! know followed by the numbers at the edges of PNut's 32-bit arithmetic (±2³¹, ±2³⁰, sizes just past the
//! limits…), including declarations at the largest sizes PNut accepts. Every picture stays within 16 Mi pixels and
//! every message returns.

mod common;

use std::time::{Duration, Instant};

use proptest::prelude::*;
use sluicegate_p2_display::{Displays, Event};

/// Numbers where wrapping, clamping and shifting go wrong.
const EDGES: [i64; 22] = [
    i32::MIN as i64,
    -(1 << 30),
    -65_536,
    -2049,
    -256,
    -2,
    -1,
    0,
    1,
    2,
    7,
    8,
    33,
    255,
    256,
    2047,
    2048,
    65_535,
    1 << 24,
    1 << 30,
    i32::MAX as i64,
    u32::MAX as i64,
];

/// Every keyword a PLOT, BITMAP or TERM reads, and the colour names and modes.
const KEYWORDS: [&str; 48] = [
    "backcolor",
    "box",
    "cartesian",
    "circle",
    "clear",
    "color",
    "crop",
    "dot",
    "dotsize",
    "layer",
    "line",
    "linesize",
    "lutcolors",
    "obox",
    "opacity",
    "origin",
    "oval",
    "pc_key",
    "pc_mouse",
    "polar",
    "precise",
    "rate",
    "save",
    "scroll",
    "set",
    "size",
    "sparse",
    "sprite",
    "spritedef",
    "text",
    "textangle",
    "textsize",
    "textstyle",
    "trace",
    "update",
    "window",
    "auto",
    "red",
    "gray",
    "black",
    "white",
    "lut2",
    "luma8x",
    "hsv16x",
    "rgb16",
    "longs_2bit",
    "alt",
    "signed",
];

const DECLARATIONS: [&str; 8] = [
    "`plot a size 2048 2048 dotsize 256",
    "`plot a size 32 32",
    "`bitmap b size 2048 2048 dotsize 256 sparse red",
    "`bitmap b size 1 1 trace 15 rate -1",
    "`bitmap b size 64 48 dotsize 4 6 sparse red lut2 longs_2bit alt signed",
    "`term c size 256 256 textsize 14",
    "`term c size 1 1 textsize 200",
    "`term c size 7 3",
];

/// A command: a keyword with up to four numbers after it, or a string; now and then a bare number (pixel data,
/// TERM control codes).
fn command() -> impl Strategy<Value = String> {
    let number = prop::sample::select(&EDGES[..]).prop_map(|v| v.to_string());
    prop_oneof![
        6 => (
            prop::sample::select(&KEYWORDS[..]),
            prop::collection::vec(number.clone(), 0..=4),
            prop::sample::select(&["", " 'x.bmp'", " 'ab'"][..]),
        )
            .prop_map(|(key, numbers, text)| format!("{key} {}{text}", numbers.join(" "))),
        1 => number,
    ]
}

fn message() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["a", "b", "c"][..]),
        prop::collection::vec(command(), 1..6),
    )
        .prop_map(|(target, commands)| format!("`{target} {}", commands.join(" ")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn edge_values_never_panic(
        declarations in prop::sample::subsequence(&DECLARATIONS[..], 1..=3),
        messages in prop::collection::vec(message(), 1..12),
    ) {
        let mut displays = Displays::new();
        let start = Instant::now();
        for line in &declarations {
            let _ = displays.handle_line(line.as_bytes(), start);
        }
        for (i, line) in messages.iter().enumerate() {
            let now = start + Duration::from_millis(i as u64);
            let _ = displays.handle_line(line.as_bytes(), now);
            while let Some(event) = displays.poll_event() {
                if let Event::Save { image, .. } = event {
                    prop_assert!(u64::from(image.width()) * u64::from(image.height()) <= 1 << 24);
                }
            }
            let ids: Vec<_> = displays.iter().map(|d| d.id()).collect();
            for id in ids {
                let display = displays.get(id).expect("open");
                let (w, h) = display.client_size();
                for (x, y) in [(0, 0), (w as i32 - 1, h as i32 - 1), (i32::MIN, i32::MAX)] {
                    let _ = display.hover_text(x, y);
                }
                let frame = displays.frame(id).expect("open");
                prop_assert!(u64::from(frame.image.width()) * u64::from(frame.image.height()) <= 1 << 24);
            }
        }
    }
}
