//! The receiving side: data datagrams in, decoded bytes and feedback out.
//!
//! A receiver listens until the first valid data datagram, then receives
//! until everything is decoded and its digest handed over, then lingers to
//! answer a sender that missed the done datagram. It waits for the first
//! datagram as long as it is asked to (the caller decides; a listening tool
//! waits indefinitely), but once a session started it fails after
//! `idle_timeout` without progress — a packet that raised a rank — however
//! much else arrives.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use super::SessionError;
use super::datagram::{
    self, Body, CloseReason, DataHeader, Datagram, DatagramError, Feedback, NO_RECEIVER, UNKNOWN_LEN,
};
use crate::decoder::{Decoder, Progress};
use crate::packet::{Packet, ParseOptions};

/// Receiver policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// This receiver's instance id, sent in every feedback: random per
    /// process, so that a sender recognises a restarted receiver. Non-zero
    /// (`new` maps 0 to 1).
    pub instance: u32,
    /// Accept only this session; `None` adopts the first valid data datagram's.
    pub session: Option<u64>,
    /// Decoders kept at most, whatever window the sender announces.
    pub max_window: u16,
    /// Bytes of decoders (window × K × S) kept at most: a datagram announcing
    /// K = 255, S = 9000 and a huge window cannot make the receiver allocate
    /// gigabytes.
    pub max_window_bytes: usize,
    /// Feedback after this many data datagrams …
    pub feedback_every: u32,
    /// … or this long after the first unreported one.
    pub feedback_interval: Duration,
    /// Once a session started, fail after this long without progress.
    pub idle_timeout: Duration,
    /// After done, keep answering the sender until it acknowledges the done
    /// or has been quiet this long.
    pub linger: Duration,
}

/// Data datagrams a receiver takes before it sends feedback, by default; the
/// sender's window covers two such spans (T.7).
pub const FEEDBACK_EVERY: u32 = 16;

impl ReceiverConfig {
    /// Defaults for a receiver with this instance id: up to 1024 decoders
    /// and 64 MiB of them, feedback every 16 datagrams or 2 ms, 10 s
    /// without progress to give up, lingering up to 2 s for the sender's
    /// acknowledgement of the done.
    pub fn new(instance: u32) -> ReceiverConfig {
        ReceiverConfig {
            instance: instance.max(1),
            session: None,
            max_window: 1024,
            max_window_bytes: 64 << 20,
            feedback_every: FEEDBACK_EVERY,
            feedback_interval: Duration::from_millis(2),
            idle_timeout: Duration::from_secs(10),
            linger: Duration::from_secs(2),
        }
    }
}

/// What the receiver saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(serde::Serialize))]
pub struct ReceiverStats {
    /// Every datagram handled.
    pub datagrams: u64,
    /// Data datagrams of the session with a valid packet.
    pub data: u64,
    /// Data datagrams that raised a rank.
    pub innovative: u64,
    /// Valid data that added nothing: duplicates, redundant combinations,
    /// packets of generations already decoded.
    pub redundant: u64,
    /// Malformed datagrams (bad tag, bad packet, contradicting the transfer).
    pub malformed: u64,
    /// Well-formed datagrams of another session.
    pub foreign: u64,
    /// Datagrams of the session after it ended (failed or closed).
    pub late: u64,
    /// Close datagrams from the session's sender.
    pub closes: u64,
    /// Data for generations beyond the window.
    pub out_of_window: u64,
    /// Feedback datagrams written.
    pub feedback_sent: u64,
}

/// What a datagram was to the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// From the session's sender (or one that must be told it cannot have
    /// this receiver): its source is where answers go.
    Peer,
    /// Foreign, misdirected, or after the session ended.
    Ignored,
}

/// Where the session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No data datagram yet; no timeout.
    Listening,
    /// Decoding; fails after `idle_timeout` without progress.
    Receiving,
    /// Everything written and the digest known; lingering.
    Complete,
    /// Failed; a close datagram is still to be sent.
    Closing,
    /// Finished lingering, or failed with the close sent.
    Closed,
}

/// The highest-numbered data datagram seen, for the RTT echo.
#[derive(Clone, Copy, Debug)]
struct Echo {
    seq: u64,
    timestamp_us: u32,
    arrived: Duration,
}

/// The receiver state machine: no sockets, no clock; `now` is an argument
/// (time since any fixed epoch, the same for every call).
///
/// Feed datagrams with [`handle_datagram`](Self::handle_datagram), take the
/// decoded bytes in order with [`poll_data`](Self::poll_data), hand over the
/// digest of what was written with [`handle_digest`](Self::handle_digest)
/// once [`is_complete`](Self::is_complete), send what
/// [`poll_transmit`](Self::poll_transmit) writes, and call
/// [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout). The session ends with
/// [`is_finished`](Self::is_finished) or a [`failure`](Self::failure).
#[derive(Debug)]
pub struct Receiver {
    config: ReceiverConfig,
    phase: Phase,
    session: Option<u64>,
    shape: Option<(u8, u16)>,
    window: usize,
    total_len: Option<u64>,
    base: u32,
    slots: VecDeque<Option<Decoder>>,
    spare: Vec<Decoder>,
    /// Decoders allocated, in `slots` or `spare`: never fewer than the
    /// largest window adopted, so a free slot always finds a spare one.
    decoders: usize,
    delivered: u64,
    epoch: Duration,
    echo: Option<Echo>,
    last_arrival: Duration,
    last_progress: Duration,
    unreported: u32,
    first_unreported: Duration,
    feedback_now: bool,
    digest: Option<[u8; 32]>,
    /// Whether a done datagram went out (lingering starts after it).
    done_sent: bool,
    failure: Option<SessionError>,
    close_reason: CloseReason,
    ranks: Vec<u8>,
    stats: ReceiverStats,
}

impl Receiver {
    /// A receiver waiting for its first datagram.
    pub fn new(config: ReceiverConfig) -> Receiver {
        Receiver {
            config: ReceiverConfig {
                instance: config.instance.max(1),
                ..config
            },
            phase: Phase::Listening,
            session: config.session,
            shape: None,
            window: 0,
            total_len: None,
            base: 0,
            slots: VecDeque::new(),
            spare: Vec::new(),
            decoders: 0,
            delivered: 0,
            epoch: Duration::ZERO,
            echo: None,
            last_arrival: Duration::ZERO,
            last_progress: Duration::ZERO,
            unreported: 0,
            first_unreported: Duration::ZERO,
            feedback_now: false,
            digest: None,
            done_sent: false,
            failure: None,
            close_reason: CloseReason::NoProgress,
            ranks: Vec::new(),
            stats: ReceiverStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// This receiver's instance id.
    pub fn instance(&self) -> u32 {
        self.config.instance
    }

    /// The session, once known.
    pub fn session(&self) -> Option<u64> {
        self.session
    }

    /// Whether a session started (a valid data datagram arrived).
    pub fn has_started(&self) -> bool {
        self.phase != Phase::Listening
    }

    /// The object's length, once a datagram told it.
    pub fn total_len(&self) -> Option<u64> {
        self.total_len
    }

    /// Bytes handed out by [`poll_data`](Self::poll_data).
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Whether every byte was handed out.
    pub fn is_complete(&self) -> bool {
        self.total_len.is_some_and(|t| self.delivered == t) && self.shape.is_some() && self.slots_done()
    }

    fn slots_done(&self) -> bool {
        // An empty object is one generation of length 0: it must be decoded too.
        let (k, s) = self.shape.unwrap_or((1, 1));
        let gen_bytes = u64::from(k) * u64::from(s);
        let count = self.total_len.map_or(u64::MAX, |t| t.div_ceil(gen_bytes).max(1));
        u64::from(self.base) >= count
    }

    /// Whether the sender has been told everything is written.
    pub fn has_digest(&self) -> bool {
        self.digest.is_some()
    }

    /// Whether the session ended well: everything written, the done sent,
    /// and the sender acknowledged it (or was quiet for `linger`).
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Closed && self.failure.is_none()
    }

    /// Whether nothing more will be sent: finished lingering, or failed
    /// with the close datagram written.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Why the session failed, once it did.
    pub fn failure(&self) -> Option<&SessionError> {
        self.failure.as_ref()
    }

    /// Records the SHA-256 of the written bytes, to be sent in a done
    /// datagram (call once [`is_complete`](Self::is_complete)).
    pub fn handle_digest(&mut self, digest: [u8; 32]) {
        if self.phase == Phase::Receiving && self.is_complete() {
            self.digest = Some(digest);
            self.phase = Phase::Complete;
            self.feedback_now = true;
        }
    }

    /// Ends the session early (the output failed, the user stopped): the
    /// sender is told `reason` with one close datagram.
    pub fn close(&mut self, reason: CloseReason) {
        self.fail(SessionError::Closed { reason, by_peer: false }, reason);
    }

    fn fail(&mut self, error: SessionError, reason: CloseReason) {
        if matches!(self.phase, Phase::Listening | Phase::Receiving | Phase::Complete) {
            self.failure = Some(error);
            self.close_reason = reason;
            self.phase = if self.session.is_some() {
                Phase::Closing
            } else {
                Phase::Closed
            };
        }
    }

    /// Feeds one datagram. Never panics, whatever the bytes.
    ///
    /// # Errors
    /// [`DatagramError`] for malformed bytes. Every rejection (malformed,
    /// foreign, contradicting, redundant, late) is counted in
    /// [`stats`](Self::stats).
    pub fn handle_datagram(&mut self, now: Duration, bytes: &[u8]) -> Result<Handled, DatagramError> {
        self.stats.datagrams += 1;
        let datagram = Datagram::parse(bytes).inspect_err(|_| self.stats.malformed += 1)?;
        if self.session.is_some_and(|s| s != datagram.session) {
            self.stats.foreign += 1;
            return Ok(Handled::Ignored);
        }
        let (header, packet) = match datagram.body {
            Body::Data { header, packet } => (header, packet),
            Body::Close { receiver, reason } if self.session.is_some() && receiver == self.config.instance => {
                self.stats.closes += 1;
                if !(reason == CloseReason::Finished && self.phase == Phase::Complete) {
                    self.fail(SessionError::Closed { reason, by_peer: true }, reason);
                }
                // The sender got the done, or ended the session: nothing to linger for.
                self.phase = Phase::Closed;
                return Ok(Handled::Peer);
            }
            _ => {
                // Feedback, done or close are for senders, or for another receiver.
                self.stats.malformed += 1;
                return Ok(Handled::Ignored);
            }
        };
        if matches!(self.phase, Phase::Closing | Phase::Closed) {
            self.stats.late += 1;
            return Ok(Handled::Ignored);
        }
        if header.receiver != NO_RECEIVER && header.receiver != self.config.instance {
            // The sender is bound to another receiver instance: this one
            // restarted (or another one took the port), and what the sender
            // already released is gone.
            self.stats.foreign += 1;
            self.session = Some(datagram.session);
            self.fail(
                SessionError::JoinedMidTransfer { bound: header.receiver },
                CloseReason::Restarted,
            );
            return Ok(Handled::Peer);
        }
        let Ok(packet) = Packet::parse(packet, &ParseOptions::default()) else {
            self.stats.malformed += 1;
            return Ok(Handled::Ignored);
        };
        if !self.accept_shape(&packet, header.total_len, header.window) {
            self.stats.malformed += 1;
            return Ok(Handled::Ignored);
        }
        self.session = Some(datagram.session);
        if self.phase == Phase::Listening {
            self.phase = Phase::Receiving;
            self.epoch = now;
            self.last_progress = now;
        }
        self.stats.data += 1;
        self.note_arrival(now, &header);
        if self.phase == Phase::Receiving && self.handle_packet(&packet) {
            self.last_progress = now;
        } else if self.phase == Phase::Complete {
            self.stats.redundant += 1;
        }
        Ok(Handled::Peer)
    }

    fn note_arrival(&mut self, now: Duration, header: &DataHeader) {
        if self.echo.is_none_or(|e| header.seq >= e.seq) {
            self.echo = Some(Echo {
                seq: header.seq,
                timestamp_us: header.timestamp_us,
                arrived: now,
            });
        }
        self.last_arrival = now;
        if self.unreported == 0 {
            self.first_unreported = now;
        }
        self.unreported += 1;
    }

    /// Checks a packet against what earlier ones established; adopts the shape.
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
            let count = total_len.div_ceil(gen_bytes).max(1);
            if u64::from(packet.generation) >= count || total_len < self.delivered {
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
        let by_bytes = (self.config.max_window_bytes as u64 / gen_bytes).max(1) as usize;
        self.window = usize::from(window.clamp(1, self.config.max_window.max(1))).min(by_bytes);
        self.provision(shape)
    }

    /// Allocates the decoders (and the bookkeeping) of the whole window once
    /// it is adopted or grows, so that the receive path allocates nothing:
    /// made on demand, a decoder came whenever the sender first had one more
    /// generation open at once, mid-transfer, at a moment set by the load of
    /// the machine. Bounded like the window, by `max_window_bytes`; `false`
    /// for a shape no decoder takes.
    fn provision(&mut self, (k, symbol_size): (u8, u16)) -> bool {
        if self.decoders >= self.window {
            return true;
        }
        self.spare.reserve(self.window - self.decoders);
        while self.decoders < self.window {
            let Ok(decoder) = Decoder::new(0, k, symbol_size) else {
                return false;
            };
            self.spare.push(decoder);
            self.decoders += 1;
        }
        self.slots.reserve(self.window.saturating_sub(self.slots.len()));
        self.ranks.reserve(self.window.saturating_sub(self.ranks.len()));
        true
    }

    /// Feeds a packet to its generation's decoder; whether it raised a rank.
    fn handle_packet(&mut self, packet: &Packet<'_>) -> bool {
        let Some(i) = packet.generation.checked_sub(self.base) else {
            self.stats.redundant += 1;
            return false;
        };
        let i = i as usize;
        if i >= self.window {
            self.stats.out_of_window += 1;
            return false;
        }
        while self.slots.len() <= i {
            self.slots.push_back(None);
        }
        let slot = &mut self.slots[i];
        if slot.is_none() {
            // Slots never outnumber the largest window, so with this one free
            // fewer than `decoders` are in use.
            let mut decoder = self.spare.pop().expect("a decoder provisioned for each slot");
            decoder.reset(packet.generation);
            *slot = Some(decoder);
        }
        let Some(decoder) = slot.as_mut() else { return false };
        if decoder.is_complete() {
            self.stats.redundant += 1;
            return false;
        }
        match decoder.receive(packet) {
            Ok(Progress::Redundant { .. }) => {
                self.stats.redundant += 1;
                false
            }
            Ok(Progress::Complete) => {
                self.stats.innovative += 1;
                self.feedback_now = true;
                true
            }
            Ok(_) => {
                self.stats.innovative += 1;
                true
            }
            Err(_) => {
                self.stats.malformed += 1;
                false
            }
        }
    }

    /// Hands the decoded bytes to `write` in order, generation by
    /// generation, as far as they are decoded; returns how many bytes.
    ///
    /// # Errors
    /// The first error of `write`; that generation is handed out again on
    /// the next call.
    pub fn poll_data<E>(&mut self, mut write: impl FnMut(&[u8]) -> Result<(), E>) -> Result<u64, E> {
        let mut written = 0;
        while let Some(Some(decoder)) = self.slots.front() {
            let Ok(data) = decoder.data() else { break };
            let len = match self.total_len {
                Some(t) => (t - self.delivered).min(data.len() as u64) as usize,
                None => data.len(),
            };
            write(&data[..len])?;
            written += len as u64;
            self.delivered += len as u64;
            self.base += 1;
            if let Some(Some(d)) = self.slots.pop_front() {
                self.spare.push(d);
            }
        }
        Ok(written)
    }

    /// Writes a feedback, done or close datagram into `out` (1,500 bytes
    /// suffice) if one is due; returns its length.
    pub fn poll_transmit(&mut self, now: Duration, out: &mut [u8]) -> Option<usize> {
        let session = self.session?;
        let instance = self.config.instance;
        match self.phase {
            Phase::Closing => {
                self.phase = Phase::Closed;
                return datagram::write_close(out, session, instance, self.close_reason);
            }
            Phase::Listening | Phase::Closed => return None,
            Phase::Receiving | Phase::Complete => {}
        }
        let due = self.feedback_now
            || self.unreported >= self.config.feedback_every
            || (self.unreported > 0 && now.saturating_sub(self.first_unreported) >= self.config.feedback_interval);
        if !due {
            return None;
        }
        let n = match (self.phase, self.digest, self.total_len) {
            (Phase::Complete, Some(digest), Some(total)) => {
                let n = datagram::write_done(out, session, instance, total, &digest)?;
                self.done_sent = true;
                n
            }
            _ => self.write_feedback(now, session, out)?,
        };
        self.feedback_now = false;
        self.unreported = 0;
        self.stats.feedback_sent += 1;
        Some(n)
    }

    fn write_feedback(&mut self, now: Duration, session: u64, out: &mut [u8]) -> Option<usize> {
        let room = out
            .len()
            .saturating_sub(datagram::HEADER_LEN + datagram::FEEDBACK_PREFIX_LEN + datagram::TAG_LEN);
        self.ranks.clear();
        let k = self.shape.map_or(0, |(k, _)| k);
        self.ranks.extend(
            self.slots
                .iter()
                .take(room)
                .map(|s| s.as_ref().map_or(0, |d| if d.is_complete() { k } else { d.rank() })),
        );
        let echo = self.echo?;
        let feedback = Feedback {
            receiver: self.config.instance,
            echo_seq: echo.seq,
            echo_timestamp_us: echo.timestamp_us,
            echo_delay_us: micros(now.saturating_sub(echo.arrived)).min(u64::from(u32::MAX)) as u32,
            received: self.stats.data,
            received_at_us: micros(self.last_arrival.saturating_sub(self.epoch)),
            window: u16::try_from(self.window).unwrap_or(u16::MAX),
            base: self.base,
            ranks: &self.ranks,
        };
        datagram::write_feedback(out, session, &feedback)
    }

    /// Fails the session after `idle_timeout` without progress while
    /// receiving, and finishes it after `linger` of quiet once complete.
    pub fn handle_timeout(&mut self, now: Duration) {
        match self.phase {
            Phase::Receiving if now.saturating_sub(self.last_progress) >= self.config.idle_timeout => {
                let after = self.config.idle_timeout;
                self.fail(SessionError::NoProgress { after }, CloseReason::NoProgress);
            }
            Phase::Complete if self.done_sent && now.saturating_sub(self.last_arrival) >= self.config.linger => {
                self.phase = Phase::Closed;
            }
            _ => {}
        }
    }

    /// When feedback falls due without further input, or
    /// [`handle_timeout`](Self::handle_timeout) has something to do.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let feedback = (self.unreported > 0).then(|| self.first_unreported + self.config.feedback_interval);
        let deadline = match self.phase {
            Phase::Listening | Phase::Closed => return None,
            Phase::Closing => return Some(Duration::ZERO),
            Phase::Receiving => self.last_progress + self.config.idle_timeout,
            Phase::Complete if !self.done_sent => Duration::ZERO,
            Phase::Complete => self.last_arrival + self.config.linger,
        };
        Some(feedback.map_or(deadline, |f| f.min(deadline)))
    }
}

fn micros(t: Duration) -> u64 {
    t.as_secs() * 1_000_000 + u64::from(t.subsec_micros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::datagram::{CloseReason, write_close};
    use crate::transfer::sender::{Sender, SenderConfig};
    use alloc::vec;
    use proptest::prelude::*;

    const MS: Duration = Duration::from_millis(1);

    fn small_sender(window: u16) -> Sender<Vec<u8>> {
        let mut config = SenderConfig::new(5);
        (config.k, config.symbol_size, config.window) = (4, 16, window);
        Sender::new(config).unwrap()
    }

    /// The data datagrams a small sender sends at time zero for `generations`.
    fn datagrams(sender: &mut Sender<Vec<u8>>, generations: u8) -> Vec<Vec<u8>> {
        for g in 0..generations {
            sender
                .push_generation(vec![g + 1; 64], 64, g + 1 == generations)
                .unwrap();
        }
        let mut buf = vec![0u8; 256];
        let mut out = Vec::new();
        while let Some(n) = sender.poll_transmit(Duration::ZERO, &mut buf) {
            out.push(buf[..n].to_vec());
        }
        out
    }

    #[test]
    fn decoder_memory_is_bounded_whatever_window_is_announced() {
        let mut sender = small_sender(8);
        let sent = datagrams(&mut sender, 2);
        let mut receiver = Receiver::new(ReceiverConfig {
            max_window_bytes: 64,
            ..ReceiverConfig::new(1)
        });
        let mut second = 0;
        for d in &sent {
            receiver.handle_datagram(Duration::ZERO, d).unwrap();
            let Body::Data { packet, .. } = Datagram::parse(d).unwrap().body else {
                panic!()
            };
            second += u64::from(Packet::parse(packet, &ParseOptions::default()).unwrap().generation == 1);
        }
        // One generation of 4 × 16 bytes fits: the second is out of window.
        assert!(second > 0);
        assert_eq!(receiver.slots.len(), 1);
        assert_eq!(receiver.stats().out_of_window, second);
        let mut out = [0u8; 1500];
        let n = receiver.poll_transmit(5 * MS, &mut out).unwrap();
        let Body::Feedback(feedback) = Datagram::parse(&out[..n]).unwrap().body else {
            panic!("feedback expected");
        };
        assert_eq!(feedback.window, 1, "the sender is told the limit");
    }

    #[test]
    fn a_listening_receiver_waits_indefinitely() {
        let mut receiver = Receiver::new(ReceiverConfig::new(1));
        assert_eq!(receiver.poll_timeout(), None);
        receiver.handle_timeout(Duration::from_secs(86_400));
        assert!(receiver.failure().is_none() && !receiver.has_started());
        // Garbage does not start a session either.
        let _ = receiver.handle_datagram(Duration::from_secs(1), b"not a datagram");
        assert_eq!(receiver.poll_timeout(), None);
    }

    #[test]
    fn traffic_without_progress_does_not_keep_a_session_alive() {
        let mut sender = small_sender(4);
        let sent = datagrams(&mut sender, 1);
        let mut receiver = Receiver::new(ReceiverConfig::new(1));
        receiver.handle_datagram(Duration::ZERO, &sent[0]).unwrap();
        // The same datagram again every 100 ms: counted, answered, no rank.
        let mut now = Duration::ZERO;
        let mut out = [0u8; 1500];
        while receiver.failure().is_none() {
            now += 100 * MS;
            receiver.handle_datagram(now, &sent[0]).unwrap();
            receiver.handle_timeout(now);
            while receiver.poll_transmit(now, &mut out).is_some() {}
        }
        assert_eq!(
            receiver.failure(),
            Some(&SessionError::NoProgress {
                after: Duration::from_secs(10)
            })
        );
        assert_eq!(now, Duration::from_secs(10));
        assert!(receiver.stats().redundant >= 99);
        assert!(receiver.is_closed(), "the close datagram was written");
    }

    #[test]
    fn data_bound_to_another_receiver_instance_fails_and_tells_the_sender() {
        let mut sender = small_sender(4);
        sender.push_generation(vec![1; 64], 64, true).unwrap();
        let mut buf = vec![0u8; 256];
        let n = sender.poll_transmit(Duration::ZERO, &mut buf).unwrap();
        // The sender heard receiver 7 …
        let mut first = Receiver::new(ReceiverConfig::new(7));
        first.handle_datagram(Duration::ZERO, &buf[..n]).unwrap();
        let mut out = [0u8; 1500];
        let m = first.poll_transmit(Duration::from_millis(5), &mut out).unwrap();
        sender.handle_datagram(Duration::from_millis(5), &out[..m]).unwrap();
        let n = sender.poll_transmit(Duration::from_millis(6), &mut buf).unwrap();
        // … and receiver 8, started afresh on the same port, gets its data.
        let mut second = Receiver::new(ReceiverConfig::new(8));
        assert_eq!(
            second.handle_datagram(Duration::from_millis(7), &buf[..n]),
            Ok(Handled::Peer)
        );
        assert_eq!(second.failure(), Some(&SessionError::JoinedMidTransfer { bound: 7 }));
        let m = second.poll_transmit(Duration::from_millis(7), &mut out).unwrap();
        assert_eq!(
            Datagram::parse(&out[..m]).unwrap().body,
            Body::Close {
                receiver: 8,
                reason: CloseReason::Restarted
            }
        );
        assert!(second.is_closed() && second.poll_transmit(Duration::from_millis(8), &mut out).is_none());
    }

    #[test]
    fn a_close_from_the_sender_ends_the_session() {
        let mut sender = small_sender(4);
        let sent = datagrams(&mut sender, 1);
        let mut receiver = Receiver::new(ReceiverConfig::new(3));
        receiver.handle_datagram(Duration::ZERO, &sent[0]).unwrap();
        let mut close = [0u8; 64];
        // A close for another instance is not ours …
        let n = write_close(&mut close, 5, 4, CloseReason::Cancelled).unwrap();
        assert_eq!(receiver.handle_datagram(MS, &close[..n]), Ok(Handled::Ignored));
        assert!(receiver.failure().is_none());
        // … ours is.
        let n = write_close(&mut close, 5, 3, CloseReason::Cancelled).unwrap();
        assert_eq!(receiver.handle_datagram(MS, &close[..n]), Ok(Handled::Peer));
        assert_eq!(
            receiver.failure(),
            Some(&SessionError::Closed {
                reason: CloseReason::Cancelled,
                by_peer: true
            })
        );
        assert!(receiver.is_closed());
    }

    proptest! {
        /// Random bytes, and valid datagrams with bytes overwritten or cut
        /// short, never panic the receiver, and are all counted.
        #[test]
        fn any_datagram_is_handled_without_panic(
            noise in proptest::collection::vec(any::<u8>(), 0..300),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut receiver = Receiver::new(ReceiverConfig::new(1));
            let now = Duration::ZERO;
            let _ = receiver.handle_datagram(now, &noise);
            for mut d in datagrams(&mut small_sender(4), 2) {
                let i = at.index(d.len());
                d[i] = byte;
                let _ = receiver.handle_datagram(now, &d);
                let len = cut.index(d.len());
                let _ = receiver.handle_datagram(now, &d[..len]);
            }
            let _ = receiver.poll_data(|_| Ok::<_, ()>(()));
            let mut out = [0u8; 1500];
            while receiver.poll_transmit(now, &mut out).is_some() {}
            let s = receiver.stats();
            prop_assert_eq!(s.datagrams, s.data + s.malformed + s.foreign + s.late + s.closes);
        }
    }
}
