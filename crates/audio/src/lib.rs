//! System and per-application audio capture from PulseAudio (or PipeWire's pulse server) into
//! sluicegate's zero-copy buffer pool.
//!
//! A [`Capture`] records the default output's monitor (what the machine plays), any source, or one
//! application's stream alone (by process id or name, through a PulseAudio monitor stream), as s16le or
//! f32le at any rate and channel count the server accepts, in fixed-duration chunks. Each chunk is copied
//! once, from the server's shared memory straight into a buffer of a [`BufferPool`](sluicegate_core::BufferPool),
//! and handed out as a [`PoolBytes`](sluicegate_core::PoolBytes) that returns to the pool when its last
//! clone drops; in the steady state nothing is allocated per chunk. Device and application changes and
//! the capture's end arrive as [`Event`]s in the same channel, in order. Or the messages go, in the same
//! order, to a handler on the capture thread itself ([`Capture::start_with_handler`]), which saves the
//! consumer thread's wake-up for every chunk.
//!
//! The pure parts are usable without a server: [`ChunkAssembler`] (fragments to pooled chunks),
//! [`WavWriter`], [`LevelMeter`] and [`Goertzel`].
//!
//! ```no_run
//! use std::time::Duration;
//! use sluicegate_audio::{Capture, CaptureConfig, Event, LevelMeter, Message, Target};
//!
//! let config = CaptureConfig { target: Target::ApplicationName("firefox".into()), ..CaptureConfig::default() };
//! let capture = Capture::start(config)?;
//! let mut meter = LevelMeter::new(capture.spec());
//! let stop = capture.stop_handle();
//! std::thread::spawn(move || { std::thread::sleep(Duration::from_secs(5)); stop.stop() });
//! while let Some(message) = capture.recv() {
//!     match message {
//!         Message::Chunk(chunk) => meter.handle_chunk(&chunk), // dropping `chunk` recycles its buffer
//!         Message::Event(Event::Error(error)) => eprintln!("capture ended: {error}"),
//!         Message::Event(_) => {}
//!     }
//! }
//! println!("{:?} {:?}", meter.levels(), capture.pool_stats());
//! # Ok::<(), sluicegate_audio::CaptureError>(())
//! ```
#![forbid(unsafe_code)]

mod capture;
mod chunk;
mod device;
mod event;
mod format;
mod meter;
mod target;
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod test_support;
mod wav;

pub use capture::{Capture, CaptureConfig, Message, StopHandle, list_devices};
pub use chunk::ChunkAssembler;
pub use event::{Application, CaptureError, Device, DeviceKind, Devices, Event};
pub use format::{MAX_CHANNELS, MAX_RATE, SampleFormat, SpecError, StreamSpec, decode_samples};
pub use meter::{Goertzel, Level, LevelMeter};
pub use target::Target;
pub use wav::{WavError, WavWriter};
