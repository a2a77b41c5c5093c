//! What the rlnc CLI tests share: reading the receiver's `listening on` line.

use std::io::{BufRead, BufReader, Lines};
use std::net::SocketAddr;
use std::process::ChildStderr;

/// Reads `listening on ADDRESS`, the first line `rlnc recv` prints on
/// stderr once bound; returns the address and the lines after it.
pub fn listening_on(stderr: ChildStderr) -> (SocketAddr, Lines<BufReader<ChildStderr>>) {
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().expect("a line on stderr").unwrap();
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("not a listening line: {first}"))
        .parse()
        .unwrap();
    (addr, lines)
}
