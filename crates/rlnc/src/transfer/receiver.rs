//! The receiving side: data datagrams in, decoded bytes and feedback out.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use super::datagram::{self, Body, Datagram, DatagramError, UNKNOWN_LEN};
use crate::decoder::{Decoder, Progress};
use crate::packet::{Packet, ParseOptions};

/// Receiver policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiverConfig {
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
}

impl Default for ReceiverConfig {
    fn default() -> ReceiverConfig {
        ReceiverConfig {
            session: None,
            max_window: 1024,
            max_window_bytes: 64 << 20,
            feedback_every: 16,
            feedback_interval: Duration::from_millis(2),
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
    /// Data for generations beyond the window.
    pub out_of_window: u64,
    /// Feedback datagrams written.
    pub feedback_sent: u64,
}

/// The receiver state machine: no sockets, no clock; `now` is an argument.
///
/// Feed datagrams with [`handle_datagram`](Self::handle_datagram), take the
/// decoded bytes in order with [`poll_data`](Self::poll_data), hand over the
/// digest of what was written with [`handle_digest`](Self::handle_digest)
/// once [`is_complete`](Self::is_complete), and send what
/// [`poll_transmit`](Self::poll_transmit) writes.
#[derive(Debug)]
pub struct Receiver {
    config: ReceiverConfig,
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
    highest_seq: u32,
    unreported: u32,
    first_unreported: Duration,
    feedback_now: bool,
    digest: Option<[u8; 32]>,
    done_due: bool,
    ranks: Vec<u8>,
    stats: ReceiverStats,
}

impl Receiver {
    /// A receiver waiting for its first datagram.
    pub fn new(config: ReceiverConfig) -> Receiver {
        Receiver {
            config,
            session: config.session,
            shape: None,
            window: 0,
            total_len: None,
            base: 0,
            slots: VecDeque::new(),
            spare: Vec::new(),
            decoders: 0,
            delivered: 0,
            highest_seq: 0,
            unreported: 0,
            first_unreported: Duration::ZERO,
            feedback_now: false,
            digest: None,
            done_due: false,
            ranks: Vec::new(),
            stats: ReceiverStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// The session, once known.
    pub fn session(&self) -> Option<u64> {
        self.session
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

    /// Records the SHA-256 of the written bytes, to be sent in a done
    /// datagram (call once [`is_complete`](Self::is_complete)).
    pub fn handle_digest(&mut self, digest: [u8; 32]) {
        self.digest = Some(digest);
        self.done_due = true;
    }

    /// Feeds one datagram. Never panics, whatever the bytes.
    ///
    /// # Errors
    /// [`DatagramError`] for malformed bytes. Every rejection (malformed,
    /// foreign, contradicting, redundant) is counted in [`stats`](Self::stats).
    pub fn handle_datagram(&mut self, now: Duration, bytes: &[u8]) -> Result<(), DatagramError> {
        self.stats.datagrams += 1;
        let datagram = Datagram::parse(bytes).inspect_err(|_| self.stats.malformed += 1)?;
        let Body::Data {
            seq,
            total_len,
            window,
            packet,
        } = datagram.body
        else {
            self.stats.malformed += 1;
            return Ok(());
        };
        match self.session {
            Some(s) if s != datagram.session => {
                self.stats.foreign += 1;
                return Ok(());
            }
            _ => {}
        }
        let Ok(packet) = Packet::parse(packet, &ParseOptions::default()) else {
            self.stats.malformed += 1;
            return Ok(());
        };
        if !self.accept_shape(&packet, total_len, window) {
            self.stats.malformed += 1;
            return Ok(());
        }
        self.session = Some(datagram.session);
        self.stats.data += 1;
        self.highest_seq = self.highest_seq.max(seq);
        if self.unreported == 0 {
            self.first_unreported = now;
        }
        self.unreported += 1;
        if self.digest.is_some() {
            self.done_due = true;
        }
        self.handle_packet(&packet);
        Ok(())
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

    fn handle_packet(&mut self, packet: &Packet<'_>) {
        let Some(i) = packet.generation.checked_sub(self.base) else {
            self.stats.redundant += 1;
            return;
        };
        let i = i as usize;
        if i >= self.window {
            self.stats.out_of_window += 1;
            return;
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
        let Some(decoder) = slot.as_mut() else { return };
        if decoder.is_complete() {
            self.stats.redundant += 1;
            return;
        }
        match decoder.receive(packet) {
            Ok(Progress::Redundant { .. }) => self.stats.redundant += 1,
            Ok(Progress::Complete) => {
                self.stats.innovative += 1;
                self.feedback_now = true;
            }
            Ok(_) => self.stats.innovative += 1,
            Err(_) => self.stats.malformed += 1,
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

    /// Writes a feedback or done datagram into `out` (1,500 bytes suffice)
    /// if one is due; returns its length.
    pub fn poll_transmit(&mut self, now: Duration, out: &mut [u8]) -> Option<usize> {
        let session = self.session?;
        if self.done_due
            && let (Some(digest), Some(total)) = (self.digest, self.total_len)
        {
            self.done_due = false;
            self.unreported = 0;
            return datagram::write_done(out, session, total, &digest);
        }
        let due = self.feedback_now
            || self.unreported >= self.config.feedback_every
            || (self.unreported > 0 && now.saturating_sub(self.first_unreported) >= self.config.feedback_interval);
        if !due || self.digest.is_some() {
            return None;
        }
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
        let n = datagram::write_feedback(out, session, self.highest_seq, self.stats.data, self.base, &self.ranks)?;
        self.feedback_now = false;
        self.unreported = 0;
        self.stats.feedback_sent += 1;
        Some(n)
    }

    /// When feedback falls due without further input.
    pub fn poll_timeout(&self) -> Option<Duration> {
        (self.unreported > 0 && self.digest.is_none()).then(|| self.first_unreported + self.config.feedback_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::sender::{Sender, SenderConfig};
    use alloc::vec;
    use proptest::prelude::*;

    /// A few valid data datagrams of a small transfer.
    fn valid() -> Vec<Vec<u8>> {
        let mut config = SenderConfig::new(5);
        config.k = 4;
        config.symbol_size = 16;
        config.rate = 0;
        let mut sender: Sender<Vec<u8>> = Sender::new(config).unwrap();
        sender.push_generation(vec![1; 64], 64, false).unwrap();
        sender.push_generation(vec![2; 64], 20, true).unwrap();
        let mut buf = vec![0u8; 256];
        let mut out = Vec::new();
        while let Some(n) = sender.poll_transmit(Duration::ZERO, &mut buf) {
            out.push(buf[..n].to_vec());
        }
        out
    }

    #[test]
    fn decoder_memory_is_bounded_whatever_window_is_announced() {
        let mut config = SenderConfig::new(5);
        (config.k, config.symbol_size, config.window, config.rate) = (4, 16, 8, 0);
        let mut sender: Sender<Vec<u8>> = Sender::new(config).unwrap();
        for g in 0..8 {
            sender.push_generation(vec![g; 64], 64, g == 7).unwrap();
        }
        let mut receiver = Receiver::new(ReceiverConfig {
            max_window_bytes: 3 * 64,
            ..ReceiverConfig::default()
        });
        let mut buf = vec![0u8; 256];
        while let Some(n) = sender.poll_transmit(Duration::ZERO, &mut buf) {
            receiver.handle_datagram(Duration::ZERO, &buf[..n]).unwrap();
        }
        assert_eq!(receiver.slots.len(), 3);
        assert_eq!(receiver.stats().out_of_window, 5 * 4);
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
            let mut receiver = Receiver::new(ReceiverConfig::default());
            let now = Duration::ZERO;
            let _ = receiver.handle_datagram(now, &noise);
            for mut d in valid() {
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
            prop_assert_eq!(s.datagrams, s.data + s.malformed + s.foreign);
        }
    }
}
