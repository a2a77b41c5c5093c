//! `openP2`: a p2 pipeline's classified messages as `{ type, cog, window, data }`, `data` being an external
//! `Buffer` over the pooled chunk the bytes arrived in (same zero-copy rule as audio).

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{Function, Unknown};
use napi_derive::napi;
use sluicegate_p2::io::{DEFAULT_BAUD, Emitted, Next, Pipeline, PipelineConfig, Scenario, SourceSpec, Speed};
use sluicegate_p2::{Backtick, Message, MessageKind, Output};

use crate::delivery::{self, Delivery, MessageMeta};
use crate::{NativeStream, PoolSource, buffer_mode, invalid, sink};

/// `openP2` options as `index.js` passes them: exactly one of `port`, `replay`, `simulate`.
#[napi(object)]
#[derive(Debug)]
pub struct P2Options {
    pub port: Option<String>,
    pub baud: Option<u32>,
    pub replay: Option<String>,
    /// Replay at the recorded pace (default) or as fast as possible (`false`).
    pub realtime: Option<bool>,
    /// `hsv16`, `mixed` or `demo`.
    pub simulate: Option<String>,
    pub buffer_mode: String,
}

/// The source the options describe, in the p2 library's terms (its defaults, its scenario names).
fn describe_source(options: &P2Options) -> napi::Result<SourceSpec> {
    Ok(match (&options.port, &options.replay, &options.simulate) {
        (Some(port), None, None) => SourceSpec::Port {
            path: port.clone(),
            baud: options.baud.unwrap_or(DEFAULT_BAUD),
            reset: None,
        },
        (None, Some(path), None) => SourceSpec::Replay {
            path: path.into(),
            speed: if options.realtime.unwrap_or(true) {
                Speed::Realtime
            } else {
                Speed::Max
            },
        },
        (None, None, Some(name)) => SourceSpec::Simulate {
            scenario: name
                .parse::<Scenario>()
                .map_err(|error| invalid(format!("simulate: {error}")))?,
            pace: None,
        },
        _ => return Err(invalid("give exactly one of port, replay and simulate".into())),
    })
}

/// The classification JavaScript sees: kind name, cog for cog and debugger messages, window name for
/// backtick lines (the declared name, or an update's first target).
fn meta(message: &Message) -> MessageMeta {
    let cog = match message.kind {
        MessageKind::Cog(cog) | MessageKind::Debugger(cog) => Some(u32::from(cog.get())),
        _ => None,
    };
    let window = match message.kind {
        MessageKind::BacktickWindow => match Backtick::parse(&message.bytes) {
            Some(Backtick::Create(declaration)) => declaration.name,
            Some(Backtick::Update(mut tokens)) => tokens.next(),
            None => None,
        }
        .map(|name| String::from_utf8_lossy(name).into_owned()),
        _ => None,
    };
    MessageMeta {
        kind: message.kind.name(),
        cog,
        window,
    }
}

/// Opens a p2 source and delivers its messages to `callback(event, buffer, text, type, cog, window)`.
///
/// # Errors
/// A bad option, or the source or pipeline failing to open.
#[napi]
pub fn open_p2(
    options: P2Options,
    callback: Function<'_, Unknown<'static>, Unknown<'static>>,
) -> napi::Result<NativeStream> {
    let mode = buffer_mode(&options.buffer_mode)?;
    let opened = describe_source(&options)?
        .open()
        .map_err(|error| napi::Error::from_reason(error.to_string()))?;
    let config = PipelineConfig {
        realtime_reader: false,
        ..PipelineConfig::for_origin(opened.origin())
    };
    let pipeline = Arc::new(
        Pipeline::start(opened.source, config, None).map_err(|error| napi::Error::from_reason(error.to_string()))?,
    );
    let (sink, counters, outstanding) = sink(mode, callback)?;
    let (producer, producer_counters) = (Arc::clone(&pipeline), Arc::clone(&counters));
    std::thread::Builder::new()
        .name("sluicegate-node-p2".into())
        .spawn(move || {
            loop {
                match producer.next(Duration::from_millis(100)) {
                    Next::Output(Emitted {
                        output: Output::Message(message),
                        ..
                    }) => {
                        let meta = meta(&message);
                        // Messages are not dropped here: a slow consumer backs up into the pipeline, whose
                        // ring counts what the source loses.
                        delivery::send_chunk(&sink, &producer_counters, message.bytes, Some(meta), true);
                    }
                    Next::Output(_) | Next::Waiting => {}
                    Next::Ended => break,
                }
            }
            delivery::send_event(&sink, Delivery::End);
        })
        .map_err(|error| napi::Error::from_reason(format!("cannot start the delivery thread: {error}")))?;
    let stop = Arc::clone(&pipeline);
    Ok(NativeStream {
        pool: PoolSource::Pipeline(pipeline),
        stop: Box::new(move || stop.stop()),
        counters,
        outstanding,
    })
}
