//! The atomics, locks and thread parking the pool, the ring and the hand-over channel use, swapped for
//! `loom`'s under `cfg(loom)` so the model checker sees every interleaving (crossbeam and bytes keep the same
//! kind of shim). Under loom a timed wait never times out: a lost wake-up shows as a deadlock, which loom
//! reports.

#[cfg(loom)]
pub(crate) use loom::sync::{
    Arc, Condvar, Mutex,
    atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence},
};
#[cfg(not(loom))]
pub(crate) use std::sync::{
    Arc, Condvar, Mutex,
    atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence},
};

/// Parking the current thread (the ring's sleeping consumer).
#[cfg(loom)]
pub(crate) mod thread {
    pub(crate) use loom::thread::{Thread, ThreadId, current};

    /// Parks until unparked: loom has no timeout, so a consumer that is never woken deadlocks the model.
    pub(crate) fn park_timeout(_timeout: std::time::Duration) {
        loom::thread::park();
    }
}
#[cfg(not(loom))]
pub(crate) mod thread {
    pub(crate) use std::thread::{Thread, ThreadId, current, park_timeout};
}
