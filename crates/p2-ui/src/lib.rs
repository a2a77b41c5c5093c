//! The Propeller 2 debug terminal in a browser: a small local web server, started by `sluicegate p2 --ui`, that
//! serves one page showing the terminal text and every DEBUG display live, and takes typed text, keys and the
//! mouse back to the P2.
//!
//! # The contract
//!
//! - **A thin view.** The state lives in the live session ([`sluicegate_p2_live`]): the display models own their
//!   pixels, so the page draws exactly what `--snapshots` writes. The page only blits rectangles of RGBA pixels
//!   and sends input back; its HTML, CSS and JavaScript are embedded in the binary (`assets/`, no build step,
//!   nothing fetched from the network).
//! - **Live and cheap.** Each page gets at most one update per animation frame, and only as fast as it draws
//!   them ([`wire`] and the page's acknowledgements); a slow or stalled page gets fewer, larger updates and
//!   never slows the receive path, which never waits for a page.
//! - **Only the page it served.** Loopback by default; every WebSocket must come from a page this server served
//!   (`Host`, `Origin`) and carry the run's random token, printed in the URL's fragment ([`security`]). The
//!   server only ever sends its embedded files, reads no request body, and refuses page messages over
//!   [`wire::MESSAGE_MAX`] bytes.
//!
//! # Examples
//!
//! ```
//! use sluicegate_p2::io::{Pipeline, PipelineConfig, Recorder, Scenario, SourceSpec, Pace};
//! use sluicegate_p2_live::{Session, SessionConfig};
//! use sluicegate_p2_ui::{UiConfig, UiServer, parse_address};
//!
//! let spec = SourceSpec::Simulate { scenario: Scenario::Demo, pace: Some(Pace::Burst) };
//! let opened = spec.open().unwrap();
//! let recorder = Recorder::new();
//! let pipeline = Pipeline::start(opened.source, PipelineConfig::default(), Some(recorder.tap())).unwrap();
//! let session = Session::start(
//!     SessionConfig::new(spec).terminal_text(true),
//!     opened.transmitter,
//!     recorder,
//!     pipeline.monitor(),
//! )
//! .unwrap();
//! let server = UiServer::start(UiConfig::new(parse_address(":0").unwrap()), session.handle()).unwrap();
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! assert!(server.url().contains("/#token="));
//! server.stop();
//! # drop(pipeline);
//! ```
#![forbid(unsafe_code)]

mod assets;
#[cfg(feature = "devtools")]
pub mod devtools;
mod page;
pub mod security;
mod server;
pub mod wire;

pub use server::{AddressError, DEFAULT_ADDRESS, PAGES_MAX, UiConfig, UiError, UiServer, parse_address};
