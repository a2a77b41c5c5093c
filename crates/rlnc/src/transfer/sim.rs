//! A whole transfer in virtual time: a [`Sender`] and a [`Receiver`] joined
//! by two simulated [`Link`]s, optionally sharing the forward bottleneck
//! with a TCP CUBIC flow, with link changes and a receiver restart at set
//! times. Deterministic for a given seed, and fast: no sleeping, the clock
//! jumps to the next event.

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::SessionError;
use super::cubic::{CubicSender, SEGMENT_LEN, Segment};
use super::link::{Link, LinkConfig};
use super::receiver::{Receiver, ReceiverConfig, ReceiverStats};
use super::sender::{PathEstimate, Sender, SenderConfig, SenderStats};

/// From `at` on, the links behave like this.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkChange {
    /// Virtual time of the change.
    pub at: Duration,
    /// Sender → receiver.
    pub forward: LinkConfig,
    /// Receiver → sender.
    pub back: LinkConfig,
}

/// One simulated transfer.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Sender settings.
    pub sender: SenderConfig,
    /// Receiver settings.
    pub receiver: ReceiverConfig,
    /// Sender → receiver.
    pub forward: LinkConfig,
    /// Receiver → sender.
    pub back: LinkConfig,
    /// Link changes, in time order.
    pub changes: Vec<LinkChange>,
    /// A bulk TCP CUBIC flow sharing the forward link from this time on.
    pub competitor: Option<Duration>,
    /// Replace the receiver by a fresh instance (its output discarded) at this time.
    pub restart_receiver_at: Option<Duration>,
    /// Trace sample interval.
    pub trace_every: Duration,
    /// Seed of both links.
    pub seed: u64,
    /// Give up after this much virtual time.
    pub limit: Duration,
}

impl SimConfig {
    /// `link` both ways, no changes, no competitor, seed 1, a trace every
    /// 50 ms, at most 600 s.
    pub fn new(sender: SenderConfig, receiver: ReceiverConfig, link: LinkConfig) -> SimConfig {
        SimConfig {
            sender,
            receiver,
            forward: link,
            back: link,
            changes: Vec::new(),
            competitor: None,
            restart_receiver_at: None,
            trace_every: Duration::from_millis(50),
            seed: 1,
            limit: Duration::from_secs(600),
        }
    }
}

/// The state of the run at one moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceSample {
    /// Virtual time.
    pub at: Duration,
    /// Bytes the receiver has written.
    pub delivered: u64,
    /// Payload bytes the competitor had acknowledged.
    pub competitor: u64,
    /// Queueing delay at the forward bottleneck.
    pub queue_delay: Duration,
    /// The sender's view of the path.
    pub path: PathEstimate,
}

/// How it went.
#[derive(Clone, Debug, PartialEq)]
pub struct SimReport {
    /// What the (last) receiver wrote.
    pub output: Vec<u8>,
    /// Whether the sender saw done.
    pub finished: bool,
    /// Virtual time until the sender finished or failed (the limit if neither).
    pub elapsed: Duration,
    /// When the receiver finished lingering or failed.
    pub receiver_ended: Option<Duration>,
    /// Why the sender failed.
    pub sender_failure: Option<SessionError>,
    /// Why the (last) receiver failed.
    pub receiver_failure: Option<SessionError>,
    /// Sender counters.
    pub sender: SenderStats,
    /// Receiver counters.
    pub receiver: ReceiverStats,
    /// Packets strictly needed: K per generation.
    pub needed: u64,
    /// Datagrams the forward link dropped at random.
    pub dropped: u64,
    /// Datagrams (and segments) the forward queue dropped.
    pub overflowed: u64,
    /// Longest wait in the forward queue.
    pub max_queue_delay: Duration,
    /// Samples every `trace_every`.
    pub trace: Vec<TraceSample>,
}

impl SimReport {
    /// Data packets sent ÷ packets strictly needed.
    pub fn overhead(&self) -> f64 {
        self.sender.data_sent as f64 / self.needed.max(1) as f64
    }

    /// The trace sample at or just before `at`.
    pub fn sample(&self, at: Duration) -> Option<&TraceSample> {
        self.trace.iter().rev().find(|s| s.at <= at)
    }

    /// Bytes per second written by the receiver between two times (by the
    /// trace samples at or before them).
    pub fn goodput(&self, from: Duration, to: Duration) -> f64 {
        self.rate_between(from, to, |s| s.delivered)
    }

    /// Payload bytes per second the competitor delivered between two times.
    pub fn competitor_goodput(&self, from: Duration, to: Duration) -> f64 {
        self.rate_between(from, to, |s| s.competitor)
    }

    fn rate_between(&self, from: Duration, to: Duration, bytes: impl Fn(&TraceSample) -> u64) -> f64 {
        match (self.sample(from), self.sample(to)) {
            (Some(a), Some(b)) if b.at > a.at => bytes(b).saturating_sub(bytes(a)) as f64 / (b.at - a.at).as_secs_f64(),
            _ => 0.0,
        }
    }

    /// Longest forward queueing delay sampled between two times.
    pub fn max_queue_delay_between(&self, from: Duration, to: Duration) -> Duration {
        self.trace
            .iter()
            .filter(|s| s.at >= from && s.at <= to)
            .map(|s| s.queue_delay)
            .max()
            .unwrap_or_default()
    }
}

/// What a link carries: our datagrams or the competitor's segments and ACKs.
#[derive(Clone, Debug)]
enum Wire {
    Datagram(Vec<u8>),
    Tcp(Segment),
}

/// The data still to hand to the sender, one generation at a time.
pub(super) struct Input<'a> {
    chunks: core::iter::Peekable<core::slice::Chunks<'a, u8>>,
    gen_bytes: usize,
    /// An empty input is one empty generation, not yet pushed.
    empty_pending: bool,
}

impl<'a> Input<'a> {
    /// `data` in generations of `gen_bytes`.
    pub(super) fn new(data: &'a [u8], gen_bytes: usize) -> Self {
        Input {
            chunks: data.chunks(gen_bytes).peekable(),
            gen_bytes,
            empty_pending: data.is_empty(),
        }
    }
}

/// Pushes generations while the sender wants them.
pub(super) fn feed(sender: &mut Sender<Vec<u8>>, input: &mut Input<'_>) {
    while sender.wants_generation() {
        let (chunk, last) = match input.chunks.next() {
            Some(c) => (c, input.chunks.peek().is_none()),
            None if input.empty_pending => (&[][..], true),
            None => break,
        };
        input.empty_pending = false;
        let mut padded = vec![0u8; input.gen_bytes];
        padded[..chunk.len()].copy_from_slice(chunk);
        sender.push_generation(padded, chunk.len(), last).expect("wanted");
    }
}

/// The receiver's turn after delivery: hands what it decoded to `output`,
/// confirms a complete transfer (the simulations skip the digest) and runs
/// its timers.
pub(super) fn receiver_turn(receiver: &mut Receiver, now: Duration, output: &mut Vec<u8>) {
    receiver
        .poll_data(|bytes| {
            output.extend_from_slice(bytes);
            Ok::<_, ()>(())
        })
        .expect("Vec never fails");
    if receiver.is_complete() && !receiver.has_digest() {
        receiver.handle_digest([0; 32]);
    }
    receiver.handle_timeout(now);
}

/// Bytes of a TCP ACK on the link.
const ACK_LEN: usize = 52;

/// Sends `data` from a sender to a receiver over simulated links.
///
/// # Panics
/// If the configured K or S are invalid.
pub fn simulate(data: &[u8], config: &SimConfig) -> SimReport {
    let mut sender: Sender<Vec<u8>> = Sender::new(config.sender).expect("valid shape");
    let mut receiver = Receiver::new(config.receiver);
    let mut forward: Link<Wire> = Link::new(config.forward, config.seed);
    let mut back: Link<Wire> = Link::new(config.back, config.seed.rotate_left(17) ^ 1);
    let mut competitor = config.competitor.map(|start| (start, CubicSender::new()));
    let mut restart = config.restart_receiver_at;
    let mut changes = config.changes.iter().peekable();
    let gen_bytes = config.sender.generation_bytes();
    let mut input = Input::new(data, gen_bytes);
    let generations = data.len().div_ceil(gen_bytes).max(1) as u64;
    let mut output = Vec::with_capacity(data.len());
    let mut buf = vec![0u8; 2048.max(sender.datagram_len())];
    let mut trace = Vec::new();
    let mut next_trace = Duration::ZERO;
    let mut sender_ended = None;
    let mut receiver_ended = None;
    let mut now = Duration::ZERO;
    while now < config.limit {
        while let Some(change) = changes.next_if(|c| c.at <= now) {
            forward.set_config(change.forward);
            back.set_config(change.back);
        }
        if restart.is_some_and(|t| now >= t) {
            restart = None;
            let instance = receiver.instance().wrapping_add(1).max(1);
            receiver = Receiver::new(ReceiverConfig {
                instance,
                ..config.receiver
            });
            output.clear();
            receiver_ended = None;
        }
        feed(&mut sender, &mut input);
        sender.handle_timeout(now);
        while let Some(n) = sender.poll_transmit(now, &mut buf) {
            forward.handle_send(now, n, Wire::Datagram(buf[..n].to_vec()));
        }
        if let Some((start, flow)) = &mut competitor
            && now >= *start
            && sender_ended.is_none()
        {
            while let Some(segment) = flow.poll_transmit(now) {
                forward.handle_send(now, SEGMENT_LEN, Wire::Tcp(segment));
            }
        }
        while let Some(item) = forward.poll_deliver(now) {
            match item {
                Wire::Datagram(d) => {
                    let _ = receiver.handle_datagram(now, &d);
                }
                Wire::Tcp(segment) => back.handle_send(now, ACK_LEN, Wire::Tcp(segment)),
            }
        }
        receiver_turn(&mut receiver, now, &mut output);
        while let Some(n) = receiver.poll_transmit(now, &mut buf) {
            back.handle_send(now, n, Wire::Datagram(buf[..n].to_vec()));
        }
        while let Some(item) = back.poll_deliver(now) {
            match item {
                Wire::Datagram(d) => {
                    let _ = sender.handle_datagram(now, &d);
                }
                Wire::Tcp(ack) => {
                    if let Some((_, flow)) = &mut competitor {
                        flow.handle_ack(now, ack);
                    }
                }
            }
        }
        // Confirmations may have emptied the window: refill it before asking
        // the sender when it wants to be called next.
        feed(&mut sender, &mut input);
        if now >= next_trace {
            trace.push(TraceSample {
                at: now,
                delivered: receiver.delivered(),
                competitor: competitor.as_ref().map_or(0, |(_, f)| f.delivered_bytes()),
                queue_delay: forward.queue_delay(now),
                path: sender.path(),
            });
            next_trace = now + config.trace_every;
        }
        if sender_ended.is_none() && sender.is_closed() {
            sender_ended = Some(now);
        }
        if receiver_ended.is_none() && receiver.is_closed() {
            receiver_ended = Some(now);
        }
        let receiver_idle = receiver_ended.is_some() || !receiver.has_started();
        if sender_ended.is_some() && receiver_idle && restart.is_none() {
            break;
        }
        let next = [
            sender.poll_timeout(),
            receiver.poll_timeout(),
            forward.next_delivery(),
            back.next_delivery(),
            competitor
                .as_ref()
                .and_then(|(start, f)| if now < *start { Some(*start) } else { f.poll_timeout() }),
            changes.peek().map(|c| c.at),
            restart,
        ]
        .into_iter()
        .flatten()
        .min();
        now = match next {
            Some(t) if t > now => t,
            // Something is ready now (or nothing will ever be): step a little.
            _ => now + Duration::from_micros(10),
        };
    }
    SimReport {
        output,
        finished: sender.is_finished(),
        elapsed: sender_ended.unwrap_or(now),
        receiver_ended,
        sender_failure: sender.failure().copied(),
        receiver_failure: receiver.failure().copied(),
        sender: sender.stats(),
        receiver: receiver.stats(),
        needed: generations * u64::from(config.sender.k),
        dropped: forward.dropped,
        overflowed: forward.overflowed,
        max_queue_delay: forward.max_queue_delay,
        trace,
    }
}
