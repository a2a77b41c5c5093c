//! Steady state allocates nothing per message: a counting global allocator watches the HSV16 burst applied to
//! three BITMAPs (with their refreshes and a frame taken per column), a scrolling BITMAP, TERM text with
//! its lazy rendering once every glyph has been seen, and samples fed to LOGIC, SCOPE, SCOPE_XY, FFT, SPECTRO
//! and MIDI with their pictures drawn.

mod common;

use std::time::Instant;

use sluicegate_core::alloc_count::{self, CountingAllocator};
use sluicegate_p2_display::Displays;

/// Counts per thread: other threads of the test harness do not disturb the count.
#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn bitmap_feeds_allocate_nothing() {
    let lines = common::hsv16_burst();
    let mut displays = Displays::new();
    let now = Instant::now();
    for line in &lines[..3] {
        displays.handle_line(line.as_bytes(), now).unwrap();
    }
    displays
        .handle_line(b"`bitmap s size 64 32 trace 12 rgb16 words_8bit", now)
        .unwrap();
    let ids: Vec<_> = displays.iter().map(|d| d.id()).collect();
    while displays.poll_event().is_some() {}
    let before = alloc_count::this_thread();
    for (i, line) in lines[3..].iter().enumerate() {
        displays.handle_line(line.as_bytes(), now).unwrap();
        displays.handle_line(b"`s $1234 $FFFF0000", now).unwrap();
        if i % 256 == 255 {
            for &id in &ids {
                let frame = displays.frame(id).unwrap();
                assert!(frame.damage.is_some());
            }
        }
    }
    let allocations = alloc_count::this_thread() - before;
    assert_eq!(allocations, 0, "{allocations} allocations for {} messages", 2 * 65_536);
}

#[test]
fn term_text_allocates_nothing_once_its_glyphs_are_cached() {
    let mut displays = Displays::new();
    let now = Instant::now();
    displays.handle_line(b"`term t size 80 25", now).unwrap();
    let id = displays.iter().next().unwrap().id();
    let text: Vec<String> = (0..2000)
        .map(|i| format!("`t 'line {i} of text, the quick brown fox' 13 4 5 6\r\n"))
        .collect();
    for line in &text[..20] {
        displays.handle_line(line.as_bytes(), now).unwrap();
        displays.frame(id).unwrap();
    }
    while displays.poll_event().is_some() {}
    let before = alloc_count::this_thread();
    for line in &text[20..] {
        displays.handle_line(line.as_bytes(), now).unwrap();
        displays.frame(id).unwrap();
    }
    assert_eq!(alloc_count::this_thread() - before, 0);
}

#[test]
fn sampled_displays_allocate_nothing_per_sample_or_frame() {
    let mut displays = Displays::new();
    let now = Instant::now();
    for line in [
        "`logic l samples 64 'a' 2 'bus' 4 range",
        "`l trigger 1 1 8",
        "`scope s samples 512",
        "`s 'a' -1000 1000 100 0 %1111",
        "`s 'b' auto 100 100 %1100",
        "`s trigger 0 -100 100",
        "`scope_xy x samples 64 rate 8 'a' 'b'",
        "`scope_xy y samples 0 polar logscale 'r'",
        "`fft f samples 256 rate 64 logscale",
        "`f 'a' 2 1000 200 0 %1111",
        "`spectro sp samples 128 depth 64 rate 16 hsv16",
        "`midi m",
    ] {
        displays.handle_line(line.as_bytes(), now).unwrap();
    }
    let ids: Vec<_> = displays.iter().map(|d| d.id()).collect();
    let wave = |i: i64, k: i64| ((i as f64 * 0.01 * k as f64).sin() * 900.0) as i64;
    let lines: Vec<String> = (0..3000i64)
        .flat_map(|i| {
            [
                format!("`l {}", i * 3),
                format!("`s {} {}", wave(i, 3), wave(i, 7)),
                format!("`x {} {} {} {}", wave(i, 2), wave(i, 3), wave(i, 5), wave(i, 1)),
                format!("`y {} {}", 1 + i % 900, i * 0x100_0000),
                format!("`f {}", wave(i, 40)),
                format!("`sp {}", wave(i * i % 4000, 30)),
                format!("`m $90 {} {}", 21 + i % 88, i % 128),
            ]
        })
        .collect();
    let run = |lines: &[String], displays: &mut Displays| {
        for (i, line) in lines.iter().enumerate() {
            displays.handle_line(line.as_bytes(), now).unwrap();
            if i % 97 == 0 {
                for &id in &ids {
                    displays.frame(id).unwrap();
                }
            }
        }
    };
    // Warm up: glyphs cached, note numbers rasterised, chord tables and slants computed.
    run(&lines[..7000], &mut displays);
    while displays.poll_event().is_some() {}
    let before = alloc_count::this_thread();
    run(&lines[7000..], &mut displays);
    let allocations = alloc_count::this_thread() - before;
    assert_eq!(
        allocations,
        0,
        "{allocations} allocations for {} messages",
        lines.len() - 7000
    );
}
