//! sluicegate-rlnc: GF(2^8) random linear network coding.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod checksum;
pub mod coefficients;
pub mod decoder;
pub mod encoder;
pub mod gf;
pub mod packet;
