//! A small, blocking Chrome DevTools Protocol client for a real headless Chromium (Debian's `chromium`): what
//! the browser tests, the benchmark and the screenshot tool drive the page with. Feature `devtools`; nothing
//! is downloaded: the browser must be installed (`scripts/install-deps.sh` installs it).
//!
//! # Examples
//! ```no_run
//! use sluicegate_p2_ui::devtools::Browser;
//!
//! let browser = Browser::launch(1280, 800)?;
//! let page = browser.open("http://127.0.0.1:7022/#token=…")?;
//! page.wait_for("document.readyState === 'complete'", std::time::Duration::from_secs(5))?;
//! let title = page.evaluate("document.title")?;
//! # Ok::<(), sluicegate_p2_ui::devtools::DevtoolsError>(())
//! ```

use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// The flags every launch uses: headless, no sandbox (containers), and nothing that reaches the network.
pub const FLAGS: [&str; 11] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
];

/// How long a DevTools call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What went wrong with the browser.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevtoolsError {
    /// No Chromium found (`SLUICEGATE_CHROMIUM`, `chromium`, `chromium-browser`, `google-chrome`).
    #[error("no Chromium found: install Debian's chromium (scripts/install-deps.sh) or set SLUICEGATE_CHROMIUM")]
    NoBrowser,
    /// Starting or talking to the browser failed.
    #[error("browser: {0}")]
    Io(#[from] std::io::Error),
    /// The DevTools socket failed.
    #[error("DevTools socket: {0}")]
    Socket(#[from] Box<tungstenite::Error>),
    /// The browser answered a call with an error, or the page's script threw.
    #[error("{method}: {message}")]
    Call {
        /// The DevTools method.
        method: String,
        /// What the browser said.
        message: String,
    },
    /// A condition did not come true in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
}

impl From<tungstenite::Error> for DevtoolsError {
    fn from(error: tungstenite::Error) -> Self {
        DevtoolsError::Socket(Box::new(error))
    }
}

/// The browser binary: `SLUICEGATE_CHROMIUM`, else the first of `chromium`, `chromium-browser`, `google-chrome`
/// on the `PATH`.
pub fn find_browser() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SLUICEGATE_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A headless Chromium with a fresh profile, killed when dropped.
#[derive(Debug)]
pub struct Browser {
    child: Child,
    connection: RefCell<Connection>,
    size: (u32, u32),
    _profile: tempfile::TempDir,
}

#[derive(Debug)]
struct Connection {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Browser {
    /// Starts a headless Chromium whose pages are `width` × `height` CSS pixels.
    ///
    /// # Errors
    /// [`DevtoolsError::NoBrowser`] if none is installed; the others if it does not start or answer.
    pub fn launch(width: u32, height: u32) -> Result<Browser, DevtoolsError> {
        let binary = find_browser().ok_or(DevtoolsError::NoBrowser)?;
        let profile = tempfile::tempdir()?;
        let mut child = Command::new(binary)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--window-size={width},{height}"))
            .arg("--remote-debugging-port=0")
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (found, endpoint) = mpsc::channel();
        // Reads the endpoint, then keeps draining the browser's stderr so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = found.send(url.trim().to_owned());
                }
            }
        });
        let url = match endpoint.recv_timeout(CALL_TIMEOUT) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(DevtoolsError::Timeout(CALL_TIMEOUT, "the DevTools endpoint".into()));
            }
        };
        let (socket, _) = tungstenite::connect(url.as_str())?;
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream.set_read_timeout(Some(CALL_TIMEOUT))?;
        }
        Ok(Browser {
            child,
            connection: RefCell::new(Connection { socket, next_id: 0 }),
            size: (width, height),
            _profile: profile,
        })
    }

    /// Opens `url` in a new tab and waits until it has loaded.
    ///
    /// # Errors
    /// The browser refused or did not load it in time.
    pub fn open(&self, url: &str) -> Result<Page<'_>, DevtoolsError> {
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" }))?;
        let target = target["targetId"].as_str().unwrap_or_default().to_owned();
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        )?;
        let page = Page {
            browser: self,
            session: attached["sessionId"].as_str().unwrap_or_default().to_owned(),
            target,
        };
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": self.size.0, "height": self.size.1, "deviceScaleFactor": 1, "mobile": false }),
        )?;
        page.call("Page.navigate", json!({ "url": url }))?;
        page.wait_for(
            &format!("location.href === {} && document.readyState === 'complete'", json!(url)),
            CALL_TIMEOUT,
        )?;
        Ok(page)
    }

    fn call(&self, session: Option<&str>, method: &str, params: Value) -> Result<Value, DevtoolsError> {
        self.connection.borrow_mut().call(session, method, params)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Connection {
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value, DevtoolsError> {
        self.next_id += 1;
        let id = self.next_id;
        let mut request = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            request["sessionId"] = json!(session);
        }
        self.socket.send(Message::text(request.to_string()))?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            if Instant::now() > deadline {
                return Err(DevtoolsError::Timeout(CALL_TIMEOUT, method.to_owned()));
            }
            let Message::Text(text) = self.socket.read()? else {
                continue;
            };
            let Ok(reply) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if reply["id"].as_u64() != Some(id) {
                continue;
            }
            if let Some(error) = reply.get("error") {
                return Err(DevtoolsError::Call {
                    method: method.to_owned(),
                    message: error.to_string(),
                });
            }
            return Ok(reply["result"].clone());
        }
    }
}

/// A tab of the [`Browser`].
#[derive(Debug)]
pub struct Page<'b> {
    browser: &'b Browser,
    session: String,
    target: String,
}

/// A mouse button for [`Page::mouse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Button {
    /// No button (a move).
    None,
    /// The left button.
    Left,
    /// The right button.
    Right,
    /// The middle button.
    Middle,
}

impl Button {
    fn name(self) -> &'static str {
        match self {
            Button::None => "none",
            Button::Left => "left",
            Button::Right => "right",
            Button::Middle => "middle",
        }
    }

    fn bits(self) -> u8 {
        match self {
            Button::None => 0,
            Button::Left => 1,
            Button::Right => 2,
            Button::Middle => 4,
        }
    }
}

impl Page<'_> {
    /// Calls a DevTools method on this tab.
    ///
    /// # Errors
    /// The browser's error.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, DevtoolsError> {
        self.browser.call(Some(&self.session), method, params)
    }

    /// The value of a JavaScript expression (promises awaited), as JSON.
    ///
    /// # Errors
    /// [`DevtoolsError::Call`] with the exception if the script throws.
    pub fn evaluate(&self, expression: &str) -> Result<Value, DevtoolsError> {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        )?;
        if let Some(exception) = result.get("exceptionDetails") {
            return Err(DevtoolsError::Call {
                method: "Runtime.evaluate".into(),
                message: exception["exception"]["description"]
                    .as_str()
                    .map_or_else(|| exception.to_string(), str::to_owned),
            });
        }
        Ok(result["result"]["value"].clone())
    }

    /// Waits until `condition` (JavaScript) is true, polling every 10 ms.
    ///
    /// # Errors
    /// [`DevtoolsError::Timeout`] naming the condition.
    pub fn wait_for(&self, condition: &str, timeout: Duration) -> Result<(), DevtoolsError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.evaluate(&format!("Boolean({condition})"))? == json!(true) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(DevtoolsError::Timeout(timeout, condition.to_owned()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Presses and releases a key, as typed on a keyboard: a character (`"a"`) or a `KeyboardEvent.key` name
    /// (`"ArrowLeft"`, `"Enter"`, `"Tab"`…), into whatever has the focus.
    ///
    /// # Errors
    /// The browser's error.
    pub fn key(&self, key: &str) -> Result<(), DevtoolsError> {
        let (code, virtual_key, text) = key_codes(key);
        let down = if text.is_empty() { "rawKeyDown" } else { "keyDown" };
        self.call(
            "Input.dispatchKeyEvent",
            json!({ "type": down, "key": key, "code": code, "windowsVirtualKeyCode": virtual_key, "text": text }),
        )?;
        self.call(
            "Input.dispatchKeyEvent",
            json!({ "type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": virtual_key }),
        )?;
        Ok(())
    }

    /// Types `text` into whatever has the focus (an input field), as an input method would.
    ///
    /// # Errors
    /// The browser's error.
    pub fn insert_text(&self, text: &str) -> Result<(), DevtoolsError> {
        self.call("Input.insertText", json!({ "text": text }))?;
        Ok(())
    }

    /// A mouse event at page position `(x, y)` (CSS pixels): `"mouseMoved"`, `"mousePressed"`,
    /// `"mouseReleased"`, with `button` (pressed, released, or held while moving).
    ///
    /// # Errors
    /// The browser's error.
    pub fn mouse(&self, kind: &str, x: f64, y: f64, button: Button) -> Result<(), DevtoolsError> {
        let click = if kind == "mouseMoved" { 0 } else { 1 };
        self.call(
            "Input.dispatchMouseEvent",
            json!({ "type": kind, "x": x, "y": y, "button": button.name(), "buttons": button.bits(), "clickCount": click }),
        )?;
        Ok(())
    }

    /// One wheel step at `(x, y)`: `up` away from the user.
    ///
    /// # Errors
    /// The browser's error.
    pub fn wheel(&self, x: f64, y: f64, up: bool) -> Result<(), DevtoolsError> {
        self.call(
            "Input.dispatchMouseEvent",
            json!({ "type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": if up { -100 } else { 100 } }),
        )?;
        Ok(())
    }

    /// A PNG of what the tab shows.
    ///
    /// # Errors
    /// The browser's error, or a reply that is not base64.
    pub fn screenshot(&self) -> Result<Vec<u8>, DevtoolsError> {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }))?;
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or_default())
            .map_err(|error| DevtoolsError::Call {
                method: "Page.captureScreenshot".into(),
                message: error.to_string(),
            })
    }

    /// Closes the tab (its WebSocket closes with it).
    ///
    /// # Errors
    /// The browser's error.
    pub fn close(self) -> Result<(), DevtoolsError> {
        self.browser
            .call(None, "Target.closeTarget", json!({ "targetId": self.target }))?;
        Ok(())
    }
}

/// `code`, Windows virtual key code and text of a key, as a US keyboard types it.
fn key_codes(key: &str) -> (String, u32, String) {
    let named = [
        ("ArrowLeft", 37),
        ("ArrowUp", 38),
        ("ArrowRight", 39),
        ("ArrowDown", 40),
        ("Home", 36),
        ("End", 35),
        ("PageUp", 33),
        ("PageDown", 34),
        ("Insert", 45),
        ("Delete", 46),
        ("Tab", 9),
        ("Backspace", 8),
        ("Escape", 27),
    ];
    if let Some((name, code)) = named.iter().find(|(name, _)| *name == key) {
        return ((*name).to_owned(), *code, String::new());
    }
    if key == "Enter" {
        return ("Enter".into(), 13, "\r".into());
    }
    let c = key.chars().next().unwrap_or(' ');
    let (code, virtual_key) = if c.is_ascii_alphabetic() {
        (
            format!("Key{}", c.to_ascii_uppercase()),
            u32::from(c.to_ascii_uppercase()),
        )
    } else if c.is_ascii_digit() {
        (format!("Digit{c}"), u32::from(c))
    } else {
        (String::new(), 0)
    };
    (code, virtual_key, key.to_owned())
}
