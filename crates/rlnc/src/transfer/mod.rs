//! File and stream transfer over a lossy datagram link, as sans-IO state
//! machines: a [`Sender`] and a [`Receiver`] fed datagrams and the time,
//! polled for datagrams to send. Sockets live in [`crate::net`].
//!
//! The receiver reports the rank of every generation in its window; the
//! sender BOOSTs a generation that lacks rank once every packet it sent for
//! it has been accounted for (the feedback echoes the highest sequence
//! number seen), sending the deficit scaled by the measured loss. At most
//! `window` generations are in flight (flow control), and a token bucket
//! paces the datagrams. [`sim`] runs both ends over simulated links in
//! virtual time.
//!
//! ```
//! use core::time::Duration;
//! use sluicegate_rlnc::transfer::{link::{LinkConfig, LossModel}, sim, ReceiverConfig, SenderConfig};
//!
//! let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
//! let lossy = LinkConfig { loss: LossModel::Independent(0.2), ..LinkConfig::default() };
//! let config = sim::SimConfig {
//!     sender: SenderConfig::new(42),
//!     receiver: ReceiverConfig::default(),
//!     forward: lossy,
//!     back: lossy,
//!     seed: 1,
//!     limit: Duration::from_secs(60),
//! };
//! let report = sim::simulate(&data, &config);
//! assert!(report.finished);
//! assert_eq!(report.output, data);
//! ```

pub mod datagram;
pub mod link;
pub mod pacing;
pub mod receiver;
pub mod relay;
pub mod sender;
pub mod sim;

pub use datagram::{Body, Datagram, DatagramError, DatagramErrorKind};
pub use receiver::{Receiver, ReceiverConfig, ReceiverStats};
pub use relay::{Relay, RelayConfig, RelayStats};
pub use sender::{PushError, Sender, SenderConfig, SenderStats};
