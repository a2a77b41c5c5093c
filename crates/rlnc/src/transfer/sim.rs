//! A whole transfer in virtual time: a [`Sender`] and a [`Receiver`] joined
//! by two simulated [`Link`]s. Deterministic for a given seed, and fast: no
//! sleeping, the clock jumps to the next event.

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::link::{Link, LinkConfig};
use super::receiver::{Receiver, ReceiverConfig, ReceiverStats};
use super::sender::{Sender, SenderConfig, SenderStats};

/// One simulated transfer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimConfig {
    /// Sender settings.
    pub sender: SenderConfig,
    /// Receiver settings.
    pub receiver: ReceiverConfig,
    /// Sender → receiver.
    pub forward: LinkConfig,
    /// Receiver → sender.
    pub back: LinkConfig,
    /// Seed of both links.
    pub seed: u64,
    /// Give up after this much virtual time.
    pub limit: Duration,
}

/// How it went.
#[derive(Clone, Debug, PartialEq)]
pub struct SimReport {
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
    /// Packets strictly needed: K per generation.
    pub needed: u64,
    /// Datagrams the forward link dropped.
    pub dropped: u64,
}

impl SimReport {
    /// Data packets sent ÷ packets strictly needed.
    pub fn overhead(&self) -> f64 {
        self.sender.data_sent as f64 / self.needed.max(1) as f64
    }
}

/// Sends `data` from a sender to a receiver over simulated links.
///
/// # Panics
/// If the configured K or S are invalid.
pub fn simulate(data: &[u8], config: &SimConfig) -> SimReport {
    let mut sender: Sender<Vec<u8>> = Sender::new(config.sender).expect("valid shape");
    let mut receiver = Receiver::new(config.receiver);
    let mut forward = Link::new(config.forward, config.seed);
    let mut back = Link::new(config.back, config.seed.rotate_left(17) ^ 1);
    let gen_bytes = config.sender.generation_bytes();
    let mut chunks = data.chunks(gen_bytes).peekable();
    let generations = data.len().div_ceil(gen_bytes).max(1) as u64;
    let mut pushed_empty = false;
    let mut output = Vec::with_capacity(data.len());
    let mut buf = vec![0u8; 2048.max(sender.datagram_len())];
    let mut now = Duration::ZERO;
    while now < config.limit && !(sender.is_finished() && receiver.has_digest()) {
        while sender.wants_generation() {
            let (chunk, last) = match chunks.next() {
                Some(c) => (c, chunks.peek().is_none()),
                None if !pushed_empty && data.is_empty() => (&[][..], true),
                None => break,
            };
            pushed_empty = true;
            let mut padded = vec![0u8; gen_bytes];
            padded[..chunk.len()].copy_from_slice(chunk);
            sender.push_generation(padded, chunk.len(), last).expect("wanted");
        }
        while let Some(n) = sender.poll_transmit(now, &mut buf) {
            forward.handle_send(now, &buf[..n]);
        }
        while let Some(d) = forward.poll_deliver(now) {
            let _ = receiver.handle_datagram(now, &d);
        }
        receiver
            .poll_data(|bytes| {
                output.extend_from_slice(bytes);
                Ok::<_, ()>(())
            })
            .expect("Vec never fails");
        if receiver.is_complete() && !receiver.has_digest() {
            receiver.handle_digest([0; 32]);
        }
        while let Some(n) = receiver.poll_transmit(now, &mut buf) {
            back.handle_send(now, &buf[..n]);
        }
        while let Some(d) = back.poll_deliver(now) {
            let _ = sender.handle_datagram(now, &d);
        }
        let next = [
            sender.poll_timeout(),
            receiver.poll_timeout(),
            forward.next_delivery(),
            back.next_delivery(),
        ]
        .into_iter()
        .flatten()
        .min();
        now = match next {
            Some(t) if t > now => t,
            // Something is ready now (or nothing will ever be): step a little.
            _ => now + Duration::from_micros(10),
        };
    }
    SimReport {
        output,
        finished: sender.is_finished(),
        elapsed: now,
        sender: sender.stats(),
        receiver: receiver.stats(),
        needed: generations * u64::from(config.sender.k),
        dropped: forward.dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mode;
    use crate::transfer::link::LossModel;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i.wrapping_mul(31) ^ (i >> 9)) as u8).collect()
    }

    fn config(loss: LossModel, seed: u64) -> SimConfig {
        let mut sender = SenderConfig::new(0xC0FFEE);
        sender.k = 16;
        sender.symbol_size = 256;
        sender.window = 16;
        sender.rate = 20_000_000;
        SimConfig {
            sender,
            receiver: ReceiverConfig::default(),
            forward: LinkConfig {
                loss,
                ..LinkConfig::default()
            },
            back: LinkConfig {
                loss,
                ..LinkConfig::default()
            },
            seed,
            limit: Duration::from_secs(600),
        }
    }

    #[test]
    fn arrives_byte_exact_at_every_loss_rate_and_pattern() {
        let input = data(300_000);
        for p in [0.0, 0.1, 0.3, 0.5] {
            for (name, model) in [
                ("independent", LossModel::Independent(p)),
                ("bursty", LossModel::bursty(p, 4.0)),
            ] {
                for mode in [Mode::Systematic, Mode::Random] {
                    let mut c = config(model, 7);
                    c.sender.mode = mode;
                    let r = simulate(&input, &c);
                    assert!(r.finished, "{name} {p} {mode:?}: {r:?}");
                    assert!(r.output == input, "{name} {p} {mode:?}");
                    // Overhead stays near 1 / (1 - p) (plus BOOST rounds).
                    assert!(
                        r.overhead() < 1.0 / (1.0 - p) * 1.35 + 0.1,
                        "{name} {p} {mode:?}: {}",
                        r.overhead()
                    );
                }
            }
        }
    }

    #[test]
    fn survives_reordering_duplication_and_odd_sizes() {
        for (len, seed) in [(0, 1), (1, 2), (4096, 3), (4097, 4), (100_003, 5)] {
            let input = data(len);
            let mut c = config(LossModel::Independent(0.2), seed);
            c.forward.reorder = 0.3;
            c.forward.duplicate = 0.2;
            c.back.reorder = 0.3;
            c.back.duplicate = 0.2;
            let r = simulate(&input, &c);
            assert!(r.finished && r.output == input, "len {len}: {r:?}");
            if len > 10_000 {
                assert!(r.receiver.redundant > 0, "duplicates are counted");
            }
        }
    }

    #[test]
    fn sender_memory_is_bounded_by_the_window() {
        let input = data(2_000_000);
        let mut c = config(LossModel::Independent(0.1), 9);
        c.sender.window = 4;
        let r = simulate(&input, &c);
        assert!(r.finished && r.output == input);
        assert!(r.receiver.out_of_window == 0, "{r:?}");
    }
}
