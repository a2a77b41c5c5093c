//! The Propeller 2 DEBUG displays, live: a display host thread at the terminal's I/O edge, the way back to the
//! P2, snapshot and SAVE files, and the state a browser UI (or any other front end) reads.
//!
//! # The contract
//!
//! - **The receive path never waits for a display.** The terminal's consumer routes every backtick line to a
//!   [`LiveFeed`] (a [`Destination`](sluicegate_p2::Destination) in its router), which hands it, as the same
//!   pooled buffer with its arrival time, to the display host thread over a bounded queue: one reference
//!   count and one queue slot, no allocation, no lock, no wait. If the host falls that far behind (a queue of
//!   [`FEED_QUEUE`] lines), a line is dropped and counted ([`Status::display_messages_dropped`]), never the
//!   message itself; only a line the P2 waits on (a `PC_KEY`/`PC_MOUSE` request, which stops the P2 until its
//!   answer) waits for room.
//! - **Drawing is coalesced.** The host applies each line to the
//!   [`Displays`](sluicegate_p2_display::Displays) models, which draw into back buffers and render lazily; a
//!   frame is asked for only when someone looks: a viewer, at most once per [`FRAME_INTERVAL`], or a snapshot.
//! - **`PC_KEY`/`PC_MOUSE` are answered by the host**, exactly once per request, with the bytes the display
//!   model computes from the input a page gave ([`LiveHandle::key`], [`LiveHandle::pointer`],
//!   [`LiveHandle::wheel`]): with no page, `PC_KEY` gets 0 and `PC_MOUSE` the outside value. An input without a
//!   way back (a replay, standard input) counts each reply as not sent and says so once ([`Notice`]).
//! - **A reboot** (golden sync) closes every display, as the P2's program declares them again.
//! - **Files**: with a snapshot directory, every open display is written as `DIR/<name>.png` at
//!   [`Session::finish`] and on [`Session::write_snapshots`] (BITMAP, PLOT and SPECTRO at logical size, the
//!   others as drawn; names lower-cased and escaped as the `--windows` files are); with a save directory, a
//!   `SAVE 'f'` writes `f.bmp` (or `f.png`) inside it, never outside; without one it is counted and ignored.
//!
//! # Wiring (a front end)
//!
//! ```text
//! SourceSpec::open ─▶ Opened { source, transmitter } ─▶ Pipeline::start(source, .., Some(recorder.tap()))
//! Session::start(config, transmitter, recorder, pipeline.monitor())
//! router.add_destination(session.take_feed().unwrap(), feed_subscription)   // consumer thread
//! … route until the input ends (the host keeps serving viewers after it) …
//! drop(router); session.finish()  // snapshots written, counters returned
//! ```
//!
//! # How a UI uses it
//!
//! The UI holds a [`LiveHandle`] (cheap to clone, `Send + Sync`; nothing in it needs a tokio runtime, but
//! [`Viewer::changed`] is an `async fn` a tokio task awaits):
//!
//! 1. **Each connected page** gets a [`Viewer`] ([`LiveHandle::viewer`]). Its first [`Viewer::poll`] returns
//!    the whole current state: every open display ([`DisplayInfo`]: id, name, type, caption, POS, logical
//!    size, DOTSIZE scale, HIDEXY) with its whole frame, the terminal's scrollback (the last
//!    [`SCROLLBACK_LINES`] lines, `reset` set) and the [`Status`]. Then the page's task loops: `await
//!    viewer.changed()` (false once the session has finished), `viewer.poll()`, send what it holds. The host
//!    publishes at most once per [`FRAME_INTERVAL`], so a page gets at most one [`Update`] a frame; a slow page
//!    that polls less often gets the union of the changes it missed (intermediate frames skipped, never
//!    pixels lost), and nothing it does can slow the host or the receive path.
//! 2. **Pixels** come as [`FrameUpdate`]s: a rectangle of the display's image (image pixels, top-left origin)
//!    as RGBA bytes, ready for an `ImageData`; show the image `scale` times larger, nearest-neighbour.
//! 3. **Input** goes back per display: [`LiveHandle::key`], [`LiveHandle::pointer`] (position in the display's
//!    client pixels: the panel at its own drawn size, image × scale, top-left origin; `None` when the pointer
//!    leaves) with the buttons held, [`LiveHandle::wheel`]. They feed the `PC_KEY`/`PC_MOUSE` answers.
//!    [`LiveHandle::hover_text`] gives the read-out PNut shows by its cross cursor (unless HIDEXY).
//! 4. **Typed text** goes to the P2 with [`LiveHandle::transmit`] (it writes at once on the caller's thread;
//!    from an async task, a few bytes are fine inline, or use `spawn_blocking`).
//! 5. **Controls**: [`LiveHandle::reset`] (a pulse on DTR or RTS, serial port only; a typed error
//!    otherwise), [`LiveHandle::start_recording`] / [`LiveHandle::stop_recording`] (`.sgrec`). Pause and
//!    resume of the view are the page's own business: the receive path never pauses.
//!
//! ```
//! use sluicegate_p2::io::{Pipeline, PipelineConfig, Recorder, Scenario, SourceSpec, Pace};
//! use sluicegate_p2::{KindSet, Router, Subscription};
//! use sluicegate_p2_live::{Session, SessionConfig};
//!
//! let spec = SourceSpec::Simulate { scenario: Scenario::Hsv16, pace: Some(Pace::Burst) };
//! let opened = spec.open().unwrap();
//! let recorder = Recorder::new();
//! let pipeline = Pipeline::start(opened.source, PipelineConfig::default(), Some(recorder.tap())).unwrap();
//! let mut session =
//!     Session::start(SessionConfig::new(spec), opened.transmitter, recorder, pipeline.monitor()).unwrap();
//! let mut viewer = session.handle().viewer();
//! let feed = session.take_feed().unwrap();
//! let subscription = feed.subscription();
//! let mut router = Router::new();
//! router.add_destination(feed, subscription).unwrap();
//! while let Some(emitted) = pipeline.outputs().recv() {
//!     router.route(&emitted.output);
//! }
//! router.flush();
//! drop(router);
//! pipeline.finish().unwrap();
//! let stats = session.finish();
//! assert_eq!(stats.lines, 65_539, "every line reached the displays");
//! let update = viewer.poll();
//! assert_eq!(update.opened.len(), 3, "j, k and l");
//! ```
#![forbid(unsafe_code)]

mod board;
mod feed;
mod files;
mod handle;
mod host;
mod status;

pub use board::{DisplayInfo, FrameUpdate, LineKind, SCROLLBACK_LINES, TerminalLine, TerminalUpdate, Update, Viewer};
pub use feed::{FEED_QUEUE, LiveFeed};
pub use handle::{ControlError, LiveHandle};
pub use host::{FRAME_INTERVAL, HostStats, Notice, Notices, Session, SessionConfig};
pub use sluicegate_p2_display::{Buttons, Key, Rect, WindowType};
pub use status::Status;
