//! The sender's input on a thread of its own: read into pooled generation
//! buffers and hashed with SHA-256 while the socket loop sends, so reading
//! and hashing (about half a second of a core per GB with SHA-NI) never
//! hold up a datagram.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, TryRecvError, bounded};
use sha2::{Digest, Sha256};
use sluicegate_core::pool::PoolStats;

use super::chunker::{Chunk, Chunker};

/// Chunks read ahead of the socket loop.
const READ_AHEAD: usize = 4;

/// What the input held, once read to its end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InputSummary {
    /// Bytes read.
    pub bytes: u64,
    /// SHA-256 of the bytes read.
    pub digest: [u8; 32],
    /// The chunk pool's counters.
    pub pool: PoolStats,
}

/// The reading thread and the chunks it produced.
#[derive(Debug)]
pub(crate) struct Input {
    chunks: Receiver<io::Result<Chunk>>,
    read: Arc<AtomicU64>,
    thread: Option<JoinHandle<InputSummary>>,
}

impl Input {
    /// Starts reading `reader` in generations of `generation_bytes`, with
    /// buffers for `in_flight` generations held by the sender besides the
    /// read-ahead.
    ///
    /// # Errors
    /// The OS refused a thread.
    pub(crate) fn spawn<R: Read + Send + 'static>(
        reader: R,
        generation_bytes: usize,
        in_flight: usize,
    ) -> io::Result<Input> {
        let (tx, chunks) = bounded(READ_AHEAD);
        let read = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&read);
        // Held by the sender + queued + the chunker's look-ahead + one being filled + one being sent.
        let mut chunker = Chunker::new(reader, generation_bytes, in_flight + READ_AHEAD + 3);
        let thread = thread::Builder::new().name("rlnc-input".into()).spawn(move || {
            let mut hasher = Sha256::new();
            loop {
                let next = chunker.next_chunk();
                counter.store(chunker.bytes_read(), Ordering::Relaxed);
                let last = match &next {
                    Ok(Some(chunk)) => {
                        hasher.update(&chunk.data[..chunk.data_len]);
                        chunk.last
                    }
                    Ok(None) => break,
                    Err(_) => true,
                };
                if tx.send(next.transpose().expect("not None")).is_err() || last {
                    break;
                }
            }
            InputSummary {
                bytes: chunker.bytes_read(),
                digest: hasher.finalize().into(),
                pool: chunker.pool().stats(),
            }
        })?;
        Ok(Input {
            chunks,
            read,
            thread: Some(thread),
        })
    }

    /// The next chunk if one is ready.
    ///
    /// # Errors
    /// The read error that ended the input (an error too if the thread died).
    pub(crate) fn try_next(&self) -> io::Result<Option<Chunk>> {
        match self.chunks.try_recv() {
            Ok(chunk) => chunk.map(Some),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(io::Error::other("the input thread ended early")),
        }
    }

    /// Bytes read so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// Waits for the thread after the last chunk was taken.
    ///
    /// # Panics
    /// If the input thread panicked.
    pub(crate) fn finish(mut self) -> InputSummary {
        let thread = self.thread.take().expect("finished once");
        thread.join().expect("the input thread does not panic")
    }
}
