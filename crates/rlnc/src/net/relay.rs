//! The relay loop: a secure connection upstream (the sender connects to the
//! relay as to a receiver), one downstream (the relay connects to the
//! receiver as a sender), and the sans-IO [`Relay`] between them.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::NetError;
use super::secure::{Security, open, seal_into, send};
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
    /// Handshake timing, both hops.
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
}

impl RelayOptions {
    /// `security` on both hops, the default relay and handshake, 10 s
    /// timeout, 1 s linger, no injected loss.
    pub fn new(security: Security) -> RelayOptions {
        RelayOptions {
            config: RelayConfig::default(),
            security,
            handshake: HandshakeConfig::default(),
            loss: LossModel::None,
            seed: 1,
            timeout: Duration::from_secs(10),
            linger: Duration::from_secs(1),
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

/// One side of the relay: a socket, its secure connection, its peer.
struct Hop {
    socket: UdpSocket,
    connection: Connection,
    peer: Option<SocketAddr>,
    /// Last time this side showed progress (a valid data or feedback datagram).
    heard: Duration,
}

impl Hop {
    /// Sends what the handshake has due.
    fn flush_handshake(&mut self, now: Duration, buf: &mut [u8]) -> Result<(), NetError> {
        if let Some(to) = self.peer {
            while let Some(n) = self.connection.poll_transmit(now, buf) {
                send(&self.socket, to, &buf[..n])?;
            }
        }
        Ok(())
    }
}

/// Relays one transfer arriving on `listen` to the receiver at `to`,
/// recoding on the way, until the receiver reports done (and the sender has
/// had `linger` to hear it).
///
/// # Errors
/// [`NetError`]: a handshake failed on either hop, a side fell silent once
/// the transfer started, or a socket failed.
pub fn relay(listen: UdpSocket, to: SocketAddr, options: &RelayOptions) -> Result<RelayReport, NetError> {
    let clock = Instant::now();
    let bind: SocketAddr = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
        .parse()
        .expect("a valid address");
    let down_socket = UdpSocket::bind(bind)?;
    let connect = |initiator| options.security.connect(initiator, options.handshake, Duration::ZERO);
    let mut up = Hop {
        socket: listen,
        connection: connect(false)?,
        peer: None,
        heard: Duration::ZERO,
    };
    let mut down = Hop {
        socket: down_socket,
        connection: connect(true)?,
        peer: Some(to),
        heard: Duration::ZERO,
    };
    for hop in [&up, &down] {
        hop.socket.set_nonblocking(true)?;
    }
    let mut relay = Relay::new(options.config);
    let mut loss = Loss::new(options.loss, options.seed);
    let mut injected = 0;
    let mut inbuf = vec![0u8; 65_536];
    let mut out = vec![0u8; 4096];
    let mut started: Option<Duration> = None;
    loop {
        let mut busy = false;
        // Upstream in: the sender's data (and its handshake).
        for _ in 0..64 {
            let Some((n, from)) = receive(&up.socket, &mut inbuf)? else {
                break;
            };
            busy = true;
            let now = clock.elapsed();
            if up.peer.is_some_and(|p| p != from) && !up.connection.is_secure() {
                continue;
            }
            let handshakes = up.connection.stats().handshake;
            let Some(plain) = open(&mut up.connection, now, &mut inbuf[..n])? else {
                if up.connection.stats().handshake > handshakes {
                    up.peer.get_or_insert(from);
                }
                continue;
            };
            let before = relay.stats().data_in;
            let _ = relay.handle_upstream(now, plain);
            if relay.stats().data_in > before {
                up.peer.get_or_insert(from);
                up.heard = now;
                started.get_or_insert(now);
            }
        }
        // Downstream in: the receiver's feedback and done.
        for _ in 0..64 {
            let Some((n, from)) = receive(&down.socket, &mut inbuf)? else {
                break;
            };
            busy = true;
            if from != to {
                continue;
            }
            let now = clock.elapsed();
            if let Some(plain) = open(&mut down.connection, now, &mut inbuf[..n])? {
                let before = relay.stats();
                let _ = relay.handle_downstream(now, plain);
                let after = relay.stats();
                if after.feedback_down > before.feedback_down || relay.is_finished() {
                    down.heard = now;
                }
            }
        }
        let now = clock.elapsed();
        up.flush_handshake(now, &mut out)?;
        down.flush_handshake(now, &mut out)?;
        up.connection.handle_timeout(now)?;
        down.connection.handle_timeout(now)?;
        if let (true, Some(to)) = (up.connection.is_established(), up.peer) {
            while let Some(n) = seal_into(&mut up.connection, &mut out, |b| relay.poll_upstream(now, b)) {
                busy = true;
                if loss.drop_next() {
                    injected += 1;
                } else {
                    send(&up.socket, to, &out[..n])?;
                }
            }
        }
        if down.connection.is_established() {
            while let Some(n) = seal_into(&mut down.connection, &mut out, |b| relay.poll_downstream(now, b)) {
                busy = true;
                if loss.drop_next() {
                    injected += 1;
                } else {
                    send(&down.socket, to, &out[..n])?;
                }
            }
        }
        if let Some(start) = started {
            if relay.is_finished() {
                if now.saturating_sub(up.heard) > options.linger {
                    return Ok(RelayReport {
                        session: relay.session().unwrap_or(0),
                        upstream_peer: up.peer,
                        receiver_digest: relay.receiver_digest().expect("finished"),
                        stats: relay.stats(),
                        upstream: up.connection.stats(),
                        downstream: down.connection.stats(),
                        injected_losses: injected,
                        elapsed: now - start,
                    });
                }
            } else if [up.heard, down.heard]
                .iter()
                .any(|&heard| now.saturating_sub(heard.max(start)) > options.timeout)
            {
                return Err(NetError::PeerSilent(options.timeout));
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
            .map_or(Duration::from_micros(500), |t| t.saturating_sub(clock.elapsed()));
            std::thread::sleep(due.clamp(Duration::from_micros(20), Duration::from_micros(500)));
        }
    }
}

/// One datagram if one is pending. A refusal (ICMP port unreachable for
/// something sent earlier: the receiver not up yet) is a lost datagram.
fn receive(socket: &UdpSocket, buf: &mut [u8]) -> Result<Option<(usize, SocketAddr)>, NetError> {
    match socket.recv_from(buf) {
        Ok(got) => Ok(Some(got)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::Interrupted
                    | io::ErrorKind::ConnectionRefused
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(NetError::Io(e)),
    }
}
