//! The socket edge of [`crate::transfer`]: blocking UDP loops that drive the
//! sans-IO [`Sender`](crate::transfer::Sender) and
//! [`Receiver`](crate::transfer::Receiver) with the wall clock.
//!
//! - [`socket`]: a connected UDP socket (a closed peer port becomes an
//!   error, other senders are dropped by the kernel), its buffers sized for
//!   the rate, segmentation offload where the kernel has it;
//! - `batch`: many datagrams per system call (UDP GSO/GRO,
//!   `sendmmsg`/`recvmmsg`), buffers allocated once;
//! - `input` and `output`: the input read into pooled generation buffers
//!   and the output written, each hashed with SHA-256 on a thread of its
//!   own, so the socket loop only codes and moves datagrams;
//! - [`send()`] and [`receive()`]: the loops. Progress, not traffic, keeps a
//!   transfer alive: each end gives up after its timeout without progress
//!   (a generation confirmed, a rank raised), and a refused port ends it at
//!   once.
//!
//! Loss injection ([`LossModel`](crate::transfer::link::LossModel)) drops
//! outgoing datagrams before they reach the socket, on either side, for
//! testing.
//!
//! ```
//! use std::io::Cursor;
//! use std::time::Duration;
//! use sluicegate_rlnc::net::{self, ReceiveOptions, SendOptions, Socket, SocketOptions};
//! use sluicegate_rlnc::transfer::SenderConfig;
//!
//! let mut listening = Socket::bind("127.0.0.1:0".parse()?, SocketOptions::receiver())?;
//! let to = listening.local_addr()?;
//! let receiver = std::thread::spawn(move || {
//!     let options = ReceiveOptions { linger: Duration::from_millis(100), ..ReceiveOptions::default() };
//!     let mut out = Vec::new();
//!     net::receive(&mut listening, &mut out, &options, &mut |_| {}).map(|_| out)
//! });
//! let config = SenderConfig::new(1);
//! let mut socket = Socket::connect(to, SocketOptions::sender(config.rate))?;
//! let report = net::send(&mut socket, Cursor::new(vec![7u8; 100_000]), &SendOptions::new(config), &mut |_| {})?;
//! assert!(report.verified());
//! assert_eq!(receiver.join().unwrap()?, vec![7u8; 100_000]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::encoder::ConfigError;
use crate::secure::HandshakeError;
use crate::transfer::SessionError;

mod batch;
mod chunker;
mod input;
mod output;
mod receive;
pub mod relay;
pub mod secure;
mod send;
pub mod socket;

pub use chunker::{Chunk, Chunker};
pub use receive::{ReceiveOptions, ReceiveReport, random_instance, receive, receive_and_commit};
pub use send::{SendOptions, SendReport, send};
pub use socket::{BufferSize, Socket, SocketOptions, Tuning};

/// Why a transfer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The receiver's port was reported closed several times in a row.
    #[error("nothing is listening at {peer}: the port was refused {refusals} times in a row (ICMP port unreachable)")]
    Refused {
        /// The receiver's address.
        peer: SocketAddr,
        /// Refusals counted.
        refusals: u32,
    },
    /// The receiver answered, then its port closed before it confirmed everything.
    #[error("the receiver at {peer} went away before the transfer was complete (its port is closed)")]
    ReceiverGone {
        /// The receiver's address.
        peer: SocketAddr,
    },
    /// The sender's port closed before the transfer was complete.
    #[error("the sender at {peer} went away before the transfer was complete (its port is closed)")]
    SenderGone {
        /// The sender's address.
        peer: SocketAddr,
    },
    /// No transfer started within the receiver's first wait.
    #[error("no transfer started within {:.1} s", after.as_secs_f64())]
    NoTransfer {
        /// The wait.
        after: Duration,
    },
    /// No progress from the peer for this long.
    #[error("no progress from {peer} for {:.1} s", after.as_secs_f64())]
    PeerSilent {
        /// The peer.
        peer: SocketAddr,
        /// The timeout.
        after: Duration,
    },
    /// Reading the input failed.
    #[error("cannot read the input: {0}")]
    Input(#[source] io::Error),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[source] io::Error),
    /// A socket call failed.
    #[error("socket error: {0}")]
    Socket(#[source] io::Error),
    /// K or S invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The cancel flag was raised (Ctrl-C, SIGTERM).
    #[error("interrupted")]
    Interrupted,
    /// The session ended unfinished: the receiver restarted, or the peer
    /// closed it (docs/rlnc-transfer.md T.3).
    #[error(transparent)]
    Session(SessionError),
    /// The secure handshake failed: a wrong code or key file, a mode
    /// mismatch, no answer.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
}

/// Progress callback argument: bytes so far and the total once known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes read (sender) or written (receiver).
    pub bytes: u64,
    /// Total, once known.
    pub total: Option<u64>,
}

/// Time between progress callbacks.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The longest a loop sleeps before it looks at its clocks and flags again.
const MAX_WAIT: Duration = Duration::from_millis(20);
