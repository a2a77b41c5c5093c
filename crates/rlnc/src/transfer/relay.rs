//! A recoding relay: a receiver to the sender upstream and a sender to the
//! receiver downstream, which forwards fresh combinations of what it holds
//! per generation ([`Recoder`]) without decoding. Each hop repairs its own
//! loss: the sender covers upstream loss, the relay downstream loss, so a
//! packet lost downstream costs one packet on one hop instead of a
//! retransmission across both.
//!
//! Feedback is aggregated, not forwarded. Upstream, the relay reports its
//! own ranks (the sender stops sending a generation once the relay can
//! regenerate it) from the receiver's base (so the sender's window slides
//! only as the receiver delivers), for the first `window` generations only,
//! so the sender never runs more than one window ahead of the receiver.
//! The relay holds two windows of recoders. Downstream, it BOOSTs from the
//! receiver's ranks as the sender does, up to its own rank. The receiver's
//! done is passed upstream (under the relay's instance id): the end-to-end
//! check stays the receiver's SHA-256 against the sender's.
//!
//! ```text
//! sender ──data──► relay ──recoded data──► receiver
//!        ◄─relay's ranks──  ◄──receiver's ranks, done──
//! ```
//!
//! Upstream the relay is a receiver with an instance id of its own: its
//! feedback and the done it passes up carry it, so the sender binds to the
//! relay. Downstream it binds to the receiver as a sender does (its data
//! carry the receiver's instance once heard). Close datagrams are passed
//! on both ways, the instance translated (docs/rlnc-transfer.md T.3). The
//! congestion controller runs on the sender's hop; the relay's own hop is
//! paced by `rate` only.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use super::datagram::{
    self, Body, CloseReason, DATA_PREFIX_LEN, DataHeader, Datagram, DatagramError, Feedback, HEADER_LEN, NO_RECEIVER,
    UNKNOWN_LEN,
};
use super::link::Rng;
use super::pacing::TokenBucket;
use crate::decoder::Progress;
use crate::packet::{Packet, ParseOptions};
use crate::recoder::Recoder;

/// How the relay paces and reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RelayConfig {
    /// The relay's instance id as the sender's receiver (random per process).
    pub instance: u32,
    /// Accept only this session; `None` adopts the first valid data datagram's.
    pub session: Option<u64>,
    /// Window (generations) assumed at most, whatever the sender announces.
    pub max_window: u16,
    /// Bytes of recoders (2 × window × K × S) kept at most.
    pub max_window_bytes: usize,
    /// Feedback upstream after this many data datagrams …
    pub feedback_every: u32,
    /// … or this long after the first unreported one.
    pub feedback_interval: Duration,
    /// Downstream pacing ceiling in bytes per second; 0 for unpaced (the
    /// relay sends about what arrives, scaled by downstream loss).
    pub rate: u64,
    /// Downstream pacing burst in bytes.
    pub burst: u64,
    /// With nothing scheduled downstream and the receiver lacking rank the
    /// relay holds, one more packet after this long without feedback.
    pub probe_interval: Duration,
    /// Seed of the recoding weights.
    pub seed: u64,
}

impl Default for RelayConfig {
    /// The receiver's feedback cadence and memory bound, the sender's probe
    /// interval, unpaced.
    fn default() -> RelayConfig {
        RelayConfig {
            instance: 0x2E1A_7001,
            session: None,
            max_window: 1024,
            max_window_bytes: 128 << 20,
            feedback_every: 16,
            feedback_interval: Duration::from_millis(2),
            rate: 0,
            burst: 64 * 1024,
            probe_interval: Duration::from_millis(10),
            seed: 0x5EED_0F2E_1A00,
        }
    }
}

/// What the relay did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(serde::Serialize))]
pub struct RelayStats {
    /// Data datagrams of the session from upstream with a valid packet.
    pub data_in: u64,
    /// Of which raised a recoder's rank.
    pub innovative: u64,
    /// Of which added nothing (duplicates, generations already delivered).
    pub redundant: u64,
    /// Of which were for generations beyond the relay's two windows.
    pub out_of_window: u64,
    /// Recoded data datagrams sent downstream.
    pub data_out: u64,
    /// Of which were BOOSTs or probes after downstream feedback.
    pub boosted: u64,
    /// Feedback datagrams sent upstream.
    pub feedback_up: u64,
    /// Feedback datagrams from the receiver accepted.
    pub feedback_down: u64,
    /// Done datagrams passed upstream.
    pub done_up: u64,
    /// Close datagrams passed on, either way.
    pub closes: u64,
    /// Malformed datagrams from either side.
    pub malformed: u64,
    /// Well-formed datagrams of another session.
    pub foreign: u64,
}

#[derive(Debug)]
struct Slot {
    recoder: Option<Recoder>,
    /// Packets owed downstream.
    credit: u32,
    /// Downstream sequence number of the last packet sent for it.
    last_seq: Option<u64>,
    /// The receiver's rank, as last reported.
    down_rank: u8,
}

impl Slot {
    fn rank(&self) -> u8 {
        self.recoder.as_ref().map_or(0, Recoder::rank)
    }

    /// Whether a fresh combination would raise the receiver's rank: its
    /// packets all came from here, so its span lies in ours.
    fn useful(&self) -> bool {
        self.rank() > self.down_rank
    }
}

/// The relay state machine: no sockets, no clock; `now` is an argument.
///
/// Feed the sender's datagrams to [`handle_upstream`](Self::handle_upstream)
/// and the receiver's to [`handle_downstream`](Self::handle_downstream);
/// send what [`poll_upstream`](Self::poll_upstream) and
/// [`poll_downstream`](Self::poll_downstream) write; sleep until
/// [`poll_timeout`](Self::poll_timeout).
#[derive(Debug)]
pub struct Relay {
    config: RelayConfig,
    session: Option<u64>,
    shape: Option<(u8, u16)>,
    /// Window the sender announces; the relay holds twice as many.
    window: usize,
    total_len: Option<u64>,
    /// The receiver's base: generations below are delivered.
    low: u32,
    slots: VecDeque<Slot>,
    /// The last generation delivered, kept to draw a lost done again.
    tail: Option<Recoder>,
    poke: bool,
    // Upstream (relay as receiver).
    /// The highest-numbered datagram from the sender: seq, its timestamp,
    /// when it arrived (echoed for the sender's RTT).
    echo_up: Option<(u64, u32, Duration)>,
    epoch: Option<Duration>,
    last_arrival: Duration,
    unreported: u32,
    first_unreported: Duration,
    feedback_now: bool,
    ranks: Vec<u8>,
    // Downstream (relay as sender).
    seq: u64,
    echo_seq: Option<u64>,
    /// The receiver instance downstream, once heard.
    receiver: Option<u32>,
    loss: f64,
    extra: f64,
    bucket: TokenBucket,
    cursor: usize,
    last_heard: Duration,
    last_sent: Duration,
    rng: Rng,
    done: Option<(u64, [u8; 32])>,
    done_due: bool,
    /// A close to pass upstream, and one to pass downstream.
    close_up: Option<CloseReason>,
    close_down: Option<CloseReason>,
    stats: RelayStats,
}

impl Relay {
    /// A relay waiting for the sender's first datagram.
    pub fn new(config: RelayConfig) -> Relay {
        Relay {
            config,
            session: config.session,
            shape: None,
            window: 1,
            total_len: None,
            low: 0,
            slots: VecDeque::new(),
            tail: None,
            poke: false,
            echo_up: None,
            epoch: None,
            last_arrival: Duration::ZERO,
            unreported: 0,
            first_unreported: Duration::ZERO,
            feedback_now: false,
            ranks: Vec::new(),
            seq: 0,
            echo_seq: None,
            receiver: None,
            loss: 0.0,
            extra: 0.0,
            bucket: TokenBucket::new(config.rate, config.burst),
            cursor: 0,
            last_heard: Duration::ZERO,
            last_sent: Duration::ZERO,
            rng: Rng::new(config.seed),
            done: None,
            done_due: false,
            close_up: None,
            close_down: None,
            stats: RelayStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> RelayStats {
        self.stats
    }

    /// The session, once known.
    pub fn session(&self) -> Option<u64> {
        self.session
    }

    /// Whether the receiver reported done (passed upstream).
    pub fn is_finished(&self) -> bool {
        self.done.is_some()
    }

    /// The receiver's length and SHA-256, once it reported done.
    pub fn receiver_digest(&self) -> Option<(u64, [u8; 32])> {
        self.done
    }

    /// Downstream loss rate estimated from the receiver's feedback.
    pub fn loss_estimate(&self) -> f64 {
        self.loss
    }

    /// Bytes of every downstream data datagram (0 before the first packet).
    pub fn datagram_len(&self) -> usize {
        self.shape
            .map_or(0, |(k, s)| datagram::data_len(crate::packet::wire_len(k, s, true)))
    }

    /// Feeds a datagram from the sender. Never panics.
    ///
    /// # Errors
    /// [`DatagramError`] for malformed bytes; every rejection is counted.
    pub fn handle_upstream(&mut self, now: Duration, bytes: &[u8]) -> Result<(), DatagramError> {
        let datagram = Datagram::parse(bytes).inspect_err(|_| self.stats.malformed += 1)?;
        if self.session.is_some_and(|s| s != datagram.session) {
            self.stats.foreign += 1;
            return Ok(());
        }
        let (header, packet) = match datagram.body {
            Body::Data { header, packet } => (header, packet),
            Body::Close { receiver, reason } if receiver == self.config.instance && self.session.is_some() => {
                // The sender ends the session (or acknowledges the done).
                self.close_down = Some(reason);
                return Ok(());
            }
            _ => {
                self.stats.malformed += 1;
                return Ok(());
            }
        };
        if header.receiver != NO_RECEIVER && header.receiver != self.config.instance {
            // Bound to another instance: not this relay's session.
            self.stats.foreign += 1;
            return Ok(());
        }
        let (seq, total_len, window) = (header.seq, header.total_len, header.window);
        let Ok(packet) = Packet::parse(packet, &ParseOptions::default()) else {
            self.stats.malformed += 1;
            return Ok(());
        };
        if !self.accept_shape(&packet, total_len, window) {
            self.stats.malformed += 1;
            return Ok(());
        }
        self.session = Some(datagram.session);
        self.stats.data_in += 1;
        if self.echo_up.is_none_or(|(s, _, _)| seq >= s) {
            self.echo_up = Some((seq, header.timestamp_us, now));
        }
        self.epoch.get_or_insert(now);
        self.last_arrival = now;
        if self.unreported == 0 {
            self.first_unreported = now;
        }
        self.unreported += 1;
        if self.done.is_some() {
            // The sender still sends: its done was lost.
            self.done_due = true;
            return Ok(());
        }
        self.handle_packet(&packet);
        Ok(())
    }

    /// Checks a packet against what earlier ones established (the
    /// receiver's rules); adopts the shape, length and window.
    fn accept_shape(&mut self, packet: &Packet<'_>, total_len: u64, window: u16) -> bool {
        let shape = (packet.k, packet.symbol_size);
        if self.shape.is_some_and(|s| s != shape) {
            return false;
        }
        let gen_bytes = u64::from(packet.k) * u64::from(packet.symbol_size);
        if total_len != UNKNOWN_LEN {
            if self.total_len.is_some_and(|t| t != total_len) {
                return false;
            }
            if u64::from(packet.generation) >= total_len.div_ceil(gen_bytes).max(1) {
                return false;
            }
            self.total_len = Some(total_len);
        } else if self
            .total_len
            .is_some_and(|t| u64::from(packet.generation) >= t.div_ceil(gen_bytes).max(1))
        {
            return false;
        }
        self.shape = Some(shape);
        let by_bytes = (self.config.max_window_bytes as u64 / (2 * gen_bytes)).max(1) as usize;
        self.window = usize::from(window.clamp(1, self.config.max_window.max(1))).min(by_bytes);
        true
    }

    fn handle_packet(&mut self, packet: &Packet<'_>) {
        let Some(i) = packet.generation.checked_sub(self.low) else {
            // Delivered already; the sender may be waiting for a lost done.
            self.stats.redundant += 1;
            self.poke = true;
            return;
        };
        let i = i as usize;
        if i >= 2 * self.window {
            self.stats.out_of_window += 1;
            return;
        }
        while self.slots.len() <= i {
            self.slots.push_back(Slot {
                recoder: None,
                credit: 0,
                last_seq: None,
                down_rank: 0,
            });
        }
        let slot = &mut self.slots[i];
        if slot.recoder.is_none() {
            match Recoder::new(packet.generation, packet.k, packet.symbol_size) {
                Ok(r) => slot.recoder = Some(r),
                Err(_) => {
                    self.stats.malformed += 1;
                    return;
                }
            }
        }
        let Some(recoder) = slot.recoder.as_mut() else { return };
        match recoder.receive(packet) {
            Ok(Progress::Redundant { .. }) => self.stats.redundant += 1,
            Ok(progress) => {
                self.stats.innovative += 1;
                if progress == Progress::Complete {
                    self.feedback_now = true;
                }
                // One fresh combination per innovative packet, and redundancy
                // for the downstream loss, accrued fractionally.
                slot.credit += 1;
                self.extra += self.loss / (1.0 - self.loss);
                if self.extra >= 1.0 {
                    self.extra -= 1.0;
                    slot.credit += 1;
                }
            }
            Err(_) => self.stats.malformed += 1,
        }
    }

    /// Feeds a datagram from the receiver. Never panics.
    ///
    /// # Errors
    /// [`DatagramError`] for malformed bytes; every rejection is counted.
    pub fn handle_downstream(&mut self, now: Duration, bytes: &[u8]) -> Result<(), DatagramError> {
        let datagram = Datagram::parse(bytes).inspect_err(|_| self.stats.malformed += 1)?;
        if self.session != Some(datagram.session) {
            self.stats.foreign += 1;
            return Ok(());
        }
        let Some(receiver) = datagram.body.receiver() else {
            self.stats.malformed += 1;
            return Ok(());
        };
        // Bound to the first receiver instance heard, as a sender is.
        if *self.receiver.get_or_insert(receiver) != receiver {
            self.stats.foreign += 1;
            return Ok(());
        }
        match datagram.body {
            Body::Feedback(feedback) => {
                self.last_heard = now;
                self.stats.feedback_down += 1;
                self.handle_feedback(feedback.echo_seq, feedback.received, feedback.base, feedback.ranks);
            }
            Body::Done { total_len, digest, .. } => {
                self.last_heard = now;
                self.done = Some((total_len, digest));
                self.done_due = true;
                self.slots.clear();
                self.tail = None;
            }
            Body::Close { reason, .. } => self.close_up = Some(reason),
            Body::Data { .. } => {}
        }
        Ok(())
    }

    fn handle_feedback(&mut self, echo_seq: u64, received: u64, base: u32, ranks: &[u8]) {
        let fresh = self.echo_seq.is_none_or(|e| echo_seq > e);
        if fresh {
            self.echo_seq = Some(echo_seq);
            let sent = echo_seq as f64 + 1.0;
            self.loss = (1.0 - received as f64 / sent).clamp(0.0, 0.9);
        }
        // The receiver delivered everything below its base: drop those
        // recoders (keeping the last), and let the sender's window slide.
        while self.low < base {
            match self.slots.pop_front() {
                Some(slot) => {
                    if slot.recoder.is_some() {
                        self.tail = slot.recoder;
                    }
                }
                None => {
                    self.low = base;
                    break;
                }
            }
            self.low += 1;
            self.cursor = self.cursor.saturating_sub(1);
            self.feedback_now = true;
        }
        let k = self.shape.map_or(0, |(k, _)| k);
        // Feedback older than what we know (reordered) starts below our base.
        let ranks = ranks.get((self.low - base.min(self.low)) as usize..).unwrap_or(&[]);
        for (slot, &rank) in self.slots.iter_mut().zip(ranks) {
            slot.down_rank = rank;
            if rank >= k {
                slot.credit = 0;
            } else if fresh && slot.credit == 0 && slot.last_seq.is_some_and(|s| s <= echo_seq) && slot.useful() {
                // BOOST: every packet sent for it has had its chance.
                let deficit = f64::from(slot.rank() - rank);
                slot.credit = ceil(deficit / (1.0 - self.loss)).max(1);
                self.stats.boosted += u64::from(slot.credit);
            }
        }
    }

    /// Writes a feedback, done or close datagram for the sender into `out`
    /// (1,500 bytes suffice) if one is due; returns its length.
    pub fn poll_upstream(&mut self, now: Duration, out: &mut [u8]) -> Option<usize> {
        let session = self.session?;
        let instance = self.config.instance;
        if let Some(reason) = self.close_up.take() {
            self.stats.closes += 1;
            return datagram::write_close(out, session, instance, reason);
        }
        if let (true, Some((total, digest))) = (self.done_due, self.done) {
            self.done_due = false;
            self.unreported = 0;
            self.stats.done_up += 1;
            return datagram::write_done(out, session, instance, total, &digest);
        }
        let due = self.feedback_now
            || self.unreported >= self.config.feedback_every
            || (self.unreported > 0 && now.saturating_sub(self.first_unreported) >= self.config.feedback_interval);
        if !due || self.done.is_some() {
            return None;
        }
        let k = self.shape.map_or(0, |(k, _)| k);
        let room = out
            .len()
            .saturating_sub(datagram::HEADER_LEN + datagram::FEEDBACK_PREFIX_LEN + datagram::TAG_LEN);
        self.ranks.clear();
        // The relay's own ranks, one window from the receiver's base: a
        // generation the relay holds whole needs nothing more from the
        // sender, and a sender told nothing beyond one window stays within
        // the two the relay keeps.
        self.ranks.extend(
            self.slots
                .iter()
                .take(self.window.min(room))
                .map(|s| if s.down_rank >= k { k } else { s.rank() }),
        );
        let (echo_seq, echo_timestamp_us, arrived) = self.echo_up?;
        let feedback = Feedback {
            receiver: instance,
            echo_seq,
            echo_timestamp_us,
            echo_delay_us: micros(now.saturating_sub(arrived)).min(u64::from(u32::MAX)) as u32,
            received: self.stats.data_in,
            received_at_us: micros(self.last_arrival.saturating_sub(self.epoch.unwrap_or(now))),
            window: u16::try_from(self.window).unwrap_or(u16::MAX),
            base: self.low,
            ranks: &self.ranks,
        };
        let n = datagram::write_feedback(out, session, &feedback)?;
        self.feedback_now = false;
        self.unreported = 0;
        self.stats.feedback_up += 1;
        Some(n)
    }

    /// The next slot with packets owed that the receiver can use and can
    /// hold (within one window of its base), round robin.
    fn next_with_credit(&self) -> Option<usize> {
        let n = self.slots.len().min(self.window);
        (0..n)
            .map(|j| (self.cursor + j) % n)
            .find(|&i| self.slots[i].credit > 0 && self.slots[i].useful())
    }

    fn probe_target(&self) -> Option<usize> {
        self.slots.iter().take(self.window).position(Slot::useful)
    }

    /// Writes the next recoded data datagram for the receiver into `out`
    /// (at least [`datagram_len`](Self::datagram_len) bytes) if one is due
    /// and pacing allows; returns its length. Allocation-free.
    pub fn poll_downstream(&mut self, now: Duration, out: &mut [u8]) -> Option<usize> {
        let session = self.session?;
        if let Some(reason) = self.close_down.take() {
            self.stats.closes += 1;
            return datagram::write_close(out, session, self.receiver.unwrap_or(NO_RECEIVER), reason);
        }
        let len = self.datagram_len();
        if self.done.is_some() || out.len() < len {
            return None;
        }
        // Credit that the receiver cannot use any more is void.
        for slot in self.slots.iter_mut() {
            if !slot.useful() {
                slot.credit = 0;
            }
        }
        let mut pick = self.next_with_credit();
        let silent = now.saturating_sub(self.last_heard.max(self.last_sent)) >= self.config.probe_interval;
        if pick.is_none()
            && silent
            && let Some(i) = self.probe_target()
        {
            self.slots[i].credit = 1;
            self.stats.boosted += 1;
            pick = Some(i);
        }
        if pick.is_none() && !self.poke {
            return None;
        }
        if !self.bucket.try_take(now, len) {
            return None;
        }
        let seq = self.seq;
        let header = DataHeader {
            seq,
            timestamp_us: micros(now) as u32,
            receiver: self.receiver.unwrap_or(NO_RECEIVER),
            total_len: self.total_len.unwrap_or(UNKNOWN_LEN),
            window: u16::try_from(self.window).unwrap_or(u16::MAX),
        };
        datagram::write_data_prefix(out, session, &header);
        let packet = &mut out[HEADER_LEN + DATA_PREFIX_LEN..len];
        let recoder = match pick {
            Some(i) => self.slots[i].recoder.as_ref(),
            // The receiver may have lost its done: any packet of its session
            // draws it again.
            None => self
                .tail
                .as_ref()
                .or_else(|| self.slots.iter().find_map(|s| s.recoder.as_ref())),
        };
        self.poke = false;
        let packet_len = recoder?.recode(self.rng.next_u64(), packet).ok()?;
        if let Some(i) = pick {
            let slot = &mut self.slots[i];
            slot.credit -= 1;
            slot.last_seq = Some(seq);
            self.cursor = i + 1;
        }
        self.seq = seq + 1;
        self.last_sent = now;
        self.stats.data_out += 1;
        Some(datagram::seal_data(out, packet_len))
    }

    /// When to poll next without further input.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let feedback =
            (self.unreported > 0 && self.done.is_none()).then(|| self.first_unreported + self.config.feedback_interval);
        let closes = (self.close_up.is_some() || self.close_down.is_some()).then_some(Duration::ZERO);
        let downstream = if self.done.is_some() || self.session.is_none() {
            None
        } else if self.next_with_credit().is_some() || self.poke {
            Some(self.bucket.ready_at(self.datagram_len()))
        } else {
            self.probe_target()
                .map(|_| self.last_heard.max(self.last_sent) + self.config.probe_interval)
        };
        [closes, feedback, downstream].into_iter().flatten().min()
    }
}

fn micros(t: Duration) -> u64 {
    t.as_secs() * 1_000_000 + u64::from(t.subsec_micros())
}

/// `x.ceil() as u32` for non-negative `x` (`f64::ceil` needs `std`).
fn ceil(x: f64) -> u32 {
    let whole = x as u32;
    if f64::from(whole) < x { whole + 1 } else { whole }
}

pub mod sim;

#[cfg(test)]
mod tests;
