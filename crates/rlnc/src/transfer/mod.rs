//! File and stream transfer over a lossy datagram link, as sans-IO state
//! machines: a [`Sender`] and a [`Receiver`] fed datagrams and the time,
//! polled for datagrams to send. Sockets live in `crate::net`;
//! `docs/rlnc-transfer.md` is the protocol description.
//!
//! The receiver reports the rank of every generation in its window with
//! what the [congestion controller](congestion) measures from (an RTT
//! echo, the datagrams received and when). The sender paces at the
//! bottleneck rate the controller finds and keeps about two
//! bandwidth-delay products in flight; each generation's first pass
//! carries repair packets for the loss the receiver reports plus a margin,
//! and a generation still short of rank once all its packets were
//! accounted for is BOOSTed. Both ends fail, with a close datagram to the
//! other, when the receiver restarted mid-transfer (its instance id
//! changed) or nothing progressed for the idle timeout. [`sim`] runs both
//! ends over simulated links in virtual time.
//!
//! ```
//! use core::time::Duration;
//! use sluicegate_rlnc::transfer::{link::{LinkConfig, LossModel}, sim, ReceiverConfig, SenderConfig};
//!
//! let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
//! let lossy = LinkConfig { loss: LossModel::Independent(0.2), ..LinkConfig::default() };
//! let config = sim::SimConfig::new(SenderConfig::new(42), ReceiverConfig::new(7), lossy);
//! let report = sim::simulate(&data, &config);
//! assert!(report.finished);
//! assert_eq!(report.output, data);
//! ```

pub mod congestion;
pub mod cubic;
pub mod datagram;
pub mod link;
pub mod pacing;
pub mod receiver;
pub mod relay;
pub mod sender;
pub mod sim;

pub use datagram::{Body, CloseReason, Datagram, DatagramError, DatagramErrorKind};
pub use receiver::{Handled, Receiver, ReceiverConfig, ReceiverStats};
pub use relay::{Relay, RelayConfig, RelayStats};
pub use sender::{PathEstimate, PushError, Sender, SenderConfig, SenderStats};

use core::time::Duration;

/// Why a session ended unfinished, on either side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Sender: feedback came from a new receiver instance. What the old one
    /// had received, and what the sender had released, is gone.
    #[error(
        "the receiver restarted mid-transfer (instance {before:08x}, now {now:08x}): what it had received is lost; send again"
    )]
    ReceiverRestarted {
        /// The instance the session was bound to.
        before: u32,
        /// The instance heard now.
        now: u32,
    },
    /// Receiver: the sender is bound to another receiver instance (this
    /// one restarted mid-transfer, or another receiver had the session).
    #[error(
        "the sender is in a transfer with an earlier receiver (instance {bound:08x}); restart the sender to send again"
    )]
    JoinedMidTransfer {
        /// The instance the sender is bound to.
        bound: u32,
    },
    /// No progress (decoded rank) for this long.
    #[error("no progress for {} s", after.as_secs_f64())]
    NoProgress {
        /// The idle timeout.
        after: Duration,
    },
    /// A close datagram ended the session.
    #[error("{} closed the session: {reason}", if *by_peer { "the peer" } else { "this side" })]
    Closed {
        /// Why.
        reason: CloseReason,
        /// Whether the peer sent it (or this side called `close`).
        by_peer: bool,
    },
}
