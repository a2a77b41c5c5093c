//! Congestion control in the spirit of BBR, sans-IO: fed what the receiver
//! reports, asked for a pacing rate and a window.
//!
//! The model of the path is its bottleneck delivery rate (the fastest the
//! receiver saw data arrive over about a min-RTT, on its own clock, kept
//! for ten rounds) and its minimum round-trip time. The sender paces at the
//! delivery rate times a gain that cycles (probe ×1.25, drain ×0.75, cruise
//! ×1, one min-RTT each), and keeps at most two bandwidth-delay products in
//! flight — so a round-trip time rising above twice the minimum (a queue)
//! slows it down. Startup doubles the rate each round until the delivery
//! rate stops growing, loss rises, or the first RTT samples of a round show
//! a queue (as HyStart++ does).
//!
//! Random loss — what the link loses whatever the rate — is repaired by
//! coding, not obeyed: the pacing rate is divided by (1 − random loss) so
//! the receiver still gets the bottleneck rate. Loss that rises with the
//! rate bounds the window like a CUBIC flow's ([`loss`]), which is what
//! makes the sender share a bottleneck with TCP.
//!
//! `docs/rlnc-transfer.md` describes the controller with its constants.

mod delivery;
mod loss;
mod roots;

use core::time::Duration;

use delivery::{DeliverySampler, MaxFilter};
use loss::{LossClassifier, Verdict};

use super::receiver::FEEDBACK_EVERY;
pub(crate) use roots::{cbrt, sqrt};

/// Startup gain: doubles the delivery rate each round (2 / ln 2).
const STARTUP_GAIN: f64 = 2.885;
/// ProbeBW gain cycle, one phase per min-RTT (at least [`MIN_PHASE`]).
const CYCLE: [f64; 8] = [1.25, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
/// Index of the drain phase in [`CYCLE`].
const DRAIN_PHASE: usize = 1;
/// Index of the first cruise phase in [`CYCLE`].
const CRUISE_PHASE: usize = 2;
/// Bandwidth-delay products in flight at most (Startup and ProbeBW): with
/// a queue of one BDP, Startup's last round cannot overflow it (BBRv3).
const WINDOW_GAIN: f64 = 2.0;
/// Feedback spans the window covers at least: the receiver reports after
/// [`FEEDBACK_EVERY`] datagrams (or 2 ms), so a window below two spans waits
/// for its timer, and for a probe when a feedback is lost — on a path whose
/// BDP is a few datagrams (loopback, a LAN) that, not the path, would set the
/// rate.
const FEEDBACK_SPANS: f64 = 2.0;
/// Outside the probe phase, the window stays this far under a loss bound
/// (as BBRv2 cruises), leaving room for a loss-based flow to grow into.
const CRUISE_HEADROOM: f64 = 0.85;
/// Shortest phase: feedback and the sender's timer granularity need a few
/// milliseconds to see a phase's effect, whatever the RTT.
const MIN_PHASE: Duration = Duration::from_millis(5);
/// A min-RTT older than this is re-measured in ProbeRTT.
const MIN_RTT_LIFETIME: Duration = Duration::from_secs(10);
/// How long ProbeRTT holds the window at half a BDP.
const PROBE_RTT_TIME: Duration = Duration::from_millis(200);
/// Startup ends when the delivery rate grew less than this over …
const STARTUP_GROWTH: f64 = 1.25;
/// … this many rounds.
const STARTUP_ROUNDS: u32 = 3;
/// RTT samples of a round whose minimum decides whether Startup built a
/// queue: the round's first datagrams went out before it grew.
const STARTUP_RTT_SAMPLES: u32 = 8;
/// An RTT above min-RTT × this (+ [`QUEUE_SLACK`]) shows a standing queue.
const QUEUE_RTT_FACTOR: f64 = 1.25;
/// Absolute slack on the queue test: timer and feedback jitter.
const QUEUE_SLACK: Duration = Duration::from_millis(1);
/// No RTT sample within this factor of min-RTT for [`PATH_CHANGE_TIME`]
/// (and eight RTTs) means the path got longer, not a queue: a loss-based
/// flow filling a one-BDP buffer doubles the RTT at most.
const PATH_CHANGE_FACTOR: f64 = 2.5;
/// See [`PATH_CHANGE_FACTOR`].
const PATH_CHANGE_TIME: Duration = Duration::from_secs(1);
/// Before any RTT sample.
const INITIAL_RTT: Duration = Duration::from_millis(100);

/// The controller's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Doubling the rate each round until the pipe is full.
    Startup,
    /// Draining the queue Startup built.
    Drain,
    /// Cycling the gain around the measured delivery rate.
    ProbeBandwidth,
    /// Holding the window at half a BDP to re-measure the min-RTT.
    ProbeRtt,
}

/// What one feedback datagram tells the controller.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ack {
    /// Highest data sequence number the receiver saw.
    pub echo_seq: u64,
    /// Data datagrams it received so far.
    pub received: u64,
    /// Its clock at the latest arrival.
    pub received_at: Duration,
    /// When `echo_seq` was sent, on the sender's clock.
    pub echo_sent_at: Duration,
    /// Round-trip time of `echo_seq`, without the receiver's delay.
    pub rtt: Option<Duration>,
}

/// A stretch of RTT samples all well above min-RTT.
#[derive(Clone, Copy, Debug)]
struct HighRtt {
    since: Duration,
    /// The smallest sample of the stretch's second half (the first may
    /// hold datagrams that crossed the change).
    lowest: Option<Duration>,
}

/// The congestion controller.
#[derive(Clone, Debug)]
pub struct Controller {
    datagram_len: f64,
    ceiling: f64,
    initial_window: f64,
    state: State,
    phase: usize,
    phase_start: Duration,
    probe_rtt_until: Option<Duration>,
    // Path model.
    delivery: DeliverySampler,
    bandwidth: MaxFilter,
    min_rtt: Option<Duration>,
    min_rtt_at: Duration,
    srtt: Option<Duration>,
    rttvar: Duration,
    /// While no RTT sample comes near min-RTT: since when, and the
    /// smallest sample since `high_rtt_half`.
    high_rtt: Option<HighRtt>,
    /// The latest RTT sample.
    latest_rtt: Option<Duration>,
    loss: LossClassifier,
    bound_bytes: f64,
    // Rounds: a round ends when a datagram sent after it began is echoed.
    round: u64,
    round_end_seq: u64,
    round_min_rtt: Option<Duration>,
    round_rtt_samples: u32,
    full_bw: f64,
    full_bw_rounds: u32,
    echo_seq: Option<u64>,
    next_seq: u64,
}

impl Controller {
    /// A controller for datagrams of `datagram_len` bytes, pacing at most
    /// `ceiling` bytes per second (0: no ceiling), starting with
    /// `initial_window` datagrams in flight.
    pub fn new(datagram_len: usize, ceiling: u64, initial_window: u32) -> Controller {
        Controller {
            datagram_len: datagram_len.max(1) as f64,
            ceiling: if ceiling == 0 { f64::INFINITY } else { ceiling as f64 },
            initial_window: f64::from(initial_window.max(2)),
            state: State::Startup,
            phase: CRUISE_PHASE,
            phase_start: Duration::ZERO,
            probe_rtt_until: None,
            delivery: DeliverySampler::new(),
            bandwidth: MaxFilter::new(),
            min_rtt: None,
            min_rtt_at: Duration::ZERO,
            srtt: None,
            rttvar: Duration::ZERO,
            high_rtt: None,
            latest_rtt: None,
            loss: LossClassifier::new(),
            bound_bytes: f64::INFINITY,
            round: 0,
            round_end_seq: 0,
            round_min_rtt: None,
            round_rtt_samples: 0,
            full_bw: 0.0,
            full_bw_rounds: 0,
            echo_seq: None,
            next_seq: 0,
        }
    }

    /// The phase.
    pub fn state(&self) -> State {
        self.state
    }

    /// Bottleneck delivery rate estimate, bytes per second at the receiver
    /// (0 before the first sample).
    pub fn delivery_rate(&self) -> f64 {
        self.bandwidth.get()
    }

    /// Smallest RTT seen within its lifetime.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    /// Smoothed RTT.
    pub fn smoothed_rtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// Loss the link shows whatever the rate (0 until measured): what a
    /// generation's first pass must outlast. Transient congestion loss is
    /// left to BOOST.
    pub fn random_loss(&self) -> f64 {
        self.loss.random()
    }

    /// Loss of the recent rounds, whatever its cause.
    pub fn recent_loss(&self) -> f64 {
        self.loss.recent()
    }

    /// Rounds that ended.
    pub fn rounds(&self) -> u64 {
        self.round
    }

    /// Times loss rose with the rate (the window was cut), and times such
    /// a cut was undone because the loss did not fall with the rate.
    pub fn congestion_events(&self) -> (u64, u64) {
        (self.loss.cuts, self.loss.undone)
    }

    fn gain(&self) -> f64 {
        match self.state {
            State::Startup => STARTUP_GAIN,
            State::Drain => 1.0 / STARTUP_GAIN,
            State::ProbeBandwidth => CYCLE[self.phase],
            State::ProbeRtt => 1.0,
        }
    }

    /// The rate the link must be offered for the receiver to get `rate`.
    fn offered(&self, rate: f64) -> f64 {
        rate / (1.0 - self.random_loss().min(0.9))
    }

    /// Pacing rate, bytes per second.
    pub fn pacing_rate(&self) -> f64 {
        // Under a loss bound the rate follows the window too, so that a cut
        // lowers what is sent even where pacing, not the window, limits.
        let bounded = self.effective_bound() / self.srtt.unwrap_or(INITIAL_RTT).as_secs_f64();
        self.model_rate().min(self.gain() * bounded)
    }

    /// The pacing rate the path model asks for, before any loss bound.
    fn model_rate(&self) -> f64 {
        let bw = self.delivery_rate();
        let rate = if bw == 0.0 {
            // Before any sample: the initial window per RTT, at the startup gain.
            let rtt = self.srtt.unwrap_or(INITIAL_RTT).as_secs_f64();
            STARTUP_GAIN * self.initial_window * self.datagram_len / rtt
        } else {
            self.gain() * self.offered(bw)
        };
        rate.min(self.ceiling)
    }

    /// The bandwidth-delay product in bytes offered (0 before samples).
    pub fn bdp(&self) -> f64 {
        match self.min_rtt {
            Some(rtt) => self.offered(self.delivery_rate().min(self.ceiling)) * rtt.as_secs_f64(),
            None => 0.0,
        }
    }

    /// Bytes that may be in flight (not yet echoed).
    pub fn window(&self) -> f64 {
        let bdp = self.bdp();
        let target = match self.state {
            _ if bdp == 0.0 => self.initial_window * self.datagram_len,
            State::ProbeRtt => bdp / 2.0,
            _ => WINDOW_GAIN * bdp,
        };
        // A few pacing bursts on top absorb feedback batching.
        (target + 4.0 * self.burst())
            .min(self.effective_bound())
            .max(self.feedback_floor())
    }

    /// The smallest window: two feedback spans of datagrams that arrive,
    /// sent at the link's random loss.
    fn feedback_floor(&self) -> f64 {
        let arriving = 1.0 - self.random_loss().min(0.9);
        FEEDBACK_SPANS * f64::from(FEEDBACK_EVERY) / arriving * self.datagram_len
    }

    /// The loss bound in bytes as it limits the window now: with headroom
    /// when cruising, never below one BDP (and two bursts), since what it
    /// takes below the pipe lowers the delivery rate it is measured
    /// against, and a cut for a loss spike that was no congestion would
    /// then cost a spiral rather than a dent.
    fn effective_bound(&self) -> f64 {
        let bound = match self.state {
            State::ProbeBandwidth if CYCLE[self.phase] <= 1.0 => CRUISE_HEADROOM * self.bound_bytes,
            _ => self.bound_bytes,
        };
        bound.max(self.bdp() + 2.0 * self.burst())
    }

    /// Pacing burst: about a millisecond of sending, 2 to 48 datagrams.
    pub fn burst(&self) -> f64 {
        (self.model_rate() / 1000.0).clamp(2.0 * self.datagram_len, 48.0 * self.datagram_len)
    }

    /// Probe timeout: how long to wait for feedback before sending a probe.
    pub fn probe_timeout(&self) -> Duration {
        let srtt = self.srtt.unwrap_or(INITIAL_RTT);
        srtt + (self.rttvar * 4).max(Duration::from_millis(1)) + Duration::from_millis(2)
    }

    /// Whether a datagram may be sent with `in_flight` datagrams not yet echoed.
    pub fn can_send(&self, in_flight: u64) -> bool {
        (in_flight as f64 + 1.0) * self.datagram_len <= self.window()
    }

    /// Datagrams sent and not yet echoed.
    fn in_flight(&self) -> f64 {
        self.next_seq.saturating_sub(self.echo_seq.map_or(0, |e| e + 1)) as f64
    }

    /// Records that datagram `seq` was sent at `now`.
    pub fn on_send(&mut self, now: Duration, seq: u64) {
        if self.next_seq == 0 {
            self.phase_start = now;
            self.min_rtt_at = now;
        }
        self.next_seq = seq + 1;
        self.advance_phase(now);
        self.update_bound(now);
        self.loss.on_send(seq, self.gain(), self.in_flight(), self.round);
    }

    /// Records that the sender had nothing to send although pacing and the
    /// window allowed (input, flow control): rate samples until the next
    /// datagram is echoed say nothing about the path's rate.
    pub fn on_app_limited(&mut self) {
        self.delivery.on_app_limited(self.next_seq);
    }

    /// Feeds one feedback datagram's measurements.
    pub fn on_ack(&mut self, now: Duration, ack: &Ack) {
        if self.echo_seq.is_some_and(|e| ack.echo_seq < e) {
            return; // Older than what is known (reordered feedback).
        }
        self.echo_seq = Some(ack.echo_seq);
        if let Some(rtt) = ack.rtt {
            self.on_rtt(now, rtt);
        }
        let span = self.min_rtt.unwrap_or(INITIAL_RTT).max(Duration::from_millis(1));
        let sample = self.delivery.sample(ack, span, self.datagram_len);
        let round_ended = ack.echo_seq >= self.round_end_seq;
        if round_ended {
            self.round += 1;
            self.round_end_seq = self.next_seq;
            self.bandwidth.start_round(self.round);
            self.loss.on_round_start(self.round);
        }
        if let Some((rate, app_limited)) = sample
            && (!app_limited || rate > self.delivery_rate())
        {
            self.bandwidth.update(self.round, rate);
        }
        if round_ended {
            self.on_round_end(now, ack);
        }
        self.advance_phase(now);
        self.update_bound(now);
    }

    fn on_rtt(&mut self, now: Duration, rtt: Duration) {
        let expired = now.saturating_sub(self.min_rtt_at) > MIN_RTT_LIFETIME;
        if self.min_rtt.is_none_or(|m| rtt <= m) || expired {
            if expired && self.state == State::ProbeBandwidth {
                // Re-measure it with the queue drained.
                self.state = State::ProbeRtt;
                self.probe_rtt_until = None;
            }
            self.min_rtt = Some(rtt);
            self.min_rtt_at = now;
        }
        self.detect_path_change(now, rtt);
        self.latest_rtt = Some(rtt);
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let deviation = srtt.abs_diff(rtt);
                self.rttvar = (self.rttvar * 3 + deviation) / 4;
                self.srtt = Some((srtt * 7 + rtt) / 8);
            }
        }
        self.loss.on_rtt(rtt);
        self.round_min_rtt = Some(self.round_min_rtt.map_or(rtt, |m| m.min(rtt)));
        self.round_rtt_samples += 1;
        if self.state == State::Startup
            && self.round_rtt_samples >= STARTUP_RTT_SAMPLES
            && self.queued(self.round_min_rtt)
        {
            // Even the round's fastest datagrams waited in a queue: the pipe is full.
            self.state = State::Drain;
        }
    }

    /// Adopts a longer path at once instead of after the min-RTT lifetime:
    /// no sample near the minimum for a second and eight round trips.
    fn detect_path_change(&mut self, now: Duration, rtt: Duration) {
        let Some(min) = self.min_rtt else { return };
        if rtt <= min.mul_f64(PATH_CHANGE_FACTOR) {
            self.high_rtt = None;
            return;
        }
        let wait = PATH_CHANGE_TIME.max(self.srtt.unwrap_or(rtt) * 8);
        let high = self.high_rtt.get_or_insert(HighRtt {
            since: now,
            lowest: None,
        });
        let elapsed = now.saturating_sub(high.since);
        if elapsed >= wait / 2 {
            high.lowest = Some(high.lowest.map_or(rtt, |l| l.min(rtt)));
        }
        if elapsed >= wait {
            self.min_rtt = high.lowest;
            self.min_rtt_at = now;
            self.high_rtt = None;
        }
    }

    /// Whether `rtt` shows a standing queue: above min-RTT by a quarter
    /// (plus [`QUEUE_SLACK`]).
    fn queued(&self, rtt: Option<Duration>) -> bool {
        match (self.min_rtt, rtt) {
            (Some(min), Some(rtt)) => rtt > min.mul_f64(QUEUE_RTT_FACTOR) + QUEUE_SLACK,
            _ => false,
        }
    }

    fn on_round_end(&mut self, now: Duration, ack: &Ack) {
        self.round_min_rtt = None;
        self.round_rtt_samples = 0;
        if let Some((start, end)) = self.loss.on_round_end(ack.echo_seq, ack.received) {
            let queued = self.queued(end.min_rtt);
            let startup = self.state == State::Startup;
            let verdict = self.loss.classify(now, start, &end, queued, startup, self.next_seq);
            match (verdict, self.state) {
                (Verdict::Quiet, _) | (Verdict::Undone, State::Startup) => {}
                (_, State::Startup) => self.state = State::Drain,
                // An undone cut drains too: until a window sent below the
                // rate has shown the link's random loss.
                (_, State::ProbeBandwidth) if self.phase != DRAIN_PHASE => {
                    self.phase = DRAIN_PHASE;
                    self.phase_start = now;
                }
                _ => {}
            }
        }
        match self.state {
            State::Startup => {
                let bw = self.delivery_rate();
                if bw >= self.full_bw * STARTUP_GROWTH {
                    self.full_bw = bw;
                    self.full_bw_rounds = 0;
                } else {
                    self.full_bw_rounds += 1;
                    if self.full_bw_rounds >= STARTUP_ROUNDS {
                        self.state = State::Drain;
                    }
                }
            }
            State::ProbeRtt => match self.probe_rtt_until {
                None => self.probe_rtt_until = Some(now + PROBE_RTT_TIME),
                Some(until) if now >= until => {
                    self.min_rtt_at = now;
                    self.enter_probe_bandwidth(now);
                }
                Some(_) => {}
            },
            State::Drain | State::ProbeBandwidth => {}
        }
    }

    /// Re-evaluates the loss bound; drops it once it no longer binds.
    fn update_bound(&mut self, now: Duration) {
        let rtt = self.srtt.unwrap_or(INITIAL_RTT);
        let Some(datagrams) = self.loss.bound(now, rtt) else {
            self.bound_bytes = f64::INFINITY;
            return;
        };
        self.bound_bytes = datagrams * self.datagram_len;
        if self.bound_bytes > WINDOW_GAIN * self.bdp() && self.state == State::ProbeBandwidth {
            self.loss.release_bound();
        }
    }

    fn enter_probe_bandwidth(&mut self, now: Duration) {
        self.state = State::ProbeBandwidth;
        // Start cruising: the probe comes after the queue had time to settle.
        self.phase = CRUISE_PHASE;
        self.phase_start = now;
    }

    /// Moves through Drain and the ProbeBW cycle.
    fn advance_phase(&mut self, now: Duration) {
        let in_flight = self.in_flight() * self.datagram_len;
        match self.state {
            State::Drain if in_flight <= self.bdp() => self.enter_probe_bandwidth(now),
            State::ProbeBandwidth => {
                let length = self.min_rtt.unwrap_or(INITIAL_RTT).max(MIN_PHASE);
                let elapsed = now.saturating_sub(self.phase_start);
                let measuring = self.phase == DRAIN_PHASE && self.loss.measuring();
                let over = if measuring {
                    elapsed >= length * 4
                } else if self.phase == DRAIN_PHASE {
                    // Drain on while the RTT still shows a queue (what a
                    // rate change left behind), up to four times as long.
                    elapsed >= length * 4 || (elapsed >= length && !self.queued(self.latest_rtt))
                } else {
                    elapsed >= length
                };
                let drained = self.phase == DRAIN_PHASE && in_flight <= self.bdp() && !measuring;
                if over || drained {
                    self.phase = (self.phase + 1) % CYCLE.len();
                    self.phase_start = now;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::VecDeque;

    /// A fluid model of one bottleneck, stepped each millisecond: the
    /// controller's pacing offered to a link of `rate` bytes/s behind a
    /// drop-tail queue of `queue_bdp` bandwidth-delay products, random loss
    /// before it, a fixed propagation RTT, feedback each step. Returns the
    /// controller and the delivery rate over the second half.
    fn fluid(rate: f64, rtt_ms: u64, loss: f64, queue_bdp: f64, seconds: f64) -> (Controller, f64) {
        let len = 1250.0;
        let mut c = Controller::new(len as usize, 0, 32);
        let rtt = Duration::from_millis(rtt_ms);
        let step = Duration::from_millis(1);
        let limit = queue_bdp * rate * rtt.as_secs_f64();
        // Queued: (last seq of the step's datagrams, when sent, bytes left).
        let mut queue: VecDeque<(u64, Duration, f64)> = VecDeque::new();
        // On their way back: (when the feedback arrives, echo, received, arrival, sent).
        let mut acks: VecDeque<(Duration, u64, u64, Duration, Duration)> = VecDeque::new();
        let (mut seq, mut received, mut late) = (0u64, 0.0f64, 0.0f64);
        let mut now = Duration::ZERO;
        while now.as_secs_f64() < seconds {
            let budget = (c.pacing_rate() * step.as_secs_f64() / len).round() as u64;
            let mut sent = 0;
            while sent < budget && c.can_send(c.in_flight() as u64) {
                c.on_send(now, seq);
                seq += 1;
                sent += 1;
            }
            let queued: f64 = queue.iter().map(|q| q.2).sum();
            let offered = sent as f64 * (1.0 - loss) * len;
            if sent > 0 {
                queue.push_back((seq - 1, now, offered.min(limit + len - queued).max(0.0)));
            }
            let mut capacity = rate * step.as_secs_f64();
            let mut echo = None;
            while capacity > 0.0 {
                let Some(head) = queue.front_mut() else { break };
                let served = head.2.min(capacity);
                head.2 -= served;
                capacity -= served;
                received += served / len;
                if now.as_secs_f64() >= seconds / 2.0 {
                    late += served;
                }
                echo = Some((head.0, head.1));
                if head.2 <= 0.0 {
                    queue.pop_front();
                }
            }
            if let Some((echo, sent_at)) = echo {
                let arrival = now + rtt / 2;
                acks.push_back((arrival + rtt / 2, echo, received as u64, arrival, sent_at));
            }
            while acks.front().is_some_and(|a| a.0 <= now) {
                let (_, echo, got, arrival, sent_at) = acks.pop_front().unwrap();
                let sample = Ack {
                    echo_seq: echo,
                    received: got,
                    received_at: arrival,
                    echo_sent_at: sent_at,
                    rtt: Some(now - sent_at),
                };
                c.on_ack(now, &sample);
            }
            now += step;
        }
        (c, late / (seconds / 2.0))
    }

    #[test]
    fn finds_the_bottleneck_rate_and_min_rtt() {
        let (c, goodput) = fluid(12.5e6, 40, 0.0, 1.0, 6.0);
        assert_eq!(c.state(), State::ProbeBandwidth);
        let min = c.min_rtt().unwrap();
        assert!(
            min >= Duration::from_millis(40) && min < Duration::from_millis(45),
            "{min:?}"
        );
        assert!((c.delivery_rate() / 12.5e6 - 1.0).abs() < 0.05, "{}", c.delivery_rate());
        assert!(goodput > 0.97 * 12.5e6, "{goodput}");
    }

    #[test]
    fn a_short_slow_path_still_gets_two_feedback_spans_in_flight() {
        // 1 MB/s, 4 ms, 30 % lost, a 100 kB queue: a window of 2 BDP and
        // four bursts would be fewer datagrams than the receiver waits for
        // before it reports.
        let (c, _) = fluid(1e6, 4, 0.3, 25.0, 4.0);
        let arriving = 1.0 - c.random_loss();
        assert!((c.random_loss() - 0.3).abs() < 0.05, "{}", c.random_loss());
        assert!(2.0 * c.bdp() + 4.0 * c.burst() < 32.0 * 1250.0, "{}", c.bdp());
        assert!(
            c.window() >= 2.0 * f64::from(FEEDBACK_EVERY) / arriving * 1250.0 - 1.0,
            "{}",
            c.window()
        );
    }

    #[test]
    fn random_loss_is_repaired_not_obeyed() {
        for loss in [0.05, 0.2] {
            let (c, goodput) = fluid(12.5e6, 40, loss, 1.0, 8.0);
            assert!((c.random_loss() - loss).abs() < 0.03, "{loss}: {}", c.random_loss());
            assert!(goodput > 0.95 * 12.5e6, "{loss}: {goodput}");
        }
    }
}
