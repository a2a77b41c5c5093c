//! A worker thread that survives panics of its own loop.
//!
//! The worker owns a *resource* (typically a [`RingConsumer`](crate::ring::RingConsumer)) and runs a loop
//! body over it. If the body panics, the supervisor logs the panic, counts a restart, reports a
//! [`WorkerEvent::Restarted`], and calls the body again with the same resource. Nothing is lost as long as
//! the body frees input only after handing on what it produced from it (commit after send): the bytes the
//! panicking body had not committed are still there for the next run.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::JoinHandle;

/// What the supervisor reports, in order, on the channel given to [`Supervisor::spawn`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkerEvent {
    /// The body panicked and was started again.
    Restarted {
        /// The worker's name.
        worker: String,
        /// Restarts so far, this one included.
        restarts: u32,
        /// The panic's message.
        panic: String,
    },
    /// The body panicked more than the policy allows; the worker stopped.
    GaveUp {
        /// The worker's name.
        worker: String,
        /// Restarts made before giving up.
        restarts: u32,
        /// The last panic's message.
        panic: String,
    },
}

/// Why [`SupervisedWorker::join`] did not end cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError<R> {
    /// The body kept panicking; the resource comes back so its unprocessed input can be inspected.
    #[error("worker {worker} gave up after {restarts} restarts; last panic: {panic}")]
    GaveUp {
        /// The worker's name.
        worker: String,
        /// Restarts made.
        restarts: u32,
        /// The last panic's message.
        panic: String,
        /// The resource, as the last run left it.
        resource: R,
    },
}

/// A request to stop, shared by the caller and the body. The body should finish what is pending (drain its
/// input) and return once it sees the request.
#[derive(Clone, Debug, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    /// Whether a stop was requested.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Requests a stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// How a worker is run and restarted.
#[derive(Clone, Debug)]
pub struct Supervisor {
    name: String,
    max_restarts: u32,
    events: Option<crossbeam_channel::Sender<WorkerEvent>>,
}

impl Supervisor {
    /// A supervisor for a worker called `name` (the thread's name too), allowing 100 restarts.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            max_restarts: 100,
            events: None,
        }
    }

    /// Restarts allowed before the worker gives up (a body that panics on the same input forever would
    /// otherwise spin).
    pub fn max_restarts(mut self, max_restarts: u32) -> Self {
        self.max_restarts = max_restarts;
        self
    }

    /// Where to send [`WorkerEvent`]s. Sending never blocks the worker: events are dropped if the channel is
    /// full or closed (the restart counter still counts them).
    pub fn events(mut self, events: crossbeam_channel::Sender<WorkerEvent>) -> Self {
        self.events = Some(events);
        self
    }

    /// Starts the worker thread: `body(&mut resource, &stop)` runs until it returns, and is run again after
    /// each panic.
    ///
    /// # Errors
    /// If the OS refuses to create the thread.
    ///
    /// # Examples
    /// ```
    /// use sluicegate_core::supervisor::Supervisor;
    /// let worker = Supervisor::new("counter").spawn(0u32, |count, stop| {
    ///     while !stop.is_requested() {
    ///         std::thread::yield_now();
    ///     }
    ///     *count += 1;
    /// }).unwrap();
    /// worker.stop();
    /// assert_eq!(worker.join().unwrap(), 1);
    /// ```
    pub fn spawn<R, F>(self, resource: R, mut body: F) -> std::io::Result<SupervisedWorker<R>>
    where
        R: Send + 'static,
        F: FnMut(&mut R, &StopSignal) + Send + 'static,
    {
        let stop = StopSignal::default();
        let restarts = Arc::new(AtomicU32::new(0));
        let (thread_stop, thread_restarts) = (stop.clone(), Arc::clone(&restarts));
        let handle = std::thread::Builder::new().name(self.name.clone()).spawn(move || {
            let mut resource = resource;
            loop {
                let Err(payload) = catch_unwind(AssertUnwindSafe(|| body(&mut resource, &thread_stop))) else {
                    return Ok(resource);
                };
                let panic = panic_message(payload.as_ref());
                let count = thread_restarts.load(Ordering::Relaxed);
                if count >= self.max_restarts {
                    tracing::error!(worker = %self.name, restarts = count, %panic, "worker gave up");
                    self.send(WorkerEvent::GaveUp {
                        worker: self.name.clone(),
                        restarts: count,
                        panic: panic.clone(),
                    });
                    return Err(WorkerError::GaveUp {
                        worker: self.name,
                        restarts: count,
                        panic,
                        resource,
                    });
                }
                thread_restarts.store(count + 1, Ordering::Relaxed);
                tracing::warn!(worker = %self.name, restarts = count + 1, %panic, "worker panicked; restarting");
                self.send(WorkerEvent::Restarted {
                    worker: self.name.clone(),
                    restarts: count + 1,
                    panic,
                });
            }
        })?;
        Ok(SupervisedWorker { handle, stop, restarts })
    }

    fn send(&self, event: WorkerEvent) {
        if let Some(events) = &self.events {
            let _ = events.try_send(event);
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

/// A supervised worker's restart count, shared ([`SupervisedWorker::restart_count`]).
#[derive(Clone, Debug)]
pub struct RestartCount(Arc<AtomicU32>);

impl RestartCount {
    /// Restarts so far.
    pub fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A running supervised worker.
#[derive(Debug)]
pub struct SupervisedWorker<R> {
    handle: JoinHandle<Result<R, WorkerError<R>>>,
    stop: StopSignal,
    restarts: Arc<AtomicU32>,
}

impl<R> SupervisedWorker<R> {
    /// Asks the body to finish its pending work and return.
    pub fn stop(&self) {
        self.stop.request();
    }

    /// The stop signal the body sees, for callers that stop it from elsewhere.
    pub fn stop_signal(&self) -> StopSignal {
        self.stop.clone()
    }

    /// Restarts so far.
    pub fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// The restart count, readable from another thread (a monitor that does not own the worker).
    pub fn restart_count(&self) -> RestartCount {
        RestartCount(Arc::clone(&self.restarts))
    }

    /// Whether the thread has ended.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the worker to end and gives the resource back.
    ///
    /// # Errors
    /// [`WorkerError::GaveUp`] if the body panicked more often than allowed.
    pub fn join(self) -> Result<R, WorkerError<R>> {
        match self.handle.join() {
            Ok(result) => result,
            // The thread body catches every panic of `body`; only a panic in the supervisor itself lands here.
            Err(payload) => std::panic::resume_unwind(payload),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::ring::ring;
    use std::time::Duration;

    /// Records of 8 bytes each (a big-endian sequence number); the body hands each on, then commits it, and
    /// panics once when it meets record `panic_at` (before handing it on).
    #[test]
    fn injected_panic_loses_and_duplicates_nothing() {
        const RECORDS: u64 = 20_000;
        let panic_at = 7_777u64;
        let (mut producer, consumer) = ring(4096);
        let (out_tx, out_rx) = crossbeam_channel::unbounded();
        let (event_tx, event_rx) = crossbeam_channel::unbounded();
        let panicked = Arc::new(AtomicBool::new(false));
        let panicked_in_body = Arc::clone(&panicked);
        let worker = Supervisor::new("records")
            .events(event_tx)
            .spawn(consumer, move |input, stop| {
                loop {
                    let readable = input.readable();
                    if readable.len() < 8 {
                        if stop.is_requested() && input.is_empty() {
                            return;
                        }
                        input.wait_readable(Duration::from_millis(1));
                        continue;
                    }
                    let mut record = [0u8; 8];
                    let (first, second) = readable.as_slices();
                    let take = first.len().min(8);
                    record[..take].copy_from_slice(&first[..take]);
                    record[take..].copy_from_slice(&second[..8 - take]);
                    let number = u64::from_be_bytes(record);
                    if number == panic_at && !panicked_in_body.swap(true, Ordering::SeqCst) {
                        panic!("injected at record {number}");
                    }
                    out_tx.send(number).unwrap();
                    readable.commit(8);
                }
            })
            .unwrap();
        for number in 0..RECORDS {
            producer
                .push_slice_timeout(&number.to_be_bytes(), Duration::from_secs(10))
                .unwrap();
        }
        worker.stop();
        assert_eq!(worker.restarts(), 1);
        worker.join().unwrap();
        let got: Vec<u64> = out_rx.try_iter().collect();
        assert_eq!(
            got,
            (0..RECORDS).collect::<Vec<_>>(),
            "every record exactly once, in order"
        );
        match event_rx.try_recv().unwrap() {
            WorkerEvent::Restarted { restarts, panic, .. } => {
                assert_eq!(restarts, 1);
                assert!(panic.contains("injected at record 7777"), "{panic}");
            }
            other => panic!("unexpected event {other:?}"),
        }
    }

    #[test]
    fn persistent_panic_gives_up_and_returns_the_resource() {
        let worker = Supervisor::new("doomed")
            .max_restarts(3)
            .spawn(41u32, |value, _| {
                *value += 1;
                panic!("always");
            })
            .unwrap();
        match worker.join() {
            Err(WorkerError::GaveUp {
                restarts,
                resource,
                panic,
                ..
            }) => {
                assert_eq!((restarts, resource, panic.as_str()), (3, 45, "always"));
            }
            Ok(value) => panic!("expected to give up, got {value}"),
        }
    }
}
