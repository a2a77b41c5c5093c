//! The PulseAudio adapter: one connection (mainloop, context, optional record stream) driven by the
//! capture thread. Everything here is I/O; chunking, measuring and WAV writing live in pure modules.
//!
//! The asynchronous API is used (not `pa_simple`) because recording one application needs
//! `pa_stream_set_monitor_stream`, and device and application changes need the context's subscription.
//! Its fragments are borrowed from the server's shared memory (`pa_stream_peek`) and copied once, into the
//! pooled chunk, before being released (`pa_stream_drop`).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use libpulse_binding as pulse;
use pulse::callbacks::ListResult;
use pulse::context::introspect::{ServerInfo, SinkInfo, SinkInputInfo, SourceInfo};
use pulse::context::subscribe::{Facility, InterestMaskSet, Operation};
use pulse::context::{self, Context};
use pulse::mainloop::standard::Mainloop;
use pulse::proplist::{Proplist, properties};
use pulse::stream::{self, PeekResult, Stream};

use crate::event::{Application, CaptureError, Device, DeviceKind, Devices, Event};
use crate::format::{SampleFormat, StreamSpec};
use crate::target::Target;

/// How long connecting and each setup query may take before the server is deemed unresponsive.
const SETUP_TIMEOUT: Duration = Duration::from_secs(5);

/// A piece of the record stream, as the server hands it over.
pub(crate) enum Fragment<'a> {
    /// Samples in the server's memory, valid until the callback returns.
    Data(&'a [u8]),
    /// Bytes the server lost (an overrun); to be filled with silence.
    Hole(usize),
}

/// What the capture records, resolved on the server.
pub(crate) struct RecordTarget {
    /// The source to connect to (a monitor, for applications and the default output).
    pub(crate) source: String,
    pub(crate) source_index: u32,
    /// The sink input to record alone (`pa_stream_set_monitor_stream`).
    pub(crate) sink_input: Option<u32>,
}

/// How a record stream stands after an iteration.
pub(crate) enum StreamStatus {
    Running,
    /// The recorded application stopped playing.
    ApplicationGone,
    Failed(CaptureError),
}

/// What the subscription callbacks learn, shared with the callbacks through `Rc<RefCell<_>>` on the
/// capture thread (no borrow is held across a mainloop iteration).
#[derive(Default)]
struct Observed {
    changes: VecDeque<(Facility, Operation, u32)>,
    events: VecDeque<Event>,
    sinks: HashMap<u32, Device>,
    sources: HashMap<u32, Device>,
    applications: HashMap<u32, Application>,
    default_sink: Option<String>,
    default_source: Option<String>,
    /// Indices of the source and sink input being recorded, and whether they went away.
    watched_source: Option<u32>,
    watched_sink_input: Option<u32>,
    sink_input_removed: bool,
}

/// One connection to a PulseAudio (or PipeWire-pulse) server. Field order is drop order: the stream and
/// context go before the mainloop they were created on.
pub(crate) struct Session {
    stream: Option<Stream>,
    context: Context,
    mainloop: Mainloop,
    observed: Rc<RefCell<Observed>>,
}

impl Session {
    /// Connects to `server` (libpulse's default lookup when `None`) and waits until the context is ready.
    pub(crate) fn connect(server: Option<&str>, client_name: &str) -> Result<Session, CaptureError> {
        let connect_error = |reason: String| CaptureError::Connect {
            server: server.unwrap_or("default").to_owned(),
            reason,
        };
        let mainloop = Mainloop::new().ok_or_else(|| connect_error("cannot create a mainloop".into()))?;
        let mut proplist = Proplist::new().ok_or_else(|| connect_error("cannot create a property list".into()))?;
        // A name with a NUL byte cannot be set; the server then shows the context name only.
        let _ = proplist.set_str(properties::APPLICATION_NAME, client_name);
        let mut context = Context::new_with_proplist(&mainloop, client_name, &proplist)
            .ok_or_else(|| connect_error("cannot create a context".into()))?;
        context
            .connect(server, context::FlagSet::NOAUTOSPAWN, None)
            .map_err(|error| connect_error(format!("{error}")))?;
        let mut session = Session {
            stream: None,
            context,
            mainloop,
            observed: Rc::default(),
        };
        let deadline = Instant::now() + SETUP_TIMEOUT;
        loop {
            match session.context.get_state() {
                context::State::Ready => break,
                context::State::Failed | context::State::Terminated => {
                    return Err(connect_error(format!("{}", session.context.errno())));
                }
                _ if Instant::now() > deadline => return Err(connect_error("timed out".into())),
                _ => session
                    .dispatch(Duration::from_millis(100))
                    .map_err(|error| connect_error(format!("{error}")))?,
            }
        }
        Ok(session)
    }

    /// Runs one mainloop iteration, waiting at most `timeout` for something to happen.
    ///
    /// # Errors
    /// [`CaptureError::ServerGone`] once the connection has failed.
    pub(crate) fn iterate(&mut self, timeout: Duration) -> Result<(), CaptureError> {
        self.dispatch(timeout)
            .map_err(|error| CaptureError::ServerGone(format!("{error}")))?;
        match self.context.get_state() {
            context::State::Failed | context::State::Terminated => {
                Err(CaptureError::ServerGone(format!("{}", self.context.errno())))
            }
            _ => Ok(()),
        }
    }

    fn dispatch(&mut self, timeout: Duration) -> Result<(), pulse::error::PAErr> {
        let micros = u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX);
        self.mainloop.prepare(Some(pulse::time::MicroSeconds(micros)))?;
        self.mainloop.poll()?;
        self.mainloop.dispatch()?;
        Ok(())
    }

    /// Runs the mainloop until a callback fills `slot`.
    fn wait_for<T>(&mut self, slot: &Rc<RefCell<Option<T>>>) -> Result<T, CaptureError> {
        let deadline = Instant::now() + SETUP_TIMEOUT;
        loop {
            if let Some(value) = slot.borrow_mut().take() {
                return Ok(value);
            }
            if Instant::now() > deadline {
                return Err(CaptureError::ServerGone("the server stopped answering".into()));
            }
            self.iterate(Duration::from_millis(100))?;
        }
    }

    /// Lists devices, applications and defaults, and remembers them to name later removals.
    pub(crate) fn devices(&mut self) -> Result<Devices, CaptureError> {
        let introspect = self.context.introspect();
        let sinks = Rc::new(RefCell::new(Vec::new()));
        let sinks_done = Rc::new(RefCell::new(None));
        {
            let (sinks, done) = (Rc::clone(&sinks), Rc::clone(&sinks_done));
            introspect.get_sink_info_list(move |result| match result {
                ListResult::Item(info) => sinks.borrow_mut().push(sink_device(info)),
                ListResult::End | ListResult::Error => *done.borrow_mut() = Some(()),
            });
        }
        let sources = Rc::new(RefCell::new(Vec::new()));
        let sources_done = Rc::new(RefCell::new(None));
        {
            let (sources, done) = (Rc::clone(&sources), Rc::clone(&sources_done));
            introspect.get_source_info_list(move |result| match result {
                ListResult::Item(info) => {
                    sources.borrow_mut().push(source_device(info));
                }
                ListResult::End | ListResult::Error => *done.borrow_mut() = Some(()),
            });
        }
        let applications = Rc::new(RefCell::new(Vec::new()));
        let applications_done = Rc::new(RefCell::new(None));
        {
            let (applications, done) = (Rc::clone(&applications), Rc::clone(&applications_done));
            introspect.get_sink_input_info_list(move |result| match result {
                ListResult::Item(info) => {
                    applications.borrow_mut().push(application(info));
                }
                ListResult::End | ListResult::Error => *done.borrow_mut() = Some(()),
            });
        }
        let defaults = Rc::new(RefCell::new(None));
        {
            let defaults = Rc::clone(&defaults);
            introspect.get_server_info(move |info| *defaults.borrow_mut() = Some(server_defaults(info)));
        }
        self.wait_for(&sinks_done)?;
        self.wait_for(&sources_done)?;
        self.wait_for(&applications_done)?;
        let (default_sink, default_source) = self.wait_for(&defaults)?;
        let devices = Devices {
            default_sink,
            default_source,
            sinks: sinks.take(),
            sources: sources.take(),
            applications: applications.take(),
        };
        let mut observed = self.observed.borrow_mut();
        observed.sinks = devices
            .sinks
            .iter()
            .map(|device| (device.index, device.clone()))
            .collect();
        observed.sources = devices
            .sources
            .iter()
            .map(|device| (device.index, device.clone()))
            .collect();
        observed.applications = devices
            .applications
            .iter()
            .map(|app| (app.index, app.clone()))
            .collect();
        observed.default_sink.clone_from(&devices.default_sink);
        observed.default_source.clone_from(&devices.default_source);
        Ok(devices)
    }

    /// Finds the source to record: a named source, one application's stream, or the default output's
    /// monitor, from a [`devices`](Self::devices) snapshot.
    pub(crate) fn resolve(&mut self, devices: &Devices, target: &Target) -> Result<RecordTarget, CaptureError> {
        let monitor_of_sink = |sink_index: u32| {
            devices
                .sources
                .iter()
                .find(|source| {
                    devices
                        .sinks
                        .iter()
                        .any(|sink| sink.index == sink_index && source.monitor_of.as_ref() == Some(&sink.name))
                })
                .map(|source| (source.name.clone(), source.index))
        };
        let (source, source_index, sink_input) = match target {
            Target::DefaultMonitor => {
                let sink = devices
                    .default_sink
                    .as_ref()
                    .and_then(|name| devices.sinks.iter().find(|sink| &sink.name == name))
                    .ok_or_else(|| CaptureError::SourceNotFound("@DEFAULT_MONITOR@".into()))?;
                let (source, index) = monitor_of_sink(sink.index)
                    .ok_or_else(|| CaptureError::SourceNotFound(format!("{}.monitor", sink.name)))?;
                (source, index, None)
            }
            Target::Source(name) => {
                let source = devices
                    .sources
                    .iter()
                    .find(|source| &source.name == name)
                    .ok_or_else(|| CaptureError::SourceNotFound(name.clone()))?;
                (source.name.clone(), source.index, None)
            }
            Target::ApplicationPid(_) | Target::ApplicationName(_) => {
                let app = devices
                    .applications
                    .iter()
                    .find(|app| target.matches(app))
                    .ok_or_else(|| CaptureError::ApplicationNotFound(target.to_string()))?;
                let (source, index) = monitor_of_sink(app.sink)
                    .ok_or_else(|| CaptureError::ApplicationNotFound(format!("{target} (its sink has no monitor)")))?;
                (source, index, Some(app.index))
            }
        };
        Ok(RecordTarget {
            source,
            source_index,
            sink_input,
        })
    }

    /// Subscribes to sink, source, sink-input and server changes; they come out of
    /// [`poll_event`](Self::poll_event).
    pub(crate) fn subscribe(&mut self) {
        let observed = Rc::clone(&self.observed);
        self.context
            .set_subscribe_callback(Some(Box::new(move |facility, operation, index| {
                if let (Some(facility), Some(operation)) = (facility, operation) {
                    observed.borrow_mut().changes.push_back((facility, operation, index));
                }
            })));
        let mask =
            InterestMaskSet::SINK | InterestMaskSet::SOURCE | InterestMaskSet::SINK_INPUT | InterestMaskSet::SERVER;
        // The operation completes on its own; its result only says whether the server accepted the mask.
        drop(self.context.subscribe(mask, |_| {}));
    }

    /// Opens the record stream and waits until the server has started it.
    pub(crate) fn record(
        &mut self,
        target: &RecordTarget,
        spec: StreamSpec,
        chunk_bytes: usize,
    ) -> Result<(), CaptureError> {
        let sample_spec = pulse::sample::Spec {
            format: match spec.format {
                SampleFormat::S16Le => pulse::sample::Format::S16le,
                SampleFormat::F32Le => pulse::sample::Format::F32le,
            },
            rate: spec.rate,
            channels: spec.channels,
        };
        // Any channel count up to 32: known layouts, then auxiliary channels.
        let mut map = pulse::channelmap::Map::default();
        map.init_extend(spec.channels, pulse::channelmap::MapDef::WAVEEx);
        let stream_error = |error: String| CaptureError::Stream(error);
        let mut stream = Stream::new(&mut self.context, "sluicegate capture", &sample_spec, Some(&map))
            .ok_or_else(|| stream_error(format!("the server refused {spec}: {}", self.context.errno())))?;
        if let Some(sink_input) = target.sink_input {
            stream
                .set_monitor_stream(sink_input)
                .map_err(|error| stream_error(format!("{error}")))?;
        }
        let chunk = u32::try_from(chunk_bytes).unwrap_or(u32::MAX);
        // fragsize: the server sends about one chunk at a time, so latency stays near the chunk duration.
        let attr = pulse::def::BufferAttr {
            maxlength: u32::MAX,
            tlength: u32::MAX,
            prebuf: u32::MAX,
            minreq: u32::MAX,
            fragsize: chunk,
        };
        // A named source that disappears ends the capture (with an error) rather than silently moving.
        let mut flags = stream::FlagSet::ADJUST_LATENCY;
        if target.sink_input.is_none() {
            flags |= stream::FlagSet::DONT_MOVE;
        }
        stream
            .connect_record(Some(&target.source), Some(&attr), flags)
            .map_err(|error| stream_error(format!("{error}")))?;
        self.stream = Some(stream);
        {
            let mut observed = self.observed.borrow_mut();
            observed.watched_source = Some(target.source_index);
            observed.watched_sink_input = target.sink_input;
        }
        let deadline = Instant::now() + SETUP_TIMEOUT;
        loop {
            let state = self.stream.as_ref().map(Stream::get_state);
            match state {
                Some(stream::State::Ready) => return Ok(()),
                Some(stream::State::Failed | stream::State::Terminated) | None => {
                    return Err(stream_error(format!("{}", self.context.errno())));
                }
                _ if Instant::now() > deadline => {
                    return Err(stream_error("the server did not start the stream".into()));
                }
                _ => self.iterate(Duration::from_millis(100))?,
            }
        }
    }

    /// The sample format the server actually delivers (it may differ from the request only if the server
    /// could not honour it).
    pub(crate) fn stream_spec(&mut self) -> Option<StreamSpec> {
        let spec = self.stream.as_mut()?.get_sample_spec()?;
        let format = match spec.format {
            pulse::sample::Format::S16le => SampleFormat::S16Le,
            pulse::sample::Format::F32le => SampleFormat::F32Le,
            _ => return None,
        };
        Some(StreamSpec {
            format,
            rate: spec.rate,
            channels: spec.channels,
        })
    }

    /// Hands every fragment the server has delivered to `handle`, then releases it.
    pub(crate) fn read(&mut self, mut handle: impl FnMut(Fragment<'_>)) -> Result<(), CaptureError> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(());
        };
        if stream.get_state() != stream::State::Ready {
            return Ok(());
        }
        loop {
            let fragment = match stream
                .peek()
                .map_err(|error| CaptureError::Stream(format!("{error}")))?
            {
                PeekResult::Empty => return Ok(()),
                PeekResult::Hole(len) => Fragment::Hole(len),
                PeekResult::Data(data) => Fragment::Data(data),
            };
            handle(fragment);
            stream
                .discard()
                .map_err(|error| CaptureError::Stream(format!("{error}")))?;
        }
    }

    /// Whether the record stream still runs, and if not, why.
    pub(crate) fn stream_status(&mut self) -> StreamStatus {
        let (sink_input_removed, watched_sink_input, watched_source) = {
            let observed = self.observed.borrow();
            (
                observed.sink_input_removed,
                observed.watched_sink_input,
                observed.watched_source,
            )
        };
        if sink_input_removed {
            return StreamStatus::ApplicationGone;
        }
        let state = self.stream.as_ref().map(Stream::get_state);
        if !matches!(state, Some(stream::State::Failed | stream::State::Terminated)) {
            return StreamStatus::Running;
        }
        if let Some(index) = watched_sink_input {
            // The server kills a monitor stream when the stream it follows goes away, possibly before the
            // subscription reports the removal: report it now (the later notice then finds nothing to report).
            let mut observed = self.observed.borrow_mut();
            observed.sink_input_removed = true;
            if let Some(app) = observed.applications.remove(&index) {
                observed.events.push_back(Event::ApplicationStopped(app));
            }
            return StreamStatus::ApplicationGone;
        }
        let reason = format!("the server ended the stream ({})", self.context.errno());
        // The stream's end may arrive before the subscription says why: ask whether the source still exists.
        if let Some(index) = watched_source {
            let exists = Rc::new(RefCell::new(None));
            let answer = Rc::clone(&exists);
            self.context
                .introspect()
                .get_source_info_by_index(index, move |result| {
                    let mut answer = answer.borrow_mut();
                    match result {
                        ListResult::Item(_) => *answer = Some(true),
                        ListResult::Error => *answer = Some(false),
                        ListResult::End => *answer = Some(answer.unwrap_or(false)),
                    }
                });
            if let Ok(false) = self.wait_for(&exists) {
                let observed = self.observed.borrow();
                let name = observed
                    .sources
                    .get(&index)
                    .map(|device| device.name.clone())
                    .unwrap_or_default();
                return StreamStatus::Failed(CaptureError::DeviceRemoved(name));
            }
        }
        StreamStatus::Failed(CaptureError::Stream(reason))
    }

    /// The next change on the server, once it has been looked up. Call after each iteration.
    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        loop {
            let change = {
                let mut observed = self.observed.borrow_mut();
                if let Some(event) = observed.events.pop_front() {
                    return Some(event);
                }
                observed.changes.pop_front()?
            };
            self.handle_change(change);
        }
    }

    /// Turns a subscription notice into an event: removals at once (the server no longer knows the
    /// object, so it is named from memory), additions and default changes after a lookup.
    fn handle_change(&mut self, (facility, operation, index): (Facility, Operation, u32)) {
        let introspect = self.context.introspect();
        let observed = Rc::clone(&self.observed);
        match (facility, operation) {
            (Facility::Sink, Operation::New) => {
                introspect.get_sink_info_by_index(index, move |result| {
                    if let ListResult::Item(info) = result {
                        let device = sink_device(info);
                        let mut observed = observed.borrow_mut();
                        observed.sinks.insert(device.index, device.clone());
                        observed.events.push_back(Event::DeviceAdded(device));
                    }
                });
            }
            (Facility::Source, Operation::New) => {
                introspect.get_source_info_by_index(index, move |result| {
                    if let ListResult::Item(info) = result {
                        let device = source_device(info);
                        let mut observed = observed.borrow_mut();
                        observed.sources.insert(device.index, device.clone());
                        observed.events.push_back(Event::DeviceAdded(device));
                    }
                });
            }
            (Facility::SinkInput, Operation::New) => {
                introspect.get_sink_input_info(index, move |result| {
                    if let ListResult::Item(info) = result {
                        let app = application(info);
                        let mut observed = observed.borrow_mut();
                        observed.applications.insert(app.index, app.clone());
                        observed.events.push_back(Event::ApplicationStarted(app));
                    }
                });
            }
            (Facility::Sink, Operation::Removed) => {
                let mut observed = observed.borrow_mut();
                if let Some(device) = observed.sinks.remove(&index) {
                    observed.events.push_back(Event::DeviceRemoved(device));
                }
            }
            (Facility::Source, Operation::Removed) => {
                let mut observed = observed.borrow_mut();
                // Keep the watched source's name for the error that follows.
                let device = if observed.watched_source == Some(index) {
                    observed.sources.get(&index).cloned()
                } else {
                    observed.sources.remove(&index)
                };
                if let Some(device) = device {
                    observed.events.push_back(Event::DeviceRemoved(device));
                }
            }
            (Facility::SinkInput, Operation::Removed) => {
                let mut observed = observed.borrow_mut();
                observed.sink_input_removed |= observed.watched_sink_input == Some(index);
                if let Some(app) = observed.applications.remove(&index) {
                    observed.events.push_back(Event::ApplicationStopped(app));
                }
            }
            (Facility::Server, Operation::Changed) => {
                introspect.get_server_info(move |info| {
                    let (sink, source) = server_defaults(info);
                    let mut observed = observed.borrow_mut();
                    if sink.is_some() && sink != observed.default_sink {
                        observed.default_sink.clone_from(&sink);
                        let name = sink.unwrap_or_default();
                        observed.events.push_back(Event::DefaultChanged {
                            kind: DeviceKind::Sink,
                            name,
                        });
                    }
                    if source.is_some() && source != observed.default_source {
                        observed.default_source.clone_from(&source);
                        let name = source.unwrap_or_default();
                        observed.events.push_back(Event::DefaultChanged {
                            kind: DeviceKind::Source,
                            name,
                        });
                    }
                });
            }
            _ => {}
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(mut stream) = self.stream.take()
            && stream.get_state().is_good()
        {
            // Failing here only means the server already dropped the stream.
            let _ = stream.disconnect();
        }
        // Drops the callback, which holds a clone of `observed`.
        self.context.set_subscribe_callback(None);
        self.context.disconnect();
    }
}

fn sink_device(info: &SinkInfo<'_>) -> Device {
    Device {
        kind: DeviceKind::Sink,
        index: info.index,
        name: info.name.as_deref().unwrap_or_default().to_owned(),
        description: info.description.as_deref().unwrap_or_default().to_owned(),
        monitor_of: None,
    }
}

fn source_device(info: &SourceInfo<'_>) -> Device {
    Device {
        kind: DeviceKind::Source,
        index: info.index,
        name: info.name.as_deref().unwrap_or_default().to_owned(),
        description: info.description.as_deref().unwrap_or_default().to_owned(),
        monitor_of: info.monitor_of_sink_name.as_deref().map(str::to_owned),
    }
}

fn application(info: &SinkInputInfo<'_>) -> Application {
    Application {
        index: info.index,
        name: info.proplist.get_str(properties::APPLICATION_NAME),
        pid: info
            .proplist
            .get_str(properties::APPLICATION_PROCESS_ID)
            .and_then(|pid| pid.parse().ok()),
        binary: info.proplist.get_str(properties::APPLICATION_PROCESS_BINARY),
        sink: info.sink,
    }
}

fn server_defaults(info: &ServerInfo<'_>) -> (Option<String>, Option<String>) {
    (
        info.default_sink_name.as_deref().map(str::to_owned),
        info.default_source_name.as_deref().map(str::to_owned),
    )
}
