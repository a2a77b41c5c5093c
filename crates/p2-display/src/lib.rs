//! The Propeller 2 DEBUG displays as sans-IO models, drawn as PNut draws them (docs/p2-displays.md).
//!
//! [`Displays`] is the registry of one P2 session's displays (at most 32). Feed it every backtick line with its
//! arrival time ([`Displays::handle_line`]); it scans the line with PNut's element scanner, checks the whole
//! message against PNut's grammar (B.1) — a message PNut would drop is dropped whole, reported as a typed
//! [`Dropped`] and counted — and applies it: a declaration opens a display, a feed runs on each target.
//! Then:
//!
//! - [`Displays::poll_event`] gives what the caller must act on: displays [opened](Event::Opened) and
//!   [closed](Event::Closed), [`Event::Reply`] bytes to send to the P2 for `PC_KEY`/`PC_MOUSE` (it is blocked
//!   until they arrive), [`Event::Save`] images to write for `SAVE` (names already checked to stay inside a
//!   directory), and refusals.
//! - [`Displays::frame`] gives a display's front buffer (`0x00RRGGBB` pixels; BITMAP, PLOT and SPECTRO at
//!   logical size with their DOTSIZE as `scale`), the rectangle changed since the last look, and a refresh
//!   counter, so a UI pushes only changes, at its own frame rate.
//! - [`Displays::handle_key`], [`handle_pointer`](Displays::handle_pointer) and
//!   [`handle_wheel`](Displays::handle_wheel) feed each display's input, from which PC_KEY/PC_MOUSE replies are
//!   computed (key latched 100 ms, position in the display's units, pixel under the pointer).
//! - [`Displays::stats`] counts, per display type, messages applied, dropped by reason, and frames shown.
//! - [`write_png`] / [`write_bmp`] encode a framebuffer for snapshots and SAVE files.
//!
//! The library owns no thread, file or clock. Drawing follows PNut's own algorithms (anti-aliased lines and
//! shapes with gamma-2 blending, exact box spans, the 19 colour modes) and text uses DejaVu Sans Mono from the
//! `dejavu` crate, so the pixels are the same everywhere. Models are cheap to feed: BITMAP writes pixels into a
//! back buffer and copies only the changed rectangle at each RATE refresh; TERM keeps a cell grid and renders
//! the changed cells when a frame is asked for; LOGIC, SCOPE, FFT, SPECTRO, MIDI and a trailing SCOPE_XY record
//! what their last refresh shows (a position in their sample history) and draw it when a frame is asked for, so a
//! burst of samples costs one drawing per frame taken. In the steady state a feed of samples or pixels allocates
//! nothing.
//!
//! ```
//! use std::time::Instant;
//! use sluicegate_p2_display::{Applied, Displays, Event, Key, Request};
//!
//! let mut displays = Displays::new();
//! let now = Instant::now();
//! displays.handle_line(b"`bitmap b1 title 'T1' size 4 4 rgb24 rate 16\r\n", now).unwrap();
//! let id = match displays.poll_event() {
//!     Some(Event::Opened { display, .. }) => display,
//!     other => panic!("{other:?}"),
//! };
//! displays.handle_line(b"`b1 $FF0000 $00FF00", now).unwrap();
//! assert_eq!(displays.frame(id).unwrap().image.get(0, 0), Some(0), "RATE 16: not shown yet");
//! for _ in 0..14 {
//!     displays.handle_line(b"`b1 $0000FF", now).unwrap();
//! }
//! let frame = displays.frame(id).unwrap();
//! assert_eq!(frame.image.get(0, 0), Some(0xFF0000));
//! assert_eq!(frame.frames, 1);
//!
//! // A message PNut would drop changes nothing and says why.
//! let dropped = displays.handle_line(b"`b1 $FFFFFF bogus", now).unwrap_err();
//! assert_eq!(dropped.reason, sluicegate_p2_display::DropReason::UnknownWord);
//!
//! // PC_KEY: the key typed into that display within 100 ms, as one little-endian long.
//! displays.handle_key(id, Key::Byte(b'a'), now);
//! assert!(matches!(displays.handle_line(b"`b1 pc_key", now), Ok(Applied::Fed { targets: 1, .. })));
//! match displays.poll_event() {
//!     Some(Event::Reply { request: Request::Key, reply, .. }) => assert_eq!(reply.as_bytes(), [0x61, 0, 0, 0]),
//!     other => panic!("{other:?}"),
//! }
//! ```
#![forbid(unsafe_code)]

pub mod color;
mod display;
mod draw;
mod element;
mod extended;
mod fourier;
mod frame;
mod image;
mod input;
mod pack;
mod registry;
mod text;

pub use display::Display;
pub use element::Keyword;
pub use frame::{Framebuffer, Rect};
pub use image::{read_png, write_bmp, write_png};
pub use input::{Buttons, INPUT_LATCH, Key, MOUSE_OUTSIDE, PIXEL_OUTSIDE, Reply};
pub use registry::{
    Applied, DISPLAYS_MAX, DisplayId, Displays, DropCounts, DropReason, Dropped, Event, Frame, LINE_MAX, LayerSource,
    NoLayers, RECORDS_MAX, Request, SaveRefused, Stats, TypeStats,
};
pub use sluicegate_p2::WindowType;
pub use text::TextMetrics;
