//! The I/O edge of the receive path (`docs/p2-protocol.md` A.5, A.6), behind the default feature `io`: the
//! [`source`]s (serial port, replay, stdin, TCP, simulator), one way to open them from a description
//! ([`SourceSpec`]), and the threaded [`pipeline`] (a reader thread, the core byte ring, a supervised
//! extraction worker) whose outputs a front end routes; the way back to the P2 ([`transmit`]), and the
//! `.sgrec` [`recorder`] the reader feeds.
//!
//! Everything outside this module is sans-IO: it owns no thread, port or clock. Fuzz targets and front ends
//! that bring their own I/O depend on `sluicegate-p2` with `default-features = false` and do without
//! `serialport`.

mod open;
pub mod pipeline;
pub mod recorder;
pub mod source;
pub mod transmit;

pub use open::{Opened, Origin, SourceSpec};
pub use pipeline::{
    ConsumerWait, Emitted, Next, Pipeline, PipelineConfig, PipelineError, PipelineEvent, PipelineMonitor,
    PipelineStats, Tap,
};
pub use recorder::{RecordError, Recorder};
pub use source::{DEFAULT_BAUD, Pace, ResetLine, Scenario, Source, SourceError, Speed, UnknownScenario};
pub use transmit::{TransmitError, Transmitter};
