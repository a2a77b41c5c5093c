//! Capture against a real PulseAudio server started by the test (see `sluicegate_audio::test_support`):
//! tones played by `pacat` into a null sink, recorded and measured.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluicegate_audio::test_support::{NULL_SINK, PulseServer, RATE};
use sluicegate_audio::{
    Capture, CaptureConfig, CaptureError, DeviceKind, Event, Goertzel, LevelMeter, Message, SampleFormat, StreamSpec,
    Target, decode_samples,
};
use sluicegate_core::{PoolStats, Sizing};

/// What a capture delivered.
struct Recording {
    audio: Vec<u8>,
    chunks: usize,
    events: Vec<Event>,
    stats: PoolStats,
    spec: StreamSpec,
    /// Wall time from the start of the capture to `Stopped`.
    elapsed: Duration,
    /// Chunks the capture dropped because the consumer was behind.
    dropped: u64,
}

/// Records for `duration` from the first chunk (chunks are copied out and dropped at once, as a prompt
/// consumer would). Fails, rather than hangs, if the capture stops delivering.
fn record(config: CaptureConfig, duration: Duration) -> Recording {
    let started = Instant::now();
    let capture = Capture::start(config).expect("start the capture");
    let mut recording = Recording::new(capture.spec());
    loop {
        match capture.recv_timeout(Duration::from_secs(5)).expect("the first chunk") {
            Message::Chunk(chunk) => {
                recording.audio.extend_from_slice(&chunk);
                recording.chunks += 1;
                break;
            }
            Message::Event(event) => recording.events.push(event),
        }
    }
    let stop = capture.stop_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(duration);
        stop.stop();
    });
    let deadline = Instant::now() + duration + Duration::from_secs(30);
    loop {
        let message = capture
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the capture delivers until it is stopped, then says Stopped");
        match message {
            Message::Chunk(chunk) => {
                recording.audio.extend_from_slice(&chunk);
                recording.chunks += 1;
            }
            Message::Event(Event::Stopped) => {
                recording.events.push(Event::Stopped);
                break;
            }
            Message::Event(event) => recording.events.push(event),
        }
    }
    recording.elapsed = started.elapsed();
    stopper.join().unwrap();
    recording.stats = capture.pool_stats();
    recording.dropped = capture.dropped_chunks();
    recording
}

/// Records `count` chunks, then stops (a count, not a time: the same work however busy the machine is).
/// Fails, rather than hangs, if the capture stops delivering.
fn record_chunks(config: CaptureConfig, count: usize) -> Recording {
    let capture = Capture::start(config).expect("start the capture");
    let mut recording = Recording::new(capture.spec());
    while recording.chunks < count {
        match capture
            .recv_timeout(Duration::from_secs(10))
            .expect("audio keeps coming")
        {
            Message::Chunk(chunk) => {
                recording.audio.extend_from_slice(&chunk);
                recording.chunks += 1;
            }
            Message::Event(event) => recording.events.push(event),
        }
    }
    // Stopped, and what was still on its way taken and dropped, every buffer is back in the pool.
    capture.stop_handle().stop();
    loop {
        let message = capture.recv_timeout(Duration::from_secs(10)).expect("Stopped comes");
        if let Message::Event(Event::Stopped) = message {
            break;
        }
    }
    recording.stats = capture.pool_stats();
    recording.dropped = capture.dropped_chunks();
    recording
}

impl Recording {
    fn new(spec: StreamSpec) -> Self {
        Recording {
            audio: Vec::new(),
            chunks: 0,
            events: Vec::new(),
            stats: PoolStats::default(),
            spec,
            elapsed: Duration::ZERO,
            dropped: 0,
        }
    }

    /// Channel 0's samples.
    fn first_channel(&self) -> Vec<f64> {
        let channels = usize::from(self.spec.channels);
        let samples: Vec<f32> = decode_samples(&self.audio, self.spec.format).collect();
        samples
            .chunks_exact(channels)
            .map(|frame| f64::from(frame[0]))
            .collect()
    }

    /// The frame ranges, 50 ms each (a whole number of cycles of every test tone at 48 kHz), in which the
    /// players were playing, from 0.2 s on (the players' start). A window holding a run of exact zeros is
    /// left out: a player starved of CPU on a busy machine underruns, and the sink then mixes silence. So a
    /// busy machine shortens what is measured instead of lowering the measured level; at least 200 ms must
    /// remain.
    fn playing(&self) -> Vec<std::ops::Range<usize>> {
        let window = self.spec.rate as usize / 20;
        let skip = self.spec.rate as usize / 5;
        let samples = self.first_channel();
        let playing: Vec<_> = (skip..samples.len().saturating_sub(window))
            .step_by(window)
            .map(|start| start..start + window)
            .filter(|range| {
                !samples[range.clone()]
                    .windows(16)
                    .any(|run| run.iter().all(|&sample| sample == 0.0))
            })
            .collect();
        assert!(
            playing.len() >= 4,
            "{} of {} windows playing",
            playing.len(),
            samples.len() / window
        );
        playing
    }

    /// The amplitude of `frequency` on channel 0 while the players played (the mean over 50 ms windows).
    fn tone(&self, frequency: f64) -> f64 {
        let samples = self.first_channel();
        let windows = self.playing();
        let amplitudes = windows.iter().map(|range| {
            let mut detector = Goertzel::new(frequency, f64::from(self.spec.rate));
            for &sample in &samples[range.clone()] {
                detector.handle_sample(sample);
            }
            detector.amplitude()
        });
        amplitudes.sum::<f64>() / windows.len() as f64
    }
}

fn config(server: &PulseServer, target: Target) -> CaptureConfig {
    CaptureConfig {
        server: Some(server.address()),
        target,
        ..CaptureConfig::default()
    }
}

#[test]
fn records_a_tone_from_the_default_monitor_at_its_frequency_and_level() {
    let server = PulseServer::start();
    let _player = server.play_tone("tone-1k", 1_000.0, 0.5);
    let recording = record(config(&server, Target::DefaultMonitor), Duration::from_millis(1_500));
    assert!(
        matches!(&recording.events[0], Event::Started { source, .. } if source == &format!("{NULL_SINK}.monitor")),
        "{:?}",
        recording.events
    );
    assert_eq!(recording.events.last(), Some(&Event::Stopped));
    // However late the stop comes on a busy machine, a live source cannot give more audio than the time it
    // ran (plus the server's 10 ms fragments in flight), and a prompt consumer loses none of it.
    let seconds = recording.audio.len() as f64 / recording.spec.bytes_per_second() as f64;
    assert!(
        seconds <= recording.elapsed.as_secs_f64() + 0.05,
        "{seconds} s of audio in {:?}",
        recording.elapsed
    );
    assert_eq!(recording.dropped, 0, "chunks dropped");
    let tone = recording.tone(1_000.0);
    assert!((tone - 0.5).abs() < 0.05, "1 kHz amplitude {tone}");
    for other in [440.0, 1_500.0, 3_000.0] {
        assert!(
            recording.tone(other) < 0.01,
            "{other} Hz amplitude {}",
            recording.tone(other)
        );
    }
    let mut meter = LevelMeter::new(recording.spec);
    let frame = recording.spec.frame_bytes();
    for range in recording.playing() {
        meter.handle_chunk(&recording.audio[range.start * frame..range.end * frame]);
    }
    for level in meter.levels() {
        // A sine of amplitude 0.5: peak −6 dBFS, RMS −9 dBFS, on both channels of the upmixed mono tone.
        assert!((level.rms_dbfs() + 9.03).abs() < 0.5, "RMS {} dBFS", level.rms_dbfs());
        assert!(
            (level.peak_dbfs() + 6.02).abs() < 0.5,
            "peak {} dBFS",
            level.peak_dbfs()
        );
    }
}

#[test]
fn records_only_the_application_chosen_by_pid_or_name() {
    let server = PulseServer::start();
    let low = server.play_tone("tone-low", 440.0, 0.4);
    let _high = server.play_tone("tone-high", 1_000.0, 0.4);

    let by_pid = record(
        config(&server, Target::ApplicationPid(low.pid())),
        Duration::from_secs(1),
    );
    let (wanted, unwanted) = (by_pid.tone(440.0), by_pid.tone(1_000.0));
    assert!((wanted - 0.4).abs() < 0.05, "440 Hz amplitude {wanted}");
    assert!(
        unwanted < 0.004,
        "the other application leaked in: 1 kHz amplitude {unwanted}"
    );

    let by_name = record(
        config(&server, Target::ApplicationName("tone-high".into())),
        Duration::from_secs(1),
    );
    let (wanted, unwanted) = (by_name.tone(1_000.0), by_name.tone(440.0));
    assert!((wanted - 0.4).abs() < 0.05, "1 kHz amplitude {wanted}");
    assert!(
        unwanted < 0.004,
        "the other application leaked in: 440 Hz amplitude {unwanted}"
    );

    // The monitor of the whole sink hears both: the isolation above is the monitor stream's doing.
    let both = record(config(&server, Target::DefaultMonitor), Duration::from_secs(1));
    assert!(both.tone(440.0) > 0.3 && both.tone(1_000.0) > 0.3);
}

#[test]
fn steady_capture_of_many_small_chunks_is_served_by_the_pool() {
    let server = PulseServer::start();
    let _player = server.play_tone("tone", 1_000.0, 0.5);
    // 3,000 chunks of 1 ms of 48 kHz stereo s16.
    let config = CaptureConfig {
        spec: StreamSpec {
            format: SampleFormat::S16Le,
            rate: RATE,
            channels: 2,
        },
        chunk_duration: Duration::from_millis(1),
        ..config(&server, Target::DefaultMonitor)
    };
    let recording = record_chunks(config, 3_000);
    assert_eq!(recording.dropped, 0, "chunks dropped");
    let stats = recording.stats;
    assert!(stats.hit_rate >= 99.9, "{stats:?}");
    assert_eq!(stats.dynamic_allocations, 0, "{stats:?}");
    assert!(stats.pool_hits >= 3_000, "every chunk from the pool: {stats:?}");
    assert_eq!(stats.in_use, 0, "every chunk went back to the pool: {stats:?}");
    let tone = recording.tone(1_000.0);
    assert!(
        (tone - 0.5).abs() < 0.05,
        "1 kHz amplitude {tone}, {} bytes",
        recording.audio.len()
    );
}

/// A handler on the capture thread sees the audio as the channel would (tone, level, whole 10 ms chunks from
/// the pool), breaks off after a second, and then sees `Stopped` and nothing else.
#[test]
fn a_handler_on_the_capture_thread_gets_every_chunk_until_it_breaks_off() {
    let server = PulseServer::start();
    let _player = server.play_tone("tone", 1_000.0, 0.5);
    let config = config(&server, Target::DefaultMonitor);
    let chunk_bytes = config.spec.chunk_bytes(config.chunk_duration).unwrap();
    let seen = Arc::new(Mutex::new((Vec::<u8>::new(), Vec::<usize>::new(), Vec::<Event>::new())));
    let handler_seen = Arc::clone(&seen);
    let mut capture = Capture::start_with_handler(config, move |message| {
        let mut seen = handler_seen.lock().unwrap();
        let (audio, chunks, events) = &mut *seen;
        match message {
            Message::Chunk(chunk) => {
                assert!(!events.contains(&Event::Stopped), "a chunk after Stopped");
                audio.extend_from_slice(&chunk);
                chunks.push(chunk.len());
            }
            Message::Event(event) => events.push(event),
        }
        if chunks.len() < 100 {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    })
    .unwrap();
    let spec = capture.spec();
    assert!(capture.recv().is_none(), "nothing comes down the channel");
    // `wait` must return once the handler has broken off; a thread reports it, so that a hang fails the test.
    let (waited, done) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        capture.wait();
        let _ = waited.send(());
        capture
    });
    done.recv_timeout(Duration::from_secs(30))
        .expect("wait() returns once the handler broke off");
    drop(waiter.join().unwrap());
    let (audio, chunks, events) = Arc::try_unwrap(seen).unwrap().into_inner().unwrap();
    assert_eq!(chunks.len(), 100, "nothing after the break");
    assert!(chunks.iter().all(|&len| len == chunk_bytes), "{chunks:?}");
    assert!(matches!(events.first(), Some(Event::Started { .. })), "{events:?}");
    assert_eq!(events.last(), Some(&Event::Stopped), "{events:?}");
    let recording = Recording {
        audio,
        chunks: chunks.len(),
        events,
        ..Recording::new(spec)
    };
    let tone = recording.tone(1_000.0);
    assert!((tone - 0.5).abs() < 0.05, "1 kHz amplitude {tone}");
}

#[test]
fn bad_targets_and_specs_are_refused_with_clear_errors() {
    let server = PulseServer::start();
    let error = Capture::start(config(&server, Target::Source("no-such-source".into()))).unwrap_err();
    assert_eq!(error, CaptureError::SourceNotFound("no-such-source".into()));
    let error = Capture::start(config(&server, Target::ApplicationName("nobody".into()))).unwrap_err();
    assert_eq!(error, CaptureError::ApplicationNotFound("named \"nobody\"".into()));
    assert!(error.to_string().contains("nobody"), "{error}");
    let error = Capture::start(CaptureConfig {
        spec: StreamSpec {
            channels: 0,
            ..StreamSpec::default()
        },
        ..config(&server, Target::DefaultMonitor)
    })
    .unwrap_err();
    assert!(matches!(error, CaptureError::Spec(_)), "{error:?}");
    let dead = CaptureConfig {
        server: Some("unix:/nonexistent/pulse/native".into()),
        ..CaptureConfig::default()
    };
    assert!(matches!(
        Capture::start(dead).unwrap_err(),
        CaptureError::Connect { .. }
    ));
}

#[test]
fn killing_the_server_ends_the_capture_with_an_error_not_a_hang() {
    let mut server = PulseServer::start();
    let _player = server.play_tone("tone", 1_000.0, 0.5);
    let capture = Capture::start(config(&server, Target::DefaultMonitor)).unwrap();
    let mut chunks = 0;
    while chunks < 20 {
        if let Message::Chunk(_) = capture.recv_timeout(Duration::from_secs(5)).unwrap() {
            chunks += 1;
        }
    }
    server.kill();
    let mut events = Vec::new();
    loop {
        match capture
            .recv_timeout(Duration::from_secs(5))
            .expect("the capture must end, not hang")
        {
            Message::Chunk(_) => {}
            Message::Event(Event::Stopped) => break,
            Message::Event(event) => events.push(event),
        }
    }
    assert!(
        matches!(events.last(), Some(Event::Error(CaptureError::ServerGone(_)))),
        "{events:?}"
    );
    assert!(capture.recv().is_none(), "nothing after Stopped");
}

#[test]
fn reconnects_when_the_server_comes_back_if_asked() {
    let mut server = PulseServer::start();
    let capture = Capture::start(CaptureConfig {
        reconnect: true,
        ..config(&server, Target::DefaultMonitor)
    })
    .unwrap();
    assert!(matches!(capture.recv().unwrap(), Message::Event(Event::Started { .. })));
    server.kill();
    let mut saw_reconnecting = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match capture
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("reconnects in time")
        {
            Message::Event(Event::Reconnecting(CaptureError::ServerGone(_))) => {
                saw_reconnecting = true;
                server.restart();
            }
            Message::Event(Event::Started { .. }) => break,
            Message::Event(Event::Stopped | Event::Error(_)) => panic!("gave up instead of reconnecting"),
            Message::Chunk(_) | Message::Event(_) => {}
        }
    }
    assert!(saw_reconnecting);
    let chunk = loop {
        if let Message::Chunk(chunk) = capture
            .recv_timeout(Duration::from_secs(5))
            .expect("audio after reconnecting")
        {
            break chunk;
        }
    };
    assert_eq!(
        chunk.len(),
        capture.spec().chunk_bytes(Duration::from_millis(10)).unwrap()
    );
    capture.stop();
}

#[test]
fn reports_devices_defaults_and_applications_coming_and_going() {
    let server = PulseServer::start();
    let capture = Capture::start(config(&server, Target::DefaultMonitor)).unwrap();
    let module = server.pactl(&["load-module", "module-null-sink", "sink_name=extra"]);
    server.pactl(&["set-default-sink", "extra"]);
    let player = server.play_tone("newcomer", 660.0, 0.2);
    let pid = player.pid();
    drop(player);
    server.pactl(&["unload-module", module.trim()]);

    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let expected = |events: &[Event]| {
        let has = |wanted: &dyn Fn(&Event) -> bool| events.iter().any(wanted);
        has(&|e| matches!(e, Event::DeviceAdded(d) if d.kind == DeviceKind::Sink && d.name == "extra"))
            && has(&|e| matches!(e, Event::DeviceAdded(d) if d.kind == DeviceKind::Source && d.name == "extra.monitor"))
            && has(&|e| matches!(e, Event::DefaultChanged { kind: DeviceKind::Sink, name } if name == "extra"))
            && has(
                &|e| matches!(e, Event::ApplicationStarted(a) if a.pid == Some(pid) && a.name.as_deref() == Some("newcomer")),
            )
            && has(&|e| matches!(e, Event::ApplicationStopped(a) if a.pid == Some(pid)))
            && has(&|e| matches!(e, Event::DeviceRemoved(d) if d.kind == DeviceKind::Sink && d.name == "extra"))
    };
    while !expected(&events) {
        match capture.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Message::Event(event)) => events.push(event),
            Ok(Message::Chunk(_)) => {}
            Err(_) => panic!("missing events; got {events:?}"),
        }
    }
}

#[test]
fn removing_the_recorded_source_ends_the_capture_with_an_error() {
    let server = PulseServer::start();
    let module = server.pactl(&["load-module", "module-null-sink", "sink_name=doomed"]);
    let capture = Capture::start(config(&server, Target::Source("doomed.monitor".into()))).unwrap();
    server.pactl(&["unload-module", module.trim()]);
    let mut events = Vec::new();
    loop {
        match capture
            .recv_timeout(Duration::from_secs(5))
            .expect("the capture must end, not hang")
        {
            Message::Chunk(_) => {}
            Message::Event(Event::Stopped) => break,
            Message::Event(event) => events.push(event),
        }
    }
    assert_eq!(
        events.last(),
        Some(&Event::Error(CaptureError::DeviceRemoved("doomed.monitor".into()))),
        "{events:?}"
    );
}

#[test]
fn a_stopped_application_ends_its_capture_cleanly() {
    let server = PulseServer::start();
    let player = server.play_tone("short-lived", 440.0, 0.3);
    let pid = player.pid();
    let capture = Capture::start(config(&server, Target::ApplicationPid(pid))).unwrap();
    drop(player);
    let mut events = Vec::new();
    loop {
        match capture
            .recv_timeout(Duration::from_secs(5))
            .expect("the capture must end, not hang")
        {
            Message::Chunk(_) => {}
            Message::Event(Event::Stopped) => break,
            Message::Event(event) => events.push(event),
        }
    }
    assert!(
        !events.iter().any(|event| matches!(event, Event::Error(_))),
        "{events:?}"
    );
    let stopped = |event: &Event| matches!(event, Event::ApplicationStopped(app) if app.pid == Some(pid));
    assert_eq!(events.iter().filter(|event| stopped(event)).count(), 1, "{events:?}");
}

#[test]
fn fixed_pool_and_s16_at_other_rates_and_channel_counts() {
    let server = PulseServer::start();
    let _player = server.play_tone("tone", 1_000.0, 0.5);
    let config = CaptureConfig {
        spec: StreamSpec {
            format: SampleFormat::S16Le,
            rate: 22_050,
            channels: 1,
        },
        pool: Sizing::Fixed(16),
        ..config(&server, Target::Source(format!("{NULL_SINK}.monitor")))
    };
    let recording = record(config, Duration::from_secs(1));
    assert_eq!(recording.audio.len() % 2, 0, "whole s16 frames");
    assert!(
        (recording.tone(1_000.0) - 0.5).abs() < 0.05,
        "{}",
        recording.tone(1_000.0)
    );
    assert_eq!(recording.stats.max_pool_size, 16);
}

#[test]
fn stop_returns_even_while_a_cloned_receiver_is_full_and_unread() {
    let server = PulseServer::start();
    let _player = server.play_tone("tone", 1_000.0, 0.5);
    let capture = Capture::start(CaptureConfig {
        queue_chunks: 4,
        ..config(&server, Target::DefaultMonitor)
    })
    .unwrap();
    let chunk_bytes = capture.spec().chunk_bytes(Duration::from_millis(10)).unwrap();
    let unread = capture.receiver().unwrap().clone();
    let wait_until = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "{what} never happened");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_until("the queue filling", &|| unread.is_full());
    // New chunks are dropped and counted rather than waited for.
    let dropped_before = capture.dropped_chunks();
    wait_until("a chunk being dropped", &|| capture.dropped_chunks() > dropped_before);
    let (stopped, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        capture.stop();
        stopped.send(())
    });
    // Would time out if the capture thread waited for room to send `Stopped`.
    done.recv_timeout(Duration::from_secs(5)).expect("stop() returns");
    // The full queue was left as it was, chunks whole: `Stopped` was not forced in by throwing a queued chunk
    // away (the chunks that did not fit were dropped and counted instead).
    let queued: Vec<Message> = unread.try_iter().collect();
    assert_eq!(queued.len(), 4);
    assert!(
        !queued
            .iter()
            .any(|message| matches!(message, Message::Event(Event::Stopped))),
        "{queued:?}"
    );
    let chunks: Vec<usize> = queued
        .iter()
        .filter_map(|message| match message {
            Message::Chunk(chunk) => Some(chunk.len()),
            Message::Event(_) => None,
        })
        .collect();
    assert!(
        !chunks.is_empty() && chunks.iter().all(|&len| len == chunk_bytes),
        "{queued:?}"
    );
}
