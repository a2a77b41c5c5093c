//! The Propeller 2 debug stream as a pure library: bytes in, classified messages out, routed to destinations
//! (p2-protocol Part A).
//!
//! - [`Deframer`] (A.1, A.2, A.5): sans-IO framing of debugger packets, 0xDB packets, zero padding and text
//!   lines; every byte comes out in a [`Message`] or a counted [`Discard`], whatever the chunking.
//! - [`classify()`] and friends (A.3): the one-byte [`MessageKind`], golden sync, backtick declarations and
//!   updates, debugger packet fields.
//! - [`Router`] (A.4): fan-out of the same reference-counted buffer to every [`Destination`] registered for a
//!   kind, the [`WindowRegistry`], reboot and window-error events.
//! - [`recording`]: captures on disk (ours, and the reference terminal's), parsed without I/O.
//! - [`source`] and [`pipeline`] (the I/O edge, A.5, A.6): serial port, replay, stdin, TCP and simulator
//!   sources; a reader thread, the core byte ring and a supervised extraction worker.
//! - [`loader`] (B.1): the ROM loader's text, the chip's answer, and the ROM side as a state machine.
//! - [`simulate`]: pure stream generators (the HSV16 burst of A.7, a mixed stream, a demo session) with the
//!   messages they should give.
//!
//! The library owns no thread, port or clock: time comes in as [`Instant`](std::time::Instant) arguments.
//! Messages are [`PoolBytes`](sluicegate_core::PoolBytes) slices of the pooled buffers the bytes arrived in;
//! in the steady state nothing is copied or allocated per message. On one thread, [`Deframer::poll_ref`] and
//! [`Router::route_ref`] hand them out borrowed ([`MessageRef`]), without even a reference count, and a
//! destination that keeps one takes its owned handle; [`Deframer::poll_output`] gives owned [`Output`]s to send to
//! another thread.
//!
//! Tests: unit tests beside the code; `tests/` holds the A.1 property tests (any split gives the same messages,
//! every byte accounted for, no panic on arbitrary input), the real captures, HSV16, the demo session and the
//! counting-allocator test. The fuzz target (nightly, outside the workspace):
//! `cd fuzz && cargo +nightly fuzz run deframe_route`. Benches: `cargo bench -p sluicegate-p2`
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
mod deframe;
pub mod loader;
mod message;
pub mod pipeline;
pub mod recording;
mod route;
pub mod simulate;
pub mod source;
mod window;

pub use classify::{
    Backtick, DebuggerStatus, Declaration, DecodeError, Tokens, WindowType, classify, without_line_end,
};
pub use deframe::{
    Config, ConfigError, DB_PAYLOAD_MAX, DEBUGGER_PACKET_LEN, DbHeader, Deframer, FramingCounters, KindCount,
    MAX_LINE_LIMIT, PerKind,
};
pub use message::{
    CogId, Discard, DiscardReason, DiscardRef, Flags, KindSet, Message, MessageKind, MessageRef, Output, OutputRef,
};
pub use route::{
    Counters, Destination, DestinationId, Event, Routed, Router, RouterError, RoutingCounters, Subscription,
    WindowUpdate, WindowUpdates, WindowUpdatesIter,
};
pub use window::{Window, WindowError, WindowId, WindowRegistry};
