//! A global allocator that counts allocations, for the tests that prove a steady state allocates nothing.
//! It lives here so that the `unsafe` of a `GlobalAlloc` stays in core; a test installs it with
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: sluicegate_core::alloc_count::CountingAllocator = sluicegate_core::alloc_count::CountingAllocator;
//! ```
//! and reads [`this_thread`] (unaffected by tests running on other threads) or [`all_threads`] (for work that
//! spans threads; run such a test alone, e.g. in its own test binary).
//!
//! When such a test fails, [`start_tracing`] and [`take_traces`] around its measured window say who
//! allocated: the size and a backtrace of every counted allocation, on any thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::cell::Cell;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static ALL_THREADS: AtomicU64 = AtomicU64::new(0);
static TRACING: AtomicBool = AtomicBool::new(false);
static TRACES: Mutex<Vec<AllocationTrace>> = Mutex::new(Vec::new());

thread_local! {
    static THIS_THREAD: Cell<u64> = const { Cell::new(0) };
    /// Set while this thread records a trace: the recorder's own allocations are neither counted nor traced.
    static RECORDING: Cell<bool> = const { Cell::new(false) };
}

/// Forwards to the system allocator, counting every allocation and reallocation.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAllocator;

/// One allocation seen while tracing.
pub struct AllocationTrace {
    /// Bytes asked for (the new size of a reallocation).
    pub size: usize,
    /// Where it was made.
    pub backtrace: Backtrace,
}

impl fmt::Debug for AllocationTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "allocation of {} bytes at\n{}", self.size, self.backtrace)
    }
}

/// Records the size and backtrace of every allocation counted from now on, until [`take_traces`]. Slow
/// (a backtrace per allocation): for finding out who allocates, not for measuring.
pub fn start_tracing() {
    TRACES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    TRACING.store(true, Ordering::SeqCst);
}

/// Stops tracing and returns what was recorded since [`start_tracing`].
pub fn take_traces() -> Vec<AllocationTrace> {
    TRACING.store(false, Ordering::SeqCst);
    let _recording = Recording::enter();
    std::mem::take(&mut *TRACES.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}

/// The traces grouped by backtrace, the most frequent first, each with its count and sizes: for a test's
/// failure message.
pub fn summary(traces: &[AllocationTrace]) -> String {
    let mut sites: Vec<(String, Vec<usize>)> = Vec::new();
    for trace in traces {
        let at = trace.backtrace.to_string();
        match sites.iter_mut().find(|(site, _)| *site == at) {
            Some((_, sizes)) => sizes.push(trace.size),
            None => sites.push((at, vec![trace.size])),
        }
    }
    sites.sort_by_key(|(_, sizes)| std::cmp::Reverse(sizes.len()));
    let mut out = format!("{} allocations at {} sites\n", traces.len(), sites.len());
    for (site, sizes) in sites {
        out += &format!("--- {} allocations of {sizes:?} bytes at\n{site}\n", sizes.len());
    }
    out
}

/// Marks this thread as recording while it lives; `None` if it already is (or its thread-locals are gone).
struct Recording;

impl Recording {
    fn enter() -> Option<Recording> {
        RECORDING
            .try_with(|recording| !recording.replace(true))
            .unwrap_or(false)
            .then_some(Recording)
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let _ = RECORDING.try_with(|recording| recording.set(false));
    }
}

fn count(size: usize) {
    if RECORDING.try_with(Cell::get).unwrap_or(false) {
        return;
    }
    ALL_THREADS.fetch_add(1, Ordering::Relaxed);
    // `try_with`: the thread-local may already be gone while a thread exits.
    let _ = THIS_THREAD.try_with(|count| count.set(count.get() + 1));
    if TRACING.load(Ordering::Relaxed) {
        trace(size);
    }
}

#[cold]
fn trace(size: usize) {
    let Some(_recording) = Recording::enter() else { return };
    let backtrace = Backtrace::force_capture();
    TRACES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(AllocationTrace { size, backtrace });
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches no allocated memory, and
// tracing (only when a test turns it on) allocates through this allocator with its thread marked as recording,
// so it neither recurses nor counts itself, and it does not panic (a poisoned lock is taken as it is).
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is `System`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: as in `dealloc`, with the caller's `realloc` contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations made so far by the calling thread (while [`CountingAllocator`] is the global allocator).
pub fn this_thread() -> u64 {
    THIS_THREAD.with(Cell::get)
}

/// Allocations made so far by every thread.
pub fn all_threads() -> u64 {
    ALL_THREADS.load(Ordering::Relaxed)
}
