//! The front ends' handle on a live session: viewers, input for the displays, typed bytes for the P2, reset
//! and recording.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Sender;
use sluicegate_core::handover::Nudger;
use sluicegate_p2::io::{RecordError, Recorder, ResetLine, TransmitError, Transmitter};
use sluicegate_p2_display::{Buttons, Key};

use crate::board::{Board, Viewer};
use crate::host::Command;
use crate::status::Status;

/// Why a control did not work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The input has no way back to the P2 (a replay, standard input).
    #[error("{input} has no way back to the P2: typing needs a serial port, TCP or the simulator")]
    CannotTransmit {
        /// The input.
        input: String,
    },
    /// Only a serial port has a reset line.
    #[error("cannot reset the P2 through {input}: only a serial port has a reset line (DTR/RTS)")]
    NoResetLine {
        /// The input.
        input: String,
    },
    /// The write or the reset pulse failed.
    #[error(transparent)]
    Transmit(#[from] TransmitError),
    /// The recording could not be started or written.
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// A live session as a front end sees it; clones share it. See the crate docs for how a UI uses it.
#[derive(Clone, Debug)]
pub struct LiveHandle {
    board: Arc<Board>,
    commands: Sender<Command>,
    /// Wakes the host while it waits for lines.
    nudger: Nudger,
    transmitter: Option<Transmitter>,
    recorder: Recorder,
    reset_line: ResetLine,
    input: Arc<str>,
}

impl LiveHandle {
    pub(crate) fn new(
        board: Arc<Board>,
        commands: Sender<Command>,
        nudger: Nudger,
        transmitter: Option<Transmitter>,
        recorder: Recorder,
        reset_line: ResetLine,
        input: &str,
    ) -> Self {
        Self {
            board,
            commands,
            nudger,
            transmitter,
            recorder,
            reset_line,
            input: input.into(),
        }
    }

    pub(crate) fn command(&self, command: Command) {
        if self.commands.send(command).is_ok() {
            self.nudger.nudge();
        }
    }

    /// A new page's view: its first [`Viewer::poll`] gives the whole current state.
    pub fn viewer(&self) -> Viewer {
        let viewer = self.board.viewer();
        self.command(Command::Refresh);
        viewer
    }

    /// A key typed into display `display` ([`DisplayInfo::id`](crate::DisplayInfo::id)): a `PC_KEY` within
    /// 100 ms reads it.
    pub fn key(&self, display: u32, key: Key) {
        self.command(Command::Key {
            display,
            key,
            at: Instant::now(),
        });
    }

    /// The pointer over display `display`, in its client pixels (the panel at its drawn size, image × scale,
    /// top-left origin), or `None` when it left; and the buttons held. `PC_MOUSE` reports it in the display's
    /// units.
    pub fn pointer(&self, display: u32, position: Option<(i32, i32)>, buttons: Buttons) {
        self.command(Command::Pointer {
            display,
            position,
            buttons,
        });
    }

    /// A wheel step over display `display` (`up` away from the user): a `PC_MOUSE` within 100 ms reads it.
    pub fn wheel(&self, display: u32, up: bool) {
        self.command(Command::Wheel {
            display,
            up,
            at: Instant::now(),
        });
    }

    /// The pointer read-out PNut shows next to its cross cursor at client position `position` of display
    /// `display`, in the display's units (`x,y` for a BITMAP, a sample value for a SCOPE…); `None` with HIDEXY,
    /// where the display shows none, or once the display or the session is gone. Asked of the display host,
    /// which answers between two lines.
    pub async fn hover_text(&self, display: u32, position: (i32, i32)) -> Option<String> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.command(Command::Hover {
            display,
            position,
            reply,
        });
        answer.await.ok().flatten()
    }

    /// Sends `bytes` to the P2 now (typed text), on the calling thread; each call's bytes go out together.
    ///
    /// # Errors
    /// [`ControlError::CannotTransmit`] for a replay or stdin; [`ControlError::Transmit`] if the write fails.
    pub fn transmit(&self, bytes: &[u8]) -> Result<(), ControlError> {
        let transmitter = self.transmitter.as_ref().ok_or_else(|| ControlError::CannotTransmit {
            input: self.input.to_string(),
        })?;
        Ok(transmitter.transmit(bytes)?)
    }

    /// Whether [`transmit`](Self::transmit) can reach the P2.
    pub fn can_transmit(&self) -> bool {
        self.transmitter.is_some()
    }

    /// Resets the P2: a 10 ms pulse on the session's reset line (DTR, or RTS).
    ///
    /// # Errors
    /// [`ControlError::NoResetLine`] unless the input is a serial port; [`ControlError::Transmit`] if the
    /// driver refuses.
    pub fn reset(&self) -> Result<(), ControlError> {
        match &self.transmitter {
            Some(transmitter) if transmitter.can_reset() => Ok(transmitter.reset(self.reset_line)?),
            _ => Err(ControlError::NoResetLine {
                input: self.input.to_string(),
            }),
        }
    }

    /// Starts recording the raw input to `path` (`.sgrec`, for `--replay`).
    ///
    /// # Errors
    /// [`ControlError::Record`]: already recording, or the file cannot be created.
    pub fn start_recording(&self, path: &Path) -> Result<(), ControlError> {
        self.recorder.start(path)?;
        self.command(Command::Refresh);
        Ok(())
    }

    /// Stops recording; returns the file written (`None` if nothing was being recorded).
    ///
    /// # Errors
    /// [`ControlError::Record`] with the first error writing the file.
    pub fn stop_recording(&self) -> Result<Option<PathBuf>, ControlError> {
        let path = self.recorder.stop();
        self.command(Command::Refresh);
        Ok(path?)
    }

    /// The status as last published: refreshed every 500 ms while a viewer is open, and when the input ends,
    /// a display opens or closes, or a recording starts or stops.
    pub fn status(&self) -> Status {
        self.board.status()
    }
}
