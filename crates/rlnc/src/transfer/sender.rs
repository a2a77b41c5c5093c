//! The sending side: generations in, data datagrams out, feedback in.

use alloc::collections::VecDeque;
use core::ops::Deref;
use core::time::Duration;

use super::datagram::{self, Body, DATA_PREFIX_LEN, Datagram, DatagramError, HEADER_LEN, UNKNOWN_LEN};
use super::pacing::TokenBucket;
use crate::checksum::crc32c;
use crate::coefficients::packet_seed;
use crate::encoder::{ConfigError, Encoder, EncoderConfig};
use crate::packet::{CHECKSUM_LEN, Mode};

/// How the sender codes and paces.
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
    /// Generations in flight at most (flow control); the receiver keeps as many decoders.
    pub window: u16,
    /// Pacing rate in bytes per second; 0 for unpaced.
    pub rate: u64,
    /// Pacing burst in bytes.
    pub burst: u64,
    /// With nothing left to send and the transfer not finished, one more
    /// packet after this long without feedback (a lost feedback or done).
    pub probe_interval: Duration,
}

impl SenderConfig {
    /// K = 32, S = 1200 (fits a 1500-byte MTU), systematic, window 4, 50 MB/s.
    ///
    /// Four generations are about 150 KiB of payload in flight, of the order
    /// of a default Linux socket buffer (208 KiB, which also counts
    /// per-datagram overhead), so a slow receiver mostly holds the sender
    /// back instead of overflowing. 50 MB/s is the rate a loaded 2-vCPU
    /// receiver drained on loopback (BENCHMARKS.md).
    pub fn new(session: u64) -> SenderConfig {
        SenderConfig {
            k: 32,
            symbol_size: 1200,
            mode: Mode::Systematic,
            session,
            window: 4,
            rate: 50_000_000,
            burst: 64 * 1024,
            probe_interval: Duration::from_millis(10),
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
    /// The window is full or the input already ended.
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
pub struct SenderStats {
    /// Data datagrams sent.
    pub data_sent: u64,
    /// Of which were BOOSTs (sent after feedback showed a rank deficit) or probes.
    pub boosted: u64,
    /// Feedback datagrams accepted.
    pub feedback: u64,
    /// Datagrams rejected as malformed.
    pub malformed: u64,
    /// Datagrams of another session.
    pub foreign: u64,
    /// Generations the receiver confirmed.
    pub generations_done: u64,
}

struct Slot<B> {
    id: u32,
    data: B,
    next_index: u32,
    credit: u32,
    last_seq: Option<u32>,
    complete: bool,
}

/// The sender state machine: no sockets, no clock; `now` is an argument.
///
/// Feed generations with [`push_generation`](Self::push_generation) while
/// [`wants_generation`](Self::wants_generation), take datagrams with
/// [`poll_transmit`](Self::poll_transmit), feed what the receiver says with
/// [`handle_datagram`](Self::handle_datagram), and sleep until
/// [`poll_timeout`](Self::poll_timeout).
pub struct Sender<B> {
    config: SenderConfig,
    slots: VecDeque<Slot<B>>,
    next_id: u32,
    total_len: Option<u64>,
    seq: u32,
    echo_seq: Option<u32>,
    loss: f64,
    bucket: TokenBucket,
    cursor: usize,
    last_heard: Duration,
    last_sent: Duration,
    done: Option<(u64, [u8; 32])>,
    stats: SenderStats,
}

impl<B> core::fmt::Debug for Sender<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sender")
            .field("config", &self.config)
            .field("in_flight", &self.slots.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl<B: Deref<Target = [u8]>> Sender<B> {
    /// A sender; nothing is sent before the first generation.
    ///
    /// # Errors
    /// [`ConfigError`] for an invalid K or S.
    pub fn new(config: SenderConfig) -> Result<Sender<B>, ConfigError> {
        crate::encoder::check_shape(config.k, config.symbol_size)?;
        Ok(Sender {
            config,
            slots: VecDeque::with_capacity(usize::from(config.window.max(1))),
            next_id: 0,
            total_len: None,
            seq: 0,
            echo_seq: None,
            loss: 0.0,
            bucket: TokenBucket::new(config.rate, config.burst),
            cursor: 0,
            last_heard: Duration::ZERO,
            last_sent: Duration::ZERO,
            done: None,
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

    /// Whether a generation would be accepted now (the window has room and
    /// the input has not ended).
    pub fn wants_generation(&self) -> bool {
        self.total_len.is_none() && self.slots.len() < usize::from(self.config.window.max(1))
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
        self.slots.push_back(Slot {
            id: self.next_id,
            data,
            next_index: 0,
            credit: self.first_pass(),
            last_seq: None,
            complete: false,
        });
        self.next_id += 1;
        Ok(())
    }

    /// Packets of a new generation's first pass: K scaled by the loss seen so far.
    fn first_pass(&self) -> u32 {
        let k = f64::from(self.config.k);
        ceil(k / (1.0 - self.loss))
    }

    /// Whether the receiver reported everything written.
    pub fn is_finished(&self) -> bool {
        self.done.is_some()
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

    /// Loss rate estimated from feedback.
    pub fn loss_estimate(&self) -> f64 {
        self.loss
    }

    /// Writes the next data datagram into `out` (at least
    /// [`datagram_len`](Self::datagram_len) bytes) if one is due and pacing
    /// allows; returns its length. Allocation-free.
    pub fn poll_transmit(&mut self, now: Duration, out: &mut [u8]) -> Option<usize> {
        if self.done.is_some() || self.slots.is_empty() || out.len() < self.datagram_len() {
            return None;
        }
        let mut pick = self.next_with_credit();
        if pick.is_none() && now.saturating_sub(self.last_heard.max(self.last_sent)) >= self.config.probe_interval {
            // Nothing scheduled and nothing heard: probe the oldest unconfirmed
            // generation (or the last one, to draw a lost done again).
            let i = self
                .slots
                .iter()
                .position(|s| !s.complete)
                .unwrap_or(self.slots.len() - 1);
            self.slots[i].credit = 1;
            self.stats.boosted += 1;
            pick = Some(i);
        }
        let i = pick?;
        if !self.bucket.try_take(now, self.datagram_len()) {
            return None;
        }
        let n = self.write_data(i, out);
        self.cursor = i + 1;
        self.last_sent = now;
        Some(n)
    }

    fn next_with_credit(&self) -> Option<usize> {
        // Round robin over the window spreads a loss burst over generations.
        let n = self.slots.len();
        (0..n)
            .map(|j| (self.cursor + j) % n)
            .find(|&i| self.slots[i].credit > 0)
    }

    fn write_data(&mut self, i: usize, out: &mut [u8]) -> usize {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let total = self.total_len.unwrap_or(UNKNOWN_LEN);
        datagram::write_data_prefix(out, self.config.session, seq, total, self.config.window);
        let slot = &mut self.slots[i];
        let packet = &mut out[HEADER_LEN + DATA_PREFIX_LEN..];
        let len = write_generation_packet(&self.config, slot.id, &slot.data, slot.next_index, packet);
        slot.next_index += 1;
        slot.credit -= 1;
        slot.last_seq = Some(seq);
        self.stats.data_sent += 1;
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
        match datagram.body {
            Body::Feedback {
                echo_seq,
                received,
                base,
                ranks,
            } => {
                self.last_heard = now;
                self.stats.feedback += 1;
                self.handle_feedback(echo_seq, received, base, ranks);
            }
            Body::Done { total_len, digest } => {
                self.last_heard = now;
                self.done = Some((total_len, digest));
                self.slots.clear();
            }
            Body::Data { .. } => self.stats.malformed += 1,
        }
        Ok(())
    }

    fn handle_feedback(&mut self, echo_seq: u32, received: u64, base: u32, ranks: &[u8]) {
        let fresh = self.echo_seq.is_none_or(|e| echo_seq > e);
        if fresh {
            self.echo_seq = Some(echo_seq);
            let sent = f64::from(echo_seq) + 1.0;
            self.loss = (1.0 - received as f64 / sent).clamp(0.0, 0.9);
        }
        let k = self.config.k;
        for slot in self.slots.iter_mut() {
            let rank = match slot.id.checked_sub(base) {
                None => k,
                Some(i) => match ranks.get(i as usize) {
                    Some(&r) => r,
                    None => continue,
                },
            };
            if rank >= k {
                if !slot.complete {
                    self.stats.generations_done += 1;
                }
                slot.complete = true;
                slot.credit = 0;
            } else if fresh && slot.credit == 0 && slot.last_seq.is_some_and(|s| s <= echo_seq) {
                // BOOST: every packet sent for it has had its chance; send the
                // deficit, scaled by the loss rate.
                let deficit = f64::from(k - rank);
                slot.credit = ceil(deficit / (1.0 - self.loss)).max(1);
                self.stats.boosted += u64::from(slot.credit);
            }
        }
        // Release confirmed generations in order (their buffers go back to
        // the pool), keeping the very last until done for probing.
        while self.slots.len() > 1 && self.slots.front().is_some_and(|s| s.complete) {
            self.slots.pop_front();
            self.cursor = self.cursor.saturating_sub(1);
        }
        if self.total_len.is_none() && self.slots.front().is_some_and(|s| s.complete) {
            self.slots.pop_front();
            self.cursor = 0;
        }
    }

    /// When to call [`poll_transmit`](Self::poll_transmit) next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.done.is_some() || self.slots.is_empty() {
            return None;
        }
        if self.next_with_credit().is_some() {
            Some(self.bucket.ready_at(self.datagram_len()))
        } else {
            Some(self.last_heard.max(self.last_sent) + self.config.probe_interval)
        }
    }
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
/// If `data` is not K·S bytes or `out` is shorter than a packet.
pub(crate) fn write_generation_packet(
    config: &SenderConfig,
    generation: u32,
    data: &[u8],
    index: u32,
    out: &mut [u8],
) -> usize {
    // One encoder per generation buffer: generation 0 of its own data,
    // coefficients seeded per (session, real generation).
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
    let encoder = Encoder::new(encoder_config, data).expect("shape checked by the caller");
    let len = encoder.write_packet(0, index, out).expect("output holds a packet");
    // Stamp the real generation id and re-seal the codec checksum
    // (packet format v1: generation at byte 2, CRC-32C last).
    out[2..6].copy_from_slice(&generation.to_le_bytes());
    let crc = crc32c(&out[..len - CHECKSUM_LEN]);
    out[len - CHECKSUM_LEN..len].copy_from_slice(&crc.to_le_bytes());
    len
}
