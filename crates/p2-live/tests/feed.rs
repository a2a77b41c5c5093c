//! The live feed on the consumer's side: no allocation per message, and no lost wake-up of the host.
//!
//! The display destination costs the consumer no allocation per message: a counting global allocator counts
//! the consumer thread's allocations inside the [`LiveFeed`]'s deliveries while it routes whole HSV16 bursts
//! (65,539 backtick lines) and the demo session (every kind of message, terminal text included), the host
//! applying them on its own thread. (The deframer, here on the same thread, grows its pool while the queue
//! holds its buffers: in the terminal it runs on the pipeline's worker.)

use std::time::Instant;

use sluicegate_core::alloc_count::{self, CountingAllocator};
use sluicegate_p2::io::source::SimulatedSource;
use sluicegate_p2::io::{Pace, Pipeline, PipelineConfig, Recorder, SourceSpec};
use sluicegate_p2::{Config, Deframer, Destination, Routed, Router, WindowUpdates, simulate};
use sluicegate_p2_live::{LiveFeed, Session, SessionConfig};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// The feed, counting this thread's allocations inside its calls.
struct Counted<'a> {
    feed: LiveFeed,
    allocations: &'a mut u64,
}

impl Counted<'_> {
    fn count(&mut self, call: impl FnOnce(&mut LiveFeed)) {
        let before = alloc_count::this_thread();
        call(&mut self.feed);
        *self.allocations += alloc_count::this_thread() - before;
    }
}

impl Destination for Counted<'_> {
    fn deliver(&mut self, routed: &Routed<'_>) {
        self.count(|feed| feed.deliver(routed));
    }

    fn deliver_updates(&mut self, updates: &WindowUpdates<'_>) {
        self.count(|feed| feed.deliver_updates(updates));
    }

    fn flush(&mut self) {
        self.count(Destination::flush);
    }
}

fn route(deframer: &mut Deframer, router: &mut Router<'_>, bytes: &[u8]) {
    let now = Instant::now();
    for read in bytes.chunks(4096) {
        deframer.handle_bytes(read, now);
        while let Some(output) = deframer.poll_ref() {
            router.route_ref(&output);
        }
        router.flush();
    }
}

/// A pipeline with nothing to read, only for a session's counters.
fn idle_pipeline() -> Pipeline {
    let empty = simulate::Stream::new();
    let source = Box::new(SimulatedSource::new(&empty, Pace::Burst));
    Pipeline::start(source, PipelineConfig::default(), None).unwrap()
}

/// A session on stdin (no way back) fed by the test's own router.
fn session(pipeline: &Pipeline, terminal_text: bool) -> Session {
    let config = SessionConfig::new(SourceSpec::Stdin).terminal_text(terminal_text);
    Session::start(config, None, Recorder::new(), pipeline.monitor()).unwrap()
}

#[test]
fn the_live_feed_allocates_nothing_per_message_on_the_consumer() {
    let pipeline = idle_pipeline();
    for (stream, text) in [(simulate::hsv16(), false), (simulate::demo_session(), true)] {
        let mut session = session(&pipeline, text);
        let feed = session.take_feed().unwrap();
        let subscription = feed.subscription();
        let mut allocations = 0;
        let mut router = Router::new();
        let counted = Counted {
            feed,
            allocations: &mut allocations,
        };
        router.add_destination(counted, subscription).unwrap();
        let mut deframer = Deframer::new(Config::default()).unwrap();
        let thread_before = alloc_count::this_thread();
        for _ in 0..2 {
            route(&mut deframer, &mut router, stream.bytes());
        }
        drop(router);
        assert!(
            alloc_count::this_thread() > thread_before,
            "the counter sees this thread (the router's window names, the deframer's pool)"
        );
        assert_eq!(deframer.counters().outputs.messages, 2 * stream.messages().len() as u64);
        assert_eq!(allocations, 0, "allocations in the feed (terminal text: {text})");
        let stats = session.finish();
        let backtick = 2 * stream
            .messages()
            .iter()
            .filter(|message| message.kind == sluicegate_p2::MessageKind::BacktickWindow)
            .count() as u64;
        assert_eq!(
            stats.lines + stats.queue_dropped,
            backtick,
            "every line taken or counted"
        );
    }
    pipeline.finish().unwrap();
}

/// The feed wakes the host only for lines the P2 waits on, or when it sleeps for good; otherwise the host
/// looks every few milliseconds while lines flow (8 ms watched, 100 ms not). Lines routed at every moment of
/// that cycle (pauses from nothing to past the look interval) must all be applied soon: a lost wake-up would
/// leave them queued for the host's one-second safety wait.
#[test]
fn lines_routed_at_any_moment_of_the_host_s_cycle_are_applied_within_a_look() {
    let pipeline = idle_pipeline();
    let mut session = session(&pipeline, false);
    let feed = session.take_feed().unwrap();
    let subscription = feed.subscription();
    let mut router = Router::new();
    router.add_destination(feed, subscription).unwrap();
    let mut deframer = Deframer::new(Config::default()).unwrap();
    route(&mut deframer, &mut router, b"`term t size 8 2\r\n");
    let mut sent = 1;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    // Watched: pauses of 0 to 12 ms around the 8 ms look; then unwatched: 80 to 130 ms around the 100 ms one.
    let viewer = session.handle().viewer();
    for (lines, pauses, viewer) in [(300, 0..12_000, Some(viewer)), (20, 80_000..130_000, None)] {
        let mut slowest = std::time::Duration::ZERO;
        for _ in 0..lines {
            route(&mut deframer, &mut router, b"`t 'x'\r\n");
            sent += 1;
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let pause = std::time::Duration::from_micros(pauses.start + seed % (pauses.end - pauses.start));
            std::thread::sleep(pause);
            if seed.is_multiple_of(4) {
                let asked = Instant::now();
                while session.stats().lines < sent {
                    assert!(
                        asked.elapsed() < std::time::Duration::from_millis(400),
                        "line {sent} not applied 400 ms after a pause of {pause:?}"
                    );
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                slowest = slowest.max(asked.elapsed());
            }
        }
        eprintln!("watched: {}, slowest wait for the host: {slowest:?}", viewer.is_some());
        drop(viewer);
    }
    drop(router);
    assert_eq!(session.finish().lines, sent);
    pipeline.finish().unwrap();
}
