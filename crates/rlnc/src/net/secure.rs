//! The secure connection at the socket edge: randomness from the operating
//! system, the handshake run on a socket before a transfer loop starts, and
//! the two calls a loop makes per datagram: [`seal_into`] on the way out,
//! [`open`] on the way in.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::NetError;
use super::socket::Socket;
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

/// Runs `connection`'s handshake on `socket` until keys are agreed. An
/// initiator's socket is connected to its peer; a responder's is connected
/// to whoever sent the Hello it answered (the kernel then drops other
/// senders' datagrams).
///
/// The responder returns once it sent its Reply: its peer's proof (the
/// Confirm or the first sealed datagram) arrives in the transfer loop, which
/// hands every datagram to [`open`].
///
/// `refusals`: refusals of the peer's port in a row that mean nothing
/// listens there; `None` waits them out (a sender that printed its code:
/// the receiver cannot be running yet).
///
/// # Errors
/// [`NetError::Handshake`] (wrong code, mode mismatch, timeout),
/// [`NetError::Refused`], [`NetError::Socket`], [`NetError::Interrupted`].
pub(crate) fn handshake(
    socket: &mut Socket,
    connection: &mut Connection,
    refusals: Option<u32>,
    cancel: Option<&AtomicBool>,
) -> Result<(), NetError> {
    if !connection.is_secure() {
        return Ok(());
    }
    let clock = Instant::now();
    let mut buf = vec![0u8; 2048];
    let mut refused = 0;
    loop {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(NetError::Interrupted);
        }
        let now = clock.elapsed();
        flush(socket, connection, now, &mut buf)?;
        if connection.is_established() {
            return Ok(());
        }
        connection.handle_timeout(now)?;
        let wait = connection
            .poll_timeout()
            .map_or(Duration::from_millis(20), |t| t.saturating_sub(now))
            .min(Duration::from_millis(20));
        if !socket.wait_readable(Some(wait)).map_err(NetError::Socket)? {
            continue;
        }
        match socket.udp().recv_from(&mut buf) {
            Ok((n, from)) => match connection.handle_datagram(clock.elapsed(), &mut buf[..n]) {
                Ok(Received::Handshake) => {
                    refused = 0;
                    if socket.peer().is_none() {
                        socket.adopt_peer(from).map_err(NetError::Socket)?;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    // A failing initiator still confirms, so that its peer
                    // fails too instead of waiting.
                    flush(socket, connection, clock.elapsed(), &mut buf)?;
                    return Err(e.into());
                }
            },
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                refused += 1;
                if let (Some(limit), Some(peer)) = (refusals, socket.peer())
                    && refused >= limit.max(1)
                {
                    return Err(NetError::Refused {
                        peer,
                        refusals: refused,
                    });
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
            Err(e) => return Err(NetError::Socket(e)),
        }
    }
}

/// Sends the handshake messages due to the connected peer.
pub(crate) fn flush(
    socket: &Socket,
    connection: &mut Connection,
    now: Duration,
    buf: &mut [u8],
) -> Result<(), NetError> {
    if socket.peer().is_none() {
        return Ok(());
    }
    while let Some(n) = connection.poll_transmit(now, buf) {
        send(socket, &buf[..n])?;
    }
    Ok(())
}

/// Sends one datagram to the connected peer; a full queue or a refusal is a
/// lost datagram, which the protocol repairs (refusals are counted where
/// they are read).
pub(crate) fn send(socket: &Socket, bytes: &[u8]) -> Result<(), NetError> {
    match socket.udp().send(bytes) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::ConnectionRefused) => Ok(()),
        Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ENOBUFS as i32) => Ok(()),
        Err(e) => Err(NetError::Socket(e)),
    }
}

/// Lets `write` fill the plaintext part of `buf` (returning its length, or
/// `None` for nothing to send), then seals it in place; returns the
/// datagram's length.
///
/// # Panics
/// If the connection has no keys yet or `buf` leaves no room for the tag
/// (both are the caller's bugs: run the handshake first, size buffers with
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
/// or `None` for a handshake message (its answer is due from
/// [`Connection::poll_transmit`]) or a refused
/// datagram (counted).
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
