//! The atomics and locks the pool and ring use, swapped for `loom`'s under `cfg(loom)` so the model
//! checker sees every interleaving (crossbeam and bytes keep the same kind of shim).

#[cfg(loom)]
pub(crate) use loom::sync::{
    Arc, Condvar, Mutex,
    atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence},
};
#[cfg(not(loom))]
pub(crate) use std::sync::{
    Arc, Condvar, Mutex,
    atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence},
};

/// A bounded multi-producer multi-consumer queue of free slots: lock-free `crossbeam` in normal builds,
/// a modelled mutex under loom (crossbeam's atomics are invisible to the model checker).
#[cfg(not(loom))]
pub(crate) struct FreeList<T>(crossbeam_queue::ArrayQueue<T>);

#[cfg(not(loom))]
impl<T> FreeList<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self(crossbeam_queue::ArrayQueue::new(capacity.max(1)))
    }
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        self.0.push(value)
    }
    pub(crate) fn pop(&self) -> Option<T> {
        self.0.pop()
    }
}

#[cfg(loom)]
pub(crate) struct FreeList<T>(Mutex<std::collections::VecDeque<T>>, usize);

#[cfg(loom)]
impl<T> FreeList<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self(Mutex::new(std::collections::VecDeque::new()), capacity.max(1))
    }
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        let mut queue = self.0.lock().unwrap();
        if queue.len() >= self.1 {
            return Err(value);
        }
        queue.push_back(value);
        Ok(())
    }
    pub(crate) fn pop(&self) -> Option<T> {
        self.0.lock().unwrap().pop_front()
    }
}
