//! What a capture reports besides audio: its life cycle, the server's devices and applications coming and
//! going, and why it ended.

use crate::format::StreamSpec;

/// Why a capture could not start, or ended early.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The requested format, rate, channel count or chunk duration is invalid.
    #[error(transparent)]
    Spec(#[from] crate::format::SpecError),
    /// The capture configuration is inconsistent.
    #[error("invalid capture configuration: {0}")]
    Config(&'static str),
    /// No sound server answered.
    #[error("cannot connect to the sound server {server}: {reason}")]
    Connect {
        /// The server string tried (`default` when none was given).
        server: String,
        /// What libpulse said.
        reason: String,
    },
    /// The connection to the sound server broke (the server exited or was killed).
    #[error("lost the sound server: {0}")]
    ServerGone(String),
    /// No source has this name.
    #[error("no source named {0:?} (see `sluicegate audio devices`)")]
    SourceNotFound(String),
    /// No application with this process id or name is playing.
    #[error("no application {0} is playing (see `sluicegate audio devices`)")]
    ApplicationNotFound(String),
    /// The source being recorded was removed.
    #[error("the source {0:?} was removed")]
    DeviceRemoved(String),
    /// The server refused or ended the record stream.
    #[error("record stream failed: {0}")]
    Stream(String),
}

/// Whether a device plays (sink) or records (source; every sink has a monitor source).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// An output.
    Sink,
    /// An input, or a sink's monitor.
    Source,
}

/// A sink or source known to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// Sink or source.
    pub kind: DeviceKind,
    /// The server's index, valid until the device is removed.
    pub index: u32,
    /// The name to pass as `--source` (for sources).
    pub name: String,
    /// A human-readable description.
    pub description: String,
    /// For a monitor source, the sink it monitors.
    pub monitor_of: Option<String>,
}

/// An application's playback stream (a PulseAudio sink input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    /// The sink input's index, valid while it plays.
    pub index: u32,
    /// `application.name`, as the player set it.
    pub name: Option<String>,
    /// `application.process.id`, as the player's libpulse set it.
    pub pid: Option<u32>,
    /// `application.process.binary`.
    pub binary: Option<String>,
    /// The index of the sink it plays on.
    pub sink: u32,
}

/// The server's devices and playing applications at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Devices {
    /// The default output's name.
    pub default_sink: Option<String>,
    /// The default input's name.
    pub default_source: Option<String>,
    /// Outputs.
    pub sinks: Vec<Device>,
    /// Inputs and monitors.
    pub sources: Vec<Device>,
    /// Applications playing.
    pub applications: Vec<Application>,
}

/// Something that happened to a capture or on its server, delivered in order with the chunks.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// Recording began (again, after a reconnection) from `source`.
    Started {
        /// The source recorded.
        source: String,
        /// The format chunks are in.
        spec: StreamSpec,
    },
    /// A sink or source appeared.
    DeviceAdded(Device),
    /// A sink or source went away.
    DeviceRemoved(Device),
    /// The default sink or source is now `name`.
    DefaultChanged {
        /// Which default.
        kind: DeviceKind,
        /// The new default device's name.
        name: String,
    },
    /// An application started playing.
    ApplicationStarted(Application),
    /// An application stopped playing. When it is the one being recorded, the capture then stops.
    ApplicationStopped(Application),
    /// The server went away; the capture tries to connect again until stopped (only when asked to).
    Reconnecting(CaptureError),
    /// The capture ended because of this error; [`Event::Stopped`] follows.
    Error(CaptureError),
    /// The capture ended; nothing follows.
    Stopped,
}
