//! The steady state of the pool and the ring allocates nothing: a counting global allocator proves it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use sluicegate_core::ring::ring;
use sluicegate_core::{BufferPool, Sizing};

/// Counts allocations made by the current thread (tests run on parallel threads).
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_during(work: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    work();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn acquire_freeze_clone_drop_allocates_nothing() {
    let pool = BufferPool::new(Sizing::Adaptive { min: 4, max: 8 }, 1500);
    let payload = [0x5au8; 1500];
    let cycle = |pool: &BufferPool| {
        let mut buf = pool.acquire();
        buf.extend_from_slice(&payload).unwrap();
        let frozen = buf.freeze();
        let copies = [frozen.clone(), frozen.slice(10..20), frozen.clone()];
        assert_eq!(copies[1].len(), 10);
    };
    cycle(&pool);
    let allocations = allocations_during(|| {
        for _ in 0..10_000 {
            cycle(&pool);
        }
    });
    assert_eq!(allocations, 0);
    let stats = pool.stats();
    assert_eq!((stats.pool_misses, stats.dynamic_allocations, stats.in_use), (0, 0, 0));
}

#[test]
fn ring_push_read_commit_allocates_nothing() {
    let (mut producer, mut consumer) = ring(1 << 16);
    let chunk = [7u8; 1024];
    let allocations = allocations_during(|| {
        for _ in 0..10_000 {
            producer.push_slice(&chunk).unwrap();
            let readable = consumer.readable();
            let (first, second) = readable.as_slices();
            assert_eq!(first.len() + second.len(), 1024);
            readable.commit(1024);
        }
    });
    assert_eq!(allocations, 0);
}

/// Why the pool hands out `PoolBytes` rather than `bytes::Bytes`: `Bytes::from_owner` boxes its owner.
#[test]
fn from_owner_allocates_once_per_buffer() {
    let pool = BufferPool::new(Sizing::Fixed(2), 64);
    drop(pool.acquire().freeze().into_bytes());
    let allocations = allocations_during(|| {
        let bytes = pool.acquire().freeze().into_bytes();
        let _clone = bytes.clone();
    });
    assert_eq!(allocations, 1);
}
