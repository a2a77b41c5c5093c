//! The relay loop: a secure connection upstream (the sender connects to the
//! relay as to a receiver), one downstream (the relay connects to the
//! receiver as a sender), and the sans-IO [`Relay`] between them. Both
//! handshakes run in the loop, side by side.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::time::TimeSpec;

use super::NetError;
use super::batch::Inbox;
use super::secure::{Security, flush, open, seal_into, send};
use super::socket::{Socket, SocketOptions};
use crate::secure::{Connection, ConnectionStats, HandshakeConfig};
use crate::transfer::link::{Loss, LossModel};
use crate::transfer::{Relay, RelayConfig, RelayStats};

/// Relay options.
#[derive(Clone, Debug)]
pub struct RelayOptions {
    /// Window bound, feedback cadence, downstream pacing.
    pub config: RelayConfig,
    /// How both hops are secured (the same secret on both, each hop its own keys).
    pub security: Security,
    /// Handshake timing, both hops (the upstream one waits for the sender
    /// as long as this says).
    pub handshake: HandshakeConfig,
    /// Outgoing loss injection, both directions, for testing.
    pub loss: LossModel,
    /// Seed of the loss process.
    pub seed: u64,
    /// Once the transfer started, give up after this long without progress
    /// from either side.
    pub timeout: Duration,
    /// After the receiver's done, keep passing it to a repeating sender this
    /// long after the sender's last datagram.
    pub linger: Duration,
    /// Stops the relay when raised (Ctrl-C, SIGTERM).
    pub cancel: Option<Arc<AtomicBool>>,
}

impl RelayOptions {
    /// `security` on both hops, the default relay (with a random instance
    /// id, so that the sender recognises a restarted relay) and handshake,
    /// 10 s timeout, 1 s linger, no injected loss.
    pub fn new(security: Security) -> RelayOptions {
        RelayOptions {
            config: RelayConfig {
                instance: super::random_instance(),
                ..RelayConfig::default()
            },
            security,
            handshake: HandshakeConfig::default(),
            loss: LossModel::None,
            seed: 1,
            timeout: Duration::from_secs(10),
            linger: Duration::from_secs(1),
            cancel: None,
        }
    }
}

/// What a relay did.
#[derive(Clone, Debug)]
pub struct RelayReport {
    /// The session relayed.
    pub session: u64,
    /// The sender's address.
    pub upstream_peer: Option<SocketAddr>,
    /// Length and SHA-256 the receiver reported (and the relay passed on).
    pub receiver_digest: (u64, [u8; 32]),
    /// Relay counters.
    pub stats: RelayStats,
    /// The upstream connection's counters (datagrams refused among them).
    pub upstream: ConnectionStats,
    /// The downstream connection's counters.
    pub downstream: ConnectionStats,
    /// Datagrams dropped by injection.
    pub injected_losses: u64,
    /// Wall time from the first data datagram.
    pub elapsed: Duration,
}

/// One side of the relay: a socket (connected once its peer is known), its
/// secure connection, and its batch of received datagrams.
struct Hop<'a> {
    socket: &'a mut Socket,
    connection: Connection,
    inbox: Inbox,
    /// Last time this side showed progress (a valid data or feedback datagram).
    heard: Duration,
}

/// Relays one transfer arriving on `listen` to the receiver at `to`,
/// recoding on the way, until the receiver reports done (and the sender has
/// had `linger` to hear it).
///
/// # Errors
/// [`NetError`]: a handshake failed on either hop, a side fell silent once
/// the transfer started, a socket failed, or `cancel` was raised.
pub fn relay(listen: &mut Socket, to: SocketAddr, options: &RelayOptions) -> Result<RelayReport, NetError> {
    let clock = Instant::now();
    let mut down_socket = Socket::connect(to, SocketOptions::sender(0)).map_err(NetError::Socket)?;
    let connect = |initiator| {
        options
            .security
            .connect(initiator, options.handshake, Duration::ZERO)
            .map_err(NetError::Socket)
    };
    let mut up = Hop {
        connection: connect(false)?,
        inbox: Inbox::new(listen, 16),
        socket: listen,
        heard: Duration::ZERO,
    };
    let mut down = Hop {
        connection: connect(true)?,
        inbox: Inbox::new(&down_socket, 16),
        socket: &mut down_socket,
        heard: Duration::ZERO,
    };
    let mut relay = Relay::new(options.config);
    let mut loss = Loss::new(options.loss, options.seed);
    let mut injected = 0;
    let mut out = vec![0u8; 4096];
    let mut started: Option<Duration> = None;
    loop {
        if options.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(NetError::Interrupted);
        }
        let mut busy = false;
        // Upstream in: the sender's data (and its handshake).
        for _ in 0..8 {
            if receive(&mut up)? == 0 {
                break;
            }
            busy = true;
            let now = clock.elapsed();
            let mut adopt = None;
            let mut failed = None;
            let (connection, heard) = (&mut up.connection, &mut up.heard);
            up.inbox.for_each_datagram_mut(|from, datagram| {
                let handshakes = connection.stats().handshake;
                let taken = match open(connection, now, datagram) {
                    Ok(Some(plain)) => {
                        let before = relay.stats().data_in;
                        let _ = relay.handle_upstream(now, plain);
                        let valid = relay.stats().data_in > before;
                        if valid {
                            *heard = now;
                            started.get_or_insert(now);
                        }
                        valid
                    }
                    Ok(None) => connection.stats().handshake > handshakes,
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                };
                if taken {
                    adopt = adopt.or(from);
                }
            });
            if let Some(e) = failed {
                return Err(e.into());
            }
            // The Hello answered (or, in the clear, the first valid data)
            // names the sender: connect to it.
            if let Some(from) = adopt
                && up.socket.peer().is_none()
            {
                up.socket.adopt_peer(from).map_err(NetError::Socket)?;
            }
        }
        // Downstream in: the receiver's feedback and done.
        for _ in 0..8 {
            if receive(&mut down)? == 0 {
                break;
            }
            busy = true;
            let now = clock.elapsed();
            let mut failed = None;
            let (connection, heard) = (&mut down.connection, &mut down.heard);
            down.inbox
                .for_each_datagram_mut(|_, datagram| match open(connection, now, datagram) {
                    Ok(Some(plain)) => {
                        let before = relay.stats().feedback_down;
                        let _ = relay.handle_downstream(now, plain);
                        if relay.stats().feedback_down > before || relay.is_finished() {
                            *heard = now;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => failed = Some(e),
                });
            if let Some(e) = failed {
                return Err(e.into());
            }
        }
        let now = clock.elapsed();
        for hop in [&mut up, &mut down] {
            flush(hop.socket, &mut hop.connection, now, &mut out)?;
            hop.connection.handle_timeout(now)?;
        }
        if up.connection.is_established() && up.socket.peer().is_some() {
            while let Some(n) = seal_into(&mut up.connection, &mut out, |b| relay.poll_upstream(now, b)) {
                busy = true;
                if loss.drop_next() {
                    injected += 1;
                } else {
                    send(up.socket, &out[..n])?;
                }
            }
        }
        if down.connection.is_established() {
            while let Some(n) = seal_into(&mut down.connection, &mut out, |b| relay.poll_downstream(now, b)) {
                busy = true;
                if loss.drop_next() {
                    injected += 1;
                } else {
                    send(down.socket, &out[..n])?;
                }
            }
        }
        if let Some(start) = started {
            if relay.is_finished() {
                if now.saturating_sub(up.heard) > options.linger {
                    return Ok(RelayReport {
                        session: relay.session().unwrap_or(0),
                        upstream_peer: up.socket.peer(),
                        receiver_digest: relay.receiver_digest().expect("finished"),
                        stats: relay.stats(),
                        upstream: up.connection.stats(),
                        downstream: down.connection.stats(),
                        injected_losses: injected,
                        elapsed: now - start,
                    });
                }
            } else {
                for hop in [&up, &down] {
                    if let Some(peer) = hop.socket.peer()
                        && now.saturating_sub(hop.heard.max(start)) > options.timeout
                    {
                        return Err(NetError::PeerSilent {
                            peer,
                            after: options.timeout,
                        });
                    }
                }
            }
        }
        if !busy {
            let due = [
                relay.poll_timeout(),
                up.connection.poll_timeout(),
                down.connection.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min()
            .map_or(MAX_IDLE, |t| t.saturating_sub(clock.elapsed()))
            .min(MAX_IDLE);
            wait_readable(up.socket, down.socket, due)?;
        }
    }
}

/// The longest the loop sleeps before it looks at its clocks again.
const MAX_IDLE: Duration = Duration::from_millis(20);

/// Sleeps until either socket has something pending or `timeout` passes
/// (`ppoll`: a high-resolution timer).
fn wait_readable(a: &Socket, b: &Socket, timeout: Duration) -> Result<(), NetError> {
    let mut fds = [a, b].map(|s| PollFd::new(s.udp().as_raw_fd(), PollFlags::POLLIN));
    match ppoll(&mut fds, Some(TimeSpec::from_duration(timeout)), None) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
        Err(e) => Err(NetError::Socket(e.into())),
    }
}

/// Takes what is pending on a hop's socket into its inbox; the number of
/// messages. A refusal (ICMP port unreachable for something sent earlier:
/// the receiver not up yet) is a lost datagram.
fn receive(hop: &mut Hop<'_>) -> Result<usize, NetError> {
    match hop.inbox.receive(hop.socket) {
        Ok(n) => Ok(n),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(0),
        Err(e) => Err(NetError::Socket(e)),
    }
}
