//! PLOT (docs/p2-displays.md A.7): coordinates, the box pixel rule, polar, UPDATE, sprites, layers, text, and
//! PC_MOUSE's bottom-up y; plus a composed picture to look at.

mod common;

use std::time::Instant;

use common::{events, feed, front, id, save_png, save_png_zoomed};
use sluicegate_p2_display::color::named;
use sluicegate_p2_display::{Buttons, Displays, Event, Framebuffer, Keyword, Request, WindowType};

fn lit(image: &Framebuffer) -> Vec<(u32, u32)> {
    let mut v = Vec::new();
    for y in 0..image.height() {
        for x in 0..image.width() {
            if image.get(x, y) != Some(0) {
                v.push((x, y));
            }
        }
    }
    v
}

#[test]
fn boxes_in_maths_coordinates() {
    let mut displays = Displays::new();
    feed(&mut displays, &["`plot p size 64 64", "`p set 20 20 box 7 5"]);
    let image = front(&mut displays, "p");
    // (20, 20) y-up is screen (20, 63 − 20) = (20, 43); 7×5 covers x 17..=23, y 41..=45, in the default cyan.
    let expected: Vec<(u32, u32)> = (41..=45).flat_map(|y| (17..=23).map(move |x| (x, y))).collect();
    assert_eq!(lit(&image), expected);
    assert!(expected.iter().all(|&(x, y)| image.get(x, y) == Some(0x00FFFF)));
    // CARTESIAN 1: y down from the top; ORIGIN moves (0, 0).
    feed(&mut displays, &["`p clear cartesian 1 origin 10 5 set 0 0 red box 3 3"]);
    let image = front(&mut displays, "p");
    let expected: Vec<(u32, u32)> = (4..=6).flat_map(|y| (9..=11).map(move |x| (x, y))).collect();
    assert_eq!(lit(&image), expected);
    assert_eq!(image.get(10, 5), Some(0xFF0909), "RED is RGBI8X-computed");
}

#[test]
fn polar_lines_and_update_mode() {
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &[
            "`plot p size 64 64 update",
            "`p origin 32 32 polar set 20 $40000000 dot 3",
        ],
    );
    assert!(
        lit(&front(&mut displays, "p")).is_empty(),
        "UPDATE mode: nothing shown yet"
    );
    feed(&mut displays, &["`p update"]);
    let image = front(&mut displays, "p");
    // A quarter turn counter-clockwise from east, 20 up from the origin: screen (32, 63 − 32 − 20).
    assert_eq!(image.get(32, 11), Some(0x00FFFF));
    assert_eq!(displays.find("p").unwrap().frames(), 1);
    // A line from the origin east, 1 px wide, shown at the next UPDATE only.
    feed(&mut displays, &["`p set 0 0 line 20 0"]);
    assert_eq!(front(&mut displays, "p").get(40, 31), Some(0), "not yet");
    feed(&mut displays, &["`p update"]);
    let image = front(&mut displays, "p");
    for x in 33..52 {
        assert_eq!(image.get(x, 31), Some(0x00FFFF), "({x}, 31)");
    }
}

#[test]
fn sprites_and_opacity() {
    let mut displays = Displays::new();
    // A 2×2 sprite: palette 0 transparent, 1 opaque red, 2 half-transparent green.
    feed(
        &mut displays,
        &[
            "`plot p size 32 32",
            "`p spritedef 7 2 2 1 0 2 1 $00000000 $FFFF0000 $8000FF00",
            "`p cartesian 1 set 4 4 sprite 7 0 3",
        ],
    );
    let image = front(&mut displays, "p");
    save_png_zoomed(&image, "plot_sprite", 8);
    // Scale 3: pixel (col, row) covers x 4 + 3col ..= 4 + 3col + 2 (the box rule about 4 + 1 + 3col).
    assert_eq!(image.get(4, 4), Some(0xFF0000));
    assert_eq!(image.get(6, 6), Some(0xFF0000));
    assert_eq!(image.get(7, 4), Some(0), "palette 0 has alpha 0");
    let green = image.get(4, 7).unwrap();
    assert!(
        green & 0xFF00FF == 0 && (0xA0..0xC0).contains(&(green >> 8 & 0xFF)),
        "{green:06X}: ~half green, gamma"
    );
    // Mirrored (orientation 1).
    feed(&mut displays, &["`p clear set 4 4 sprite 7 1 3"]);
    let image = front(&mut displays, "p");
    assert_eq!((image.get(7, 4), image.get(4, 4)), (Some(0xFF0000), Some(0)));
}

#[test]
fn sprites_in_all_eight_orientations() {
    // A 3×2 sprite, R G B over Y M C, at scale 6 in each orientation, side by side from x = 4 + 28·o.
    let mut displays = Displays::new();
    let mut place = String::from("`p cartesian 1");
    for orientation in 0..8 {
        place += &format!(" set {} 4 sprite 1 {orientation} 6", 4 + 28 * orientation);
    }
    feed(
        &mut displays,
        &[
            "`plot p size 232 52 backcolor $303030",
            "`p spritedef 1 3 2 1 2 3 4 5 6 $00000000 $FFFF0000 $FF00FF00 $FF0000FF $FFFFFF00 $FFFF00FF $FF00FFFF",
            &place,
            // Half alpha at full opacity, and full alpha at opacity 128: the same blend.
            "`p spritedef 2 1 1 1 $00000000 $80FF0000 spritedef 3 1 1 1 $00000000 $FFFF0000",
            "`p set 4 36 sprite 2 0 6 set 16 36 sprite 3 0 6 128",
        ],
    );
    let image = front(&mut displays, "p");
    save_png_zoomed(&image, "plot_sprite_orientations", 3);
    let colour = |c: char| match c {
        'R' => 0xFF0000,
        'G' => 0x00FF00,
        'B' => 0x0000FF,
        'Y' => 0xFFFF00,
        'M' => 0xFF00FF,
        _ => 0x00FFFF,
    };
    // Rows of the shown sprite, from the orientation's meaning: as is, mirrored in x, in y, turned 180°,
    // transposed, a quarter turn anticlockwise, a quarter turn clockwise, transposed across the other diagonal.
    let shown = [
        "RGB/YMC", "BGR/CMY", "YMC/RGB", "CMY/BGR", "RY/GM/BC", "BC/GM/RY", "YR/MG/CB", "CB/MG/YR",
    ];
    for (orientation, rows) in shown.iter().enumerate() {
        for (row, cells) in rows.split('/').enumerate() {
            for (col, c) in cells.chars().enumerate() {
                let (x0, y0) = (4 + 28 * orientation as u32 + 6 * col as u32, 4 + 6 * row as u32);
                for (x, y) in (y0..y0 + 6).flat_map(|y| (x0..x0 + 6).map(move |x| (x, y))) {
                    assert_eq!(image.get(x, y), Some(colour(c)), "orientation {orientation} ({x},{y})");
                }
            }
        }
        let (width, height) = if orientation < 4 { (18, 12) } else { (12, 18) };
        let x0 = 4 + 28 * orientation as u32;
        assert_eq!(
            image.get(x0 + width, 4),
            Some(0x303030),
            "orientation {orientation}: nothing right of it"
        );
        assert_eq!(
            image.get(x0, 4 + height),
            Some(0x303030),
            "orientation {orientation}: nothing below it"
        );
    }
    // Gamma-2 blend of red over $30 at 128: √((48²·127 + 255²·128)/256) = 183.4, √(48²·127/256) = 33.8.
    assert_eq!(image.get(6, 38), Some(0xB72222));
    assert_eq!(image.get(18, 38), Some(0xB72222));
}

#[test]
fn layers_come_from_the_source_or_stop_the_message() {
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &["`plot p size 32 32", "`p layer 1 'pic.bmp' set 1 1 box 3 3"],
    );
    let image = front(&mut displays, "p");
    assert!(lit(&image).is_empty(), "a refused LAYER skips the rest of the message");
    let refused: Vec<_> = events(&mut displays)
        .into_iter()
        .filter(|e| matches!(e, Event::LayerRefused { layer: 1, file, .. } if file == "pic.bmp"))
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(displays.stats().of(WindowType::Plot).layers_refused, 1);

    displays.set_layer_source(Box::new(|file: &str| {
        (file == "pic.bmp").then(|| Framebuffer::from_pixels(2, 2, vec![1, 2, 3, 4]).unwrap())
    }));
    feed(
        &mut displays,
        &["`p layer 1 'pic.bmp' crop 1 auto 10 20", "`p crop 1 1 0 1 2 5 6"],
    );
    let image = front(&mut displays, "p");
    assert_eq!(
        [
            image.get(10, 20),
            image.get(11, 20),
            image.get(10, 21),
            image.get(11, 21)
        ],
        [Some(1), Some(2), Some(3), Some(4)]
    );
    assert_eq!(
        (image.get(5, 6), image.get(5, 7)),
        (Some(2), Some(4)),
        "CROP l t w h x y"
    );
    let _ = displays.handle_line(b"`p layer 2 'x.png'", Instant::now());
    let _ = displays.handle_line(b"`p layer 2 '../pic.bmp'", Instant::now());
    assert_eq!(
        displays.stats().of(WindowType::Plot).layers_refused,
        3,
        "not .bmp, or a path"
    );
}

#[test]
fn far_positions_wrap_as_pnuts_32_bit_arithmetic_does() {
    // PLOT_GetXY is `height − 1 − originY − y` in 32-bit integers that wrap: an origin and a position of −2³¹
    // each add 2³¹, which wraps back to the bottom row.
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &[
            "`plot p size 64 64",
            "`p origin 0 -2147483648 set 5 -2147483648 box 1 1",
        ],
    );
    assert_eq!(lit(&front(&mut displays, "p")), [(5, 63)]);
    // The same wrap for DOT's 1/256-pixel coordinates, and for x with CARTESIAN's flipped x.
    feed(
        &mut displays,
        &[
            "`p clear set 9 -2147483648 dot",
            "`p cartesian 1 1 origin -2147483648 0 set -2147483648 3 box 1 1",
        ],
    );
    assert_eq!(lit(&front(&mut displays, "p")), [(63, 3), (9, 63)]);
    // Far off the canvas: sprites, text and shapes draw nothing there, and nothing panics.
    feed(
        &mut displays,
        &[
            "`p clear spritedef 0 2 2 1 1 1 1 $FFFFFFFF $FFFF0000 origin 0 0",
            "`p set 2147483647 2147483647 sprite 0 7 64 text 'far' circle 9 dot 9",
            "`p set -2147483648 -2147483648 sprite 0 3 64 text 200 $FF 'far' obox 9 9 2 2",
            "`p polar set -2147483648 $80000000 box 1 1",
        ],
    );
    assert_eq!(lit(&front(&mut displays, "p")), []);
}

#[test]
fn huge_frame_thickness_draws_what_pnuts_wrapping_sums_draw() {
    // A BOX at screen (10, 53), 10×10: columns 5..=14, rows 48..=57. A thickness of 2³⁰ doubles to −2³¹, so the
    // frame is not solid; its top piece runs from row 48 down past the canvas and its bottom piece from far above
    // down to row 57: the column is filled over the whole height. (And it takes no 2³⁰ empty rows to get there.)
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &["`plot p size 64 64", "`p set 10 10 box 10 10 $40000000"],
    );
    let column: Vec<(u32, u32)> = (0..64).flat_map(|y| (5..=14).map(move |x| (x, y))).collect();
    assert_eq!(lit(&front(&mut displays, "p")), column);
    // 2³¹ − 1 doubles to −2: the top piece's last row wraps below its first (no rows), the bottom piece covers
    // rows up to 57, and the side pieces start at a wrapped, negative row.
    feed(&mut displays, &["`p clear set 10 10 box 10 10 $7FFFFFFF"]);
    let down_to_57: Vec<(u32, u32)> = (0..=57).flat_map(|y| (5..=14).map(move |x| (x, y))).collect();
    assert_eq!(lit(&front(&mut displays, "p")), down_to_57);
    // Rounded shapes with such thicknesses are solid (the inner radius is ≤ 0): the filled circle.
    feed(&mut displays, &["`p clear circle 9 $7FFFFFFF"]);
    feed(&mut displays, &["`plot q size 64 64", "`q set 10 10 circle 9"]);
    assert_eq!(front(&mut displays, "p"), front(&mut displays, "q"));
}

#[test]
fn pc_mouse_reads_y_from_the_bottom() {
    let mut displays = Displays::new();
    feed(&mut displays, &["`plot p size 64 32 dotsize 2", "`p set 0 0 box 1 1"]);
    let p = id(&displays, "p");
    events(&mut displays);
    // The client is 128×64; the bottom-left client pixel (0, 63) reads as (0, 64 − 63) / 2 = (0, 0).
    displays.handle_pointer(p, Some((0, 63)), Buttons::default());
    displays.handle_line(b"`p pc_mouse", Instant::now()).unwrap();
    match events(&mut displays).as_slice() {
        [
            Event::Reply {
                request: Request::Mouse,
                reply,
                ..
            },
        ] => {
            assert_eq!(
                reply.as_bytes(),
                [0, 0, 0, 0, 0xFF, 0xFF, 0x00, 0x00],
                "(0,0) over the cyan dot"
            );
        }
        other => panic!("{other:?}"),
    }
    // The top row reads h = 32: PNut measures from the bottom edge without subtracting one.
    displays.handle_pointer(p, Some((9, 0)), Buttons::default());
    displays.handle_line(b"`p pc_mouse", Instant::now()).unwrap();
    match events(&mut displays).as_slice() {
        [Event::Reply { reply, .. }] => {
            let long = u32::from_le_bytes(reply.as_bytes()[..4].try_into().unwrap());
            assert_eq!((long & 0x1FFF, (long >> 13) & 0x1FFF), (4, 32));
        }
        other => panic!("{other:?}"),
    }
    // The hover read-out uses the same mapping for PLOT.
    let display = displays.get(p).unwrap();
    assert_eq!(display.hover_text(0, 63).as_deref(), Some("0,0"));
    assert_eq!(display.hover_text(9, 0).as_deref(), Some("4,32"));
    feed(&mut displays, &["`plot q size 32 32 hidexy"]);
    assert_eq!(displays.find("q").unwrap().hover_text(1, 1), None, "HIDEXY");
    // Outside the client area there is no cross cursor (and a far pointer position must not overflow).
    let display = displays.get(p).unwrap();
    for (x, y) in [(128, 0), (0, 64), (-1, 5), (i32::MIN, i32::MIN), (i32::MAX, 0)] {
        assert_eq!(display.hover_text(x, y), None, "({x}, {y})");
    }
}

#[test]
fn a_plot_with_shapes_and_text() {
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &[
            "`plot demo title 'PLOT demo' size 320 240 backcolor $101820",
            "`demo set 60 180 cyan circle 80 green circle 80 3 set 160 180 orange oval 100 60 0 160",
            "`demo set 260 180 magenta obox 80 60 16 16 yellow obox 80 60 16 16 4",
            "`demo set 20 20 white linesize 3 line 300 120 red line 300 20 8 blue line 20 120 1",
            "`demo set 160 100 yellow box 60 30 2 gray 12 text 16 1 'Hello P2'",
            "`demo set 160 60 white text 10 $25 'left' set 160 40 text 12 $3E 'right' textangle 30 set 80 70 text 'tilted'",
            "`demo set 20 230 red 15 text 8 $26 'top-left'",
        ],
    );
    let image = front(&mut displays, "demo");
    let path = save_png(&image, "plot_shapes_text");
    assert!(path.exists());
    // The circle's centre (60, 180) y-up = screen (60, 59) is cyan; the green frame is around it.
    assert_eq!(image.get(60, 59), Some(0x09FFFF));
    assert_eq!(
        image.get(60, 20),
        Some(0x09FF09),
        "3-pixel frame at the top of the 80 circle"
    );
    assert_eq!(image.get(60, 23), Some(0x09FFFF), "inside the frame");
    assert_eq!(image.get(0, 0), Some(0x101820), "back colour");
    let gray12 = named(Keyword::Gray, 12).unwrap();
    let text_pixels = (120..200)
        .flat_map(|x| (125..150).map(move |y| (x, y)))
        .filter(|&(x, y)| image.get(x, y) == Some(gray12));
    assert!(text_pixels.count() > 20, "'Hello P2' drawn in GRAY 12");
}
