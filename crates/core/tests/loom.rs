//! Model-checks the pool's cross-thread return: `RUSTFLAGS="--cfg loom" cargo test -p sluicegate-core --test loom --release`.
#![cfg(loom)]

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
