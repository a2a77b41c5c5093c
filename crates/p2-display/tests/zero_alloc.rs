//! Steady state allocates nothing per message: a counting global allocator watches the HSV16 burst applied to
//! three BITMAPs (with their refreshes and a frame taken per column), a scrolling BITMAP, and TERM text with
//! its lazy rendering once every glyph has been seen.

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
