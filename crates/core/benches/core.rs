//! The pool and the ring next to what a program would use without them, in the same run:
//! - pool acquire → fill → freeze → clone → drop vs `Vec<u8>` allocation → `Bytes::from` → clone → drop;
//! - ring throughput between two threads, 1 KiB and 64 B writes, vs a `crossbeam-channel` of `Vec<u8>`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sluicegate_core::ring::ring;
use sluicegate_core::{BufferPool, Sizing};

fn pool_cycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("buffer_cycle");
    for size in [64usize, 1500, 16 * 1024] {
        let payload = vec![0xa5u8; size];
        group.throughput(Throughput::Elements(1));
        let pool = BufferPool::new(Sizing::Fixed(64), size);
        group.bench_with_input(BenchmarkId::new("pool_bytes", size), &payload, |b, payload| {
            b.iter(|| {
                let mut buf = pool.acquire();
                buf.extend_from_slice(payload).unwrap();
                let frozen = buf.freeze();
                black_box(frozen.clone());
            });
        });
        group.bench_with_input(BenchmarkId::new("vec_then_bytes", size), &payload, |b, payload| {
            b.iter(|| {
                let mut vec = Vec::with_capacity(payload.len());
                vec.extend_from_slice(payload);
                let frozen = Bytes::from(vec);
                black_box(frozen.clone());
            });
        });
    }
    group.finish();
}

/// Moves `total` bytes from a producer thread to a consumer thread in writes of `write_size`.
fn ring_transfer(total: usize, write_size: usize) -> Duration {
    let (mut producer, mut consumer) = ring(1 << 20);
    let chunk = vec![1u8; write_size];
    let start = Instant::now();
    let reader = std::thread::spawn(move || {
        let mut seen = 0usize;
        while seen < total {
            let readable = consumer.readable();
            let n = readable.len();
            if n == 0 {
                consumer.wait_readable(Duration::from_millis(1));
                continue;
            }
            let (first, second) = readable.as_slices();
            black_box((first.first(), second.first()));
            readable.commit(n);
            seen += n;
        }
    });
    let mut sent = 0;
    while sent < total {
        producer.push_slice_timeout(&chunk, Duration::from_secs(10)).unwrap();
        sent += write_size;
    }
    reader.join().unwrap();
    start.elapsed()
}

fn channel_transfer(total: usize, write_size: usize) -> Duration {
    // Same capacity in bytes as the ring.
    let (sender, receiver) = crossbeam_channel::bounded::<Vec<u8>>((1 << 20) / write_size);
    let chunk = vec![1u8; write_size];
    let start = Instant::now();
    let reader = std::thread::spawn(move || {
        let mut seen = 0usize;
        while seen < total {
            let message = receiver.recv().unwrap();
            black_box(message.first());
            seen += message.len();
        }
    });
    let mut sent = 0;
    while sent < total {
        sender.send(chunk.clone()).unwrap();
        sent += write_size;
    }
    reader.join().unwrap();
    start.elapsed()
}

fn ring_throughput(c: &mut Criterion) {
    const TOTAL: usize = 16 << 20;
    let mut group = c.benchmark_group("spsc_bytes");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    group.sample_size(10);
    for write_size in [64usize, 1024] {
        group.bench_function(BenchmarkId::new("byte_ring", write_size), |b| {
            b.iter_custom(|iterations| (0..iterations).map(|_| ring_transfer(TOTAL, write_size)).sum());
        });
        group.bench_function(BenchmarkId::new("crossbeam_channel_vec", write_size), |b| {
            b.iter_custom(|iterations| (0..iterations).map(|_| channel_transfer(TOTAL, write_size)).sum());
        });
    }
    group.finish();
}

criterion_group!(benches, pool_cycle, ring_throughput);
criterion_main!(benches);
