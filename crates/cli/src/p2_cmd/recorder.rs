//! `--record FILE`: the raw bytes with their arrival times (`.sgrec`), written by the pipeline's reader thread
//! through its tap and finished by the terminal at exit.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use sluicegate_p2::io::Tap;
use sluicegate_p2::recording::RecordingWriter;

/// The `--record` file, shared by the reader thread's tap and the main thread, which finishes it at exit
/// whatever the reader is doing (a stdin reader blocked in a read never ends): every byte read until then is
/// in the file, in whole records. The lock is taken once a read, and is uncontended until the exit.
#[derive(Clone)]
pub struct Recorder(Arc<Mutex<Recorded>>);

struct Recorded {
    /// `None` once finished, or after a write error.
    writer: Option<RecordingWriter<BufWriter<File>>>,
    /// The first write error, reported at exit.
    error: Option<std::io::Error>,
}

impl Recorder {
    pub fn create(path: &Path) -> anyhow::Result<Recorder> {
        let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let writer = RecordingWriter::new(BufWriter::new(file), u64::try_from(now.as_nanos()).unwrap_or(0))?;
        Ok(Recorder(Arc::new(Mutex::new(Recorded {
            writer: Some(writer),
            error: None,
        }))))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Records each read; a read after [`Recorder::finish`] is not (nor is it framed).
    pub fn tap(&self) -> Tap {
        let recorder = self.clone();
        Box::new(move |at, bytes| {
            let mut recorded = recorder.lock();
            if let Some(writer) = recorded.writer.as_mut()
                && let Err(error) = writer.write_chunk(at, bytes)
            {
                recorded.writer = None;
                recorded.error = Some(error);
            }
        })
    }

    /// Flushes the file and ends the recording.
    ///
    /// # Errors
    /// The first error writing it.
    pub fn finish(&self) -> std::io::Result<()> {
        let mut recorded = self.lock();
        if let Some(writer) = recorded.writer.take()
            && let Err(error) = writer.finish()
        {
            recorded.error = Some(error);
        }
        recorded.error.take().map_or(Ok(()), Err)
    }
}
