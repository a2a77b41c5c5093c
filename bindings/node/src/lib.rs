//! The Node.js binding of sluicegate (napi-rs): audio capture and Propeller 2 debug messages handed to
//! JavaScript as `Buffer`s that are the pooled Rust memory itself, not copies.
//!
//! Each stream runs a producer thread (the capture's reader, the p2 pipeline's reader, or a synthetic source
//! for tests) that sends chunks through one bounded threadsafe function ([`delivery`]); on the JavaScript
//! thread each chunk becomes an external `Buffer` whose finalizer returns the pooled buffer. `index.js` wraps
//! the native handle in an `EventEmitter` (`data`, `error`, `end`).

mod delivery;
pub mod p2;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::{Function, Unknown};
use napi::{Env, Status};
use napi_derive::napi;
use sluicegate_audio::{Capture, CaptureConfig, Event, Message, SampleFormat, StreamSpec, Target};
use sluicegate_core::{BufferPool, PoolStats, Sizing};

use crate::delivery::{BufferMode, Deliverer, Delivery, DeliveryCounters, Outstanding, Sink};

/// The pool's counters, as the original addon named them.
#[napi(object)]
#[derive(Debug)]
pub struct PoolStatsObject {
    pub pool_hits: f64,
    pub pool_misses: f64,
    pub dynamic_allocations: f64,
    pub current_pool_size: f64,
    pub max_pool_size: f64,
    pub hit_rate: f64,
    pub in_use: f64,
    pub high_water: f64,
}

impl From<PoolStats> for PoolStatsObject {
    fn from(stats: PoolStats) -> Self {
        PoolStatsObject {
            pool_hits: stats.pool_hits as f64,
            pool_misses: stats.pool_misses as f64,
            dynamic_allocations: stats.dynamic_allocations as f64,
            current_pool_size: stats.current_pool_size as f64,
            max_pool_size: stats.max_pool_size as f64,
            hit_rate: stats.hit_rate,
            in_use: stats.in_use as f64,
            high_water: stats.high_water as f64,
        }
    }
}

/// The delivery path's counters.
#[napi(object)]
#[derive(Debug)]
pub struct DeliveryStatsObject {
    /// Chunks turned into `Buffer`s on the JavaScript thread.
    pub delivered: f64,
    /// Of those, external `Buffer`s over pooled memory.
    pub external_buffers: f64,
    /// Of those, copies asked for (`useExternalBuffer: false`).
    pub copies: f64,
    /// Of those, copies made because the runtime refused an external buffer.
    pub copied_fallbacks: f64,
    /// Chunks dropped because JavaScript was a full queue behind.
    pub dropped_chunks: f64,
    /// External `Buffer`s whose finalizer has run (their pooled buffer is back).
    pub finalized: f64,
    /// `Buffer`s detached by `release` or `autoRelease`.
    pub released: f64,
    /// External `Buffer`s JavaScript holds now (finalizer not yet run).
    pub held_by_js: f64,
    /// Deliveries the queue holds at most.
    pub queue_capacity: f64,
}

/// Where a stream's pool counters come from.
enum PoolSource {
    Capture(Arc<Capture>),
    Pool(BufferPool),
    Pipeline(Arc<sluicegate_p2::io::Pipeline>),
}

/// A running stream, wrapped by `AudioCapture` and `P2Stream` in `index.js`.
#[napi]
pub struct NativeStream {
    pool: PoolSource,
    stop: Box<dyn Fn() + Send + Sync>,
    counters: Arc<DeliveryCounters>,
    outstanding: Arc<Outstanding>,
}

impl std::fmt::Debug for NativeStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeStream")
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

#[napi]
impl NativeStream {
    /// Asks the producer to stop; `end` follows once it has.
    #[napi]
    pub fn stop(&self) {
        (self.stop)();
    }

    /// The pool's counters.
    #[napi]
    pub fn pool_stats(&self) -> PoolStatsObject {
        match &self.pool {
            PoolSource::Capture(capture) => capture.pool_stats(),
            PoolSource::Pool(pool) => pool.stats(),
            PoolSource::Pipeline(pipeline) => pipeline.stats().chunk_pool,
        }
        .into()
    }

    /// The delivery path's counters.
    #[napi]
    pub fn delivery_stats(&self) -> DeliveryStatsObject {
        let c = &self.counters;
        let get = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed) as f64;
        DeliveryStatsObject {
            delivered: get(&c.delivered),
            external_buffers: get(&c.external),
            copies: get(&c.copies),
            copied_fallbacks: get(&c.copied_fallbacks),
            dropped_chunks: get(&c.dropped),
            finalized: get(&c.finalized),
            released: get(&c.released),
            held_by_js: self.outstanding.len() as f64,
            queue_capacity: delivery::QUEUE_CHUNKS as f64,
        }
    }

    /// Returns an external `Buffer` of this stream to the pool now, by detaching it (it then has length 0 and
    /// must not be used). False for any other `Buffer` or one already released.
    #[napi]
    pub fn release(&self, env: Env, buffer: Unknown<'_>) -> napi::Result<bool> {
        delivery::detach(&env, &self.outstanding, &self.counters, &buffer)
    }

    /// The address of a `Buffer`'s first byte, computed from its data pointer (a diagnostic: the same
    /// addresses recurring prove the pooled memory is handed out, not copies).
    #[napi]
    pub fn buffer_address(&self, env: Env, buffer: Unknown<'_>) -> napi::Result<f64> {
        Ok(delivery::buffer_info(&env, &buffer)?.0 as f64)
    }
}

/// Pool sizing as `index.js` passes it.
#[napi(object)]
#[derive(Debug)]
pub struct PoolOptions {
    /// `fixed` or `adaptive`.
    pub strategy: String,
    pub size: Option<u32>,
    pub min: Option<u32>,
    pub max: Option<u32>,
}

impl PoolOptions {
    fn sizing(&self) -> napi::Result<Sizing> {
        match self.strategy.as_str() {
            "fixed" => Ok(Sizing::Fixed(self.size.unwrap_or(50) as usize)),
            "adaptive" => Ok(Sizing::Adaptive {
                min: self.min.unwrap_or(50) as usize,
                max: self.max.unwrap_or(200) as usize,
            }),
            other => Err(invalid(format!(
                "bufferPoolStrategy must be 'fixed' or 'adaptive', not {other:?}"
            ))),
        }
    }
}

/// Audio capture options as `index.js` passes them.
#[napi(object)]
#[derive(Debug)]
pub struct AudioOptions {
    pub server: Option<String>,
    pub source: Option<String>,
    pub app: Option<String>,
    pub pid: Option<u32>,
    pub format: Option<String>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u32>,
    pub chunk_ms: Option<f64>,
    /// `external`, `copy` or `forbid-external` (test switch).
    pub buffer_mode: String,
    pub pool: PoolOptions,
}

/// Synthetic source options (tests and benches): `chunks` chunks of `chunkBytes`, one every `intervalUs`; with
/// `blocking`, the producer waits for room in the queue instead of dropping (to measure JavaScript's pace).
#[napi(object)]
#[derive(Debug)]
pub struct SyntheticOptions {
    pub chunks: u32,
    pub chunk_bytes: u32,
    pub interval_us: f64,
    pub blocking: Option<bool>,
    pub buffer_mode: String,
    pub pool: PoolOptions,
}

pub(crate) fn invalid(message: String) -> napi::Error {
    napi::Error::new(Status::InvalidArg, message)
}

pub(crate) fn buffer_mode(name: &str) -> napi::Result<BufferMode> {
    match name {
        "external" => Ok(BufferMode::External),
        "copy" => Ok(BufferMode::Copy),
        "forbid-external" => Ok(BufferMode::ForbidExternal),
        other => Err(invalid(format!("unknown buffer mode {other:?}"))),
    }
}

pub(crate) fn sink(
    mode: BufferMode,
    callback: Function<'_, Unknown<'static>, Unknown<'static>>,
) -> napi::Result<(Sink, Arc<DeliveryCounters>, Arc<Outstanding>)> {
    let counters = Arc::new(DeliveryCounters::default());
    let outstanding = Arc::new(Outstanding::default());
    let deliverer = Deliverer {
        mode,
        counters: Arc::clone(&counters),
        outstanding: Arc::clone(&outstanding),
    };
    Ok((deliverer.sink(callback)?, counters, outstanding))
}

fn audio_config(options: &AudioOptions) -> napi::Result<CaptureConfig> {
    let target = match (&options.source, &options.app, options.pid) {
        (Some(source), None, None) => Target::Source(source.clone()),
        (None, Some(app), None) => Target::ApplicationName(app.clone()),
        (None, None, Some(pid)) => Target::ApplicationPid(pid),
        (None, None, None) => Target::DefaultMonitor,
        _ => return Err(invalid("give at most one of source, app and pid".into())),
    };
    let format = match options.format.as_deref() {
        None | Some("f32le") => SampleFormat::F32Le,
        Some("s16le") => SampleFormat::S16Le,
        Some(other) => return Err(invalid(format!("format must be 'f32le' or 's16le', not {other:?}"))),
    };
    let channels = options.channels.unwrap_or(2);
    let spec = StreamSpec {
        format,
        rate: options.sample_rate.unwrap_or(48_000),
        channels: u8::try_from(channels).map_err(|_| invalid(format!("{channels} channels")))?,
    };
    let chunk_ms = options.chunk_ms.unwrap_or(10.0);
    if !(chunk_ms > 0.0 && chunk_ms <= 1000.0) {
        return Err(invalid(format!("chunkMs must be in (0, 1000], not {chunk_ms}")));
    }
    Ok(CaptureConfig {
        server: options.server.clone(),
        target,
        spec,
        chunk_duration: Duration::from_secs_f64(chunk_ms / 1000.0),
        pool: options.pool.sizing()?,
        client_name: "sluicegate-node".into(),
        ..CaptureConfig::default()
    })
}

/// Starts a capture; `callback(event, buffer, text)` receives its chunks, an error and the end.
///
/// # Errors
/// A bad option, or the capture's own start errors (no server, no such source or application).
#[napi]
pub fn start_audio(
    options: AudioOptions,
    callback: Function<'_, Unknown<'static>, Unknown<'static>>,
) -> napi::Result<NativeStream> {
    let config = audio_config(&options)?;
    let mode = buffer_mode(&options.buffer_mode)?;
    let capture = Arc::new(Capture::start(config).map_err(|error| napi::Error::from_reason(error.to_string()))?);
    let (sink, counters, outstanding) = sink(mode, callback)?;
    let producer = Arc::clone(&capture);
    let producer_counters = Arc::clone(&counters);
    std::thread::Builder::new()
        .name("sluicegate-node-audio".into())
        .spawn(move || {
            while let Some(message) = producer.recv() {
                match message {
                    Message::Chunk(bytes) => delivery::send_chunk(&sink, &producer_counters, bytes, None, false),
                    Message::Event(Event::Error(error)) => {
                        delivery::send_event(&sink, Delivery::Error(error.to_string()))
                    }
                    Message::Event(Event::Stopped) => break,
                    Message::Event(_) => {}
                }
            }
            delivery::send_event(&sink, Delivery::End);
        })
        .map_err(|error| napi::Error::from_reason(format!("cannot start the delivery thread: {error}")))?;
    let stop = capture.stop_handle();
    Ok(NativeStream {
        pool: PoolSource::Capture(capture),
        stop: Box::new(move || stop.stop()),
        counters,
        outstanding,
    })
}

/// Test and bench source: pooled chunks filled with a counter pattern, through the same delivery path as a
/// capture.
///
/// # Errors
/// A bad option.
#[napi]
pub fn start_synthetic(
    options: SyntheticOptions,
    callback: Function<'_, Unknown<'static>, Unknown<'static>>,
) -> napi::Result<NativeStream> {
    let mode = buffer_mode(&options.buffer_mode)?;
    if options.chunk_bytes < 4 {
        return Err(invalid("chunkBytes must be at least 4 (the chunk number)".into()));
    }
    let pool = BufferPool::new(options.pool.sizing()?, options.chunk_bytes as usize);
    let (sink, counters, outstanding) = sink(mode, callback)?;
    let stopped = Arc::new(AtomicBool::new(false));
    let (producer_pool, producer_counters, producer_stopped) =
        (pool.clone(), Arc::clone(&counters), Arc::clone(&stopped));
    let interval = Duration::from_secs_f64(options.interval_us.max(0.0) / 1e6);
    let chunks = options.chunks;
    let blocking = options.blocking.unwrap_or(false);
    std::thread::Builder::new()
        .name("sluicegate-node-synthetic".into())
        .spawn(move || {
            let started = Instant::now();
            for n in 0..chunks {
                if producer_stopped.load(Ordering::Relaxed) {
                    break;
                }
                let due = started + interval * n;
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                let mut buf = producer_pool.acquire();
                let spare = buf.spare_mut();
                let len = spare.len();
                spare[..4].copy_from_slice(&n.to_le_bytes());
                buf.advance(len);
                delivery::send_chunk(&sink, &producer_counters, buf.freeze(), None, blocking);
            }
            delivery::send_event(&sink, Delivery::End);
        })
        .map_err(|error| napi::Error::from_reason(format!("cannot start the synthetic source: {error}")))?;
    Ok(NativeStream {
        pool: PoolSource::Pool(pool),
        stop: Box::new(move || stopped.store(true, Ordering::Relaxed)),
        counters,
        outstanding,
    })
}
