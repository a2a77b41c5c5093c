//! The receiving loop: datagrams in by the batch, decoded bytes to the
//! output thread, feedback out, until everything is written and committed.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::batch::Inbox;
use super::output::Output;
use super::secure::{self, Security};
use super::socket::{Socket, Tuning};
use super::{MAX_WAIT, NetError, PROGRESS_EVERY, Progress};
use crate::secure::{Connection, ConnectionStats, HandshakeConfig, OVERHEAD};
use crate::transfer::link::{Loss, LossModel};
use crate::transfer::{CloseReason, Handled, Receiver, ReceiverConfig, ReceiverStats, SessionError};

/// Receiver options.
#[derive(Clone, Debug)]
pub struct ReceiveOptions {
    /// Instance id, session, window limit, feedback cadence.
    pub config: ReceiverConfig,
    /// Outgoing (feedback) loss injection.
    pub loss: LossModel,
    /// Seed of the loss process.
    pub seed: u64,
    /// Once a transfer started, give up after this long without progress
    /// (a datagram that raised a rank): traffic that decodes nothing does
    /// not keep the transfer alive. Sets the state machine's `idle_timeout`.
    pub timeout: Duration,
    /// Give up if no transfer starts within this long (`None`: wait for
    /// the first datagram forever, as a listening tool does).
    pub first_timeout: Option<Duration>,
    /// After done, keep answering repeats this long after the last one
    /// (unless the sender acknowledges the done first). Sets the state
    /// machine's `linger`.
    pub linger: Duration,
    /// Stops the transfer when raised (Ctrl-C, SIGTERM).
    pub cancel: Option<Arc<AtomicBool>>,
    /// Sealed with keys agreed from a secret, or in the clear.
    pub security: Security,
    /// Handshake timing; its timeout is the wait for the sender's first
    /// handshake message.
    pub handshake: HandshakeConfig,
}

/// A random receiver instance id, so that a sender recognises a restarted
/// receiver (docs/rlnc-transfer.md T.3).
pub fn random_instance() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    (h.finish() as u32).max(1)
}

impl Default for ReceiveOptions {
    /// Any session, a 10 s timeout once started, no limit before, 1 s linger.
    fn default() -> ReceiveOptions {
        ReceiveOptions {
            config: ReceiverConfig::new(random_instance()),
            loss: LossModel::None,
            seed: 1,
            timeout: Duration::from_secs(10),
            first_timeout: None,
            linger: Duration::from_secs(1),
            cancel: None,
            security: Security::Insecure,
            handshake: HandshakeConfig {
                timeout: Duration::MAX,
                ..HandshakeConfig::default()
            },
        }
    }
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
    /// The sender's address.
    pub peer: Option<SocketAddr>,
    /// Receiver counters.
    pub stats: ReceiverStats,
    /// Datagrams the socket dropped for want of buffer space (`SO_RXQ_OVFL`).
    pub socket_drops: u64,
    /// Receive system calls that returned data.
    pub receive_calls: u64,
    /// Feedback datagrams dropped by injection.
    pub injected_losses: u64,
    /// The secure connection's counters (datagrams refused before the
    /// transfer saw them among them).
    pub secure: ConnectionStats,
    /// How the socket was set up.
    pub tuning: Tuning,
    /// Wall time from the first datagram to the output committed.
    pub elapsed: Duration,
}

/// Receives one transfer on `socket` into `output`.
///
/// # Errors
/// As [`receive_and_commit`].
pub fn receive<W: Write + Send>(
    socket: &mut Socket,
    output: W,
    options: &ReceiveOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ReceiveReport, NetError> {
    receive_and_commit(socket, output, |_, _| Ok(()), options, progress)
}

/// Receives one transfer on `socket` into `output`, and once every byte is
/// written calls `commit` with the output and its SHA-256 (a file: sync
/// and rename it) before the sender is told the transfer is done.
///
/// # Errors
/// [`NetError`]: the sender went away or fell silent once the transfer
/// started (or none came within `first_timeout`), the output, `commit` or
/// the socket failed, or `cancel` was raised.
pub fn receive_and_commit<W: Write + Send>(
    socket: &mut Socket,
    output: W,
    commit: impl FnOnce(&mut W, &[u8; 32]) -> io::Result<()>,
    options: &ReceiveOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ReceiveReport, NetError> {
    std::thread::scope(|scope| {
        let output = Output::spawn(scope, output).map_err(NetError::Output)?;
        Session::new(socket, options)?.run(output, commit, progress)
    })
}

/// One receive in progress.
struct Session<'a> {
    socket: &'a mut Socket,
    options: &'a ReceiveOptions,
    receiver: Receiver,
    connection: Connection,
    inbox: Inbox,
    loss: Loss,
    /// The last feedback in the clear, at the connection's header length.
    feedback: Vec<u8>,
    feedback_len: usize,
    /// Where it is sealed for each transmission (a repeat needs a fresh
    /// counter: the sender's replay window refuses the same datagram twice).
    sealed: Vec<u8>,
    clock: Instant,
    started: Option<Duration>,
    completed: Option<Duration>,
    last_data: Duration,
    last_nudge: Duration,
    injected: u64,
    receive_calls: u64,
}

/// Silence after which the receiver repeats its last feedback: a sender
/// that went away then shows up as a refused port within a round trip
/// instead of at the timeout, and a lost feedback is replaced. The sender
/// ignores a repeat (its sequence number is not fresh).
const NUDGE_AFTER: Duration = Duration::from_millis(100);

impl<'a> Session<'a> {
    fn new(socket: &'a mut Socket, options: &'a ReceiveOptions) -> Result<Session<'a>, NetError> {
        let connection = options
            .security
            .connect(false, options.handshake, Duration::ZERO)
            .map_err(NetError::Socket)?;
        Ok(Session {
            inbox: Inbox::new(socket, 16),
            socket,
            options,
            receiver: Receiver::new(ReceiverConfig {
                idle_timeout: options.timeout,
                linger: options.linger,
                ..options.config
            }),
            connection,
            loss: Loss::new(options.loss, options.seed),
            feedback: vec![0; 2048 + OVERHEAD],
            feedback_len: 0,
            sealed: vec![0; 2048 + OVERHEAD],
            clock: Instant::now(),
            started: None,
            completed: None,
            last_data: Duration::ZERO,
            last_nudge: Duration::ZERO,
            injected: 0,
            receive_calls: 0,
        })
    }

    fn run<'scope, W: Write + Send + 'scope>(
        mut self,
        output: Output<'scope, W>,
        commit: impl FnOnce(&mut W, &[u8; 32]) -> io::Result<()>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<ReceiveReport, NetError> {
        let mut last_progress = Duration::ZERO;
        let mut output = Some(output);
        let mut commit = Some(commit);
        let mut written: Option<(u64, [u8; 32])> = None;
        secure::handshake(self.socket, &mut self.connection, None, self.options.cancel.as_deref())?;
        // A handshake waited for the sender; its silence counts from now.
        self.last_data = self.clock.elapsed();
        loop {
            if self.options.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(self.close(CloseReason::Cancelled, NetError::Interrupted));
            }
            let mut sender_left = self.drain()?;
            let now = self.clock.elapsed();
            if let Some(out) = output.as_mut() {
                let result = self.receiver.poll_data(|bytes| out.write(bytes));
                if let Err(e) = result {
                    let out = output.take().expect("present");
                    let error = NetError::Output(out.finish().err().unwrap_or(e));
                    return Err(self.close(CloseReason::OutputFailed, error));
                }
            }
            if self.receiver.is_complete() && !self.receiver.has_digest() {
                let out = output.take().expect("complete once");
                let mut done = match out.finish() {
                    Ok(done) => done,
                    Err(e) => return Err(self.close(CloseReason::OutputFailed, NetError::Output(e))),
                };
                let commit = commit.take().expect("complete once");
                if let Err(e) = commit(&mut done.output, &done.digest) {
                    return Err(self.close(CloseReason::OutputFailed, NetError::Output(e)));
                }
                self.receiver.handle_digest(done.digest);
                self.completed = Some(self.clock.elapsed());
                written = Some((done.bytes, done.digest));
            }
            self.receiver.handle_timeout(now);
            sender_left |= self.send_feedback(now)?;
            if now.saturating_sub(last_progress) >= PROGRESS_EVERY {
                last_progress = now;
                progress(Progress {
                    bytes: self.receiver.delivered(),
                    total: self.receiver.total_len(),
                });
            }
            if let Some((bytes, digest)) = written {
                // Done and told: linger for repeats unless the sender
                // acknowledged the done or left.
                if sender_left || self.receiver.is_finished() {
                    progress(Progress {
                        bytes,
                        total: Some(bytes),
                    });
                    return Ok(self.report(bytes, digest));
                }
            } else if let Some(&error) = self.receiver.failure() {
                // The close datagram went out with the feedback.
                let peer = self.socket.peer().expect("connected once data came");
                return Err(match error {
                    SessionError::NoProgress { after } => NetError::PeerSilent { peer, after },
                    other => NetError::Session(other),
                });
            } else if sender_left {
                return Err(NetError::SenderGone {
                    peer: self.socket.peer().expect("connected once data came"),
                });
            }
            self.check_timeouts(now)?;
            self.wait()?;
        }
    }

    /// Feeds every pending datagram to the receiver; `true` if the
    /// sender's port was reported closed.
    fn drain(&mut self) -> Result<bool, NetError> {
        // Bounded, so output and feedback are served between batches.
        for _ in 0..8 {
            let n = match self.inbox.receive(self.socket) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && self.socket.peer().is_some() => {
                    return Ok(true);
                }
                // Before a peer is adopted the socket is unconnected: a
                // refusal cannot be ours.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(NetError::Socket(e)),
            };
            if n == 0 {
                break;
            }
            self.receive_calls += 1;
            let now = self.clock.elapsed();
            let mut adopt = None;
            let mut failed = None;
            let (receiver, connection) = (&mut self.receiver, &mut self.connection);
            let (started, last_data) = (&mut self.started, &mut self.last_data);
            self.inbox.for_each_datagram_mut(|from, datagram| {
                let plain = match secure::open(connection, now, datagram) {
                    Ok(Some(plain)) => plain,
                    Ok(None) => return,
                    Err(e) => {
                        failed = Some(e);
                        return;
                    }
                };
                let before = receiver.stats().data;
                let handled = receiver.handle_datagram(now, plain);
                if receiver.stats().data > before {
                    *last_data = now;
                    started.get_or_insert(now);
                }
                // Answers go to the sender: data of the session, or a sender
                // that must be told this receiver cannot join its transfer.
                if handled == Ok(Handled::Peer) && adopt.is_none() {
                    adopt = from;
                }
            });
            if let Some(e) = failed {
                return Err(e.into());
            }
            if let Some(peer) = adopt.filter(|_| self.socket.peer().is_none()) {
                self.socket.adopt_peer(peer).map_err(NetError::Socket)?;
            }
        }
        Ok(false)
    }

    /// Sends what feedback is due, or repeats the last after silence;
    /// `true` if the sender's port was reported closed.
    fn send_feedback(&mut self, now: Duration) -> Result<bool, NetError> {
        if self.socket.peer().is_none() {
            return Ok(false);
        }
        // A repeated Hello (our Reply was lost) is answered here.
        secure::flush(self.socket, &mut self.connection, now, &mut self.sealed)?;
        let mut refused = false;
        let h = self.connection.header_len();
        while let Some(n) = self.receiver.poll_transmit(now, &mut self.feedback[h..]) {
            self.feedback_len = n;
            self.last_nudge = now;
            refused |= self.transmit_feedback()?;
        }
        let silent = now.saturating_sub(self.last_data.max(self.last_nudge));
        if self.feedback_len > 0 && !self.receiver.has_digest() && silent >= NUDGE_AFTER {
            self.last_nudge = now;
            refused |= self.transmit_feedback()?;
        }
        Ok(refused)
    }

    /// Sends the feedback datagram; `true` if the sender's port was
    /// reported closed (the kernel reports it once, to whichever call comes
    /// first, a send or a receive).
    fn transmit_feedback(&mut self) -> Result<bool, NetError> {
        if self.loss.drop_next() {
            self.injected += 1;
            return Ok(false);
        }
        let h = self.connection.header_len();
        let clear = &self.feedback[..h + self.feedback_len];
        self.sealed[..clear.len()].copy_from_slice(clear);
        let n = self
            .connection
            .seal(&mut self.sealed, self.feedback_len)
            .expect("keys agreed and room for the tag");
        match self.socket.udp().send(&self.sealed[..n]) {
            Ok(_) => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(true),
            // A full queue: a lost datagram.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ENOBUFS as i32) => Ok(false),
            Err(e) => Err(NetError::Socket(e)),
        }
    }

    /// No sender within the first wait (the state machine itself waits for
    /// the first datagram indefinitely; after it, it times out on no progress).
    fn check_timeouts(&self, now: Duration) -> Result<(), NetError> {
        match (self.receiver.has_started(), self.options.first_timeout) {
            (false, Some(first)) if now > first => Err(NetError::NoTransfer { after: first }),
            _ => Ok(()),
        }
    }

    /// Ends the session with `reason` (the sender is told if known), then `error`.
    fn close(&mut self, reason: CloseReason, error: NetError) -> NetError {
        self.receiver.close(reason);
        let now = self.clock.elapsed();
        let h = self.connection.header_len();
        if self.socket.peer().is_some()
            && let Some(n) = self.receiver.poll_transmit(now, &mut self.feedback[h..])
        {
            self.feedback_len = n;
            let _ = self.transmit_feedback();
        }
        error
    }

    /// Sleeps until a datagram, feedback time, or [`MAX_WAIT`].
    fn wait(&self) -> Result<(), NetError> {
        let wait = self
            .receiver
            .poll_timeout()
            .map_or(MAX_WAIT, |due| due.saturating_sub(self.clock.elapsed()))
            .min(MAX_WAIT);
        self.socket.wait_readable(Some(wait)).map_err(NetError::Socket)?;
        Ok(())
    }

    fn report(&self, bytes: u64, digest: [u8; 32]) -> ReceiveReport {
        ReceiveReport {
            bytes,
            digest,
            session: self.receiver.session().unwrap_or(0),
            peer: self.socket.peer(),
            stats: self.receiver.stats(),
            socket_drops: u64::from(self.inbox.dropped()),
            receive_calls: self.receive_calls,
            injected_losses: self.injected,
            secure: self.connection.stats(),
            tuning: *self.socket.tuning(),
            elapsed: match (self.started, self.completed) {
                (Some(start), Some(end)) => end.saturating_sub(start),
                _ => Duration::ZERO,
            },
        }
    }
}
