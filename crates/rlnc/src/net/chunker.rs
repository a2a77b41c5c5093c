//! Input cut into generations: one pooled buffer per generation, so a
//! generation moves to whoever codes it without a copy.

use std::io::{self, Read};

use sluicegate_core::pool::{BufferPool, PoolBuf, PoolBytes, Sizing};

/// One generation's worth of input in a buffer of its own, zero-padded to K·S.
#[derive(Debug)]
pub struct Chunk {
    /// K·S bytes; only `data_len` are input.
    pub data: PoolBytes,
    /// Input bytes.
    pub data_len: usize,
    /// The input ends with this chunk.
    pub last: bool,
}

/// Reads a file or stream into one pooled buffer per generation, so each
/// generation can be moved to whoever codes it; keeps one chunk of
/// look-ahead so the last chunk is known to be last.
#[derive(Debug)]
pub struct Chunker<R> {
    reader: R,
    pool: BufferPool,
    pending: Option<(PoolBuf, bool)>,
    finished: bool,
    read: u64,
}

impl<R: Read> Chunker<R> {
    /// Chunks of `generation_bytes` from a pool of `buffers` (fixed: when
    /// every buffer is out, a further one is a counted allocation).
    pub fn new(reader: R, generation_bytes: usize, buffers: usize) -> Chunker<R> {
        Chunker {
            reader,
            pool: BufferPool::new(Sizing::Fixed(buffers), generation_bytes),
            pending: None,
            finished: false,
            read: 0,
        }
    }

    /// The pool, for its statistics.
    pub fn pool(&self) -> &BufferPool {
        &self.pool
    }

    /// Input bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Fills one buffer; `true` if the input ended.
    fn fill(&mut self) -> io::Result<(PoolBuf, bool)> {
        let mut buf = self.pool.acquire();
        while buf.remaining() > 0 {
            match self.reader.read(buf.spare_mut()) {
                Ok(0) => return Ok((buf, true)),
                Ok(n) => {
                    buf.advance(n);
                    self.read += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok((buf, false))
    }

    fn chunk(mut buf: PoolBuf, last: bool) -> Chunk {
        let data_len = buf.len();
        let spare = buf.spare_mut();
        spare.fill(0);
        let pad = spare.len();
        buf.advance(pad);
        Chunk {
            data: buf.freeze(),
            data_len,
            last,
        }
    }

    /// The next chunk, `None` after the last.
    ///
    /// # Errors
    /// A read error of the input.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if self.finished {
            return Ok(None);
        }
        let (current, ended) = match self.pending.take() {
            Some(p) => p,
            None => self.fill()?,
        };
        if ended {
            self.finished = true;
            return Ok(Some(Self::chunk(current, true)));
        }
        let (next, next_ended) = self.fill()?;
        if next_ended && next.is_empty() {
            self.finished = true;
            return Ok(Some(Self::chunk(current, true)));
        }
        self.pending = Some((next, next_ended));
        Ok(Some(Self::chunk(current, false)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunker_pads_the_last_chunk_and_marks_it() {
        for len in [0usize, 1, 99, 100, 101, 250, 300] {
            let data: Vec<u8> = (0..len).map(|i| i as u8 | 1).collect();
            let mut chunker = Chunker::new(&data[..], 100, 4);
            let mut got = Vec::new();
            let mut lasts = 0;
            while let Some(c) = chunker.next_chunk().unwrap() {
                assert_eq!(c.data.len(), 100);
                assert!(c.data[c.data_len..].iter().all(|&b| b == 0));
                got.extend_from_slice(&c.data[..c.data_len]);
                lasts += usize::from(c.last);
                assert_eq!(c.last, got.len() == len, "len {len}");
            }
            assert_eq!((got, lasts), (data, 1), "len {len}");
        }
    }
}
