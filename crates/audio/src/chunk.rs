//! Cuts the server's fragments, whatever their sizes, into fixed-size chunks written straight into pooled
//! buffers. Sans-IO: feed bytes with [`ChunkAssembler::handle_fragment`], take chunks with
//! [`ChunkAssembler::poll_chunk`].

use sluicegate_core::{BufferPool, PoolBuf, PoolBytes};

/// Assembles fixed-size chunks in pooled buffers.
///
/// The fragment bytes are copied once, into the buffer that is then frozen and handed out: with PulseAudio's
/// asynchronous API the fragment lives in the server's shared memory until it is dropped, so that copy is the
/// only one between the server and the consumer.
///
/// # Examples
/// ```
/// use sluicegate_audio::ChunkAssembler;
/// use sluicegate_core::{BufferPool, Sizing};
///
/// let mut assembler = ChunkAssembler::new(BufferPool::new(Sizing::Fixed(4), 4), 4);
/// let mut fragment: &[u8] = b"abcdefghij";
/// let mut chunks = Vec::new();
/// while !fragment.is_empty() {
///     let taken = assembler.handle_fragment(fragment);
///     fragment = &fragment[taken..];
///     chunks.extend(assembler.poll_chunk());
/// }
/// assert_eq!(chunks.iter().map(|c| &c[..]).collect::<Vec<_>>(), [b"abcd", b"efgh"]);
/// assert_eq!(&assembler.finish().unwrap()[..], b"ij");
/// ```
#[derive(Debug)]
pub struct ChunkAssembler {
    pool: BufferPool,
    chunk_bytes: usize,
    filling: Option<PoolBuf>,
    ready: Option<PoolBytes>,
}

impl ChunkAssembler {
    /// An assembler of `chunk_bytes`-byte chunks taken from `pool`.
    ///
    /// # Panics
    /// If `chunk_bytes` is zero or larger than the pool's buffers.
    pub fn new(pool: BufferPool, chunk_bytes: usize) -> Self {
        assert!(
            chunk_bytes > 0 && chunk_bytes <= pool.buffer_capacity(),
            "chunk size {chunk_bytes} must be in 1..={}",
            pool.buffer_capacity()
        );
        ChunkAssembler {
            pool,
            chunk_bytes,
            filling: None,
            ready: None,
        }
    }

    /// The pool chunks come from.
    pub fn pool(&self) -> &BufferPool {
        &self.pool
    }

    /// The size of every chunk but the last.
    pub fn chunk_bytes(&self) -> usize {
        self.chunk_bytes
    }

    /// Copies the start of `fragment` into the chunk being filled and returns how many bytes it took. Takes
    /// nothing while a full chunk waits to be [polled](Self::poll_chunk).
    pub fn handle_fragment(&mut self, fragment: &[u8]) -> usize {
        let Some(spare) = self.spare() else { return 0 };
        let taken = spare.len().min(fragment.len());
        spare[..taken].copy_from_slice(&fragment[..taken]);
        self.commit(taken);
        taken
    }

    /// Fills up to `len` bytes with silence (zero samples, in both formats) where the server reported a hole
    /// in the stream, so that the timeline stays intact; returns how many it filled.
    pub fn handle_silence(&mut self, len: usize) -> usize {
        let Some(spare) = self.spare() else { return 0 };
        let taken = spare.len().min(len);
        spare[..taken].fill(0);
        self.commit(taken);
        taken
    }

    /// The next full chunk, if one is ready.
    pub fn poll_chunk(&mut self) -> Option<PoolBytes> {
        self.ready.take()
    }

    /// The partly filled chunk, if any, when the stream ends (a ready chunk comes first).
    pub fn finish(&mut self) -> Option<PoolBytes> {
        self.ready
            .take()
            .or_else(|| self.filling.take().filter(|buf| !buf.is_empty()).map(PoolBuf::freeze))
    }

    fn spare(&mut self) -> Option<&mut [u8]> {
        if self.ready.is_some() {
            return None;
        }
        let chunk_bytes = self.chunk_bytes;
        let buf = self.filling.get_or_insert_with(|| self.pool.acquire());
        let remaining = chunk_bytes - buf.len();
        Some(&mut buf.spare_mut()[..remaining])
    }

    fn commit(&mut self, written: usize) {
        let Some(buf) = self.filling.as_mut() else { return };
        buf.advance(written);
        if buf.len() == self.chunk_bytes {
            self.ready = self.filling.take().map(PoolBuf::freeze);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sluicegate_core::Sizing;

    fn assemble(assembler: &mut ChunkAssembler, fragments: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut chunks = Vec::new();
        for fragment in fragments {
            let mut rest = &fragment[..];
            while !rest.is_empty() {
                rest = &rest[assembler.handle_fragment(rest)..];
                chunks.extend(assembler.poll_chunk().map(|chunk| chunk.to_vec()));
            }
        }
        chunks.extend(assembler.finish().map(|chunk| chunk.to_vec()));
        chunks
    }

    proptest! {
        /// Any split of a byte stream into fragments yields the same chunks: the stream cut every
        /// `chunk_bytes`, the remainder last.
        #[test]
        fn any_fragmentation_yields_the_same_chunks(
            stream in proptest::collection::vec(any::<u8>(), 0..2000),
            cuts in proptest::collection::vec(0usize..2000, 0..20),
            chunk_bytes in 1usize..300,
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|cut| cut.min(stream.len())).collect();
            cuts.sort_unstable();
            let mut fragments = Vec::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain([stream.len()]) {
                fragments.push(stream[start..cut].to_vec());
                start = cut;
            }
            let mut assembler = ChunkAssembler::new(BufferPool::new(Sizing::Fixed(2), chunk_bytes), chunk_bytes);
            let expected: Vec<Vec<u8>> = stream.chunks(chunk_bytes).map(<[u8]>::to_vec).collect();
            prop_assert_eq!(assemble(&mut assembler, &fragments), expected);
        }
    }

    #[test]
    fn holes_become_silence_in_place() {
        let mut assembler = ChunkAssembler::new(BufferPool::new(Sizing::Fixed(2), 4), 4);
        assert_eq!(assembler.handle_fragment(b"ab"), 2);
        assert_eq!(assembler.handle_silence(5), 2);
        assert_eq!(assembler.handle_silence(3), 0, "a ready chunk blocks further input");
        assert_eq!(&assembler.poll_chunk().unwrap()[..], b"ab\0\0");
        assert_eq!(assembler.handle_silence(3), 3);
        assert_eq!(&assembler.finish().unwrap()[..], b"\0\0\0");
        assert!(assembler.finish().is_none());
    }

    #[test]
    fn chunks_return_to_the_pool_when_dropped() {
        let pool = BufferPool::new(Sizing::Fixed(2), 8);
        let mut assembler = ChunkAssembler::new(pool.clone(), 8);
        for _ in 0..100 {
            assert_eq!(assembler.handle_fragment(&[7; 8]), 8);
            drop(assembler.poll_chunk().unwrap());
        }
        let stats = pool.stats();
        assert_eq!((stats.pool_hits, stats.pool_misses, stats.in_use), (100, 0, 0));
    }
}
