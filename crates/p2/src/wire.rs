//! The fixed sizes of the debug stream's binary packets (`docs/p2-protocol.md` A.2), shared by the deframer that frames
//! them and the classifier that reads their fields.

/// A.2.1: a debugger packet is exactly this long.
pub const DEBUGGER_PACKET_LEN: usize = 416;
/// A.2.2: a 0xDB packet's payload is at most this long; a larger length means the bytes are text.
pub const DB_PAYLOAD_MAX: usize = 8192;
