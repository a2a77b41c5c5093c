//! Exit codes that mean something: 0 success (a closed output pipe included), 1 a failure while running,
//! 2 bad usage, 3 bad input data (a corrupt or unreadable file), 4 a device or peer that cannot be used.

use std::fmt;
use std::process::ExitCode;

/// An error with the exit code it maps to.
pub struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    pub fn runtime(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: 1,
            error: error.into(),
        }
    }
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: 2,
            error: error.into(),
        }
    }
    pub fn input(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: 3,
            error: error.into(),
        }
    }
    pub fn device(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: 4,
            error: error.into(),
        }
    }

    /// The same failure, its message followed by `; note` (what was saved before it, say).
    #[must_use]
    pub fn with_note(self, note: &str) -> Self {
        Self {
            code: self.code,
            error: anyhow::anyhow!("{}; {note}", one_line(&self.error)),
        }
    }

    /// Prints the one-line error and gives the exit code.
    pub fn report(self) -> ExitCode {
        eprintln!("sluicegate: {}", one_line(&self.error));
        ExitCode::from(self.code)
    }
}

/// The error and its causes on one line, each said once: a cause whose text the line already holds (an
/// error's message often embeds its source) is not repeated.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit {}: {}", self.code, one_line(&self.error))
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self::runtime(error)
    }
}

/// A capture that cannot start or ended early: no sound server, no such source or application, or one lost
/// while capturing is a device or peer that cannot be used (4); a stream no server could give is bad usage (2).
impl From<sluicegate_audio::CaptureError> for Failure {
    fn from(error: sluicegate_audio::CaptureError) -> Self {
        use sluicegate_audio::CaptureError;
        match error {
            CaptureError::Spec(_) | CaptureError::Config(_) => Failure::usage(error),
            CaptureError::Connect { .. }
            | CaptureError::ServerGone(_)
            | CaptureError::SourceNotFound(_)
            | CaptureError::ApplicationNotFound(_)
            | CaptureError::DeviceRemoved(_)
            | CaptureError::Stream(_) => Failure::device(error),
            _ => Failure::runtime(error),
        }
    }
}

/// A p2 source that cannot be opened: a port or peer that cannot be used is 4, a bad capture file 3, a
/// baud rate or address no source could take 2.
impl From<sluicegate_p2::io::SourceError> for Failure {
    fn from(error: sluicegate_p2::io::SourceError) -> Self {
        use sluicegate_p2::io::SourceError;
        match error {
            // Not HOST:PORT at all: the command line is wrong, not the peer.
            SourceError::Tcp { source: ref cause, .. } if cause.kind() == std::io::ErrorKind::InvalidInput => {
                Failure::usage(error)
            }
            SourceError::PortMissing { .. }
            | SourceError::PortBusy { .. }
            | SourceError::Port { .. }
            | SourceError::Tcp { .. } => Failure::device(error),
            SourceError::BadBaud { .. } => Failure::usage(error),
            _ => Failure::input(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Says its source in its own message, as `thiserror`'s `{source}` does.
    #[derive(Debug)]
    struct Embeds(std::io::Error);

    impl fmt::Display for Embeds {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "cannot read /x: {}", self.0)
        }
    }

    impl std::error::Error for Embeds {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_is_said_once_whether_or_not_the_message_embeds_it() {
        let missing = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let embedded = anyhow::Error::new(Embeds(missing()));
        assert_eq!(one_line(&embedded), "cannot read /x: no such file");
        let wrapped = anyhow::Error::new(missing()).context("cannot open the log");
        assert_eq!(one_line(&wrapped), "cannot open the log: no such file");
    }
}
