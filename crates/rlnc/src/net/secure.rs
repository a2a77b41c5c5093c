//! The secure connection at the socket edge: randomness from the operating
//! system, the handshake run on a socket before a transfer loop starts, and
//! the two calls a loop makes per datagram: [`seal_into`] on the way out,
//! [`open`] on the way in.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::NetError;
use crate::secure::{Code, Connection, HandshakeConfig, HandshakeError, Received, Secret};

/// Whether and how a side secures its datagrams.
#[derive(Clone, Copy, Debug)]
pub enum Security {
    /// In the clear, unauthenticated (`--insecure`, for benchmarks).
    Insecure,
    /// Sealed with keys agreed from this secret.
    Secret(Secret),
}

impl Security {
    /// The connection of one side, started at `now`, with fresh OS randomness.
    ///
    /// # Errors
    /// The OS random generator failed.
    pub fn connect(&self, initiator: bool, config: HandshakeConfig, now: Duration) -> io::Result<Connection> {
        let Security::Secret(secret) = *self else {
            return Ok(Connection::insecure());
        };
        let random = random_bytes()?;
        Ok(if initiator {
            Connection::initiator(secret, random, config, now)
        } else {
            Connection::responder(secret, random, config, now)
        })
    }
}

fn random_bytes<const N: usize>() -> io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(format!("the OS random generator failed: {e}")))?;
    Ok(bytes)
}

/// A fresh code from the OS random generator, for a sender to print.
///
/// # Errors
/// The OS random generator failed.
pub fn new_code() -> io::Result<Code> {
    Ok(Code::from_random(random_bytes()?))
}

/// Runs `connection`'s handshake on `socket` until keys are agreed: an
/// initiator sends to `peer`; a responder answers the first Hello and
/// returns its source. `clock` is the connection's time origin. Returns the
/// peer, `None` for an insecure responder (it learns its peer from data).
///
/// The responder returns once it sent its Reply: its peer's proof (the
/// Confirm or the first sealed datagram) arrives in the transfer loop, which
/// hands every datagram to [`open`].
///
/// A refusal of the peer's port (nothing listening yet: a receiver is
/// started after a person read the code) is waited out.
///
/// # Errors
/// [`NetError::Handshake`] (wrong code, mode mismatch, timeout) or a socket
/// error.
pub fn handshake(
    socket: &UdpSocket,
    mut peer: Option<SocketAddr>,
    connection: &mut Connection,
    clock: Instant,
) -> Result<Option<SocketAddr>, NetError> {
    if !connection.is_secure() {
        return Ok(peer);
    }
    let mut buf = vec![0u8; 2048];
    loop {
        let now = clock.elapsed();
        if let Some(to) = peer {
            while let Some(n) = connection.poll_transmit(now, &mut buf) {
                send(socket, to, &buf[..n])?;
            }
        }
        if connection.is_established() {
            return Ok(peer);
        }
        connection.handle_timeout(now)?;
        let wait = connection
            .poll_timeout()
            .map_or(Duration::from_millis(20), |t| t.saturating_sub(now))
            .clamp(Duration::from_micros(100), Duration::from_millis(20));
        socket.set_nonblocking(false)?;
        socket.set_read_timeout(Some(wait))?;
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                if peer.is_some_and(|p| p != from) {
                    continue;
                }
                match connection.handle_datagram(clock.elapsed(), &mut buf[..n]) {
                    Ok(Received::Handshake) => {
                        peer.get_or_insert(from);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        // A failing initiator still confirms, so that its
                        // peer fails too instead of waiting.
                        if let Some(to) = peer {
                            while let Some(n) = connection.poll_transmit(clock.elapsed(), &mut buf) {
                                send(socket, to, &buf[..n])?;
                            }
                        }
                        return Err(e.into());
                    }
                }
            }
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(NetError::Io(e)),
        }
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
            | io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionRefused
    )
}

/// Sends one datagram; a full queue or a refusal is a lost datagram, which
/// the protocol repairs (refusals are counted where they are read).
pub(crate) fn send(socket: &UdpSocket, to: SocketAddr, bytes: &[u8]) -> Result<(), NetError> {
    match socket.send_to(bytes, to) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::ConnectionRefused) => Ok(()),
        Err(e) if e.raw_os_error() == Some(105) => Ok(()), // ENOBUFS
        Err(e) => Err(NetError::Io(e)),
    }
}

/// Lets `write` fill the plaintext part of `buf` (returning its length, or
/// `None` for nothing to send), then seals it in place; returns the
/// datagram's length.
///
/// # Panics
/// If the connection has no keys yet or `buf` leaves no room for the tag
/// (both are the caller's bugs: run [`handshake`] first, size buffers with
/// [`Connection::overhead`]).
pub fn seal_into(
    connection: &mut Connection,
    buf: &mut [u8],
    write: impl FnOnce(&mut [u8]) -> Option<usize>,
) -> Option<usize> {
    let (h, tag) = (connection.header_len(), connection.overhead() - connection.header_len());
    let end = buf.len().checked_sub(tag)?;
    let n = write(&mut buf[h..end])?;
    Some(connection.seal(buf, n).expect("keys agreed and room for the tag"))
}

/// Opens one received datagram in place: the plaintext for the transfer,
/// or `None` for a handshake message (answer with
/// [`Connection::poll_transmit`]) or a refused datagram (counted).
///
/// # Errors
/// [`HandshakeError`] when the handshake fails for good.
pub fn open<'a>(
    connection: &mut Connection,
    now: Duration,
    buf: &'a mut [u8],
) -> Result<Option<&'a [u8]>, HandshakeError> {
    Ok(match connection.handle_datagram(now, buf)? {
        Received::Data(range) => Some(&buf[range]),
        Received::Handshake | Received::Rejected => None,
    })
}
