//! The socket edge of [`crate::transfer`]: a chunker that reads input into
//! pooled generation buffers, and blocking UDP loops that drive the sans-IO
//! [`Sender`] and [`Receiver`] with the wall clock.
//!
//! Loss injection ([`LossModel`]) drops outgoing datagrams before they reach
//! the socket, on either side, for testing.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sluicegate_core::pool::{BufferPool, PoolBuf, PoolBytes, Sizing};

use crate::encoder::ConfigError;
use crate::transfer::link::{Loss, LossModel};
use crate::transfer::{
    CloseReason, Handled, PathEstimate, Receiver, ReceiverConfig, ReceiverStats, Sender, SenderConfig, SenderStats,
    SessionError,
};

/// One generation's worth of input in a buffer of its own, zero-padded to K·S.
#[derive(Debug)]
pub struct Chunk {
    /// K·S bytes; only `data_len` are input.
    pub data: PoolBytes,
    /// Input bytes.
    pub data_len: usize,
    /// The input ends with this chunk.
    pub last: bool,
}

/// Reads a file or stream into one pooled buffer per generation, so each
/// generation can be moved to whoever codes it; keeps one chunk of
/// look-ahead so the last chunk is known to be last.
#[derive(Debug)]
pub struct Chunker<R> {
    reader: R,
    pool: BufferPool,
    pending: Option<(PoolBuf, bool)>,
    finished: bool,
    read: u64,
}

impl<R: Read> Chunker<R> {
    /// Chunks of `generation_bytes` from a pool of `buffers` (fixed: when
    /// every buffer is out, a further one is a counted allocation).
    pub fn new(reader: R, generation_bytes: usize, buffers: usize) -> Chunker<R> {
        Chunker {
            reader,
            pool: BufferPool::new(Sizing::Fixed(buffers), generation_bytes),
            pending: None,
            finished: false,
            read: 0,
        }
    }

    /// The pool, for its statistics.
    pub fn pool(&self) -> &BufferPool {
        &self.pool
    }

    /// Input bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Fills one buffer; `true` if the input ended.
    fn fill(&mut self) -> io::Result<(PoolBuf, bool)> {
        let mut buf = self.pool.acquire();
        while buf.remaining() > 0 {
            match self.reader.read(buf.spare_mut()) {
                Ok(0) => return Ok((buf, true)),
                Ok(n) => {
                    buf.advance(n);
                    self.read += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok((buf, false))
    }

    fn chunk(mut buf: PoolBuf, last: bool) -> Chunk {
        let data_len = buf.len();
        let spare = buf.spare_mut();
        spare.fill(0);
        let pad = spare.len();
        buf.advance(pad);
        Chunk {
            data: buf.freeze(),
            data_len,
            last,
        }
    }

    /// The next chunk, `None` after the last.
    ///
    /// # Errors
    /// A read error of the input.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if self.finished {
            return Ok(None);
        }
        let (current, ended) = match self.pending.take() {
            Some(p) => p,
            None => self.fill()?,
        };
        if ended {
            self.finished = true;
            return Ok(Some(Self::chunk(current, true)));
        }
        let (next, next_ended) = self.fill()?;
        if next_ended && next.is_empty() {
            self.finished = true;
            return Ok(Some(Self::chunk(current, true)));
        }
        self.pending = Some((next, next_ended));
        Ok(Some(Self::chunk(current, false)))
    }
}

/// Why a transfer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// Socket, input or output error.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// K or S invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No sender started a transfer within the listening deadline.
    #[error("no sender within {0:?}")]
    PeerSilent(Duration),
    /// The session failed: the peer restarted, closed it, or made no progress.
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// Progress callback argument: bytes so far and the total once known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes read (sender) or written (receiver).
    pub bytes: u64,
    /// Total, once known.
    pub total: Option<u64>,
}

/// Sender options.
#[derive(Clone, Copy, Debug)]
pub struct SendOptions {
    /// Coding, window ceiling, rate ceiling, idle timeout.
    pub config: SenderConfig,
    /// Outgoing loss injection.
    pub loss: LossModel,
    /// Seed of the loss process.
    pub seed: u64,
}

/// What a send did.
#[derive(Clone, Debug)]
pub struct SendReport {
    /// Input bytes.
    pub bytes: u64,
    /// SHA-256 of the input.
    pub digest: [u8; 32],
    /// Length and SHA-256 the receiver reported.
    pub receiver_digest: (u64, [u8; 32]),
    /// Sender counters.
    pub stats: SenderStats,
    /// The congestion controller's view of the path at the end.
    pub path: PathEstimate,
    /// Datagrams dropped by injection.
    pub injected_losses: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl SendReport {
    /// Whether the receiver wrote exactly what was read.
    pub fn verified(&self) -> bool {
        self.receiver_digest == (self.bytes, self.digest)
    }
}

/// Waits for a datagram until `deadline` (at least 50 µs, at most 20 ms).
fn recv_until(
    socket: &UdpSocket,
    buf: &mut [u8],
    start: Instant,
    deadline: Option<Duration>,
) -> io::Result<Option<(usize, SocketAddr)>> {
    let now = start.elapsed();
    let wait = deadline
        .map_or(Duration::from_millis(20), |d| d.saturating_sub(now))
        .clamp(Duration::from_micros(50), Duration::from_millis(20));
    socket.set_read_timeout(Some(wait))?;
    match socket.recv_from(buf) {
        Ok(got) => Ok(Some(got)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
            ) =>
        {
            Ok(None)
        }
        // A previous datagram to a closed port (ICMP) surfaces here on Linux.
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(None),
        Err(e) => Err(e),
    }
}

/// The sender's wait: a non-blocking read, else a sleep until `deadline`
/// (at most 500 µs). A socket read timeout would be rounded up to the
/// kernel tick (4 ms at HZ=250), which capped pacing at ~16 MB/s on the
/// benchmark machine; `nanosleep` is precise to tens of microseconds.
fn recv_or_sleep(
    socket: &UdpSocket,
    buf: &mut [u8],
    start: Instant,
    deadline: Option<Duration>,
) -> io::Result<Option<(usize, SocketAddr)>> {
    match socket.recv_from(buf) {
        Ok(got) => return Ok(Some(got)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted | io::ErrorKind::ConnectionRefused
            ) => {}
        Err(e) => return Err(e),
    }
    let wait = deadline
        .map_or(Duration::from_micros(500), |d| d.saturating_sub(start.elapsed()))
        .min(Duration::from_micros(500));
    if !wait.is_zero() {
        std::thread::sleep(wait);
    }
    Ok(None)
}

fn send_datagram(socket: &UdpSocket, to: SocketAddr, bytes: &[u8]) -> io::Result<()> {
    match socket.send_to(bytes, to) {
        Ok(_) => Ok(()),
        // Loopback queue full or peer gone: a lost datagram, which the protocol repairs.
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::ConnectionRefused) => Ok(()),
        Err(e) if e.raw_os_error() == Some(105) => Ok(()), // ENOBUFS
        Err(e) => Err(e),
    }
}

/// Sends `input` to `peer` until the receiver confirms it wrote everything.
///
/// # Errors
/// [`NetError`] on I/O errors or when the session fails (the receiver
/// restarted, closed it, or made no progress for the idle timeout).
pub fn send(
    socket: &UdpSocket,
    peer: SocketAddr,
    input: impl Read,
    options: &SendOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<SendReport, NetError> {
    let config = options.config;
    let mut sender: Sender<PoolBytes> = Sender::new(config)?;
    // Up to 64 generations (plus look-ahead) from the pool; a wider window
    // takes counted one-off buffers.
    let mut chunker = Chunker::new(input, config.generation_bytes(), usize::from(config.window).min(64) + 3);
    let mut loss = Loss::new(options.loss, options.seed);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; sender.datagram_len().max(2048)];
    let mut injected = 0;
    let start = Instant::now();
    let mut last_progress = Duration::ZERO;
    let mut input_done = false;
    socket.set_nonblocking(true)?;
    while !sender.is_closed() {
        let now = start.elapsed();
        while !input_done && sender.wants_generation() {
            match chunker.next_chunk() {
                Ok(Some(chunk)) => {
                    hasher.update(&chunk.data[..chunk.data_len]);
                    input_done = chunk.last;
                    sender
                        .push_generation(chunk.data, chunk.data_len, chunk.last)
                        .expect("wanted and K·S long");
                }
                Ok(None) => input_done = true,
                Err(e) => {
                    sender.close(CloseReason::InputFailed);
                    if let Some(n) = sender.poll_transmit(now, &mut buf) {
                        send_datagram(socket, peer, &buf[..n])?;
                    }
                    return Err(e.into());
                }
            }
        }
        sender.handle_timeout(now);
        while let Some(n) = sender.poll_transmit(now, &mut buf) {
            if loss.drop_next() {
                injected += 1;
            } else {
                send_datagram(socket, peer, &buf[..n])?;
            }
        }
        if let Some(error) = sender.failure() {
            return Err(NetError::Session(*error));
        }
        if let Some((n, _)) = recv_or_sleep(socket, &mut buf, start, sender.poll_timeout())? {
            let _ = sender.handle_datagram(start.elapsed(), &buf[..n]);
        }
        let now = start.elapsed();
        if now - last_progress > Duration::from_millis(100) {
            last_progress = now;
            progress(Progress {
                bytes: chunker.bytes_read(),
                total: sender.total_len(),
            });
        }
    }
    let bytes = chunker.bytes_read();
    progress(Progress {
        bytes,
        total: Some(bytes),
    });
    Ok(SendReport {
        bytes,
        digest: hasher.finalize().into(),
        receiver_digest: sender.receiver_digest().expect("finished"),
        stats: sender.stats(),
        path: sender.path(),
        injected_losses: injected,
        elapsed: start.elapsed(),
    })
}

/// Receiver options.
#[derive(Clone, Copy, Debug)]
pub struct ReceiveOptions {
    /// Instance id, session, window limit, feedback cadence, idle timeout, linger.
    pub config: ReceiverConfig,
    /// Outgoing (feedback) loss injection.
    pub loss: LossModel,
    /// Seed of the loss process.
    pub seed: u64,
    /// Give up if the first data datagram takes longer (`None`: wait forever).
    pub first_timeout: Option<Duration>,
}

/// What a receive did.
#[derive(Clone, Debug)]
pub struct ReceiveReport {
    /// Bytes written.
    pub bytes: u64,
    /// SHA-256 of the bytes written.
    pub digest: [u8; 32],
    /// The session received.
    pub session: u64,
    /// Receiver counters.
    pub stats: ReceiverStats,
    /// Feedback datagrams dropped by injection.
    pub injected_losses: u64,
    /// Wall time from the first datagram.
    pub elapsed: Duration,
}

/// Receives one transfer on `socket` into `output`.
///
/// # Errors
/// [`NetError`] on I/O errors, when no sender comes within
/// `first_timeout`, or when the session fails (the sender is bound to an
/// earlier receiver, closed it, or made no progress for the idle timeout).
pub fn receive(
    socket: &UdpSocket,
    mut output: impl Write,
    options: &ReceiveOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ReceiveReport, NetError> {
    let mut receiver = Receiver::new(options.config);
    let mut loss = Loss::new(options.loss, options.seed);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 65_536];
    let mut out = vec![0u8; 2048];
    let mut injected = 0;
    let mut peer: Option<SocketAddr> = None;
    let mut start: Option<Instant> = None;
    let clock = Instant::now();
    let mut last_progress = Duration::ZERO;
    loop {
        let deadline = receiver.poll_timeout();
        if let Some((n, from)) = recv_until(socket, &mut buf, clock, deadline)?
            && let Ok(Handled::Peer) = receiver.handle_datagram(clock.elapsed(), &buf[..n])
        {
            peer = Some(from);
            start.get_or_insert_with(Instant::now);
        }
        let now = clock.elapsed();
        let written = receiver.poll_data(|bytes| {
            hasher.update(bytes);
            output.write_all(bytes)
        });
        let flushed = match written {
            Ok(_) if receiver.is_complete() && !receiver.has_digest() => output.flush().map(|()| true),
            Ok(_) => Ok(false),
            Err(e) => Err(e),
        };
        match flushed {
            Ok(true) => receiver.handle_digest(hasher.clone().finalize().into()),
            Ok(false) => {}
            Err(e) => {
                receiver.close(CloseReason::OutputFailed);
                if let (Some(peer), Some(n)) = (peer, receiver.poll_transmit(now, &mut out)) {
                    send_datagram(socket, peer, &out[..n])?;
                }
                return Err(e.into());
            }
        }
        receiver.handle_timeout(now);
        if let Some(peer) = peer {
            while let Some(n) = receiver.poll_transmit(now, &mut out) {
                if loss.drop_next() {
                    injected += 1;
                } else {
                    send_datagram(socket, peer, &out[..n])?;
                }
            }
        }
        if now - last_progress > Duration::from_millis(100) {
            last_progress = now;
            progress(Progress {
                bytes: receiver.delivered(),
                total: receiver.total_len(),
            });
        }
        if receiver.is_finished() {
            break;
        }
        if let Some(error) = receiver.failure()
            && (receiver.is_closed() || peer.is_none())
        {
            return Err(NetError::Session(*error));
        }
        if let (false, Some(first)) = (receiver.has_started(), options.first_timeout)
            && now > first
        {
            return Err(NetError::PeerSilent(first));
        }
    }
    progress(Progress {
        bytes: receiver.delivered(),
        total: receiver.total_len(),
    });
    Ok(ReceiveReport {
        bytes: receiver.delivered(),
        digest: hasher.finalize().into(),
        session: receiver.session().unwrap_or(0),
        stats: receiver.stats(),
        injected_losses: injected,
        elapsed: start.map_or(Duration::ZERO, |s| s.elapsed()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunker_pads_the_last_chunk_and_marks_it() {
        for len in [0usize, 1, 99, 100, 101, 250, 300] {
            let data: Vec<u8> = (0..len).map(|i| i as u8 | 1).collect();
            let mut chunker = Chunker::new(&data[..], 100, 4);
            let mut got = Vec::new();
            let mut lasts = 0;
            while let Some(c) = chunker.next_chunk().unwrap() {
                assert_eq!(c.data.len(), 100);
                assert!(c.data[c.data_len..].iter().all(|&b| b == 0));
                got.extend_from_slice(&c.data[..c.data_len]);
                lasts += usize::from(c.last);
                assert_eq!(c.last, got.len() == len, "len {len}");
            }
            assert_eq!((got, lasts), (data, 1), "len {len}");
        }
    }
}
