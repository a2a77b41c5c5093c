//! LOGIC, SCOPE, SCOPE_XY, FFT, SPECTRO and MIDI (docs/p2-displays.md A.2–A.6, A.10): the worked examples D8,
//! D10, D13 and D15, the FFT properties A.5 states, SPECTRO columns, triggers and holdoff, POLAR and LOGSCALE,
//! and the lazy drawing (a burst drawn once equals drawing every refresh). Pixel-exact where D gives pixels,
//! by the stated properties otherwise. Each picture is also written under the test tmp dir (`pictures/`).

mod common;

use std::time::Instant;

use common::{events, feed, front, id, save_png, save_png_zoomed};
use proptest::prelude::*;
use sluicegate_p2_display::color::{ColorMode, HUE, alpha_blend, translate};
use sluicegate_p2_display::{Buttons, Displays, DropReason, Event, Framebuffer, Request};

const GREEN: u32 = 0x09_FF09; // named GREEN (RGBI8X, brightness 8)
const RED: u32 = 0xFF_0909;
const GRID: u32 = 0x40_4040;

/// DejaVu Sans Mono at 10 pt: ChrWidth 8, ChrHeight 15 (the crate's text metrics).
const CW: u32 = 8;
const CH: u32 = 15;
/// LOGIC levels above a row's bottom: high 13/16, low 3/16 of ChrHeight (integer shifts, as PNut).
const HIGH_LEVEL: u32 = (CH * 13) >> 4;
const LOW_LEVEL: u32 = (CH * 3) >> 4;

fn pixel(image: &Framebuffer, x: u32, y: u32) -> u32 {
    image.get(x, y).unwrap_or_else(|| panic!("({x},{y}) outside {image:?}"))
}

/// Whether some pixel of the rectangle is near `color` (text is anti-aliased: its strongest pixels reach it).
fn has_near(image: &Framebuffer, x0: u32, y0: u32, w: u32, h: u32, color: u32) -> bool {
    (y0..y0 + h).any(|y| (x0..x0 + w).any(|x| near(pixel(image, x, y), color, 0x30)))
}

fn near(a: u32, b: u32, tolerance: u32) -> bool {
    [16, 8, 0]
        .iter()
        .all(|s| ((a >> s) & 0xFF).abs_diff((b >> s) & 0xFF) <= tolerance)
}

fn numbers(values: impl IntoIterator<Item = i64>) -> String {
    values.into_iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" ")
}

mod scope {
    use super::*;

    fn d8() -> Displays {
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &["`scope s1 size 256 128 samples 256", "`s1 'A' 0 255 128 0 %1111 GREEN"],
        );
        displays
    }

    #[test]
    fn d8_ramp() {
        let mut displays = d8();
        feed(&mut displays, &[&format!("`s1 {}", numbers(0..256))]);
        let image = front(&mut displays, "s1");
        save_png_zoomed(&image, "d8_scope_ramp", 3);
        // Margins: left ChrWidth, top 2·ChrHeight, right and bottom ChrWidth.
        assert_eq!((image.width(), image.height()), (CW + 256 + CW, 2 * CH + 128 + CW));
        let (left, top) = (CW, 2 * CH);
        // Sample v at plot-x v, plot-y 127 − v·127/255: in each column the trace is brightest there, in the
        // channel colour, and nothing is drawn three rows away. (Columns left of 30 carry the "+0" text.)
        for v in (30..254).step_by(7) {
            let expected = top + 127 - (v * 127 + 127) / 255;
            let column: Vec<u32> = (top..top + 128).map(|y| pixel(&image, left + v, y)).collect();
            let brightest = top + (0..128).max_by_key(|&i| (column[i as usize] >> 8) & 0xFF).unwrap();
            assert!(
                brightest.abs_diff(expected) <= 1,
                "v {v}: brightest at row {brightest}, not {expected}"
            );
            assert!(
                near(pixel(&image, left + v, brightest), GREEN, 0x10),
                "v {v}: trace colour"
            );
            for y in [brightest - 3, brightest + 3] {
                assert_eq!(pixel(&image, left + v, y), 0, "v {v}: nothing at row {y}");
            }
        }
        // Grey frame one pixel outside the plot.
        for (x, y) in [(left - 1, 100), (left + 256, 100), (150, top - 1), (150, top + 128)] {
            assert_eq!(pixel(&image, x, y), GRID, "frame at ({x},{y})");
        }
        // Dotted guides at plot-y 127 and 0: three pixels of GREEN blended 25 % into black, three of black.
        let guide = alpha_blend(GREEN, 0, 0x40);
        for y in [top + 127, top] {
            assert_eq!(pixel(&image, left + 150, y), guide, "guide row {y}");
            assert_eq!(pixel(&image, left + 153, y), 0, "guide gap row {y}");
        }
        assert_eq!(
            displays.get(id(&displays, "s1")).unwrap().frames(),
            256,
            "RATE 1: a refresh per set"
        );
    }

    #[test]
    fn d8_labels_and_value_text() {
        let mut displays = d8();
        feed(&mut displays, &["`s1 clear"]);
        let image = front(&mut displays, "s1");
        save_png_zoomed(&image, "d8_scope_blank", 3);
        let (left, top) = (CW, 2 * CH);
        let guide = alpha_blend(GREEN, 0, 0x40);
        // "A" bold italic in the channel colour in the top margin; "+255" at the top guide, "+0" at the bottom.
        assert!(has_near(&image, left, CH / 2, CW, CH, GREEN), "label A");
        assert!(has_near(&image, left + CW / 2, top - CH / 2, 4 * CW, CH, guide), "+255");
        assert!(
            has_near(&image, left + CW / 2, top + 127 - CH / 2, 2 * CW, CH, guide),
            "+0"
        );
        assert!(
            !has_near(&image, left + 6 * CW, top - CH / 2, 4 * CW, CH / 2, guide),
            "no text past +255"
        );
        // The value text's opaque cell interrupts the frame below "+0".
        assert!((left + CW / 2..left + CW / 2 + 2 * CW).all(|x| pixel(&image, x, top + 128) != GRID));
        assert_eq!(pixel(&image, left + 200, top + 128), GRID);
    }

    #[test]
    fn data_before_any_channel_is_not_displayed() {
        let mut displays = Displays::new();
        feed(&mut displays, &["`scope s", "`s 1 2 3 4 5"]);
        assert_eq!(displays.get(id(&displays, "s")).unwrap().frames(), 0);
        let image = front(&mut displays, "s");
        assert!(image.pixels().iter().all(|&p| p == 0 || p == GRID));
    }

    #[test]
    fn a_set_does_not_span_messages() {
        // PNut's set buffer is local to one message: a trailing partial set is lost.
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &["`scope s", "`s 'a' 0 10 100 0 0 'b' 0 10 100 0 0", "`s 1 2 3", "`s 4"],
        );
        assert_eq!(displays.get(id(&displays, "s")).unwrap().frames(), 1);
    }

    /// A SCOPE of 16 samples on one channel 0..100, its trigger set by `trigger`.
    fn triggered(trigger: &str) -> Displays {
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &["`scope t samples 16", "`t 'a' 0 100 100 0 0", &format!("`t {trigger}")],
        );
        displays
    }

    fn frames(displays: &Displays) -> u64 {
        displays.get(id(displays, "t")).unwrap().frames()
    }

    #[test]
    fn trigger_arms_below_and_fires_above_then_holds_off() {
        let mut displays = triggered("trigger 0 10 50 0 holdoff 2");
        feed(&mut displays, &[&format!("`t {}", numbers([0; 15]))]);
        assert_eq!(frames(&displays), 0, "the buffer is not full yet");
        feed(&mut displays, &["`t 0"]);
        assert_eq!(frames(&displays), 0, "armed, not fired");
        feed(&mut displays, &["`t 30"]);
        assert_eq!(frames(&displays), 0, "between arm and fire");
        feed(&mut displays, &["`t 60"]);
        assert_eq!(frames(&displays), 1, "fired");
        feed(&mut displays, &["`t 60 70 80"]);
        assert_eq!(frames(&displays), 1, "not armed again");
        // HOLDOFF 2: alternating arm/fire samples draw at each fire.
        feed(&mut displays, &["`t 0 60 0 60"]);
        assert_eq!(frames(&displays), 3);
    }

    #[test]
    fn default_holdoff_is_the_sample_count() {
        let mut displays = triggered("trigger 0 10 50 0");
        let pattern: Vec<i64> = (0..64).map(|i| if i % 2 == 0 { 0 } else { 60 }).collect();
        feed(&mut displays, &[&format!("`t {}", numbers(pattern))]);
        // Full after 16 samples; fires at sample 16 (index 15 armed at 14); then one draw per 16 samples.
        assert_eq!(frames(&displays), 3);
    }

    #[test]
    fn falling_trigger_and_offset() {
        // fire < arm: arms at or above 50, fires at or below 10; offset 3 tests the sample 3 back.
        let mut displays = triggered("trigger 0 50 10 3 holdoff 2");
        feed(&mut displays, &[&format!("`t {}", numbers([100; 16]))]);
        feed(&mut displays, &["`t 0"]);
        assert_eq!(frames(&displays), 0, "the tested sample is still 100");
        feed(&mut displays, &["`t 0 0"]);
        assert_eq!(frames(&displays), 0);
        feed(&mut displays, &["`t 0"]);
        assert_eq!(frames(&displays), 1, "the 0 reached age 3");
    }

    #[test]
    fn auto_trigger_uses_the_buffered_range() {
        // AUTO: arm at a third of the range, fire at half: 0..90 arms at 30, fires at 45.
        let mut displays = triggered("trigger 0 auto 0 holdoff 2");
        feed(&mut displays, &[&format!("`t {} 90", numbers([0; 15]))]);
        assert_eq!(frames(&displays), 0, "90 is above arm");
        feed(&mut displays, &["`t 0"]);
        assert_eq!(frames(&displays), 0, "armed");
        feed(&mut displays, &["`t 40"]);
        assert_eq!(frames(&displays), 0, "below half the range");
        feed(&mut displays, &["`t 50"]);
        assert_eq!(frames(&displays), 1);
    }

    #[test]
    fn trigger_mark_blinks_at_the_offset() {
        let mut displays = triggered("trigger 0 10 50 7 holdoff 2");
        feed(&mut displays, &[&format!("`t {}", numbers([0; 16]))]);
        let mark = alpha_blend(0x00_FF00, 0, 0x80);
        // x = right − round((offset + 1) / SAMPLES · width) = 8 + 256 − 128.
        let x = CW + 256 - 128;
        let mut seen = Vec::new();
        for _ in 0..2 {
            feed(&mut displays, &["`t 60 60 60 60 60 60 60 60 0 0 0 0 0 0 0 0"]);
            let image = front(&mut displays, "t");
            seen.push((pixel(&image, x, 2 * CH), pixel(&image, x, 2 * CH + 3)));
        }
        save_png_zoomed(&front(&mut displays, "t"), "scope_trigger_mark", 2);
        assert_eq!(seen[0], (mark, 0), "pen colour, then a gap in the back colour");
        assert_eq!(seen[1], (0, mark), "the next trigger swaps pen and gap");
        // TRIGGER −1 turns it off: every set draws again.
        let before = frames(&displays);
        feed(&mut displays, &["`t trigger -1", "`t 1 2 3"]);
        assert_eq!(frames(&displays), before + 3);
        let image = front(&mut displays, "t");
        assert_ne!(pixel(&image, x, 2 * CH), mark, "no mark untriggered");
    }

    #[test]
    fn rate_and_clear() {
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &["`scope s rate 4", "`s 'a' 0 10 100 0 0", "`s 1 2 3 4 5 6 7 8 9"],
        );
        assert_eq!(displays.get(id(&displays, "s")).unwrap().frames(), 2);
        feed(&mut displays, &["`s clear", "`s 1 2 3"]);
        assert_eq!(
            displays.get(id(&displays, "s")).unwrap().frames(),
            3,
            "CLEAR shows the blank and restarts the count"
        );
        feed(&mut displays, &["`s 4"]);
        assert_eq!(displays.get(id(&displays, "s")).unwrap().frames(), 4);
    }

    #[test]
    fn auto_range_scales_to_the_buffer() {
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &[
                "`scope s size 64 64 samples 16",
                "`s 'a' auto 64 0 %1100",
                "`s 1000 3000",
            ],
        );
        let image = front(&mut displays, "s");
        save_png_zoomed(&image, "scope_auto", 4);
        // Newest (3000) at the top right, previous (1000) at the bottom.
        let (left, top) = (CW, 2 * CH);
        assert_eq!(pixel(&image, left + 63, top), 0x00_FF00);
        assert_eq!(pixel(&image, left + 59, top + 63), 0x00_FF00);
    }

    #[test]
    fn pc_mouse_reports_client_pixels() {
        let mut displays = d8();
        let s1 = id(&displays, "s1");
        displays.handle_pointer(s1, Some((40, 50)), Buttons::default());
        feed(&mut displays, &["`s1 pc_mouse"]);
        let reply = events(&mut displays)
            .into_iter()
            .find_map(|e| match e {
                Event::Reply {
                    request: Request::Mouse,
                    reply,
                    ..
                } => Some(reply),
                _ => None,
            })
            .expect("a reply");
        assert_eq!(reply.as_bytes()[..4], (40u32 | (50 << 13)).to_le_bytes());
    }
}

mod logic {
    use super::*;

    /// The level drawn at x for channel row `row` (0 = bottom): high, low, or neither.
    fn level(image: &Framebuffer, x: u32, row: u32, color: u32) -> Option<bool> {
        let bottom = CH + 2 * CH - row * CH;
        let (high, low) = (bottom - HIGH_LEVEL, bottom - LOW_LEVEL);
        match (pixel(image, x, high) == color, pixel(image, x, low) == color) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        }
    }

    #[test]
    fn d13_two_labelled_channels() {
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &[
                "`logic la samples 16 spacing 8 'D0' 'D1'",
                "`la 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3",
            ],
        );
        let image = front(&mut displays, "la");
        save_png_zoomed(&image, "d13_logic", 4);
        // Left margin (longest label + 2)·ChrWidth; plot 128 × 2·ChrHeight; other margins ChrHeight.
        let left = 4 * CW;
        assert_eq!((image.width(), image.height()), (left + 128 + CH, CH + 2 * CH + CH));
        // Age k covers x ∈ [left + 128 − 8(k+1), left + 128 − 8k): newest right; D0 toggles every 8 px, D1 every 16.
        for k in 0..16u32 {
            let value = (15 - k) % 4;
            let x = left + 128 - 8 * (k + 1) + 4;
            assert_eq!(level(&image, x, 0, 0x00_FF00), Some(value & 1 == 1), "D0 age {k}");
            assert_eq!(level(&image, x, 1, 0xFF_0000), Some(value & 2 == 2), "D1 age {k}");
        }
        // Labels left of the plot, in the channel colours, D0 on the bottom row.
        assert!(
            has_near(&image, left - 3 * CW, 2 * CH, 2 * CW, CH, 0x00_FF00),
            "D0 label"
        );
        assert!(has_near(&image, left - 3 * CW, CH, 2 * CW, CH, 0xFF_0000), "D1 label");
        assert!(!has_near(&image, left - 3 * CW, CH, 2 * CW, CH, 0x00_FF00));
        // Grid frame: x = left and left + 128, from ChrHeight − ChrHeight/8 + 1.
        assert_eq!(pixel(&image, left, 30), GRID);
        assert_eq!(pixel(&image, left + 128, 30), GRID);
    }

    #[test]
    fn without_labels_32_channels() {
        let mut displays = Displays::new();
        feed(&mut displays, &["`logic l"]);
        let image = front(&mut displays, "l");
        assert_eq!(image.height(), 34 * CH);
        assert_eq!(image.width(), 4 * CW + 32 * 8 + CH, "labels up to \"31\"");
    }

    #[test]
    fn channel_counts_ranges_and_colours() {
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &["`logic l samples 8 'bus' 4 range 'c' 3 RED", "`l 5 5 5 5 5 5 5 21"],
        );
        let image = front(&mut displays, "l");
        save_png_zoomed(&image, "logic_bus", 4);
        // Rows: "bus" group of 4 (one bus, dim boundaries), then "c 0", "1", "2".
        assert_eq!(image.height(), (7 + 2) * CH);
        let left = 5 * CW; // longest label "bus" + 2
        let dim = (0x00_FF00 >> 2) & 0x3F_3F3F;
        // The bus boundaries: bottom at the bus's low level, top at its high level.
        let bottom = CH + 7 * CH;
        assert_eq!(pixel(&image, left + 20, bottom - LOW_LEVEL), dim);
        // Value 5 of 15: 5/15 of the way from low to high.
        let low = f64::from(bottom - LOW_LEVEL);
        let high = f64::from(bottom - 3 * CH - HIGH_LEVEL);
        let y = (low + (high - low) * 5.0 / 15.0).round() as u32;
        assert!(
            (y - 1..=y + 1).any(|y| near(pixel(&image, left + 20, y), 0x00_FF00, 0x30)),
            "bus level"
        );
        // Channel "c 0" = bit 4: high only for the newest sample (21 = 1_0101).
        let row = 4;
        let c_bottom = bottom - row * CH;
        assert_eq!(pixel(&image, left + 8 * 7 + 4, c_bottom - HIGH_LEVEL), RED);
        assert_eq!(pixel(&image, left + 8 * 6 + 4, c_bottom - LOW_LEVEL), RED);
    }

    #[test]
    fn trigger_on_a_pattern_with_holdoff() {
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &["`logic l samples 8 'a' 'b'", "`l trigger 3 3 1 holdoff 2"],
        );
        let frames = |d: &Displays| d.get(id(d, "l")).unwrap().frames();
        feed(&mut displays, &[&format!("`l {}", numbers([0; 8]))]);
        assert_eq!(frames(&displays), 0, "armed by a mismatch");
        feed(&mut displays, &["`l 1"]);
        assert_eq!(frames(&displays), 0, "masked bits must all match");
        feed(&mut displays, &["`l 3"]);
        assert_eq!(frames(&displays), 1, "fired on the match");
        feed(&mut displays, &["`l 3 3"]);
        assert_eq!(frames(&displays), 1, "not armed again");
        feed(&mut displays, &["`l 0 3"]);
        assert_eq!(frames(&displays), 2);
        let image = front(&mut displays, "l");
        save_png_zoomed(&image, "logic_trigger", 4);
        // The mark: dotted, `offset` samples from the right edge, from the plot top + 1 in runs of three; the
        // second trigger swapped the pen (back colour) and the gaps (grid colour). Rows 30–31 lie between the
        // channels' traces.
        let left = 3 * CW;
        let x = left + 64 - 8;
        assert_eq!((pixel(&image, x, 30), pixel(&image, x, 31)), (0, GRID));
        // Untriggered (mask 0): every RATE samples.
        feed(&mut displays, &["`l trigger 0 0", "`l 1 2 3"]);
        assert_eq!(frames(&displays), 5);
    }

    #[test]
    fn offset_zero_reads_pnuts_oldest_slot() {
        // PNut tests slot SamplePtr − offset of its 2048-sample ring: for offset 0 that is the sample 2048 back,
        // never written yet here, so it reads 0 and never matches 1.
        let mut displays = Displays::new();
        feed(&mut displays, &["`logic l samples 4 'a'", "`l trigger 1 1 0 holdoff 2"]);
        feed(&mut displays, &[&format!("`l {}", numbers((0..40).map(|i| i % 2)))]);
        assert_eq!(displays.get(id(&displays, "l")).unwrap().frames(), 0);
    }

    #[test]
    fn too_large_is_refused() {
        let mut displays = Displays::new();
        let dropped = displays
            .handle_line(b"`logic l samples 2047 spacing 32", Instant::now())
            .unwrap_err();
        assert_eq!(dropped.reason, DropReason::TooLarge);
        assert!(displays.is_empty());
    }
}

mod scope_xy {
    use super::*;

    fn is_dot(image: &Framebuffer, x: u32, y: u32, color: u32) -> bool {
        pixel(image, x, y) == color && pixel(image, x + 3, y) != color && pixel(image, x, y + 3) != color
    }

    #[test]
    fn d10_persistent_dots() {
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &[
                "`scope_xy xy size 100 range 100 samples 0 'P' RED",
                "`xy 0 0 50 0 0 50 -50 -50",
            ],
        );
        let image = front(&mut displays, "xy");
        save_png_zoomed(&image, "d10_scope_xy", 2);
        let side = 200 + 4 * CH;
        assert_eq!((image.width(), image.height()), (side, side));
        let c = side / 2;
        for (x, y) in [(c, c), (c + 50, c), (c, c - 50), (c - 50, c + 50)] {
            assert!(is_dot(&image, x, y, RED), "dot at ({x},{y})");
            // ~3 px across: the neighbours are partly red, two pixels out is background.
            let side_pixel = pixel(&image, x + 1, y + 1);
            assert!(
                side_pixel != RED && side_pixel >> 16 > 0x40,
                "anti-aliased edge at ({x},{y})"
            );
        }
        // The grid circle of diameter 201 (top and bottom at c ∓ 100) and the full crosshair.
        assert_eq!(pixel(&image, c + 20, c - 100), 0, "inside the ring's top is background");
        assert!(near(pixel(&image, c + 30, c - 100 + 4), GRID, 0x40) || pixel(&image, c, c - 100) == GRID);
        for y in [0, 10, side - 1] {
            assert_eq!(pixel(&image, c, y), GRID, "vertical axis at y {y}");
        }
        assert_eq!(pixel(&image, 3, c), GRID, "horizontal axis");
        // "r=100" right of the axis near the top; "P" top-left in red.
        assert!(has_near(&image, c + 2 * CW, CH / 2, 5 * CW, CH, GRID), "r=100");
        assert!(has_near(&image, CW, CW, CW, CH, RED), "label P");
        // Persistent until CLEAR.
        feed(&mut displays, &["`xy 20 20"]);
        let image = front(&mut displays, "xy");
        assert!(is_dot(&image, c, c - 50, RED) && is_dot(&image, c + 20, c - 20, RED));
        feed(&mut displays, &["`xy clear"]);
        let image = front(&mut displays, "xy");
        assert_eq!(pixel(&image, c + 50, c), GRID, "the dot on the axis is gone");
        assert_eq!(pixel(&image, c + 20, c - 20), 0);
    }

    fn plotted(declaration: &str, x: i64, y: i64) -> Framebuffer {
        let mut displays = Displays::new();
        feed(&mut displays, &[declaration, &format!("`p {x} {y}")]);
        front(&mut displays, "p")
    }

    #[test]
    fn polar_angles_turn_counter_clockwise_from_east() {
        let c = (200 + 4 * CH) / 2;
        let polar = "`scope_xy p size 100 range 100 samples 0 polar 'a'";
        assert!(is_dot(&plotted(polar, 50, 0), c + 50, c, 0x00_FF00), "θ 0: east");
        assert!(
            is_dot(&plotted(polar, 50, 0x4000_0000), c, c - 50, 0x00_FF00),
            "quarter turn: north"
        );
        assert!(
            is_dot(&plotted(polar, 50, -0x8000_0000), c - 50, c, 0x00_FF00),
            "half turn: west"
        );
        let degrees = "`scope_xy p size 100 range 100 samples 0 polar 360 90 'a'";
        assert!(
            is_dot(&plotted(degrees, 50, 0), c, c - 50, 0x00_FF00),
            "θ0 90 of 360: north"
        );
        assert!(is_dot(&plotted(degrees, 50, 90), c - 50, c, 0x00_FF00));
        let clockwise = "`scope_xy p size 100 range 100 samples 0 polar -1 'a'";
        assert!(
            is_dot(&plotted(clockwise, 50, 0x4000_0000), c, c + 50, 0x00_FF00),
            "POLAR -1: south"
        );
    }

    #[test]
    fn logscale_maps_radius_by_log2() {
        // log2(r + 1) / log2(RANGE + 1) · D/2: r 15 of 255 → 4/8 of 100 px; the direction is kept.
        let c = (200 + 4 * CH) / 2;
        let log = "`scope_xy p size 100 range 255 samples 0 logscale 'a'";
        assert!(is_dot(&plotted(log, 15, 0), c + 50, c, 0x00_FF00));
        assert!(is_dot(&plotted(log, 0, -15), c, c + 50, 0x00_FF00));
        assert!(is_dot(&plotted(log, 255, 0), c + 100, c, 0x00_FF00), "RANGE at the rim");
        let image = plotted(log, 0, 0);
        assert!(
            has_near(&image, c + 2 * CW + 6 * CW, CH / 2, 8 * CW, CH, GRID),
            "r=255 logscale"
        );
        // Polar LOGSCALE: log2(x) / log2(RANGE) · D/2 — x 16 of 256 is half way.
        let polar_log = "`scope_xy p size 100 range 256 samples 0 polar logscale 'a'";
        assert!(is_dot(&plotted(polar_log, 16, 0), c + 50, c, 0x00_FF00));
    }

    #[test]
    fn a_trail_fades_with_age() {
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &[
                "`scope_xy p size 100 range 100 samples 4 'a' RED",
                "`p -60 0 -20 0 20 0 60 0",
            ],
        );
        let image = front(&mut displays, "p");
        save_png_zoomed(&image, "scope_xy_trail", 2);
        let c = (200 + 4 * CH) / 2;
        // Opacity 255 − k·255/4 for age k: the newest is full red, each older one dimmer.
        let reds: Vec<u32> = [60i32, 20, -20, -60]
            .iter()
            .map(|&x| pixel(&image, (c as i32 + x) as u32, c - 10) >> 16)
            .collect();
        assert_eq!(
            pixel(&image, c + 60, c - 10) >> 16,
            0,
            "dots sit on the axis, not above it"
        );
        let centre: Vec<u32> = [60i32, 20, -20, -60]
            .iter()
            .map(|&x| pixel(&image, (c as i32 + x) as u32, c) >> 16)
            .collect();
        assert_eq!(reds, [0, 0, 0, 0]);
        assert_eq!(centre[0], 0xFF);
        assert!(centre.windows(2).all(|w| w[0] > w[1]), "{centre:?}");
        // Sets older than SAMPLES drop out.
        feed(&mut displays, &["`p 0 40 0 40 0 40 0 40"]);
        let image = front(&mut displays, "p");
        assert_eq!(pixel(&image, c + 60, c), GRID);
    }
}

mod fft {
    use super::*;

    /// An FFT of one channel `'s'` (mag 0, high 1000, tall 201: a value v sits v/5 px above the baseline) over a
    /// 256 × 201 plot, its bins drawn as dots (radius 1 px: only the centre pixel is fully covered) unless
    /// `options` say otherwise, fed `samples`.
    fn spectrum(options: &str, samples: &[i64]) -> (Displays, Framebuffer) {
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &[
                &format!("`fft f size 256 201 samples 512 linesize 0 dotsize 2 {options}"),
                "`f 's' 0 1000 201 0 0",
                &format!("`f {}", numbers(samples.iter().copied())),
            ],
        );
        let image = front(&mut displays, "f");
        (displays, image)
    }

    /// The baseline row (the plot's bottom).
    const BASE: u32 = 2 * CH + 200;

    fn row(v: f64) -> u32 {
        BASE - (v / 5.0).round() as u32
    }

    fn sine(bin: f64, amplitude: f64) -> Vec<i64> {
        (0..512)
            .map(|i| (amplitude * (std::f64::consts::TAU * bin * f64::from(i) / 512.0).sin()).round() as i64)
            .collect()
    }

    /// The row of the plot where column x holds the channel colour: where its dot is centred.
    fn dot_row(image: &Framebuffer, x: u32) -> u32 {
        let rows: Vec<u32> = (2 * CH..=BASE).filter(|&y| pixel(image, x, y) == 0x00_FF00).collect();
        assert_eq!(rows.len(), 1, "one dot centre in column {x}: {rows:?}");
        rows[0]
    }

    #[test]
    fn a_sine_on_bin_k_reads_its_amplitude_there_and_half_beside() {
        let (_, image) = spectrum("", &sine(40.0, 1000.0));
        save_png_zoomed(&image, "fft_sine_bin_40", 2);
        // Bins 0..255 across width − 1 = 255 px: bin k at x = left + k.
        assert!(dot_row(&image, CW + 40).abs_diff(row(1000.0)) <= 1, "A at bin k");
        for side in [39, 41] {
            assert!(
                dot_row(&image, CW + side).abs_diff(row(500.0)) <= 1,
                "A/2 at bin {side}"
            );
        }
        for far in [10, 37, 43, 200] {
            assert_eq!(dot_row(&image, CW + far), BASE, "bin {far} is empty");
        }
    }

    #[test]
    fn a_constant_reads_twice_itself_at_dc_and_itself_at_bin_one() {
        let (_, image) = spectrum("", &[300; 512]);
        assert_eq!(dot_row(&image, CW), row(600.0));
        assert_eq!(dot_row(&image, CW + 1), row(300.0));
        assert_eq!(dot_row(&image, CW + 3), BASE);
    }

    #[test]
    fn lines_join_the_bins() {
        let (_, image) = spectrum("linesize 3 dotsize 0", &sine(40.0, 1000.0));
        save_png_zoomed(&image, "fft_line", 2);
        // The peak is the trace's highest point; far bins lie on the baseline.
        let top = (0..image.height())
            .find(|&y| pixel(&image, CW + 40, y) == 0x00_FF00)
            .unwrap();
        assert!(top.abs_diff(row(1000.0)) <= 1);
        assert_eq!(pixel(&image, CW + 100, BASE), 0x00_FF00);
    }

    #[test]
    fn first_draw_on_the_nth_sample_then_every_rate() {
        let (mut displays, _) = spectrum("", &[0; 511]);
        let frames = |d: &Displays| d.get(id(d, "f")).unwrap().frames();
        assert_eq!(frames(&displays), 0);
        feed(&mut displays, &["`f 0"]);
        assert_eq!(frames(&displays), 1);
        feed(&mut displays, &[&format!("`f {}", numbers([0; 511]))]);
        assert_eq!(frames(&displays), 1);
        feed(&mut displays, &["`f 0"]);
        assert_eq!(frames(&displays), 2, "RATE defaults to N");
    }

    #[test]
    fn samples_round_down_to_a_power_of_two() {
        let mut displays = Displays::new();
        feed(&mut displays, &["`fft f samples 1000", "`f 'a' 0 1000 100 0 0"]);
        feed(&mut displays, &[&format!("`f {}", numbers([0; 512]))]);
        assert_eq!(displays.get(id(&displays, "f")).unwrap().frames(), 1, "N = 512");
    }

    #[test]
    fn logscale_and_bars() {
        let (_, image) = spectrum("logscale linesize -8 dotsize 0", &sine(100.0, 1000.0));
        save_png_zoomed(&image, "fft_logscale_bars", 2);
        // "logscale" at the top right in the grid colour.
        assert!(has_near(&image, CW + 256 - 8 * CW - 1, CH / 2, 8 * CW, CH, GRID));
        // A bar from the baseline up to the peak: log2(1001)/log2(1001)·1000 = the full 200 px.
        let x = CW + 100;
        assert!(
            (row(1000.0)..=BASE).all(|y| pixel(&image, x, y) == 0x00_FF00),
            "a solid bar"
        );
        assert_eq!(pixel(&image, x, row(1000.0) - 3), 0, "not above the peak");
        // Bars of radius 2 px: the neighbouring column is covered too.
        assert_eq!(pixel(&image, x + 1, BASE - 100), 0x00_FF00);
    }

    #[test]
    fn shown_bins_spread_over_the_width() {
        // Bins 32..95 across 255 px: bin k at x = left + trunc((k − 32) / 63 · 255 · 256) / 256 (+½ px to the
        // pixel centre): bin 64 lands in column 138.
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &[
                "`fft f size 256 201 samples 512 32 95 linesize 0 dotsize 2",
                "`f 's' 0 1000 201 0 0",
            ],
        );
        feed(&mut displays, &[&format!("`f {}", numbers(sine(64.0, 1000.0)))]);
        let image = front(&mut displays, "f");
        let columns: Vec<u32> = (0..image.width())
            .filter(|&x| pixel(&image, x, row(1000.0)) == 0x00_FF00)
            .collect();
        assert_eq!(columns, [138]);
    }
}

mod spectro {
    use super::*;

    fn sine(n: usize, bin: f64, amplitude: f64, phase: f64) -> Vec<i64> {
        (0..n)
            .map(|i| (amplitude * (std::f64::consts::TAU * bin * i as f64 / n as f64 + phase).sin()).round() as i64)
            .collect()
    }

    #[test]
    fn each_spectrum_is_a_column_at_the_right_edge_then_scrolls_left() {
        let mut displays = Displays::new();
        feed(&mut displays, &["`spectro sp samples 64 depth 10 range 1000"]);
        feed(
            &mut displays,
            &[&format!("`sp {}", numbers(sine(64, 5.0, 1000.0, 0.0)))],
        );
        let image = front(&mut displays, "sp");
        save_png_zoomed(&image, "spectro_first_column", 8);
        // Logical size DEPTH × bins, bin `first` at the bottom.
        assert_eq!((image.width(), image.height()), (10, 32));
        let full = translate(ColorMode::Luma8x, 0, &[0; 256], 255);
        assert_eq!(pixel(&image, 9, 31 - 5), full, "bin 5 at full range");
        assert_eq!(pixel(&image, 9, 31 - 20), 0, "empty bin");
        assert!(
            (0..9).all(|x| pixel(&image, x, 26) == 0),
            "nothing left of the first column"
        );
        // RATE N/8 = 8 samples later the next column; the first moved left one.
        feed(
            &mut displays,
            &[&format!("`sp {}", numbers(sine(64, 5.0, 1000.0, 0.0)[..8].to_vec()))],
        );
        let image = front(&mut displays, "sp");
        assert_eq!(pixel(&image, 8, 26), full);
        assert_eq!(pixel(&image, 9, 26), full);
        assert_eq!(displays.get(id(&displays, "sp")).unwrap().frames(), 2);
    }

    #[test]
    fn levels_scale_to_range() {
        let mut displays = Displays::new();
        feed(&mut displays, &["`spectro sp samples 64 depth 4 range 2000 luma8"]);
        feed(
            &mut displays,
            &[&format!("`sp {}", numbers(sine(64, 9.0, 1000.0, 0.0)))],
        );
        let image = front(&mut displays, "sp");
        // 1000 of RANGE 2000 → p = 128 (Round(v · 255 / RANGE)).
        let expected = translate(ColorMode::Luma8, 0, &[0; 256], 128);
        assert!(
            near(pixel(&image, 3, 31 - 9), expected, 2),
            "{:06X}",
            pixel(&image, 3, 31 - 9)
        );
    }

    #[test]
    fn hsv16_hue_is_the_phase() {
        let hue_of = |phase: f64| {
            let mut displays = Displays::new();
            feed(&mut displays, &["`spectro sp samples 64 depth 4 range 1000 hsv16"]);
            feed(
                &mut displays,
                &[&format!("`sp {}", numbers(sine(64, 6.0, 1000.0, phase)))],
            );
            let color = pixel(&front(&mut displays, "sp"), 3, 31 - 6);
            HUE.iter().position(|&h| h == color).expect("a saturated hue") as i32
        };
        // A quarter turn of the signal is a quarter of the hue circle.
        let turn = (hue_of(std::f64::consts::FRAC_PI_2) - hue_of(0.0)).rem_euclid(256);
        assert!(turn.abs_diff(64) <= 1 || turn.abs_diff(192) <= 1, "{turn}");
    }

    #[test]
    fn trace_patterns_and_dotsize() {
        // TRACE 0 (rows top→bottom, no scroll): frequency across, one row per spectrum.
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &["`spectro sp samples 64 depth 3 range 1000 trace 0 dotsize 2 3"],
        );
        let sp = id(&displays, "sp");
        assert_eq!(displays.get(sp).unwrap().client_size(), (32 * 2, 3 * 3));
        feed(
            &mut displays,
            &[&format!("`sp {}", numbers(sine(64, 5.0, 1000.0, 0.0)))],
        );
        let image = front(&mut displays, "sp");
        assert_eq!((image.width(), image.height()), (32, 3));
        let full = translate(ColorMode::Luma8x, 0, &[0; 256], 255);
        assert_eq!(pixel(&image, 5, 0), full, "first row, bin 5 from the left");
        // PC_MOUSE: pixels ÷ DOTSIZE, y from the bottom.
        displays.handle_pointer(sp, Some((11, 2)), Buttons::default());
        feed(&mut displays, &["`sp pc_mouse"]);
        let reply = events(&mut displays)
            .into_iter()
            .find_map(|e| match e {
                Event::Reply { reply, .. } => Some(reply),
                _ => None,
            })
            .unwrap();
        assert_eq!(reply.as_bytes()[..4], (5u32 | (((9 - 2) / 3) << 13)).to_le_bytes());
    }

    #[test]
    fn clear_blanks_and_restarts() {
        let mut displays = Displays::new();
        feed(&mut displays, &["`spectro sp samples 64 depth 4 range 1000 luma8w"]);
        feed(
            &mut displays,
            &[&format!("`sp {}", numbers(sine(64, 5.0, 1000.0, 0.0)))],
        );
        feed(&mut displays, &["`sp clear"]);
        let image = front(&mut displays, "sp");
        assert!(image.pixels().iter().all(|&p| p == 0xFF_FFFF), "W modes clear to white");
        feed(&mut displays, &[&format!("`sp {}", numbers([0; 63]))]);
        assert_eq!(
            displays.get(id(&displays, "sp")).unwrap().frames(),
            2,
            "first draw again on the N-th"
        );
    }
}

mod midi {
    use super::*;

    #[test]
    fn d15_keyboard() {
        let mut displays = Displays::new();
        feed(
            &mut displays,
            &["`midi m range 60 72", "`m $90 60 127 $90 64 64 $80 60 0"],
        );
        let image = front(&mut displays, "m");
        save_png_zoomed(&image, "d15_midi", 3);
        // 8 white keys C4..C5 of 24 px + 2·4 px border; 6·24 + 4 tall.
        assert_eq!((image.width(), image.height()), (200, 148));
        assert_eq!(
            displays.get(id(&displays, "m")).unwrap().frames(),
            3,
            "a redraw per note event"
        );
        // White keys from x = 4, 24 px each: C [4, 28), D [28, 52), E [52, 76).
        assert_eq!(pixel(&image, 16, 130), 0xFF_FFFF, "key 60 is off again: plain white");
        // E (64) at velocity 64: filled from 144 − 6 − 138·64/127 = 69 down, in the white-key colour.
        assert_eq!(pixel(&image, 68, 140), 0x00_FFFF);
        assert_eq!(pixel(&image, 68, 75), 0x00_FFFF);
        assert_eq!(pixel(&image, 68, 60), 0xFF_FFFF, "above the fill");
        assert_eq!(pixel(&image, 68, 69), 0x80_8080, "the fill's outline");
        // C#4 (61): black, 15 px wide from 28 − 9, 96 tall, grey outline.
        assert_eq!(pixel(&image, 26, 60), 0);
        assert_eq!(pixel(&image, 19, 60), 0x80_8080);
        assert_eq!(pixel(&image, 26, 100), 0xFF_FFFF, "below the black key: the white one");
        // Note numbers written downwards near the top of each key: light grey on white, grey on black.
        assert!(has_near(&image, 8, CW, 10, 20, 0xD0_D0D0), "60");
        assert!(has_near(&image, 20, 8, 12, 20, 0x80_8080), "61");
        // Border: the inactive-caption background.
        assert_eq!(pixel(&image, 1, 140), 0xBF_CDDB);
    }

    #[test]
    fn channel_running_status_and_clear() {
        let mut displays = Displays::new();
        feed(&mut displays, &["`midi m range 60 72 channel 2 color red blue"]);
        // Channel 0 events are ignored; channel 2 with running status sets two notes.
        feed(&mut displays, &["`m $90 62 100 $92 62 127 64 127"]);
        let image = front(&mut displays, "m");
        assert_eq!(pixel(&image, 40, 140), RED, "D on, the first COLOR");
        assert_eq!(pixel(&image, 68, 140), RED, "E by running status");
        assert_eq!(displays.get(id(&displays, "m")).unwrap().frames(), 2);
        feed(&mut displays, &["`m $92 63 127"]);
        let image = front(&mut displays, "m");
        assert_eq!(pixel(&image, 52, 90), 0x09_09FF, "D#: black keys take the second COLOR");
        feed(&mut displays, &["`m clear"]);
        let image = front(&mut displays, "m");
        assert_eq!(pixel(&image, 40, 140), 0xFF_FFFF);
    }

    #[test]
    fn a_black_first_key_gets_room() {
        let mut displays = Displays::new();
        feed(&mut displays, &["`midi m range 61"]);
        let image = front(&mut displays, "m");
        // RANGE a alone: one black key with a white key's room beside it, each side.
        assert_eq!(image.width(), 2 * 24 + 2 * 4);
    }
}

mod lazy {
    use super::*;

    /// Feeds `lines` to two registries, one asked for a frame after every line, the other only at the end:
    /// the pictures must be the same.
    fn drawn_once_equals_drawn_always(declaration: &str, lines: &[String]) {
        let mut eager = Displays::new();
        let mut lazy = Displays::new();
        for displays in [&mut eager, &mut lazy] {
            feed(displays, &[declaration]);
        }
        let name = declaration.split_whitespace().nth(1).unwrap();
        for line in lines {
            feed(&mut eager, &[line]);
            front(&mut eager, name);
            feed(&mut lazy, &[line]);
        }
        let (a, b) = (front(&mut eager, name), front(&mut lazy, name));
        if a != b {
            save_png(&a, &format!("lazy_{name}_eager"));
            save_png(&b, &format!("lazy_{name}_lazy"));
            panic!("{declaration}: lazy and eager pictures differ");
        }
        let id = id(&eager, name);
        assert_eq!(eager.get(id).unwrap().frames(), lazy.get(id).unwrap().frames());
    }

    fn wave(i: i64) -> i64 {
        ((i as f64 * 0.05).sin() * 900.0) as i64
    }

    #[test]
    fn scope_with_trigger_and_definition_changes() {
        let mut lines: Vec<String> = vec!["`s 'a' -1000 1000 100 0 %11".into(), "`s trigger 0 -100 100".into()];
        lines.extend((0..440).map(|i| format!("`s {}", numbers((10 * i..10 * i + 10).map(wave)))));
        lines.push("`s 'b' auto 80 20 %1100 RED".into());
        lines.extend((0..300).map(|i| format!("`s {} {}", wave(i), wave(i * 3))));
        lines.push("`s clear".into());
        lines.extend((0..50).map(|i| format!("`s {} {}", wave(i), i)));
        drawn_once_equals_drawn_always("`scope s size 64 64 samples 40", &lines);
    }

    #[test]
    fn logic_bursts_longer_than_the_history() {
        let mut lines: Vec<String> = (0..440)
            .map(|i| format!("`l {}", numbers((70 * i..70 * i + 70).step_by(7))))
            .collect();
        lines.push("`l trigger 4 4 3".into());
        lines.extend((0..440).map(|i| format!("`l {}", numbers(10 * i..10 * i + 10))));
        drawn_once_equals_drawn_always("`logic l samples 24 'a' 4", &lines);
    }

    #[test]
    fn scope_xy_trail_and_fft() {
        let lines: Vec<String> = (0..440)
            .map(|i| {
                format!(
                    "`p {}",
                    numbers((10 * i..10 * i + 10).flat_map(|j| [wave(j), wave(j + 30)]))
                )
            })
            .collect();
        drawn_once_equals_drawn_always("`scope_xy p size 40 range 1000 samples 12 rate 3 'a'", &lines);
        let mut lines: Vec<String> = vec!["`f 'x' 2 1000 200 0 3".into()];
        lines.extend((0..500).map(|i| format!("`f {}", numbers((10 * i..10 * i + 10).map(|j| wave(j * 7))))));
        drawn_once_equals_drawn_always("`fft f samples 256 rate 100", &lines);
    }

    #[test]
    fn spectro_skips_only_what_scrolls_away() {
        let lines: Vec<String> = (0..900)
            .map(|i| format!("`sp {}", numbers((10 * i..10 * i + 10).map(|j| wave(j * j / 500)))))
            .collect();
        drawn_once_equals_drawn_always("`spectro sp samples 128 depth 20 range 1000 rate 3", &lines);
        drawn_once_equals_drawn_always("`spectro sp samples 64 depth 7 range 1000 rate 5 trace 5", &lines);
        drawn_once_equals_drawn_always(
            "`spectro sp samples 64 depth 7 range 1000 rate 1 trace 2 hsv16x",
            &lines,
        );
    }

    #[test]
    fn a_trigger_view_outlives_the_history() {
        // One fire, then a flat signal that never re-arms: the view of that fire must survive 5,000 more sets
        // (more than the history holds) and still be the one drawn.
        let mut lines: Vec<String> = vec!["`s 'a' 0 100 50 0 0".into(), "`s trigger 0 10 50 5".into()];
        lines.push(format!(
            "`s {}",
            numbers((0..40).map(|i| if i < 30 { 0 } else { i * 3 }))
        ));
        lines.extend((0..500).map(|_| format!("`s {}", numbers([90; 10]))));
        drawn_once_equals_drawn_always("`scope s size 64 64 samples 32", &lines);
        let mut lines: Vec<String> = vec![
            "`l trigger 1 1 2".into(),
            format!("`l {}", numbers([0, 0, 0, 0, 0, 0, 1, 1])),
        ];
        lines.extend((0..500).map(|_| format!("`l {}", numbers([1; 10]))));
        drawn_once_equals_drawn_always("`logic l samples 8 'a'", &lines);
    }

    #[test]
    fn midi_events() {
        let lines: Vec<String> = (0..100)
            .map(|i| format!("`m $90 {} {}", 47 + i % 28, (i * 13) % 128))
            .collect();
        drawn_once_equals_drawn_always("`midi m range 47 74 size 2", &lines);
    }
}

mod random {
    use super::*;

    /// Declarations of every sampled type, small enough for many cases a second.
    const DECLARATIONS: [&str; 7] = [
        "`logic l samples 12 'a' 2 'b' 3 range",
        "`scope s size 64 48 samples 20",
        "`scope_xy x size 30 samples 6 'a' 'b'",
        "`scope_xy y size 30 samples 0 polar logscale 'a'",
        "`fft f size 64 48 samples 32 2 13",
        "`spectro sp samples 16 depth 12 rate 3 hsv16",
        "`midi m range 55 70",
    ];

    /// Feed elements: samples, MIDI bytes, channel definitions, triggers and commands.
    fn element() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => (-2000i32..2000).prop_map(|v| v.to_string()),
            2 => (0u32..=0xFF).prop_map(|v| format!("${v:X}")),
            1 => Just("$90".to_owned()),
            1 => Just("'c' 0 100 30 5 %1111".to_owned()),
            1 => Just("'d' auto 20 0 %1100 red".to_owned()),
            1 => Just("'e' 3 500 40 0 3".to_owned()),
            1 => Just("trigger 0 -10 10 3".to_owned()),
            1 => Just("trigger 0 auto".to_owned()),
            1 => Just("trigger 3 1 2".to_owned()),
            1 => Just("trigger -1".to_owned()),
            1 => Just("holdoff 3".to_owned()),
            1 => Just("clear".to_owned()),
            1 => Just("pc_mouse".to_owned()),
            1 => Just("save 'snap'".to_owned()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any feed: nothing panics, the pictures stay the declared size, and drawing only at the end equals
        /// drawing after every message.
        #[test]
        fn any_feed_draws_lazily_as_it_would_eagerly(
            declaration in prop::sample::select(DECLARATIONS.to_vec()),
            messages in prop::collection::vec(prop::collection::vec(element(), 0..12), 1..24),
        ) {
            let (mut eager, mut lazy) = (Displays::new(), Displays::new());
            let name = declaration.split_whitespace().nth(1).unwrap();
            let now = Instant::now();
            for displays in [&mut eager, &mut lazy] {
                displays.handle_line(declaration.as_bytes(), now).unwrap();
            }
            let size = front(&mut eager, name);
            let size = (size.width(), size.height());
            for message in &messages {
                let line = format!("`{name} {}", message.join(" "));
                let applied = eager.handle_line(line.as_bytes(), now).is_ok();
                prop_assert_eq!(lazy.handle_line(line.as_bytes(), now).is_ok(), applied);
                let image = front(&mut eager, name);
                prop_assert_eq!((image.width(), image.height()), size);
                events(&mut eager);
                events(&mut lazy);
            }
            prop_assert!(front(&mut eager, name) == front(&mut lazy, name), "{}", declaration);
        }
    }
}
