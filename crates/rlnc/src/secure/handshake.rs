//! Key agreement as a sans-IO state machine: three messages, the
//! initiator's retransmitted on a timer, the responder answering repeats.
//!
//! ```text
//! initiator (sender)                         responder (receiver)
//!   Hello   { mode, random_i, spake2_A } ──►
//!           ◄── Reply { random_r, spake2_B, confirm_r }
//!   Confirm { confirm_i }                ──►  (or any datagram sealed with the key)
//! ```
//!
//! With a code, SPAKE2 turns it into a shared secret; with a key file the
//! key is the secret. Either way HKDF-SHA256 expands it, salted with both
//! randoms, into one key per direction and one confirmation value per side,
//! so every session has fresh keys even with the same key file. A side
//! whose peer's confirmation differs fails: the code was wrong, or someone
//! guessed at it, and a code is good for one attempt only (each side answers
//! the first peer message and no other).

use alloc::vec::Vec;
use core::time::Duration;

use hkdf::Hkdf;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::Sha256;
use spake2::{Ed25519Group, Identity, Password, Spake2};

use super::channel::DirectionKeys;
use super::code::Code;
use super::{KIND_CONFIRM, KIND_HELLO, KIND_REPLY, MAGIC, VERSION, check_header};

/// Bytes of a SPAKE2 message (side byte and an Ed25519 point).
pub const PAKE_LEN: usize = 33;
/// A Hello is padded to this length, above a Reply's, so that answering
/// one never amplifies.
pub const HELLO_LEN: usize = 128;
/// Bytes of a Reply.
pub const REPLY_LEN: usize = 4 + 32 + PAKE_LEN + 32;
/// Bytes of a Confirm.
pub const CONFIRM_LEN: usize = 4 + 32;

const MODE_CODE: u8 = 1;
const MODE_KEY: u8 = 2;
const ID_INITIATOR: &[u8] = b"sluicegate rlnc initiator";
const ID_RESPONDER: &[u8] = b"sluicegate rlnc responder";
const SALT_LABEL: &[u8] = b"sluicegate rlnc secure v1";

/// What both sides share before they talk.
#[derive(Clone, Copy)]
pub enum Secret {
    /// A short code, stretched by SPAKE2.
    Code(Code),
    /// 32 random bytes from a key file.
    Key([u8; 32]),
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.mode_name())
    }
}

impl Secret {
    fn mode(&self) -> u8 {
        match self {
            Secret::Code(_) => MODE_CODE,
            Secret::Key(_) => MODE_KEY,
        }
    }

    fn mode_name(&self) -> &'static str {
        mode_name(self.mode())
    }
}

fn mode_name(mode: u8) -> &'static str {
    match mode {
        MODE_CODE => "code",
        _ => "key file",
    }
}

/// Why a handshake failed for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The peer derived other keys: a different code or key file, or a
    /// guess at the code. The code is used up.
    #[error(
        "the peer's key differs: a wrong code or key file (or someone guessing the code); start again with a new code"
    )]
    KeyMismatch,
    /// One side has a code, the other a key file.
    #[error("the peer uses a {peer}, this side a {ours}")]
    ModeMismatch {
        /// This side's.
        ours: &'static str,
        /// The peer's.
        peer: &'static str,
    },
    /// No answer within the time allowed.
    #[error("no handshake with the peer within {0:?}")]
    Timeout(Duration),
}

/// Handshake timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeConfig {
    /// First retransmission of a Hello after this long …
    pub initial_rto: Duration,
    /// … doubling up to this.
    pub max_rto: Duration,
    /// Fail if not established within this long of the start.
    pub timeout: Duration,
}

impl Default for HandshakeConfig {
    /// 200 ms doubling to 1 s: a lost Hello costs little, and a receiver
    /// started late (after a person typed the code) is found within a
    /// second. 120 s for that person to type.
    fn default() -> HandshakeConfig {
        HandshakeConfig {
            initial_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(1),
            timeout: Duration::from_secs(120),
        }
    }
}

/// What a handshake message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// Taken; keys may now exist.
    Accepted,
    /// A repeat, answered again if needed.
    Repeat,
    /// Not expected here (another peer, the wrong direction, malformed): ignored.
    Ignored,
}

#[derive(Debug)]
enum State {
    /// Initiator: Hello sent, no Reply yet.
    AwaitReply { next_send: Duration, rto: Duration },
    /// Responder: no Hello yet.
    AwaitHello,
    /// Keys derived; the responder still waits for proof that the initiator has them.
    Keyed { confirmed: bool },
    /// Failed for good.
    Failed(HandshakeError),
}

/// One side of the handshake. Fed datagrams and the time; polled for
/// datagrams to send, the keys, and when to wake.
pub struct Handshake {
    initiator: bool,
    secret: Secret,
    random: [u8; 32],
    rng: ChaCha20Rng,
    pake: Option<Spake2<Ed25519Group>>,
    /// Initiator: its Hello. Responder: the Hello it answered.
    hello: [u8; HELLO_LEN],
    /// Responder: its Reply.
    reply: [u8; REPLY_LEN],
    confirm: [u8; CONFIRM_LEN],
    /// Peer's confirmation value, expected.
    peer_confirm: [u8; 32],
    keys: Option<DirectionKeys>,
    /// Messages due: Hello/Reply (bit 0), Confirm copies (count).
    send_first: bool,
    send_confirm: u8,
    state: State,
    config: HandshakeConfig,
    started: Duration,
}

impl core::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Handshake")
            .field("initiator", &self.initiator)
            .field("secret", &self.secret)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Handshake {
    /// The side that speaks first (the sender), started at `now`. `random`
    /// comes from the operating system's generator.
    pub fn initiator(secret: Secret, random: [u8; 32], config: HandshakeConfig, now: Duration) -> Handshake {
        let mut h = Handshake::new(true, secret, random, config, now);
        h.hello[..4].copy_from_slice(&header(KIND_HELLO));
        h.hello[4] = h.secret.mode();
        h.hello[5..37].copy_from_slice(&h.random);
        if let Secret::Code(code) = &h.secret {
            let (pake, message) = Spake2::<Ed25519Group>::start_a_with_rng(
                &password(code),
                &Identity::new(ID_INITIATOR),
                &Identity::new(ID_RESPONDER),
                &mut h.rng,
            );
            h.hello[37..37 + PAKE_LEN].copy_from_slice(&message);
            h.pake = Some(pake);
        }
        h.send_first = true;
        h.state = State::AwaitReply {
            next_send: now,
            rto: config.initial_rto,
        };
        h
    }

    /// The side that answers (the receiver), started at `now`.
    pub fn responder(secret: Secret, random: [u8; 32], config: HandshakeConfig, now: Duration) -> Handshake {
        Handshake::new(false, secret, random, config, now)
    }

    fn new(initiator: bool, secret: Secret, random: [u8; 32], config: HandshakeConfig, now: Duration) -> Handshake {
        Handshake {
            initiator,
            secret,
            // The caller's randomness stays secret: the nonce sent in the
            // clear and the stream the SPAKE2 scalar is drawn from are
            // independent HKDF outputs of it, so the state machine needs no
            // OS access and the nonce reveals nothing of the scalar.
            random: expand_label(&random, b"public nonce"),
            rng: ChaCha20Rng::from_seed(expand_label(&random, b"secret stream")),
            pake: None,
            hello: [0; HELLO_LEN],
            reply: [0; REPLY_LEN],
            confirm: [0; CONFIRM_LEN],
            peer_confirm: [0; 32],
            keys: None,
            send_first: false,
            send_confirm: 0,
            state: State::AwaitHello,
            config,
            started: now,
        }
    }

    /// The keys, once derived. The initiator's are confirmed; the
    /// responder's are confirmed by [`is_confirmed`](Self::is_confirmed) or
    /// by a datagram they open.
    pub fn keys(&self) -> Option<&DirectionKeys> {
        match self.state {
            State::Keyed { .. } => self.keys.as_ref(),
            _ => None,
        }
    }

    /// Whether the peer proved it holds the same keys.
    pub fn is_confirmed(&self) -> bool {
        matches!(self.state, State::Keyed { confirmed: true })
    }

    /// Records that a datagram sealed by the peer opened: proof enough.
    pub fn handle_confirmed(&mut self) {
        if let State::Keyed { confirmed } = &mut self.state {
            *confirmed = true;
        }
    }

    /// The failure, if the handshake failed.
    pub fn error(&self) -> Option<HandshakeError> {
        match self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Feeds a handshake message (kinds Hello, Reply, Confirm).
    ///
    /// # Errors
    /// [`HandshakeError`] when the handshake fails for good; messages that
    /// may still be due (the Confirm a failing initiator sends so its peer
    /// fails too) remain in [`poll_transmit`](Self::poll_transmit).
    pub fn handle_datagram(&mut self, bytes: &[u8]) -> Result<Handled, HandshakeError> {
        if let State::Failed(e) = self.state {
            return Err(e);
        }
        let handled = match (check_header(bytes), self.initiator) {
            (Some(KIND_HELLO), false) if bytes.len() == HELLO_LEN => self.handle_hello(bytes),
            (Some(KIND_REPLY), true) if bytes.len() == REPLY_LEN => self.handle_reply(bytes),
            (Some(KIND_CONFIRM), false) if bytes.len() == CONFIRM_LEN => self.handle_confirm(bytes),
            _ => Ok(Handled::Ignored),
        };
        if let Err(e) = handled {
            self.state = State::Failed(e);
        }
        handled
    }

    fn handle_hello(&mut self, hello: &[u8]) -> Result<Handled, HandshakeError> {
        if !matches!(self.state, State::AwaitHello) {
            // The Reply was lost: send it again. Any other Hello is ignored:
            // one peer, one guess.
            if hello == self.hello {
                self.send_first = true;
                return Ok(Handled::Repeat);
            }
            return Ok(Handled::Ignored);
        }
        let mode = hello[4];
        if mode != MODE_CODE && mode != MODE_KEY {
            return Ok(Handled::Ignored);
        }
        if mode != self.secret.mode() {
            return Err(HandshakeError::ModeMismatch {
                ours: self.secret.mode_name(),
                peer: mode_name(mode),
            });
        }
        self.hello.copy_from_slice(hello);
        let mut random_i = [0u8; 32];
        random_i.copy_from_slice(&hello[5..37]);
        self.reply[..4].copy_from_slice(&header(KIND_REPLY));
        self.reply[4..36].copy_from_slice(&self.random);
        let shared = match &self.secret {
            Secret::Key(key) => key.to_vec(),
            Secret::Code(code) => {
                let (pake, message) = Spake2::<Ed25519Group>::start_b_with_rng(
                    &password(code),
                    &Identity::new(ID_INITIATOR),
                    &Identity::new(ID_RESPONDER),
                    &mut self.rng,
                );
                self.reply[36..36 + PAKE_LEN].copy_from_slice(&message);
                // Not a point of the group: tampered, or not our protocol;
                // the one attempt is spent.
                pake.finish(&hello[37..37 + PAKE_LEN])
                    .map_err(|_| HandshakeError::KeyMismatch)?
            }
        };
        let schedule = KeySchedule::derive(&shared, &random_i, &self.random, self.secret.mode());
        self.reply[36 + PAKE_LEN..].copy_from_slice(&schedule.confirm_responder);
        self.peer_confirm = schedule.confirm_initiator;
        self.keys = Some(DirectionKeys {
            seal: schedule.responder_to_initiator,
            open: schedule.initiator_to_responder,
        });
        self.send_first = true;
        self.state = State::Keyed { confirmed: false };
        Ok(Handled::Accepted)
    }

    fn handle_reply(&mut self, reply: &[u8]) -> Result<Handled, HandshakeError> {
        if !matches!(self.state, State::AwaitReply { .. }) {
            return Ok(Handled::Repeat);
        }
        let mut random_r = [0u8; 32];
        random_r.copy_from_slice(&reply[4..36]);
        let shared: Option<Vec<u8>> = match &self.secret {
            Secret::Key(key) => Some(key.to_vec()),
            Secret::Code(_) => self
                .pake
                .take()
                .and_then(|pake| pake.finish(&reply[36..36 + PAKE_LEN]).ok()),
        };
        // Without a shared secret (a Reply that is not a group point) the
        // Confirm is made from a secret no one holds.
        let mut unmatched = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut self.rng, &mut unmatched);
        let schedule = KeySchedule::derive(
            shared.as_deref().unwrap_or(&unmatched),
            &self.random,
            &random_r,
            self.secret.mode(),
        );
        // Confirm either way: a peer with another code then fails too,
        // instead of waiting for a sender that gave up. Three copies, as
        // nothing retransmits them.
        self.confirm[..4].copy_from_slice(&header(KIND_CONFIRM));
        self.confirm[4..].copy_from_slice(&schedule.confirm_initiator);
        self.send_confirm = 3;
        self.send_first = false;
        if shared.is_none() || !equal(&reply[36 + PAKE_LEN..], &schedule.confirm_responder) {
            return Err(HandshakeError::KeyMismatch);
        }
        self.keys = Some(DirectionKeys {
            seal: schedule.initiator_to_responder,
            open: schedule.responder_to_initiator,
        });
        self.send_confirm = 1;
        self.state = State::Keyed { confirmed: true };
        Ok(Handled::Accepted)
    }

    fn handle_confirm(&mut self, confirm: &[u8]) -> Result<Handled, HandshakeError> {
        match self.state {
            State::Keyed { confirmed } => {
                if !equal(&confirm[4..], &self.peer_confirm) {
                    if confirmed {
                        // Keys already proven by sealed data: a forged Confirm
                        // cannot end the session.
                        return Ok(Handled::Ignored);
                    }
                    return Err(HandshakeError::KeyMismatch);
                }
                self.state = State::Keyed { confirmed: true };
                Ok(if confirmed { Handled::Repeat } else { Handled::Accepted })
            }
            _ => Ok(Handled::Ignored),
        }
    }

    /// Writes the next handshake message due into `out` (at least
    /// [`HELLO_LEN`] bytes); returns its length.
    pub fn poll_transmit(&mut self, now: Duration, out: &mut [u8]) -> Option<usize> {
        if self.send_confirm > 0 {
            self.send_confirm -= 1;
            return copy(out, &self.confirm);
        }
        match &mut self.state {
            State::AwaitReply { next_send, rto } if now >= *next_send || self.send_first => {
                self.send_first = false;
                *next_send = now + *rto;
                *rto = (*rto * 2).min(self.config.max_rto);
                copy(out, &self.hello)
            }
            State::Keyed { .. } if self.send_first && !self.initiator => {
                self.send_first = false;
                copy(out, &self.reply)
            }
            _ => None,
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match self.state {
            State::AwaitReply { next_send, .. } => Some(next_send.min(self.deadline())),
            State::AwaitHello | State::Keyed { confirmed: false } => Some(self.deadline()),
            _ => None,
        }
    }

    fn deadline(&self) -> Duration {
        // `Duration::MAX` waits for ever.
        self.started.saturating_add(self.config.timeout)
    }

    /// Fails a handshake that is not established by its deadline.
    ///
    /// # Errors
    /// [`HandshakeError::Timeout`] once `now` passed the deadline unconfirmed.
    pub fn handle_timeout(&mut self, now: Duration) -> Result<(), HandshakeError> {
        if let State::Failed(e) = self.state {
            return Err(e);
        }
        if !self.is_confirmed() && now >= self.deadline() {
            let e = HandshakeError::Timeout(self.config.timeout);
            self.state = State::Failed(e);
            return Err(e);
        }
        Ok(())
    }
}

fn header(kind: u8) -> [u8; 4] {
    [MAGIC[0], MAGIC[1], VERSION, kind]
}

fn copy(out: &mut [u8], message: &[u8]) -> Option<usize> {
    out.get_mut(..message.len())?.copy_from_slice(message);
    Some(message.len())
}

fn password(code: &Code) -> Password {
    Password::new(alloc::string::ToString::to_string(code).as_bytes())
}

/// Compares without an early exit, so timing tells nothing of where a
/// confirmation value differs.
fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn expand_label(key: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::new(None, key)
        .expand(label, &mut out)
        .expect("32 bytes is a valid HKDF length");
    out
}

/// Everything both sides derive from the shared secret and the randoms.
struct KeySchedule {
    initiator_to_responder: [u8; 32],
    responder_to_initiator: [u8; 32],
    confirm_initiator: [u8; 32],
    confirm_responder: [u8; 32],
}

impl KeySchedule {
    /// HKDF-SHA256: salt = label ‖ mode ‖ nonce_i ‖ nonce_r, input = the
    /// shared secret.
    fn derive(shared: &[u8], random_i: &[u8; 32], random_r: &[u8; 32], mode: u8) -> KeySchedule {
        let mut salt = [0u8; 25 + 1 + 64];
        salt[..25].copy_from_slice(SALT_LABEL);
        salt[25] = mode;
        salt[26..58].copy_from_slice(random_i);
        salt[58..].copy_from_slice(random_r);
        let hkdf = Hkdf::<Sha256>::new(Some(&salt), shared);
        let expand = |label: &[u8]| {
            let mut out = [0u8; 32];
            hkdf.expand(label, &mut out).expect("32 bytes is a valid HKDF length");
            out
        };
        KeySchedule {
            initiator_to_responder: expand(b"initiator to responder"),
            responder_to_initiator: expand(b"responder to initiator"),
            confirm_initiator: expand(b"initiator confirms"),
            confirm_responder: expand(b"responder confirms"),
        }
    }
}
