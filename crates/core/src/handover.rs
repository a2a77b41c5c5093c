//! A bounded channel between two threads for a consumer that mostly waits: a crossbeam channel, with a
//! doorbell for consumers that wait in [`Consumer::recv`].
//!
//! crossbeam's own blocking receive spins and then yields (`sched_yield`) a few times before it parks, which
//! suits a busy channel. A consumer that waits for every message (an audio chunk every 10 ms, a p2 message
//! every read) went through the whole spin-and-yield sequence each time: about 3.5 `sched_yield` calls a
//! chunk, 360 a second at the audio capture's default chunk duration (`strace -c -f`, BENCHMARKS.md). Here a
//! waiting consumer sleeps on a condition variable at once (one `futex` wait), and the producer rings only
//! when someone sleeps (one `futex` wake): the audio consumer thread's CPU went from 0.15 to 0.10 % of a
//! core (48 kHz stereo f32, 10 ms chunks; BENCHMARKS.md). Consumers that `select!` on the [`Receiver`]
//! itself keep crossbeam's waiting, which the channel still provides.

use std::sync::PoisonError;
use std::time::{Duration, Instant};

use crate::sync::{Arc, AtomicBool, AtomicUsize, Condvar, Mutex, Ordering, fence};

use crossbeam_channel::{Receiver, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryRecvError, TrySendError};

/// A channel holding at most `capacity` messages.
pub fn bounded<T>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    let (sender, receiver) = crossbeam_channel::bounded(capacity);
    let doorbell = Arc::new(Doorbell::default());
    (
        Producer {
            sender: Some(sender),
            doorbell: Arc::clone(&doorbell),
        },
        Consumer { receiver, doorbell },
    )
}

/// Wakes consumers sleeping in [`Consumer::recv`].
#[derive(Debug, Default)]
struct Doorbell {
    /// Consumers between their last look at the channel and the end of their sleep.
    sleepers: AtomicUsize,
    /// The same for consumers in [`Consumer::look_timeout`], which look again by themselves soon: a
    /// [`Producer::wake_consumer_if_asleep`] leaves them.
    lookers: AtomicUsize,
    /// Held by a consumer from its last look at the channel until it sleeps, so that a producer taking it
    /// knows the consumer sleeps (or has seen the message).
    lock: Mutex<()>,
    rung: Condvar,
    /// Set by a [`Nudger`]: the consumer's current or next [`Consumer::recv_timeout`] ends early.
    nudged: AtomicBool,
}

impl Doorbell {
    /// Wakes the sleepers and lookers, after a message was sent or the producer went away.
    fn ring(&self) {
        self.ring_if(|doorbell| {
            doorbell.sleepers.load(Ordering::Relaxed) + doorbell.lookers.load(Ordering::Relaxed) > 0
        });
    }

    /// Wakes the sleepers only.
    fn ring_sleepers(&self) {
        self.ring_if(|doorbell| doorbell.sleepers.load(Ordering::Relaxed) > 0);
    }

    fn ring_if(&self, waiting: impl Fn(&Self) -> bool) {
        // Pairs with the consumer's fence: either the consumer's last look sees the message, or this load
        // sees the consumer counted as waiting.
        fence(Ordering::SeqCst);
        if waiting(self) {
            // Once the lock is had, every counted consumer waits on `rung` (or is awake and looking again).
            drop(self.lock.lock().unwrap_or_else(PoisonError::into_inner));
            self.rung.notify_all();
        }
    }
}

/// The sending side.
#[derive(Debug)]
pub struct Producer<T> {
    /// `None` only while being dropped.
    sender: Option<Sender<T>>,
    doorbell: Arc<Doorbell>,
}

impl<T> Producer<T> {
    /// Sends without waiting; a full channel hands the message back.
    pub fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        let result = match &self.sender {
            Some(sender) => sender.try_send(message),
            None => Err(TrySendError::Disconnected(message)),
        };
        if result.is_ok() {
            self.doorbell.ring();
        }
        result
    }

    /// Sends, waiting for room as long as it takes; the message comes back if the consumer has gone away.
    ///
    /// # Errors
    /// [`SendError`] once the [`Consumer`] is dropped.
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        let result = match &self.sender {
            Some(sender) => sender.send(message),
            None => Err(SendError(message)),
        };
        if result.is_ok() {
            self.doorbell.ring();
        }
        result
    }

    /// Sends without waiting and without waking a sleeping consumer (as [`send_deferred`](Self::send_deferred));
    /// a full channel hands the message back. For a producer that must never wait and wakes the consumer once a
    /// batch with [`wake_consumer`](Self::wake_consumer).
    pub fn try_send_deferred(&self, message: T) -> Result<(), TrySendError<T>> {
        match &self.sender {
            Some(sender) => sender.try_send(message),
            None => Err(TrySendError::Disconnected(message)),
        }
    }

    /// Sends, waiting for room as long as it takes, without waking a sleeping consumer: a producer that sends
    /// in batches calls [`wake_consumer`](Self::wake_consumer) after each, and the consumer wakes once a batch
    /// instead of once a message. A full channel wakes the consumer before waiting for room.
    ///
    /// # Errors
    /// [`SendError`] once the [`Consumer`] is dropped.
    pub fn send_deferred(&self, message: T) -> Result<(), SendError<T>> {
        let Some(sender) = &self.sender else {
            return Err(SendError(message));
        };
        match sender.try_send(message) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(message)) => {
                self.doorbell.ring();
                sender.send(message)
            }
            Err(TrySendError::Disconnected(message)) => Err(SendError(message)),
        }
    }

    /// Wakes a consumer sleeping in `recv`, after [`send_deferred`](Self::send_deferred)s.
    pub fn wake_consumer(&self) {
        self.doorbell.ring();
    }

    /// Wakes a consumer sleeping in `recv` or `recv_timeout`, but not one in
    /// [`look_timeout`](Consumer::look_timeout), which looks at the channel again by itself soon: for a
    /// producer whose messages may wait that long, so that a busy consumer is not woken once a batch.
    pub fn wake_consumer_if_asleep(&self) {
        self.doorbell.ring_sleepers();
    }

    /// Sends, waiting at most `timeout` for room.
    pub fn send_timeout(&self, message: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        let result = match &self.sender {
            Some(sender) => sender.send_timeout(message, timeout),
            None => Err(SendTimeoutError::Disconnected(message)),
        };
        if result.is_ok() {
            self.doorbell.ring();
        }
        result
    }
}

impl<T> Drop for Producer<T> {
    /// Disconnects, then wakes sleeping consumers so that they see it.
    fn drop(&mut self) {
        drop(self.sender.take());
        self.doorbell.ring();
    }
}

/// The receiving side.
#[derive(Debug)]
pub struct Consumer<T> {
    receiver: Receiver<T>,
    doorbell: Arc<Doorbell>,
}

impl<T> Consumer<T> {
    /// The next message, waiting for it; `None` once the producer is gone and the channel empty.
    pub fn recv(&self) -> Option<T> {
        self.recv_until(None, &self.doorbell.sleepers).ok()
    }

    /// The next message, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(Instant::now().checked_add(timeout), &self.doorbell.sleepers)
    }

    /// The next message, waiting at most `timeout`, for a consumer that looks at the channel every `timeout`
    /// while messages flow: [`wake_consumer_if_asleep`](Producer::wake_consumer_if_asleep) does not end this
    /// wait; anything else that ends a `recv_timeout` does (a send that wakes, `wake_consumer`, a nudge, the
    /// producer's end).
    pub fn look_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(Instant::now().checked_add(timeout), &self.doorbell.lookers)
    }

    /// The channel itself (crossbeam's waiting, for `select!`).
    pub fn receiver(&self) -> &Receiver<T> {
        &self.receiver
    }

    /// A handle that ends this consumer's [`recv_timeout`](Self::recv_timeout) early from any thread (a
    /// signal watcher, say), so that the consumer need not wake on a short timeout to look at flags.
    pub fn nudger(&self) -> Nudger {
        Nudger(Arc::clone(&self.doorbell))
    }

    /// Whether a nudge ends this wait (`recv_timeout` only: a `recv` waits for a message or the end).
    fn take_nudge(&self, deadline: Option<Instant>) -> bool {
        // A compare-exchange rather than a swap: the same here, and loom 0.7 models it faithfully (its swap
        // lets another thread's store land between the swap's read and write, a false deadlock).
        deadline.is_some()
            && self
                .doorbell
                .nudged
                .compare_exchange(true, false, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Waits, counted in `waiting` (the doorbell's sleepers or lookers) while it sleeps.
    fn recv_until(&self, deadline: Option<Instant>, waiting: &AtomicUsize) -> Result<T, RecvTimeoutError> {
        loop {
            match self.receiver.try_recv() {
                Ok(message) => return Ok(message),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => {}
            }
            if self.take_nudge(deadline) {
                return Err(RecvTimeoutError::Timeout);
            }
            let remaining = match deadline {
                None => None,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(remaining) if !remaining.is_zero() => Some(remaining),
                    _ => return Err(RecvTimeoutError::Timeout),
                },
            };
            let guard = self.doorbell.lock.lock().unwrap_or_else(PoisonError::into_inner);
            waiting.fetch_add(1, Ordering::Relaxed);
            // Pairs with the fence in `ring`.
            fence(Ordering::SeqCst);
            let last_look = self.receiver.try_recv();
            let nudged = deadline.is_some() && self.doorbell.nudged.load(Ordering::Relaxed);
            match (&last_look, remaining) {
                (Err(TryRecvError::Empty), _) if nudged => drop(guard),
                (Err(TryRecvError::Empty), None) => {
                    drop(self.doorbell.rung.wait(guard).unwrap_or_else(PoisonError::into_inner));
                }
                (Err(TryRecvError::Empty), Some(remaining)) => {
                    let rung = self.doorbell.rung.wait_timeout(guard, remaining);
                    drop(rung.unwrap_or_else(PoisonError::into_inner));
                }
                _ => drop(guard),
            }
            waiting.fetch_sub(1, Ordering::Relaxed);
            match last_look {
                Ok(message) => return Ok(message),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => {}
            }
        }
    }
}

/// Ends a [`Consumer`]'s `recv_timeout` early ([`Consumer::nudger`]); a nudge that comes before the wait
/// ends the next one at once, so none is lost.
#[derive(Clone, Debug)]
pub struct Nudger(Arc<Doorbell>);

impl Nudger {
    /// Makes the consumer's current or next `recv_timeout` return [`RecvTimeoutError::Timeout`] now.
    pub fn nudge(&self) {
        self.0.nudged.store(true, Ordering::Relaxed);
        self.0.ring();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A producer that sends in bursts and pauses, so that the consumer keeps falling asleep at different
    /// moments: every message arrives, in order, and the producer's end wakes the consumer.
    #[test]
    fn every_message_arrives_and_the_end_is_seen_however_sends_and_sleeps_interleave() {
        for round in 0..20u64 {
            let (producer, consumer) = bounded(4);
            let sender = std::thread::spawn(move || {
                for n in 0..2_000u64 {
                    let mut message = n;
                    while let Err(TrySendError::Full(unsent)) = producer.try_send(message) {
                        message = unsent;
                        std::thread::yield_now();
                    }
                    if (n + round) % 97 == 0 {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
            });
            let received: Vec<u64> = std::iter::from_fn(|| consumer.recv()).collect();
            sender.join().unwrap();
            assert_eq!(received, (0..2_000).collect::<Vec<_>>());
        }
    }

    #[test]
    fn recv_timeout_times_out_then_sees_messages_and_the_end() {
        let (producer, consumer) = bounded(2);
        let started = Instant::now();
        assert_eq!(
            consumer.recv_timeout(Duration::from_millis(30)),
            Err(RecvTimeoutError::Timeout)
        );
        assert!(started.elapsed() >= Duration::from_millis(30));
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            producer.send_timeout(7, Duration::from_secs(1)).unwrap();
        });
        assert_eq!(consumer.recv_timeout(Duration::from_secs(5)), Ok(7));
        sender.join().unwrap();
        assert_eq!(
            consumer.recv_timeout(Duration::from_secs(5)),
            Err(RecvTimeoutError::Disconnected)
        );
        assert_eq!(consumer.recv(), None);
    }

    #[test]
    fn a_nudge_ends_a_timed_wait_early_and_one_before_the_wait_is_kept() {
        let (producer, consumer) = bounded::<u8>(1);
        let nudger = consumer.nudger();
        nudger.nudge();
        let started = Instant::now();
        assert_eq!(
            consumer.recv_timeout(Duration::from_secs(10)),
            Err(RecvTimeoutError::Timeout)
        );
        let nudging = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            nudger.nudge();
        });
        assert_eq!(
            consumer.recv_timeout(Duration::from_secs(10)),
            Err(RecvTimeoutError::Timeout)
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the nudges ended both waits"
        );
        nudging.join().unwrap();
        let waited = Instant::now();
        assert_eq!(
            consumer.recv_timeout(Duration::from_millis(50)),
            Err(RecvTimeoutError::Timeout)
        );
        assert!(
            waited.elapsed() >= Duration::from_millis(50),
            "each nudge ends one wait"
        );
        producer.try_send(3).unwrap();
        assert_eq!(consumer.recv_timeout(Duration::from_secs(1)), Ok(3));
    }

    /// Deferred sends reach a consumer that sleeps between batches, a full channel included (the producer
    /// then wakes it itself), in order.
    #[test]
    fn deferred_sends_arrive_in_order_with_one_wake_a_batch() {
        let (producer, consumer) = bounded(8);
        let sender = std::thread::spawn(move || {
            for batch in 0..200u64 {
                for n in 0..(batch % 23) {
                    producer.send_deferred(batch * 100 + n).unwrap();
                }
                producer.wake_consumer();
                if batch % 7 == 0 {
                    std::thread::sleep(Duration::from_micros(300));
                }
            }
        });
        let received: Vec<u64> = std::iter::from_fn(|| consumer.recv()).collect();
        sender.join().unwrap();
        let expected: Vec<u64> = (0..200u64)
            .flat_map(|batch| (0..batch % 23).map(move |n| batch * 100 + n))
            .collect();
        assert_eq!(received, expected);
    }

    #[test]
    fn a_full_channel_hands_the_message_back() {
        let (producer, consumer) = bounded(1);
        producer.try_send(1).unwrap();
        assert_eq!(producer.try_send(2), Err(TrySendError::Full(2)));
        assert_eq!(consumer.receiver().try_recv(), Ok(1));
    }
}
