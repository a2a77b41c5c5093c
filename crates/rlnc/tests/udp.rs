//! Real UDP sockets on 127.0.0.1: whole transfers through `net::send` and
//! `net::receive`, with injected loss, and a relay that duplicates datagrams
//! and mixes in garbage and foreign-session datagrams.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sluicegate_rlnc::net::{self, ReceiveOptions, ReceiveReport, SendOptions, SendReport};
use sluicegate_rlnc::transfer::datagram::{Feedback, write_feedback};
use sluicegate_rlnc::transfer::link::LossModel;
use sluicegate_rlnc::transfer::{ReceiverConfig, Sender, SenderConfig};

fn data(len: usize) -> Vec<u8> {
    let mut x = 0x1234_5678_9abc_def0u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn localhost() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

fn receive_options(loss: LossModel) -> ReceiveOptions {
    ReceiveOptions {
        config: ReceiverConfig {
            linger: Duration::from_millis(300),
            ..ReceiverConfig::new(0xD0D0)
        },
        loss,
        seed: 2,
        first_timeout: Some(Duration::from_secs(10)),
    }
}

fn send_options(loss: LossModel) -> SendOptions {
    let mut config = SenderConfig::new(0x5E55_1011);
    config.rate = 100_000_000;
    SendOptions { config, loss, seed: 1 }
}

/// Runs a receiver on `receiver` and a sender to `to`; returns both reports and the output.
fn transfer(
    input: &[u8],
    receiver: UdpSocket,
    to: SocketAddr,
    loss: LossModel,
) -> (SendReport, ReceiveReport, Vec<u8>) {
    let handle = thread::spawn(move || {
        let mut out = Vec::new();
        let report = net::receive(&receiver, &mut out, &receive_options(loss), &mut |_| {}).unwrap();
        (report, out)
    });
    let sent = net::send(&localhost(), to, input, &send_options(loss), &mut |_| {}).unwrap();
    let (received, out) = handle.join().unwrap();
    (sent, received, out)
}

#[test]
fn four_megabytes_arrive_byte_exact_at_0_10_and_30_percent_loss() {
    let input = data(4 << 20);
    let digest: [u8; 32] = Sha256::digest(&input).into();
    for p in [0.0, 0.1, 0.3] {
        let receiver = localhost();
        let to = receiver.local_addr().unwrap();
        let (sent, received, out) = transfer(&input, receiver, to, LossModel::Independent(p));
        assert!(out == input, "loss {p}");
        assert_eq!((sent.digest, received.digest), (digest, digest), "loss {p}");
        assert!(sent.verified(), "loss {p}");
        let overhead = sent.stats.data_sent as f64 / (input.len() as f64 / 1200.0);
        eprintln!(
            "loss {p}: {:?}, overhead {overhead:.3}, {:?}",
            sent.elapsed, received.stats
        );
        assert!(overhead < 1.6 / (1.0 - p), "loss {p}: overhead {overhead}");
    }
}

#[test]
fn bursty_loss_on_both_directions() {
    let input = data(1 << 20);
    let receiver = localhost();
    let to = receiver.local_addr().unwrap();
    let (sent, _, out) = transfer(&input, receiver, to, LossModel::bursty(0.2, 5.0));
    assert!(out == input);
    assert!(sent.verified());
}

/// Forwards between the sender and the receiver, sending every third data
/// datagram twice and, every tenth, a garbage datagram and a well-formed
/// datagram of another session. Stops when `stop` is set.
fn relay(receiver: SocketAddr, stop: Arc<AtomicBool>) -> (SocketAddr, thread::JoinHandle<u64>) {
    let socket = localhost();
    let addr = socket.local_addr().unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let handle = thread::spawn(move || {
        let mut sender: Option<SocketAddr> = None;
        let mut buf = vec![0u8; 65_536];
        let mut feedback = [0u8; 64];
        let n_feedback = write_feedback(&mut feedback, 0xBAD, &Feedback::default()).unwrap();
        // A well-formed data datagram of another session.
        let mut other: Sender<Vec<u8>> = Sender::new(SenderConfig::new(0xBAD)).unwrap();
        let shape = other.config().generation_bytes();
        other.push_generation(vec![7; shape], shape, true).unwrap();
        let mut foreign = vec![0u8; other.datagram_len()];
        let n_foreign = other.poll_transmit(Duration::ZERO, &mut foreign).unwrap();
        let (mut count, mut injected) = (0u64, 0u64);
        while !stop.load(Ordering::Relaxed) {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            if from == receiver {
                if let Some(s) = sender {
                    let _ = socket.send_to(&buf[..n], s);
                }
                continue;
            }
            sender = Some(from);
            count += 1;
            let _ = socket.send_to(&buf[..n], receiver);
            if count % 3 == 0 {
                let _ = socket.send_to(&buf[..n], receiver);
            }
            if count % 10 == 0 {
                let mut garbage = buf[..n].to_vec();
                garbage[n / 2] ^= 0x40;
                let _ = socket.send_to(&garbage, receiver);
                let _ = socket.send_to(&buf[..count as usize % 40], receiver);
                let _ = socket.send_to(&feedback[..n_feedback], receiver);
                let _ = socket.send_to(&foreign[..n_foreign], receiver);
                injected += 1;
            }
        }
        injected
    });
    (addr, handle)
}

#[test]
fn malformed_foreign_and_duplicated_datagrams_are_ignored_and_counted() {
    let input = data(1 << 20);
    let receiver = localhost();
    let receiver_addr = receiver.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (relay_addr, relay) = relay(receiver_addr, Arc::clone(&stop));
    let (sent, received, out) = transfer(&input, receiver, relay_addr, LossModel::None);
    stop.store(true, Ordering::Relaxed);
    let injected = relay.join().unwrap();
    assert!(out == input);
    assert!(sent.verified());
    let s = received.stats;
    assert!(injected > 0);
    // Bit-flipped, truncated, and a feedback datagram (well-formed, wrong direction).
    // (The relay goes on injecting after the receiver ends, so count by what arrived.)
    assert!(s.foreign > 0 && s.foreign <= injected, "{s:?}");
    assert!(s.malformed >= 3 * s.foreign, "{s:?}");
    assert!(s.redundant > 0, "duplicates counted: {s:?}");
}

#[test]
fn the_receiver_survives_a_flood_of_random_bytes_and_still_receives() {
    let receiver = localhost();
    let to = receiver.local_addr().unwrap();
    let noise = localhost();
    let mut x = 99u64;
    for len in (0..2000).map(|i| i % 1600) {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (x >> 33) as u8
            })
            .collect();
        noise.send_to(&bytes, to).unwrap();
    }
    let input = data(100_000);
    let (sent, received, out) = transfer(&input, receiver, to, LossModel::None);
    assert!(out == input && sent.verified());
    assert!(received.stats.malformed > 0);
}
