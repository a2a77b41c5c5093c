//! Secured transfers on real UDP sockets on 127.0.0.1: sealed end to end,
//! foreign, tampered and replayed datagrams refused before the transfer
//! sees them (and counted), a wrong code failing both sides, and two hops
//! through a recoding relay with loss on both.

use std::io::Cursor;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sluicegate_rlnc::net::relay::{RelayOptions, relay};
use sluicegate_rlnc::net::secure::Security;
use sluicegate_rlnc::net::{
    self, NetError, ReceiveOptions, ReceiveReport, SendOptions, SendReport, Socket, SocketOptions,
};
use sluicegate_rlnc::secure::{Code, Connection, HandshakeConfig, HandshakeError, Secret};
use sluicegate_rlnc::transfer::SenderConfig;
use sluicegate_rlnc::transfer::link::LossModel;

mod udp_common;
use udp_common::{data, localhost};

/// A receiver's (or relay's) socket on a free loopback port, and its address.
fn listening() -> (Socket, SocketAddr) {
    let socket = Socket::bind("127.0.0.1:0".parse().unwrap(), SocketOptions::receiver()).unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

const RATE: u64 = 100_000_000;

fn code(text: &str) -> Security {
    Security::Secret(Secret::Code(Code::parse(text).unwrap()))
}

const HANDSHAKE: HandshakeConfig = HandshakeConfig {
    initial_rto: Duration::from_millis(50),
    max_rto: Duration::from_millis(200),
    timeout: Duration::from_secs(10),
};

fn receive_options(security: Security, loss: LossModel) -> ReceiveOptions {
    ReceiveOptions {
        loss,
        seed: 2,
        timeout: Duration::from_secs(5),
        first_timeout: Some(Duration::from_secs(10)),
        linger: Duration::from_millis(300),
        security,
        handshake: HANDSHAKE,
        ..ReceiveOptions::default()
    }
}

fn send_options(security: Security, loss: LossModel) -> SendOptions {
    let mut config = SenderConfig::new(0x05EC_012E);
    config.rate = RATE;
    SendOptions {
        loss,
        timeout: Duration::from_secs(5),
        security,
        handshake: HANDSHAKE,
        ..SendOptions::new(config)
    }
}

type Received = Result<(ReceiveReport, Vec<u8>), NetError>;

/// A receiver on its own thread.
fn spawn_receiver(mut socket: Socket, options: ReceiveOptions) -> thread::JoinHandle<Received> {
    thread::spawn(move || {
        let mut out = Vec::new();
        net::receive(&mut socket, &mut out, &options, &mut |_| {}).map(|r| (r, out))
    })
}

fn send(input: &[u8], to: SocketAddr, options: SendOptions) -> Result<SendReport, NetError> {
    let mut socket = Socket::connect(to, SocketOptions::sender(RATE)).unwrap();
    net::send(&mut socket, Cursor::new(input.to_vec()), &options, &mut |_| {})
}

/// Forwards both ways between a sender (whoever writes first) and
/// `receiver`, keeping every datagram it saw; `meddle`, given each of the
/// sender's, may inject more towards the receiver. Stops when `stop` is set.
fn forwarder(
    receiver: SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
    mut meddle: impl FnMut(&UdpSocket, &[u8]) + Send + 'static,
) -> (SocketAddr, thread::JoinHandle<()>) {
    let socket = localhost();
    let addr = socket.local_addr().unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let handle = thread::spawn(move || {
        let mut sender: Option<SocketAddr> = None;
        let mut buf = vec![0u8; 65_536];
        while !stop.load(Ordering::Relaxed) {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            seen.lock().unwrap().push(buf[..n].to_vec());
            if from == receiver {
                if let Some(s) = sender {
                    let _ = socket.send_to(&buf[..n], s);
                }
                continue;
            }
            sender = Some(from);
            let _ = socket.send_to(&buf[..n], receiver);
            meddle(&socket, &buf[..n]);
        }
    });
    (addr, handle)
}

#[test]
fn a_code_secured_transfer_is_byte_exact_and_nothing_travels_in_the_clear() {
    let input = data(1 << 20);
    let (receiver, to) = listening();
    let secret = "417-harbor-velvet-zebra";
    let handle = spawn_receiver(receiver, receive_options(code(secret), LossModel::Independent(0.1)));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (via, tap) = forwarder(to, Arc::clone(&stop), Arc::clone(&seen), |_, _| {});
    let sent = send(&input, via, send_options(code(secret), LossModel::Independent(0.1))).unwrap();
    let (received, out) = handle.join().unwrap().unwrap();
    stop.store(true, Ordering::Relaxed);
    tap.join().unwrap();
    assert!(out == input);
    let digest: [u8; 32] = Sha256::digest(&input).into();
    assert_eq!((sent.digest, received.digest), (digest, digest));
    assert!(sent.verified());
    eprintln!("sender {:?}\nreceiver {:?}", sent.secure, received.secure);
    assert!(received.secure.channel.opened >= received.stats.data);
    assert_eq!(received.secure.rejected(), 0);
    // Every datagram on the wire is a secure one, and no 16-byte run of the
    // file appears in any of them.
    let seen = seen.lock().unwrap();
    assert!(seen.len() > 800);
    assert!(seen.iter().all(|d| d.starts_with(b"SE\x01")));
    let probes: std::collections::HashSet<&[u8]> = input.chunks(4096).map(|c| &c[100..116]).collect();
    assert!(!seen.iter().any(|d| d.windows(16).any(|w| probes.contains(w))));
}

#[test]
fn foreign_tampered_replayed_and_clear_datagrams_are_refused_and_counted() {
    let input = data(1 << 20);
    let (receiver, to) = listening();
    let secret = "9-bison-cobra-fox";
    let handle = spawn_receiver(receiver, receive_options(code(secret), LossModel::None));
    // A stranger who completed a handshake of its own (another code) seals
    // datagrams with keys of its own.
    let mut stranger = established(Secret::Code(Code::parse("10-bison-cobra-fox").unwrap()));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let injected = Arc::new(Mutex::new([0u64; 4]));
    let counts = Arc::clone(&injected);
    let mut history: Vec<Vec<u8>> = Vec::new();
    let (via, tap) = forwarder(to, Arc::clone(&stop), Arc::clone(&seen), move |socket, datagram| {
        history.push(datagram.to_vec());
        if !history.len().is_multiple_of(10) || datagram.len() < 200 {
            return;
        }
        let mut c = counts.lock().unwrap();
        // Tampered: one bit of the ciphertext.
        let mut bad = datagram.to_vec();
        bad[datagram.len() / 2] ^= 0x08;
        let _ = socket.send_to(&bad, to);
        c[0] += 1;
        // Replayed: one of the sender's datagrams from earlier, sent again.
        let _ = socket.send_to(&history[history.len() - 5], to);
        c[1] += 1;
        // Foreign: sealed with a stranger's keys.
        let mut foreign = vec![0u8; 1300];
        let n = stranger.seal(&mut foreign, 1200).unwrap();
        let _ = socket.send_to(&foreign[..n], to);
        c[2] += 1;
        // In the clear: a transfer datagram header and garbage.
        let _ = socket.send_to(b"SG\x01\x01 not sealed at all", to);
        c[3] += 1;
    });
    let sent = send(&input, via, send_options(code(secret), LossModel::None)).unwrap();
    let (received, out) = handle.join().unwrap().unwrap();
    stop.store(true, Ordering::Relaxed);
    tap.join().unwrap();
    assert!(out == input && sent.verified());
    let [tampered, replayed, foreign, clear] = *injected.lock().unwrap();
    let s = received.secure;
    eprintln!("injected: {tampered} tampered, {replayed} replayed, {foreign} foreign, {clear} clear; receiver {s:?}");
    assert!(tampered > 10);
    // Each kind counted as such; a few may be lost in the receiver's socket
    // buffer (loopback bursts) or come after it ended: at least 3/4 arrive.
    let arrived = |counted: u64, injected: u64| counted <= injected && 4 * counted >= 3 * injected;
    assert!(arrived(s.channel.unauthenticated, tampered + foreign), "{s:?}");
    assert!(arrived(s.channel.replayed, replayed), "{s:?}");
    assert!(arrived(s.channel.malformed, clear), "{s:?}");
    // Nothing refused reached the transfer: it saw only genuine data.
    assert_eq!(received.stats.malformed, 0);
    assert_eq!(received.stats.foreign, 0);
    assert_eq!(received.stats.datagrams, s.channel.opened);
}

/// A connection of its own, handshake done against a responder of the same secret.
fn established(secret: Secret) -> Connection {
    let now = Duration::ZERO;
    let mut a = Connection::initiator(secret, [7; 32], HANDSHAKE, now);
    let mut b = Connection::responder(secret, [8; 32], HANDSHAKE, now);
    let mut buf = [0u8; 256];
    for to_b in [true, false, true] {
        let (from, to) = if to_b { (&mut a, &mut b) } else { (&mut b, &mut a) };
        let n = from.poll_transmit(now, &mut buf).unwrap();
        to.handle_datagram(now, &mut buf[..n]).unwrap();
    }
    a
}

#[test]
fn a_wrong_code_fails_both_sides_quickly_and_clearly() {
    let (receiver, to) = listening();
    let handle = spawn_receiver(receiver, receive_options(code("5-acorn-anchor-apple"), LossModel::None));
    let start = Instant::now();
    let sent = send(
        &data(1000),
        to,
        send_options(code("5-acorn-anchor-apron"), LossModel::None),
    );
    let received = handle.join().unwrap();
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
    for result in [sent.map(|_| ()), received.map(|_| ())] {
        let e = result.unwrap_err();
        assert!(matches!(e, NetError::Handshake(HandshakeError::KeyMismatch)), "{e}");
        assert!(e.to_string().contains("wrong code"), "{e}");
    }
}

#[test]
fn a_key_file_secures_and_a_clear_sender_gets_nothing_through() {
    let key = Security::Secret(Secret::Key(*b"0123456789abcdef0123456789ABCDEF"));
    let input = data(300_000);
    let (receiver, to) = listening();
    let handle = spawn_receiver(receiver, receive_options(key, LossModel::None));
    assert!(send(&input, to, send_options(key, LossModel::None)).unwrap().verified());
    assert!(handle.join().unwrap().unwrap().1 == input);
    // An insecure sender to a secured receiver: nothing it sends is taken.
    let (receiver, to) = listening();
    let mut options = receive_options(key, LossModel::None);
    options.handshake.timeout = Duration::from_secs(1);
    let handle = spawn_receiver(receiver, options);
    let mut clear = send_options(Security::Insecure, LossModel::None);
    clear.timeout = Duration::from_millis(1500);
    // No answer: it times out, or finds the port closed once the receiver gave up.
    let e = send(&input, to, clear).unwrap_err();
    assert!(
        matches!(e, NetError::PeerSilent { .. } | NetError::Refused { .. }),
        "{e}"
    );
    let e = handle.join().unwrap().unwrap_err();
    assert!(matches!(e, NetError::Handshake(HandshakeError::Timeout(_))), "{e}");
}

#[test]
fn two_hops_through_a_recoding_relay_with_loss_on_both_are_byte_exact() {
    let input = data(2 << 20);
    let digest: [u8; 32] = Sha256::digest(&input).into();
    let secret = "61-lantern-orbit-walrus";
    let (receiver, to) = listening();
    // Loss on every direction of both hops: the sender's data, the relay's
    // output both ways, the receiver's feedback.
    let loss = LossModel::Independent(0.1);
    let handle = spawn_receiver(receiver, receive_options(code(secret), loss));
    let (mut listen, via) = listening();
    let mut options = RelayOptions::new(code(secret));
    options.handshake = HANDSHAKE;
    options.loss = loss;
    options.seed = 3;
    options.timeout = Duration::from_secs(5);
    options.linger = Duration::from_millis(300);
    let relay = thread::spawn(move || relay(&mut listen, to, &options));
    let sent = send(&input, via, send_options(code(secret), loss));
    let received = handle.join().unwrap();
    let relayed = relay.join().unwrap();
    if sent.is_err() || received.is_err() || relayed.is_err() {
        panic!(
            "sender {sent:?}\nreceiver {:?}\nrelay {relayed:?}",
            received.map(|r| r.0)
        );
    }
    let (sent, (received, out), relayed) = (sent.unwrap(), received.unwrap(), relayed.unwrap());
    assert!(out == input);
    assert_eq!(
        (sent.digest, received.digest, relayed.receiver_digest.1),
        (digest, digest, digest)
    );
    assert!(sent.verified());
    let needed = (input.len() as u64).div_ceil(32 * 1200) * 32;
    eprintln!(
        "needed {needed}; sender sent {} ({:.3}), relay sent {} ({:.3}); relay {:?}; upstream {:?}; downstream {:?}",
        sent.stats.data_sent,
        sent.stats.data_sent as f64 / needed as f64,
        relayed.stats.data_out,
        relayed.stats.data_out as f64 / needed as f64,
        relayed.stats,
        relayed.upstream,
        relayed.downstream
    );
    // The relay recoded: it sent fresh combinations and repaired its own hop.
    assert!(relayed.stats.data_out >= needed);
    assert!(relayed.stats.innovative == needed, "{:?}", relayed.stats);
    assert_eq!(received.stats.malformed, 0);
    assert!(relayed.upstream.channel.opened > 0 && relayed.downstream.channel.opened > 0);
}
