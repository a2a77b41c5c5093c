//! The sending loop: input chunks into the [`Sender`], its datagrams out in
//! batches, the receiver's feedback in, until the receiver reports done.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sluicegate_core::pool::{PoolBytes, PoolStats};

use super::batch::{Inbox, Outbox};
use super::input::Input;
use super::secure::{self, Security};
use super::socket::{Socket, Tuning};
use super::{MAX_WAIT, NetError, PROGRESS_EVERY, Progress};
use crate::secure::{Connection, ConnectionStats, HandshakeConfig};
use crate::transfer::link::{Loss, LossModel};
use crate::transfer::{CloseReason, PathEstimate, Sender, SenderConfig, SenderStats, SessionError};

/// Sender options.
#[derive(Clone, Debug)]
pub struct SendOptions {
    /// Coding, window ceiling, rate ceiling, redundancy.
    pub config: SenderConfig,
    /// Outgoing loss injection.
    pub loss: LossModel,
    /// Seed of the loss process.
    pub seed: u64,
    /// Give up after this long without progress reported by the receiver
    /// (decoded rank): feedback that confirms nothing does not keep the
    /// transfer alive. Sets the state machine's `idle_timeout`.
    pub timeout: Duration,
    /// Refusals of the receiver's port in a row (no valid answer between
    /// them) that mean nothing listens there: more than one, so that one
    /// stray ICMP message does not end a live transfer.
    pub refusals: u32,
    /// Stops the transfer when raised (Ctrl-C, SIGTERM).
    pub cancel: Option<Arc<AtomicBool>>,
    /// Sealed with keys agreed from a secret, or in the clear.
    pub security: Security,
    /// Handshake timing.
    pub handshake: HandshakeConfig,
    /// The receiver cannot be listening yet (this sender just printed the
    /// code): refusals during the handshake are waited out.
    pub await_receiver: bool,
}

impl SendOptions {
    /// `config`, no injected loss, a 10 s timeout, 3 refusals, in the clear
    /// (set [`security`](Self::security) to seal).
    pub fn new(config: SenderConfig) -> SendOptions {
        SendOptions {
            config,
            loss: LossModel::None,
            seed: 1,
            timeout: Duration::from_secs(10),
            refusals: 3,
            cancel: None,
            security: Security::Insecure,
            handshake: HandshakeConfig::default(),
            await_receiver: false,
        }
    }
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
    /// The secure connection's counters (datagrams refused among them).
    pub secure: ConnectionStats,
    /// Send system calls made (each carries one or more datagrams).
    pub send_calls: u64,
    /// How the socket was set up (GSO may have been turned off on the way).
    pub tuning: Tuning,
    /// The input buffer pool's counters (`dynamic_allocations` 0: every
    /// generation moved through pooled buffers).
    pub pool: PoolStats,
    /// Wall time.
    pub elapsed: Duration,
}

impl SendReport {
    /// Whether the receiver wrote exactly what was read.
    pub fn verified(&self) -> bool {
        self.receiver_digest == (self.bytes, self.digest)
    }
}

/// Refusals counted since the receiver last answered.
#[derive(Debug)]
struct Refusals {
    peer: std::net::SocketAddr,
    count: u32,
    limit: u32,
    heard: bool,
}

impl Refusals {
    /// Counts a refusal; the error once there were `limit` in a row.
    fn count(&mut self) -> Result<(), NetError> {
        self.count += 1;
        if self.count < self.limit.max(1) {
            return Ok(());
        }
        Err(if self.heard {
            NetError::ReceiverGone { peer: self.peer }
        } else {
            NetError::Refused {
                peer: self.peer,
                refusals: self.count,
            }
        })
    }

    fn answered(&mut self) {
        self.count = 0;
        self.heard = true;
    }

    /// Passes other results through; counts a refusal.
    fn check(&mut self, result: io::Result<()>) -> Result<(), NetError> {
        match result {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => self.count(),
            other => other.map_err(NetError::Socket),
        }
    }
}

/// How long a paced sender sleeps at least once the pacer holds it back:
/// the time to earn half a burst of tokens (at most 1 ms), so that each
/// wake-up sends one batch instead of one datagram. At 50 MB/s with the
/// 64 KiB burst, waking per datagram cost 5–7 s of CPU per GB on each
/// side (BENCHMARKS.md, rlnc transfer). A late wake-up loses nothing: the
/// pacer keeps what it earned meanwhile.
fn pacing_batch_wait(path: &PathEstimate) -> Duration {
    if path.pacing_rate <= 0.0 {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(path.burst_bytes / 2.0 / path.pacing_rate).min(Duration::from_millis(1))
}

/// The error for a failed session: no progress is the peer falling silent.
fn session_error(error: SessionError, peer: std::net::SocketAddr) -> NetError {
    match error {
        SessionError::NoProgress { after } => NetError::PeerSilent { peer, after },
        other => NetError::Session(other),
    }
}

/// Ends the session with `reason`: the close datagram goes out (sealed),
/// and `error` is returned.
fn close(
    sender: &mut Sender<PoolBytes>,
    connection: &mut Connection,
    socket: &Socket,
    now: Duration,
    reason: CloseReason,
    error: NetError,
) -> NetError {
    sender.close(reason);
    let mut datagram = vec![0u8; 64 + connection.overhead()];
    if let Some(n) = secure::seal_into(connection, &mut datagram, |plain| sender.poll_transmit(now, plain)) {
        let _ = socket.udp().send(&datagram[..n]);
    }
    error
}

/// Sends `input` on `socket` (connected to the receiver, see
/// [`Socket::connect`]) until the receiver confirms it wrote everything.
///
/// # Errors
/// [`NetError`]: the receiver refused, gone or silent, the input or the
/// socket failed, the configuration is invalid, or `cancel` was raised.
///
/// # Panics
/// If `socket` is not connected.
pub fn send<R: Read + Send + 'static>(
    socket: &mut Socket,
    input: R,
    options: &SendOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<SendReport, NetError> {
    let peer = socket.peer().expect("a sender's socket is connected");
    let config = SenderConfig {
        idle_timeout: options.timeout,
        ..options.config
    };
    let mut sender: Sender<PoolBytes> = Sender::new(config)?;
    let mut connection = options
        .security
        .connect(true, options.handshake, Duration::ZERO)
        .map_err(NetError::Socket)?;
    let refusals_in_handshake = (!options.await_receiver).then_some(options.refusals);
    secure::handshake(
        socket,
        &mut connection,
        refusals_in_handshake,
        options.cancel.as_deref(),
    )?;
    let mut outbox = Outbox::new(socket, sender.datagram_len() + connection.overhead());
    let mut inbox = Inbox::new(socket, 4);
    let input =
        Input::spawn(input, config.generation_bytes(), usize::from(config.window.max(1))).map_err(NetError::Input)?;
    let mut loss = Loss::new(options.loss, options.seed);
    let mut refusals = Refusals {
        peer,
        count: 0,
        limit: options.refusals,
        heard: false,
    };
    let (mut injected, mut send_calls) = (0, 0);
    let start = Instant::now();
    let mut last_progress = Duration::ZERO;
    let mut input_done = false;
    while !sender.is_closed() {
        if options.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
            let now = start.elapsed();
            let reason = CloseReason::Cancelled;
            return Err(close(
                &mut sender,
                &mut connection,
                socket,
                now,
                reason,
                NetError::Interrupted,
            ));
        }
        while !input_done && sender.wants_generation() {
            let chunk = match input.try_next() {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    let (now, reason) = (start.elapsed(), CloseReason::InputFailed);
                    return Err(close(
                        &mut sender,
                        &mut connection,
                        socket,
                        now,
                        reason,
                        NetError::Input(e),
                    ));
                }
            };
            input_done = chunk.last;
            sender
                .push_generation(chunk.data, chunk.data_len, chunk.last)
                .expect("wanted and K·S long");
        }
        loop {
            match inbox.receive(socket) {
                Ok(0) => break,
                Ok(_) => {
                    let now = start.elapsed();
                    let mut failed = None;
                    inbox.for_each_datagram_mut(|_, datagram| {
                        let plain = match secure::open(&mut connection, now, datagram) {
                            Ok(Some(plain)) => plain,
                            Ok(None) => return,
                            Err(e) => {
                                failed = Some(e);
                                return;
                            }
                        };
                        let before = sender.stats();
                        if sender.handle_datagram(now, plain).is_err() {
                            return;
                        }
                        if sender.stats().feedback > before.feedback || sender.is_finished() {
                            refusals.answered();
                        }
                    });
                    if let Some(e) = failed {
                        return Err(e.into());
                    }
                }
                Err(e) => {
                    refusals.check(Err(e))?;
                    break;
                }
            }
        }
        let now = start.elapsed();
        sender.handle_timeout(now);
        let mut sent = 0;
        loop {
            if outbox.is_full() {
                send_calls += 1;
                refusals.check(outbox.flush(socket))?;
            }
            let pushed = outbox.push(|slot| {
                let n = secure::seal_into(&mut connection, slot, |plain| sender.poll_transmit(now, plain))?;
                if loss.drop_next() {
                    injected += 1;
                    return Some(0);
                }
                Some(n)
            });
            if !pushed {
                break;
            }
            sent += 1;
        }
        if !outbox.is_empty() {
            send_calls += 1;
            refusals.check(outbox.flush(socket))?;
        }
        if let Some(&error) = sender.failure() {
            // The close datagram went out with the batch.
            return Err(session_error(error, peer));
        }
        if sent == 0 && !sender.is_closed() {
            // Nothing due: sleep until the pacer or a probe is due, feedback
            // arrives, or (if the sender wants input) a moment for the reader.
            let batch_wait = pacing_batch_wait(&sender.path());
            let mut wait = sender
                .poll_timeout()
                .map_or(MAX_WAIT, |due| due.saturating_sub(start.elapsed()).max(batch_wait));
            if !input_done && sender.wants_generation() {
                wait = wait.min(Duration::from_micros(200));
            }
            socket
                .wait_readable(Some(wait.min(MAX_WAIT)))
                .map_err(NetError::Socket)?;
        }
        let now = start.elapsed();
        if now - last_progress >= PROGRESS_EVERY {
            last_progress = now;
            progress(Progress {
                bytes: input.bytes_read(),
                total: sender.total_len(),
            });
        }
    }
    let summary = input.finish();
    progress(Progress {
        bytes: summary.bytes,
        total: Some(summary.bytes),
    });
    Ok(SendReport {
        bytes: summary.bytes,
        digest: summary.digest,
        receiver_digest: sender.receiver_digest().expect("finished"),
        stats: sender.stats(),
        path: sender.path(),
        injected_losses: injected,
        secure: connection.stats(),
        send_calls,
        tuning: *socket.tuning(),
        pool: summary.pool,
        elapsed: start.elapsed(),
    })
}
