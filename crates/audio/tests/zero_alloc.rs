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

use sluicegate_audio::test_support::PulseServer;
use sluicegate_audio::{Capture, CaptureConfig, ChunkAssembler, Message, SampleFormat, StreamSpec};
use sluicegate_core::alloc_count::{self, CountingAllocator};
use sluicegate_core::{BufferPool, Sizing};

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
    // real-time pacing does for a capture.
    let (sender, receiver) = crossbeam_channel::bounded(32);
    // crossbeam allocates once per thread and side the first time a send or receive has to wait (its
    // thread-local context, its waiter list): make both sides wait once before measuring, deterministically.
    let (primed, consumer_primed) = crossbeam_channel::bounded(1);
    let (open_gate, gate) = crossbeam_channel::bounded(1);
    let consumer = std::thread::spawn(move || {
        assert!(
            receiver.recv_timeout(Duration::from_millis(1)).is_err(),
            "nothing is sent before this"
        );
        primed.send(()).unwrap();
        gate.recv().unwrap();
        receiver
            .iter()
            .map(|chunk: sluicegate_core::PoolBytes| chunk.len())
            .sum::<usize>()
    });
    consumer_primed.recv().unwrap();
    let chunk = || pool.acquire().freeze();
    while sender.try_send(chunk()).is_ok() {}
    assert!(
        sender.send_timeout(chunk(), Duration::from_millis(1)).is_err(),
        "the gated consumer takes nothing"
    );
    open_gate.send(()).unwrap();
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
                if let Some(chunk) = assembler.poll_chunk() {
                    sender.send(chunk).unwrap();
                    chunks += 1;
                }
            }
        }
    };
    feed(100); // warm-up: the channel's and the threads' first-use allocations
    let before = alloc_count::all_threads();
    feed(10_000);
    let allocations = alloc_count::all_threads() - before;
    drop(sender);
    drop(assembler);
    assert!(consumer.join().unwrap() >= 10_100 * chunk_bytes);
    assert_eq!(allocations, 0, "allocations over 10,000 chunks ({:?})", pool.stats());
    let stats = pool.stats();
    assert!(stats.hit_rate >= 99.9, "{stats:?}");
    assert_eq!(stats.in_use, 0);
}

/// The same on a real capture: 2,000 chunks of 1 ms from a PulseAudio server, with the capture thread
/// and this consumer running; no Rust allocation on any thread and no pool miss.
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
    let before = alloc_count::all_threads();
    let misses_before = capture.pool_stats().pool_misses;
    for _ in 0..2_000 {
        next_chunk();
    }
    let allocations = alloc_count::all_threads() - before;
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
    let before = alloc_count::all_threads();
    let misses_before = capture.pool_stats().pool_misses;
    let counted_before = chunks.load(Ordering::Relaxed);
    wait_for(counted_before + 2_000);
    let allocations = alloc_count::all_threads() - before;
    let stats = capture.pool_stats();
    capture.stop();
    assert_eq!(
        allocations, 0,
        "allocations over 2,000 chunks handled on the capture thread"
    );
    assert_eq!(stats.pool_misses - misses_before, 0, "{stats:?}");
}
