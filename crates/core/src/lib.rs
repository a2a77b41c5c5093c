//! Zero-copy building blocks shared by the sluicegate pipelines.
//!
//! - [`pool`]: pre-allocated byte buffers, written once, frozen into cheaply clonable [`PoolBytes`] handles
//!   that return to the pool when the last one drops (on any thread). Counted fallback when empty.
//! - [`ring`]: a single-producer/single-consumer byte ring (on `rtrb`) whose consumer commits only what it has
//!   handed on, and whose producer is refused — with a byte count — instead of dropping silently.
//! - [`handover`]: a bounded channel whose waiting consumer sleeps at once instead of spinning and yielding.
//! - [`supervisor`]: a worker thread restarted after a panic, on the same resource, losing nothing.
//! - [`stats`]: counters and a latency histogram.
//! - [`alloc_count`]: the counting allocator of the zero-allocation tests.
//! - [`cpu`]: pinning a pipeline's threads to one CPU, where cross-CPU wake-ups are dear.
//! - [`realtime`]: `SCHED_FIFO` for threads that must keep up with a wire.
//!
//! After construction the pool and the ring neither lock nor allocate on their hot paths (tested with a
//! counting allocator in `tests/zero_alloc.rs`); the only lock is taken when a consumer or an
//! [`acquire_timeout`](BufferPool::acquire_timeout) caller sleeps.
//!
//! ```
//! use sluicegate_core::{BufferPool, Sizing, ring::ring};
//!
//! let pool = BufferPool::new(Sizing::Fixed(8), 4096);
//! let (mut producer, mut consumer) = ring(1 << 16);
//! producer.push_slice(b"Cog0  hello\r\n").unwrap();
//!
//! let readable = consumer.readable();
//! let mut buf = pool.acquire();
//! buf.extend_from_slice(readable.as_slices().0).unwrap();
//! let n = buf.len();
//! let message = buf.freeze();
//! readable.commit(n); // commit only after the bytes are handed on
//! assert_eq!(&message[..], b"Cog0  hello\r\n");
//! ```

pub mod alloc_count;
pub mod cpu;
pub mod handover;
pub mod pool;
pub mod realtime;
pub mod ring;
pub mod stats;
pub mod supervisor;
mod sync;

pub use pool::{BufferPool, PoolBuf, PoolBytes, PoolStats, Sizing};
