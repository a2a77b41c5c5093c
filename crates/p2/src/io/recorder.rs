//! A `.sgrec` recording of the raw bytes with their arrival times (`docs/p2-protocol.md` A.6), written by the
//! pipeline's reader thread through its [`Tap`] and started or stopped from any thread: from the start of a
//! session (`--record FILE`) or while it runs (a page's record button).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::pipeline::Tap;
use crate::recording::RecordingWriter;

/// Why a recording could not be started, written or finished.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A recording is already being written.
    #[error("already recording to {path}")]
    AlreadyRecording {
        /// Its file.
        path: PathBuf,
    },
    /// The file could not be created or written.
    #[error("cannot write the recording {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The recording switch shared by the reader's tap and the threads that start and stop it; clones share it.
///
/// Every read while recording is written whole, in order; a read after [`stop`](Self::stop) is not. Idle, the
/// tap costs one atomic load a read; recording, one uncontended lock.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sluicegate_p2::io::Recorder;
/// use sluicegate_p2::recording::Recording;
///
/// let dir = std::env::temp_dir().join(format!("sluicegate-recorder-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("session.sgrec");
/// let recorder = Recorder::new();
/// let mut tap = recorder.tap();
/// tap(Duration::from_millis(5), b"not recorded\r\n");
/// recorder.start(&path).unwrap();
/// tap(Duration::from_millis(9), b"Cog0  hello\r\n");
/// assert_eq!(recorder.stop().unwrap(), Some(path.clone()));
/// let recording = Recording::parse(&std::fs::read(&path).unwrap()).unwrap();
/// assert_eq!(recording.bytes(&recording.chunks[0]), b"Cog0  hello\r\n");
/// assert_eq!(recording.chunks[0].at, Duration::ZERO, "times count from the recording's first read");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Recorder(Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    /// Set while a writer is open: the tap's fast path.
    active: AtomicBool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    writer: Option<RecordingWriter<BufWriter<File>>>,
    path: Option<PathBuf>,
    /// Subtracted from the reads' arrival times: the recording starts at zero (`None` until its first read).
    offset: Option<Duration>,
    /// The first write error, reported by `stop`.
    error: Option<std::io::Error>,
}

impl Recorder {
    /// A switch that records nothing until [`start`](Self::start).
    pub fn new() -> Self {
        Self::default()
    }

    /// A switch recording to `path` from the first read on, with the reads' times as the pipeline gives them
    /// (since its start): for a recording of a whole session.
    ///
    /// # Errors
    /// [`RecordError::Io`] if the file cannot be created.
    pub fn create(path: &Path) -> Result<Self, RecordError> {
        let recorder = Self::new();
        recorder.open(path, Some(Duration::ZERO))?;
        Ok(recorder)
    }

    /// Starts recording to `path` (replaced if it exists); the recording's times start at its first read.
    ///
    /// # Errors
    /// [`RecordError::AlreadyRecording`], or [`RecordError::Io`] if the file cannot be created.
    pub fn start(&self, path: &Path) -> Result<(), RecordError> {
        self.open(path, None)
    }

    fn open(&self, path: &Path, offset: Option<Duration>) -> Result<(), RecordError> {
        let mut state = self.lock();
        if let Some(current) = &state.path {
            return Err(RecordError::AlreadyRecording { path: current.clone() });
        }
        let io_error = |source| RecordError::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::create(path).map_err(io_error)?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let writer =
            RecordingWriter::new(BufWriter::new(file), u64::try_from(now.as_nanos()).unwrap_or(0)).map_err(io_error)?;
        *state = State {
            writer: Some(writer),
            path: Some(path.to_owned()),
            offset,
            error: None,
        };
        self.0.active.store(true, Ordering::Release);
        Ok(())
    }

    /// The file being recorded to, if any.
    pub fn path(&self) -> Option<PathBuf> {
        self.lock().path.clone()
    }

    /// The reader's tap: records each read while recording.
    pub fn tap(&self) -> Tap {
        let recorder = self.clone();
        Box::new(move |at, bytes| {
            if !recorder.0.active.load(Ordering::Acquire) {
                return;
            }
            let mut state = recorder.lock();
            let offset = *state.offset.get_or_insert(at);
            let Some(writer) = state.writer.as_mut() else {
                return;
            };
            if let Err(error) = writer.write_chunk(at.saturating_sub(offset), bytes) {
                state.writer = None;
                state.error = Some(error);
            }
        })
    }

    /// Stops recording: flushes and closes the file. Returns its path (`None` if nothing was being recorded).
    ///
    /// # Errors
    /// [`RecordError::Io`] with the first error writing it.
    pub fn stop(&self) -> Result<Option<PathBuf>, RecordError> {
        let mut state = self.lock();
        self.0.active.store(false, Ordering::Release);
        let State {
            writer, path, error, ..
        } = std::mem::take(&mut *state);
        let Some(path) = path else { return Ok(None) };
        let error = match writer.map(RecordingWriter::finish) {
            Some(Err(finish_error)) => error.or(Some(finish_error)),
            _ => error,
        };
        match error {
            Some(source) => Err(RecordError::Io { path, source }),
            None => Ok(Some(path)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::Recording;

    #[test]
    fn a_whole_session_keeps_the_pipeline_times_and_a_second_start_is_refused() {
        let dir = std::env::temp_dir().join(format!("sluicegate-recorder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("whole.sgrec");
        let recorder = Recorder::create(&path).unwrap();
        let mut tap = recorder.tap();
        tap(Duration::from_millis(3), b"a");
        tap(Duration::from_millis(7), b"b");
        assert!(matches!(
            recorder.start(&dir.join("other.sgrec")),
            Err(RecordError::AlreadyRecording { .. })
        ));
        assert_eq!(recorder.stop().unwrap(), Some(path.clone()));
        tap(Duration::from_millis(9), b"c");
        assert_eq!(recorder.stop().unwrap(), None, "nothing is being recorded");
        let recording = Recording::parse(&std::fs::read(&path).unwrap()).unwrap();
        let times: Vec<_> = recording.chunks.iter().map(|chunk| chunk.at).collect();
        assert_eq!(times, [Duration::from_millis(3), Duration::from_millis(7)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
