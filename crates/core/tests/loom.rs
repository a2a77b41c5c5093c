//! Model-checks the core's cross-thread parts: the pool's cross-thread return, and the wake-up handshakes of the
//! hand-over channel's doorbell and the byte ring's sleeping consumer.
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p sluicegate-core --test loom --release`
//!
//! Under loom a timed wait never times out (`sync.rs`), so a wake-up that is lost leaves the consumer asleep
//! for ever, and loom reports the deadlock.
#![cfg(loom)]

use std::time::Duration;

use sluicegate_core::handover;
use sluicegate_core::ring::ring;
use sluicegate_core::{BufferPool, Sizing};

/// Two handles dropped on two threads at once return the buffer exactly once, with its bytes intact until then.
#[test]
fn concurrent_last_drops_return_the_buffer_once() {
    loom::model(|| {
        let pool = BufferPool::new(Sizing::Fixed(1), 4);
        let mut buf = pool.acquire();
        buf.extend_from_slice(b"abcd").unwrap();
        let frozen = buf.freeze();
        let other = frozen.slice(1..);
        let reader = loom::thread::spawn(move || {
            assert_eq!(&other[..], b"bcd");
        });
        drop(frozen);
        reader.join().unwrap();
        assert_eq!(pool.stats().in_use, 0);
        let again = pool.try_acquire().expect("the buffer came back");
        assert!(pool.try_acquire().is_none(), "returned twice");
        drop(again);
    });
}

/// A buffer returned on another thread is seen whole by the next acquirer (release/acquire on the count).
#[test]
fn buffer_returned_on_another_thread_is_reusable() {
    loom::model(|| {
        let pool = BufferPool::new(Sizing::Fixed(1), 2);
        let mut buf = pool.acquire();
        buf.extend_from_slice(b"hi").unwrap();
        let frozen = buf.freeze();
        let dropper = loom::thread::spawn(move || drop(frozen));
        let acquired = pool.try_acquire();
        dropper.join().unwrap();
        let mut buf = acquired.or_else(|| pool.try_acquire()).expect("one buffer");
        buf.extend_from_slice(b"ok").unwrap();
        assert_eq!(&buf[..], b"ok");
    });
}

/// Two threads acquiring and returning at once through the lock-free free stack: no buffer is lost or duplicated.
#[test]
fn concurrent_acquire_and_return_keep_the_stack_whole() {
    // Unbounded, this model takes over ten minutes; two preemptions cover the pop/push races of two threads.
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(2);
    model.check(|| {
        let pool = BufferPool::new(Sizing::Fixed(2), 1);
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let pool = pool.clone();
                loom::thread::spawn(move || drop(pool.try_acquire().expect("two buffers for two threads")))
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        let both = (pool.try_acquire().expect("first"), pool.try_acquire().expect("second"));
        assert!(pool.try_acquire().is_none(), "a buffer was duplicated");
        drop(both);
    });
}

/// A message sent while the consumer is going to sleep wakes it (the doorbell's Dekker handshake: either the
/// consumer's last look sees the message, or the producer sees the consumer counted as a sleeper); the
/// producer's end is seen too.
#[test]
fn a_hand_over_wakes_a_consumer_that_is_falling_asleep() {
    loom::model(|| {
        let (producer, consumer) = handover::bounded(2);
        let sender = loom::thread::spawn(move || {
            producer.try_send(7u8).unwrap();
        });
        assert_eq!(consumer.recv(), Some(7));
        assert_eq!(consumer.recv(), None, "the producer's end wakes the consumer");
        sender.join().unwrap();
    });
}

/// Deferred sends followed by one `wake_consumer` (the p2 worker's once-a-read wake-up) reach a sleeping
/// consumer in order.
#[test]
fn deferred_sends_and_one_wake_reach_a_sleeping_consumer() {
    loom::model(|| {
        let (producer, consumer) = handover::bounded(4);
        let sender = loom::thread::spawn(move || {
            producer.send_deferred(1u8).unwrap();
            producer.send_deferred(2).unwrap();
            producer.wake_consumer();
            // Kept alive past the wake: only the wake, not the end, may end the consumer's wait.
            producer
        });
        assert_eq!(consumer.recv(), Some(1));
        assert_eq!(consumer.recv(), Some(2));
        drop(sender.join().unwrap());
    });
}

/// A deferred send followed by `wake_consumer_if_asleep` (the p2 display feed's lazy wake-up) reaches a
/// consumer going to sleep for good in `recv`: it sees the message at its last look or is woken.
#[test]
fn a_lazy_wake_reaches_a_consumer_going_to_sleep() {
    loom::model(|| {
        let (producer, consumer) = handover::bounded(2);
        let sender = loom::thread::spawn(move || {
            producer.try_send_deferred(5u8).unwrap();
            producer.wake_consumer_if_asleep();
            producer
        });
        assert_eq!(consumer.recv(), Some(5));
        drop(sender.join().unwrap());
    });
}

/// A consumer that looks (`look_timeout`) is still woken by `wake_consumer`, and by the producer's end.
#[test]
fn a_looking_consumer_is_woken_by_a_wake_and_by_the_end() {
    loom::model(|| {
        let (producer, consumer) = handover::bounded(2);
        let sender = loom::thread::spawn(move || {
            producer.try_send_deferred(6u8).unwrap();
            producer.wake_consumer();
        });
        assert_eq!(consumer.look_timeout(Duration::from_secs(3600)).ok(), Some(6));
        assert!(
            consumer.look_timeout(Duration::from_secs(3600)).is_err(),
            "the producer's end ends the look"
        );
        sender.join().unwrap();
    });
}

/// A nudge from another thread ends a timed wait that no message will end, whether it comes before the wait
/// or during it.
#[test]
fn a_nudge_ends_the_consumers_wait() {
    loom::model(|| {
        let (producer, consumer) = handover::bounded::<u8>(1);
        let nudger = consumer.nudger();
        let nudging = loom::thread::spawn(move || nudger.nudge());
        assert!(
            consumer.recv_timeout(Duration::from_secs(3600)).is_err(),
            "nudged, no message"
        );
        nudging.join().unwrap();
        drop(producer);
    });
}

/// Bytes pushed while the ring's consumer is going to sleep wake it, and so does the producer's end.
///
/// The consumer is the spawned thread and the producer joins it: loom cannot model an unpark that reaches a
/// thread blocked in `join` (std keeps it as a token for the next park; loom reports an error).
#[test]
fn ring_bytes_and_the_producers_end_wake_a_sleeping_consumer() {
    loom::model(|| {
        let (mut producer, mut consumer) = ring(8);
        let reader = loom::thread::spawn(move || {
            let mut got = Vec::new();
            loop {
                let readable = consumer.readable();
                let len = readable.len();
                got.extend_from_slice(&readable.to_vec());
                readable.commit(len);
                if len == 0 {
                    if consumer.is_producer_closed() && consumer.is_empty() {
                        return got;
                    }
                    consumer.wait_readable(Duration::from_secs(3600));
                }
            }
        });
        producer.push_slice(b"ab").unwrap();
        drop(producer);
        assert_eq!(reader.join().unwrap(), b"ab");
    });
}

/// A `RingWaker` ends a wait that no byte will end (the p2 pipeline's stop), before the wait or during it.
#[test]
fn a_ring_waker_ends_a_wait_without_bytes() {
    loom::model(|| {
        let (producer, consumer) = ring(8);
        let waker = consumer.waker();
        let sleeper = loom::thread::spawn(move || consumer.wait_readable(Duration::from_secs(3600)));
        waker.wake();
        assert!(!sleeper.join().unwrap(), "woken, no bytes");
        drop(producer);
    });
}
