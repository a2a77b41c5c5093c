//! A global allocator that counts allocations, for the tests that prove a steady state allocates nothing.
//! It lives here so that the `unsafe` of a `GlobalAlloc` stays in core; a test installs it with
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: sluicegate_core::alloc_count::CountingAllocator = sluicegate_core::alloc_count::CountingAllocator;
//! ```
//! and reads [`this_thread`] (unaffected by tests running on other threads) or [`all_threads`] (for work that
//! spans threads; run such a test alone, e.g. in its own test binary).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

static ALL_THREADS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static THIS_THREAD: Cell<u64> = const { Cell::new(0) };
}

/// Forwards to the system allocator, counting every allocation and reallocation.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAllocator;

fn count() {
    ALL_THREADS.fetch_add(1, Ordering::Relaxed);
    // `try_with`: the thread-local may already be gone while a thread exits.
    let _ = THIS_THREAD.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches no allocated memory.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is `System`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
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
