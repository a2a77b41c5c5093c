//! The sending side: generations in, data datagrams out, feedback in.

use alloc::collections::VecDeque;
use core::ops::{Deref, Range};
use core::time::Duration;

use super::SessionError;
use super::congestion::{Ack, Controller, sqrt};
use super::datagram::{
    self, Body, CloseReason, DATA_PREFIX_LEN, DataHeader, Datagram, DatagramError, Feedback, HEADER_LEN, NO_RECEIVER,
    UNKNOWN_LEN,
};
use super::pacing::TokenBucket;
use crate::coefficients::packet_seed;
use crate::encoder::{ConfigError, Encoder, EncoderConfig};
use crate::packet::Mode;

/// How the sender codes, paces and gives up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SenderConfig {
    /// Symbols per generation.
    pub k: u8,
    /// Symbol size in bytes.
    pub symbol_size: u16,
    /// Systematic or random coding.
    pub mode: Mode,
    /// Session id, also the coefficient seed.
    pub session: u64,
    /// Generations in flight at most. The congestion controller sizes the
    /// window to the bandwidth-delay product below this ceiling, and the
    /// receiver's own limit (from its feedback) caps it too.
    pub window: u16,
    /// Pacing ceiling in bytes per second; 0 for none (the congestion
    /// controller finds the rate by itself).
    pub rate: u64,
    /// Shortest wait for feedback before a probe; the controller's probe
    /// timeout (smoothed RTT plus four deviations) is used when longer.
    pub probe_interval: Duration,
    /// Give up when the receiver made no progress (decoded rank) for this
    /// long; traffic without progress does not count.
    pub idle_timeout: Duration,
    /// First-pass redundancy margin, in standard deviations of the number
    /// of packets a generation needs at the measured loss. The default 0.5
    /// completes 80–90 % of generations at 5–20 % loss without a feedback
    /// round trip (rounding up to whole packets adds to it); 1.0 completes
    /// a few more but cost 3–4 % of goodput in the simulator at 100 Mbit/s,
    /// 100 ms RTT, 5 and 20 % loss.
    pub redundancy_margin: f64,
}

impl SenderConfig {
    /// K = 32, S = 1200 (fits a 1500-byte MTU), systematic, up to 1024
    /// generations in flight (39 MB; a 1 Gbit/s path with 100 ms RTT
    /// needs ~320), no rate ceiling, 10 s without progress to give up.
    pub fn new(session: u64) -> SenderConfig {
        SenderConfig {
            k: 32,
            symbol_size: 1200,
            mode: Mode::Systematic,
            session,
            window: 1024,
            rate: 0,
            probe_interval: Duration::from_millis(10),
            idle_timeout: Duration::from_secs(10),
            redundancy_margin: 0.5,
        }
    }

    /// Bytes of one generation, K·S.
    pub fn generation_bytes(&self) -> usize {
        usize::from(self.k) * usize::from(self.symbol_size)
    }
}

/// Why a generation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The window is full, the input already ended, or the session is over.
    #[error("the sender takes no generation now")]
    NotWanted,
    /// The buffer is not K·S bytes (zero-pad the last one).
    #[error("generation buffer of {found} bytes, expected {expected}")]
    Size {
        /// K·S.
        expected: usize,
        /// Given.
        found: usize,
    },
    /// `data_len` exceeds K·S, or is short on a generation not marked last.
    #[error("data length {0} invalid for this generation")]
    DataLen(usize),
}

/// What the sender did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(serde::Serialize))]
pub struct SenderStats {
    /// Data datagrams sent.
    pub data_sent: u64,
    /// Of which repaired a rank deficit the feedback showed (BOOST).
    pub boosted: u64,
    /// Of which were probes after a feedback timeout.
    pub probes: u64,
    /// Of which were first-pass packets beyond K (sent ahead at the measured loss).
    pub redundant_ahead: u64,
    /// Feedback datagrams accepted.
    pub feedback: u64,
    /// Datagrams rejected as malformed.
    pub malformed: u64,
    /// Datagrams of another session.
    pub foreign: u64,
    /// Generations the receiver confirmed.
    pub generations_done: u64,
    /// Generations that completed on their first pass.
    pub first_pass_complete: u64,
}

/// The sender's view of the path, from the congestion controller.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "std", derive(serde::Serialize))]
pub struct PathEstimate {
    /// Pacing rate, bytes per second.
    pub pacing_rate: f64,
    /// Pacing burst, bytes (about a millisecond of sending).
    pub burst_bytes: f64,
    /// Bottleneck delivery rate at the receiver, bytes per second.
    pub delivery_rate: f64,
    /// Smallest round-trip time seen.
    pub min_rtt: Option<Duration>,
    /// Smoothed round-trip time.
    pub smoothed_rtt: Option<Duration>,
    /// Loss the link shows whatever the rate.
    pub random_loss: f64,
    /// Loss of the recent rounds, whatever its cause.
    pub recent_loss: f64,
    /// Bytes allowed in flight.
    pub window_bytes: f64,
    /// Generations allowed in flight.
    pub window_generations: usize,
    /// Window cuts for loss that rose with the rate.
    pub congestion_events: u64,
    /// Cuts undone because the loss did not fall with the rate (random loss rose).
    pub undone_cuts: u64,
}

struct Slot<B> {
    id: u32,
    data: B,
    next_index: u32,
    /// Packets still to send now: the first pass, then each BOOST.
    credit: u32,
    /// Whether `credit` is the first pass.
    first_pass: bool,
    last_seq: Option<u64>,
    complete: bool,
}

/// Where the session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Open,
    /// Finished, failed or cancelled; close datagrams are still to be sent.
    Closing,
    /// Nothing more to send.
    Closed,
}

/// The sender state machine: no sockets, no clock; `now` is an argument
/// (time since any fixed epoch, the same for every call).
///
/// Feed generations with [`push_generation`](Self::push_generation) while
/// [`wants_generation`](Self::wants_generation), take datagrams with
/// [`poll_transmit`](Self::poll_transmit), feed what the receiver says with
/// [`handle_datagram`](Self::handle_datagram), and call
/// [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout). The session ends with
/// [`is_finished`](Self::is_finished) or a [`failure`](Self::failure).
pub struct Sender<B> {
    config: SenderConfig,
    slots: VecDeque<Slot<B>>,
    next_id: u32,
    total_len: Option<u64>,
    seq: u64,
    echo_seq: Option<u64>,
    controller: Controller,
    bucket: TokenBucket,
    receiver: Option<u32>,
    receiver_window: Option<(u32, u16)>,
    progress: u64,
    last_progress: Option<Duration>,
    last_heard: Duration,
    last_sent: Duration,
    probes_unanswered: u32,
    /// Generation after the last first-pass packet: the interleave's position.
    cursor: u32,
    done: Option<(u64, [u8; 32])>,
    phase: Phase,
    failure: Option<SessionError>,
    close_reason: CloseReason,
    closes_to_send: u8,
    stats: SenderStats,
}

impl<B> core::fmt::Debug for Sender<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sender")
            .field("config", &self.config)
            .field("in_flight", &self.slots.len())
            .field("phase", &self.phase)
            .field("controller", &self.controller.state())
            .field("stats", &self.stats)
            .finish()
    }
}

/// Generations interleaved by the first pass, so that a burst of loss is
/// shared among a few instead of wiping out one.
const INTERLEAVE: usize = 4;
/// Generations kept in flight per congestion window of bytes: a generation
/// waits a round trip for its confirmation, more when it needs a BOOST.
const WINDOWS_OF_GENERATIONS: f64 = 2.0;

impl<B: Deref<Target = [u8]>> Sender<B> {
    /// A sender; nothing is sent before the first generation.
    ///
    /// # Errors
    /// [`ConfigError`] for an invalid K or S.
    pub fn new(config: SenderConfig) -> Result<Sender<B>, ConfigError> {
        crate::encoder::check_shape(config.k, config.symbol_size)?;
        let datagram_len = datagram::data_len(crate::packet::wire_len(config.k, config.symbol_size, false));
        let controller = Controller::new(datagram_len, config.rate, u32::from(config.k));
        Ok(Sender {
            config,
            slots: VecDeque::new(),
            next_id: 0,
            total_len: None,
            seq: 0,
            echo_seq: None,
            bucket: TokenBucket::new(controller.pacing_rate() as u64, controller.burst() as u64),
            controller,
            receiver: None,
            receiver_window: None,
            progress: 0,
            last_progress: None,
            last_heard: Duration::ZERO,
            last_sent: Duration::ZERO,
            probes_unanswered: 0,
            cursor: 0,
            done: None,
            phase: Phase::Open,
            failure: None,
            close_reason: CloseReason::Cancelled,
            closes_to_send: 0,
            stats: SenderStats::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SenderConfig {
        &self.config
    }

    /// Bytes of every data datagram.
    pub fn datagram_len(&self) -> usize {
        datagram::data_len(crate::packet::wire_len(self.config.k, self.config.symbol_size, false))
    }

    /// Generations that may be in flight now: the bandwidth-delay product's
    /// worth, at most the configured and the receiver's window.
    pub fn window_generations(&self) -> usize {
        let per_generation = self.first_pass_count(self.config.k) as f64 * self.datagram_len() as f64;
        let by_path = (WINDOWS_OF_GENERATIONS * self.controller.window() / per_generation) as usize + 2;
        let receiver = self.receiver_window.map_or(usize::MAX, |(_, w)| usize::from(w.max(1)));
        by_path.min(usize::from(self.config.window.max(1))).min(receiver)
    }

    /// Whether a generation would be accepted now (the window has room, the
    /// input has not ended, the session is open).
    pub fn wants_generation(&self) -> bool {
        self.phase == Phase::Open && self.total_len.is_none() && self.slots.len() < self.window_generations()
    }

    /// Generations in flight.
    pub fn in_flight(&self) -> usize {
        self.slots.len()
    }

    /// Takes the next generation: `data` is K·S bytes (the last one
    /// zero-padded) of which `data_len` are real; `last` ends the input.
    ///
    /// # Errors
    /// [`PushError`] if not wanted or misshapen; the buffer is dropped.
    pub fn push_generation(&mut self, data: B, data_len: usize, last: bool) -> Result<(), PushError> {
        let expected = self.config.generation_bytes();
        if !self.wants_generation() {
            return Err(PushError::NotWanted);
        }
        if data.len() != expected {
            return Err(PushError::Size {
                expected,
                found: data.len(),
            });
        }
        if data_len > expected || (!last && data_len != expected) {
            return Err(PushError::DataLen(data_len));
        }
        if last {
            self.total_len = Some(u64::from(self.next_id) * expected as u64 + data_len as u64);
        }
        let credit = self.first_pass_count(self.config.k);
        self.slots.push_back(Slot {
            id: self.next_id,
            data,
            next_index: 0,
            credit,
            first_pass: true,
            last_seq: None,
            complete: false,
        });
        self.next_id += 1;
        Ok(())
    }

    /// Packets to send for `needed` more rank: enough that at the loss the
    /// receiver reports, `redundancy_margin` standard deviations more than
    /// the mean arrive.
    fn first_pass_count(&self, needed: u8) -> u32 {
        packets_for(needed, self.controller.random_loss(), self.config.redundancy_margin)
    }

    /// Whether the receiver reported everything written.
    pub fn is_finished(&self) -> bool {
        self.done.is_some()
    }

    /// Why the session failed, once it did.
    pub fn failure(&self) -> Option<&SessionError> {
        self.failure.as_ref()
    }

    /// Whether nothing more will be sent: finished or failed, with the
    /// close datagrams written (the acknowledgement of the done, or why it
    /// failed).
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// The receiver's length and SHA-256, once it reported done.
    pub fn receiver_digest(&self) -> Option<(u64, [u8; 32])> {
        self.done
    }

    /// Total bytes of input, once its end was pushed.
    pub fn total_len(&self) -> Option<u64> {
        self.total_len
    }

    /// Counters.
    pub fn stats(&self) -> SenderStats {
        self.stats
    }

    /// The congestion controller's view of the path.
    pub fn path(&self) -> PathEstimate {
        let c = &self.controller;
        PathEstimate {
            pacing_rate: c.pacing_rate(),
            burst_bytes: c.burst(),
            delivery_rate: c.delivery_rate(),
            min_rtt: c.min_rtt(),
            smoothed_rtt: c.smoothed_rtt(),
            random_loss: c.random_loss(),
            recent_loss: c.recent_loss(),
            window_bytes: c.window(),
            window_generations: self.window_generations(),
            congestion_events: c.congestion_events().0,
            undone_cuts: c.congestion_events().1,
        }
    }

    /// Ends the session early: the receiver is told `reason` with one close
    /// datagram, and [`failure`](Self::failure) reports it.
    pub fn close(&mut self, reason: CloseReason) {
        self.fail(SessionError::Closed { reason, by_peer: false }, reason);
    }

    fn fail(&mut self, error: SessionError, reason: CloseReason) {
        if self.phase == Phase::Open {
            self.failure = Some(error);
            self.closing(reason, 1);
        }
    }

    /// Ends the session: `copies` close datagrams for `reason` go out next.
    fn closing(&mut self, reason: CloseReason, copies: u8) {
        self.close_reason = reason;
        self.closes_to_send = copies;
        self.phase = Phase::Closing;
        self.slots.clear();
    }

    /// Writes the next datagram into `out` (at least
    /// [`datagram_len`](Self::datagram_len) bytes) if one is due and the
    /// window and pacing allow; returns its length. Allocation-free.
    pub fn poll_transmit(&mut self, now: Duration, out: &mut [u8]) -> Option<usize> {
        if self.phase == Phase::Closing {
            self.closes_to_send = self.closes_to_send.saturating_sub(1);
            if self.closes_to_send == 0 {
                self.phase = Phase::Closed;
            }
            let receiver = self.receiver.unwrap_or(NO_RECEIVER);
            return datagram::write_close(out, self.config.session, receiver, self.close_reason);
        }
        if self.phase != Phase::Open || self.slots.is_empty() || out.len() < self.datagram_len() {
            return None;
        }
        let pick = self.pick();
        let (i, probe) = match pick {
            Some(i) if self.controller.can_send(self.unechoed()) => (i, false),
            _ if now >= self.probe_deadline() => (self.probe_target(), true),
            _ => {
                if pick.is_none() {
                    self.controller.on_app_limited();
                }
                return None;
            }
        };
        self.bucket.set_rate(
            now,
            self.controller.pacing_rate() as u64,
            self.controller.burst() as u64,
        );
        if !self.bucket.try_take(now, self.datagram_len()) {
            return None;
        }
        if probe {
            let slot = &mut self.slots[i];
            slot.credit = slot.credit.max(1);
            self.stats.probes += 1;
            self.probes_unanswered += 1;
        }
        self.last_progress.get_or_insert(now);
        let n = self.write_data(now, i, out);
        self.last_sent = now;
        Some(n)
    }

    /// Datagrams sent after the highest one the receiver echoed.
    fn unechoed(&self) -> u64 {
        self.seq - self.echo_seq.map_or(0, |e| e + 1)
    }

    /// When a probe is due: a probe timeout after the last feedback or
    /// datagram, doubled once a probe drew no answer. Not more: a probe is
    /// one datagram per round trip, the idle timeout ends a dead session,
    /// and a longer wait could outlast a receiver lingering for a lost done.
    fn probe_deadline(&self) -> Duration {
        let pto = self.controller.probe_timeout().max(self.config.probe_interval);
        self.last_heard.max(self.last_sent) + pto * (1 << self.probes_unanswered.min(1))
    }

    /// A probe goes to the oldest unconfirmed generation the receiver can
    /// take, or the last one (to draw a lost done again).
    fn probe_target(&self) -> usize {
        self.slots
            .iter()
            .position(|s| !s.complete && self.receiver_takes(s.id))
            .unwrap_or(self.slots.len() - 1)
    }

    fn receiver_takes(&self, generation: u32) -> bool {
        self.receiver_window
            .is_none_or(|(base, window)| generation < base.saturating_add(u32::from(window.max(1))))
    }

    /// The generation to send for next: BOOSTs first (oldest first: it
    /// holds the window), then first passes round robin over the oldest
    /// [`INTERLEAVE`] generations that still have one.
    fn pick(&self) -> Option<usize> {
        if let Some(i) = self
            .slots
            .iter()
            .position(|s| s.credit > 0 && !s.first_pass && self.receiver_takes(s.id))
        {
            return Some(i);
        }
        let first = self.slots.iter().position(|s| s.credit > 0 && s.first_pass)?;
        let candidates = || {
            (first..self.slots.len())
                .filter(|&i| self.slots[i].credit > 0 && self.slots[i].first_pass)
                .take(INTERLEAVE)
        };
        let pick = candidates()
            .find(|&i| self.slots[i].id >= self.cursor)
            .or_else(|| candidates().next())?;
        self.receiver_takes(self.slots[pick].id).then_some(pick)
    }

    fn write_data(&mut self, now: Duration, i: usize, out: &mut [u8]) -> usize {
        let seq = self.seq;
        self.seq += 1;
        let header = DataHeader {
            seq,
            timestamp_us: micros(now) as u32,
            receiver: self.receiver.unwrap_or(NO_RECEIVER),
            total_len: self.total_len.unwrap_or(UNKNOWN_LEN),
            window: self.config.window,
        };
        datagram::write_data_prefix(out, self.config.session, &header);
        let slot = &mut self.slots[i];
        if slot.first_pass {
            self.cursor = slot.id + 1;
        }
        let packet = &mut out[HEADER_LEN + DATA_PREFIX_LEN..];
        let len = write_generation_packet(&self.config, slot.id, &slot.data, slot.next_index, packet);
        if slot.first_pass && slot.next_index >= u32::from(self.config.k) {
            self.stats.redundant_ahead += 1;
        }
        slot.next_index += 1;
        slot.credit = slot.credit.saturating_sub(1);
        slot.last_seq = Some(seq);
        if !slot.first_pass {
            self.stats.boosted += 1;
        }
        self.stats.data_sent += 1;
        self.controller.on_send(now, seq);
        datagram::seal_data(out, len)
    }

    /// Feeds a datagram from the receiver.
    ///
    /// # Errors
    /// [`DatagramError`] for malformed bytes (counted; nothing changes).
    /// A well-formed datagram of another session is counted and ignored.
    pub fn handle_datagram(&mut self, now: Duration, bytes: &[u8]) -> Result<(), DatagramError> {
        let datagram = Datagram::parse(bytes).inspect_err(|_| self.stats.malformed += 1)?;
        if datagram.session != self.config.session {
            self.stats.foreign += 1;
            return Ok(());
        }
        if self.phase != Phase::Open {
            return Ok(());
        }
        let Some(receiver) = datagram.body.receiver() else {
            self.stats.malformed += 1;
            return Ok(());
        };
        if !self.bind(receiver) {
            return Ok(());
        }
        match datagram.body {
            Body::Feedback(feedback) => {
                self.stats.feedback += 1;
                self.handle_feedback(now, &feedback);
            }
            Body::Done { total_len, digest, .. } => {
                // Acknowledged twice, so that the receiver rarely lingers
                // for a lost acknowledgement.
                self.done = Some((total_len, digest));
                self.closing(CloseReason::Finished, 2);
            }
            Body::Close { reason, .. } => {
                self.fail(SessionError::Closed { reason, by_peer: true }, reason);
                self.phase = Phase::Closed;
            }
            Body::Data { .. } => {}
        }
        Ok(())
    }

    /// Binds the session to the first receiver instance heard; another
    /// instance later means the receiver restarted, and what it had is gone.
    fn bind(&mut self, receiver: u32) -> bool {
        match self.receiver {
            None if receiver != NO_RECEIVER => {
                self.receiver = Some(receiver);
                true
            }
            Some(bound) if bound == receiver => true,
            Some(bound) => {
                self.fail(
                    SessionError::ReceiverRestarted {
                        before: bound,
                        now: receiver,
                    },
                    CloseReason::Restarted,
                );
                false
            }
            None => false,
        }
    }

    fn handle_feedback(&mut self, now: Duration, feedback: &Feedback<'_>) {
        let fresh = self.echo_seq.is_none_or(|e| feedback.echo_seq > e);
        if feedback.echo_seq >= self.seq {
            return; // Echoes a datagram never sent: not from this sender's session.
        }
        if fresh {
            // Only news holds the probe back: a repeat of old feedback (a
            // receiver that hears nothing repeats itself) says the datagrams
            // since were lost, which is what a probe is for.
            self.echo_seq = Some(feedback.echo_seq);
            self.last_heard = now;
            self.probes_unanswered = 0;
        }
        // Only feedback that echoes a newer datagram times a round trip: a
        // repeat of an older one carries its original delay.
        let since_sent = (micros(now) as u32).wrapping_sub(feedback.echo_timestamp_us);
        self.controller.on_ack(
            now,
            &Ack {
                echo_seq: feedback.echo_seq,
                received: feedback.received,
                received_at: Duration::from_micros(feedback.received_at_us),
                echo_sent_at: now.saturating_sub(Duration::from_micros(u64::from(since_sent))),
                rtt: rtt_sample(now, feedback).filter(|_| fresh),
            },
        );
        let window = feedback.window.max(1);
        self.receiver_window = Some((feedback.base, window));
        self.apply_ranks(now, fresh, feedback);
        self.release_confirmed();
    }

    /// Marks confirmed generations, notes progress, and BOOSTs a generation
    /// short of rank once every packet sent for it was accounted for (the
    /// feedback echoes a later one).
    fn apply_ranks(&mut self, now: Duration, fresh: bool, feedback: &Feedback<'_>) {
        let k = self.config.k;
        let mut progress = u64::from(feedback.base) * u64::from(k);
        progress += feedback.ranks.iter().map(|&r| u64::from(r.min(k))).sum::<u64>();
        if progress > self.progress {
            self.progress = progress;
            self.last_progress = Some(now);
        }
        let loss = self.controller.random_loss();
        let margin = self.config.redundancy_margin;
        for slot in self.slots.iter_mut() {
            let rank = match slot.id.checked_sub(feedback.base) {
                None => k,
                Some(i) => match feedback.ranks.get(i as usize) {
                    Some(&r) => r,
                    None => continue,
                },
            };
            let accounted = slot.last_seq.is_some_and(|s| s <= feedback.echo_seq);
            if rank >= k {
                if !slot.complete {
                    self.stats.generations_done += 1;
                    if slot.first_pass {
                        self.stats.first_pass_complete += 1;
                    }
                }
                slot.complete = true;
                slot.credit = 0;
            } else if fresh && slot.credit == 0 && accounted {
                slot.first_pass = false;
                slot.credit = packets_for(k - rank, loss, margin);
            }
        }
    }

    /// Releases confirmed generations in order (their buffers go back to the
    /// caller's pool), keeping the very last until done for probing.
    fn release_confirmed(&mut self) {
        let keep = usize::from(self.total_len.is_some());
        while self.slots.len() > keep && self.slots.front().is_some_and(|s| s.complete) {
            self.slots.pop_front();
        }
    }

    /// Fails the session if the receiver made no progress for
    /// `idle_timeout` since the first datagram.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.phase != Phase::Open {
            return;
        }
        if let Some(last) = self.last_progress {
            let idle = self.config.idle_timeout;
            if now.saturating_sub(last) >= idle {
                self.fail(SessionError::NoProgress { after: idle }, CloseReason::NoProgress);
            }
        }
    }

    /// When to call [`poll_transmit`](Self::poll_transmit) or
    /// [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match self.phase {
            Phase::Closing => return Some(Duration::ZERO),
            Phase::Closed => return None,
            Phase::Open => {}
        }
        let idle = self.last_progress.map(|t| t + self.config.idle_timeout);
        if self.slots.is_empty() {
            return idle;
        }
        let sendable = self.pick().is_some() && self.controller.can_send(self.unechoed());
        let due = if sendable {
            Duration::ZERO
        } else {
            self.probe_deadline()
        };
        let next = due.max(self.bucket.ready_at(self.datagram_len()));
        Some(idle.map_or(next, |i| i.min(next)))
    }
}

/// Round-trip time of the echoed datagram, without the receiver's delay;
/// `None` if the numbers do not add up.
fn rtt_sample(now: Duration, feedback: &Feedback<'_>) -> Option<Duration> {
    let since_sent = (micros(now) as u32).wrapping_sub(feedback.echo_timestamp_us);
    let rtt = since_sent.checked_sub(feedback.echo_delay_us)?;
    // Beyond a minute is a wrapped or forged timestamp, not a path.
    (rtt < 60_000_000).then(|| Duration::from_micros(u64::from(rtt.max(1))))
}

fn micros(t: Duration) -> u64 {
    t.as_secs() * 1_000_000 + u64::from(t.subsec_micros())
}

/// Packets to send so that, at independent loss `loss`, at least `needed`
/// arrive with `margin` standard deviations to spare: the smallest n with
/// n(1 − p) − margin·√(n p (1 − p)) ≥ needed.
pub fn packets_for(needed: u8, loss: f64, margin: f64) -> u32 {
    let p = loss.clamp(0.0, 0.9);
    let q = 1.0 - p;
    let spread = margin.max(0.0) * sqrt(p * q);
    // A quadratic in √n.
    let root = (spread + sqrt(spread * spread + 4.0 * q * f64::from(needed))) / (2.0 * q);
    ceil(root * root).max(u32::from(needed)).max(1)
}

/// `x.ceil() as u32` for non-negative `x` (`f64::ceil` needs `std`).
fn ceil(x: f64) -> u32 {
    let whole = x as u32;
    if f64::from(whole) < x { whole + 1 } else { whole }
}

/// Writes packet `index` of generation `generation`, whose K·S bytes are
/// `data` (a buffer of its own), into `out`; returns its length.
/// Allocation-free.
///
/// # Panics
/// If `data` is not K·S bytes, `out` is shorter than a packet or `index`
/// is `u32::MAX`.
pub(crate) fn write_generation_packet(
    config: &SenderConfig,
    generation: u32,
    data: &[u8],
    index: u32,
    out: &mut [u8],
) -> usize {
    let end = index.checked_add(1).expect("packet indices end below 2^32");
    write_generation_packets(config, generation, data, index..end, out)
}

/// Writes packets `indices` of generation `generation`, whose K·S bytes are
/// `data` (a buffer of its own), back to back into `out`; returns the bytes
/// written. Coded payloads are computed up to 16 at a time, straight into
/// their packets, each packet checksummed once. Allocation-free.
///
/// # Panics
/// If `data` is not K·S bytes or `out` is shorter than the packets.
pub(crate) fn write_generation_packets(
    config: &SenderConfig,
    generation: u32,
    data: &[u8],
    indices: Range<u32>,
    out: &mut [u8],
) -> usize {
    // The real generation id in the headers.
    generation_encoder(config, generation, data)
        .write_packets_labelled(0, generation, indices, out)
        .expect("output holds the packets")
}

/// One encoder per generation buffer: generation 0 of its own data,
/// coefficients seeded per (session, real generation).
fn generation_encoder<'a>(config: &SenderConfig, generation: u32, data: &'a [u8]) -> Encoder<'a> {
    let encoder_config = EncoderConfig {
        k: config.k,
        symbol_size: config.symbol_size,
        mode: config.mode,
        explicit_coefficients: false,
        session: packet_seed(config.session, generation, 0),
    };
    assert_eq!(
        data.len(),
        config.generation_bytes(),
        "a generation buffer is K·S bytes"
    );
    Encoder::new(encoder_config, data).expect("shape checked by the caller")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::datagram::{write_close, write_feedback};
    use alloc::vec;
    use alloc::vec::Vec;

    const MS: Duration = Duration::from_millis(1);

    /// The per-packet path the batched writer replaced: one encoder packet,
    /// then the real generation id stamped in and the checksum redone.
    fn reference_packet(config: &SenderConfig, generation: u32, data: &[u8], index: u32) -> Vec<u8> {
        use crate::checksum::crc32c;
        use crate::packet::CHECKSUM_LEN;
        let encoder = generation_encoder(config, generation, data);
        let mut out = vec![0u8; encoder.packet_len()];
        let len = encoder.write_packet(0, index, &mut out).unwrap();
        out[2..6].copy_from_slice(&generation.to_le_bytes());
        let crc = crc32c(&out[..len - CHECKSUM_LEN]);
        out[len - CHECKSUM_LEN..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// K = 1, 16, 32, 255 or any other; S up to 1,500, odd ones included.
    fn shapes() -> impl proptest::strategy::Strategy<Value = (u8, u16)> {
        use proptest::prelude::*;
        let k = prop_oneof![Just(1u8), Just(16), Just(32), Just(255), 1u8..=255];
        (k, 1u16..=1500)
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 48, ..Default::default() })]

        #[test]
        fn batched_generation_packets_equal_the_per_packet_path(
            (k, symbol_size) in shapes(),
            random in proptest::bool::ANY,
            session in proptest::num::u64::ANY,
            generation in proptest::num::u32::ANY,
            start_past_k in -40i64..40,
            count in 0u32..40,
            data_seed in proptest::num::u32::ANY,
        ) {
            let mut config = SenderConfig::new(session);
            (config.k, config.symbol_size) = (k, symbol_size);
            config.mode = if random { Mode::Random } else { Mode::Systematic };
            let data: Vec<u8> = (0..config.generation_bytes() as u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) ^ data_seed).to_le_bytes()[2])
                .collect();
            // Ranges starting and ending inside or past the originals.
            let start = (i64::from(k) + start_past_k).max(0) as u32;
            let packet_len = crate::packet::wire_len(k, symbol_size, false);
            // One spare packet's room: the writer must stop at the end of the range.
            let mut out = vec![0xA5u8; (count as usize + 1) * packet_len];
            let written = write_generation_packets(&config, generation, &data, start..start + count, &mut out);
            proptest::prop_assert_eq!(written, count as usize * packet_len);
            for (slot, index) in (start..start + count).enumerate() {
                let got = &out[slot * packet_len..(slot + 1) * packet_len];
                proptest::prop_assert_eq!(got, &reference_packet(&config, generation, &data, index)[..], "index {}", index);
            }
            proptest::prop_assert!(out[written..].iter().all(|&b| b == 0xA5));
        }
    }

    /// A sender of two small generations that sent its first datagrams.
    fn started() -> (Sender<Vec<u8>>, Vec<u8>) {
        let mut config = SenderConfig::new(5);
        (config.k, config.symbol_size) = (4, 16);
        let mut sender = Sender::new(config).unwrap();
        sender.push_generation(vec![1; 64], 64, false).unwrap();
        sender.push_generation(vec![2; 64], 64, true).unwrap();
        let mut buf = vec![0u8; 256];
        assert!(sender.poll_transmit(Duration::ZERO, &mut buf).is_some());
        (sender, buf)
    }

    fn feedback(receiver: u32, echo_seq: u64, ranks: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; 128];
        let f = Feedback {
            receiver,
            echo_seq,
            received: echo_seq + 1,
            window: 16,
            ranks,
            ..Feedback::default()
        };
        let n = write_feedback(&mut out, 5, &f).unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn feedback_from_a_new_receiver_instance_fails_the_session_and_closes() {
        let (mut sender, mut buf) = started();
        sender.handle_datagram(MS, &feedback(7, 0, &[1])).unwrap();
        assert!(sender.failure().is_none());
        sender.handle_datagram(2 * MS, &feedback(8, 0, &[0])).unwrap();
        assert_eq!(
            sender.failure(),
            Some(&SessionError::ReceiverRestarted { before: 7, now: 8 })
        );
        assert!(!sender.wants_generation());
        let n = sender.poll_transmit(2 * MS, &mut buf).unwrap();
        assert_eq!(
            Datagram::parse(&buf[..n]).unwrap().body,
            Body::Close {
                receiver: 7,
                reason: CloseReason::Restarted
            }
        );
        assert!(sender.is_closed() && sender.poll_transmit(3 * MS, &mut buf).is_none());
        assert_eq!(sender.poll_timeout(), None);
    }

    #[test]
    fn data_carries_the_bound_receiver_and_a_close_from_it_ends_the_session() {
        let (mut sender, mut buf) = started();
        sender.handle_datagram(MS, &feedback(7, 0, &[1])).unwrap();
        let n = sender.poll_transmit(20 * MS, &mut buf).unwrap();
        let Body::Data { header, .. } = Datagram::parse(&buf[..n]).unwrap().body else {
            panic!("data expected");
        };
        assert_eq!(header.receiver, 7);
        let mut close = [0u8; 64];
        let n = write_close(&mut close, 5, 7, CloseReason::OutputFailed).unwrap();
        sender.handle_datagram(21 * MS, &close[..n]).unwrap();
        assert_eq!(
            sender.failure(),
            Some(&SessionError::Closed {
                reason: CloseReason::OutputFailed,
                by_peer: true
            })
        );
        assert!(sender.is_closed(), "no close is sent back");
    }

    #[test]
    fn feedback_without_progress_does_not_keep_the_session_alive() {
        let (mut sender, mut buf) = started();
        let mut now = Duration::ZERO;
        let mut echo = 0;
        while sender.failure().is_none() {
            now += 50 * MS;
            // Every datagram arrives, the rank never grows.
            while sender.poll_transmit(now, &mut buf).is_some() {}
            echo = sender.seq.saturating_sub(1).max(echo);
            sender.handle_datagram(now, &feedback(7, echo, &[1, 0])).unwrap();
            sender.handle_timeout(now);
        }
        assert_eq!(
            sender.failure(),
            Some(&SessionError::NoProgress {
                after: Duration::from_secs(10)
            })
        );
        assert!(
            (Duration::from_secs(10)..Duration::from_millis(10_100)).contains(&now),
            "{now:?}"
        );
        assert!(sender.stats().feedback > 150);
    }

    #[test]
    fn repeated_stale_feedback_does_not_hold_back_the_probe() {
        // Everything after datagram 0 is lost; the receiver keeps repeating
        // its feedback for datagram 0 every 100 ms (as a receiver does when
        // nothing arrives). The sender must still probe, within a probe
        // timeout, not wait for the idle timeout.
        let (mut sender, mut buf) = started();
        let mut now = MS;
        sender.handle_datagram(now, &feedback(7, 0, &[1, 0])).unwrap();
        while sender.poll_transmit(now, &mut buf).is_some() {}
        let sent = sender.stats().data_sent;
        let probes = sender.stats().probes;
        while now < Duration::from_secs(1) {
            now += 100 * MS;
            sender.handle_datagram(now, &feedback(7, 0, &[1, 0])).unwrap();
            sender.handle_timeout(now);
            while sender.poll_transmit(now, &mut buf).is_some() {}
        }
        assert!(sender.stats().probes > probes, "{:?}", sender.stats());
        assert!(sender.stats().data_sent > sent);
    }

    #[test]
    fn a_sender_nobody_answers_probes_with_backoff_then_gives_up() {
        let (mut sender, mut buf) = started();
        let mut now = Duration::ZERO;
        while sender.failure().is_none() {
            now = sender.poll_timeout().unwrap().max(now + MS);
            sender.handle_timeout(now);
            while sender.poll_transmit(now, &mut buf).is_some() {}
        }
        assert_eq!(now, Duration::from_secs(10));
        // Initial RTT guess 100 ms, doubled once: one probe each ~200 ms.
        let probes = sender.stats().probes;
        assert!((40..=55).contains(&probes), "{probes}");
    }

    #[test]
    fn redundancy_follows_the_loss_with_its_margin() {
        assert_eq!(packets_for(32, 0.0, 1.0), 32);
        // 20 % loss: 40 on average, one deviation (≈ 3.2 packets) more.
        assert_eq!(packets_for(32, 0.2, 0.0), 40);
        let n = packets_for(32, 0.2, 1.0);
        assert!((43..=45).contains(&n), "{n}");
        assert!(packets_for(32, 0.05, 1.0) < packets_for(32, 0.2, 1.0));
        assert_eq!(packets_for(1, 0.5, 1.0), 4);
        // The margin's promise, checked by counting: with n packets at 20 %
        // loss, P(at least 32 arrive) is about 84 %.
        let (n, p) = (f64::from(n), 0.2f64);
        let mut complete = 0.0;
        let mut term = (1.0 - p).powf(n); // P(0 lost)
        for lost in 0..=(n as u32 - 32) {
            complete += term;
            term *= (n - f64::from(lost)) / f64::from(lost + 1) * p / (1.0 - p);
        }
        assert!((0.8..0.92).contains(&complete), "{complete}");
    }
}
