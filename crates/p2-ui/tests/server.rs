//! The server over real sockets: what it serves, and whom it refuses (DNS rebinding, cross-site WebSocket
//! hijacking, a missing or wrong token, oversized messages, too many pages), without a browser.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use sluicegate_p2::Router;
use sluicegate_p2::io::{Pipeline, PipelineConfig, Recorder, SourceSpec, Speed};
use sluicegate_p2_live::{Session, SessionConfig};
use sluicegate_p2_ui::{PAGES_MAX, UiConfig, UiServer, parse_address};

/// A finished session on a short replay, served on a free loopback port.
struct Served {
    server: UiServer,
    _session: Session,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start() -> Served {
        let dir = tempfile::tempdir().unwrap();
        let capture = dir.path().join("capture.bin");
        std::fs::write(&capture, b"Cog0  hello\r\n`bitmap b size 4 4 rgb24\r\n`b $FF0000\r\n").unwrap();
        let spec = SourceSpec::Replay {
            path: capture,
            speed: Speed::Max,
        };
        let opened = spec.open().unwrap();
        let recorder = Recorder::new();
        let pipeline = Pipeline::start(opened.source, PipelineConfig::default(), Some(recorder.tap())).unwrap();
        let mut session = Session::start(
            SessionConfig::new(spec).terminal_text(true),
            opened.transmitter,
            recorder,
            pipeline.monitor(),
        )
        .unwrap();
        let feed = session.take_feed().unwrap();
        let subscription = feed.subscription();
        let mut router = Router::new();
        router.add_destination(feed, subscription).unwrap();
        while let Some(emitted) = pipeline.outputs().recv() {
            router.route(&emitted.output);
        }
        router.flush();
        drop(router);
        pipeline.finish().unwrap();
        let server = UiServer::start(UiConfig::new(parse_address(":0").unwrap()), session.handle()).unwrap();
        Served {
            server,
            _session: session,
            _dir: dir,
        }
    }

    fn address(&self) -> SocketAddr {
        self.server.address()
    }

    fn token(&self) -> String {
        self.server.url().split_once("#token=").unwrap().1.to_owned()
    }

    /// A WebSocket handshake with these headers; the response's status and head.
    fn upgrade(&self, path: &str, host: &str, origin: Option<&str>) -> (u16, String) {
        let origin = origin.map(|origin| format!("Origin: {origin}\r\n")).unwrap_or_default();
        request(
            self.address(),
            &format!(
                "GET {path} HTTP/1.1\r\nHost: {host}\r\n{origin}Connection: Upgrade\r\nUpgrade: websocket\r\n\
                 Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            ),
        )
    }
}

/// Sends `text` and reads the response's head (and what came with it).
fn request(address: SocketAddr, text: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(text.as_bytes()).unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(len) => response.extend_from_slice(&buf[..len]),
        }
    }
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, response)
}

#[test]
fn the_page_s_own_websocket_is_accepted_and_every_stranger_refused() {
    let served = Served::start();
    let port = served.address().port();
    let host = format!("127.0.0.1:{port}");
    let origin = format!("http://{host}");
    let path = format!("/ws?token={}", served.token());

    assert_eq!(served.upgrade(&path, &host, Some(&origin)).0, 101, "the page itself");
    let localhost = format!("localhost:{port}");
    assert_eq!(
        served
            .upgrade(&path, &localhost, Some(&format!("http://{localhost}")))
            .0,
        101,
        "the same page as localhost"
    );

    let refused = [
        (
            "a foreign site",
            path.clone(),
            host.clone(),
            Some("http://evil.example".to_owned()),
        ),
        (
            "another local port",
            path.clone(),
            host.clone(),
            Some(format!("http://127.0.0.1:{}", port + 1)),
        ),
        ("https", path.clone(), host.clone(), Some(format!("https://{host}"))),
        ("no Origin", path.clone(), host.clone(), None),
        (
            "a null Origin (a sandboxed frame)",
            path.clone(),
            host.clone(),
            Some("null".to_owned()),
        ),
        ("no token", "/ws".to_owned(), host.clone(), Some(origin.clone())),
        (
            "a wrong token",
            "/ws?token=00000000000000000000000000000000".to_owned(),
            host.clone(),
            Some(origin.clone()),
        ),
        (
            "a token given twice",
            format!("{path}&token=x"),
            host.clone(),
            Some(origin.clone()),
        ),
        (
            "DNS rebinding: the site's own name resolved to 127.0.0.1",
            path.clone(),
            format!("evil.example:{port}"),
            Some(format!("http://evil.example:{port}")),
        ),
    ];
    for (what, path, host, origin) in refused {
        let (status, response) = served.upgrade(&path, &host, origin.as_deref());
        assert_eq!(status, 403, "{what}: {response}");
        assert!(!response.contains("Sec-WebSocket-Accept"), "{what}");
    }
    assert_eq!(
        served.upgrade(&path, &host, Some(&origin)).0,
        101,
        "refusals leave the server working"
    );
}

#[test]
fn only_the_embedded_files_are_served_to_this_host() {
    let served = Served::start();
    let host = format!("127.0.0.1:{}", served.address().port());
    let get = |path: &str, host: &str| {
        request(
            served.address(),
            &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
    };
    let (status, page) = get("/", &host);
    assert_eq!(status, 200);
    assert!(page.contains("content-type: text/html"), "{page}");
    assert!(page.contains("content-security-policy: default-src 'none'"), "{page}");
    assert!(page.contains("x-frame-options: DENY"), "{page}");
    assert!(!page.contains(&served.token()), "the token is never in what is served");
    for (path, kind) in [
        ("/app.js", "text/javascript"),
        ("/style.css", "text/css"),
        ("/favicon.svg", "image/svg+xml"),
    ] {
        let (status, head) = get(path, &host);
        assert_eq!(status, 200, "{path}");
        assert!(head.contains(kind), "{path}: {head}");
    }
    for path in [
        "/../Cargo.toml",
        "/etc/passwd",
        "/assets/app.js",
        "/%2e%2e/Cargo.toml",
        "/index.html",
    ] {
        assert_eq!(get(path, &host).0, 404, "{path}");
    }
    assert_eq!(get("/", "evil.example").0, 403, "a rebound name gets nothing");
    assert_eq!(get("/app.js", "").0, 403);
    let (status, _) = request(
        served.address(),
        &format!("POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"),
    );
    assert_eq!(status, 405);
}

#[test]
fn oversized_page_messages_close_the_socket_and_pages_are_limited() {
    let served = Served::start();
    let port = served.address().port();
    let connect = || {
        let stream = TcpStream::connect(served.address()).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let request = tungstenite::http::Request::builder()
            .uri(format!("ws://127.0.0.1:{port}/ws?token={}", served.token()))
            .header("Host", format!("127.0.0.1:{port}"))
            .header("Origin", format!("http://127.0.0.1:{port}"))
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", tungstenite::handshake::client::generate_key())
            .body(())
            .unwrap();
        tungstenite::client(request, stream)
            .map(|(socket, _)| socket)
            .map_err(|error| error.to_string())
    };

    let mut socket = connect().expect("the page's handshake");
    let first = socket.read().unwrap();
    let update: serde_json::Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(update["t"], "update", "a new page first gets the whole state");
    socket
        .send(tungstenite::Message::text(format!(
            r#"{{"t":"send","text":"{}"}}"#,
            "x".repeat(5000)
        )))
        .unwrap();
    let closed = (0..50).any(|_| socket.read().is_err());
    assert!(closed, "a message over the limit ends the connection");
    std::thread::sleep(Duration::from_millis(100));

    let mut pages: Vec<_> = (0..PAGES_MAX).map(|_| connect().expect("within the limit")).collect();
    assert!(connect().is_err(), "one page more than {PAGES_MAX} is refused");
    pages.pop();
    drop(pages);
}
