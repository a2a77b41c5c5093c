//! The bottleneck delivery rate: how fast datagrams arrived at the
//! receiver, on the receiver's clock (so that feedback lost or bunched on
//! the way back does not distort it), over about one min-RTT, and the
//! largest such rate of the last rounds. As BBR does against ACK
//! compression, a sample's interval is the longer of the arrival interval
//! and the interval over which those datagrams were sent: a receiver that
//! stalls and then reads a backlog at once reports a burst of arrivals
//! that no link delivered.

use core::time::Duration;

use super::Ack;

/// Arrival-curve points kept, one per quarter min-RTT.
const MARKS: usize = 16;
/// Rounds the maximum delivery rate is kept.
const ROUNDS: usize = 10;

/// A point on the receiver's arrival curve.
#[derive(Clone, Copy, Debug, Default)]
struct Mark {
    received_at: Duration,
    received: u64,
    echo_seq: u64,
    echo_sent_at: Duration,
}

/// Delivery-rate samples from the receiver's cumulative counts.
#[derive(Clone, Debug)]
pub(super) struct DeliverySampler {
    marks: [Mark; MARKS],
    count: usize,
    /// Datagrams before this one were sent app-limited.
    app_limited_until: u64,
}

impl DeliverySampler {
    pub(super) fn new() -> DeliverySampler {
        DeliverySampler {
            marks: [Mark::default(); MARKS],
            count: 0,
            app_limited_until: 0,
        }
    }

    /// The sender had nothing to send up to datagram `next_seq`.
    pub(super) fn on_app_limited(&mut self, next_seq: u64) {
        self.app_limited_until = next_seq + 1;
    }

    /// Bytes per second over about `span` of the receiver's clock ending at
    /// this feedback, and whether the sender was app-limited meanwhile.
    pub(super) fn sample(&mut self, ack: &Ack, span: Duration, datagram_len: f64) -> Option<(f64, bool)> {
        let newest = self.count.checked_sub(1).map(|i| self.marks[i % MARKS]);
        if newest.is_none_or(|m| ack.received_at >= m.received_at + span / 4) {
            self.marks[self.count % MARKS] = Mark {
                received_at: ack.received_at,
                received: ack.received,
                echo_seq: ack.echo_seq,
                echo_sent_at: ack.echo_sent_at,
            };
            self.count += 1;
        }
        // The newest mark at least a span old, else the oldest kept.
        let oldest = self.count - self.count.min(MARKS);
        let base = (oldest..self.count)
            .rev()
            .map(|i| self.marks[i % MARKS])
            .find(|m| m.received_at + span <= ack.received_at)
            .unwrap_or(self.marks[oldest % MARKS]);
        let arrived = ack.received_at.checked_sub(base.received_at)?;
        let delivered = ack.received.checked_sub(base.received)?;
        if arrived < span / 2 || delivered < 4 {
            return None;
        }
        let sent = ack.echo_sent_at.saturating_sub(base.echo_sent_at);
        let rate = delivered as f64 * datagram_len / arrived.max(sent).as_secs_f64();
        Some((rate, self.app_limited_until > base.echo_seq))
    }
}

/// The largest sample of each of the last [`ROUNDS`] rounds.
#[derive(Clone, Debug)]
pub(super) struct MaxFilter {
    rounds: [f64; ROUNDS],
}

impl MaxFilter {
    pub(super) fn new() -> MaxFilter {
        MaxFilter { rounds: [0.0; ROUNDS] }
    }

    /// The maximum over the kept rounds.
    pub(super) fn get(&self) -> f64 {
        self.rounds.iter().copied().fold(0.0, f64::max)
    }

    /// Round `round` begins: its slot forgets the round ten before.
    pub(super) fn start_round(&mut self, round: u64) {
        self.rounds[(round % ROUNDS as u64) as usize] = 0.0;
    }

    /// A sample in round `round`.
    pub(super) fn update(&mut self, round: u64, value: f64) {
        let slot = &mut self.rounds[(round % ROUNDS as u64) as usize];
        *slot = slot.max(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_measured_on_the_receiver_clock_over_a_span() {
        let mut sampler = DeliverySampler::new();
        let span = Duration::from_millis(40);
        // 1000 datagrams of 1000 bytes a second: one per millisecond,
        // sent 10 ms before they arrive.
        let ack = |ms: u64| Ack {
            echo_seq: ms,
            received: ms,
            received_at: Duration::from_millis(ms),
            echo_sent_at: Duration::from_millis(ms.saturating_sub(10)),
            rtt: None,
        };
        let mut last = None;
        for ms in (0..200u64).step_by(4) {
            last = sampler.sample(&ack(ms), span, 1000.0);
        }
        let (rate, app_limited) = last.unwrap();
        assert!((rate - 1e6).abs() < 1.0, "{rate}");
        assert!(!app_limited);
        sampler.on_app_limited(200);
        let (_, app_limited) = sampler.sample(&ack(204), span, 1000.0).unwrap();
        assert!(app_limited);
    }

    #[test]
    fn a_backlog_read_at_once_is_not_a_faster_link() {
        let mut sampler = DeliverySampler::new();
        let span = Duration::from_millis(40);
        // Sent one per millisecond; the receiver stalls 30 ms, then reads
        // the 30 queued at once: arrivals say 70 in 40 ms.
        let ack = |seq: u64, at: u64| Ack {
            echo_seq: seq,
            received: seq,
            received_at: Duration::from_millis(at),
            echo_sent_at: Duration::from_millis(seq),
            rtt: None,
        };
        for ms in (0..=60u64).step_by(4) {
            sampler.sample(&ack(ms, ms), span, 1000.0);
        }
        let (rate, _) = sampler.sample(&ack(100, 90), span, 1000.0).unwrap();
        assert!(rate <= 1e6 + 1.0, "{rate}");
    }

    #[test]
    fn the_maximum_forgets_after_ten_rounds() {
        let mut filter = MaxFilter::new();
        filter.update(0, 5.0);
        for round in 1..10 {
            filter.start_round(round);
            filter.update(round, 1.0);
        }
        assert_eq!(filter.get(), 5.0);
        filter.start_round(10);
        assert_eq!(filter.get(), 1.0);
    }
}
