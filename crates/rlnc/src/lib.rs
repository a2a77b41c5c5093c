//! GF(2^8) random linear network coding for the sluicegate rlnc pipeline,
//! as pure sans-IO logic: no threads, no sockets, `no_std` + `alloc`.
//!
//! Data is cut into [generations](encoder::Generation) of K symbols of S
//! bytes. The [`Encoder`] turns `(generation, index)` into a packet
//! deterministically, so repair packets can be produced by any worker at any
//! time; the [`Decoder`] eliminates packets as they arrive and delivers
//! originals at once; a [`Recoder`] mixes what it holds without decoding.
//! Packets are written into caller buffers and parsed as borrowed views;
//! [`Encoder::write_payloads`] fills n repair payloads at once (BOOST) and
//! [`Recoder::recode_batch`] n recoded packets, each as one matrix product
//! over the source. The GF(2^8) kernels ([`gf`]) run that product in
//! register tiles with the best instructions the CPU has (GFNI, AVX-512,
//! AVX2, SSSE3), chosen once per process.
//!
//! ```
//! use sluicegate_rlnc::{Decoder, Encoder, EncoderConfig, Mode, Packet, ParseOptions};
//!
//! let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
//! let encoder = Encoder::new(EncoderConfig::new(16, 1000, Mode::Random), &data)?;
//! let mut wire = vec![0u8; encoder.packet_len()];
//! let mut out = Vec::new();
//! for g in 0..encoder.generation_count() {
//!     let mut decoder = Decoder::new(g, 16, 1000)?;
//!     // Packet indices are unbounded: a lost packet is replaced by the next.
//!     let mut index = 0;
//!     while !decoder.is_complete() {
//!         let n = encoder.write_packet(g, index, &mut wire)?;
//!         decoder.receive(&Packet::parse(&wire[..n], &ParseOptions::default())?)?;
//!         index += 1;
//!     }
//!     out.extend_from_slice(decoder.data()?);
//! }
//! assert_eq!(out, data);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`transfer`] moves a file or stream over a lossy datagram link (session
//! id, rank feedback, BOOST, pacing) as sans-IO state machines, with a
//! virtual-time link simulator.
//!
//! Features: `std` (default) adds run-time CPU detection for the SIMD
//! kernels and the `speed` report, the UDP edge of the transfer (`net`:
//! connected sockets with batched system calls and segmentation offload,
//! input and output on threads of their own with SHA-256) and the
//! supervised encoding worker pool (`workers`); without it the crate is
//! `no_std` + `alloc` (the codec and `transfer`) and kernels are chosen from
//! compile-time `target_feature`s.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod checksum;
pub mod coefficients;
pub mod decoder;
pub mod encoder;
pub mod gf;
#[cfg(feature = "std")]
pub mod net;
pub mod packet;
pub mod recoder;
#[cfg(feature = "std")]
pub mod secure;
#[cfg(feature = "std")]
pub mod speed;
pub mod transfer;
#[cfg(feature = "std")]
pub mod workers;

pub use decoder::{Decoder, NeedMore, Progress, ReceiveError};
pub use encoder::{ConfigError, EncodeError, Encoder, EncoderConfig, Generation};
pub use packet::{Coefficients, Mode, Packet, ParseError, ParseErrorKind, ParseOptions};
pub use recoder::{RecodeError, Recoder};
