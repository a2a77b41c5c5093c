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

    /// Prints the one-line error and gives the exit code.
    pub fn report(self) -> ExitCode {
        eprintln!("sluicegate: {:#}", self.error);
        ExitCode::from(self.code)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit {}: {:#}", self.code, self.error)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self::runtime(error)
    }
}
