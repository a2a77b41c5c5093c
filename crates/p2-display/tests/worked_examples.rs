//! The worked examples of docs/p2-displays.md D (BITMAP D1–D3, TERM D6–D7), pixel-exact where D gives pixels.
//! Each test also writes its picture under the test tmp dir (`pictures/`) for a person to look at.

mod common;

use std::time::{Duration, Instant};

use common::{events, feed, front, id, save_png, save_png_zoomed};
use sluicegate_p2_display::color::{ColorMode, HUE, translate};
use sluicegate_p2_display::{Buttons, Displays, Event, Framebuffer, Key, Request};

#[test]
fn d1_bitmap_rgb24_raster() {
    let mut displays = Displays::new();
    feed(&mut displays, &["`bitmap b1 title 'T1' size 4 4 rgb24 rate 16"]);
    let b1 = id(&displays, "b1");
    assert_eq!(displays.get(b1).unwrap().caption(), "T1");
    feed(
        &mut displays,
        &["`b1 $FF0000 $00FF00 $0000FF $FFFFFF $800000 $008000 $000080 $808080"],
    );
    let before = front(&mut displays, "b1");
    assert!(
        before.pixels().iter().all(|&p| p == 0),
        "nothing shown before the 16th pixel"
    );
    feed(
        &mut displays,
        &["`b1 $FFFF00 $00FFFF $FF00FF $000000 $123456 $654321 $ABCDEF $FEDCBA"],
    );
    let image = front(&mut displays, "b1");
    save_png(&image, "d1_bitmap");
    let expected = [
        0xFF0000, 0x00FF00, 0x0000FF, 0xFFFFFF, 0x800000, 0x008000, 0x000080, 0x808080, 0xFFFF00, 0x00FFFF, 0xFF00FF,
        0x000000, 0x123456, 0x654321, 0xABCDEF, 0xFEDCBA,
    ];
    assert_eq!(image.pixels(), expected, "row-major from the top-left");
    assert_eq!(displays.get(b1).unwrap().frames(), 1);
    // The write position wrapped to (0, 0).
    feed(&mut displays, &["`b1 $010203"]);
    let again = front(&mut displays, "b1");
    assert_eq!(again.get(0, 0), Some(0xFF0000), "RATE 16: not shown until the next 16");
}

#[test]
fn d2_the_hsv16_burst() {
    let mut displays = Displays::new();
    let now = Instant::now();
    for line in common::hsv16_burst() {
        displays.handle_line(line.as_bytes(), now).expect("every line applies");
    }
    let lut = [0; 256];
    for (name, mode) in [
        ("j", ColorMode::Hsv16),
        ("k", ColorMode::Hsv16w),
        ("l", ColorMode::Hsv16x),
    ] {
        let display = id(&displays, name);
        assert_eq!(
            displays.get(display).unwrap().frames(),
            256,
            "{name}: one refresh per column"
        );
        let image = front(&mut displays, name);
        save_png(&image, &format!("d2_hsv16_{name}"));
        // Pixel i at x = i div 256, y = i mod 256: x is the hue index, y the value.
        for x in 0..256u32 {
            for y in 0..256u32 {
                let v = ((x << 8) | y) as i32;
                assert_eq!(image.get(x, y), Some(translate(mode, 0, &lut, v)), "{name} ({x},{y})");
            }
        }
        let (top, bottom) = (image.row(0), image.row(255));
        match mode {
            ColorMode::Hsv16 => {
                assert!(top.iter().all(|&p| p == 0), "j: top row black");
                assert_eq!(bottom, HUE, "j: bottom row the saturated sweep");
            }
            ColorMode::Hsv16w => {
                assert!(top.iter().all(|&p| p == 0xFF_FFFF), "k: top row white");
                assert_eq!(bottom, HUE, "k: bottom row the saturated sweep");
            }
            _ => {
                assert!(top.iter().all(|&p| p == 0), "l: top row black");
                assert!(bottom.iter().all(|&p| p == 0xFF_FFFF), "l: bottom row white");
                // Saturated around y = 127/128: within 1 of the pure hue on every channel.
                for x in 0..256 {
                    for y in [127, 128] {
                        let (got, hue) = (image.get(x, y).unwrap(), HUE[x as usize]);
                        for shift in [0, 8, 16] {
                            let d = ((got >> shift) & 255).abs_diff((hue >> shift) & 255);
                            assert!(d <= 1, "l ({x},{y}) {got:06X} vs {hue:06X}");
                        }
                    }
                }
            }
        }
        if mode != ColorMode::Hsv16x {
            assert_eq!(
                (bottom[0], bottom[85], bottom[170]),
                (0xFF0000, 0x2DFF00, 0x002FFF),
                "{name}"
            );
        }
    }
    let stats = displays.stats().of(sluicegate_p2_display::WindowType::Bitmap);
    assert_eq!((stats.declared, stats.applied, stats.frames), (3, 3 * 65_536, 3 * 256));
}

#[test]
fn d3_lut2_packed_longs_and_alt() {
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &[
            "`bitmap p1 size 16 1 lut2 lutcolors $000000 $FF0000 $00FF00 $0000FF longs_2bit",
            "`bitmap p2 size 16 1 lut2 lutcolors $000000 $FF0000 $00FF00 $0000FF longs_2bit alt",
            "`bitmap p3 size 16 1 lut2 longs_2bit",
            "`p1 p2 p3 $E4E4E4E4",
        ],
    );
    let cycle = |order: [u32; 4]| (0..16).map(|x| order[x % 4]).collect::<Vec<_>>();
    let p1 = front(&mut displays, "p1");
    let p2 = front(&mut displays, "p2");
    save_png(&p1, "d3_p1");
    assert_eq!(
        p1.pixels(),
        cycle([0x000000, 0xFF0000, 0x00FF00, 0x0000FF]),
        "fields lowest first"
    );
    assert_eq!(
        p2.pixels(),
        cycle([0x0000FF, 0x00FF00, 0xFF0000, 0x000000]),
        "ALT reverses fields in a byte"
    );
    let p3 = front(&mut displays, "p3");
    assert!(
        p3.pixels().iter().all(|&p| p == 0),
        "without LUTCOLORS every pixel is black"
    );
    for name in ["p1", "p2"] {
        assert_eq!(
            displays.find(name).unwrap().frames(),
            1,
            "{name}: refreshed after the 16th pixel"
        );
    }
}

/// A TERM cell's rectangle: margin ChrWidth/2, cells ChrWidth × ChrHeight.
struct Cells {
    margin: u32,
    width: u32,
    height: u32,
}

impl Cells {
    /// For a TERM at 10 pt: the client is cols·w + 2m wide.
    fn of(image: &Framebuffer, cols: u32, rows: u32) -> Cells {
        // w + 2m... solve with m = w / 2.
        let width = image.width() / (cols + 1);
        let margin = width / 2;
        assert_eq!(image.width(), cols * width + 2 * margin, "client width");
        let height = (image.height() - 2 * margin) / rows;
        assert_eq!(image.height(), rows * height + 2 * margin, "client height");
        Cells { margin, width, height }
    }

    fn pixels(&self, image: &Framebuffer, col: u32, row: u32) -> Vec<u32> {
        let (x0, y0) = (self.margin + col * self.width, self.margin + row * self.height);
        (y0..y0 + self.height)
            .flat_map(|y| (x0..x0 + self.width).map(move |x| (x, y)))
            .map(|(x, y)| image.get(x, y).unwrap())
            .collect()
    }

    /// Asserts the cell is `bg` with ink in `fg` (a glyph), or plain `bg` when `fg` is `None`.
    fn assert(&self, image: &Framebuffer, col: u32, row: u32, fg: Option<u32>, bg: u32) {
        let pixels = self.pixels(image, col, row);
        assert_eq!(pixels[0], bg, "cell ({col},{row}) top-left is the background");
        let background = pixels.iter().filter(|&&p| p == bg).count();
        match fg {
            None => assert_eq!(background, pixels.len(), "cell ({col},{row}) is blank"),
            Some(fg) => {
                assert!(background > pixels.len() / 3, "cell ({col},{row}) is mostly background");
                let near_fg = pixels.iter().filter(|&&p| distance(p, fg) < distance(p, bg)).count();
                assert!(near_fg >= 4, "cell ({col},{row}) has ink in {fg:06X}");
                assert!(
                    pixels
                        .iter()
                        .all(|&p| distance(p, fg) + distance(p, bg) <= distance(fg, bg) + 6),
                    "cell ({col},{row}) holds only blends of {fg:06X} and {bg:06X}"
                );
            }
        }
    }
}

fn distance(a: u32, b: u32) -> u32 {
    [0, 8, 16]
        .iter()
        .map(|s| ((a >> s) & 255).abs_diff((b >> s) & 255))
        .sum()
}

#[test]
fn d6_term_control_codes_colour_pairs_and_replies() {
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &["`term t1 size 12 3", "`t1 'Hello' 13 10 'AB' 9 'C' 13 6 'G' 5 'I'"],
    );
    let t1 = id(&displays, "t1");
    assert!(matches!(events(&mut displays).as_slice(), [Event::Opened { display, .. }] if *display == t1));
    let image = front(&mut displays, "t1");
    save_png_zoomed(&image, "d6_term", 4);
    let cells = Cells::of(&image, 12, 3);
    let (orange, green, black) = (0xFF7F00, 0x00FF00, 0x000000);
    for col in 0..5 {
        cells.assert(&image, col, 0, Some(orange), black);
    }
    cells.assert(&image, 5, 0, None, black);
    cells.assert(&image, 0, 1, Some(orange), black);
    cells.assert(&image, 1, 1, Some(orange), black);
    for col in 2..8 {
        cells.assert(&image, col, 1, None, black); // the tab's spaces
    }
    cells.assert(&image, 8, 1, Some(orange), black);
    cells.assert(&image, 0, 2, Some(green), black);
    cells.assert(&image, 1, 2, Some(black), orange);
    cells.assert(&image, 2, 2, None, black);
    // The margins are the window's back colour.
    assert!(image.row(0).iter().all(|&p| p == black));

    // PC_KEY: nothing typed → 0; "a" typed in that window within 100 ms → 0x61.
    let now = Instant::now();
    let reply = |displays: &mut Displays, line: &str, at: Instant| {
        displays.handle_line(line.as_bytes(), at).unwrap();
        match events(displays).as_slice() {
            [
                Event::Reply {
                    display,
                    request,
                    reply,
                },
            ] => {
                assert_eq!(*display, t1);
                (*request, reply.as_bytes().to_vec())
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        reply(&mut displays, "`t1 PC_KEY", now),
        (Request::Key, vec![0, 0, 0, 0])
    );
    displays.handle_key(t1, Key::Byte(b'a'), now);
    let later = now + Duration::from_millis(40);
    assert_eq!(
        reply(&mut displays, "`t1 PC_KEY", later),
        (Request::Key, vec![0x61, 0, 0, 0])
    );
    assert_eq!(
        reply(&mut displays, "`t1 PC_KEY", later),
        (Request::Key, vec![0, 0, 0, 0]),
        "read once"
    );

    // PC_MOUSE: outside the text area → $03FFFFFF, $FFFFFFFF.
    let outside = vec![0xFF, 0xFF, 0xFF, 0x03, 0xFF, 0xFF, 0xFF, 0xFF];
    assert_eq!(
        reply(&mut displays, "`t1 PC_MOUSE", now),
        (Request::Mouse, outside.clone())
    );
    displays.handle_pointer(t1, Some((1, 1)), Buttons::default());
    assert_eq!(
        reply(&mut displays, "`t1 PC_MOUSE", now),
        (Request::Mouse, outside),
        "on the margin"
    );
    // On cell col 2, row 1 (a tab space over black), no buttons.
    let (x, y) = (cells.margin + 2 * cells.width + 1, cells.margin + cells.height + 1);
    displays.handle_pointer(t1, Some((x as i32, y as i32)), Buttons::default());
    assert_eq!(
        reply(&mut displays, "`t1 PC_MOUSE", now),
        (Request::Mouse, vec![0x02, 0x20, 0, 0, 0, 0, 0, 0])
    );
    // Over the orange cell of "I" (col 1, row 2), left button down, wheel up.
    let (x, y) = (cells.margin + cells.width, cells.margin + 2 * cells.height);
    displays.handle_pointer(
        t1,
        Some((x as i32, y as i32)),
        Buttons {
            left: true,
            ..Buttons::default()
        },
    );
    displays.handle_wheel(t1, true, now);
    let (_, bytes) = reply(&mut displays, "`t1 PC_MOUSE", now);
    let long = u32::from_le_bytes(bytes[..4].try_into().unwrap());
    assert_eq!(long, 1 | (2 << 13) | (1 << 26) | (1 << 28));
    assert_eq!(
        &bytes[4..],
        [0x00, 0x7F, 0xFF, 0x00],
        "the pixel: $00FF7F00 little-endian"
    );
}

#[test]
fn d7_term_lazy_wrap_scroll_and_colour_keywords() {
    let mut displays = Displays::new();
    feed(&mut displays, &["`term t2 size 4 2", "`t2 'ABCDEFGHIJ'"]);
    let image = front(&mut displays, "t2");
    save_png_zoomed(&image, "d7_term_scrolled", 4);
    let cells = Cells::of(&image, 4, 2);
    let (orange, black) = (0xFF7F00, 0x000000);
    for col in 0..4 {
        cells.assert(&image, col, 0, Some(orange), black); // EFGH
    }
    cells.assert(&image, 0, 1, Some(orange), black); // I
    cells.assert(&image, 1, 1, Some(orange), black); // J
    cells.assert(&image, 2, 1, None, black);
    // "EFGH" on row 0 is drawn as "E" … : compare with a TERM that printed "EFGH" directly.
    feed(&mut displays, &["`term ref size 4 2", "`ref 'EFGH' 'IJ'"]);
    assert_eq!(front(&mut displays, "ref"), image, "the scrolled picture is EFGH / IJ");

    feed(&mut displays, &["`t2 0 YELLOW BLACK 'Y'"]);
    let image = front(&mut displays, "t2");
    save_png_zoomed(&image, "d7_term_yellow", 4);
    cells.assert(&image, 0, 0, Some(0xFFFF09), black);
    for (col, row) in [(1, 0), (2, 0), (3, 0), (0, 1), (1, 1)] {
        cells.assert(&image, col, row, None, black);
    }
}

#[test]
fn term_colour_keywords() {
    // v52 on: a colour name sets the text colour and, when a colour follows, the cell colour; a brightness is
    // read first; BACKCOLOR sets the cell colour alone; the pairs 4–7 reset both.
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &[
            "`term c size 8 5",
            "`c RED 'r' GREEN BLUE 'g' YELLOW 4 'y' 13 CYAN 15 MAGENTA 'c' BACKCOLOR GRAY 'b' ORANGE 0 'o'",
            "`c 13 WHITE BLACK 'w' BLACK WHITE 'k' BLUE $00FF00 'n' BLUE 8 $00FF00 'm' 13 5 'p' 6 'q' 13 RED 65 'A' RED 8 65 'B'",
        ],
    );
    let image = front(&mut displays, "c");
    save_png_zoomed(&image, "term_colour_keywords", 4);
    let cells = Cells::of(&image, 8, 5);
    let named = |key, brightness| sluicegate_p2_display::color::named(key, brightness).unwrap();
    use sluicegate_p2_display::Keyword::{Blue, Cyan, Gray, Green, Magenta, Orange, Red, Yellow};
    cells.assert(&image, 0, 0, Some(named(Red, 8)), 0); // RED alone keeps the black cell
    cells.assert(&image, 1, 0, Some(named(Green, 8)), named(Blue, 8));
    cells.assert(&image, 2, 0, Some(named(Yellow, 4)), named(Blue, 8)); // 4 is YELLOW's brightness, not a code
    cells.assert(&image, 0, 1, Some(named(Cyan, 15)), named(Magenta, 8));
    cells.assert(&image, 1, 1, Some(named(Cyan, 15)), named(Gray, 8));
    cells.assert(&image, 2, 1, Some(named(Orange, 0)), named(Gray, 8)); // ORANGE 0 is black
    cells.assert(&image, 0, 2, Some(0xFFFFFF), 0x000000);
    cells.assert(&image, 1, 2, Some(0x000000), 0xFFFFFF);
    // A number right after a name is its brightness ($00FF00 & 15 = 0: black), so the cell stays white; after a
    // brightness, a number is the cell colour (RGB24).
    cells.assert(&image, 2, 2, Some(0x000000), 0xFFFFFF);
    cells.assert(&image, 3, 2, Some(named(Blue, 8)), 0x00FF00);
    cells.assert(&image, 0, 3, Some(0x000000), 0xFF7F00); // code 5: pair 1
    cells.assert(&image, 1, 3, Some(0x00FF00), 0x000000); // code 6: pair 2
    // RED 65: 65 is RED's brightness (65 & 15 = 1), not "A" and not a cell colour; RED 8 65 makes it the cell
    // colour $000041.
    cells.assert(&image, 0, 4, Some(named(Red, 1)), 0x000000);
    cells.assert(&image, 1, 4, Some(named(Red, 8)), 0x000041);
}

#[test]
fn term_tab_on_a_narrow_grid_stops_at_the_row_end() {
    // PNut spins forever here (no column of a 6-wide grid is a multiple of 8 after the first space).
    let mut displays = Displays::new();
    feed(&mut displays, &["`term t size 6 3", "`t 'ab' 9 'c'"]);
    let image = front(&mut displays, "t");
    let cells = Cells::of(&image, 6, 3);
    cells.assert(&image, 5, 0, None, 0);
    cells.assert(&image, 0, 1, Some(0xFF7F00), 0); // "c" wrapped lazily to the next row
}

#[test]
fn term_update_mode_backspace_and_cell_colours() {
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &["`term u size 4 2 update color $FFFFFF $0000FF", "`u 'ab' 8 'c'"],
    );
    let image = front(&mut displays, "u");
    let cells = Cells::of(&image, 4, 2);
    cells.assert(&image, 0, 0, None, 0);
    assert_eq!(displays.find("u").unwrap().frames(), 0, "UPDATE mode: nothing shown");
    feed(&mut displays, &["`u update"]);
    let image = front(&mut displays, "u");
    // Backspace moved back over "b" without erasing; "c" replaced it. COLOR set pair 0 to white on blue.
    cells.assert(&image, 0, 0, Some(0xFFFFFF), 0x0000FF);
    cells.assert(&image, 1, 0, Some(0xFFFFFF), 0x0000FF);
    cells.assert(&image, 2, 0, None, 0);
    // BACKCOLOR sets the cell colour of what follows; CLEAR (code 0) shows at once even in UPDATE mode.
    feed(&mut displays, &["`u 1 backcolor red 'x' update"]);
    cells.assert(&front(&mut displays, "u"), 0, 0, Some(0xFFFFFF), 0xFF0909);
    feed(&mut displays, &["`u 0"]);
    let image = front(&mut displays, "u");
    cells.assert(&image, 0, 0, None, 0);
    cells.assert(&image, 1, 0, None, 0);
    // Backspace at 0,0 stays; from column 0 it goes to the end of the row above.
    feed(&mut displays, &["`u 8 3 1 8 'z' update"]);
    let image = front(&mut displays, "u");
    cells.assert(&image, 3, 0, Some(0xFFFFFF), 0xFF0909);
}
