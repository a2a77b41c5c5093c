//! A bulk TCP CUBIC flow, modelled for the simulator as the competitor of
//! the fairness runs: ACK-clocked (unpaced) segments of 1500 bytes, one
//! ACK per segment, loss detected three segments later or by a
//! retransmission timeout, window growth and reduction after RFC 9438
//! (C = 0.4, β = 0.7, with its Reno-friendly region) and slow start.
//! Each transmission has its own number, so a retransmission is just
//! another segment; what is acknowledged is delivered.

use alloc::collections::VecDeque;
use core::time::Duration;

use super::congestion::cbrt;

/// Bytes of a segment on the link.
pub const SEGMENT_LEN: usize = 1500;
/// Payload bytes of a segment.
pub const PAYLOAD_LEN: usize = 1448;
const C: f64 = 0.4;
const BETA: f64 = 0.7;
const REORDER_THRESHOLD: u64 = 3;
const MIN_RTO: Duration = Duration::from_millis(200);

/// A data segment or its acknowledgement: both name the transmission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Transmission number.
    pub number: u64,
    /// When it was sent, echoed by the ACK.
    pub sent_at: Duration,
}

#[derive(Clone, Copy, Debug)]
struct Outstanding {
    number: u64,
    sent_at: Duration,
    done: bool,
}

/// The sending half of a CUBIC flow; the receiving half just echoes each
/// segment as its ACK.
#[derive(Clone, Debug)]
pub struct CubicSender {
    cwnd: f64,
    ssthresh: f64,
    w_max: f64,
    epoch: Option<(Duration, f64, f64)>,
    reno_estimate: f64,
    recovery_until: u64,
    next: u64,
    outstanding: VecDeque<Outstanding>,
    in_flight: u64,
    srtt: Option<Duration>,
    min_rtt: Duration,
    /// Segments acknowledged.
    pub delivered: u64,
    /// Congestion events (window reductions).
    pub reductions: u64,
}

impl Default for CubicSender {
    fn default() -> CubicSender {
        CubicSender::new()
    }
}

impl CubicSender {
    /// A flow in slow start with an initial window of 10 segments.
    pub fn new() -> CubicSender {
        CubicSender {
            cwnd: 10.0,
            ssthresh: f64::INFINITY,
            w_max: 0.0,
            epoch: None,
            reno_estimate: 0.0,
            recovery_until: 0,
            next: 0,
            outstanding: VecDeque::new(),
            in_flight: 0,
            srtt: None,
            min_rtt: Duration::MAX,
            delivered: 0,
            reductions: 0,
        }
    }

    /// Payload bytes acknowledged.
    pub fn delivered_bytes(&self) -> u64 {
        self.delivered * PAYLOAD_LEN as u64
    }

    /// Congestion window, segments.
    pub fn window(&self) -> f64 {
        self.cwnd
    }

    /// The next segment, if the window has room.
    pub fn poll_transmit(&mut self, now: Duration) -> Option<Segment> {
        self.check_timeout(now);
        if self.in_flight >= (self.cwnd as u64).max(1) {
            return None;
        }
        let segment = Segment {
            number: self.next,
            sent_at: now,
        };
        self.next += 1;
        self.in_flight += 1;
        self.outstanding.push_back(Outstanding {
            number: segment.number,
            sent_at: now,
            done: false,
        });
        Some(segment)
    }

    /// When the retransmission timer fires.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let oldest = self.outstanding.iter().find(|o| !o.done)?;
        Some(oldest.sent_at + self.rto())
    }

    fn rto(&self) -> Duration {
        self.srtt.map_or(Duration::from_secs(1), |s| (s * 2).max(MIN_RTO))
    }

    fn check_timeout(&mut self, now: Duration) {
        let Some(deadline) = self.poll_timeout() else { return };
        if now < deadline {
            return;
        }
        // Everything outstanding is lost; restart from one segment.
        for o in self.outstanding.iter_mut().filter(|o| !o.done) {
            o.done = true;
        }
        self.in_flight = 0;
        self.outstanding.clear();
        self.reduce();
        self.ssthresh = self.cwnd.max(2.0);
        self.cwnd = 1.0;
        self.recovery_until = self.next;
    }

    /// Feeds the ACK of one segment.
    pub fn handle_ack(&mut self, now: Duration, ack: Segment) {
        let Some(i) = self.outstanding.iter().position(|o| o.number == ack.number) else {
            return;
        };
        if self.outstanding[i].done {
            return;
        }
        self.outstanding[i].done = true;
        self.in_flight -= 1;
        self.delivered += 1;
        let rtt = now.saturating_sub(ack.sent_at);
        self.min_rtt = self.min_rtt.min(rtt);
        self.srtt = Some(self.srtt.map_or(rtt, |s| (s * 7 + rtt) / 8));
        // Segments three numbers older and still unacknowledged are lost.
        let mut lost = false;
        for o in self.outstanding.iter_mut() {
            if o.number + REORDER_THRESHOLD > ack.number {
                break;
            }
            if !o.done {
                o.done = true;
                self.in_flight -= 1;
                lost |= o.number >= self.recovery_until;
            }
        }
        while self.outstanding.front().is_some_and(|o| o.done) {
            self.outstanding.pop_front();
        }
        if lost {
            self.reduce();
            self.cwnd = (self.cwnd * BETA).max(2.0);
            self.ssthresh = self.cwnd;
            self.recovery_until = self.next;
        } else if ack.number >= self.recovery_until {
            self.grow(now);
        }
    }

    fn reduce(&mut self) {
        self.reductions += 1;
        // Fast convergence: a flow losing ground releases more.
        self.w_max = if self.cwnd < self.w_max {
            self.cwnd * (1.0 + BETA) / 2.0
        } else {
            self.cwnd
        };
        self.epoch = None;
    }

    fn grow(&mut self, now: Duration) {
        if self.cwnd < self.ssthresh {
            self.cwnd += 1.0;
            return;
        }
        let (start, k, origin) = *self.epoch.get_or_insert_with(|| {
            self.reno_estimate = self.cwnd;
            let k = cbrt((self.w_max - self.cwnd).max(0.0) / C);
            (now, k, self.w_max.max(self.cwnd))
        });
        let t = (now - start).as_secs_f64() + self.min_rtt.as_secs_f64().min(1.0);
        let target = origin + C * (t - k) * (t - k) * (t - k);
        let cubic = if target > self.cwnd {
            self.cwnd + (target - self.cwnd) / self.cwnd
        } else {
            self.cwnd + 0.01 / self.cwnd
        };
        // Reno-friendly region: never slower than Reno would grow.
        self.reno_estimate += 3.0 * (1.0 - BETA) / (1.0 + BETA) / self.reno_estimate.max(1.0);
        self.cwnd = cubic.max(self.reno_estimate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_segment_reduces_the_window_once_per_round() {
        let mut flow = CubicSender::new();
        let mut now = Duration::ZERO;
        let sent: alloc::vec::Vec<Segment> = core::iter::from_fn(|| flow.poll_transmit(now)).collect();
        assert_eq!(sent.len(), 10);
        now += Duration::from_millis(10);
        // Segment 0 lost, 1..=9 acknowledged: slow start to 12 by ACKs 1
        // and 2, one reduction (×0.7) when ACK 3 shows 0 lost, no growth
        // for the rest of the round.
        for s in &sent[1..] {
            flow.handle_ack(now, *s);
        }
        assert_eq!(flow.reductions, 1);
        assert!((flow.window() - 8.4).abs() < 1e-9, "{}", flow.window());
        assert_eq!(flow.delivered, 9);
    }
}
