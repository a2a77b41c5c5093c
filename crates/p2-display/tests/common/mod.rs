//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Instant;

use sluicegate_p2_display::{DisplayId, Displays, Event, Framebuffer, write_png};

/// Applies each line; panics on a drop.
pub fn feed(displays: &mut Displays, lines: &[&str]) {
    let now = Instant::now();
    for line in lines {
        if let Err(dropped) = displays.handle_line(line.as_bytes(), now) {
            panic!("{line:?}: {dropped}");
        }
    }
}

/// The id of the open display called `name`.
pub fn id(displays: &Displays, name: &str) -> DisplayId {
    displays.find(name).unwrap_or_else(|| panic!("no display {name}")).id()
}

/// A copy of a display's front buffer.
pub fn front(displays: &mut Displays, name: &str) -> Framebuffer {
    let id = id(displays, name);
    displays.frame(id).expect("open").image.clone()
}

/// Writes `image` as `<test tmp dir>/pictures/<file>.png` for a person to look at; returns the path.
pub fn save_png(image: &Framebuffer, file: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pictures");
    std::fs::create_dir_all(&dir).expect("picture directory");
    let path = dir.join(format!("{file}.png"));
    let mut bytes = Vec::new();
    write_png(image, &mut bytes).expect("encode");
    std::fs::write(&path, bytes).expect("write picture");
    path
}

/// Writes `image` magnified `factor` times (nearest neighbour), for small pictures.
pub fn save_png_zoomed(image: &Framebuffer, file: &str, factor: u32) -> PathBuf {
    let (w, h) = (image.width() * factor, image.height() * factor);
    let pixels = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| image.get(x / factor, y / factor).expect("inside"))
        .collect();
    save_png(&Framebuffer::from_pixels(w, h, pixels).expect("size"), file)
}

/// All pending events.
pub fn events(displays: &mut Displays) -> Vec<Event> {
    std::iter::from_fn(|| displays.poll_event()).collect()
}

/// The HSV16 burst of docs/p2-displays.md D2: three declarations, then 65,536 feeds `` `j k l $v ``.
pub fn hsv16_burst() -> Vec<String> {
    let mut lines = vec![
        "`bitmap j title 'HSV16' pos 100 985 size 256 256 trace 4 hsv16\r\n".to_owned(),
        "`bitmap k title 'HSV16W' pos 370 985 size 256 256 trace 4 hsv16w\r\n".to_owned(),
        "`bitmap l title 'HSV16X' pos 640 985 size 256 256 trace 4 hsv16x\r\n".to_owned(),
    ];
    lines.extend((0..65_536u32).map(|v| format!("`j k l ${v:X}\r\n")));
    lines
}
