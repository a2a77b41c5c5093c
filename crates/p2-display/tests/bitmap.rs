//! BITMAP (docs/p2-displays.md A.9): the 16 TRACE patterns, scrolling, SET, SCROLL, RATE, CLEAR, UPDATE,
//! SPARSE and the background rule.

mod common;

use common::{events, feed, front, id, save_png_zoomed};
use sluicegate_p2_display::{Displays, Event, Framebuffer, SaveRefused, WindowType};

const W: u32 = 3;
const H: u32 = 2;

/// The positions pattern 0–7 visits, from the spec's words (rows or columns, their direction, the order of the
/// lines).
fn order(pattern: u32) -> Vec<(u32, u32)> {
    let xs = |forward: bool| {
        if forward {
            (0..W).collect::<Vec<_>>()
        } else {
            (0..W).rev().collect()
        }
    };
    let ys = |forward: bool| {
        if forward {
            (0..H).collect::<Vec<_>>()
        } else {
            (0..H).rev().collect()
        }
    };
    match pattern {
        0..=3 => {
            let (along, lines) = (pattern & 1 == 0, pattern & 2 == 0); // L→R?, top→bottom?
            ys(lines)
                .into_iter()
                .flat_map(|y| xs(along).into_iter().map(move |x| (x, y)))
                .collect()
        }
        _ => {
            let along = matches!(pattern, 4 | 6); // top→bottom?
            let lines = pattern < 6; // left→right?
            xs(lines)
                .into_iter()
                .flat_map(|x| ys(along).into_iter().map(move |y| (x, y)))
                .collect()
        }
    }
}

fn pixels(n: u32) -> String {
    (1..=n).map(|v| format!(" {v}")).collect()
}

#[test]
fn the_eight_scan_patterns_and_their_wrap() {
    for pattern in 0..8 {
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &[
                &format!("`bitmap b size {W} {H} trace {pattern} rate -1"),
                &format!("`b{}", pixels(6)),
            ],
        );
        let image = front(&mut displays, "b");
        for (i, (x, y)) in order(pattern).into_iter().enumerate() {
            assert_eq!(
                image.get(x, y),
                Some(i as u32 + 1),
                "pattern {pattern}: pixel {} at ({x},{y})",
                i + 1
            );
        }
        // Without scroll the position wraps to the start corner.
        feed(&mut displays, &["`b 7 8 9 10 11 12"]);
        let (x, y) = order(pattern)[0];
        assert_eq!(front(&mut displays, "b").get(x, y), Some(7), "pattern {pattern} wraps");
    }
}

#[test]
fn the_eight_scrolling_patterns() {
    for pattern in 8..16 {
        let mut displays = Displays::new();
        // Default RATE: one refresh per line, taken before the line's scroll.
        feed(
            &mut displays,
            &[
                &format!("`bitmap b size {W} {H} trace {pattern}"),
                &format!("`b{}", pixels(2 * if pattern & 7 < 4 { W } else { H })),
            ],
        );
        let image = front(&mut displays, "b");
        let base = pattern & 7;
        let line = if base < 4 { W } else { H } as usize;
        let visits = order(base);
        // The latest line is at the start edge; the first moved one line further along.
        for (i, &(x, y)) in visits[..line].iter().enumerate() {
            assert_eq!(
                image.get(x, y),
                Some((line + i) as u32 + 1),
                "pattern {pattern}: newest line"
            );
        }
        for (i, &(x, y)) in visits[line..2 * line].iter().enumerate() {
            assert_eq!(
                image.get(x, y),
                Some(i as u32 + 1),
                "pattern {pattern}: first line moved one step"
            );
        }
    }
}

#[test]
fn scrolling_fills_with_the_background_and_set_cancels_it() {
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &["`bitmap b size 3 2 trace 8 rate 1 hsv16w", "`b $FF $FF $FF"],
    );
    // The refresh of the third pixel came before the line's scroll.
    assert_eq!(front(&mut displays, "b").row(0), [0xFF0000; 3]);
    feed(&mut displays, &["`b update"]);
    // HSV16W: the background is white; the line scrolled down, the new top line is white.
    let image = front(&mut displays, "b");
    assert_eq!(image.row(0), [0xFFFFFF; 3]);
    assert_eq!(image.row(1), [0xFF0000; 3]);
    // SET cancels scrolling: the next line end moves down instead of scrolling.
    feed(&mut displays, &["`b set 0 0 rgb24 1 2 3 4"]);
    let image = front(&mut displays, "b");
    assert_eq!((image.row(0), image.get(0, 1)), (&[1, 2, 3][..], Some(4)));
    // SCROLL dx dy moves the image and fills the uncovered edge with the background of the current mode.
    feed(&mut displays, &["`b scroll -1 0", "`b update"]);
    assert_eq!(front(&mut displays, "b").row(0), [2, 3, 0]);
}

#[test]
fn rate_rules() {
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &[
            "`bitmap a size 4 2",
            "`bitmap c size 4 2 trace 4",
            "`bitmap d size 4 2 rate 3",
        ],
    );
    feed(&mut displays, &["`a c d 1 1 1"]);
    let frames = |displays: &Displays, name| displays.find(name).unwrap().frames();
    // RATE 0 → a line: 4 for rows (a), the height 2 for columns (c); d refreshes every 3 pixels.
    assert_eq!(
        (frames(&displays, "a"), frames(&displays, "c"), frames(&displays, "d")),
        (0, 1, 1)
    );
    feed(&mut displays, &["`a c d 1"]);
    assert_eq!(
        (frames(&displays, "a"), frames(&displays, "c"), frames(&displays, "d")),
        (1, 2, 1)
    );
    // A feed RATE 0 freezes refreshes (the count passes it and goes on).
    feed(&mut displays, &["`a rate 0 1 1"]);
    assert_eq!(frames(&displays, "a"), 1);
    // CLEAR shows the cleared image and re-derives RATE; the count is not reset (as in PNut).
    feed(&mut displays, &["`a clear"]);
    assert_eq!(frames(&displays, "a"), 2);
    feed(&mut displays, &["`a 5 5"]);
    assert_eq!(frames(&displays, "a"), 3, "count 2 + 2 = the re-derived RATE 4");
    // A feed TRACE restarts at the pattern's corner and re-derives RATE, discarding RATE 3.
    feed(&mut displays, &["`bitmap e size 4 2 rate 3", "`e trace 3 9 9 9"]);
    assert_eq!(frames(&displays, "e"), 0);
    feed(&mut displays, &["`e 9"]);
    assert_eq!(frames(&displays, "e"), 1);
    assert_eq!(
        front(&mut displays, "e").row(1),
        [9, 9, 9, 9],
        "the bottom row, right to left"
    );
}

#[test]
fn update_mode_shows_only_on_update_and_clear() {
    let mut displays = Displays::new();
    feed(&mut displays, &["`bitmap u size 2 1 update", "`u $FF $FF $FF"]);
    assert_eq!(front(&mut displays, "u").pixels(), [0, 0]);
    feed(&mut displays, &["`u update"]);
    assert_eq!(front(&mut displays, "u").pixels(), [0xFF, 0xFF]);
    feed(&mut displays, &["`u lut2 lutcolors $123456 clear"]);
    assert_eq!(
        front(&mut displays, "u").pixels(),
        [0x123456; 2],
        "CLEAR shows LUT colour 0 at once"
    );
}

#[test]
fn sparse_cells_with_dots() {
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &[
            "`bitmap s size 2 2 dotsize 12 sparse $404040",
            "`s $FF0000 $00FF00 $0000FF $FFFF00",
        ],
    );
    let image = front(&mut displays, "s");
    save_png_zoomed(&image, "bitmap_sparse", 8);
    assert_eq!((image.width(), image.height()), (24, 24), "drawn at DOTSIZE scale");
    for (cell, color) in [
        ((0, 0), 0xFF0000),
        ((1, 0), 0x00FF00),
        ((0, 1), 0x0000FF),
        ((1, 1), 0xFFFF00),
    ] {
        let (x0, y0) = (cell.0 * 12, cell.1 * 12);
        assert_eq!(image.get(x0 + 6, y0 + 6), Some(color), "dot centre");
        assert_eq!(image.get(x0, y0), Some(0x404040), "cell corner");
    }
    // DOTSIZE below 4 ignores SPARSE.
    feed(&mut displays, &["`bitmap t size 2 2 dotsize 3 sparse $404040"]);
    let small: Framebuffer = front(&mut displays, "t");
    assert_eq!((small.width(), small.height()), (2, 2));
}

#[test]
fn changed_displays_and_damage() {
    let mut displays = Displays::new();
    feed(&mut displays, &["`bitmap a size 8 8 dotsize 2", "`bitmap b size 8 8"]);
    let (a, b) = (common::id(&displays, "a"), common::id(&displays, "b"));
    assert_eq!(
        displays.changed().collect::<Vec<_>>(),
        [a, b],
        "new displays are shown whole"
    );
    for id in [a, b] {
        let frame = displays.frame(id).unwrap();
        assert_eq!(frame.damage.map(|r| (r.width, r.height)), Some((8, 8)));
    }
    assert_eq!(displays.changed().count(), 0);
    feed(&mut displays, &["`a set 3 2 rate 1 $FF"]);
    assert_eq!(displays.changed().collect::<Vec<_>>(), [a]);
    let frame = displays.frame(a).unwrap();
    assert_eq!(
        frame.damage,
        Some(sluicegate_p2_display::Rect::new(3, 2, 1, 1)),
        "only the changed pixel"
    );
    assert_eq!(frame.scale, (2, 2));
    // The hover read-out counts y from the top (PC_MOUSE counts from the bottom).
    assert_eq!(displays.get(a).unwrap().hover_text(7, 5).as_deref(), Some("3,2"));
}

#[test]
fn save_window_of_a_huge_window_is_refused_not_built() {
    // 2048×2048 at DOTSIZE 256 is a window 524,288 pixels a side: SAVE WINDOW would need a terabyte.
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &[
            "`bitmap b size 2048 2048 dotsize 256 rate 1",
            "`b $FF0000 $00FF00 save window 'w' save 's'",
        ],
    );
    let b = id(&displays, "b");
    let got = events(&mut displays);
    assert!(
        matches!(
            got[1],
            Event::SaveRefused {
                reason: SaveRefused::TooLarge,
                ..
            }
        ),
        "{got:?}"
    );
    assert!(
        matches!(&got[2], Event::Save { file, image, .. } if file == "s" && image.width() == 2048 && image.get(1, 0) == Some(0x00FF00)),
        "SAVE writes the logical size"
    );
    assert!(displays.window_image(b).is_none());
    assert_eq!(displays.stats().of(WindowType::Bitmap).saves_refused, 1);
    // A window that fits is built, magnified.
    feed(
        &mut displays,
        &["`bitmap small size 2 1 dotsize 3", "`small $0000FF $FFFFFF"],
    );
    let window = displays.window_image(id(&displays, "small")).expect("fits");
    assert_eq!(
        (window.width(), window.height(), window.get(5, 2)),
        (6, 3, Some(0xFFFFFF))
    );
}
