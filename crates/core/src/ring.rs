//! A byte ring for one producer thread and one consumer thread, on `rtrb`'s lock-free chunk API.
//!
//! The producer appends whole slices or nothing: a slice that does not fit is refused with a [`RingFull`]
//! that says how many bytes were refused, so a caller can count and report the loss (never a silent drop).
//! The consumer sees what is readable as at most two contiguous slices, can look ahead as often as it
//! likes, and frees space only when it [commits](Readable::commit) — so bytes it has not handed on survive
//! a panic of the code that reads them (see [`crate::supervisor`]).

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::sync::thread::{self, Thread, ThreadId};
use crate::sync::{Arc, AtomicBool, AtomicU64, AtomicUsize, Mutex, Ordering, fence};

/// The capacity [`ring`] callers use when they have no reason to choose another: 2 MiB holds eight
/// seconds of a 2 Mbaud serial link.
pub const DEFAULT_RING_CAPACITY: usize = 2 * 1024 * 1024;

/// Creates a ring of `capacity` bytes, allocated once here.
///
/// # Examples
/// ```
/// let (mut producer, mut consumer) = sluicegate_core::ring::ring(8);
/// producer.push_slice(b"hello").unwrap();
/// assert_eq!(producer.push_slice(b"world").unwrap_err().refused, 5);
/// let readable = consumer.readable();
/// assert_eq!(readable.as_slices().0, b"hello");
/// readable.commit(2);
/// assert_eq!(consumer.readable().to_vec(), b"llo");
/// ```
pub fn ring(capacity: usize) -> (RingProducer, RingConsumer) {
    let (producer, consumer) = rtrb::RingBuffer::new(capacity);
    let shared = Arc::new(RingShared {
        capacity,
        high_water: AtomicUsize::new(0),
        written: AtomicU64::new(0),
        committed: AtomicU64::new(0),
        overflows: AtomicU64::new(0),
        refused_bytes: AtomicU64::new(0),
        producer_closed: AtomicBool::new(false),
        consumer_sleeping: AtomicBool::new(false),
        nudged: AtomicBool::new(false),
        consumer_thread: Mutex::new(None),
    });
    (
        RingProducer {
            inner: producer,
            shared: Arc::clone(&shared),
            high_water: 0,
            written: 0,
        },
        RingConsumer {
            inner: consumer,
            shared,
            registered: Cell::new(None),
        },
    )
}

#[derive(Debug)]
struct RingShared {
    capacity: usize,
    high_water: AtomicUsize,
    /// Bytes ever written and ever committed: their difference is the fill, readable from any thread.
    written: AtomicU64,
    committed: AtomicU64,
    overflows: AtomicU64,
    refused_bytes: AtomicU64,
    producer_closed: AtomicBool,
    consumer_sleeping: AtomicBool,
    /// Set by a [`RingWaker`]: the consumer's next (or current) wait ends without bytes.
    nudged: AtomicBool,
    consumer_thread: Mutex<Option<Thread>>,
}

impl RingShared {
    fn wake_consumer(&self) {
        // Pairs with the fence in `RingConsumer::wait_readable` (a Dekker handshake): either the consumer
        // sees the new bytes, or this thread sees it asleep.
        fence(Ordering::SeqCst);
        if self.consumer_sleeping.load(Ordering::Relaxed) {
            let thread = self.consumer_thread.lock().unwrap_or_else(|poison| poison.into_inner());
            if let Some(thread) = thread.as_ref() {
                thread.unpark();
            }
        }
    }

    fn stats(&self) -> RingStats {
        // Committed first, so a commit between the loads cannot make it pass the written count read after it;
        // the subtraction still saturates, because the count of a write is stored just after its bytes are
        // readable, and a fast consumer can commit them before.
        let committed = self.committed.load(Ordering::Acquire);
        let written = self.written.load(Ordering::Acquire);
        RingStats {
            capacity: self.capacity,
            fill: usize::try_from(written.saturating_sub(committed)).unwrap_or(usize::MAX),
            high_water: self.high_water.load(Ordering::Relaxed),
            overflows: self.overflows.load(Ordering::Relaxed),
            refused_bytes: self.refused_bytes.load(Ordering::Relaxed),
        }
    }
}

/// A write that did not fit; nothing of it was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("byte ring full: {refused} bytes refused, {free} bytes free")]
#[non_exhaustive]
pub struct RingFull {
    /// Bytes refused (the whole slice).
    pub refused: usize,
    /// Bytes that were free at the time.
    pub free: usize,
}

/// How full the ring is and has been, and what it refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RingStats {
    /// Bytes the ring holds at most.
    pub capacity: usize,
    /// Bytes written and not yet committed by the consumer.
    pub fill: usize,
    /// The largest fill seen right after a write.
    pub high_water: usize,
    /// Writes refused because they did not fit.
    pub overflows: u64,
    /// Bytes in those refused writes.
    pub refused_bytes: u64,
}

/// The writing end. Dropping it tells the consumer that no more bytes will come.
#[derive(Debug)]
pub struct RingProducer {
    inner: rtrb::Producer<u8>,
    shared: Arc<RingShared>,
    /// The producer's own copy of the high-water mark, so that the shared one is written only when it rises.
    high_water: usize,
    /// The producer's own copy of the bytes written (it is the only writer of the shared count).
    written: u64,
}

impl RingProducer {
    /// Appends all of `bytes`, or nothing.
    ///
    /// # Errors
    /// [`RingFull`] when fewer than `bytes.len()` bytes are free; the refusal is counted in
    /// [`RingStats::overflows`] and [`RingStats::refused_bytes`].
    pub fn push_slice(&mut self, bytes: &[u8]) -> Result<(), RingFull> {
        let result = self.try_push(bytes);
        if let Err(full) = result {
            self.shared.overflows.fetch_add(1, Ordering::Relaxed);
            self.shared
                .refused_bytes
                .fetch_add(full.refused as u64, Ordering::Relaxed);
        }
        result
    }

    /// Appends all of `bytes`, waiting up to `timeout` for the consumer to make room.
    ///
    /// # Errors
    /// [`RingFull`] if the room did not appear in time (counted as in [`push_slice`](Self::push_slice)),
    /// or at once if `bytes` is larger than the whole ring.
    pub fn push_slice_timeout(&mut self, bytes: &[u8], timeout: Duration) -> Result<(), RingFull> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_micros(20);
        loop {
            match self.try_push(bytes) {
                Ok(()) => return Ok(()),
                Err(_) if bytes.len() <= self.shared.capacity && Instant::now() < deadline => {
                    std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                    pause = (pause * 2).min(Duration::from_millis(2));
                }
                Err(_) => return self.push_slice(bytes),
            }
        }
    }

    fn try_push(&mut self, bytes: &[u8]) -> Result<(), RingFull> {
        match self.inner.push_entire_slice(bytes) {
            Ok(()) => {
                self.written += bytes.len() as u64;
                self.shared.written.store(self.written, Ordering::Release);
                let fill = self.shared.capacity - self.inner.slots();
                if fill > self.high_water {
                    self.high_water = fill;
                    self.shared.high_water.store(fill, Ordering::Relaxed);
                }
                self.shared.wake_consumer();
                Ok(())
            }
            Err(_) => Err(RingFull {
                refused: bytes.len(),
                free: self.inner.slots(),
            }),
        }
    }

    /// Bytes that can be written now.
    pub fn free(&self) -> usize {
        self.inner.slots()
    }

    /// Fill level, high-water mark and refusals.
    pub fn stats(&self) -> RingStats {
        self.shared.stats()
    }

    /// A handle that reads the ring's statistics from any thread, live.
    pub fn monitor(&self) -> RingMonitor {
        RingMonitor(Arc::clone(&self.shared))
    }
}

impl Drop for RingProducer {
    fn drop(&mut self) {
        self.shared.producer_closed.store(true, Ordering::Release);
        self.shared.wake_consumer();
    }
}

/// The reading end.
#[derive(Debug)]
pub struct RingConsumer {
    inner: rtrb::Consumer<u8>,
    shared: Arc<RingShared>,
    /// The thread last registered as the one to unpark: the lock is taken again only when the consumer has
    /// moved to another thread (a restarted worker), not at every wait.
    registered: Cell<Option<ThreadId>>,
}

impl RingConsumer {
    /// Everything readable now, to look at and then commit (in part or whole).
    pub fn readable(&mut self) -> Readable<'_> {
        let len = self.inner.slots();
        let chunk = self.inner.read_chunk(len).expect("slots() bytes are readable");
        Readable {
            chunk,
            shared: &self.shared,
        }
    }

    /// Bytes readable now.
    pub fn len(&self) -> usize {
        self.inner.slots()
    }

    /// Whether no byte is readable now.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Whether the producer is gone: once this is true and the ring is empty, no byte will ever come.
    pub fn is_producer_closed(&self) -> bool {
        self.shared.producer_closed.load(Ordering::Acquire)
    }

    /// Sleeps until bytes are readable, the producer is gone, or `timeout` passes. Returns whether bytes are
    /// readable. The producer wakes a sleeping consumer; it takes a lock only when the consumer sleeps.
    pub fn wait_readable(&self, timeout: Duration) -> bool {
        self.wait_for(1, timeout)
    }

    /// Sleeps until at least `len` bytes are readable, the producer is gone, or `timeout` passes; returns
    /// whether `len` bytes are readable. For a consumer that has looked at `len - 1` bytes and needs more.
    pub fn wait_for(&self, len: usize, timeout: Duration) -> bool {
        if self.inner.slots() >= len {
            return true;
        }
        let current = thread::current();
        if self.registered.get() != Some(current.id()) {
            self.registered.set(Some(current.id()));
            *self
                .shared
                .consumer_thread
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()) = Some(current);
        }
        self.shared.consumer_sleeping.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        // The nudge is taken with a compare-exchange, as in `handover`: loom models its atomicity faithfully.
        let nudged = || {
            self.shared
                .nudged
                .compare_exchange(true, false, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        };
        if self.inner.slots() < len && !self.is_producer_closed() && !nudged() {
            thread::park_timeout(timeout);
            self.shared.nudged.store(false, Ordering::Relaxed);
        }
        self.shared.consumer_sleeping.store(false, Ordering::Relaxed);
        self.inner.slots() >= len
    }

    /// Fill level, high-water mark and refusals.
    pub fn stats(&self) -> RingStats {
        self.shared.stats()
    }

    /// A handle that ends this consumer's wait from any thread, for a stop that must be noticed without
    /// bytes arriving (so the consumer need not wake on a short timeout to look).
    pub fn waker(&self) -> RingWaker {
        RingWaker(Arc::clone(&self.shared))
    }
}

/// Ends a [`RingConsumer`]'s wait ([`RingConsumer::waker`]); a wake that comes before the wait ends the
/// next one at once, so none is lost.
#[derive(Clone, Debug)]
pub struct RingWaker(Arc<RingShared>);

impl RingWaker {
    /// Wakes the consumer.
    pub fn wake(&self) {
        self.0.nudged.store(true, Ordering::Relaxed);
        self.0.wake_consumer();
    }
}

/// Reads a ring's statistics from any thread ([`RingProducer::monitor`]): the fill is the bytes written and
/// not yet committed at the moment of the call, not at the last write.
#[derive(Clone, Debug)]
pub struct RingMonitor(Arc<RingShared>);

impl RingMonitor {
    /// Fill level, high-water mark and refusals, now.
    pub fn stats(&self) -> RingStats {
        self.0.stats()
    }
}

/// The readable bytes at one moment, as at most two contiguous slices. Dropping it without committing
/// leaves every byte in the ring.
#[derive(Debug)]
pub struct Readable<'a> {
    chunk: rtrb::chunks::ReadChunk<'a, u8>,
    shared: &'a RingShared,
}

impl Readable<'_> {
    /// The readable bytes in order: the first slice, then the second (empty unless the bytes wrap).
    pub fn as_slices(&self) -> (&[u8], &[u8]) {
        self.chunk.as_slices()
    }

    /// Number of readable bytes.
    pub fn len(&self) -> usize {
        self.chunk.len()
    }

    /// Whether nothing is readable.
    pub fn is_empty(&self) -> bool {
        self.chunk.is_empty()
    }

    /// A copy of the readable bytes (for tests and diagnostics).
    pub fn to_vec(&self) -> Vec<u8> {
        let (first, second) = self.as_slices();
        [first, second].concat()
    }

    /// Frees the first `n` bytes for the producer.
    ///
    /// # Panics
    /// If `n` exceeds [`len`](Self::len).
    pub fn commit(self, n: usize) {
        self.chunk.commit(n);
        self.shared.committed.fetch_add(n as u64, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refused_write_is_counted_and_leaves_the_ring_intact() {
        let (mut producer, mut consumer) = ring(10);
        producer.push_slice(b"0123456").unwrap();
        let full = producer.push_slice(b"abcd").unwrap_err();
        assert_eq!((full.refused, full.free), (4, 3));
        let stats = consumer.stats();
        assert_eq!(
            (stats.fill, stats.high_water, stats.overflows, stats.refused_bytes),
            (7, 7, 1, 4)
        );
        assert_eq!(consumer.readable().to_vec(), b"0123456");
    }

    #[test]
    fn a_monitor_sees_the_fill_fall_as_the_consumer_commits() {
        let (mut producer, mut consumer) = ring(16);
        let monitor = producer.monitor();
        producer.push_slice(b"0123456").unwrap();
        consumer.readable().commit(3);
        assert_eq!((monitor.stats().fill, monitor.stats().high_water), (4, 7));
        drop(producer);
        consumer.readable().commit(4);
        assert_eq!(
            monitor.stats().fill,
            0,
            "the producer's last write is not the monitor's last word"
        );
    }

    #[test]
    fn wrapped_bytes_come_as_two_slices_and_lookahead_does_not_consume() {
        let (mut producer, mut consumer) = ring(8);
        producer.push_slice(b"abcdef").unwrap();
        consumer.readable().commit(5);
        producer.push_slice(b"ghijk").unwrap();
        let readable = consumer.readable();
        let (first, second) = readable.as_slices();
        assert_eq!((first, second), (&b"fgh"[..], &b"ijk"[..]));
        assert_eq!(consumer.len(), 6, "looking is not consuming");
    }

    #[test]
    fn timeout_push_waits_for_the_consumer() {
        let (mut producer, mut consumer) = ring(4);
        producer.push_slice(b"1234").unwrap();
        let reader = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            consumer.readable().commit(4);
            consumer
        });
        producer.push_slice_timeout(b"5678", Duration::from_secs(10)).unwrap();
        let consumer = reader.join().unwrap();
        assert_eq!(consumer.stats().overflows, 0);
        assert_eq!(
            producer
                .push_slice_timeout(b"x", Duration::from_millis(1))
                .unwrap_err()
                .refused,
            1
        );
    }

    #[test]
    fn sleeping_consumer_wakes_for_bytes_and_for_a_closed_producer() {
        let (mut producer, consumer) = ring(16);
        let reader = std::thread::spawn(move || {
            let woke_for_bytes = consumer.wait_readable(Duration::from_secs(30));
            (woke_for_bytes, consumer)
        });
        std::thread::sleep(Duration::from_millis(20));
        producer.push_slice(b"x").unwrap();
        let (woke_for_bytes, mut consumer) = reader.join().unwrap();
        assert!(woke_for_bytes);
        consumer.readable().commit(1);
        drop(producer);
        assert!(!consumer.wait_readable(Duration::from_secs(30)));
        assert!(consumer.is_producer_closed());
    }

    #[test]
    fn waker_ends_a_wait_without_bytes_and_a_wake_before_the_wait_is_kept() {
        let (_producer, consumer) = ring(16);
        let waker = consumer.waker();
        let started = Instant::now();
        let reader = std::thread::spawn(move || {
            let readable = consumer.wait_readable(Duration::from_secs(30));
            (readable, consumer)
        });
        std::thread::sleep(Duration::from_millis(20));
        waker.wake();
        let (readable, consumer) = reader.join().unwrap();
        assert!(!readable, "no bytes came");
        assert!(started.elapsed() < Duration::from_secs(10), "woken, not timed out");

        waker.wake();
        let started = Instant::now();
        assert!(!consumer.wait_readable(Duration::from_secs(30)));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the early wake ended the next wait"
        );
        let started = Instant::now();
        consumer.wait_readable(Duration::from_millis(30));
        assert!(
            started.elapsed() >= Duration::from_millis(25),
            "a wake ends one wait, not every later one"
        );
    }

    proptest! {
        /// Across threads, whatever the write sizes and the consumer's commit sizes, the consumer reads exactly
        /// the accepted bytes in order, and accepted + refused = offered.
        #[test]
        fn bytes_arrive_in_order_and_refusals_add_up(
            writes in proptest::collection::vec(1usize..300, 1..100),
            capacity in 64usize..1024,
        ) {
            let (mut producer, mut consumer) = ring(capacity);
            let total: usize = writes.iter().sum();
            let reader = std::thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    let readable = consumer.readable();
                    let n = readable.len().div_ceil(2);
                    got.extend_from_slice(&readable.to_vec()[..n]);
                    readable.commit(n);
                    if n == 0 {
                        if consumer.is_producer_closed() && consumer.is_empty() { break; }
                        consumer.wait_readable(Duration::from_millis(5));
                    }
                }
                got
            });
            let mut accepted = Vec::new();
            let mut counter = 0u8;
            for len in writes {
                let chunk: Vec<u8> = (0..len).map(|_| { counter = counter.wrapping_add(1); counter }).collect();
                if producer.push_slice(&chunk).is_ok() {
                    accepted.extend_from_slice(&chunk);
                }
            }
            let stats = producer.stats();
            let monitor = producer.monitor();
            drop(producer);
            let got = reader.join().unwrap();
            prop_assert_eq!(&got, &accepted);
            prop_assert_eq!(monitor.stats().fill, 0, "everything read was committed");
            prop_assert_eq!(accepted.len() as u64 + stats.refused_bytes, total as u64);
        }
    }
}
