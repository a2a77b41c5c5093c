//! The capture handle: a thread that owns the server connection, cuts the stream into pooled chunks and
//! sends them, with events, down one bounded channel, or hands them to a handler on that thread.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError};
use sluicegate_core::{BufferPool, PoolBytes, PoolStats, Sizing};

use crate::chunk::ChunkAssembler;
use crate::device::{Fragment, Session, StreamStatus};
use crate::event::{CaptureError, Devices, Event};
use crate::format::StreamSpec;
use crate::target::Target;
use sluicegate_core::handover::{self, Consumer, Producer};

/// How to capture. `CaptureConfig::default()` records the default output's monitor as 48 kHz stereo f32 in
/// 10 ms chunks from an adaptive pool of 50 to 200 buffers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureConfig {
    /// The server to connect to (`unix:/run/user/1000/pulse/native`, `tcp:host`); `None` uses libpulse's
    /// lookup (`PULSE_SERVER`, client.conf, the user's runtime directory). Passing it explicitly lets
    /// several captures in one process use different servers.
    pub server: Option<String>,
    /// What to record.
    pub target: Target,
    /// The format to deliver; the server converts from the device's own.
    pub spec: StreamSpec,
    /// Audio per chunk; every chunk but possibly the last holds exactly this much.
    pub chunk_duration: Duration,
    /// How many pooled buffers to keep.
    pub pool: Sizing,
    /// Chunks that may wait in the channel; beyond that new chunks are dropped and counted, so a stalled
    /// consumer can neither block the server connection nor grow memory.
    pub queue_chunks: usize,
    /// Whether to reconnect after losing the server instead of ending with an error.
    pub reconnect: bool,
    /// The name the server shows for this client.
    pub client_name: String,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            server: None,
            target: Target::DefaultMonitor,
            spec: StreamSpec::default(),
            chunk_duration: Duration::from_millis(10),
            pool: Sizing::Adaptive { min: 50, max: 200 },
            queue_chunks: 1024,
            reconnect: false,
            client_name: "sluicegate".to_owned(),
        }
    }
}

/// What comes down a capture's channel, in order.
#[derive(Debug)]
pub enum Message {
    /// Captured audio: whole frames in the capture's [`StreamSpec`]. Dropping the last clone returns the
    /// buffer to the pool.
    Chunk(PoolBytes),
    /// Anything else; [`Event::Stopped`] is the last message.
    Event(Event),
}

/// Asks a running capture to stop, from any thread (a Ctrl-C handler, a timer).
#[derive(Clone, Debug)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks the capture to stop: it sends its last partial chunk and [`Event::Stopped`] within about 50 ms.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A running capture.
///
/// # Examples
/// ```no_run
/// use sluicegate_audio::{Capture, CaptureConfig, Message, Event};
///
/// let capture = Capture::start(CaptureConfig::default())?;
/// while let Some(message) = capture.recv() {
///     match message {
///         Message::Chunk(chunk) => println!("{} bytes", chunk.len()),
///         Message::Event(Event::Stopped) => break,
///         Message::Event(event) => println!("{event:?}"),
///     }
/// }
/// # Ok::<(), sluicegate_audio::CaptureError>(())
/// ```
#[derive(Debug)]
pub struct Capture {
    messages: Option<Consumer<Message>>,
    stop: StopHandle,
    worker: Option<JoinHandle<()>>,
    pool: BufferPool,
    spec: StreamSpec,
    source: String,
    dropped_chunks: Arc<AtomicU64>,
}

impl Capture {
    /// Connects, finds the target and starts recording; returns once the server has started the stream,
    /// so that a wrong source or application name is reported here.
    ///
    /// # Errors
    /// [`CaptureError::Spec`] or [`CaptureError::Config`] for a bad configuration (before connecting),
    /// [`CaptureError::Connect`], [`CaptureError::SourceNotFound`], [`CaptureError::ApplicationNotFound`],
    /// [`CaptureError::Stream`] when the server refuses.
    pub fn start(config: CaptureConfig) -> Result<Capture, CaptureError> {
        config.spec.chunk_bytes(config.chunk_duration)?;
        let queue = config.queue_chunks;
        if queue == 0 {
            return Err(CaptureError::Config("the queue must hold at least one chunk"));
        }
        let (sender, messages) = handover::bounded(queue);
        let mut capture = Capture::start_delivering(config, Delivery::Channel(sender))?;
        capture.messages = Some(messages);
        Ok(capture)
    }

    /// Like [`start`](Self::start), but hands every message to `handler` on the capture thread itself, as
    /// soon as the server delivers the audio, instead of sending it down the channel ([`recv`](Self::recv)
    /// then has nothing). Nothing is queued or dropped: the handler sees every chunk and event, in order, up
    /// to [`Event::Stopped`]; returning [`ControlFlow::Break`] stops the capture (it still sees `Stopped`,
    /// and no chunk after the break). [`wait`](Self::wait) waits for the end.
    ///
    /// This saves the consumer thread's wake-up per chunk: at 48 kHz stereo f32 in 10 ms chunks, a quarter
    /// of the capture's CPU time (0.37 % of a core through the channel, 0.28 % with a handler; BENCHMARKS.md).
    /// The handler must be quick: while it runs, the server buffers the audio (up to its `maxlength`, about
    /// 10 s of 48 kHz stereo f32, before it drops some); writing to a file is fine.
    ///
    /// # Examples
    /// ```no_run
    /// use std::ops::ControlFlow;
    /// use sluicegate_audio::{Capture, CaptureConfig, Message};
    ///
    /// let mut bytes = 0;
    /// let mut capture = Capture::start_with_handler(CaptureConfig::default(), move |message| {
    ///     if let Message::Chunk(chunk) = message {
    ///         bytes += chunk.len();
    ///     }
    ///     if bytes < 48_000 * 8 { ControlFlow::Continue(()) } else { ControlFlow::Break(()) }
    /// })?;
    /// capture.wait();
    /// # Ok::<(), sluicegate_audio::CaptureError>(())
    /// ```
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_with_handler(
        config: CaptureConfig,
        handler: impl FnMut(Message) -> ControlFlow<()> + Send + 'static,
    ) -> Result<Capture, CaptureError> {
        Capture::start_delivering(config, Delivery::Handler(Box::new(handler), ControlFlow::Continue(())))
    }

    fn start_delivering(config: CaptureConfig, delivery: Delivery) -> Result<Capture, CaptureError> {
        let chunk_bytes = config.spec.chunk_bytes(config.chunk_duration)?;
        if matches!(config.pool, Sizing::Fixed(0) | Sizing::Adaptive { max: 0, .. }) {
            return Err(CaptureError::Config("the pool must hold at least one buffer"));
        }
        let pool = BufferPool::new(config.pool, chunk_bytes);
        let (started_sender, started) = crossbeam_channel::bounded(1);
        let stop = StopHandle(Arc::new(AtomicBool::new(false)));
        let dropped_chunks = Arc::new(AtomicU64::new(0));
        let worker = Worker {
            assembler: ChunkAssembler::new(pool.clone(), chunk_bytes),
            config,
            chunk_bytes,
            delivery,
            stop: stop.clone(),
            dropped_chunks: Arc::clone(&dropped_chunks),
        };
        let thread = std::thread::Builder::new()
            .name("sluicegate-audio".into())
            .spawn(move || worker.run(&started_sender))
            .map_err(|error| CaptureError::Stream(format!("cannot start the capture thread: {error}")))?;
        match started.recv() {
            Ok(Ok((source, spec))) => Ok(Capture {
                messages: None,
                stop,
                worker: Some(thread),
                pool,
                spec,
                source,
                dropped_chunks,
            }),
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(error)
            }
            Err(_) => {
                let _ = thread.join();
                Err(CaptureError::Stream("the capture thread ended during setup".into()))
            }
        }
    }

    /// The next message, waiting for it; `None` after [`Event::Stopped`] has been received.
    pub fn recv(&self) -> Option<Message> {
        self.messages.as_ref()?.recv()
    }

    /// The next message, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] if none came, [`RecvTimeoutError::Disconnected`] after the last one.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Message, RecvTimeoutError> {
        match &self.messages {
            Some(messages) => messages.recv_timeout(timeout),
            None => Err(RecvTimeoutError::Disconnected),
        }
    }

    /// The channel itself, to `select!` on or to hand to another thread (it is `Clone + Send`).
    pub fn receiver(&self) -> Option<&Receiver<Message>> {
        self.messages.as_ref().map(Consumer::receiver)
    }

    /// A handle that stops this capture from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// The format of the chunks.
    pub fn spec(&self) -> StreamSpec {
        self.spec
    }

    /// The source being recorded.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The pool's counters.
    pub fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// Chunks dropped because the channel was full (the consumer fell `queue_chunks` behind).
    pub fn dropped_chunks(&self) -> u64 {
        self.dropped_chunks.load(Ordering::Relaxed)
    }

    /// Stops recording, discards undelivered messages and waits for the capture thread to end.
    pub fn stop(mut self) {
        self.shut_down();
    }

    /// Waits until the capture ends by itself: a [handler](Self::start_with_handler) broke off, the
    /// [`StopHandle`] was used, the application stopped playing, or an error. With the channel, the messages
    /// must be read for that (or they fill it and the capture waits for room to send its last events).
    pub fn wait(&mut self) {
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }

    fn shut_down(&mut self) {
        self.stop.stop();
        self.messages = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// How one connection's recording ended.
enum SessionEnd {
    Stopped,
    ApplicationGone,
    Failed(CaptureError),
}

/// The capture thread's state.
struct Worker {
    config: CaptureConfig,
    chunk_bytes: usize,
    assembler: ChunkAssembler,
    delivery: Delivery,
    stop: StopHandle,
    dropped_chunks: Arc<AtomicU64>,
}

/// Where the capture thread's messages go.
enum Delivery {
    /// Down the channel to [`Capture::recv`].
    Channel(Producer<Message>),
    /// To a handler on the capture thread, with what it last answered.
    Handler(Box<dyn FnMut(Message) -> ControlFlow<()> + Send>, ControlFlow<()>),
}

impl Delivery {
    /// Chunks never wait: a full channel drops the chunk (its buffer goes straight back to the pool) and
    /// counts it. A handler that broke off gets no more.
    fn send_chunk(&mut self, dropped: &AtomicU64, stop: &StopHandle, chunk: PoolBytes) {
        match self {
            Delivery::Channel(messages) => {
                if let Err(TrySendError::Full(_)) = messages.try_send(Message::Chunk(chunk)) {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            Delivery::Handler(handler, answer) => {
                if answer.is_continue() {
                    *answer = handler(Message::Chunk(chunk));
                    if answer.is_break() {
                        stop.stop();
                    }
                }
            }
        }
    }

    /// Events wait for room in the channel: they are rare and must not be lost, except to a capture being
    /// stopped, whose consumer may be gone (or hold a clone of the receiver and never read it). A handler that
    /// broke off gets only [`Event::Stopped`].
    fn send_event(&mut self, stop: &StopHandle, event: Event) {
        match self {
            Delivery::Channel(messages) => {
                let mut message = Message::Event(event);
                loop {
                    match messages.send_timeout(message, STOP_LATENCY) {
                        Ok(()) | Err(SendTimeoutError::Disconnected(_)) => return,
                        Err(SendTimeoutError::Timeout(_)) if stop.is_stopped() => return,
                        Err(SendTimeoutError::Timeout(unsent)) => message = unsent,
                    }
                }
            }
            Delivery::Handler(handler, answer) => {
                if answer.is_continue() || matches!(event, Event::Stopped) {
                    let stopped = matches!(event, Event::Stopped);
                    *answer = handler(Message::Event(event));
                    if answer.is_break() && !stopped {
                        stop.stop();
                    }
                }
            }
        }
    }
}

/// How long the capture thread sleeps in the mainloop at most, which bounds how late it sees a stop request.
const STOP_LATENCY: Duration = Duration::from_millis(50);

impl Worker {
    fn run(mut self, started: &Sender<Result<(String, StreamSpec), CaptureError>>) {
        let mut session = match self.open() {
            Ok((session, source, spec)) => {
                let _ = started.send(Ok((source.clone(), spec)));
                self.send_event(Event::Started { source, spec });
                session
            }
            Err(error) => {
                let _ = started.send(Err(error));
                return;
            }
        };
        loop {
            let end = self.record(&mut session);
            drop(session);
            if let Some(chunk) = self.assembler.finish() {
                self.send_chunk(chunk);
            }
            match end {
                SessionEnd::Stopped | SessionEnd::ApplicationGone => break,
                SessionEnd::Failed(error @ CaptureError::ServerGone(_)) if self.config.reconnect => {
                    self.send_event(Event::Reconnecting(error));
                    match self.reconnect() {
                        Some(next) => session = next,
                        None => break,
                    }
                }
                SessionEnd::Failed(error) => {
                    self.send_event(Event::Error(error));
                    break;
                }
            }
        }
        self.send_event(Event::Stopped);
    }

    /// Connects and starts the record stream.
    fn open(&mut self) -> Result<(Session, String, StreamSpec), CaptureError> {
        let mut session = Session::connect(self.config.server.as_deref(), &self.config.client_name)?;
        let devices: Devices = session.devices()?;
        let target = session.resolve(&devices, &self.config.target)?;
        session.subscribe();
        session.record(&target, self.config.spec, self.chunk_bytes)?;
        let spec = session.stream_spec().unwrap_or(self.config.spec);
        if spec != self.config.spec {
            return Err(CaptureError::Stream(format!("the server changed the format to {spec}")));
        }
        Ok((session, target.source, spec))
    }

    /// Tries to connect again every half second until it works or the capture is stopped.
    fn reconnect(&mut self) -> Option<Session> {
        loop {
            let retry_at = Instant::now() + Duration::from_millis(500);
            while Instant::now() < retry_at {
                if self.stop.is_stopped() {
                    return None;
                }
                std::thread::sleep(STOP_LATENCY);
            }
            if let Ok((session, source, spec)) = self.open() {
                self.send_event(Event::Started { source, spec });
                return Some(session);
            }
        }
    }

    fn record(&mut self, session: &mut Session) -> SessionEnd {
        let mut maintained_at = Instant::now();
        loop {
            if self.stop.is_stopped() {
                return SessionEnd::Stopped;
            }
            if let Err(error) = session.iterate(STOP_LATENCY) {
                return SessionEnd::Failed(error);
            }
            let (assembler, delivery) = (&mut self.assembler, &mut self.delivery);
            let (dropped, stop) = (&*self.dropped_chunks, &self.stop);
            let read = session.read(|fragment| match fragment {
                Fragment::Data(mut data) => {
                    while !data.is_empty() {
                        data = &data[assembler.handle_fragment(data)..];
                        if let Some(chunk) = assembler.poll_chunk() {
                            delivery.send_chunk(dropped, stop, chunk);
                        }
                    }
                }
                Fragment::Hole(mut len) => {
                    while len > 0 {
                        len -= assembler.handle_silence(len);
                        if let Some(chunk) = assembler.poll_chunk() {
                            delivery.send_chunk(dropped, stop, chunk);
                        }
                    }
                }
            });
            if let Err(error) = read {
                return SessionEnd::Failed(error);
            }
            let status = session.stream_status();
            while let Some(event) = session.poll_event() {
                self.send_event(event);
            }
            match status {
                StreamStatus::Running => {}
                StreamStatus::ApplicationGone => return SessionEnd::ApplicationGone,
                StreamStatus::Failed(error) => return SessionEnd::Failed(error),
            }
            if maintained_at.elapsed() >= Duration::from_secs(1) {
                self.assembler.pool().maintain();
                maintained_at = Instant::now();
            }
        }
    }

    fn send_chunk(&mut self, chunk: PoolBytes) {
        self.delivery.send_chunk(&self.dropped_chunks, &self.stop, chunk);
    }

    fn send_event(&mut self, event: Event) {
        self.delivery.send_event(&self.stop, event);
    }
}

/// Lists the server's sinks, sources and playing applications.
///
/// # Errors
/// [`CaptureError::Connect`] when no server answers, [`CaptureError::ServerGone`] if it stops answering.
pub fn list_devices(server: Option<&str>) -> Result<Devices, CaptureError> {
    Session::connect(server, "sluicegate")?.devices()
}
