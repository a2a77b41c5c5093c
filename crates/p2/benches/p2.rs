//! Throughput of the deframer alone and of deframer + router (three destinations), single core, on the HSV16
//! burst (A.7) and on a mixed stream of every kind. Reads of 64 KiB, as when a recording is replayed from disk;
//! `handle_bytes` copies each read once into a pooled buffer, and that copy is measured too. Outputs are taken
//! borrowed (`poll_ref`, `route_ref`), the single-thread path; `deframe-owned` takes them owned (`poll_output`),
//! as the pipeline's worker does to hand them to another thread.
//!
//! Measured in this thread's CPU time, not wall time: the benchmark machine is shared (2 cores, other jobs
//! compiling), and wall time then mostly measures the neighbours. CPU time still pays for the caches the
//! neighbours share.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluicegate_bench_support::ThreadCpuTime;
use sluicegate_p2::{Config, Deframer, Destination, KindSet, Routed, Router, Subscription, simulate};

const READ: usize = 64 * 1024;

/// Borrowed outputs (`poll_ref`), as the router takes them on one thread.
fn deframe(deframer: &mut Deframer, bytes: &[u8], now: Instant) -> usize {
    let mut outputs = 0;
    for read in bytes.chunks(READ) {
        deframer.handle_bytes(read, now);
        while let Some(output) = deframer.poll_ref() {
            black_box(&output);
            outputs += 1;
        }
    }
    deframer.handle_end();
    while let Some(output) = deframer.poll_ref() {
        black_box(&output);
        outputs += 1;
    }
    outputs
}

/// Owned outputs (`poll_output`, one reference count each), as the pipeline sends them to another thread.
fn deframe_owned(deframer: &mut Deframer, bytes: &[u8], now: Instant) -> usize {
    let mut outputs = 0;
    for read in bytes.chunks(READ) {
        deframer.handle_bytes(read, now);
        while let Some(output) = deframer.poll_output() {
            black_box(&output);
            outputs += 1;
        }
    }
    deframer.handle_end();
    while let Some(output) = deframer.poll_output() {
        black_box(&output);
        outputs += 1;
    }
    outputs
}

fn deframe_and_route(deframer: &mut Deframer, router: &mut Router<'_>, bytes: &[u8], now: Instant) {
    for read in bytes.chunks(READ) {
        deframer.handle_bytes(read, now);
        while let Some(output) = deframer.poll_ref() {
            router.route_ref(&output);
        }
    }
    deframer.handle_end();
    while let Some(output) = deframer.poll_ref() {
        router.route_ref(&output);
    }
}

/// A destination that only counts (what it receives must not be optimised away).
struct Count(u64);

impl Destination for Count {
    fn deliver(&mut self, routed: &Routed<'_>) {
        self.0 += 1;
        black_box(routed);
    }
}

fn bench(c: &mut Criterion<ThreadCpuTime>) {
    let streams = [("hsv16", simulate::hsv16()), ("mixed", simulate::mixed(1, 20_000))];
    let now = Instant::now();
    for (unit, throughput) in [("bytes", true), ("messages", false)] {
        let mut group = c.benchmark_group(unit);
        group.sample_size(20);
        for (name, stream) in &streams {
            group.throughput(if throughput {
                Throughput::Bytes(stream.bytes().len() as u64)
            } else {
                Throughput::Elements(stream.messages().len() as u64)
            });
            let mut deframer = Deframer::new(Config::default()).unwrap();
            assert!(deframe(&mut deframer, stream.bytes(), now) >= stream.messages().len());
            group.bench_function(format!("{name}/deframe"), |b| {
                b.iter(|| deframe(&mut deframer, black_box(stream.bytes()), now));
            });
            if !throughput {
                group.bench_function(format!("{name}/deframe-owned"), |b| {
                    b.iter(|| deframe_owned(&mut deframer, black_box(stream.bytes()), now));
                });
            }
            // Owned by the router, as the CLI's destinations will be: one dynamic call per delivery.
            let mut router = Router::new();
            router
                .add_destination(Count(0), Subscription::new(KindSet::ALL))
                .unwrap();
            router
                .add_destination(Count(0), Subscription::new(KindSet::EMPTY).with_window_updates())
                .unwrap();
            router
                .add_destination(Count(0), Subscription::new(KindSet::TERMINAL).with_events())
                .unwrap();
            group.bench_function(format!("{name}/deframe+route"), |b| {
                b.iter(|| deframe_and_route(&mut deframer, &mut router, black_box(stream.bytes()), now));
            });
        }
        if !throughput {
            // The floor under any design handing out one `PoolBytes` per message: one slice (an atomic
            // increment) and one drop (an atomic decrement) per HSV16 message, and nothing else.
            let messages = streams[0].1.messages().len();
            group.throughput(Throughput::Elements(messages as u64));
            let pool = sluicegate_core::BufferPool::new(sluicegate_core::Sizing::Fixed(1), 64);
            let chunk = pool.acquire().freeze();
            group.bench_function("hsv16/floor:slice+drop", |b| {
                b.iter(|| {
                    for _ in 0..messages {
                        black_box(chunk.slice(..));
                    }
                });
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = bench
}
criterion_main!(benches);
