//! `--ui [ADDR]`: the browser page of the live session (crate `sluicegate-p2-ui`), its URL on stderr, and the
//! wait after a finite input ends.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use sluicegate_p2_live::LiveHandle;
use sluicegate_p2_ui::{UiConfig, UiError, UiServer};

use crate::exit::Failure;

/// `--ui`'s value: an address as `sluicegate_p2_ui::parse_address` reads it.
pub fn parse_address(text: &str) -> Result<SocketAddr, String> {
    sluicegate_p2_ui::parse_address(text).map_err(|error| error.to_string())
}

/// Starts the page's server for `handle` on `address` and prints `ui: URL` on stderr (with a warning when the
/// address is reachable from other machines).
pub fn start(address: SocketAddr, handle: LiveHandle) -> Result<UiServer, Failure> {
    // An address that is taken or not this machine's cannot be used, like a busy serial port.
    let server = UiServer::start(UiConfig::new(address), handle).map_err(|error| match error {
        UiError::Bind { .. } => Failure::device(error),
        _ => Failure::runtime(error),
    })?;
    let mut stderr = std::io::stderr().lock();
    if !server.is_loopback() {
        let _ = writeln!(
            stderr,
            "sluicegate p2: warning: the UI listens on {}, reachable from other machines: whoever has the URL \
             below can type into the P2 and reset it (the default, 127.0.0.1, is this machine only; use an SSH \
             forward to reach it from elsewhere)",
            server.address()
        );
    }
    let _ = writeln!(stderr, "ui: {}", server.url());
    Ok(server)
}

/// After a finite input (a replay, stdin, a simulator run) ended: the page stays served until Ctrl-C or
/// SIGTERM; `report` runs on each SIGUSR1 meanwhile.
pub fn linger(server: &UiServer, stop_requested: impl Fn() -> bool, mut report: impl FnMut()) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "sluicegate p2: the input has ended; the page stays at {} until Ctrl-C",
        server.url()
    );
    while !stop_requested() {
        report();
        std::thread::sleep(Duration::from_millis(50));
    }
}
