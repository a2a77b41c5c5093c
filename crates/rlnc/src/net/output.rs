//! The receiver's output on a thread of its own: decoded bytes are copied
//! into pooled buffers and written and hashed with SHA-256 there, so a slow
//! disk or the hash never keeps the socket loop from draining its socket.

use std::io::{self, Write};
use std::thread::{Scope, ScopedJoinHandle};

use crossbeam_channel::{Sender, bounded};
use sha2::{Digest, Sha256};
use sluicegate_core::pool::{BufferPool, PoolBuf, PoolBytes, Sizing};

/// Bytes per buffer handed to the writing thread.
const BUFFER_BYTES: usize = 256 * 1024;
/// Buffers queued for the writing thread at most (4 MiB).
const QUEUED: usize = 16;

/// What the writing thread did.
#[derive(Debug)]
pub(crate) struct Written<W> {
    /// The output, flushed.
    pub output: W,
    /// Bytes written.
    pub bytes: u64,
    /// SHA-256 of the bytes written.
    pub digest: [u8; 32],
}

/// The writing thread and the buffer being filled for it.
#[derive(Debug)]
pub(crate) struct Output<'scope, W> {
    pool: BufferPool,
    filling: Option<PoolBuf>,
    queue: Option<Sender<PoolBytes>>,
    thread: ScopedJoinHandle<'scope, io::Result<Written<W>>>,
}

impl<'scope, W: Write + Send + 'scope> Output<'scope, W> {
    /// Starts the writing thread in `scope`.
    ///
    /// # Errors
    /// The OS refused a thread.
    pub(crate) fn spawn<'env>(scope: &'scope Scope<'scope, 'env>, mut output: W) -> io::Result<Self> {
        let (queue, buffers) = bounded::<PoolBytes>(QUEUED);
        let thread = std::thread::Builder::new()
            .name("rlnc-output".into())
            .spawn_scoped(scope, move || {
                let mut hasher = Sha256::new();
                let mut bytes = 0u64;
                for buffer in buffers {
                    output.write_all(&buffer)?;
                    hasher.update(&buffer);
                    bytes += buffer.len() as u64;
                }
                output.flush()?;
                Ok(Written {
                    output,
                    bytes,
                    digest: hasher.finalize().into(),
                })
            })?;
        Ok(Output {
            // Queued + one being written + one being filled.
            pool: BufferPool::new(Sizing::Fixed(QUEUED + 2), BUFFER_BYTES),
            filling: None,
            queue: Some(queue),
            thread,
        })
    }

    /// Copies `bytes` towards the writing thread; waits while its queue is full.
    ///
    /// # Errors
    /// `BrokenPipe` when the writing thread stopped (its error comes from
    /// [`finish`](Self::finish)).
    pub(crate) fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let buf = self.filling.get_or_insert_with(|| self.pool.acquire());
            let n = buf.remaining().min(bytes.len());
            buf.extend_from_slice(&bytes[..n]).expect("fits what remains");
            bytes = &bytes[n..];
            if buf.remaining() == 0 {
                self.hand_over()?;
            }
        }
        Ok(())
    }

    fn hand_over(&mut self) -> io::Result<()> {
        let Some(buf) = self.filling.take() else { return Ok(()) };
        let queue = self.queue.as_ref().expect("not finished");
        queue
            .send(buf.freeze())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the output thread stopped"))
    }

    /// Hands over the last buffer, waits for the thread, and returns the
    /// output with its length and digest.
    ///
    /// # Errors
    /// The first write or flush error of the output.
    ///
    /// # Panics
    /// If the writing thread panicked.
    pub(crate) fn finish(mut self) -> io::Result<Written<W>> {
        let handed = self.hand_over();
        self.queue = None;
        let written = self.thread.join().expect("the output thread does not panic")?;
        handed.map(|()| written)
    }
}
