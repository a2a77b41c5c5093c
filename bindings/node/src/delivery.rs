//! From a producer thread to JavaScript: pooled chunks become `Buffer`s over the pooled memory itself, through
//! one bounded threadsafe function.
//!
//! Ownership has one model: the [`PoolBytes`] handle moves into the external buffer's finalizer and nowhere
//! else. The pool gets the memory back when that finalizer runs — after garbage collection, or early when
//! JavaScript detaches the `Buffer` ([`detach`], behind `release(buf)` and `autoRelease`). So a pointer is
//! handed to V8 again only after the finalizer of the previous `Buffer` over it has run.

use std::collections::HashSet;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{BufferSlice, FnArgs, Function, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, JsValue, Status, sys};
use sluicegate_core::PoolBytes;

/// Deliveries the threadsafe function queues for the JavaScript thread at most; beyond that, chunks are
/// dropped (their buffers go straight back to the pool) and counted in `droppedChunks`.
pub(crate) const QUEUE_CHUNKS: usize = 256;

/// How a chunk reaches JavaScript.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BufferMode {
    /// The `Buffer` is the pooled memory (external buffer); its finalizer returns it.
    External,
    /// The `Buffer` is a copy; the pooled buffer returns at once.
    Copy,
    /// Test switch: take the path of a runtime that refuses external buffers (Electron's V8 sandbox): napi
    /// copies and finalizes at once, counted as a copied fallback.
    ForbidExternal,
}

/// What the producer sends to JavaScript.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// Data, with a p2 message's classification when there is one.
    Chunk {
        bytes: PoolBytes,
        meta: Option<MessageMeta>,
    },
    /// An error; `End` follows.
    Error(String),
    /// Nothing follows.
    End,
}

/// A p2 message's classification.
#[derive(Debug)]
pub(crate) struct MessageMeta {
    pub(crate) kind: &'static str,
    pub(crate) cog: Option<u32>,
    pub(crate) window: Option<String>,
}

/// Counters of the delivery path, shared by the producer thread, the JavaScript thread and the finalizers.
#[derive(Debug, Default)]
pub(crate) struct DeliveryCounters {
    pub(crate) delivered: AtomicU64,
    pub(crate) external: AtomicU64,
    pub(crate) copies: AtomicU64,
    pub(crate) copied_fallbacks: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) finalized: AtomicU64,
    pub(crate) released: AtomicU64,
}

/// The data pointers of the external `Buffer`s this stream handed out and whose finalizer has not run: only
/// those may be detached by `release`.
#[derive(Debug, Default)]
pub(crate) struct Outstanding(Mutex<HashSet<usize>>);

impl Outstanding {
    fn insert(&self, address: usize) {
        self.0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(address);
    }

    fn remove(&self, address: usize) {
        self.0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .remove(&address);
    }

    fn contains(&self, address: usize) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .contains(&address)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|poison| poison.into_inner()).len()
    }
}

/// Everything the JavaScript-side callback needs to turn a [`Delivery`] into arguments.
#[derive(Debug)]
pub(crate) struct Deliverer {
    pub(crate) mode: BufferMode,
    pub(crate) counters: Arc<DeliveryCounters>,
    pub(crate) outstanding: Arc<Outstanding>,
}

/// `(event, buffer, text, kind, cog, window)` as the JavaScript wrapper receives them: event 0 is data, 1 an
/// error (`text`), 2 the end.
pub(crate) type JsArgs = FnArgs<(
    u32,
    Option<BufferSlice<'static>>,
    Option<String>,
    Option<&'static str>,
    Option<u32>,
    Option<String>,
)>;

/// The bounded threadsafe function a producer thread delivers through.
pub(crate) type Sink = ThreadsafeFunction<Delivery, Unknown<'static>, JsArgs, Status, false, false, QUEUE_CHUNKS>;

impl Deliverer {
    /// Builds the threadsafe function that calls `callback` on the JavaScript thread.
    pub(crate) fn sink(self, callback: Function<'_, Unknown<'static>, Unknown<'static>>) -> napi::Result<Sink> {
        callback
            .build_threadsafe_function::<Delivery>()
            .callee_handled::<false>()
            .max_queue_size::<QUEUE_CHUNKS>()
            .build_callback(move |context| self.arguments(&context.env, context.value))
    }

    fn arguments(&self, env: &Env, delivery: Delivery) -> napi::Result<JsArgs> {
        Ok(FnArgs::from(match delivery {
            Delivery::Chunk { bytes, meta } => {
                let buffer = self.buffer(env, bytes)?;
                self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                let (kind, cog, window) = match meta {
                    Some(meta) => (Some(meta.kind), meta.cog, meta.window),
                    None => (None, None, None),
                };
                (0, Some(buffer), None, kind, cog, window)
            }
            Delivery::Error(message) => (1, None, Some(message), None, None, None),
            Delivery::End => (2, None, None, None, None, None),
        }))
    }

    /// The `Buffer` for one chunk, which takes the chunk's handle.
    fn buffer(&self, env: &Env, bytes: PoolBytes) -> napi::Result<BufferSlice<'static>> {
        let mode = if bytes.is_empty() { BufferMode::Copy } else { self.mode };
        match mode {
            BufferMode::External => {
                let data = bytes.as_ptr().cast_mut();
                let address = data as usize;
                let counters = Arc::clone(&self.counters);
                let outstanding = Arc::clone(&self.outstanding);
                // Registered before creation: a runtime that copies calls the finalizer inside `from_external`.
                outstanding.insert(address);
                let finalize = move |_env: Env, bytes: PoolBytes| {
                    outstanding.remove(address);
                    counters.finalized.fetch_add(1, Ordering::Relaxed);
                    drop(bytes); // the buffer goes back to the pool here, and only here
                };
                // SAFETY: `data..data+len` is the pooled memory `bytes` keeps alive; `bytes` moves into the
                // finalizer, so the memory is neither freed nor reused before V8 is done with the `Buffer`
                // (or, where external buffers are refused, before napi has copied it and finalized).
                // JavaScript is told the Buffer is read-only; nothing in Rust writes to it meanwhile.
                let buffer = unsafe { BufferSlice::from_external(env, data, bytes.len(), bytes, finalize) }?;
                if ptr::eq(buffer.as_ptr(), data) {
                    self.counters.external.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.counters.copied_fallbacks.fetch_add(1, Ordering::Relaxed);
                }
                Ok(buffer)
            }
            BufferMode::Copy | BufferMode::ForbidExternal => {
                let buffer = BufferSlice::copy_from(env, &bytes)?;
                drop(bytes);
                let counter = match mode {
                    BufferMode::ForbidExternal => &self.counters.copied_fallbacks,
                    _ => &self.counters.copies,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                Ok(buffer)
            }
        }
    }
}

/// Sends a chunk. Without `wait`, a full queue drops it (its buffer returns to the pool) and counts it; with
/// `wait`, the producer waits for room (backpressure).
pub(crate) fn send_chunk(
    sink: &Sink,
    counters: &DeliveryCounters,
    bytes: PoolBytes,
    meta: Option<MessageMeta>,
    wait: bool,
) {
    let mode = if wait {
        ThreadsafeFunctionCallMode::Blocking
    } else {
        ThreadsafeFunctionCallMode::NonBlocking
    };
    if sink.call(Delivery::Chunk { bytes, meta }, mode) != Status::Ok {
        counters.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sends an error or the end, waiting for room: these are never dropped.
pub(crate) fn send_event(sink: &Sink, delivery: Delivery) {
    let _ = sink.call(delivery, ThreadsafeFunctionCallMode::Blocking);
}

/// The data pointer and length of a `Buffer` (any `Uint8Array`).
pub(crate) fn buffer_info(env: &Env, value: &Unknown<'_>) -> napi::Result<(usize, usize, sys::napi_value)> {
    let mut kind = 0;
    let mut length = 0usize;
    let mut data = ptr::null_mut();
    let mut array_buffer = ptr::null_mut();
    let mut offset = 0usize;
    // SAFETY: `value` is a live handle of the current scope; napi checks that it is a typed array and
    // writes only to the out-parameters, which are valid locals.
    let status = unsafe {
        sys::napi_get_typedarray_info(
            env.raw(),
            value.raw(),
            &mut kind,
            &mut length,
            &mut data,
            &mut array_buffer,
            &mut offset,
        )
    };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::new(Status::InvalidArg, "expected a Buffer"));
    }
    Ok((data as usize, length, array_buffer))
}

/// Detaches an external `Buffer` this stream handed out, so V8 lets go of the pooled memory now: its finalizer
/// runs on the next turn of the event loop and returns the buffer to the pool. The `Buffer` then has length 0.
/// Returns false (and does nothing) for any other `Buffer`, or one already released.
pub(crate) fn detach(
    env: &Env,
    outstanding: &Outstanding,
    counters: &DeliveryCounters,
    value: &Unknown<'_>,
) -> napi::Result<bool> {
    let (address, length, array_buffer) = buffer_info(env, value)?;
    if length == 0 || !outstanding.contains(address) {
        return Ok(false);
    }
    // SAFETY: `array_buffer` is the live backing of a Buffer created by `napi_create_external_buffer` over
    // pooled memory (its address is outstanding); detaching only drops V8's reference to that memory, whose
    // finalizer then returns the pooled handle.
    let status = unsafe { sys::napi_detach_arraybuffer(env.raw(), array_buffer) };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::new(
            Status::GenericFailure,
            format!("cannot detach the Buffer (status {status})"),
        ));
    }
    counters.released.fetch_add(1, Ordering::Relaxed);
    Ok(true)
}
