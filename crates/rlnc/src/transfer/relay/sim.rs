//! A transfer through a relay in virtual time: sender, relay and receiver
//! joined by four simulated [`Link`]s (two hops, both directions), with the
//! relay recoding or, for comparison, forwarding every datagram unchanged
//! as a router would.

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::{Relay, RelayConfig, RelayStats};
use crate::transfer::link::{Link, LinkConfig};
use crate::transfer::receiver::{Receiver, ReceiverConfig, ReceiverStats};
use crate::transfer::sender::{Sender, SenderConfig, SenderStats};
use crate::transfer::sim::{Input, feed, receiver_turn};

/// What sits between the hops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Middle {
    /// A recoding [`Relay`].
    Recoding(RelayConfig),
    /// Every datagram passed on unchanged, both ways.
    Forwarding,
}

/// One simulated two-hop transfer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TwoHopConfig {
    /// Sender settings.
    pub sender: SenderConfig,
    /// Receiver settings.
    pub receiver: ReceiverConfig,
    /// The node between the hops.
    pub middle: Middle,
    /// Sender ↔ relay, each direction.
    pub first: LinkConfig,
    /// Relay ↔ receiver, each direction.
    pub second: LinkConfig,
    /// Seed of the links.
    pub seed: u64,
    /// Give up after this much virtual time.
    pub limit: Duration,
}

/// How it went.
#[derive(Clone, Debug, PartialEq)]
pub struct TwoHopReport {
    /// What the receiver wrote.
    pub output: Vec<u8>,
    /// Whether the sender saw done.
    pub finished: bool,
    /// Virtual time taken.
    pub elapsed: Duration,
    /// Sender counters.
    pub sender: SenderStats,
    /// Receiver counters.
    pub receiver: ReceiverStats,
    /// Relay counters (recoding only).
    pub relay: Option<RelayStats>,
    /// Data datagrams offered to the first hop (the sender's).
    pub first_hop_data: u64,
    /// Data datagrams offered to the second hop.
    pub second_hop_data: u64,
    /// Packets strictly needed: K per generation.
    pub needed: u64,
}

/// Sends `data` through two hops.
///
/// # Panics
/// If the configured K or S are invalid.
pub fn simulate(data: &[u8], config: &TwoHopConfig) -> TwoHopReport {
    let mut sender: Sender<Vec<u8>> = Sender::new(config.sender).expect("valid shape");
    let mut receiver = Receiver::new(config.receiver);
    let mut relay = match config.middle {
        Middle::Recoding(c) => Some(Relay::new(c)),
        Middle::Forwarding => None,
    };
    let seed = config.seed;
    let mut up: Link<Vec<u8>> = Link::new(config.first, seed);
    let mut up_back: Link<Vec<u8>> = Link::new(config.first, seed.rotate_left(17) ^ 1);
    let mut down: Link<Vec<u8>> = Link::new(config.second, seed.rotate_left(29) ^ 2);
    let mut down_back: Link<Vec<u8>> = Link::new(config.second, seed.rotate_left(41) ^ 3);
    let gen_bytes = config.sender.generation_bytes();
    let mut input = Input::new(data, gen_bytes);
    let generations = data.len().div_ceil(gen_bytes).max(1) as u64;
    let mut output = Vec::with_capacity(data.len());
    let mut buf = vec![0u8; 4096];
    let mut now = Duration::ZERO;
    let mut second_hop_data = 0;
    while now < config.limit && !(sender.is_finished() && receiver.has_digest()) {
        feed(&mut sender, &mut input);
        sender.handle_timeout(now);
        while let Some(n) = sender.poll_transmit(now, &mut buf) {
            up.handle_send(now, n, buf[..n].to_vec());
        }
        while let Some(d) = up.poll_deliver(now) {
            match relay.as_mut() {
                Some(r) => {
                    let _ = r.handle_upstream(now, &d);
                }
                None => {
                    second_hop_data += 1;
                    down.handle_send(now, d.len(), d);
                }
            }
        }
        if let Some(r) = relay.as_mut() {
            while let Some(n) = r.poll_downstream(now, &mut buf) {
                second_hop_data += 1;
                down.handle_send(now, n, buf[..n].to_vec());
            }
        }
        while let Some(d) = down.poll_deliver(now) {
            let _ = receiver.handle_datagram(now, &d);
        }
        receiver_turn(&mut receiver, now, &mut output);
        while let Some(n) = receiver.poll_transmit(now, &mut buf) {
            down_back.handle_send(now, n, buf[..n].to_vec());
        }
        while let Some(d) = down_back.poll_deliver(now) {
            match relay.as_mut() {
                Some(r) => {
                    let _ = r.handle_downstream(now, &d);
                }
                None => up_back.handle_send(now, d.len(), d),
            }
        }
        if let Some(r) = relay.as_mut() {
            while let Some(n) = r.poll_upstream(now, &mut buf) {
                up_back.handle_send(now, n, buf[..n].to_vec());
            }
        }
        while let Some(d) = up_back.poll_deliver(now) {
            let _ = sender.handle_datagram(now, &d);
        }
        // Confirmations may have emptied the sender's window: refill it
        // before asking it when to be called next.
        feed(&mut sender, &mut input);
        let next = [
            sender.poll_timeout(),
            receiver.poll_timeout(),
            relay.as_ref().and_then(Relay::poll_timeout),
            up.next_delivery(),
            up_back.next_delivery(),
            down.next_delivery(),
            down_back.next_delivery(),
        ]
        .into_iter()
        .flatten()
        .min();
        now = match next {
            Some(t) if t > now => t,
            _ => now + Duration::from_micros(10),
        };
    }
    TwoHopReport {
        output,
        finished: sender.is_finished(),
        elapsed: now,
        sender: sender.stats(),
        receiver: receiver.stats(),
        relay: relay.map(|r| r.stats()),
        first_hop_data: sender.stats().data_sent,
        second_hop_data,
        needed: generations * u64::from(config.sender.k),
    }
}
