//! What a capture records: the default output's monitor, a source, or one application's stream. Shared by the
//! capture (which reports it) and the device layer (which resolves it on the server).

use std::fmt;

use crate::event::Application;

/// What to record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// What the machine is playing: the monitor of the output that is the default when the capture
    /// starts (or reconnects). A later change of default is reported ([`Event::DefaultChanged`]) but does
    /// not move the recording.
    #[default]
    DefaultMonitor,
    /// A source by name (a microphone, or any sink's `.monitor`).
    Source(String),
    /// The first playback stream of the process with this id, alone.
    ApplicationPid(u32),
    /// The first playback stream whose `application.name` (or, failing that, binary) is this, alone.
    ApplicationName(String),
}

impl Target {
    /// Whether `app` is the application this target names (never for device targets).
    pub fn matches(&self, app: &Application) -> bool {
        match self {
            Target::ApplicationPid(pid) => app.pid == Some(*pid),
            Target::ApplicationName(name) => {
                app.name.as_deref() == Some(name.as_str()) || app.binary.as_deref() == Some(name.as_str())
            }
            Target::DefaultMonitor | Target::Source(_) => false,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::DefaultMonitor => f.write_str("the default output's monitor"),
            Target::Source(name) => write!(f, "source {name:?}"),
            Target::ApplicationPid(pid) => write!(f, "with process id {pid}"),
            Target::ApplicationName(name) => write!(f, "named {name:?}"),
        }
    }
}
