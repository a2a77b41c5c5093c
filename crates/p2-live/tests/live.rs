//! The live session end to end, in-process, with real parts: a test P2 on the far end of a pseudo-terminal
//! pair (the terminal reads the other end as its serial port at 2 Mbaud), and the built-in simulator.
//! PC_KEY/PC_MOUSE answered exactly once with the bytes of docs/p2-displays.md A.0 (default replies without
//! input; the exact bytes with input given through the live API); typed bytes reaching the P2 byte-exact; the
//! simulator echoing what is typed at its prompt; what a viewer sees.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};
use sluicegate_p2::Router;
use sluicegate_p2::io::{Next, Pace, Pipeline, PipelineConfig, Recorder, Scenario, SourceSpec};
use sluicegate_p2_live::{
    Buttons, ControlError, DisplayInfo, Key, LineKind, LiveHandle, Session, SessionConfig, TerminalLine, Viewer,
};

/// A session on `spec`, its consumer routing on a thread of its own until the input ends or `stop`.
struct Live {
    session: Option<Session>,
    handle: LiveHandle,
    stop: Arc<AtomicBool>,
    consumer: Option<JoinHandle<()>>,
}

impl Live {
    fn start(spec: SourceSpec, config: SessionConfig) -> Live {
        let opened = spec.open().unwrap();
        let recorder = Recorder::new();
        let pipeline = Pipeline::start(
            opened.source,
            PipelineConfig::for_origin(spec.origin()),
            Some(recorder.tap()),
        )
        .unwrap();
        let mut session = Session::start(config, opened.transmitter, recorder, pipeline.monitor()).unwrap();
        let feed = session.take_feed().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let consumer = std::thread::spawn(move || {
            let subscription = feed.subscription();
            let mut router = Router::new();
            router.add_destination(feed, subscription).unwrap();
            loop {
                if stopping.load(Ordering::Relaxed) {
                    pipeline.stop();
                }
                match pipeline.next(Duration::from_millis(20)) {
                    Next::Output(emitted) => {
                        router.route(&emitted.output);
                        if !pipeline.has_queued() {
                            router.flush();
                        }
                    }
                    Next::Waiting => {}
                    Next::Ended => break,
                }
            }
            router.flush();
            drop(router);
            pipeline.finish().unwrap();
        });
        Live {
            handle: session.handle(),
            session: Some(session),
            stop,
            consumer: Some(consumer),
        }
    }

    fn finish(mut self) -> sluicegate_p2_live::HostStats {
        self.stop.store(true, Ordering::Relaxed);
        self.consumer.take().unwrap().join().unwrap();
        self.session.take().unwrap().finish()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(consumer) = self.consumer.take() {
            let _ = consumer.join();
        }
    }
}

/// What a viewer has seen so far.
#[derive(Default)]
struct Seen {
    displays: HashMap<String, DisplayInfo>,
    text: Vec<TerminalLine>,
}

impl Seen {
    fn take(&mut self, viewer: &mut Viewer) {
        let update = viewer.poll();
        for info in update.opened {
            self.displays.insert(info.name.clone(), info);
        }
        self.displays.retain(|_, info| !update.closed.contains(&info.id));
        if let Some(terminal) = update.terminal {
            if terminal.reset {
                self.text.clear();
            }
            self.text.extend(terminal.lines);
        }
    }

    /// Polls `viewer` until `done` holds.
    fn wait_for(&mut self, viewer: &mut Viewer, what: &str, done: impl Fn(&Seen) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.take(viewer);
            if done(self) {
                return;
            }
            assert!(Instant::now() < deadline, "waited 20 s for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// The test P2: the master side of a pty pair, and the slave's path for the terminal.
fn test_p2() -> (TTYPort, String) {
    let (mut master, slave) = TTYPort::pair().expect("a pty pair");
    let path = slave.name().expect("the slave's path");
    drop(slave);
    master.set_timeout(Duration::from_millis(20)).unwrap();
    (master, path)
}

/// Reads exactly `len` bytes from the P2's side within 5 s, and how long they took.
fn read_reply(master: &mut TTYPort, len: usize) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut reply = vec![0u8; len];
    let mut got = 0;
    while got < len {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{got} of {len} reply bytes after 5 s"
        );
        match master.read(&mut reply[got..]) {
            Ok(n) => got += n,
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
            Err(error) => panic!("{error}"),
        }
    }
    (reply, started.elapsed())
}

/// Nothing more arrives on the P2's side for a while.
fn assert_quiet(master: &mut TTYPort) {
    let mut buf = [0u8; 64];
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        match master.read(&mut buf) {
            Ok(n) => panic!("{n} unexpected bytes: {:02X?}", &buf[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
            Err(error) => panic!("{error}"),
        }
    }
}

fn port(path: &str) -> SourceSpec {
    SourceSpec::Port {
        path: path.to_owned(),
        baud: 2_000_000,
        reset: None,
    }
}

/// A TERM's character cell size from its client size (`cols × rows` cells and a margin of half a cell width).
fn cell(info: &DisplayInfo, cols: u32, rows: u32) -> (i32, i32, i32) {
    let width = (1..64)
        .find(|width| cols * width + 2 * (width / 2) == info.width)
        .expect("a cell width that gives the TERM's width");
    let margin = width / 2;
    let height = (info.height - 2 * margin) / rows;
    (width as i32, height as i32, margin as i32)
}

#[test]
fn pc_key_and_pc_mouse_are_answered_exactly_once_with_the_bytes_of_a0() {
    let (mut p2, path) = test_p2();
    let live = Live::start(port(&path), SessionConfig::new(port(&path)));
    let mut viewer = live.handle.viewer();
    let mut seen = Seen::default();
    p2.write_all(b"`term t1 size 12 3\r\n`t1 5 ' ' 4\r\n").unwrap();
    seen.wait_for(&mut viewer, "the TERM", |seen| seen.displays.contains_key("t1"));
    let t1 = seen.displays["t1"].clone();
    assert_eq!((t1.scale, t1.kind), ((1, 1), sluicegate_p2_live::WindowType::Term));
    let (width, height, margin) = cell(&t1, 12, 3);
    let centre = |col: i32, row: i32| (margin + col * width + width / 2, margin + row * height + height / 2);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(
        runtime.block_on(live.handle.hover_text(t1.id, centre(2, 1))).as_deref(),
        Some("2,1"),
        "the read-out by the cursor: column, row"
    );
    assert_eq!(
        runtime.block_on(live.handle.hover_text(t1.id, (0, 0))),
        None,
        "in the margin"
    );

    let mut slowest = Duration::ZERO;
    let mut ask = |p2: &mut TTYPort, request: &[u8], len: usize| {
        p2.write_all(request).unwrap();
        let (reply, took) = read_reply(p2, len);
        slowest = slowest.max(took);
        reply
    };
    // No input: PC_KEY 0, PC_MOUSE the outside value.
    assert_eq!(ask(&mut p2, b"`t1 PC_KEY\r\n", 4), [0, 0, 0, 0]);
    assert_eq!(
        ask(&mut p2, b"`t1 PC_MOUSE\r\n", 8),
        [0xFF, 0xFF, 0xFF, 0x03, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    // A key typed into the panel: read once.
    live.handle.key(t1.id, Key::Byte(b'a'));
    assert_eq!(ask(&mut p2, b"`t1 pc_key\r\n", 4), [0x61, 0, 0, 0]);
    assert_eq!(ask(&mut p2, b"`t1 pc_key\r\n", 4), [0, 0, 0, 0], "a key is read once");
    live.handle.key(t1.id, Key::PageDown);
    assert_eq!(ask(&mut p2, b"`t1 PC_KEY\r\n", 4), [12, 0, 0, 0]);
    // The pointer on cell (2, 1) over black: column 2, row 1 (D6), and the pixel.
    live.handle.pointer(t1.id, Some(centre(2, 1)), Buttons::default());
    assert_eq!(ask(&mut p2, b"`t1 PC_MOUSE\r\n", 8), [0x02, 0x20, 0, 0, 0, 0, 0, 0]);
    // On cell (0, 0), painted by colour pair 1 (black on #FF7F00), with buttons and a wheel step up.
    let buttons = Buttons {
        left: true,
        middle: false,
        right: true,
    };
    live.handle.pointer(t1.id, Some((margin + 1, margin + 1)), buttons);
    live.handle.wheel(t1.id, true);
    let reply = ask(&mut p2, b"`t1 PC_MOUSE\r\n", 8);
    assert_eq!(
        u32::from_le_bytes(reply[..4].try_into().unwrap()),
        (1 << 26) | (1 << 28) | (1 << 30),
        "x 0, y 0, wheel +1, left and right"
    );
    assert_eq!(reply[4..], [0x00, 0x7F, 0xFF, 0x00], "the pixel: #FF7F00");
    assert_eq!(
        u32::from_le_bytes(ask(&mut p2, b"`t1 PC_MOUSE\r\n", 8)[..4].try_into().unwrap()),
        (1 << 28) | (1 << 30),
        "the wheel step is read once"
    );
    // The pointer left.
    live.handle.pointer(t1.id, None, Buttons::default());
    assert_eq!(
        ask(&mut p2, b"`t1 PC_MOUSE\r\n", 8),
        [0xFF, 0xFF, 0xFF, 0x03, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    // Two targets, two requests in one line: one answer per target, in order.
    p2.write_all(b"`term t2 size 4 1\r\n").unwrap();
    assert_eq!(ask(&mut p2, b"`t1 t2 PC_KEY\r\n", 8), [0; 8]);
    assert_quiet(&mut p2);
    // A reboot (golden sync) closes every display.
    p2.write_all(b"Cog0  INIT $0000_0000 $0000_0000 load\r\n").unwrap();
    seen.wait_for(&mut viewer, "the displays closed by the reboot", |seen| {
        seen.displays.is_empty()
    });
    eprintln!("slowest request → answer on the P2's side: {slowest:?}");
    assert!(slowest < Duration::from_millis(500), "an answer took {slowest:?}");
    let stats = live.finish();
    assert_eq!((stats.replies_sent, stats.replies_not_sent), (11, 0));
}

#[test]
fn typed_bytes_reach_the_p2_byte_exact_and_reset_needs_a_reset_line() {
    let (mut p2, path) = test_p2();
    let live = Live::start(port(&path), SessionConfig::new(port(&path)));
    let sent: Vec<u8> = (0..20_000u32).map(|n| (n * 7 % 256) as u8).collect();
    let writer = {
        let handle = live.handle.clone();
        let sent = sent.clone();
        std::thread::spawn(move || {
            for piece in sent.chunks(333) {
                handle.transmit(piece).unwrap();
            }
        })
    };
    let (got, _) = read_reply(&mut p2, sent.len());
    writer.join().unwrap();
    assert!(got == sent, "the P2 got other bytes than were typed");
    assert_quiet(&mut p2);
    // A pty has no modem lines: the driver refuses to pulse them, and says so.
    assert!(matches!(live.handle.reset(), Err(ControlError::Transmit(_))));
    live.finish();

    let replay = SourceSpec::Stdin;
    let recorder = Recorder::new();
    let pipeline = Pipeline::start(
        Box::new(sluicegate_p2::io::source::SimulatedSource::new(
            &sluicegate_p2::simulate::Stream::new(),
            Pace::Burst,
        )),
        PipelineConfig::default(),
        None,
    )
    .unwrap();
    let session = Session::start(SessionConfig::new(replay), None, recorder, pipeline.monitor()).unwrap();
    let handle = session.handle();
    assert_eq!(
        handle.transmit(b"x").unwrap_err().to_string(),
        "standard input has no way back to the P2: typing needs a serial port, TCP or the simulator"
    );
    assert!(matches!(handle.reset(), Err(ControlError::NoResetLine { .. })));
    assert!(!handle.status().can_transmit);
    session.finish();
    pipeline.finish().unwrap();
}

#[test]
fn the_simulator_echoes_what_is_typed_at_its_prompt() {
    let spec = SourceSpec::Simulate {
        scenario: Scenario::Demo,
        pace: Some(Pace::PerMessage(Duration::from_millis(1))),
    };
    let live = Live::start(spec.clone(), SessionConfig::new(spec).terminal_text(true));
    let mut viewer = live.handle.viewer();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let prompted = |seen: &Seen| {
        seen.text
            .last()
            .is_some_and(|line| line.text.ends_with("Enter a value: ") && !line.complete)
    };
    let mut seen = Seen::default();
    // Waits the way a page's task does: `changed().await`, then `poll`.
    runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !prompted(&seen) {
            let changed = tokio::time::timeout_at(deadline, viewer.changed()).await;
            assert_eq!(changed, Ok(true), "the prompt within 20 s");
            seen.take(&mut viewer);
        }
    });
    let opened: Vec<_> = seen.displays.keys().cloned().collect();
    assert!(
        opened.len() >= 3,
        "the drawn displays are open at the prompt: {opened:?}"
    );
    let prompt = seen.text.last().unwrap().clone();
    assert_eq!(prompt.kind, LineKind::Text);
    assert!(
        prompt.text.starts_with("\u{1}\u{2}\u{5}\u{3}"),
        "PST codes kept: {prompt:?}"
    );
    live.handle.transmit(b"1234\r").unwrap();
    seen.wait_for(&mut viewer, "the echo", |seen| {
        seen.text.iter().any(|line| line.text == "1234" && line.complete)
    });
    let after = seen.text.iter().position(|line| line.text == "1234").unwrap();
    assert!(
        seen.text[..after]
            .iter()
            .rev()
            .take_while(|line| !line.complete)
            .count()
            >= 1,
        "the echo continues the prompt's line"
    );
    seen.wait_for(&mut viewer, "the program to go on", |seen| {
        seen.text.iter().any(|line| line.text == "round 0 done")
    });
    let done = seen.text.iter().position(|line| line.text == "round 0 done").unwrap();
    assert!(
        !seen.text[..done].iter().any(|line| line.text.contains("42")),
        "the typed answer replaced the default"
    );
    live.finish();
}

/// The images a page would show, rebuilt from the updates it polled.
#[derive(Default)]
struct Page {
    seen: Seen,
    images: HashMap<u32, (u32, Vec<u32>)>,
    updates: usize,
}

impl Page {
    fn take(&mut self, viewer: &mut Viewer) {
        let update = viewer.poll();
        if update.is_empty() {
            return;
        }
        self.updates += 1;
        for info in &update.opened {
            self.images
                .insert(info.id, (info.width, vec![0; (info.width * info.height) as usize]));
            self.seen.displays.insert(info.name.clone(), info.clone());
        }
        for frame in update.frames {
            let (width, pixels) = self
                .images
                .get_mut(&frame.display)
                .expect("pixels of an opened display");
            let rect = frame.rect;
            for (index, rgba) in frame.rgba.chunks_exact(4).enumerate() {
                let (x, y) = (rect.x + index as u32 % rect.width, rect.y + index as u32 / rect.width);
                assert_eq!(rgba[3], 0xFF, "opaque");
                pixels[(y * *width + x) as usize] =
                    (u32::from(rgba[0]) << 16) | (u32::from(rgba[1]) << 8) | u32::from(rgba[2]);
            }
        }
    }

    fn image(&self, name: &str) -> &[u32] {
        &self.images[&self.seen.displays[name].id].1
    }
}

#[test]
fn a_slow_page_and_a_late_page_show_what_the_snapshots_hold() {
    let spec = SourceSpec::Simulate {
        scenario: Scenario::Hsv16,
        pace: Some(Pace::Baud(2_000_000)),
    };
    let snapshots = tempfile::tempdir().unwrap();
    let config = SessionConfig::new(spec.clone()).snapshots(Some(snapshots.path().to_owned()));
    let live = Live::start(spec, config);
    // A page that looks only every 50 ms (three frames): it skips frames, never pixels.
    let mut slow = live.handle.viewer();
    let mut page = Page::default();
    let started = Instant::now();
    while live.handle.status().messages < 65_539 || !live.handle.status().input_ended {
        assert!(started.elapsed() < Duration::from_secs(60), "the burst within 60 s");
        page.take(&mut slow);
        std::thread::sleep(Duration::from_millis(50));
    }
    let handle = live.handle.clone();
    let stats = live.finish();
    assert_eq!((stats.lines, stats.queue_dropped), (65_539, 0));
    page.take(&mut slow);
    // A page opened after the end.
    let mut late = Page::default();
    late.take(&mut handle.viewer());
    for name in ["j", "k", "l"] {
        let png = std::fs::read(snapshots.path().join(format!("{name}.png"))).unwrap();
        let snapshot = sluicegate_p2_display::read_png(&png).unwrap();
        assert!(page.image(name) == snapshot.pixels(), "{name}: the slow page's pixels");
        assert!(late.image(name) == snapshot.pixels(), "{name}: the late page's pixels");
    }
    let frames = 3 * 256;
    assert!(
        page.updates > 10 && page.updates < frames,
        "the slow page got {} updates for {frames} refreshes",
        page.updates
    );
}

#[test]
fn over_tcp_the_same_socket_carries_typed_bytes_and_answers() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let spec = SourceSpec::Tcp {
        address: listener.local_addr().unwrap().to_string(),
    };
    let live = Live::start(spec.clone(), SessionConfig::new(spec));
    let (mut p2, _) = listener.accept().unwrap();
    p2.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let read_exactly = |p2: &mut std::net::TcpStream, len: usize| {
        let mut got = vec![0u8; len];
        p2.read_exact(&mut got).unwrap();
        got
    };
    live.handle.transmit(b"typed\r").unwrap();
    assert_eq!(read_exactly(&mut p2, 6), b"typed\r");
    p2.write_all(b"`term t1 size 4 1\r\n`t1 PC_MOUSE\r\n").unwrap();
    assert_eq!(
        read_exactly(&mut p2, 8),
        [0xFF, 0xFF, 0xFF, 0x03, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    assert!(matches!(live.handle.reset(), Err(ControlError::NoResetLine { .. })));
    drop(p2);
    let stats = live.finish();
    assert_eq!(stats.replies_sent, 1);
}
