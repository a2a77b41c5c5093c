//! The steady state of a capture allocates nothing per chunk and is served by the pool: a counting global
//! allocator watches every thread of this test process.
//!
//! The counter is process-wide, so this test has its own `main` (`harness = false`): libtest's threads
//! would otherwise allocate for their own reporting while a measurement runs.
//!
//! What it cannot see: libpulse's own C allocations (it uses `malloc` directly); those are the library's,
//! bounded by its memblock pool, and the soak benchmark's flat RSS covers them.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::TrySendError;
use sluicegate_audio::test_support::PulseServer;
use sluicegate_audio::{Capture, CaptureConfig, ChunkAssembler, Message, SampleFormat, StreamSpec};
use sluicegate_core::alloc_count::{self, CountingAllocator};
use sluicegate_core::{BufferPool, Sizing, handover};

/// Counts allocations on every thread (the capture thread and the consumer both matter here).
#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// 10,000 chunks of 10 ms (48 kHz stereo f32) cut from fragments of uneven sizes, sent through a bounded
/// channel to a thread that drops them at once: no allocation, and a hit rate of at least 99.9 %.
fn main() {
    let checks: [(&str, fn()); 3] = [
        (
            "ten_thousand_assembled_chunks_allocate_nothing_and_hit_the_pool",
            ten_thousand_assembled_chunks_allocate_nothing_and_hit_the_pool,
        ),
        (
            "a_real_capture_allocates_nothing_per_chunk",
            a_real_capture_allocates_nothing_per_chunk,
        ),
        (
            "a_real_capture_with_a_handler_allocates_nothing_per_chunk",
            a_real_capture_with_a_handler_allocates_nothing_per_chunk,
        ),
    ];
    for (name, check) in checks {
        check(); // a failure panics, which fails the test binary
        println!("test {name} ... ok");
    }
    println!("zero_alloc: {} passed, 0 failed", checks.len());
}

fn ten_thousand_assembled_chunks_allocate_nothing_and_hit_the_pool() {
    let spec = StreamSpec::default();
    let chunk_bytes = spec.chunk_bytes(Duration::from_millis(10)).unwrap();
    let pool = BufferPool::new(Sizing::Adaptive { min: 50, max: 200 }, chunk_bytes);
    let mut assembler = ChunkAssembler::new(pool.clone(), chunk_bytes);
    // Produced far faster than real time, so the channel bounds what is in flight (below the pool's 50), as
    // real-time pacing does for a capture. The capture's own channel: its consumer sleeps on a condition
    // variable, and the producer, like the capture's, never waits inside the channel (a full channel is
    // retried after a yield). crossbeam's own waiting would allocate on each side's first wait (a per-thread
    // context, a waiter list), whenever that came: under load, inside the measured window.
    let (sender, receiver) = handover::bounded(32);
    let consumer = std::thread::spawn(move || {
        std::iter::from_fn(|| receiver.recv())
            .map(|chunk: sluicegate_core::PoolBytes| chunk.len())
            .sum::<usize>()
    });
    // Fragment sizes as a server hands them out: smaller, equal and larger than a chunk, not frame-aligned.
    let stream: Vec<u8> = (0..chunk_bytes * 4).map(|n| n as u8).collect();
    let sizes = [1_000, chunk_bytes, 5_000, 77, 2 * chunk_bytes + 3];
    let mut feed = |chunks_wanted: usize| {
        let (mut chunks, mut offset, mut turn) = (0, 0, 0);
        while chunks < chunks_wanted {
            let size = sizes[turn % sizes.len()];
            turn += 1;
            let mut fragment = &stream[offset % chunk_bytes..][..size];
            offset += size;
            while !fragment.is_empty() {
                fragment = &fragment[assembler.handle_fragment(fragment)..];
                if let Some(mut chunk) = assembler.poll_chunk() {
                    while let Err(TrySendError::Full(unsent)) = sender.try_send(chunk) {
                        chunk = unsent;
                        std::thread::yield_now();
                    }
                    chunks += 1;
                }
            }
        }
    };
    feed(100); // warm-up
    let tracing = Tracing::from_env();
    let before = alloc_count::all_threads();
    feed(10_000);
    let allocations = alloc_count::all_threads() - before;
    tracing.report("assembled chunks");
    drop(sender);
    drop(assembler);
    assert!(consumer.join().unwrap() >= 10_100 * chunk_bytes);
    assert_eq!(allocations, 0, "allocations over 10,000 chunks ({:?})", pool.stats());
    let stats = pool.stats();
    assert!(stats.hit_rate >= 99.9, "{stats:?}");
    assert_eq!(stats.in_use, 0);
}

/// With `SLUICEGATE_ALLOC_TRACE` set, records who allocates in a measured window and prints it.
struct Tracing(bool);

impl Tracing {
    fn from_env() -> Tracing {
        let on = std::env::var_os("SLUICEGATE_ALLOC_TRACE").is_some();
        if on {
            alloc_count::start_tracing();
        }
        Tracing(on)
    }

    fn report(self, what: &str) {
        if self.0 {
            eprintln!("{what}: {}", alloc_count::summary(&alloc_count::take_traces()));
        }
    }
}

/// The same on a real capture: 2,000 chunks of 1 ms from a PulseAudio server, with the capture thread
/// and this consumer running; no Rust allocation on any thread and no pool miss.
///
/// The pool holds every chunk that can be in flight: the queue, the one this consumer holds and the
/// capture thread's two. The default adaptive pool (50 to 200 buffers, here 50 to 200 ms) grows, two
/// allocations a buffer, whenever a loaded machine stalls this consumer or the capture thread (which then
/// catches up in a burst) long enough to set a new backlog record, and past 200 a chunk is a one-off
/// allocation: memory following the backlog, not a cost per chunk, which is what this measures.
fn a_real_capture_allocates_nothing_per_chunk() {
    let server = PulseServer::start();
    let _player = server.play_tone("tone", 1_000.0, 0.5);
    let config = CaptureConfig {
        server: Some(server.address()),
        spec: StreamSpec {
            format: SampleFormat::S16Le,
            rate: 48_000,
            channels: 2,
        },
        chunk_duration: Duration::from_millis(1),
        pool: Sizing::Fixed(CaptureConfig::default().queue_chunks + 3),
        ..CaptureConfig::default()
    };
    let capture = Capture::start(config).unwrap();
    let next_chunk = || loop {
        match capture
            .recv_timeout(Duration::from_secs(5))
            .expect("audio keeps coming")
        {
            Message::Chunk(chunk) => break chunk.len(),
            Message::Event(_) => {}
        }
    };
    for _ in 0..300 {
        next_chunk();
    }
    let tracing = Tracing::from_env();
    let before = alloc_count::all_threads();
    let misses_before = capture.pool_stats().pool_misses;
    for _ in 0..2_000 {
        next_chunk();
    }
    let allocations = alloc_count::all_threads() - before;
    tracing.report("a real capture");
    let stats = capture.pool_stats();
    capture.stop();
    assert_eq!(allocations, 0, "allocations over 2,000 captured chunks");
    assert_eq!(stats.pool_misses - misses_before, 0, "{stats:?}");
}

/// The same with the chunks handed to a handler on the capture thread: 2,000 chunks of 1 ms after 300
/// warm-up chunks, no Rust allocation on any thread and no pool miss.
fn a_real_capture_with_a_handler_allocates_nothing_per_chunk() {
    let server = PulseServer::start();
    let _player = server.play_tone("tone", 1_000.0, 0.5);
    let config = CaptureConfig {
        server: Some(server.address()),
        chunk_duration: Duration::from_millis(1),
        ..CaptureConfig::default()
    };
    let chunks = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&chunks);
    let capture = Capture::start_with_handler(config, move |message| {
        if let Message::Chunk(chunk) = message {
            assert!(!chunk.is_empty());
            counted.fetch_add(1, Ordering::Relaxed);
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    let wait_for = |count: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while chunks.load(Ordering::Relaxed) < count {
            assert!(Instant::now() < deadline, "audio keeps coming");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_for(300);
    let tracing = Tracing::from_env();
    let before = alloc_count::all_threads();
    let misses_before = capture.pool_stats().pool_misses;
    let counted_before = chunks.load(Ordering::Relaxed);
    wait_for(counted_before + 2_000);
    let allocations = alloc_count::all_threads() - before;
    tracing.report("a real capture with a handler");
    let stats = capture.pool_stats();
    capture.stop();
    assert_eq!(
        allocations, 0,
        "allocations over 2,000 chunks handled on the capture thread"
    );
    assert_eq!(stats.pool_misses - misses_before, 0, "{stats:?}");
}
