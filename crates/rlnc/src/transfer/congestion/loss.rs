//! Sorting loss into random loss, which coding repairs, and loss that
//! rises with the rate, which is congestion.
//!
//! Loss is measured per window of about one round (the datagrams a round's
//! feedback newly echoes, at least [`MIN_SAMPLE`]). A window sent below the
//! delivery rate, or within noise of the random-loss estimate with no
//! standing queue, refines the estimate. Significantly more loss with a
//! standing queue is congestion, and so is such loss in two windows in a
//! row without one (a queue too shallow to show in the RTT, such as a
//! receiver's socket buffer); in a probe it just ends the probe. For
//! congestion the window is cut to β of what was in flight and regrows
//! along CUBIC's curve ([`LossBound`]). The cut is then put to the test:
//! if the next window sent entirely after it, at the lower rate, loses just
//! as much, the loss did not fall with the rate and the cut is undone; a
//! window then sent below the delivery rate, where nothing overflows, shows
//! whether the link's random loss rose.

use core::time::Duration;

use super::roots::{cbrt, sqrt};

/// Fewest datagrams in a loss window.
const MIN_SAMPLE: u64 = 16;
/// Loss above the random loss by less than this (or three standard errors) is noise.
const NOISE: f64 = 0.003;
/// CUBIC's window growth constant, datagrams per second cubed (RFC 9438).
const CUBIC_C: f64 = 0.4;
/// CUBIC's multiplicative decrease.
const CUBIC_BETA: f64 = 0.7;
/// Gain changes remembered, to know what gain a datagram was sent at.
const GAIN_HISTORY: usize = 32;
/// Rounds whose largest in-flight is remembered, for the cut.
const IN_FLIGHT_ROUNDS: usize = 3;

/// Loss as decayed counts, so that the estimate knows its own sample size.
#[derive(Clone, Copy, Debug, Default)]
struct LossEstimate {
    sent: f64,
    lost: f64,
}

impl LossEstimate {
    fn rate(&self) -> Option<f64> {
        (self.sent > 0.0).then(|| self.lost / self.sent)
    }

    /// Adds a measurement, keeping `keep` of the past.
    fn add(&mut self, sent: f64, lost: f64, keep: f64) {
        self.sent = self.sent * keep + sent;
        self.lost = self.lost * keep + lost;
    }
}

/// After congestion, the window is bounded like a CUBIC flow's (RFC 9438):
/// cut to β times what was in flight, then regrown along
/// W(t) = C(t − K)³ + W_max, never slower than Reno would. A loss-based
/// flow sharing the bottleneck thus meets a partner that yields and
/// recovers on its own time scale.
#[derive(Clone, Copy, Debug)]
struct LossBound {
    /// Datagrams in flight at the cut (after fast convergence).
    w_max: f64,
    /// Seconds until the curve is back at `w_max`.
    k: f64,
    since: Duration,
    /// The first datagram sent after the cut.
    since_seq: u64,
    /// The loss that caused it.
    trigger_loss: f64,
    /// Whether a window after the cut lost less (the loss fell with the rate).
    confirmed: bool,
}

impl LossBound {
    /// Datagrams allowed in flight at `now`, for a round trip of `rtt`.
    fn datagrams(&self, now: Duration, rtt: Duration) -> f64 {
        let t = now.saturating_sub(self.since).as_secs_f64();
        let cubic = self.w_max + CUBIC_C * (t - self.k) * (t - self.k) * (t - self.k);
        let alpha = 3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA);
        let reno = self.w_max * CUBIC_BETA + alpha * t / rtt.as_secs_f64().max(1e-4);
        cubic.max(reno)
    }
}

/// From datagram `seq` on, the sender paced at `gain`.
#[derive(Clone, Copy, Debug, Default)]
struct GainChange {
    seq: u64,
    gain: f64,
}

/// The loss window being filled.
#[derive(Clone, Copy, Debug)]
struct LossWindow {
    echo_seq: u64,
    received: u64,
    min_rtt: Option<Duration>,
}

/// What a closed loss window showed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct WindowEnd {
    /// Datagrams it covers.
    pub(super) sent: u64,
    /// Fraction lost.
    pub(super) loss: f64,
    /// The highest gain they were sent at.
    pub(super) gain: f64,
    /// The smallest RTT seen for them.
    pub(super) min_rtt: Option<Duration>,
}

/// What the classifier concluded from a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Random loss, noise, or waiting for a cut to be confirmed.
    Quiet,
    /// Loss rose with the rate: the window was cut; drain.
    Congestion,
    /// A probe lost more without a visible queue: end the probe.
    ProbeOverflow,
    /// A cut was undone: the loss did not fall with the rate. Send below
    /// the rate to measure the link's random loss.
    Undone,
}

/// The loss side of the controller.
#[derive(Clone, Debug)]
pub(super) struct LossClassifier {
    random: LossEstimate,
    recent: f64,
    window: Option<LossWindow>,
    gains: [GainChange; GAIN_HISTORY],
    gain_count: usize,
    in_flight_max: [f64; IN_FLIGHT_ROUNDS],
    bound: Option<LossBound>,
    /// Windows in a row with excess loss.
    excess_streak: u32,
    /// A cut was undone: waiting for a window sent below the rate.
    measuring: bool,
    /// Cuts made.
    pub(super) cuts: u64,
    /// Cuts undone because the loss did not fall with the rate.
    pub(super) undone: u64,
}

impl LossClassifier {
    pub(super) fn new() -> LossClassifier {
        LossClassifier {
            random: LossEstimate::default(),
            recent: 0.0,
            window: None,
            gains: [GainChange::default(); GAIN_HISTORY],
            gain_count: 0,
            in_flight_max: [0.0; IN_FLIGHT_ROUNDS],
            bound: None,
            excess_streak: 0,
            measuring: false,
            cuts: 0,
            undone: 0,
        }
    }

    /// Random loss (0 until measured).
    pub(super) fn random(&self) -> f64 {
        self.random.rate().unwrap_or(0.0)
    }

    /// Loss of the recent windows, whatever its cause.
    pub(super) fn recent(&self) -> f64 {
        self.recent
    }

    /// Datagram `seq` was sent at `gain` with `in_flight` datagrams out, in round `round`.
    pub(super) fn on_send(&mut self, seq: u64, gain: f64, in_flight: f64, round: u64) {
        let last = self
            .gain_count
            .checked_sub(1)
            .map(|i| self.gains[i % GAIN_HISTORY].gain);
        if last != Some(gain) {
            self.gains[self.gain_count % GAIN_HISTORY] = GainChange { seq, gain };
            self.gain_count += 1;
        }
        let slot = &mut self.in_flight_max[(round % IN_FLIGHT_ROUNDS as u64) as usize];
        *slot = slot.max(in_flight);
    }

    /// Round `round` begins.
    pub(super) fn on_round_start(&mut self, round: u64) {
        self.in_flight_max[(round % IN_FLIGHT_ROUNDS as u64) as usize] = 0.0;
    }

    /// An RTT sample for the window being filled.
    pub(super) fn on_rtt(&mut self, rtt: Duration) {
        if let Some(w) = &mut self.window {
            w.min_rtt = Some(w.min_rtt.map_or(rtt, |m| m.min(rtt)));
        }
    }

    /// Closes the window at a round's end if it holds enough datagrams
    /// (opening the next), so that each covers about one round of sending.
    pub(super) fn on_round_end(&mut self, echo_seq: u64, received: u64) -> Option<(u64, WindowEnd)> {
        let Some(w) = self.window else {
            self.open(echo_seq, received);
            return None;
        };
        let sent = echo_seq.saturating_sub(w.echo_seq);
        if sent < MIN_SAMPLE {
            return None;
        }
        let got = received.saturating_sub(w.received);
        let end = WindowEnd {
            sent,
            loss: (1.0 - got as f64 / sent as f64).clamp(0.0, 1.0),
            gain: self.max_gain_sent(w.echo_seq, echo_seq),
            min_rtt: w.min_rtt,
        };
        self.open(echo_seq, received);
        Some((w.echo_seq, end))
    }

    fn open(&mut self, echo_seq: u64, received: u64) {
        self.window = Some(LossWindow {
            echo_seq,
            received,
            min_rtt: None,
        });
    }

    /// Highest gain datagrams `after + 1 ..= upto` were sent at (the
    /// highest remembered if they are older than the history).
    fn max_gain_sent(&self, after: u64, upto: u64) -> f64 {
        let kept = self.gain_count.min(GAIN_HISTORY);
        let mut max = 0.0f64;
        for i in (self.gain_count - kept..self.gain_count).rev() {
            let change = self.gains[i % GAIN_HISTORY];
            if change.seq <= upto {
                max = max.max(change.gain);
            }
            if change.seq <= after + 1 {
                break;
            }
        }
        max
    }

    /// Sorts a closed window's loss. `start` is the last datagram before
    /// it, `queued` whether its RTTs showed a standing queue, `startup`
    /// whether the controller is still in Startup, `next_seq` the next
    /// datagram to be sent.
    pub(super) fn classify(
        &mut self,
        now: Duration,
        start: u64,
        end: &WindowEnd,
        queued: bool,
        startup: bool,
        next_seq: u64,
    ) -> Verdict {
        let weight = (end.sent as f64 / 256.0).clamp(0.05, 0.5);
        self.recent += (end.loss - self.recent) * weight;
        let (n, lost) = (end.sent as f64, end.loss * end.sent as f64);
        let Some(random) = self.random.rate() else {
            self.random.add(n, lost, 0.0);
            return Verdict::Quiet;
        };
        // Three standard errors of the difference between this window's
        // loss and the estimate (whose own sample may still be small, and
        // cannot tell rates below one in its sample size apart from zero).
        let p = random.max(NOISE).max(1.0 / self.random.sent);
        let noise = NOISE.max(3.0 * sqrt(p * (1.0 - p) * (1.0 / n + 1.0 / self.random.sent)));
        if let Some(bound) = &mut self.bound
            && !bound.confirmed
        {
            if start + 1 < bound.since_seq {
                return Verdict::Quiet; // Sent before the cut: says nothing new.
            }
            if end.loss + noise > bound.trigger_loss {
                // The loss did not fall with the rate: the link's random
                // loss rose (or the bottleneck slowed further). Undo the
                // cut; a window sent below the rate tells which.
                self.bound = None;
                self.undone += 1;
                self.measuring = true;
                return Verdict::Undone;
            }
            bound.confirmed = true;
        }
        if end.gain < 1.0 {
            // Sent below the delivery rate: what was lost, the link loses
            // anyway. Far from the estimate, it moves it most of the way.
            let keep = if (end.loss - random).abs() > noise { 0.2 } else { 0.5 };
            self.random.add(n, lost, keep);
            self.measuring = false;
            return Verdict::Quiet;
        }
        if self.measuring {
            return Verdict::Quiet; // Waiting for a window sent below the rate.
        }
        let excess = end.loss > random + noise;
        if !excess {
            // Within noise: random loss. Every window that is not congestion
            // teaches the estimate; leaving out the high ones would bias it
            // low, and a low estimate makes the next window look excess.
            self.excess_streak = 0;
            self.random.add(n, lost, 0.9);
            return Verdict::Quiet;
        }
        let streak = self.excess_streak;
        self.excess_streak += 1;
        if !queued {
            if end.gain > 1.0 && !startup {
                // Probing into a queue too shallow to show in the RTT.
                return Verdict::ProbeOverflow;
            }
            if streak == 0 {
                // Once, without a queue: a fluctuation, or the link's random
                // loss changed; it teaches the estimate a little. A second
                // window in a row puts it to the test.
                self.random.add(n, lost, 0.95);
                return Verdict::Quiet;
            }
        }
        // More loss than the link loses at random with a standing queue, or
        // twice in a row at the same rate without one (a queue too shallow
        // to show, such as a receiver's socket buffer): the rate is at or
        // over the bottleneck, or a loss-based flow filled the queue. Cut;
        // the next window tells whether the loss falls with the rate.
        let in_flight = self.in_flight_max.iter().copied().fold(n, f64::max);
        let w_max = match self.bound {
            // Fast convergence: a flow cut again below its last maximum releases more.
            Some(b) if in_flight < b.w_max => in_flight * (1.0 + CUBIC_BETA) / 2.0,
            _ => in_flight,
        };
        self.bound = Some(LossBound {
            w_max,
            k: cbrt(w_max * (1.0 - CUBIC_BETA) / CUBIC_C),
            since: now,
            since_seq: next_seq,
            trigger_loss: end.loss,
            confirmed: false,
        });
        self.cuts += 1;
        Verdict::Congestion
    }

    /// Whether an undone cut waits for a window sent below the delivery
    /// rate to measure the link's random loss.
    pub(super) fn measuring(&self) -> bool {
        self.measuring
    }

    /// Datagrams the loss bound allows in flight at `now`, if one is set.
    pub(super) fn bound(&self, now: Duration, rtt: Duration) -> Option<f64> {
        self.bound.map(|b| b.datagrams(now, rtt))
    }

    /// Drops the bound once it no longer binds.
    pub(super) fn release_bound(&mut self) {
        if self.bound.is_some_and(|b| b.confirmed) {
            self.bound = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn window(sent: u64, loss: f64, gain: f64) -> WindowEnd {
        WindowEnd {
            sent,
            loss,
            gain,
            min_rtt: Some(40 * MS),
        }
    }

    /// A classifier that learnt 1 % random loss over many windows.
    fn learnt() -> LossClassifier {
        let mut c = LossClassifier::new();
        for i in 0..20u32 {
            let (start, next) = (u64::from(i) * 1000, u64::from(i) * 1000 + 2000);
            let verdict = c.classify(i * MS, start, &window(1000, 0.01, 1.0), false, false, next);
            assert_eq!(verdict, Verdict::Quiet);
        }
        assert!((c.random() - 0.01).abs() < 1e-9);
        c
    }

    #[test]
    fn congestion_cuts_like_cubic_and_a_lower_loss_confirms_it() {
        let mut c = learnt();
        c.on_send(40_000, 1.25, 1500.0, 7);
        let verdict = c.classify(100 * MS, 40_000, &window(1000, 0.05, 1.25), true, false, 42_000);
        assert_eq!(verdict, Verdict::Congestion);
        // Cut from the largest in-flight: 0.7 × 1500, regrowing to 1500 after K seconds.
        let rtt = 40 * MS;
        assert!((c.bound(100 * MS, rtt).unwrap() - 1050.0).abs() < 1e-6);
        let k = cbrt(1500.0 * 0.3 / 0.4);
        let at_k = Duration::from_secs_f64(0.1 + k);
        assert!((c.bound(at_k, rtt).unwrap() - 1500.0).abs() < 1.0);
        // A window sent before the cut is not the test …
        assert_eq!(
            c.classify(140 * MS, 41_000, &window(1000, 0.05, 1.0), true, false, 43_000),
            Verdict::Quiet
        );
        assert!(c.bound.is_some_and(|b| !b.confirmed));
        // … the first one after it, with the loss back at 1 %, confirms.
        assert_eq!(
            c.classify(180 * MS, 42_000, &window(1000, 0.01, 1.0), false, false, 44_000),
            Verdict::Quiet
        );
        assert!(c.bound.is_some_and(|b| b.confirmed));
        assert_eq!((c.cuts, c.undone), (1, 0));
    }

    #[test]
    fn loss_that_does_not_fall_with_the_rate_undoes_the_cut_and_is_measured_below_the_rate() {
        let mut c = learnt();
        // The link starts losing 20 % while a queue stands: first taken for congestion …
        assert_eq!(
            c.classify(MS, 40_000, &window(1000, 0.2, 1.0), true, false, 42_000),
            Verdict::Congestion
        );
        // … but after the cut it loses just as much: undone …
        let after = c.classify(2 * MS, 42_000, &window(800, 0.21, 1.0), false, false, 44_000);
        assert_eq!(after, Verdict::Undone);
        assert!(c.bound.is_none());
        assert_eq!((c.cuts, c.undone), (1, 1));
        // … and windows sent below the rate teach the new level.
        for i in 0..3 {
            let start = 44_000 + i * 800;
            c.classify(3 * MS, start, &window(800, 0.2, 0.75), false, false, start + 1000);
        }
        assert!(c.random() > 0.17, "{}", c.random());
    }

    #[test]
    fn without_a_queue_more_loss_is_tested_before_it_counts() {
        let mut c = learnt();
        let probe = c.classify(MS, 40_000, &window(1000, 0.05, 1.25), false, false, 41_000);
        assert_eq!(probe, Verdict::ProbeOverflow);
        assert!((c.random() - 0.01).abs() < 1e-9);
        c.classify(MS, 40_500, &window(500, 0.01, 1.0), false, false, 41_000);
        // Cruising, the link starts losing 20 %: once is not enough …
        let once = c.classify(MS, 41_000, &window(1000, 0.2, 1.0), false, false, 43_000);
        assert_eq!(once, Verdict::Quiet);
        // … twice is tested with a cut …
        let twice = c.classify(MS, 42_000, &window(1000, 0.2, 1.0), false, false, 44_000);
        assert_eq!(twice, Verdict::Congestion);
        // … which the next window, as lossy at the lower rate, undoes.
        let after = c.classify(MS, 44_000, &window(800, 0.2, 1.0), false, false, 46_000);
        assert_eq!(after, Verdict::Undone);
        assert_eq!((c.cuts, c.undone), (1, 1));
        // A receiver's socket buffer overflowing at this rate: the loss
        // falls after the cut, and the cut stands.
        let mut c = learnt();
        c.classify(MS, 41_000, &window(1000, 0.08, 1.0), false, false, 43_000);
        let twice = c.classify(MS, 42_000, &window(1000, 0.08, 1.0), false, false, 44_000);
        assert_eq!(twice, Verdict::Congestion);
        c.classify(MS, 44_000, &window(700, 0.01, 1.0), false, false, 46_000);
        assert!(c.bound.is_some_and(|b| b.confirmed));
        // The overflow moved the estimate a little, not to its 8 %.
        assert!(c.random() < 0.025, "{}", c.random());
    }

    #[test]
    fn noise_is_judged_against_both_sample_sizes() {
        let mut c = LossClassifier::new();
        // One small first window: 1/32 lost.
        c.classify(MS, 0, &window(32, 1.0 / 32.0, 2.9), false, true, 64);
        // 3/64 in the next is within noise of so small a sample.
        assert_eq!(
            c.classify(2 * MS, 32, &window(64, 3.0 / 64.0, 2.9), false, true, 200),
            Verdict::Quiet
        );
        // With 1 % learnt over 20,000 datagrams, 5 % of 1000 is not noise.
        let mut c = learnt();
        assert_eq!(
            c.classify(MS, 40_000, &window(1000, 0.05, 1.0), true, false, 41_000),
            Verdict::Congestion
        );
    }

    #[test]
    fn the_gain_of_a_window_is_what_its_datagrams_were_sent_at() {
        let mut c = LossClassifier::new();
        c.on_send(0, 2.885, 1.0, 0);
        c.on_send(100, 1.0, 1.0, 1);
        c.on_send(200, 0.75, 1.0, 2);
        c.on_send(300, 1.0, 1.0, 3);
        assert_eq!(c.max_gain_sent(210, 290), 0.75);
        assert_eq!(c.max_gain_sent(150, 250), 1.0);
        assert_eq!(c.max_gain_sent(50, 150), 2.885);
    }
}
