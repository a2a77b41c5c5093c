//! The Propeller 2 debug stream as a pure library: bytes in, classified messages out, routed to destinations
//! (`docs/p2-protocol.md` Part A).
//!
//! - [`Deframer`] (A.1, A.2, A.5): sans-IO framing of debugger packets, 0xDB packets, zero padding and text
//!   lines; every byte comes out in a [`Message`] or a counted [`Discard`], whatever the chunking.
//! - [`classify()`] and friends (A.3): the one-byte [`MessageKind`], golden sync, backtick declarations and
//!   updates, debugger packet fields.
//! - [`Router`] (A.4): fan-out of the same reference-counted buffer to every [`Destination`] registered for a
//!   kind, the [`WindowRegistry`], reboot and window-error events.
//! - [`recording`]: captures on disk (ours, and the reference terminal's), parsed without I/O.
//! - [`pst`], [`debug_log`], [`window_files`]: how every front end shows terminal text (PST control codes),
//!   writes the debug log (B.5) and names per-window files.
//! - [`loader`] (B.1): the ROM loader's text, the chip's answer, and the ROM side as a state machine.
//! - [`simulate`]: pure stream generators (the HSV16 burst of A.7, a mixed stream, a demo session) with the
//!   messages they should give.
//! - [`io`] (the default feature `io`; A.5, A.6): the I/O edge. Sources (serial port, replay, stdin, TCP,
//!   simulator) opened from one description ([`io::SourceSpec`]), and the threaded [`io::Pipeline`] (a reader
//!   thread, the core byte ring, a supervised extraction worker that keeps the cumulative counters across its
//!   restarts).
//!
//! The section numbers (A.1 … B.5) are those of `docs/p2-protocol.md`.
//!
//! Outside [`io`] the library owns no thread, port or clock: time comes in as [`Instant`](std::time::Instant)
//! arguments, and `default-features = false` builds it without `serialport` (fuzz targets, front ends with
//! their own I/O).
//!
//! Messages are [`PoolBytes`](sluicegate_core::PoolBytes) slices of the pooled buffers the bytes arrived in;
//! in the steady state nothing is copied or allocated per message. On one thread, [`Deframer::poll_ref`] and
//! [`Router::route_ref`] hand them out borrowed ([`MessageRef`]), without even a reference count, and a
//! destination that keeps one takes its owned handle; [`Deframer::poll_output`] gives owned [`Output`]s to send to
//! another thread.
//!
//! Tests: unit tests beside the code; `tests/` holds the A.1 property tests (any split gives the same messages,
//! every byte accounted for, no panic on arbitrary input), the real captures, HSV16, the demo session and the
//! counting-allocator test. Fuzz targets (nightly, outside the workspace), one per parser of untrusted bytes:
//! `cd fuzz && cargo +nightly fuzz run deframe_route` (also `recording_parse`, `loader_reply`). Benches: `cargo bench -p sluicegate-p2`
//! (figures in `BENCHMARKS.md`).
//!
//! ```
//! use std::time::Instant;
//! use sluicegate_p2::{Config, Deframer, Destination, KindSet, Routed, Router, Subscription};
//!
//! #[derive(Default)]
//! struct Count(usize);
//! impl Destination for Count {
//!     fn deliver(&mut self, routed: &Routed<'_>) {
//!         if let Routed::WindowUpdate(_) = routed {
//!             self.0 += 1;
//!         }
//!     }
//! }
//!
//! let mut deframer = Deframer::new(Config::default()).unwrap();
//! let mut windows = Count::default();
//! let mut router = Router::new();
//! router.add_destination(&mut windows, Subscription::new(KindSet::EMPTY).with_window_updates()).unwrap();
//!
//! deframer.handle_bytes(b"`bitmap j size 256 256\r\n`bitmap k\r\n`j k $FF\r\n", Instant::now());
//! while let Some(output) = deframer.poll_ref() {
//!     router.route_ref(&output);
//! }
//! drop(router);
//! assert_eq!(windows.0, 2, "the update reached j and k");
//! ```
#![forbid(unsafe_code)]

mod classify;
mod counters;
pub mod debug_log;
mod deframe;
#[cfg(feature = "io")]
pub mod io;
pub mod loader;
mod message;
pub mod pst;
pub mod recording;
mod route;
pub mod simulate;
mod window;
pub mod window_files;
mod wire;

pub use classify::{
    Backtick, DebuggerStatus, Declaration, DecodeError, Tokens, WindowType, classify, without_line_end,
};
pub use counters::{FramingCounters, KindCount, OutputCounters, PerKind};
pub use deframe::{Config, ConfigError, DbHeader, Deframer, MAX_LINE_LIMIT};
pub use message::{
    CogId, Discard, DiscardReason, DiscardRef, Flags, KindSet, Message, MessageKind, MessageRef, Output, OutputRef,
};
pub use route::{
    Destination, DestinationId, Event, Routed, Router, RouterError, RoutingCounters, Subscription, WindowUpdate,
    WindowUpdates, WindowUpdatesIter,
};
pub use window::{Window, WindowError, WindowId, WindowRegistry};
pub use wire::{DB_PAYLOAD_MAX, DEBUGGER_PACKET_LEN};
