//! `sluicegate p2 --ui` end to end, in a real headless Chromium driven over the DevTools protocol: a P2 on the
//! far end of a real pseudo-terminal, the terminal on the other, the page in the browser. The HSV16 burst with a
//! page open and another stalled (every message kept, the canvases equal to the snapshots, a late page too),
//! PC_KEY and PC_MOUSE answered from the page's keyboard and mouse, captions and read-outs, typed text to the P2,
//! Pause view and Record, strangers refused, and the page's frame decoder against the server's encoder.

mod p2_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use p2_common::{exclusive, hex_bytes, json_lines, sluicegate};
use serialport::{SerialPort, TTYPort};
use sluicegate_p2::simulate;
use sluicegate_p2_display::read_png;
use sluicegate_p2_ui::devtools::{Browser, Button, DevtoolsError, Page};

/// The longest a P2 may wait for its PC_KEY / PC_MOUSE answer.
const REPLY_WITHIN: Duration = Duration::from_millis(100);

/// Time for an input event to go from the browser to the display host (pointer moves go out once a frame).
const SETTLE: Duration = Duration::from_millis(40);

/// A headless Chromium, or `None` (the test says why and passes) when none is installed and none could be.
fn browser() -> Option<Browser> {
    match Browser::launch(1400, 900) {
        Ok(browser) => Some(browser),
        Err(DevtoolsError::NoBrowser) => {
            eprintln!("SKIPPED: no Chromium on this machine (scripts/install-deps.sh installs Debian's chromium)");
            None
        }
        Err(error) => panic!("Chromium did not start: {error}"),
    }
}

/// `sluicegate p2 … --ui 127.0.0.1:0`, its stdout and stderr read as they come.
struct Terminal {
    child: Child,
    url: String,
    /// Its current directory, where the page's Record button writes.
    workdir: tempfile::TempDir,
    stdout: Option<std::thread::JoinHandle<Vec<u8>>>,
    stderr: Arc<Mutex<String>>,
}

impl Terminal {
    fn start(args: &[&str]) -> Terminal {
        Terminal::start_on(args, ":0")
    }

    /// With `--ui ADDRESS`.
    fn start_on(args: &[&str], address: &str) -> Terminal {
        let workdir = tempfile::tempdir().unwrap();
        let mut child = sluicegate()
            .current_dir(workdir.path())
            .arg("p2")
            .args(args)
            .args(["--ui", address])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = pipe.read_to_end(&mut all);
            all
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (found, url) = mpsc::channel();
        let lines = BufReader::new(child.stderr.take().unwrap());
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("ui: ") {
                    let _ = found.send(url.to_owned());
                }
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        let url = url
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no `ui:` line on stderr: {}", stderr.lock().unwrap()));
        Terminal {
            child,
            url,
            workdir,
            stdout: Some(stdout),
            stderr,
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal}");
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Ctrl-C, then the exit status and stdout.
    fn interrupt(mut self) -> (std::process::ExitStatus, Vec<u8>, String) {
        self.signal("-INT");
        let status = wait_timeout(&mut self.child, Duration::from_secs(20));
        let stdout = self.stdout.take().unwrap().join().unwrap();
        (status, stdout, self.stderr())
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "did not exit within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The RGBA bytes of the canvas of display `name`, read back with `getImageData`.
fn canvas_rgba(page: &Page<'_>, name: &str) -> Vec<u8> {
    let script = format!(
        "(() => {{ const c = document.querySelector('canvas[data-name=\"{name}\"]'); if (!c) return null; \
         const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = ''; \
         for (let i = 0; i < d.length; i += 8192) s += String.fromCharCode.apply(null, d.subarray(i, i + 8192)); \
         return [c.width, c.height, btoa(s)]; }})()"
    );
    let value = page.evaluate(&script).unwrap();
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(value[2].as_str().unwrap_or_else(|| panic!("no canvas for {name}")))
        .unwrap()
}

/// The snapshot PNG of `name` as RGBA bytes.
fn snapshot_rgba(dir: &std::path::Path, name: &str) -> Vec<u8> {
    let image = read_png(&std::fs::read(dir.join(format!("{name}.png"))).unwrap()).unwrap();
    image
        .pixels()
        .iter()
        .flat_map(|&pixel| [(pixel >> 16) as u8, (pixel >> 8) as u8, pixel as u8, 0xFF])
        .collect()
}

/// Waits until the page's canvases of `names` equal the snapshots in `dir`, or fails naming the first
/// differing pixel.
fn assert_canvases_equal_snapshots(page: &Page<'_>, dir: &std::path::Path, names: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    for name in names {
        let expected = snapshot_rgba(dir, name);
        loop {
            let got = canvas_rgba(page, name);
            if got == expected {
                break;
            }
            if Instant::now() > deadline {
                let first = got.iter().zip(&expected).position(|(a, b)| a != b);
                panic!(
                    "canvas {name} differs from its snapshot: {} vs {} bytes, first at byte {first:?}",
                    got.len(),
                    expected.len()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A pseudo-terminal pair: the far end for the test's P2, the path for the terminal (our handle on the near end,
/// which holds a lock that would keep the terminal out, closed). The far end is not inherited by the terminal,
/// so that dropping it hangs up the line.
fn pty() -> (TTYPort, String) {
    use std::os::fd::AsRawFd;
    let (master, slave) = TTYPort::pair().unwrap();
    let path = slave.name().unwrap();
    drop(slave);
    nix::fcntl::fcntl(
        master.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .unwrap();
    (master, path)
}

/// Writes `bytes` to the P2's end of the pty at 2 Mbaud (200 bytes a millisecond, 8N1) and returns how far
/// behind that schedule it finished. The writes block when the line is full: a terminal that falls behind
/// delays the writer (and shows in the lateness) instead of losing bytes in the kernel's pty buffers, which a
/// machine loaded by other work can do on its own. Each write ends with a whole line, so that a writer held up
/// by the machine pauses between lines, as a P2 does, never for 50 ms inside one (which the terminal would show
/// as text the P2 paused in).
fn write_at_2_mbaud(port: &mut TTYPort, bytes: &[u8]) -> Duration {
    port.set_timeout(Duration::from_secs(10)).unwrap();
    let start = Instant::now();
    let mut sent = 0;
    while sent < bytes.len() {
        let due = (start.elapsed().as_micros() as usize / 5).min(bytes.len());
        if due > sent {
            let due = bytes[due - 1..]
                .iter()
                .position(|&byte| byte == b'\n')
                .map_or(bytes.len(), |end| due + end);
            port.write_all(&bytes[sent..due]).unwrap();
            sent = due;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    start
        .elapsed()
        .saturating_sub(Duration::from_micros(bytes.len() as u64 * 5))
}

/// The HSV16 burst at 2 Mbaud over a real pty with a page open and a second one stalled: every message arrives, in
/// order, byte-exact (the pages cost no message, the stalled one blocks nothing); the page's three BITMAP canvases
/// equal the snapshots pixel for pixel; and a page opened after the burst shows the same pictures.
#[test]
fn hsv16_burst_with_a_page_open_keeps_every_message_and_the_canvases_equal_the_snapshots() {
    let _one = exclusive();
    let Some(browser) = browser() else { return };
    let snapshots = tempfile::tempdir().unwrap();
    let (mut p2, path) = pty();
    let terminal = Terminal::start(&[
        "--port",
        &path,
        "--json",
        "--stats",
        "--snapshots",
        snapshots.path().to_str().unwrap(),
        // A line is shown unfinished after this much silence in it (50 ms by default): on a machine loaded by
        // other jobs (load average 12) the writer once stalled that long mid-line, and the line was cut in two.
        "--idle-ms",
        "1000",
    ]);
    let page = browser.open(&terminal.url).unwrap();
    page.wait_for("window.sluicegate.status !== null", Duration::from_secs(10))
        .unwrap();
    // A second page that stalls: connected, it never reads nor acknowledges a thing.
    let (address, token) = address_and_token(&terminal.url);
    let (status, stalled) = upgrade(&address, &format!("/ws?token={token}"), &format!("http://{address}"));
    assert_eq!(status, 101, "the stalled page's socket is accepted");
    let stream = simulate::hsv16();
    let late = write_at_2_mbaud(&mut p2, stream.bytes());
    eprintln!("the burst took {late:?} longer than 2 Mbaud allows");
    page.wait_for(
        &format!("window.sluicegate.status.bytes_in === {}", stream.bytes().len()),
        Duration::from_secs(20),
    )
    .unwrap_or_else(|error| panic!("{error}: {}", terminal.stderr()));
    // The P2 hangs up: the input has ended, and the page stays.
    drop(p2);
    page.wait_for(
        "window.sluicegate.status.input_ended && window.sluicegate.displays.size === 3",
        Duration::from_secs(20),
    )
    .unwrap_or_else(|error| panic!("{error}: {}", terminal.stderr()));

    // SIGUSR1 writes the snapshots while the session runs on.
    terminal.signal("-USR1");
    let written = |name: &str| snapshots.path().join(format!("{name}.png")).exists();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !["j", "k", "l"].iter().all(|name| written(name)) {
        assert!(Instant::now() < deadline, "no snapshots: {}", terminal.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_canvases_equal_snapshots(&page, snapshots.path(), &["j", "k", "l"]);
    let captions = page
        .evaluate("[...document.querySelectorAll('.panel .caption')].map((c) => c.textContent)")
        .unwrap();
    assert_eq!(captions, serde_json::json!(["HSV16", "HSV16W", "HSV16X"]));

    let late = browser.open(&terminal.url).unwrap();
    late.wait_for("window.sluicegate.displays.size === 3", Duration::from_secs(10))
        .unwrap();
    assert_canvases_equal_snapshots(&late, snapshots.path(), &["j", "k", "l"]);

    drop(stalled);
    let (status, stdout, stderr) = terminal.interrupt();
    assert!(status.success(), "{stderr}");
    let messages = json_lines(&stdout);
    assert_eq!(
        messages.len(),
        65_539,
        "every message, none lost to the pages: {stderr}"
    );
    for (index, (got, expected)) in messages.iter().zip(stream.messages()).enumerate() {
        assert_eq!(
            hex_bytes(got),
            &stream.bytes()[expected.range.clone()],
            "message {index}"
        );
    }
}

/// A test P2 on the far end of a pty: writes requests, reads what the terminal sends back.
struct TestP2 {
    port: TTYPort,
}

impl TestP2 {
    fn write(&mut self, line: &str) {
        self.port.write_all(line.as_bytes()).unwrap();
        self.port.write_all(b"\r\n").unwrap();
    }

    /// Sends `` `name REQUEST`` and returns the reply's `len` bytes and how long they took.
    fn exchange(&mut self, name: &str, request: &str, len: usize) -> (Vec<u8>, Duration) {
        self.drain();
        let sent = Instant::now();
        self.write(&format!("`{name} {request}"));
        let mut reply = vec![0u8; len];
        let mut got = 0;
        while got < len {
            match self.port.read(&mut reply[got..]) {
                Ok(n) => got += n,
                Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
                Err(error) => panic!("read: {error}"),
            }
            assert!(sent.elapsed() < Duration::from_secs(2), "{request} to {name}: no reply");
        }
        (reply, sent.elapsed())
    }

    /// The reply to `` `name REQUEST``, however long it took.
    fn ask(&mut self, name: &str, request: &str, len: usize) -> Vec<u8> {
        self.exchange(name, request, len).0
    }

    /// `act` (a key typed, the mouse moved, nothing), then `` `name REQUEST``: the reply must be `expected`
    /// and arrive within 100 ms. On a machine loaded by other work one attempt can miss (the terminal waits for
    /// a CPU while the key's 100 ms latch runs out), so a step is tried up to three times, and every attempt is
    /// shown if none succeeds.
    fn round_trip(&mut self, what: &str, mut act: impl FnMut(), name: &str, request: &str, expected: &[u8]) {
        let mut attempts = Vec::new();
        for _ in 0..3 {
            act();
            std::thread::sleep(SETTLE);
            let (reply, took) = self.exchange(name, request, expected.len());
            if reply == expected && took < REPLY_WITHIN {
                return;
            }
            attempts.push((reply, took));
        }
        panic!("{what}: expected {expected:02X?} within {REPLY_WITHIN:?}, got {attempts:02X?}");
    }

    /// Reads everything sent so far, and returns it.
    fn drain(&mut self) -> Vec<u8> {
        let mut all = Vec::new();
        let mut buf = [0u8; 256];
        self.port.set_timeout(Duration::from_millis(1)).unwrap();
        while let Ok(n @ 1..) = self.port.read(&mut buf) {
            all.extend_from_slice(&buf[..n]);
        }
        self.port.set_timeout(Duration::from_millis(5)).unwrap();
        all
    }

    /// Reads until `len` bytes came or `timeout` passed.
    fn read_for(&mut self, len: usize, timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        let mut all = Vec::new();
        let mut buf = [0u8; 256];
        while all.len() < len && Instant::now() < deadline {
            if let Ok(n @ 1..) = self.port.read(&mut buf) {
                all.extend_from_slice(&buf[..n]);
            }
        }
        all
    }
}

/// The middle of a panel's canvas pixel `(x, y)` (client pixels of the display) in page coordinates.
fn at(page: &Page<'_>, name: &str, x: u32, y: u32) -> (f64, f64) {
    let rect = page
        .evaluate(&format!(
            "(() => {{ const r = document.querySelector('canvas[data-name=\"{name}\"]').getBoundingClientRect(); \
             return [r.left, r.top]; }})()"
        ))
        .unwrap();
    (
        rect[0].as_f64().unwrap() + f64::from(x) + 0.5,
        rect[1].as_f64().unwrap() + f64::from(y) + 0.5,
    )
}

fn mouse_long(x: u32, y: u32, wheel: u32, buttons: u32) -> [u8; 4] {
    ((wheel & 3) << 26 | (y & 0x1FFF) << 13 | (x & 0x1FFF) | buttons << 28).to_le_bytes()
}

/// PC_KEY and PC_MOUSE, answered from the keyboard and mouse of that display's panel within 100 ms, with the exact
/// bytes of docs/p2-displays.md A.0; the defaults with no page open; captions, the hover read-out (none with
/// HIDEXY), text typed on the page reaching the P2 byte-exact, Pause view, Record; and WebSocket upgrades from a foreign
/// origin or without the token refused while the page works on.
#[test]
fn pc_key_pc_mouse_and_typed_text_go_back_to_the_p2_from_the_page() {
    let _one = exclusive();
    let Some(browser) = browser() else { return };
    let (master, path) = pty();
    let mut p2 = TestP2 { port: master };
    p2.port.set_timeout(Duration::from_millis(5)).unwrap();
    let snapshots = tempfile::tempdir().unwrap();
    let terminal = Terminal::start(&["--port", &path, "--snapshots", snapshots.path().to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(200));
    p2.write("`term t1 size 12 3");
    // 8 × 4 pixels shown 8 times larger; pixel i is $0A0B00 + i.
    p2.write("`bitmap b1 size 8 4 dotsize 8 rgb24 rate 32");
    let pixels: Vec<String> = (0..32).map(|i| format!("${:06X}", 0x0A0B00 + i)).collect();
    p2.write(&format!("`b1 {}", pixels.join(" ")));
    p2.write("`bitmap h title 'Quiet' size 4 4 dotsize 8 hidexy");

    // No page: a key nobody typed is 0, a pointer nowhere is outside.
    const OUTSIDE: [u8; 8] = [0xFF, 0xFF, 0xFF, 0x03, 0xFF, 0xFF, 0xFF, 0xFF];
    p2.round_trip("PC_KEY, no page", || {}, "t1", "PC_KEY", &[0, 0, 0, 0]);
    p2.round_trip("PC_MOUSE, no page", || {}, "b1", "PC_MOUSE", &OUTSIDE);

    let page = browser.open(&terminal.url).unwrap();
    page.wait_for(
        "window.sluicegate.displays.size === 3 && window.sluicegate.stats.frames >= 3",
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(
        page.evaluate("[...document.querySelectorAll('.panel .caption')].map((c) => c.textContent)")
            .unwrap(),
        serde_json::json!(["t1 - TERM", "b1 - BITMAP", "Quiet"]),
        "captioned `name - TYPE`, or by TITLE"
    );

    // Keys typed into the focused TERM panel, as PNut maps them.
    let click = |name: &str| {
        let (x, y) = at(&page, name, 2, 2);
        page.mouse("mousePressed", x, y, Button::Left).unwrap();
        page.mouse("mouseReleased", x, y, Button::Left).unwrap();
    };
    click("t1");
    for (key, code) in [
        ("a", 0x61u8),
        ("ArrowLeft", 1),
        ("PageDown", 12),
        ("Tab", 9),
        ("Z", 0x5A),
    ] {
        let type_key = || page.key(key).unwrap();
        p2.round_trip(key, type_key, "t1", "PC_KEY", &[code, 0, 0, 0]);
    }
    assert_eq!(
        page.evaluate("document.activeElement.dataset.name").unwrap(),
        "t1",
        "Tab is captured: the panel keeps the focus"
    );
    assert_eq!(p2.ask("t1", "PC_KEY", 4), [0, 0, 0, 0], "a key is read once");
    page.key("q").unwrap();
    std::thread::sleep(SETTLE);
    assert_eq!(p2.ask("b1", "PC_KEY", 4), [0, 0, 0, 0], "a key belongs to its panel");
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(
        p2.ask("t1", "PC_KEY", 4),
        [0, 0, 0, 0],
        "a key is latched for 100 ms only"
    );

    // TERM: the pointer in character cells.
    let size = page
        .evaluate(
            "(() => { const c = document.querySelector('canvas[data-name=\"t1\"]'); return [c.width, c.height]; })()",
        )
        .unwrap();
    let (width, height) = (size[0].as_u64().unwrap() as u32, size[1].as_u64().unwrap() as u32);
    // 12 × 3 cells of w × h with a margin of w / 2 all round.
    let cell_w = (1..64).find(|w| 12 * w + 2 * (w / 2) == width).expect("TERM width");
    let margin = cell_w / 2;
    let cell_h = (height - 2 * margin) / 3;
    let (x, y) = at(
        &page,
        "t1",
        margin + 2 * cell_w + cell_w / 2,
        margin + cell_h + cell_h / 2,
    );
    let to_cell = || page.mouse("mouseMoved", x, y, Button::None).unwrap();
    // Col 2, row 1 (A.0 and D6), over a black cell.
    p2.round_trip("TERM cell", to_cell, "t1", "PC_MOUSE", &[0x02, 0x20, 0, 0, 0, 0, 0, 0]);

    // BITMAP with DOTSIZE 8: logical pixels, y counted from the bottom (PNut's quirk), the pixel's colour.
    let (x, y) = at(&page, "b1", 8 * 5 + 3, 8 + 4);
    // Client y 12 of 32: (32 - 12) / 8 = 2 from the bottom; the pixel is logical (5, 1), index 13.
    let colour = (0x0A0B00u32 + 13).to_le_bytes();
    let expect = |wheel: u32, buttons: u32| [mouse_long(5, 2, wheel, buttons), colour].concat();
    let over = || page.mouse("mouseMoved", x, y, Button::None).unwrap();
    p2.round_trip("BITMAP pixel", over, "b1", "PC_MOUSE", &expect(0, 0));
    // PNut's read-out by the pointer: x,y in logical pixels, y from the top here; none with HIDEXY.
    let readout = |name: &str| {
        format!(
            "(() => {{ const r = document.querySelector('canvas[data-name=\"{name}\"]').parentElement\
             .querySelector('.readout'); return r.hidden ? null : r.textContent; }})()"
        )
    };
    page.wait_for(&format!("{} === '5,1'", readout("b1")), Duration::from_secs(2))
        .unwrap_or_else(|error| panic!("{error}: {}", page.evaluate(&readout("b1")).unwrap()));
    let (hx, hy) = at(&page, "h", 12, 12);
    page.mouse("mouseMoved", hx, hy, Button::None).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(page.evaluate(&readout("h")).unwrap(), serde_json::Value::Null, "HIDEXY");
    page.mouse("mouseMoved", x, y, Button::None).unwrap();
    let tab = &page;
    let press = |button| move || tab.mouse("mousePressed", x, y, button).unwrap();
    for (what, button, bits) in [
        ("left button, bit 28", Button::Left, 1),
        ("right button, bit 30", Button::Right, 4),
        ("middle button, bit 29", Button::Middle, 2),
    ] {
        p2.round_trip(what, press(button), "b1", "PC_MOUSE", &expect(0, bits));
        page.mouse("mouseReleased", x, y, button).unwrap();
    }
    let wheel = |up| move || tab.wheel(x, y, up).unwrap();
    p2.round_trip("a wheel step up", wheel(true), "b1", "PC_MOUSE", &expect(1, 0));
    assert_eq!(p2.ask("b1", "PC_MOUSE", 8), expect(0, 0), "a wheel step is read once");
    p2.round_trip("a wheel step down is -1", wheel(false), "b1", "PC_MOUSE", &expect(3, 0));
    let away = || page.mouse("mouseMoved", 5.0, 5.0, Button::None).unwrap();
    p2.round_trip("the pointer left", away, "b1", "PC_MOUSE", &OUTSIDE);

    // Typed text reaches the P2 byte-exact, with the CR of Enter.
    p2.drain();
    page.evaluate("document.getElementById('input').focus()").unwrap();
    // Key by key, as a keyboard types, then the rest as an input method inserts it.
    for key in ["4", "2", "a", " "] {
        page.key(key).unwrap();
    }
    let text = "hello Ω `42` \u{1F600}";
    page.insert_text(text).unwrap();
    page.key("Enter").unwrap();
    let expected = format!("42a {text}\r").into_bytes();
    assert_eq!(p2.read_for(expected.len(), Duration::from_secs(2)), expected);

    // Pause view: the page stops drawing while the P2 draws on; Resume shows where it is now.
    let click_button = |id: &str| {
        let centre = page
            .evaluate(&format!(
                "(() => {{ const r = document.getElementById('{id}').getBoundingClientRect(); \
                 return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
            ))
            .unwrap();
        let (x, y) = (centre[0].as_f64().unwrap(), centre[1].as_f64().unwrap());
        page.mouse("mousePressed", x, y, Button::Left).unwrap();
        page.mouse("mouseReleased", x, y, Button::Left).unwrap();
    };
    let before = canvas_rgba(&page, "b1");
    click_button("pause");
    page.wait_for("!document.getElementById('paused-tag').hidden", Duration::from_secs(2))
        .unwrap();
    std::thread::sleep(SETTLE);
    let red: Vec<&str> = vec!["$FF0000"; 32];
    p2.write(&format!("`b1 {}", red.join(" ")));
    std::thread::sleep(Duration::from_millis(300));
    assert!(canvas_rgba(&page, "b1") == before, "a paused view draws nothing");
    click_button("pause");
    let red_rgba = [255u8, 0, 0, 255].repeat(32);
    let deadline = Instant::now() + Duration::from_secs(5);
    while canvas_rgba(&page, "b1") != red_rgba {
        assert!(
            Instant::now() < deadline,
            "the resumed view shows the P2's latest picture"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Record / stop: a .sgrec in the terminal's directory that replays to what came meanwhile.
    click_button("record");
    page.wait_for("window.sluicegate.status.recording", Duration::from_secs(5))
        .unwrap();
    p2.write("recorded line");
    std::thread::sleep(Duration::from_millis(300));
    click_button("record");
    page.wait_for("!window.sluicegate.status.recording", Duration::from_secs(5))
        .unwrap();
    let recordings: Vec<_> = std::fs::read_dir(terminal.workdir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(recordings.len(), 1, "{recordings:?}");
    assert_eq!(recordings[0].extension().unwrap(), "sgrec");
    let replay = sluicegate()
        .args(["p2", "--replay", recordings[0].to_str().unwrap(), "--speed", "max"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&replay.stdout).contains("recorded line"),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );

    // Terminal text with PST control codes (docs/p2-protocol.md B.5) and COG lines in their colours.
    for line in [
        "Cog2  before",
        "\u{1}\u{2}\u{0}\u{1}P",
        "\u{10}AAAA",
        "BBBB\tT",
        "\u{1}C",
        "\u{2}\u{2}\u{1}D\u{b}",
        "Cog3  from cog 3",
    ] {
        p2.write(line);
    }
    page.wait_for(
        "[...document.querySelectorAll('#lines > div')].some((row) => row.textContent.startsWith('Cog3'))",
        Duration::from_secs(5),
    )
    .unwrap();
    let rows = page
        .evaluate(
            "[...document.querySelectorAll('#lines > div')].slice(-6).map((row) => [row.className, row.textContent])",
        )
        .unwrap();
    assert_eq!(
        rows,
        serde_json::json!([
            ["cog2", "Cog2  before"],
            ["text", ""],
            ["text", "P"],
            ["text", "CAAA"],
            ["text", "BBD"],
            ["cog3", "Cog3  from cog 3"]
        ]),
        "HOME and POS address a screen that starts below the log (never over it), CLS starts a new one, CLEOL \
         cuts, a COG line is coloured by its cog"
    );
    assert_eq!(
        page.evaluate("document.querySelector('#lines > div.cog3 .p').textContent")
            .unwrap(),
        "Cog3"
    );

    // The TERM's picture (mostly plain, so it travels in runs) and the BITMAP's, as the snapshots have them.
    terminal.signal("-USR1");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !["t1", "b1"]
        .iter()
        .all(|name| snapshots.path().join(format!("{name}.png")).exists())
    {
        assert!(Instant::now() < deadline, "no snapshots: {}", terminal.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_canvases_equal_snapshots(&page, snapshots.path(), &["t1", "b1"]);

    // Strangers are refused; the page works on.
    let (address, token) = address_and_token(&terminal.url);
    for (what, path, origin) in [
        (
            "a foreign origin",
            format!("/ws?token={token}"),
            "http://evil.example".to_owned(),
        ),
        ("no token", "/ws".to_owned(), format!("http://{address}")),
    ] {
        let status = upgrade_status(&address, &path, &origin);
        assert_eq!(status, 403, "{what}");
    }
    click("t1");
    p2.round_trip(
        "the page still works",
        || page.key("k").unwrap(),
        "t1",
        "PC_KEY",
        &[b'k', 0, 0, 0],
    );

    // The page closes: the defaults again.
    let (x, y) = at(&page, "b1", 3, 3);
    page.mouse("mouseMoved", x, y, Button::None).unwrap();
    std::thread::sleep(SETTLE);
    assert_ne!(p2.ask("b1", "PC_MOUSE", 8), OUTSIDE, "over the panel");
    page.close().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    p2.round_trip("no page, no pointer", || {}, "b1", "PC_MOUSE", &OUTSIDE);
    let (status, _, stderr) = terminal.interrupt();
    assert!(status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A small deterministic generator (xorshift64*), so that a failing case can be replayed.
struct Noise(u64);

impl Noise {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % u64::from(n)) as u32
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.below(256) as u8).collect()
    }
}

/// Runs `function` (JavaScript taking one array) in the page on `cases`, sent as JSON.
fn in_page(page: &Page<'_>, function: &str, cases: &serde_json::Value) -> Vec<serde_json::Value> {
    let value = page.evaluate(&format!("({function})({cases})")).unwrap();
    value.as_array().expect("an array back").clone()
}

/// The page's own decoder (`runs` and `drawFrame` in assets/app.js) against the server's encoder
/// (`wire::encode_frame`): every rectangle in runs decodes to exactly its pixels; and any bytes at all, or a
/// valid message cut or changed anywhere, give a whole rectangle or nothing, never an exception in the page. The
/// server here listens on every interface, which it warns about.
#[test]
fn the_page_decodes_what_the_server_encodes_and_survives_any_bytes() {
    use base64::Engine as _;
    use sluicegate_p2_live::{FrameUpdate, Rect};
    use sluicegate_p2_ui::wire::{FRAME_HEADER, FRAME_RUNS, encode_frame};
    let _one = exclusive();
    let Some(browser) = browser() else { return };
    let (master, path) = pty();
    let mut p2 = TestP2 { port: master };
    // On every interface (the page is browsed on loopback), with a warning.
    let terminal = Terminal::start_on(&["--port", &path], "0.0.0.0:0");
    assert!(
        terminal.stderr().contains("warning: the UI listens on 0.0.0.0:"),
        "{}",
        terminal.stderr()
    );
    assert!(terminal.url.starts_with("http://127.0.0.1:"), "{}", terminal.url);
    std::thread::sleep(Duration::from_millis(200));
    p2.write("`bitmap g size 16 16");
    let page = browser.open(&terminal.url).unwrap();
    page.wait_for("window.sluicegate.displays.size === 1", Duration::from_secs(10))
        .unwrap();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);

    // Plots on plain backgrounds, a few colours in runs of any length, noise, and the three mixed.
    let mut noise = Noise(0x5EED_0F5E_ED00);
    let (mut cases, mut expected) = (Vec::new(), Vec::new());
    let mut messages = Vec::new();
    while cases.len() < 150 {
        let (width, height) = (1 + noise.below(60), 1 + noise.below(30));
        let palette: Vec<[u8; 4]> = (0..1 + noise.below(4))
            .map(|_| {
                [
                    noise.below(256) as u8,
                    noise.below(256) as u8,
                    noise.below(256) as u8,
                    255,
                ]
            })
            .collect();
        let mut rgba = Vec::new();
        while rgba.len() < (width * height * 4) as usize {
            let longest = if noise.below(4) == 0 { 2000 } else { 12 };
            let run = 1 + noise.below(longest);
            let noisy = noise.below(5) == 0;
            let colour = palette[noise.below(palette.len() as u32) as usize];
            for _ in 0..run {
                let pixel = if noisy {
                    [noise.below(256) as u8, 7, 9, 255]
                } else {
                    colour
                };
                rgba.extend_from_slice(&pixel);
            }
        }
        rgba.truncate((width * height * 4) as usize);
        let frame = FrameUpdate {
            display: 1,
            rect: Rect::new(0, 0, width, height),
            rgba,
        };
        let mut out = Vec::new();
        encode_frame(&frame, &mut out);
        messages.push(out.clone());
        if out[0] == FRAME_RUNS {
            cases.push(serde_json::json!([b64(&out[FRAME_HEADER..]), width * height]));
            expected.push(frame.rgba);
        }
    }
    let decoded = in_page(
        &page,
        "(cases) => cases.map(([text, count]) => { \
           const out = runs(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)), count); if (!out) return null; \
           let s = ''; for (let i = 0; i < out.length; i += 8192) s += String.fromCharCode.apply(null, out.subarray(i, i + 8192)); \
           return btoa(s); })",
        &serde_json::Value::from(cases),
    );
    for (index, (got, want)) in decoded.iter().zip(&expected).enumerate() {
        let got = base64::engine::general_purpose::STANDARD
            .decode(
                got.as_str()
                    .unwrap_or_else(|| panic!("case {index}: the page refused it")),
            )
            .unwrap();
        assert!(got == *want, "case {index}: the page decoded other pixels");
    }

    // Garbage: random bytes, and the messages above cut short or with a byte changed, to `runs` (any count)
    // and to `drawFrame` aimed at the open BITMAP.
    let id = page.evaluate("[...window.sluicegate.displays.keys()][0]").unwrap();
    let id = u32::try_from(id.as_u64().unwrap()).unwrap().to_le_bytes();
    let mut garbage = Vec::new();
    for message in &messages {
        let mut broken = message.clone();
        broken[4..8].copy_from_slice(&id);
        match noise.below(3) {
            0 => broken.truncate(noise.below(broken.len() as u32) as usize),
            1 => {
                let at = noise.below(broken.len() as u32) as usize;
                broken[at] = noise.below(256) as u8;
            }
            _ => {
                let len = noise.below(300) as usize;
                broken = noise.bytes(len);
            }
        }
        garbage.push(serde_json::json!([b64(&broken), noise.below(80)]));
    }
    let results = in_page(
        &page,
        "(cases) => cases.map(([text, count]) => { \
           const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0)); \
           try { drawFrame(bytes.slice().buffer); const out = runs(bytes.subarray(16), count); \
                 return out === null ? -1 : out.length / 4 === count ? 1 : 'wrong length'; } \
           catch (error) { return String(error); } })",
        &serde_json::Value::from(garbage.clone()),
    );
    assert_eq!(results.len(), garbage.len());
    for (index, result) in results.iter().enumerate() {
        assert!(
            result == &serde_json::json!(-1) || result == &serde_json::json!(1),
            "garbage case {index} ({}): {result}",
            garbage[index]
        );
    }
    assert!(
        results
            .iter()
            .filter(|result| **result == serde_json::json!(-1))
            .count()
            > 50,
        "the garbage was refused, not all decoded"
    );
    page.wait_for("window.sluicegate.socket !== null", Duration::from_secs(1))
        .unwrap();
    let (status, _, stderr) = terminal.interrupt();
    assert!(status.success(), "{stderr}");
}

/// The HTTP status of a WebSocket upgrade to the terminal's server.
fn upgrade_status(address: &str, path: &str, origin: &str) -> u16 {
    upgrade(address, path, origin).0
}

/// A WebSocket upgrade to the terminal's server: its HTTP status, and the connection (of which only the status
/// line has been read).
fn upgrade(address: &str, path: &str, origin: &str) -> (u16, std::net::TcpStream) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nOrigin: {origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    (String::from_utf8_lossy(&head[9..12]).parse().unwrap(), stream)
}

/// The terminal's `host:port` and token, from its printed URL.
fn address_and_token(url: &str) -> (String, String) {
    let address = url.trim_start_matches("http://").split('/').next().unwrap();
    (address.to_owned(), url.split_once("#token=").unwrap().1.to_owned())
}
