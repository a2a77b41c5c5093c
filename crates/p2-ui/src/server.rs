//! The HTTP side: one thread with a single-threaded tokio runtime, serving the embedded page to anyone who
//! names this host, and the WebSocket to a page that also shows the right `Origin` and the run's token.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::serve::ListenerExt as _;
use sluicegate_p2_live::LiveHandle;
use tokio::sync::watch;

use crate::assets;
use crate::page;
use crate::security::{self, Token};
use crate::wire::MESSAGE_MAX;

/// Where the server listens unless told otherwise.
pub const DEFAULT_ADDRESS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7022);

/// Pages open at once, at most; more are refused with 503.
pub const PAGES_MAX: usize = 16;

/// How long pages get to close when the server stops.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

/// What the server needs besides the live session.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UiConfig {
    /// Where to listen ([`DEFAULT_ADDRESS`]; port 0 picks a free one).
    pub address: SocketAddr,
    /// Where the page's Record button writes its `.sgrec` files.
    pub recordings: PathBuf,
}

impl UiConfig {
    /// Listening on `address`, recordings into the current directory.
    pub fn new(address: SocketAddr) -> Self {
        Self {
            address,
            recordings: PathBuf::from("."),
        }
    }

    /// Recordings into `dir`.
    #[must_use]
    pub fn recordings(mut self, dir: PathBuf) -> Self {
        self.recordings = dir;
        self
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UiError {
    /// The address is taken, or not this machine's.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// No random token could be made.
    #[error("no random token: {0}")]
    Random(getrandom::Error),
    /// The thread or runtime could not start.
    #[error("cannot start the UI server: {0}")]
    Start(std::io::Error),
}

/// An address the user typed for `--ui` that is not one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{text:?} is not an address to listen on: {reason} (examples: 127.0.0.1:7022, :0, 0.0.0.0:8080)")]
pub struct AddressError {
    text: String,
    reason: &'static str,
}

/// Parses `--ui`'s ADDR: `HOST:PORT`, `:PORT` or `PORT` alone (on 127.0.0.1), `[v6]:PORT`; HOST may be a name
/// (`localhost`), resolved once.
///
/// # Errors
/// [`AddressError`] naming what is wrong.
///
/// # Examples
/// ```
/// use sluicegate_p2_ui::parse_address;
///
/// assert_eq!(parse_address(":0").unwrap(), "127.0.0.1:0".parse().unwrap());
/// assert_eq!(parse_address("0.0.0.0:8080").unwrap(), "0.0.0.0:8080".parse().unwrap());
/// assert!(parse_address("127.0.0.1").is_err());
/// ```
pub fn parse_address(text: &str) -> Result<SocketAddr, AddressError> {
    let error = |reason| AddressError {
        text: text.to_owned(),
        reason,
    };
    let port_only = text.strip_prefix(':').unwrap_or(text);
    if !port_only.is_empty() && port_only.bytes().all(|byte| byte.is_ascii_digit()) {
        let port = port_only.parse().map_err(|_| error("the port is past 65535"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    let Some((_, port)) = text.rsplit_once(':') else {
        return Err(error("it has no port"));
    };
    if port.parse::<u16>().is_err() {
        return Err(error("the port is not a number up to 65535"));
    }
    text.to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .ok_or_else(|| error("the host name does not resolve"))
}

/// The running server. Dropping it (or [`stop`](Self::stop)) closes every page and ends the thread.
#[derive(Debug)]
pub struct UiServer {
    address: SocketAddr,
    url: String,
    closing: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) handle: LiveHandle,
    token: Token,
    bound: SocketAddr,
    pages: AtomicUsize,
    pub(crate) closing: watch::Receiver<bool>,
    pub(crate) recordings: PathBuf,
}

impl UiServer {
    /// Listens on `config.address` and serves `handle`'s session from a thread of its own.
    ///
    /// # Errors
    /// [`UiError::Bind`] if the address cannot be listened on; the others if the system refuses a thread or
    /// random bytes.
    pub fn start(config: UiConfig, handle: LiveHandle) -> Result<UiServer, UiError> {
        let bind = |source| UiError::Bind {
            address: config.address,
            source,
        };
        let listener = std::net::TcpListener::bind(config.address).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let address = listener.local_addr().map_err(bind)?;
        let token = Token::generate().map_err(UiError::Random)?;
        let url = format!("http://{}/#token={}", browsable(address), token.as_str());
        let (closing, closing_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            handle,
            token,
            bound: address,
            pages: AtomicUsize::new(0),
            closing: closing_rx,
            recordings: config.recordings,
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(UiError::Start)?;
        let thread = std::thread::Builder::new()
            .name("p2-ui".into())
            .spawn(move || runtime.block_on(serve(listener, shared)))
            .map_err(UiError::Start)?;
        Ok(UiServer {
            address,
            url,
            closing,
            thread: Some(thread),
        })
    }

    /// The page's URL, with the token in its fragment (never sent in an HTTP request, never in a `Referer`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address listened on (the port chosen, for port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Whether only this machine can reach it.
    pub fn is_loopback(&self) -> bool {
        self.address.ip().is_loopback()
    }

    /// Closes every page and ends the server's thread.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let _ = self.closing.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for UiServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The address as a browser can use it: all-interfaces addresses become loopback.
fn browsable(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), address.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), address.port()),
        _ => address,
    }
}

async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let mut closing = shared.closing.clone();
    let app = Router::new()
        .route("/ws", any(websocket))
        .fallback(asset)
        .with_state(Arc::clone(&shared));
    let mut stopped = closing.clone();
    // Small updates go out at once: with Nagle's algorithm a second small write waits for the browser's delayed
    // ACK, which put up to 40 ms on the p99 of arrival → pixels (BENCHMARKS.md, p2 browser UI).
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stopped.wait_for(|closing| *closing).await;
    });
    tokio::select! {
        _ = server => {}
        () = async {
            let _ = closing.wait_for(|closing| *closing).await;
            tokio::time::sleep(CLOSE_GRACE).await;
        } => {}
    }
}

/// Headers every response carries: nothing is cached, framed, sniffed or referred, and the page may only load
/// its own files and talk to its own server.
fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn refused(status: StatusCode, why: &'static str) -> Response {
    secured((status, why).into_response())
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// `GET` of an embedded file; anything else is refused.
async fn asset(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if !security::host_allowed(header_str(&headers, header::HOST), shared.bound) {
        return refused(StatusCode::FORBIDDEN, "unknown host\n");
    }
    if method != Method::GET && method != Method::HEAD {
        return refused(StatusCode::METHOD_NOT_ALLOWED, "only GET\n");
    }
    match assets::find(uri.path()) {
        Some(asset) => secured(([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()),
        None => refused(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// The live stream: only for the page this server served (Host, Origin) holding this run's token.
async fn websocket(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let host = header_str(&headers, header::HOST);
    if !security::host_allowed(host, shared.bound) {
        return refused(StatusCode::FORBIDDEN, "unknown host\n");
    }
    if !security::origin_allowed(header_str(&headers, header::ORIGIN), host.unwrap_or_default()) {
        return refused(StatusCode::FORBIDDEN, "foreign origin\n");
    }
    if !security::query_token(uri.query()).is_some_and(|token| shared.token.matches(token)) {
        return refused(StatusCode::FORBIDDEN, "missing or wrong token\n");
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return secured(rejection.into_response()),
    };
    if shared.pages.fetch_add(1, Ordering::AcqRel) >= PAGES_MAX {
        shared.pages.fetch_sub(1, Ordering::AcqRel);
        return refused(StatusCode::SERVICE_UNAVAILABLE, "too many pages open\n");
    }
    let page_shared = Arc::clone(&shared);
    upgrade
        .max_message_size(MESSAGE_MAX)
        .max_frame_size(MESSAGE_MAX)
        .on_failed_upgrade({
            let shared = Arc::clone(&shared);
            move |_| {
                shared.pages.fetch_sub(1, Ordering::AcqRel);
            }
        })
        .on_upgrade(move |socket| async move {
            page::serve(socket, &page_shared).await;
            page_shared.pages.fetch_sub(1, Ordering::AcqRel);
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_users_type_them() {
        let local = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        assert_eq!(parse_address(":0"), Ok(local(0)));
        assert_eq!(parse_address("8080"), Ok(local(8080)));
        assert_eq!(parse_address("[::1]:7022"), Ok("[::1]:7022".parse().unwrap()));
        assert_eq!(parse_address("localhost:7022").map(|a| a.port()), Ok(7022));
        for bad in ["", ":", "70000", "127.0.0.1", "127.0.0.1:x", "host:99999"] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_all_interfaces_address_is_browsed_on_loopback() {
        assert_eq!(browsable("0.0.0.0:5".parse().unwrap()), "127.0.0.1:5".parse().unwrap());
        assert_eq!(browsable("[::]:5".parse().unwrap()), "[::1]:5".parse().unwrap());
        assert_eq!(browsable("10.0.0.1:5".parse().unwrap()), "10.0.0.1:5".parse().unwrap());
    }
}
