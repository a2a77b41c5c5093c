//! Encrypted and authenticated datagrams, as sans-IO state machines: a
//! [`Handshake`] agrees on keys from a short [`Code`] (SPAKE2) or a key
//! file, a [`Channel`] seals and opens every datagram with
//! ChaCha20-Poly1305 in place, and a [`Connection`] joins the two for the
//! socket loops, which seal what the transfer writes and open what arrives
//! before the transfer sees it. The wire format and the reasoning are in
//! `docs/rlnc-secure.md`.
//!
//! ```
//! use core::time::Duration;
//! use sluicegate_rlnc::secure::{Code, Connection, HandshakeConfig, Received, Secret, OVERHEAD};
//!
//! let code = Code::parse("417-harbor-velvet-zebra")?;
//! let now = Duration::ZERO;
//! let config = HandshakeConfig::default();
//! let mut sender = Connection::initiator(Secret::Code(code), [1; 32], config, now);
//! let mut receiver = Connection::responder(Secret::Code(code), [2; 32], config, now);
//! let mut buf = [0u8; 1500];
//! // Hello ->, <- Reply, Confirm ->: each handshake message to the other side.
//! let n = sender.poll_transmit(now, &mut buf).unwrap();
//! receiver.handle_datagram(now, &mut buf[..n])?;
//! let n = receiver.poll_transmit(now, &mut buf).unwrap();
//! sender.handle_datagram(now, &mut buf[..n])?;
//! let n = sender.poll_transmit(now, &mut buf).unwrap();
//! receiver.handle_datagram(now, &mut buf[..n])?;
//! assert!(sender.is_confirmed() && receiver.is_confirmed());
//! // The transfer writes its datagram after the header; sealing encrypts it in place.
//! let plain = b"a transfer datagram";
//! buf[sender.header_len()..][..plain.len()].copy_from_slice(plain);
//! let n = sender.seal(&mut buf, plain.len())?;
//! assert_eq!(n, plain.len() + OVERHEAD);
//! let Received::Data(range) = receiver.handle_datagram(now, &mut buf[..n])? else { panic!() };
//! assert_eq!(&buf[range], plain);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod channel;
mod code;
mod handshake;
mod replay;

use core::ops::Range;
use core::time::Duration;

pub use channel::{Channel, ChannelStats, DirectionKeys, OVERHEAD, OpenError, SEALED_HEADER_LEN, SealError, TAG_LEN};
pub use code::{Code, CodeError, WORDS};
pub use handshake::{
    CONFIRM_LEN, HELLO_LEN, Handled, Handshake, HandshakeConfig, HandshakeError, PAKE_LEN, REPLY_LEN, Secret,
};
pub use replay::{Replay, ReplayWindow, WINDOW};

/// Magic of every secure datagram (a transfer datagram starts `"SG"`).
pub const MAGIC: [u8; 2] = *b"SE";
/// Secure datagram format version.
pub const VERSION: u8 = 1;
const KIND_HELLO: u8 = 1;
const KIND_REPLY: u8 = 2;
const KIND_CONFIRM: u8 = 3;
const KIND_SEALED: u8 = 4;

/// The kind byte of a secure datagram of this version, if it is one.
fn check_header(bytes: &[u8]) -> Option<u8> {
    match bytes {
        [m0, m1, VERSION, kind, ..] if [*m0, *m1] == MAGIC => Some(*kind),
        _ => None,
    }
}

/// Why a key file is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Neither 32 raw bytes nor 64 hexadecimal digits.
    #[error(
        "a key file holds 32 random bytes or 64 hexadecimal digits, this one {0} bytes (make one with: head -c 32 /dev/urandom > key)"
    )]
    Length(usize),
    /// 64 characters, not all hexadecimal.
    #[error("a 64-character key file must be hexadecimal; byte {0} is not")]
    NotHex(usize),
    /// Every byte the same: not a random key.
    #[error("the key is one byte repeated, not a random key")]
    Weak,
}

/// Reads a key file's contents: 32 raw bytes, or 64 hexadecimal digits
/// with surrounding white space.
///
/// # Errors
/// [`KeyFileError`] naming what is wrong.
pub fn parse_key_file(bytes: &[u8]) -> Result<[u8; 32], KeyFileError> {
    let mut key = [0u8; 32];
    if bytes.len() == 32 {
        key.copy_from_slice(bytes);
    } else {
        let start = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let text = bytes[start..].trim_ascii_end();
        if text.len() != 64 {
            return Err(KeyFileError::Length(bytes.len()));
        }
        let digit = |i: usize| {
            (text[i] as char)
                .to_digit(16)
                .map(|d| d as u8)
                .ok_or(KeyFileError::NotHex(start + i))
        };
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = digit(2 * i)? << 4 | digit(2 * i + 1)?;
        }
    }
    if key.iter().all(|&b| b == key[0]) {
        return Err(KeyFileError::Weak);
    }
    Ok(key)
}

/// What [`Connection::handle_datagram`] made of a datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// Authentic and new: the plaintext for the transfer lies at this range
    /// of the buffer.
    Data(Range<usize>),
    /// A handshake message, taken or answered.
    Handshake,
    /// Refused and counted in [`ConnectionStats`].
    Rejected,
}

/// Counters of a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(serde::Serialize))]
pub struct ConnectionStats {
    /// Sealing and opening.
    #[cfg_attr(feature = "std", serde(flatten))]
    pub channel: ChannelStats,
    /// Sealed datagrams that arrived before there were keys to open them.
    pub before_keys: u64,
    /// Handshake messages taken or answered.
    pub handshake: u64,
    /// Handshake messages ignored: another peer's, the wrong direction,
    /// malformed.
    pub handshake_ignored: u64,
}

impl ConnectionStats {
    /// Every datagram refused as not authentic, malformed or replayed.
    pub fn rejected(&self) -> u64 {
        let c = self.channel;
        c.malformed + c.unauthenticated + c.replayed + self.before_keys + self.handshake_ignored
    }
}

#[derive(Debug)]
enum Mode {
    Insecure,
    // Boxed: handshake messages, PAKE state, ciphers and the replay window
    // are ~2 KiB; one allocation per connection.
    Secure(alloc::boxed::Box<Secured>),
}

#[derive(Debug)]
struct Secured {
    handshake: Handshake,
    channel: Option<Channel>,
}

/// One side of a secure link, handshake then channel; or, for benchmarks,
/// a pass-through ([`Connection::insecure`]).
#[derive(Debug)]
pub struct Connection {
    mode: Mode,
    stats: ConnectionStats,
}

impl Connection {
    /// Datagrams pass in the clear, unauthenticated.
    pub fn insecure() -> Connection {
        Connection {
            mode: Mode::Insecure,
            stats: ConnectionStats::default(),
        }
    }

    /// The side that speaks first; `random` from the OS generator, secret.
    pub fn initiator(secret: Secret, random: [u8; 32], config: HandshakeConfig, now: Duration) -> Connection {
        Connection::secure(Handshake::initiator(secret, random, config, now))
    }

    /// The side that answers; `random` from the OS generator, secret.
    pub fn responder(secret: Secret, random: [u8; 32], config: HandshakeConfig, now: Duration) -> Connection {
        Connection::secure(Handshake::responder(secret, random, config, now))
    }

    fn secure(handshake: Handshake) -> Connection {
        Connection {
            mode: Mode::Secure(alloc::boxed::Box::new(Secured {
                handshake,
                channel: None,
            })),
            stats: ConnectionStats::default(),
        }
    }

    /// Whether datagrams are sealed.
    pub fn is_secure(&self) -> bool {
        matches!(self.mode, Mode::Secure(_))
    }

    /// Where the plaintext goes in a buffer given to [`seal`](Self::seal).
    pub fn header_len(&self) -> usize {
        if self.is_secure() { SEALED_HEADER_LEN } else { 0 }
    }

    /// Bytes sealing adds to a datagram.
    pub fn overhead(&self) -> usize {
        if self.is_secure() { OVERHEAD } else { 0 }
    }

    /// Whether [`seal`](Self::seal) works: keys agreed (the responder's
    /// perhaps not yet confirmed, which the first opened datagram does).
    pub fn is_established(&self) -> bool {
        match &self.mode {
            Mode::Insecure => true,
            Mode::Secure(s) => s.channel.is_some(),
        }
    }

    /// Whether the peer proved it holds the keys (always, insecure).
    pub fn is_confirmed(&self) -> bool {
        match &self.mode {
            Mode::Insecure => true,
            Mode::Secure(s) => s.handshake.is_confirmed(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> ConnectionStats {
        let mut stats = self.stats;
        if let Mode::Secure(s) = &self.mode
            && let Some(channel) = &s.channel
        {
            stats.channel = channel.stats();
        }
        stats
    }

    /// Takes one datagram, opened in place. Never panics.
    ///
    /// # Errors
    /// [`HandshakeError`] when the handshake fails for good (a wrong code,
    /// a mode mismatch); everything else is a counted [`Received::Rejected`].
    pub fn handle_datagram(&mut self, _now: Duration, buf: &mut [u8]) -> Result<Received, HandshakeError> {
        let Mode::Secure(secured) = &mut self.mode else {
            return Ok(Received::Data(0..buf.len()));
        };
        let Secured { handshake, channel } = &mut **secured;
        if check_header(buf) == Some(KIND_SEALED) {
            let Some(channel) = channel else {
                self.stats.before_keys += 1;
                return Ok(Received::Rejected);
            };
            return Ok(match channel.open(buf) {
                Ok(range) => {
                    handshake.handle_confirmed();
                    Received::Data(range)
                }
                Err(_) => Received::Rejected,
            });
        }
        if check_header(buf).is_none() {
            // Not ours at all; counted where sealed datagrams are.
            match channel {
                Some(channel) => {
                    let _ = channel.open(buf);
                }
                None => self.stats.channel.malformed += 1,
            }
            return Ok(Received::Rejected);
        }
        match handshake.handle_datagram(buf)? {
            Handled::Ignored => {
                self.stats.handshake_ignored += 1;
                return Ok(Received::Rejected);
            }
            Handled::Accepted | Handled::Repeat => self.stats.handshake += 1,
        }
        if channel.is_none()
            && let Some(keys) = handshake.keys()
        {
            let mut fresh = Channel::new(keys);
            // Counters from before the keys carry over.
            fresh.add_stats(self.stats.channel);
            self.stats.channel = ChannelStats::default();
            *channel = Some(fresh);
        }
        Ok(Received::Handshake)
    }

    /// Writes a handshake message that is due into `out` (at least
    /// [`HELLO_LEN`] bytes); returns its length.
    pub fn poll_transmit(&mut self, now: Duration, out: &mut [u8]) -> Option<usize> {
        match &mut self.mode {
            Mode::Insecure => None,
            Mode::Secure(s) => s.handshake.poll_transmit(now, out),
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) (and
    /// [`poll_transmit`](Self::poll_transmit)) next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match &self.mode {
            Mode::Insecure => None,
            Mode::Secure(s) => s.handshake.poll_timeout(),
        }
    }

    /// Fails a handshake past its deadline.
    ///
    /// # Errors
    /// [`HandshakeError::Timeout`].
    pub fn handle_timeout(&mut self, now: Duration) -> Result<(), HandshakeError> {
        match &mut self.mode {
            Mode::Insecure => Ok(()),
            Mode::Secure(s) => s.handshake.handle_timeout(now),
        }
    }

    /// Seals the `plain_len` bytes at `buf[header_len()..]` in place;
    /// returns the datagram's length. Allocation-free; insecure, returns
    /// `plain_len`.
    ///
    /// # Errors
    /// [`SealError`] if there are no keys yet, `buf` is short, or the
    /// counter is used up.
    pub fn seal(&mut self, buf: &mut [u8], plain_len: usize) -> Result<usize, SealError> {
        match &mut self.mode {
            Mode::Insecure => Ok(plain_len),
            Mode::Secure(s) => match &mut s.channel {
                None => Err(SealError::NoKeys),
                Some(channel) => channel.seal(buf, plain_len),
            },
        }
    }
}

#[cfg(test)]
mod tests;
