//! A deterministic link for virtual-time tests, one direction: random loss
//! (independent or Gilbert–Elliott), then a bottleneck of a fixed rate
//! behind a drop-tail queue, then a propagation delay with optional
//! reordering and duplication. That is the order of the emulated links in
//! `scripts/netem` (loss in the router's forwarding, rate on its egress,
//! then the delay line), so the same goals apply to both.

use alloc::collections::VecDeque;
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

/// Which datagrams a link drops at random.
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

    /// Average loss rate.
    pub fn mean(&self) -> f64 {
        match *self {
            LossModel::None => 0.0,
            LossModel::Independent(p) => p,
            LossModel::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
            } => p_good_to_bad / (p_good_to_bad + p_bad_to_good),
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

    /// Changes the model from the next datagram on.
    pub fn set_model(&mut self, model: LossModel) {
        self.model = model;
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
    /// Random loss, before the bottleneck.
    pub loss: LossModel,
    /// Bottleneck rate in bytes per second; 0 for none.
    pub rate: u64,
    /// Drop-tail queue in front of the bottleneck, bytes (with `rate`).
    pub queue: usize,
    /// One-way propagation delay.
    pub delay: Duration,
    /// Probability that a datagram is held back by up to `jitter` extra.
    pub reorder: f64,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// Extra delay of reordered datagrams.
    pub jitter: Duration,
}

impl Default for LinkConfig {
    /// No loss, no rate limit, 1 ms delay.
    fn default() -> LinkConfig {
        LinkConfig {
            loss: LossModel::None,
            rate: 0,
            queue: 0,
            delay: Duration::from_millis(1),
            reorder: 0.0,
            duplicate: 0.0,
            jitter: Duration::from_millis(2),
        }
    }
}

impl LinkConfig {
    /// A bottleneck of `mbit` Mbit/s, `delay` one way, random `loss`, with a
    /// queue of one bandwidth-delay product (the round trip's worth, at
    /// least 100 kB) as `scripts/netem/link.sh` sets up.
    pub fn shaped(mbit: u64, delay: Duration, loss: LossModel) -> LinkConfig {
        let rate = mbit * 125_000;
        let bdp = (rate as f64 * 2.0 * delay.as_secs_f64()) as usize;
        LinkConfig {
            loss,
            rate,
            queue: bdp.max(100_000),
            delay,
            ..LinkConfig::default()
        }
    }
}

/// One direction of a simulated link, carrying items of type `T`.
#[derive(Debug)]
pub struct Link<T> {
    config: LinkConfig,
    loss: Loss,
    rng: Rng,
    /// When the bottleneck finishes sending what is queued.
    busy_until: Duration,
    in_flight: VecDeque<(Duration, T)>,
    /// Items offered.
    pub offered: u64,
    /// Items dropped at random.
    pub dropped: u64,
    /// Items dropped because the queue was full.
    pub overflowed: u64,
    /// Longest time an item waited in the queue.
    pub max_queue_delay: Duration,
}

impl<T: Clone> Link<T> {
    /// A link with its own seed.
    pub fn new(config: LinkConfig, seed: u64) -> Link<T> {
        Link {
            config,
            loss: Loss::new(config.loss, seed ^ 0x5EED),
            rng: Rng::new(seed),
            busy_until: Duration::ZERO,
            in_flight: VecDeque::new(),
            offered: 0,
            dropped: 0,
            overflowed: 0,
            max_queue_delay: Duration::ZERO,
        }
    }

    /// The behaviour now.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// Changes the behaviour for items offered from now on (queued ones
    /// keep their departure times).
    pub fn set_config(&mut self, config: LinkConfig) {
        self.loss.set_model(config.loss);
        self.config = config;
    }

    /// Time an item offered at `now` would wait in the queue.
    pub fn queue_delay(&self, now: Duration) -> Duration {
        self.busy_until.saturating_sub(now)
    }

    /// Offers an item of `len` bytes at `now`.
    pub fn handle_send(&mut self, now: Duration, len: usize, item: T) {
        self.offered += 1;
        if self.loss.drop_next() {
            self.dropped += 1;
            return;
        }
        let mut departs = now;
        if self.config.rate > 0 {
            let wait = self.queue_delay(now);
            let backlog = wait.as_secs_f64() * self.config.rate as f64;
            if backlog + len as f64 > self.config.queue.max(len) as f64 {
                self.overflowed += 1;
                return;
            }
            self.max_queue_delay = self.max_queue_delay.max(wait);
            departs = now.max(self.busy_until) + Duration::from_secs_f64(len as f64 / self.config.rate as f64);
            self.busy_until = departs;
        }
        let copies = if self.rng.next_f64() < self.config.duplicate {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut at = departs + self.config.delay;
            if self.rng.next_f64() < self.config.reorder {
                at += self.config.jitter.mul_f64(self.rng.next_f64());
            }
            let pos = self.in_flight.partition_point(|(t, _)| *t <= at);
            self.in_flight.insert(pos, (at, item.clone()));
        }
    }

    /// The next item due by `now`.
    pub fn poll_deliver(&mut self, now: Duration) -> Option<T> {
        if self.in_flight.front().is_some_and(|(t, _)| *t <= now) {
            self.in_flight.pop_front().map(|(_, d)| d)
        } else {
            None
        }
    }

    /// When the next item is due.
    pub fn next_delivery(&self) -> Option<Duration> {
        self.in_flight.front().map(|(t, _)| *t)
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
            assert!((LossModel::bursty(p, 4.0).mean() - p).abs() < 1e-9);
        }
    }

    #[test]
    fn the_bottleneck_serialises_at_its_rate_and_drops_at_the_tail() {
        // 1 MB/s, a 10-item queue of 1000-byte items, 5 ms delay.
        let config = LinkConfig {
            rate: 1_000_000,
            queue: 10_000,
            delay: Duration::from_millis(5),
            ..LinkConfig::default()
        };
        let mut link: Link<u32> = Link::new(config, 1);
        for i in 0..15 {
            link.handle_send(Duration::ZERO, 1000, i);
        }
        assert_eq!(link.overflowed, 5);
        let mut arrivals = alloc::vec::Vec::new();
        let mut now = Duration::ZERO;
        while let Some(t) = link.next_delivery() {
            now = t;
            arrivals.push((now, link.poll_deliver(now).unwrap()));
        }
        // One item per millisecond after the delay, in order.
        for (i, (at, item)) in arrivals.iter().enumerate() {
            assert_eq!(*item, i as u32);
            assert_eq!(*at, Duration::from_millis(6 + i as u64));
        }
        assert_eq!(link.max_queue_delay, Duration::from_millis(9));
        // A rate change applies to what is offered next.
        link.set_config(LinkConfig {
            rate: 500_000,
            ..config
        });
        link.handle_send(now, 1000, 99);
        assert_eq!(link.next_delivery(), Some(now + Duration::from_millis(7)));
    }
}
