//! A pool of pre-allocated, fixed-capacity byte buffers that are written once, frozen into cheaply
//! clonable read-only handles, and go back to the pool when the last handle is dropped, on any thread.
//!
//! Why not `bytes::Bytes::from_owner` as the handle: it boxes the owner on every call, one allocation per
//! frozen buffer (the `from_owner_allocates` test shows it). [`PoolBytes`] keeps its reference count in the
//! pooled slot itself, so acquire → freeze → clone → drop allocates nothing; [`PoolBytes::into_bytes`]
//! bridges to `Bytes` for code that needs it, at the cost of that one allocation.

use std::fmt;
use std::ops::{Bound, Deref, DerefMut, RangeBounds};
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use crate::sync::{Arc, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Condvar, Mutex, Ordering, fence};

/// How many buffers the pool keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sizing {
    /// Exactly `n` pooled buffers; demand beyond them is served by counted one-off allocations.
    Fixed(usize),
    /// Starts with `min` buffers, grows up to `max` when demand exceeds the pool, and shrinks back towards the
    /// observed peak (plus a quarter) each time demand is re-evaluated.
    Adaptive {
        /// Buffers kept however low demand is.
        min: usize,
        /// Buffers the pool never grows beyond; demand past it is served by counted one-off allocations.
        max: usize,
    },
}

impl Sizing {
    fn initial(self) -> usize {
        match self {
            Sizing::Fixed(n) => n,
            Sizing::Adaptive { min, .. } => min,
        }
    }

    fn max(self) -> usize {
        match self {
            Sizing::Fixed(n) => n,
            Sizing::Adaptive { min, max } => max.max(min),
        }
    }
}

/// Acquisitions between two re-evaluations of an adaptive pool's size.
const EVALUATE_EVERY: usize = 1024;

/// Pool counters, serialised with snake_case keys as every `--json` of the CLI; the Node binding gives them
/// to JavaScript under the original addon's camelCase names (`poolHits`, …).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct PoolStats {
    /// Acquisitions served by a pooled buffer.
    pub pool_hits: u64,
    /// Acquisitions the pool could not serve from its free buffers.
    pub pool_misses: u64,
    /// Buffers allocated after construction (pool growth and one-off fallbacks).
    pub dynamic_allocations: u64,
    /// Buffers the pool owns now (free or handed out).
    pub current_pool_size: u64,
    /// Buffers the pool may own at most.
    pub max_pool_size: u64,
    /// `pool_hits` as a percentage of all acquisitions (100 when there were none).
    pub hit_rate: f64,
    /// Buffers handed out and not yet returned, one-off ones included.
    pub in_use: u64,
    /// The largest `in_use` seen.
    pub high_water: u64,
}

/// A pool of byte buffers of one capacity. Cloning the handle shares the pool.
///
/// After construction, acquiring a pooled buffer, freezing it, cloning and dropping the handles neither
/// locks nor allocates (proved by `tests/zero_alloc.rs`).
///
/// # Examples
/// ```
/// use sluicegate_core::pool::{BufferPool, Sizing};
/// let pool = BufferPool::new(Sizing::Fixed(4), 1024);
/// let mut buf = pool.acquire();
/// buf.extend_from_slice(b"hello").unwrap();
/// let frozen = buf.freeze();
/// let world = frozen.clone();
/// assert_eq!(&world[..], b"hello");
/// drop((frozen, world)); // the buffer is back in the pool
/// assert_eq!(pool.stats().in_use, 0);
/// ```
#[derive(Clone)]
pub struct BufferPool {
    shared: Arc<Shared>,
}

struct Shared {
    table: SlotTable,
    buffer_capacity: usize,
    sizing: Sizing,
    owned: AtomicUsize,
    hits: AtomicUsize,
    misses: AtomicUsize,
    dynamic_allocations: AtomicUsize,
    in_use: AtomicUsize,
    high_water: AtomicUsize,
    window_peak: AtomicUsize,
    acquisitions: AtomicUsize,
    waiters: AtomicUsize,
    wait_lock: Mutex<()>,
    returned: Condvar,
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("buffer_capacity", &self.shared.buffer_capacity)
            .field("sizing", &self.shared.sizing)
            .field("stats", &self.stats())
            .finish()
    }
}

impl BufferPool {
    /// Allocates the pool's initial buffers, each `buffer_capacity` bytes, zero-filled.
    pub fn new(sizing: Sizing, buffer_capacity: usize) -> Self {
        let shared = Arc::new(Shared {
            table: SlotTable::new(sizing.max()),
            buffer_capacity,
            sizing,
            owned: AtomicUsize::new(0),
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
            dynamic_allocations: AtomicUsize::new(0),
            in_use: AtomicUsize::new(0),
            high_water: AtomicUsize::new(0),
            window_peak: AtomicUsize::new(0),
            acquisitions: AtomicUsize::new(0),
            waiters: AtomicUsize::new(0),
            wait_lock: Mutex::new(()),
            returned: Condvar::new(),
        });
        for _ in 0..sizing.initial() {
            let slot = Slot::allocate(buffer_capacity, true);
            let slot = shared
                .table
                .adopt(slot)
                .unwrap_or_else(|_| unreachable!("the table holds the pool's maximum"));
            shared.table.push_free(&slot);
        }
        shared.owned.store(sizing.initial(), Ordering::Relaxed);
        Self { shared }
    }

    /// The capacity of every pooled buffer.
    pub fn buffer_capacity(&self) -> usize {
        self.shared.buffer_capacity
    }

    /// A writable buffer: a pooled one if one is free, otherwise (after growing an adaptive pool up to its
    /// maximum) a one-off allocation, counted in `dynamic_allocations`. Never fails, never waits.
    pub fn acquire(&self) -> PoolBuf {
        self.try_acquire().unwrap_or_else(|| {
            self.shared.dynamic_allocations.fetch_add(1, Ordering::Relaxed);
            self.hand_out(Slot::allocate(self.shared.buffer_capacity, false))
        })
    }

    /// A writable buffer of at least `capacity` bytes: pooled when it fits the pool's buffers, otherwise a
    /// counted one-off allocation of that size (for the rare message larger than a pooled buffer).
    pub fn acquire_at_least(&self, capacity: usize) -> PoolBuf {
        if capacity <= self.shared.buffer_capacity {
            return self.acquire();
        }
        self.shared.misses.fetch_add(1, Ordering::Relaxed);
        self.shared.dynamic_allocations.fetch_add(1, Ordering::Relaxed);
        self.hand_out(Slot::allocate(capacity, false))
    }

    /// A pooled buffer, or `None` when every buffer is in use and the pool may not grow. The producer
    /// that prefers backpressure to allocation uses this (or [`acquire_timeout`](Self::acquire_timeout)).
    pub fn try_acquire(&self) -> Option<PoolBuf> {
        let shared = &self.shared;
        if shared.acquisitions.fetch_add(1, Ordering::Relaxed) % EVALUATE_EVERY == EVALUATE_EVERY - 1 {
            self.maintain();
        }
        if let Some(slot) = shared.table.pop_free() {
            shared.hits.fetch_add(1, Ordering::Relaxed);
            return Some(self.hand_out(slot));
        }
        shared.misses.fetch_add(1, Ordering::Relaxed);
        let may_grow = matches!(shared.sizing, Sizing::Adaptive { .. });
        if may_grow
            && shared
                .owned
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |owned| {
                    (owned < shared.sizing.max()).then_some(owned + 1)
                })
                .is_ok()
        {
            shared.dynamic_allocations.fetch_add(1, Ordering::Relaxed);
            // `owned` never undercounts the table's slots, so a position is vacant.
            let slot = match shared.table.adopt(Slot::allocate(shared.buffer_capacity, true)) {
                Ok(slot) => slot,
                Err(mut slot) => {
                    shared.owned.fetch_sub(1, Ordering::Relaxed);
                    // SAFETY: the slot is fresh and owned by this thread alone.
                    unsafe { slot.0.as_mut().pooled = false };
                    slot
                }
            };
            return Some(self.hand_out(slot));
        }
        None
    }

    /// A pooled buffer, waiting up to `timeout` for one to come back; `None` if none did.
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<PoolBuf> {
        if let Some(buf) = self.try_acquire() {
            return Some(buf);
        }
        let shared = &self.shared;
        let deadline = Instant::now() + timeout;
        shared.waiters.fetch_add(1, Ordering::SeqCst);
        let mut guard = shared.wait_lock.lock().unwrap_or_else(|poison| poison.into_inner());
        let found = loop {
            if let Some(slot) = shared.table.pop_free() {
                shared.hits.fetch_add(1, Ordering::Relaxed);
                break Some(self.hand_out(slot));
            }
            let now = Instant::now();
            if now >= deadline {
                break None;
            }
            guard = match shared.returned.wait_timeout(guard, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poison) => poison.into_inner().0,
            };
        };
        drop(guard);
        shared.waiters.fetch_sub(1, Ordering::SeqCst);
        found
    }

    /// Re-evaluates an adaptive pool's size now: frees idle buffers beyond the peak demand seen since the
    /// last evaluation plus a quarter (never below `min`). Acquisition calls this every 1,024 acquisitions;
    /// a long-lived owner may also call it on a timer. Does nothing for a fixed pool.
    pub fn maintain(&self) {
        let shared = &self.shared;
        let Sizing::Adaptive { min, .. } = shared.sizing else {
            return;
        };
        let in_use = shared.in_use.load(Ordering::Relaxed);
        let peak = shared.window_peak.swap(in_use, Ordering::Relaxed).max(in_use);
        let target = (peak + peak / 4).max(min);
        while shared.owned.load(Ordering::Relaxed) > target {
            let Some(slot) = shared.table.pop_free() else { break };
            shared.table.vacate(&slot);
            shared.owned.fetch_sub(1, Ordering::Relaxed);
            // SAFETY: a slot popped from the free list and removed from the table is owned by nobody else.
            unsafe { Slot::free(slot) };
        }
    }

    /// A snapshot of the counters; reads relaxed atomics only, so it never delays the hot path.
    pub fn stats(&self) -> PoolStats {
        let shared = &self.shared;
        let load = |counter: &AtomicUsize| counter.load(Ordering::Relaxed) as u64;
        let (hits, misses) = (load(&shared.hits), load(&shared.misses));
        PoolStats {
            pool_hits: hits,
            pool_misses: misses,
            dynamic_allocations: load(&shared.dynamic_allocations),
            current_pool_size: load(&shared.owned),
            max_pool_size: shared.sizing.max() as u64,
            hit_rate: if hits + misses == 0 {
                100.0
            } else {
                hits as f64 * 100.0 / (hits + misses) as f64
            },
            in_use: load(&shared.in_use),
            high_water: load(&shared.high_water),
        }
    }

    fn hand_out(&self, slot: SlotPtr) -> PoolBuf {
        let shared = &self.shared;
        let in_use = shared.in_use.fetch_add(1, Ordering::Relaxed) + 1;
        shared.high_water.fetch_max(in_use, Ordering::Relaxed);
        shared.window_peak.fetch_max(in_use, Ordering::Relaxed);
        // SAFETY: the slot came from the free list or a fresh allocation, so this thread owns it alone.
        let slot_ref = unsafe { &mut *slot.0.as_ptr() };
        slot_ref.refs.store(1, Ordering::Relaxed);
        slot_ref.home = Some(Arc::clone(shared));
        PoolBuf { slot, len: 0 }
    }
}

/// One buffer and its bookkeeping, allocated once and reused for the life of the pool.
struct Slot {
    /// Live `PoolBytes` handles (1 while a `PoolBuf` owns the slot).
    refs: AtomicUsize,
    /// The pool to return to; set while handed out, so free slots do not keep the pool alive.
    home: Option<Arc<Shared>>,
    /// Whether the slot goes back to the free list (false for one-off fallback allocations).
    pooled: bool,
    /// The slot's place in the pool's [`SlotTable`].
    position: u32,
    data: NonNull<u8>,
    capacity: usize,
}

/// The pool's slots by position, with a lock-free LIFO stack of the free positions and one of the vacant ones.
///
/// LIFO hands out the buffer returned last, still warm in cache: with a FIFO queue (crossbeam `ArrayQueue`), a
/// pool of 64 × 16 KiB buffers cycled 1.65× slower than `Vec` + `Bytes` (bench `buffer_cycle`), as every acquire
/// got the coldest buffer.
struct SlotTable {
    slots: Box<[AtomicPtr<Slot>]>,
    free: PositionStack,
    vacant: PositionStack,
}

impl SlotTable {
    fn new(capacity: usize) -> Self {
        let capacity = u32::try_from(capacity).expect("pool size fits in u32");
        let table = Self {
            slots: (0..capacity).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect(),
            free: PositionStack::new(capacity),
            vacant: PositionStack::new(capacity),
        };
        for position in (0..capacity).rev() {
            table.vacant.push(position);
        }
        table
    }

    /// Gives a fresh pooled slot a position, or hands it back when every position is taken.
    fn adopt(&self, mut slot: SlotPtr) -> Result<SlotPtr, SlotPtr> {
        let Some(position) = self.vacant.pop() else {
            return Err(slot);
        };
        // SAFETY: the slot is fresh, owned by the caller alone.
        unsafe { slot.0.as_mut().position = position };
        self.slots[position as usize].store(slot.0.as_ptr(), Ordering::Release);
        Ok(slot)
    }

    fn push_free(&self, slot: &SlotPtr) {
        // SAFETY: the caller owns the slot; its position is fixed while it is in the table.
        self.free.push(unsafe { slot.0.as_ref().position });
    }

    fn pop_free(&self) -> Option<SlotPtr> {
        let position = self.free.pop()?;
        let slot = self.slots[position as usize].load(Ordering::Acquire);
        Some(SlotPtr(NonNull::new(slot).expect("a free position holds a slot")))
    }

    /// Removes a slot popped from the free stack, making its position vacant.
    fn vacate(&self, slot: &SlotPtr) {
        // SAFETY: as in `push_free`.
        let position = unsafe { slot.0.as_ref().position };
        self.slots[position as usize].store(std::ptr::null_mut(), Ordering::Release);
        self.vacant.push(position);
    }
}

/// A Treiber stack of positions `0..capacity`, each on it at most once. The head packs a tag that every
/// change increments with the top position plus one (0 = empty), so a pop that raced with a pop-push of the
/// same position fails its compare-exchange instead of corrupting the stack (ABA).
struct PositionStack {
    head: AtomicU64,
    below: Box<[AtomicU32]>,
}

impl PositionStack {
    fn new(capacity: u32) -> Self {
        Self {
            head: AtomicU64::new(0),
            below: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    fn push(&self, position: u32) {
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            self.below[position as usize].store(head as u32, Ordering::Relaxed);
            let new = ((head >> 32).wrapping_add(1) << 32) | u64::from(position + 1);
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(current) => head = current,
            }
        }
    }

    fn pop(&self) -> Option<u32> {
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            let top = head as u32;
            if top == 0 {
                return None;
            }
            let below = self.below[(top - 1) as usize].load(Ordering::Relaxed);
            let new = ((head >> 32).wrapping_add(1) << 32) | u64::from(below);
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => return Some(top - 1),
                Err(current) => head = current,
            }
        }
    }
}

/// A slot owned through a raw pointer, so that handles on several threads can share it.
struct SlotPtr(NonNull<Slot>);

// SAFETY: a slot is only mutated by its single owner (free list, `PoolBuf`, or the last `PoolBytes`), and the
// handles that share it read its bytes only; the reference count is atomic.
unsafe impl Send for SlotPtr {}

impl Slot {
    fn allocate(capacity: usize, pooled: bool) -> SlotPtr {
        let data = Box::into_raw(vec![0u8; capacity].into_boxed_slice());
        let data = NonNull::new(data.cast::<u8>()).expect("Box never returns null");
        let slot = Box::new(Slot {
            refs: AtomicUsize::new(0),
            home: None,
            pooled,
            position: 0,
            data,
            capacity,
        });
        SlotPtr(NonNull::from(Box::leak(slot)))
    }

    /// # Safety
    /// The caller owns `slot` alone and never uses it again.
    unsafe fn free(slot: SlotPtr) {
        // SAFETY: per the contract, `slot` came from `Box::leak` in `allocate` and nobody else holds it.
        let slot = unsafe { Box::from_raw(slot.0.as_ptr()) };
        let data = std::ptr::slice_from_raw_parts_mut(slot.data.as_ptr(), slot.capacity);
        // SAFETY: `data` is the boxed slice leaked in `allocate`, with the same length.
        drop(unsafe { Box::from_raw(data) });
    }

    /// Sends a slot whose last handle was just dropped back to its pool, or frees it.
    ///
    /// # Safety
    /// The caller dropped the last handle (the reference count reached zero after an acquire fence).
    unsafe fn release(slot: SlotPtr) {
        // SAFETY: the count reached zero, so this thread is the slot's only owner.
        let slot_ref = unsafe { &mut *slot.0.as_ptr() };
        let Some(home) = slot_ref.home.take() else {
            // SAFETY: sole owner, and the slot is not used after this.
            unsafe { Slot::free(slot) };
            return;
        };
        home.in_use.fetch_sub(1, Ordering::Relaxed);
        if !slot_ref.pooled {
            // SAFETY: as above.
            unsafe { Slot::free(slot) };
            return;
        }
        home.table.push_free(&slot);
        if home.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = home.wait_lock.lock().unwrap_or_else(|poison| poison.into_inner());
            home.returned.notify_one();
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        while let Some(slot) = self.table.pop_free() {
            // SAFETY: free-listed slots belong to the pool, which is going away.
            unsafe { Slot::free(slot) };
        }
    }
}

/// Returned by [`PoolBuf::extend_from_slice`] when the bytes do not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{refused} bytes do not fit in the buffer ({available} bytes left)")]
pub struct CapacityError {
    /// Bytes that were not written.
    pub refused: usize,
    /// Bytes the buffer had left.
    pub available: usize,
}

/// A buffer owned by one writer, to be filled and then [frozen](PoolBuf::freeze).
///
/// Derefs to the filled part. Dropping it unfrozen returns it to the pool.
pub struct PoolBuf {
    slot: SlotPtr,
    len: usize,
}

// SAFETY: `PoolBuf` owns its slot exclusively; moving it to another thread moves that ownership.
unsafe impl Send for PoolBuf {}
// SAFETY: shared references only read the filled bytes.
unsafe impl Sync for PoolBuf {}

impl PoolBuf {
    fn slot(&self) -> &Slot {
        // SAFETY: the slot lives at least as long as this owner.
        unsafe { self.slot.0.as_ref() }
    }

    /// Bytes this buffer can hold.
    pub fn capacity(&self) -> usize {
        self.slot().capacity
    }

    /// Bytes not yet filled.
    pub fn remaining(&self) -> usize {
        self.capacity() - self.len
    }

    /// Appends `bytes`, or writes nothing and says how many did not fit.
    ///
    /// # Errors
    /// [`CapacityError`] if `bytes` is longer than [`remaining`](Self::remaining).
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> Result<(), CapacityError> {
        let available = self.remaining();
        if bytes.len() > available {
            return Err(CapacityError {
                refused: bytes.len(),
                available,
            });
        }
        let len = self.len;
        self.spare_mut()[..bytes.len()].copy_from_slice(bytes);
        self.len = len + bytes.len();
        Ok(())
    }

    /// The unfilled part, for a reader (a serial port, a sound server) to write into directly; then
    /// [`advance`](Self::advance) by what it wrote. Its bytes are initialised (zero or earlier data).
    pub fn spare_mut(&mut self) -> &mut [u8] {
        let (data, capacity, len) = (self.slot().data, self.capacity(), self.len);
        // SAFETY: the buffer is `capacity` initialised bytes owned by this `PoolBuf` alone.
        unsafe { std::slice::from_raw_parts_mut(data.as_ptr().add(len), capacity - len) }
    }

    /// Marks `n` more bytes of the spare part as filled.
    ///
    /// # Panics
    /// If `n` exceeds [`remaining`](Self::remaining).
    pub fn advance(&mut self, n: usize) {
        assert!(n <= self.remaining(), "advance({n}) past the buffer's capacity");
        self.len += n;
    }

    /// Forgets the filled bytes.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Turns the buffer into a read-only handle over its filled bytes, without copying or allocating.
    pub fn freeze(self) -> PoolBytes {
        let this = std::mem::ManuallyDrop::new(self);
        PoolBytes {
            slot: SlotPtr(this.slot.0),
            data: this.slot().data,
            len: this.len,
        }
    }
}

impl Deref for PoolBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the first `len` bytes are initialised and owned by this `PoolBuf`.
        unsafe { std::slice::from_raw_parts(self.slot().data.as_ptr(), self.len) }
    }
}

impl DerefMut for PoolBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.slot().data.as_ptr(), self.len) }
    }
}

impl Drop for PoolBuf {
    fn drop(&mut self) {
        // SAFETY: an unfrozen `PoolBuf` is its slot's only owner.
        unsafe { Slot::release(SlotPtr(self.slot.0)) };
    }
}

impl fmt::Debug for PoolBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuf")
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// A read-only, cheaply clonable view of (part of) a frozen buffer. Clones and slices share the memory;
/// when the last one is dropped, on whatever thread, the buffer goes back to its pool.
pub struct PoolBytes {
    slot: SlotPtr,
    data: NonNull<u8>,
    len: usize,
}

// SAFETY: the bytes are immutable while shared and the reference count is atomic.
unsafe impl Send for PoolBytes {}
// SAFETY: as above.
unsafe impl Sync for PoolBytes {}

impl PoolBytes {
    /// A handle over a copy of `bytes` in a buffer of its own, outside any pool (for tests and for the
    /// rare message that must be assembled from pieces).
    pub fn copy_from_slice(bytes: &[u8]) -> PoolBytes {
        let slot = Slot::allocate(bytes.len(), false);
        // SAFETY: fresh slot, owned alone.
        unsafe { (*slot.0.as_ptr()).refs.store(1, Ordering::Relaxed) };
        let mut buf = PoolBuf { slot, len: 0 };
        buf.extend_from_slice(bytes).expect("the slot was sized for the bytes");
        buf.freeze()
    }

    /// A handle over `range` of these bytes, sharing the memory.
    ///
    /// # Panics
    /// If the range is out of bounds or decreasing, like slicing a `&[u8]`.
    pub fn slice(&self, range: impl RangeBounds<usize>) -> PoolBytes {
        let start = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => n + 1,
            Bound::Excluded(&n) => n,
            Bound::Unbounded => self.len,
        };
        assert!(
            start <= end && end <= self.len,
            "slice {start}..{end} out of 0..{}",
            self.len
        );
        let mut part = self.clone();
        // SAFETY: `start <= len`, so the pointer stays inside the buffer.
        part.data = unsafe { NonNull::new_unchecked(self.data.as_ptr().add(start)) };
        part.len = end - start;
        part
    }

    /// Converts to a `bytes::Bytes` that keeps this handle alive (one small allocation, made by `Bytes`).
    pub fn into_bytes(self) -> bytes::Bytes {
        bytes::Bytes::from_owner(self)
    }
}

impl Clone for PoolBytes {
    fn clone(&self) -> Self {
        // SAFETY: this handle keeps the slot alive.
        let slot = unsafe { self.slot.0.as_ref() };
        // Relaxed suffices for an increment from a live handle (as in `Arc::clone`).
        slot.refs.fetch_add(1, Ordering::Relaxed);
        PoolBytes {
            slot: SlotPtr(self.slot.0),
            data: self.data,
            len: self.len,
        }
    }
}

impl Drop for PoolBytes {
    fn drop(&mut self) {
        // SAFETY: this handle keeps the slot alive until the decrement below.
        let slot = unsafe { self.slot.0.as_ref() };
        if slot.refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Synchronises with every other handle's release decrement, as in `Arc::drop`.
        fence(Ordering::Acquire);
        // SAFETY: the count reached zero, so this was the last handle.
        unsafe { Slot::release(SlotPtr(self.slot.0)) };
    }
}

impl Deref for PoolBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `data..data+len` lies inside the frozen, initialised buffer this handle keeps alive.
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), self.len) }
    }
}

impl AsRef<[u8]> for PoolBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl PartialEq for PoolBytes {
    fn eq(&self, other: &Self) -> bool {
        self[..] == other[..]
    }
}

impl Eq for PoolBytes {}

impl PartialEq<[u8]> for PoolBytes {
    fn eq(&self, other: &[u8]) -> bool {
        &self[..] == other
    }
}

impl fmt::Debug for PoolBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PoolBytes(b\"{}\")", self[..].escape_ascii())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frozen_buffer_returns_to_pool_when_last_clone_drops() {
        let pool = BufferPool::new(Sizing::Fixed(1), 16);
        let mut buf = pool.acquire();
        buf.extend_from_slice(b"abc").unwrap();
        let a = buf.freeze();
        let b = a.slice(1..);
        assert_eq!(&b[..], b"bc");
        drop(a);
        assert_eq!(pool.stats().in_use, 1, "a slice still holds the buffer");
        assert!(pool.try_acquire().is_none());
        drop(b);
        assert_eq!(pool.stats().in_use, 0);
        assert!(pool.try_acquire().is_some());
    }

    #[test]
    fn exhausted_fixed_pool_falls_back_to_counted_allocation() {
        let pool = BufferPool::new(Sizing::Fixed(2), 8);
        let held: Vec<_> = (0..3).map(|_| pool.acquire()).collect();
        let stats = pool.stats();
        assert_eq!(
            (stats.pool_hits, stats.pool_misses, stats.dynamic_allocations),
            (2, 1, 1)
        );
        assert_eq!((stats.in_use, stats.high_water, stats.current_pool_size), (3, 3, 2));
        drop(held);
        let stats = pool.stats();
        assert_eq!(
            (stats.in_use, stats.current_pool_size),
            (0, 2),
            "the one-off buffer is freed, not pooled"
        );
        assert!((stats.hit_rate - 200.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn adaptive_pool_grows_to_max_then_shrinks_towards_demand() {
        let pool = BufferPool::new(Sizing::Adaptive { min: 2, max: 6 }, 8);
        let held: Vec<_> = (0..8).map(|_| pool.acquire()).collect();
        let stats = pool.stats();
        assert_eq!(stats.current_pool_size, 6, "grew to max");
        assert_eq!(stats.dynamic_allocations, 6, "4 growth + 2 one-off");
        drop(held);
        assert_eq!(pool.stats().current_pool_size, 6, "grown buffers return to the pool");
        pool.maintain(); // window peak was 8: keep everything
        assert_eq!(pool.stats().current_pool_size, 6);
        pool.maintain(); // demand since then was 0: back to min
        assert_eq!(pool.stats().current_pool_size, 2);
    }

    #[test]
    fn acquire_timeout_waits_for_a_buffer_from_another_thread() {
        let pool = BufferPool::new(Sizing::Fixed(1), 8);
        let held = pool.acquire().freeze();
        assert!(pool.acquire_timeout(Duration::from_millis(5)).is_none());
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            drop(held);
        });
        assert!(pool.acquire_timeout(Duration::from_secs(10)).is_some());
        releaser.join().unwrap();
    }

    #[test]
    fn extend_refuses_what_does_not_fit_and_keeps_what_was_written() {
        let pool = BufferPool::new(Sizing::Fixed(1), 4);
        let mut buf = pool.acquire();
        buf.extend_from_slice(b"ab").unwrap();
        assert_eq!(
            buf.extend_from_slice(b"cde"),
            Err(CapacityError {
                refused: 3,
                available: 2
            })
        );
        assert_eq!(&buf[..], b"ab");
        buf.spare_mut()[..2].copy_from_slice(b"cd");
        buf.advance(2);
        assert_eq!(&buf.freeze()[..], b"abcd");
    }

    /// Threads racing on a small pool never get the same buffer at once (each fills its buffer with its own
    /// marker and checks it is unchanged before returning it), and every buffer comes back.
    #[test]
    fn racing_threads_never_share_a_buffer() {
        let pool = BufferPool::new(Sizing::Fixed(3), 256);
        let threads: Vec<_> = (1..=4u8)
            .map(|marker| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    for round in 0..20_000u32 {
                        let Some(mut buf) = pool.try_acquire() else { continue };
                        let stamp = marker.wrapping_add(round as u8);
                        buf.spare_mut().fill(stamp);
                        buf.advance(256);
                        let frozen = buf.freeze();
                        let elsewhere = frozen.clone();
                        std::thread::yield_now();
                        assert!(
                            elsewhere.iter().all(|&byte| byte == stamp),
                            "buffer shared between threads"
                        );
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let stats = pool.stats();
        assert_eq!(
            (stats.in_use, stats.current_pool_size, stats.dynamic_allocations),
            (0, 3, 0)
        );
        let all: Vec<_> = (0..3)
            .map(|_| pool.try_acquire().expect("all three came back"))
            .collect();
        assert!(pool.try_acquire().is_none(), "no buffer was returned twice");
        drop(all);
    }

    #[test]
    fn pool_outlives_its_handle_while_buffers_are_out() {
        let pool = BufferPool::new(Sizing::Fixed(2), 8);
        let mut buf = pool.acquire();
        buf.extend_from_slice(b"late").unwrap();
        let bytes = buf.freeze();
        drop(pool);
        assert_eq!(&bytes[..], b"late");
        drop(bytes); // returns to a pool nobody else holds: frees everything (Miri/ASan would flag a leak or UAF)
    }

    #[test]
    fn into_bytes_keeps_the_buffer_until_bytes_drops() {
        let pool = BufferPool::new(Sizing::Fixed(1), 8);
        let mut buf = pool.acquire();
        buf.extend_from_slice(b"xyz").unwrap();
        let bytes = buf.freeze().into_bytes();
        let part = bytes.slice(1..);
        drop(bytes);
        assert_eq!(pool.stats().in_use, 1);
        assert_eq!(&part[..], b"yz");
        drop(part);
        assert_eq!(pool.stats().in_use, 0);
    }

    proptest! {
        /// Any interleaving of acquire, freeze, clone and drop keeps the books: `in_use` equals the buffers
        /// alive, and every buffer returns.
        #[test]
        fn books_balance_under_any_sequence(ops in proptest::collection::vec(0u8..4, 1..200)) {
            let pool = BufferPool::new(Sizing::Adaptive { min: 1, max: 4 }, 8);
            let mut live: Vec<(usize, Vec<PoolBytes>)> = Vec::new();
            let mut next_id = 0;
            for op in ops {
                match op {
                    0 => {
                        let mut buf = pool.acquire();
                        buf.extend_from_slice(&(next_id as u64).to_le_bytes()).unwrap();
                        live.push((next_id, vec![buf.freeze()]));
                        next_id += 1;
                    }
                    1 => if let Some((_, handles)) = live.last_mut() {
                        let copy = handles[0].clone();
                        handles.push(copy);
                    },
                    2 => if let Some((_, handles)) = live.first_mut() {
                        handles.pop();
                    },
                    _ => { live.pop(); }
                }
                live.retain(|(_, handles)| !handles.is_empty());
                prop_assert_eq!(pool.stats().in_use as usize, live.len());
                for (id, handles) in &live {
                    for handle in handles {
                        prop_assert_eq!(&handle[..], &(*id as u64).to_le_bytes()[..]);
                    }
                }
            }
            live.clear();
            prop_assert_eq!(pool.stats().in_use, 0);
        }
    }
}
