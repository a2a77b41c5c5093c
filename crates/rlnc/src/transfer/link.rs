//! A deterministic lossy link for virtual-time tests: independent or
//! Gilbert–Elliott loss, reordering, duplication, delay.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

/// SplitMix64: small, seedable, good enough for loss decisions.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Which datagrams a link drops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LossModel {
    /// None.
    None,
    /// Each datagram independently with probability `p`.
    Independent(f64),
    /// Gilbert–Elliott: a good state that loses nothing and a bad state
    /// that loses everything, with the given transition probabilities.
    GilbertElliott {
        /// P(good → bad) per datagram.
        p_good_to_bad: f64,
        /// P(bad → good) per datagram (1 / mean burst length).
        p_bad_to_good: f64,
    },
}

impl LossModel {
    /// Gilbert–Elliott with average loss `p` and mean burst length `burst`.
    pub fn bursty(p: f64, burst: f64) -> LossModel {
        let p = p.clamp(0.0, 0.99);
        let p_bad_to_good = 1.0 / burst.max(1.0);
        LossModel::GilbertElliott {
            p_good_to_bad: p * p_bad_to_good / (1.0 - p),
            p_bad_to_good,
        }
    }
}

/// Decides, datagram by datagram, whether to drop.
#[derive(Clone, Debug)]
pub struct Loss {
    model: LossModel,
    bad: bool,
    rng: Rng,
}

impl Loss {
    /// A loss process with its own seed.
    pub fn new(model: LossModel, seed: u64) -> Loss {
        Loss {
            model,
            bad: false,
            rng: Rng::new(seed),
        }
    }

    /// Whether the next datagram is lost.
    pub fn drop_next(&mut self) -> bool {
        match self.model {
            LossModel::None => false,
            LossModel::Independent(p) => self.rng.next_f64() < p,
            LossModel::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
            } => {
                let flip = if self.bad { p_bad_to_good } else { p_good_to_bad };
                if self.rng.next_f64() < flip {
                    self.bad = !self.bad;
                }
                self.bad
            }
        }
    }
}

/// Link behaviour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkConfig {
    /// Loss.
    pub loss: LossModel,
    /// Probability that a datagram is held back by up to `jitter` extra.
    pub reorder: f64,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// One-way delay.
    pub delay: Duration,
    /// Extra delay of reordered datagrams.
    pub jitter: Duration,
}

impl Default for LinkConfig {
    fn default() -> LinkConfig {
        LinkConfig {
            loss: LossModel::None,
            reorder: 0.0,
            duplicate: 0.0,
            delay: Duration::from_millis(1),
            jitter: Duration::from_millis(2),
        }
    }
}

/// One direction of a simulated link.
#[derive(Debug)]
pub struct Link {
    config: LinkConfig,
    loss: Loss,
    rng: Rng,
    queue: VecDeque<(Duration, Vec<u8>)>,
    /// Datagrams offered.
    pub offered: u64,
    /// Datagrams dropped.
    pub dropped: u64,
}

impl Link {
    /// A link with its own seed.
    pub fn new(config: LinkConfig, seed: u64) -> Link {
        Link {
            config,
            loss: Loss::new(config.loss, seed ^ 0x5EED),
            rng: Rng::new(seed),
            queue: VecDeque::new(),
            offered: 0,
            dropped: 0,
        }
    }

    /// Offers a datagram at `now`.
    pub fn handle_send(&mut self, now: Duration, datagram: &[u8]) {
        self.offered += 1;
        if self.loss.drop_next() {
            self.dropped += 1;
            return;
        }
        let copies = if self.rng.next_f64() < self.config.duplicate {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut at = now + self.config.delay;
            if self.rng.next_f64() < self.config.reorder {
                at += self.config.jitter.mul_f64(self.rng.next_f64());
            }
            let pos = self.queue.partition_point(|(t, _)| *t <= at);
            self.queue.insert(pos, (at, datagram.to_vec()));
        }
    }

    /// The next datagram due by `now`.
    pub fn poll_deliver(&mut self, now: Duration) -> Option<Vec<u8>> {
        if self.queue.front().is_some_and(|(t, _)| *t <= now) {
            self.queue.pop_front().map(|(_, d)| d)
        } else {
            None
        }
    }

    /// When the next datagram is due.
    pub fn next_delivery(&self) -> Option<Duration> {
        self.queue.front().map(|(t, _)| *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursty_loss_has_the_requested_average() {
        for p in [0.1, 0.3, 0.5] {
            let mut loss = Loss::new(LossModel::bursty(p, 4.0), 1);
            let n = 200_000;
            let lost = (0..n).filter(|_| loss.drop_next()).count();
            let rate = lost as f64 / n as f64;
            assert!((rate - p).abs() < 0.02, "{p}: {rate}");
        }
    }
}
