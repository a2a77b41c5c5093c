//! docs/p2-displays.md B.1: what PNut accepts, what it drops whole, CLOSE, and the limits; and that a dropped
//! message changes no display (proptest).

mod common;

use std::time::Instant;

use common::{events, feed, front, id};
use proptest::prelude::*;
use sluicegate_p2_display::{
    Applied, DISPLAYS_MAX, Displays, DropReason, Event, Framebuffer, LINE_MAX, RECORDS_MAX, SaveRefused, WindowType,
};

fn reason(displays: &mut Displays, line: &str) -> DropReason {
    displays
        .handle_line(line.as_bytes(), Instant::now())
        .expect_err(line)
        .reason
}

#[test]
fn declarations_and_feeds() {
    let mut displays = Displays::new();
    let now = Instant::now();
    let applied = displays.handle_line(b"`BITMAP MyBitmap SIZE 2 1\r\n", now).unwrap();
    let Applied::Declared(id) = applied else {
        panic!("{applied:?}")
    };
    let display = displays.get(id).unwrap();
    assert_eq!(
        (display.name(), display.caption(), display.kind()),
        ("MyBitmap", "MyBitmap - BITMAP", WindowType::Bitmap)
    );
    // Names and keywords in any case; `,` `(` `)` `.` are separators; a string; numbers with `_`.
    let fed = displays
        .handle_line(b"`mybitmap,(RGB24)$FF_00_00.%1111_1111", now)
        .unwrap();
    assert_eq!(
        fed,
        Applied::Fed {
            targets: 1,
            closed: false
        }
    );
    let image = front(&mut displays, "MYBITMAP");
    assert_eq!(image.pixels(), [0xFF0000, 0x0000FF]);
    // Fan-out with fresh parse state for each target.
    feed(
        &mut displays,
        &["`bitmap other size 2 1", "`mybitmap other $00FF00 $00FF00"],
    );
    assert_eq!(front(&mut displays, "other").pixels(), [0x00FF00, 0x00FF00]);
    assert_eq!(front(&mut displays, "mybitmap").pixels(), [0x00FF00, 0x00FF00]);
}

#[test]
fn what_pnut_drops() {
    let mut displays = Displays::new();
    feed(&mut displays, &["`bitmap j size 4 1", "`bitmap k size 4 1"]);
    let cases = [
        ("`", DropReason::Empty),
        ("` ,;", DropReason::Empty),
        ("`nosuch $FF", DropReason::UnknownFirstWord),
        ("`$FF j", DropReason::UnknownFirstWord),
        ("`'j' 1", DropReason::UnknownFirstWord),
        ("`size 4 4", DropReason::UnknownFirstWord),
        ("`bitmap j", DropReason::NameNotFree),
        ("`bitmap TRACE", DropReason::NameNotFree),
        ("`bitmap 5", DropReason::NameNotFree),
        ("`bitmap", DropReason::NameNotFree),
        ("`j $FF bogus", DropReason::UnknownWord),
        ("`bitmap z size 4 4 bogus", DropReason::UnknownWord),
        ("`j $FF k", DropReason::MisplacedName),
        ("`j $FF term", DropReason::MisplacedName),
        ("`bitmap z j", DropReason::MisplacedName),
        ("`logic s samples 2047 spacing 32", DropReason::TooLarge),
    ];
    for (line, expected) in cases {
        assert_eq!(reason(&mut displays, line), expected, "{line:?}");
    }
    let bitmap = displays.stats().of(WindowType::Bitmap).dropped;
    assert_eq!(bitmap.get(DropReason::UnknownWord), 2);
    assert_eq!(displays.stats().unattributed.get(DropReason::UnknownFirstWord), 4);
    assert_eq!(displays.stats().dropped(), cases.len() as u64);
    assert_eq!(displays.len(), 2, "no declaration survived");
    assert!(
        front(&mut displays, "j").pixels().iter().all(|&p| p == 0),
        "no feed was applied"
    );
}

#[test]
fn limits() {
    let mut displays = Displays::new();
    // 1100 records: a feed to one target has room for 1098 elements (+ the target and the end record).
    feed(&mut displays, &["`bitmap j size 2048 1 rate 4096"]);
    let fits = format!("`j{}", " 1".repeat(RECORDS_MAX - 2));
    displays
        .handle_line(fits.as_bytes(), Instant::now())
        .expect("1100 records");
    let too_many = format!("`j{}", " 1".repeat(RECORDS_MAX - 1));
    assert_eq!(reason(&mut displays, &too_many), DropReason::TooManyElements);
    // PNut's 32,768-byte buffer keeps the text after the backtick and a terminating NUL: 32,767 bytes before the
    // CR are parsed, 32,768 or more discard the line whole; bytes after a NUL count too.
    let longest = format!("`j 1{}\r\n", " ".repeat(LINE_MAX - 4));
    displays
        .handle_line(longest.as_bytes(), Instant::now())
        .expect("32,767 bytes");
    for long in [
        format!("`j 1{}\r\n", " ".repeat(LINE_MAX - 3)),
        format!("`j {}", " ".repeat(40_000)),
        format!("`j 1\0{}", " ".repeat(LINE_MAX)),
    ] {
        assert_eq!(reason(&mut displays, &long), DropReason::LineTooLong);
    }
    // 32 displays, then the 33rd is refused.
    for i in 1..DISPLAYS_MAX {
        feed(&mut displays, &[&format!("`bitmap d{i} size 1 1")]);
    }
    assert_eq!(
        reason(&mut displays, "`bitmap extra size 1 1"),
        DropReason::TooManyDisplays
    );
    // Closing one frees a slot and its name.
    feed(&mut displays, &["`d1 close"]);
    assert!(displays.find("d1").is_none());
    feed(&mut displays, &["`bitmap extra size 1 1"]);
    assert_eq!(
        reason(&mut displays, "`bitmap extra"),
        DropReason::NameNotFree,
        "names are checked first"
    );
    assert_eq!(reason(&mut displays, "`bitmap d1"), DropReason::TooManyDisplays);
    // More than 32 targets (a name may repeat, as in PNut).
    let targets = format!("`{} 1", "j ".repeat(DISPLAYS_MAX + 1));
    assert_eq!(reason(&mut displays, &targets), DropReason::TooManyTargets);
    let thirty_two = format!("`{} 1", "j ".repeat(DISPLAYS_MAX));
    assert_eq!(
        displays.handle_line(thirty_two.as_bytes(), Instant::now()).unwrap(),
        Applied::Fed {
            targets: 32,
            closed: false
        }
    );
}

#[test]
fn pictures_over_16_mi_pixels_are_refused() {
    // 256×256 cells of a 200-point font would be a 41,000×79,000-pixel picture (13 GB): dropped, counted.
    let mut displays = Displays::new();
    assert_eq!(
        reason(&mut displays, "`term t size 256 256 textsize 200"),
        DropReason::TooLarge
    );
    assert_eq!(
        displays.stats().of(WindowType::Term).dropped.get(DropReason::TooLarge),
        1
    );
    assert!(displays.is_empty());
    // The largest grid fits up to TEXTSIZE 14 (2826×5642 pixels), not at 15 (3084×6156); one cell at the
    // largest size fits.
    assert_eq!(
        reason(&mut displays, "`term t size 256 256 textsize 15"),
        DropReason::TooLarge
    );
    feed(
        &mut displays,
        &["`term big size 256 256 textsize 14", "`term one size 1 1 textsize 200"],
    );
    assert_eq!(displays.len(), 2);
    let (w, h) = displays.find("big").unwrap().client_size();
    assert!(u64::from(w) * u64::from(h) <= 1 << 24);
}

#[test]
fn close_after_the_message_and_names_free_again() {
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &["`bitmap a size 2 1 rate 1", "`bitmap b size 2 1 rate 1"],
    );
    let (a, b) = (id(&displays, "a"), id(&displays, "b"));
    events(&mut displays);
    let applied = displays
        .handle_line(b"`a b close $FF0000 save 'last'", Instant::now())
        .unwrap();
    assert_eq!(
        applied,
        Applied::Fed {
            targets: 2,
            closed: true
        }
    );
    let events = events(&mut displays);
    // The whole message ran first (both SAVEs hold the red pixel), then both closed, in target order.
    assert_eq!(events.len(), 4, "{events:?}");
    for (event, display) in events[..2].iter().zip([a, b]) {
        match event {
            Event::Save {
                display: d,
                file,
                image,
            } => {
                assert_eq!((*d, file.as_str()), (display, "last"));
                assert_eq!(image.get(0, 0), Some(0xFF0000));
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(&events[2], Event::Closed { display, name } if *display == a && &**name == "a"));
    assert!(matches!(&events[3], Event::Closed { display, .. } if *display == b));
    assert!(displays.is_empty());
    assert_eq!(reason(&mut displays, "`a 1"), DropReason::UnknownFirstWord);
    // A new declaration of the name gets a new id; CLOSE in a declaration is ignored.
    feed(&mut displays, &["`bitmap a size 2 1 close"]);
    assert_ne!(id(&displays, "a"), a);
}

#[test]
fn thirty_character_names() {
    let mut displays = Displays::new();
    let long = "abcdefghijklmnopqrstuvwxyz0123456789";
    feed(&mut displays, &[&format!("`bitmap {long} size 1 1")]);
    let display = displays.find(long).unwrap();
    assert_eq!(display.name(), &long[..30], "stored up to 30 characters");
    // Any spelling with the same first 30 characters (any case) names it.
    feed(&mut displays, &["`ABCDEFGHIJKLMNOPQRSTUVWXYZ0123_other_tail $FF"]);
}

#[test]
fn save_names_are_checked() {
    let mut displays = Displays::new();
    feed(
        &mut displays,
        &[
            "`bitmap p size 1 1",
            "`p save '../up' save 'c:x' save window 'w' save 1 2 3 4 'desk'",
        ],
    );
    let got: Vec<_> = events(&mut displays).into_iter().skip(1).collect();
    assert!(matches!(
        got[0],
        Event::SaveRefused {
            reason: SaveRefused::BadName,
            ..
        }
    ));
    assert!(matches!(
        got[1],
        Event::SaveRefused {
            reason: SaveRefused::BadName,
            ..
        }
    ));
    assert!(matches!(&got[2], Event::Save { file, image, .. } if file == "w" && image.width() == 1));
    assert!(matches!(
        got[3],
        Event::SaveRefused {
            reason: SaveRefused::DesktopRegion,
            ..
        }
    ));
    let stats = displays.stats().of(WindowType::Bitmap);
    assert_eq!((stats.saves, stats.saves_refused), (1, 3));
    // Strings are Windows-1252 bytes, as PNut's Windows reads them: in a caption and in a file name; a name
    // Windows would not save is refused.
    let now = Instant::now();
    displays
        .handle_line(b"`bitmap q title 'Temp \xB0C' size 1 1", now)
        .unwrap();
    assert_eq!(displays.find("q").unwrap().caption(), "Temp °C");
    displays.handle_line(b"`q save 'Gr\xFC\xDFe' save 'a*b'", now).unwrap();
    let got: Vec<_> = events(&mut displays).into_iter().skip(1).collect();
    assert!(
        matches!(&got[0], Event::Save { file, .. } if file == "Grüße"),
        "{got:?}"
    );
    assert!(matches!(
        got[1],
        Event::SaveRefused {
            reason: SaveRefused::BadName,
            ..
        }
    ));
}

fn snapshot(displays: &mut Displays) -> Vec<(String, Framebuffer, u64)> {
    let ids: Vec<_> = displays.iter().map(|d| (d.id(), d.name().to_owned())).collect();
    ids.into_iter()
        .map(|(id, name)| {
            let frame = displays.frame(id).unwrap();
            (name, frame.image.clone(), frame.frames)
        })
        .collect()
}

/// Elements to build messages from: valid data, keywords, names and a few words that make PNut drop the message.
fn element() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..=0xFF_FFFF).prop_map(|v| format!("${v:X}")),
        (-300i32..300).prop_map(|v| v.to_string()),
        Just("'txt'".to_owned()),
        Just("clear".to_owned()),
        Just("trace 5".to_owned()),
        Just("set 1 2".to_owned()),
        Just("update".to_owned()),
        Just("box 9 9".to_owned()),
        Just("line 20 30".to_owned()),
        Just("text 'hi'".to_owned()),
        Just("hsv16".to_owned()),
        Just("b".to_owned()),
        Just("bogus".to_owned()),
        Just("plot".to_owned()),
        Just("t".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A message PNut drops changes no display: same pictures, same refresh counts, no event.
    #[test]
    fn a_dropped_message_changes_no_display(
        history in prop::collection::vec(prop::collection::vec(element(), 0..8), 0..6),
        targets in prop::sample::select(vec!["b", "p", "t", "b p", "t b", "p t b", "s", "f l", "x m b"]),
        message in prop::collection::vec(element(), 0..10),
    ) {
        let mut displays = Displays::new();
        feed(&mut displays, &["`bitmap b size 8 8 rate 3", "`plot p size 40 40", "`term t size 6 3"]);
        feed(
            &mut displays,
            &[
                "`scope s size 32 32 samples 16",
                "`s 'a' 0 100 32 0 %11",
                "`logic l samples 8 'a' 2",
                "`scope_xy x size 16 samples 4 'a'",
                "`fft f size 32 32 samples 16",
                "`f 'a' 0 100 32 0 0",
                "`midi m range 60 64",
            ],
        );
        let now = Instant::now();
        for elements in &history {
            for target in ["b", "p", "t", "s", "l", "x", "f", "m"] {
                let _ = displays.handle_line(format!("`{target} {}", elements.join(" ")).as_bytes(), now);
            }
        }
        events(&mut displays);
        let before = snapshot(&mut displays);
        let line = format!("`{targets} {}", message.join(" "));
        if displays.handle_line(line.as_bytes(), now).is_err() {
            prop_assert_eq!(snapshot(&mut displays), before, "{}", line);
            prop_assert!(displays.poll_event().is_none());
        }
    }
}
