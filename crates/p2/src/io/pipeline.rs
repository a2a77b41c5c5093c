//! The threaded receive path (`docs/p2-protocol.md` A.5): a reader thread that only copies into the core byte ring, a
//! supervised extraction worker running the [`Deframer`], and a channel of [`Emitted`] outputs for the caller (the
//! consumer side) to route.
//!
//! ```text
//! Source ──read──▶ reader thread ──copy──▶ ByteRing (+ chunk marks) ──▶ extraction worker ──Output──▶ caller
//!                    │ ring full for `overflow_wait`: chunk refused,     (Deframer over pooled chunks,
//!                    │ counted, a gap mark → resync                       restarted after a panic)
//! ```
//!
//! No message is lost or duplicated by a worker panic: the worker frees ring bytes only once the output that
//! accounts for them has been sent, so a restarted deframer starts at the first byte not yet emitted. A full
//! ring is waited for (bounded), then the chunk is refused with an exact byte count; nothing already in the
//! ring is thrown away.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use sluicegate_core::handover;
use sluicegate_core::ring::{RingConsumer, RingMonitor, RingProducer, RingStats, RingWaker, ring};
use sluicegate_core::supervisor::{RestartCount, StopSignal, SupervisedWorker, Supervisor, WorkerError, WorkerEvent};
use sluicegate_core::{BufferPool, PoolStats, Sizing};

use super::open::Origin;
use super::source::{Read, Source, Speed};
use crate::counters::OutputCounters;
use crate::deframe::{Config, ConfigError, Deframer};
use crate::message::Output;

/// Pipeline settings; [`Default`] gives the values of A.5.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// Bytes the ring holds (default 2 MiB).
    pub ring_capacity: usize,
    /// How long the reader waits for room before refusing a chunk (default 100 ms).
    pub overflow_wait: Duration,
    /// Outputs in flight between the worker and the caller (default 4,096); when the caller falls behind, the
    /// worker waits, then the ring fills.
    pub queue: usize,
    /// Deframer settings.
    pub deframer: Config,
    /// Test switch: the worker panics once, just before handing on this many messages.
    pub inject_panic_after: Option<u64>,
    /// Run the reader thread at real-time priority when the OS allows it (default true): an OS serial buffer
    /// holds only ~256 ms at 2 Mbaud (see [`sluicegate_core::realtime`]).
    pub realtime_reader: bool,
    /// Read coalescing for live sources (default zero: off): after a read of fewer than [`COALESCE_BELOW`]
    /// bytes, the reader lets the next bytes gather in the OS buffer for this long before it reads again.
    /// Under sustained traffic that bounds the reads, and so the wake-ups of all three threads, to one per
    /// window instead of one per USB transfer or pty write; a message after a pause is still read at once.
    /// Bytes wait at most this long more before the read that takes them.
    pub coalesce: Duration,
    /// Pin the reader and the worker to this CPU (default none: free to move). For a live link whose reads
    /// are small and frequent, with the consumer's thread pinned to the same CPU
    /// ([`sluicegate_core::cpu::pin_current_thread`]): each read's hand-overs then wake a thread on the
    /// waker's own CPU, which on a virtual machine cost less than half as much CPU and latency
    /// ([`sluicegate_core::cpu`]). A replay at full speed is faster with the threads free.
    pub cpu: Option<usize>,
    /// The deframer's idle deadlines follow the reads' arrival times, not the wall clock (default false): for
    /// a replay faster than it was recorded, whose bytes all come early, so that a pause in the recording
    /// still ends a line as it did live. Unfinished text then waits for the next read or the end.
    pub recorded_clock: bool,
    /// How [`Pipeline::next`] waits for an output (default [`ConsumerWait::Sleep`]).
    pub consumer_wait: ConsumerWait,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            ring_capacity: sluicegate_core::ring::DEFAULT_RING_CAPACITY,
            overflow_wait: Duration::from_millis(100),
            queue: 4096,
            deframer: Config::default(),
            inject_panic_after: None,
            realtime_reader: true,
            coalesce: Duration::ZERO,
            cpu: None,
            recorded_clock: false,
            consumer_wait: ConsumerWait::Sleep,
        }
    }
}

impl PipelineConfig {
    /// The defaults, fitted to where the bytes come from: a replay faster than recorded keeps the recorded
    /// clock ([`recorded_clock`](Self::recorded_clock)); a replay or the simulator, which keep the channel
    /// busy, are waited for spinning ([`ConsumerWait::Spin`]); a wire is waited for sleeping.
    pub fn for_origin(origin: Origin) -> Self {
        Self {
            recorded_clock: origin == Origin::Recording(Speed::Max),
            consumer_wait: match origin {
                Origin::Wire => ConsumerWait::Sleep,
                Origin::Recording(_) | Origin::Simulator => ConsumerWait::Spin,
            },
            ..Self::default()
        }
    }
}

/// How a consumer waits in [`Pipeline::next`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConsumerWait {
    /// Sleeps at once and is woken once per read's outputs: a live link's outputs come a few at a time,
    /// about once a millisecond, and spinning for them cost more CPU than routing them.
    #[default]
    Sleep,
    /// Spins, then yields, then sleeps (crossbeam's wait): keeps the consumer on its CPU while a replay or the
    /// simulator keeps the channel busy (a text replay runs ~40 % faster).
    Spin,
}

/// What [`Pipeline::next`] found.
#[derive(Debug)]
pub enum Next {
    /// An output.
    Output(Emitted),
    /// None within the wait (or the wait was nudged): look at your flags and call again.
    Waiting,
    /// The input has ended and every output has been taken.
    Ended,
}

/// Bytes copied from the ring into one pooled chunk at most: big enough for a 2 Mbaud read, small enough that a
/// message kept by a slow consumer pins little memory.
const CHUNK_BUFFER: usize = 16 * 1024;

/// Reads larger than this are split (a UART read is far smaller; a replay at full speed is not).
const READ_BUFFER: usize = 64 * 1024;

/// A read this large is not followed by a coalescing pause: more is waiting. A tty read returns at most the
/// line discipline's buffer, 4,096 bytes (Linux `N_TTY_BUF_SIZE`), so above 2 Mbaud × 10 ms the reader
/// reads back to back and the OS buffer cannot fill.
pub const COALESCE_BELOW: usize = 4096;

/// Something the pipeline reports besides outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PipelineEvent {
    /// A.5: the ring stayed full for the whole wait; this chunk was discarded.
    Overflow {
        /// Bytes discarded by this overflow.
        lost: u64,
    },
    /// The extraction worker panicked and was restarted.
    WorkerRestarted {
        /// Restarts so far.
        restarts: u32,
        /// The panic's message.
        panic: String,
    },
    /// The source failed; the pipeline drains what it has and ends.
    SourceFailed {
        /// The error.
        error: String,
    },
}

/// Live counters of the reader side.
#[derive(Debug, Default)]
struct ReaderCounters {
    bytes_in: AtomicU64,
    reads: AtomicU64,
    overflows: AtomicU64,
    overflow_bytes: AtomicU64,
}

/// What the pipeline has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct PipelineStats {
    /// Bytes read from the source.
    pub bytes_in: u64,
    /// Reads that delivered bytes (fewer, larger ones with [`PipelineConfig::coalesce`]).
    pub reads: u64,
    /// Chunks discarded because the ring stayed full.
    pub overflows: u64,
    /// Bytes in those chunks.
    pub overflow_bytes: u64,
    /// Worker restarts after a panic.
    pub restarts: u32,
    /// The ring's fill and high-water mark.
    pub ring: RingStats,
    /// The chunk buffers' pool.
    pub chunk_pool: PoolStats,
    /// Every message and discard handed to the consumer, each counted once however often the worker
    /// restarted. Once the input has ended and the output channel has closed,
    /// `bytes_in == overflow_bytes + outputs.message_bytes + outputs.discarded_bytes`.
    pub outputs: OutputCounters,
}

/// Why the pipeline ended badly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The deframer configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A thread could not be started.
    #[error("cannot start a pipeline thread: {0}")]
    Spawn(#[from] std::io::Error),
    /// The worker panicked more often than allowed.
    #[error("extraction worker gave up after {restarts} restarts: {panic}")]
    WorkerGaveUp {
        /// Restarts made.
        restarts: u32,
        /// The last panic.
        panic: String,
    },
}

/// An output and when it became possible: the arrival of the last read fed to the deframer before it was
/// emitted (for a message, the read that completed it). Delivery time minus `completed` is the pipeline's
/// own latency; `Message::arrival` (the first byte's read) also counts the time the P2 took to send it.
#[derive(Clone, Debug)]
pub struct Emitted {
    /// The message or discard.
    pub output: Output,
    /// Arrival of the read that let the deframer emit it.
    pub completed: Instant,
}

/// A chunk's place and time in the ring, or a gap where chunks were refused.
#[derive(Clone, Copy, Debug)]
enum Mark {
    Chunk { len: usize, arrival: Instant },
    Gap { lost: u64 },
}

/// Called by the reader thread with each read (arrival since the start, bytes), before it goes into the ring:
/// the raw recording tap.
pub type Tap = Box<dyn FnMut(Duration, &[u8]) + Send>;

/// A running receive pipeline.
#[derive(Debug)]
pub struct Pipeline {
    outputs: handover::Consumer<Emitted>,
    events: Receiver<PipelineEvent>,
    worker_events: Receiver<WorkerEvent>,
    reader: Option<JoinHandle<()>>,
    worker: SupervisedWorker<WorkerInput>,
    stop: Arc<AtomicBool>,
    /// Wakes the worker on a stop (it waits without a short timeout; a blocked stdin reader cannot end it).
    wake_worker: RingWaker,
    monitor: PipelineMonitor,
    started: Instant,
    /// How [`Pipeline::next`] waits.
    consumer_wait: ConsumerWait,
}

/// The counters of a running [`Pipeline`], readable from any thread ([`Pipeline::monitor`]): a status line or
/// a web page's status bar reads them while the consumer routes.
#[derive(Clone, Debug)]
pub struct PipelineMonitor {
    counters: Arc<ReaderCounters>,
    ring: RingMonitor,
    chunk_pool: BufferPool,
    restarts: RestartCount,
    /// The worker's output counters, as of its last wake-up of the consumer.
    published: Arc<Mutex<OutputCounters>>,
}

impl PipelineMonitor {
    /// Counters so far.
    pub fn stats(&self) -> PipelineStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        PipelineStats {
            bytes_in: load(&self.counters.bytes_in),
            reads: load(&self.counters.reads),
            overflows: load(&self.counters.overflows),
            overflow_bytes: load(&self.counters.overflow_bytes),
            restarts: self.restarts.get(),
            ring: self.ring.stats(),
            chunk_pool: self.chunk_pool.stats(),
            outputs: *self.published.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }
}

/// How long the worker waits for bytes when nothing is due: a safety net only, since bytes, the end of the
/// input and a stop all wake it (a timer wake-up costs 12–23 µs of CPU on this project's virtual machine: the
/// `wake_cost` example in sluicegate-core, BENCHMARKS.md).
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// How often the worker looks again when an idle deadline has passed but the reader holds bytes for a full
/// ring (a rare, backpressured state).
const HOLDING_POLL: Duration = Duration::from_millis(1);

impl Pipeline {
    /// Starts the reader and the worker on `source`.
    ///
    /// # Errors
    /// [`PipelineError`] if the configuration is invalid or a thread cannot be started.
    pub fn start(source: Box<dyn Source>, config: PipelineConfig, tap: Option<Tap>) -> Result<Self, PipelineError> {
        let deframer_pool = BufferPool::new(Sizing::Adaptive { min: 4, max: 1024 }, config.deframer.max_message());
        Deframer::with_pool(config.deframer.clone(), deframer_pool.clone())?;
        let chunk_pool = BufferPool::new(Sizing::Adaptive { min: 16, max: 4096 }, CHUNK_BUFFER);
        let (ring_producer, ring_consumer) = ring(config.ring_capacity);
        let (mark_producer, mark_consumer) = rtrb::RingBuffer::new(config.ring_capacity.clamp(1024, 1 << 16));
        let (output_tx, outputs) = handover::bounded(config.queue.max(1));
        let (event_tx, events) = crossbeam_channel::bounded(1024);
        let (worker_event_tx, worker_events) = crossbeam_channel::bounded(1024);
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(ReaderCounters::default());
        let ring = ring_producer.monitor();
        let started = Instant::now();

        let wake_worker = ring_consumer.waker();
        let published = Arc::new(Mutex::new(OutputCounters::default()));
        let reader_holding = Arc::new(AtomicBool::new(false));
        let input = WorkerInput {
            bytes: ring_consumer,
            marks: mark_consumer,
            front_committed: 0,
            outputs: Some(output_tx),
            chunk_pool: chunk_pool.clone(),
            deframer_pool,
            config: config.deframer.clone(),
            panic_after: config.inject_panic_after,
            messages_sent: 0,
            reader_holding: Arc::clone(&reader_holding),
            cpu: config.cpu,
            recorded_clock: config.recorded_clock,
            unannounced: 0,
            counted: OutputCounters::default(),
            published: Arc::clone(&published),
        };
        let worker_stop = Arc::clone(&stop);
        let worker = Supervisor::new("p2-extract")
            .events(worker_event_tx)
            .spawn(input, move |input, signal| run_worker(input, signal, &worker_stop))?;

        let reader = Reader {
            source,
            ring: ring_producer,
            marks: mark_producer,
            overflow_wait: config.overflow_wait,
            counters: Arc::clone(&counters),
            events: event_tx,
            stop: Arc::clone(&stop),
            tap,
            started,
            realtime: config.realtime_reader,
            coalesce: config.coalesce,
            holding: reader_holding,
            cpu: config.cpu,
        };
        let reader = std::thread::Builder::new()
            .name("p2-reader".into())
            .spawn(move || reader.run())?;
        let monitor = PipelineMonitor {
            counters,
            ring,
            chunk_pool,
            restarts: worker.restart_count(),
            published,
        };
        Ok(Self {
            outputs,
            events,
            worker_events,
            reader: Some(reader),
            worker,
            stop,
            wake_worker,
            monitor,
            started,
            consumer_wait: config.consumer_wait,
        })
    }

    /// The framed outputs, in input order. The channel closes when the input has ended (or the pipeline was
    /// stopped) and everything received has been framed, pending text included. A consumer waiting in its
    /// `recv` sleeps at once: the outputs of one read come about once a millisecond at 2 Mbaud, and
    /// crossbeam's spin-then-yield wait cost more than the routing.
    pub fn outputs(&self) -> &handover::Consumer<Emitted> {
        &self.outputs
    }

    /// The next output, waiting at most `timeout` (as [`PipelineConfig::consumer_wait`] says); a
    /// [`Nudger`](sluicegate_core::handover::Nudger) of [`outputs`](Self::outputs) ends a sleeping wait early.
    /// [`Next::Ended`] once the input has ended and every output has been taken.
    pub fn next(&self, timeout: Duration) -> Next {
        let received = match self.consumer_wait {
            ConsumerWait::Sleep => self.outputs.recv_timeout(timeout),
            ConsumerWait::Spin => self.outputs.receiver().recv_timeout(timeout),
        };
        match received {
            Ok(emitted) => Next::Output(emitted),
            // A worker that ended without closing the channel (it gave up after panics) ends it too.
            Err(RecvTimeoutError::Timeout) if self.is_finished() && self.outputs.receiver().is_empty() => Next::Ended,
            Err(RecvTimeoutError::Timeout) => Next::Waiting,
            Err(RecvTimeoutError::Disconnected) => Next::Ended,
        }
    }

    /// The next output if one is queued, without waiting.
    pub fn try_next(&self) -> Option<Emitted> {
        self.outputs.receiver().try_recv().ok()
    }

    /// Whether outputs are queued for the consumer now.
    pub fn has_queued(&self) -> bool {
        !self.outputs.receiver().is_empty()
    }

    /// Whether the worker has ended (normally, or by giving up after repeated panics).
    pub fn is_finished(&self) -> bool {
        self.worker.is_finished()
    }

    /// Overflows and source failures, and worker restarts, as they happen.
    pub fn poll_event(&self) -> Option<PipelineEvent> {
        self.events.try_recv().ok().or_else(|| {
            self.worker_events.try_recv().ok().and_then(|event| match event {
                WorkerEvent::Restarted { restarts, panic, .. } => {
                    Some(PipelineEvent::WorkerRestarted { restarts, panic })
                }
                _ => None,
            })
        })
    }

    /// When the pipeline started: arrival times are measured from here (replays: start + recorded time).
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Stops reading; what was read is still framed and comes out before the output channel closes.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.wake_worker.wake();
    }

    /// Counters so far.
    pub fn stats(&self) -> PipelineStats {
        self.monitor.stats()
    }

    /// A handle on the counters for another thread.
    pub fn monitor(&self) -> PipelineMonitor {
        self.monitor.clone()
    }

    /// Waits for the worker to end (call after the output channel closed) and returns the final counters. A
    /// reader blocked in a read that cannot time out (stdin) is left to end with the process.
    ///
    /// # Errors
    /// [`PipelineError::WorkerGaveUp`] if the worker kept panicking.
    /// Outputs not yet received are dropped, so a worker blocked on a full channel ends too.
    pub fn finish(mut self) -> Result<PipelineStats, PipelineError> {
        self.stop();
        if let Some(reader) = self.reader.take()
            && reader.is_finished()
        {
            let _ = reader.join();
        }
        let stats = self.stats();
        let Pipeline { outputs, worker, .. } = self;
        drop(outputs);
        match worker.join() {
            Ok(_) => Ok(stats),
            Err(WorkerError::GaveUp { restarts, panic, .. }) => Err(PipelineError::WorkerGaveUp { restarts, panic }),
            Err(other) => Err(PipelineError::WorkerGaveUp {
                restarts: stats.restarts,
                panic: other.to_string(),
            }),
        }
    }
}

struct Reader {
    source: Box<dyn Source>,
    ring: RingProducer,
    marks: rtrb::Producer<Mark>,
    overflow_wait: Duration,
    counters: Arc<ReaderCounters>,
    events: Sender<PipelineEvent>,
    stop: Arc<AtomicBool>,
    tap: Option<Tap>,
    started: Instant,
    realtime: bool,
    coalesce: Duration,
    /// True from a read until its bytes are in the ring or refused: the input is not idle meanwhile.
    holding: Arc<AtomicBool>,
    cpu: Option<usize>,
}

impl Reader {
    fn run(mut self) {
        if self.realtime
            && let Err(error) = sluicegate_core::realtime::raise_current_thread()
        {
            tracing::debug!(%error, "p2 reader stays at normal priority");
        }
        pin(self.cpu, "reader");
        let capacity = READ_BUFFER.min((self.ring.stats().capacity / 2).max(1));
        let mut buf = vec![0u8; capacity];
        let mut pending_gap = 0u64;
        while !self.stop.load(Ordering::Acquire) {
            let (len, at) = match self.source.read(&mut buf) {
                Ok(Read::Data { len, at }) => (len, at),
                Ok(Read::Idle) => continue,
                Ok(Read::End) => break,
                Err(error) => {
                    let _ = self.events.try_send(PipelineEvent::SourceFailed {
                        error: error.to_string(),
                    });
                    break;
                }
            };
            self.holding.store(true, Ordering::Release);
            let at = at.unwrap_or_else(|| self.started.elapsed());
            self.counters.bytes_in.fetch_add(len as u64, Ordering::Relaxed);
            self.counters.reads.fetch_add(1, Ordering::Relaxed);
            if let Some(tap) = self.tap.as_mut() {
                tap(at, &buf[..len]);
            }
            if self.wait_for_room(len) {
                if pending_gap > 0 {
                    let _ = self.marks.push(Mark::Gap { lost: pending_gap });
                    pending_gap = 0;
                }
                // The mark goes first: the worker waits for a mark's bytes, and the byte push wakes it.
                let _ = self.marks.push(Mark::Chunk {
                    len,
                    arrival: self.started + at,
                });
                self.ring
                    .push_slice(&buf[..len])
                    .expect("room was checked and only this thread writes");
            } else {
                pending_gap += len as u64;
                self.counters.overflows.fetch_add(1, Ordering::Relaxed);
                self.counters.overflow_bytes.fetch_add(len as u64, Ordering::Relaxed);
                let _ = self.events.try_send(PipelineEvent::Overflow { lost: len as u64 });
            }
            self.holding.store(false, Ordering::Release);
            // A read that filled the buffer means more is waiting: no pause.
            if !self.coalesce.is_zero() && len < COALESCE_BELOW.min(buf.len()) {
                std::thread::sleep(self.coalesce);
            }
        }
    }

    /// Waits up to `overflow_wait` for room for `len` bytes and two marks.
    fn wait_for_room(&self, len: usize) -> bool {
        let fits = |reader: &Self| reader.ring.free() >= len && reader.marks.slots() >= 2;
        if fits(self) {
            return true;
        }
        let deadline = Instant::now() + self.overflow_wait;
        let mut pause = Duration::from_micros(20);
        while Instant::now() < deadline {
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(1));
            if fits(self) {
                return true;
            }
        }
        false
    }
}

/// What the extraction worker owns across restarts: everything a fresh deframer needs to start at the first
/// byte not yet emitted.
struct WorkerInput {
    bytes: RingConsumer,
    marks: rtrb::Consumer<Mark>,
    /// Bytes of the front chunk mark already emitted (and freed from the ring).
    front_committed: usize,
    /// Taken when the worker ends normally, which closes the caller's channel.
    outputs: Option<handover::Producer<Emitted>>,
    chunk_pool: BufferPool,
    deframer_pool: BufferPool,
    config: Config,
    panic_after: Option<u64>,
    messages_sent: u64,
    /// The reader has read bytes it has not yet put in the ring (it waits for room): an idle deadline that
    /// passes meanwhile is not idleness, and flushing a line as `partial` then would cut it in two.
    reader_holding: Arc<AtomicBool>,
    cpu: Option<usize>,
    /// [`PipelineConfig::recorded_clock`].
    recorded_clock: bool,
    /// Outputs sent since the consumer was last woken.
    unannounced: usize,
    /// Every output handed on, across the deframer's lives (a restarted deframer starts again from zero).
    counted: OutputCounters,
    /// `counted` as of the last wake-up of the consumer, for [`Pipeline::stats`].
    published: Arc<Mutex<OutputCounters>>,
}

impl std::fmt::Debug for WorkerInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerInput")
            .field("buffered", &self.bytes.len())
            .field("messages_sent", &self.messages_sent)
            .finish()
    }
}

/// The worker's progress through the ring, for one deframer's life.
struct Cursor {
    /// Marks (from the front of the queue) given to the deframer.
    fed_marks: usize,
    /// Ring bytes (from the read position) given to the deframer.
    fed_bytes: usize,
    /// Arrival of the last read given to the deframer.
    last_arrival: Instant,
}

/// Pins the calling pipeline thread as configured; a refusal leaves it free (and is logged).
fn pin(cpu: Option<usize>, thread: &str) {
    if let Some(cpu) = cpu
        && let Err(error) = sluicegate_core::cpu::pin_current_thread(cpu)
    {
        tracing::debug!(%error, thread, "p2 pipeline thread stays free to move");
    }
}

fn run_worker(input: &mut WorkerInput, signal: &StopSignal, stop: &AtomicBool) {
    pin(input.cpu, "worker");
    extract(input, signal, stop);
    input.outputs = None;
}

fn extract(input: &mut WorkerInput, signal: &StopSignal, stop: &AtomicBool) {
    let mut deframer =
        Deframer::with_pool(input.config.clone(), input.deframer_pool.clone()).expect("validated by Pipeline::start");
    let mut cursor = Cursor {
        fed_marks: 0,
        fed_bytes: 0,
        last_arrival: Instant::now(),
    };
    loop {
        let ended = input.bytes.is_producer_closed() || stop.load(Ordering::Acquire) || signal.is_requested();
        let fed = feed(input, &mut deframer, &mut cursor, ended);
        let mut emitted = false;
        while let Some(output) = deframer.poll_output() {
            if !hand_on(input, &mut cursor, output) {
                return;
            }
            emitted = true;
        }
        announce(input);
        if fed || emitted {
            continue;
        }
        let all_fed = cursor.fed_marks == input.marks.slots();
        if ended && all_fed {
            deframer.handle_end();
            while let Some(output) = deframer.poll_output() {
                if !hand_on(input, &mut cursor, output) {
                    return;
                }
            }
            announce(input);
            if input.bytes.is_producer_closed() || input.marks.slots() == cursor.fed_marks {
                return;
            }
            continue;
        }
        let now = Instant::now();
        let wait = match deframer.poll_timeout() {
            // The next read's arrival decides (`feed`); the end flushes what is left.
            Some(_) if input.recorded_clock => IDLE_WAIT,
            Some(deadline) if deadline <= now && !input.reader_holding.load(Ordering::Acquire) => {
                deframer.handle_timeout(now);
                continue;
            }
            // Past the deadline while the reader holds bytes: they come within its overflow wait.
            Some(deadline) if deadline <= now => HOLDING_POLL,
            Some(deadline) => deadline - now,
            None => IDLE_WAIT,
        };
        input.bytes.wait_for(cursor.fed_bytes + 1, wait.min(IDLE_WAIT));
    }
}

/// Gives the deframer every mark whose bytes are in the ring; returns whether it gave anything.
///
/// A gap is given together with the chunk after it (whose mark comes first, its bytes a moment later): given
/// alone, the deframer could see the input idle before the bytes after the gap arrive, end its
/// resynchronisation, and frame the rest of a cut line as a message. At the end of the input (`at_end`), a
/// trailing gap is given alone.
fn feed(input: &mut WorkerInput, deframer: &mut Deframer, cursor: &mut Cursor, at_end: bool) -> bool {
    let Ok(marks) = input.marks.read_chunk(input.marks.slots()) else {
        return false;
    };
    let (first, second) = marks.as_slices();
    let readable = input.bytes.readable();
    let (ring_first, ring_second) = readable.as_slices();
    let available = ring_first.len() + ring_second.len();
    let chunk_len = |mark_index: usize, len: usize| {
        if mark_index == 0 {
            len - input.front_committed
        } else {
            len
        }
    };
    let mut fed = false;
    let mut after_gap = false;
    let mut unfed = first
        .iter()
        .chain(second)
        .copied()
        .enumerate()
        .skip(cursor.fed_marks)
        .peekable();
    while let Some((index, mark)) = unfed.next() {
        match mark {
            Mark::Gap { lost } => {
                let next_is_here = match unfed.peek() {
                    Some(&(next, Mark::Chunk { len, .. })) => cursor.fed_bytes + chunk_len(next, len) <= available,
                    Some((_, Mark::Gap { .. })) => true,
                    None => at_end,
                };
                if !next_is_here {
                    break;
                }
                deframer.handle_gap(lost);
                after_gap = true;
            }
            Mark::Chunk { len, arrival } => {
                let len = chunk_len(index, len);
                if cursor.fed_bytes + len > available {
                    break;
                }
                // Time passes as recorded: had the input been idle by this read's arrival? (Not right after a
                // gap, which is given with its next chunk so that no idleness ends its resynchronisation.)
                if input.recorded_clock && !after_gap {
                    deframer.handle_timeout(arrival);
                }
                after_gap = false;
                let mut start = cursor.fed_bytes;
                while start < cursor.fed_bytes + len {
                    let end = (cursor.fed_bytes + len).min(start + CHUNK_BUFFER);
                    let mut buf = input.chunk_pool.acquire_at_least(end - start);
                    copy_ring_range(&mut buf, ring_first, ring_second, start..end);
                    deframer.handle_chunk(buf.freeze(), arrival);
                    start = end;
                }
                cursor.fed_bytes += len;
                cursor.last_arrival = arrival;
            }
        }
        cursor.fed_marks += 1;
        fed = true;
    }
    fed
}

fn copy_ring_range(buf: &mut sluicegate_core::PoolBuf, first: &[u8], second: &[u8], range: std::ops::Range<usize>) {
    let split = first.len();
    let head = &first[range.start.min(split)..range.end.min(split)];
    let tail = &second[range.start.max(split) - split..range.end.max(split) - split];
    for part in [head, tail] {
        buf.extend_from_slice(part).expect("the buffer was sized for the range");
    }
}

/// Sends one output, then frees its bytes from the ring (so a panic can neither lose nor repeat it). Returns
/// false when the caller has gone away.
fn hand_on(input: &mut WorkerInput, cursor: &mut Cursor, output: Output) -> bool {
    let completed = cursor.last_arrival;
    if let Output::Message(_) = output
        && input.panic_after == Some(input.messages_sent)
    {
        input.panic_after = None;
        panic!(
            "injected extraction-worker panic before message {}",
            input.messages_sent
        );
    }
    let len = output.bytes().len();
    let is_message = output.message().is_some();
    // Counted before it is sent: a send that fails ends the worker, the consumer being gone.
    input.counted.count(&(&output).into());
    let Some(outputs) = &input.outputs else { return false };
    if outputs.send_deferred(Emitted { output, completed }).is_err() {
        return false;
    }
    input.unannounced += 1;
    if input.unannounced == ANNOUNCE_EVERY {
        announce(input);
    }
    if is_message {
        input.messages_sent += 1;
    }
    commit(input, cursor, len);
    true
}

/// Outputs handed on before the consumer is woken even though the deframer has more: in a long chunk (a replay)
/// it starts on them while the rest are framed.
const ANNOUNCE_EVERY: usize = 64;

/// Publishes the counters and wakes the consumer for the outputs sent since the last wake: once a read's
/// outputs rather than once an output, so a consumer that falls asleep between two outputs of one read is not
/// woken again for the second (`strace -f` of the terminal at 2 Mbaud: 1.09 → 1.00 consumer wake-ups a read).
/// The counters are published first, so a consumer that has seen the channel close reads the final ones.
fn announce(input: &mut WorkerInput) {
    if input.unannounced > 0 {
        *input.published.lock().unwrap_or_else(PoisonError::into_inner) = input.counted;
        if let Some(outputs) = &input.outputs {
            outputs.wake_consumer();
        }
    }
    input.unannounced = 0;
}

fn commit(input: &mut WorkerInput, cursor: &mut Cursor, len: usize) {
    input.bytes.readable().commit(len);
    cursor.fed_bytes -= len;
    let mut left = len;
    while left > 0 {
        let Ok(front) = input.marks.peek().copied() else { break };
        match front {
            // Bytes after a gap are being freed, so the gap is behind us.
            Mark::Gap { .. } => {}
            Mark::Chunk { len, .. } => {
                let rest = len - input.front_committed;
                if left < rest {
                    input.front_committed += left;
                    return;
                }
                left -= rest;
                input.front_committed = 0;
            }
        }
        let _ = input.marks.pop();
        cursor.fed_marks -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::source::{Pace, SimulatedSource};
    use crate::simulate;

    fn collect(pipeline: &Pipeline) -> Vec<Output> {
        std::iter::from_fn(|| pipeline.outputs().recv())
            .map(|emitted| emitted.output)
            .collect()
    }

    #[test]
    fn hsv16_burst_comes_out_whole_and_in_order() {
        let stream = simulate::hsv16();
        let source = SimulatedSource::new(&stream, Pace::Burst);
        let pipeline = Pipeline::start(Box::new(source), PipelineConfig::default(), None).unwrap();
        let outputs = collect(&pipeline);
        let stats = pipeline.finish().unwrap();
        let messages: Vec<_> = outputs.iter().filter_map(Output::message).collect();
        assert_eq!(messages.len(), 65_539);
        for (message, expected) in messages.iter().zip(stream.messages()) {
            assert_eq!(&message.bytes[..], &stream.bytes()[expected.range.clone()]);
        }
        assert_eq!(stats.bytes_in, stream.bytes().len() as u64);
        assert_eq!(stats.overflows, 0);
        assert_eq!(stats.outputs.messages, 65_539);
        assert_eq!(
            stats.outputs.per_kind.get(crate::MessageKind::BacktickWindow).messages,
            65_539
        );
    }

    #[test]
    fn coalescing_bounds_the_reads_of_a_sustained_stream_and_keeps_every_byte() {
        // 2 Mbaud for about 0.4 s: without coalescing the simulated line is read every millisecond.
        let stream = simulate::mixed(3, 1000);
        let seconds = stream.bytes().len() as f64 / 200_000.0;
        let read = |coalesce| {
            let config = PipelineConfig {
                coalesce,
                ..PipelineConfig::default()
            };
            let source = SimulatedSource::new(&stream, Pace::Baud(2_000_000));
            let pipeline = Pipeline::start(Box::new(source), config, None).unwrap();
            let outputs = collect(&pipeline);
            let stats = pipeline.finish().unwrap();
            let rebuilt: Vec<u8> = outputs.iter().flat_map(|output| output.bytes().to_vec()).collect();
            assert_eq!(rebuilt, stream.bytes(), "every byte, once, in order");
            stats.reads
        };
        let eager = read(Duration::ZERO);
        let coalesced = read(Duration::from_millis(10));
        let window_count = (seconds / 0.010).ceil() as u64;
        assert!(
            coalesced <= window_count + 3,
            "{coalesced} reads in {seconds:.2} s with a 10 ms window"
        );
        assert!(eager > 3 * coalesced, "eager reads: {eager}, coalesced: {coalesced}");
    }

    /// The CPUs the OS lets each of this process's threads named `name` run on, from /proc.
    #[cfg(target_os = "linux")]
    fn allowed_cpus_of(name: &str) -> Vec<String> {
        let tasks = std::fs::read_dir("/proc/self/task").unwrap();
        tasks
            .filter_map(|task| {
                let task = task.unwrap().path();
                let comm = std::fs::read_to_string(task.join("comm")).ok()?;
                (comm.trim() == name).then(|| {
                    let status = std::fs::read_to_string(task.join("status")).unwrap();
                    let line = status
                        .lines()
                        .find(|line| line.starts_with("Cpus_allowed_list:"))
                        .unwrap();
                    line["Cpus_allowed_list:".len()..].trim().to_owned()
                })
            })
            .collect()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_reader_and_the_worker_run_on_the_configured_cpu() {
        let cpu = sluicegate_core::cpu::current().unwrap();
        let stream = simulate::mixed(5, 200);
        let config = PipelineConfig {
            cpu: Some(cpu),
            ..PipelineConfig::default()
        };
        let source = SimulatedSource::new(&stream, Pace::Baud(115_200));
        let pipeline = Pipeline::start(Box::new(source), config, None).unwrap();
        let first = pipeline.outputs().recv().unwrap();
        assert!(first.output.message().is_some());
        // Tests running alongside have unpinned pipeline threads of the same names.
        for thread in ["p2-reader", "p2-extract"] {
            let allowed = allowed_cpus_of(thread);
            assert!(
                allowed.contains(&cpu.to_string()),
                "{thread}: {allowed:?}, expected {cpu}"
            );
        }
        pipeline.stop();
        while pipeline.outputs().recv().is_some() {}
        pipeline.finish().unwrap();
    }

    #[test]
    fn injected_panic_neither_loses_nor_repeats_a_message() {
        let stream = simulate::mixed(7, 3000);
        let config = PipelineConfig {
            inject_panic_after: Some(1234),
            ..PipelineConfig::default()
        };
        let pipeline = Pipeline::start(Box::new(SimulatedSource::new(&stream, Pace::Burst)), config, None).unwrap();
        let outputs = collect(&pipeline);
        let restarted = std::iter::from_fn(|| pipeline.poll_event()).any(|event| {
            matches!(event, PipelineEvent::WorkerRestarted { restarts: 1, ref panic } if panic.contains("before message 1234"))
        });
        let stats = pipeline.finish().unwrap();
        assert!(restarted, "the restart was reported");
        assert_eq!(stats.restarts, 1);
        let rebuilt: Vec<u8> = outputs.iter().flat_map(|output| output.bytes().to_vec()).collect();
        assert_eq!(
            rebuilt,
            stream.bytes(),
            "messages and discards give back the input exactly once"
        );
        assert_eq!(
            outputs.iter().filter_map(Output::message).count(),
            stream.messages().len()
        );
        // The deframer that panicked had framed outputs it never handed on; its successor frames them again.
        // The pipeline's counters count each handed-on output once.
        let expected_bytes: usize = stream.messages().iter().map(|message| message.range.len()).sum();
        assert_eq!(stats.outputs.messages, stream.messages().len() as u64);
        assert_eq!(stats.outputs.message_bytes, expected_bytes as u64);
        assert_eq!(
            stats.outputs.message_bytes + stats.outputs.discarded_bytes,
            stats.bytes_in,
            "every byte read counted once"
        );
    }
}
