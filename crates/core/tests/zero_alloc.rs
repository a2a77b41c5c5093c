//! The steady state of the pool and the ring allocates nothing: a counting global allocator proves it.

use sluicegate_core::alloc_count::{self, CountingAllocator};
use sluicegate_core::ring::ring;
use sluicegate_core::{BufferPool, Sizing};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_during(work: impl FnOnce()) -> u64 {
    let before = alloc_count::this_thread();
    work();
    alloc_count::this_thread() - before
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
