//! Steady state allocates nothing per message: a counting global allocator watches a full HSV16 pass
//! (65,536 updates) through the deframer and a router delivering to three counting destinations.

use std::time::Instant;

use sluicegate_core::alloc_count::{self, CountingAllocator};
use sluicegate_p2::{Config, Deframer, Destination, KindSet, Routed, Router, Subscription, simulate};

/// Counts per thread: other threads of the test harness do not disturb the count.
#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    alloc_count::this_thread()
}

struct Counter(u64);

impl Destination for Counter {
    fn deliver(&mut self, _: &Routed<'_>) {
        self.0 += 1;
    }
}

#[test]
fn steady_state_hsv16_allocates_nothing_per_message() {
    let stream = simulate::hsv16();
    let declarations_end = stream.messages()[2].range.end;
    let (declarations, updates) = stream.bytes().split_at(declarations_end);
    let (mut log, mut windows, mut events) = (Counter(0), Counter(0), Counter(0));
    let mut router = Router::new();
    router
        .add_destination(&mut log, Subscription::new(KindSet::ALL))
        .unwrap();
    router
        .add_destination(&mut windows, Subscription::new(KindSet::EMPTY).with_window_updates())
        .unwrap();
    router
        .add_destination(&mut events, Subscription::new(KindSet::EMPTY).with_events())
        .unwrap();
    let mut deframer = Deframer::new(Config::default()).unwrap();
    let now = Instant::now();
    // Owned outputs (the pipeline's) or borrowed ones (`poll_ref`, one thread): both allocate nothing.
    let pass = |deframer: &mut Deframer, router: &mut Router<'_>, bytes: &[u8], borrowed: bool| {
        for read in bytes.chunks(4096) {
            deframer.handle_bytes(read, now);
            if borrowed {
                while let Some(output) = deframer.poll_ref() {
                    router.route_ref(&output);
                }
            } else {
                while let Some(output) = deframer.poll_output() {
                    router.route(&output);
                }
            }
        }
    };

    // Warm-up: a whole burst sizes the pool and the queues.
    pass(&mut deframer, &mut router, stream.bytes(), false);
    // The declarations allocate (window names); they are not per-message work, and show the counter counts.
    let before_declarations = allocations();
    pass(&mut deframer, &mut router, declarations, false);
    assert!(
        allocations() - before_declarations >= 3,
        "the counting allocator sees this thread's allocations"
    );
    for borrowed in [false, true] {
        let messages_before = deframer.counters().outputs.messages;
        let before = allocations();
        pass(&mut deframer, &mut router, updates, borrowed);
        let allocated = allocations() - before;
        let messages = deframer.counters().outputs.messages - messages_before;
        assert_eq!(messages, 65_536);
        assert_eq!(
            allocated, 0,
            "{allocated} allocations for {messages} messages (borrowed: {borrowed})"
        );
    }
    let routing = *router.counters();
    drop(router);
    assert_eq!(windows.0, 3 * 3 * 65_536, "three passes of updates, three targets each");
    assert_eq!(log.0, 65_539 + 3 + 2 * 65_536);
    assert_eq!(
        (events.0, routing.window_errors),
        (6, 0),
        "windows created twice, no error"
    );
    assert_eq!(
        deframer.pool().stats().dynamic_allocations,
        0,
        "the pool's first buffers sufficed"
    );
}
