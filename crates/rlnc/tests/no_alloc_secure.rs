//! Sealing and opening allocate nothing: both work in place in the
//! datagram buffer, and the replay window is a fixed bitmap.

use std::time::Duration;

use sluicegate_core::alloc_count::{self, CountingAllocator};
use sluicegate_rlnc::secure::{Code, Connection, HandshakeConfig, Received, Secret};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn seal_and_open_allocate_nothing_per_datagram() {
    let code = Code::parse("7-acorn-zebra-fox").unwrap();
    let now = Duration::ZERO;
    let config = HandshakeConfig::default();
    let mut a = Connection::initiator(Secret::Code(code), [1; 32], config, now);
    let mut b = Connection::responder(Secret::Code(code), [2; 32], config, now);
    let mut buf = vec![0u8; 1500];
    for to_b in [true, false, true] {
        let (from, to) = if to_b { (&mut a, &mut b) } else { (&mut b, &mut a) };
        let n = from.poll_transmit(now, &mut buf).unwrap();
        to.handle_datagram(now, &mut buf[..n]).unwrap();
    }
    assert!(a.is_confirmed() && b.is_confirmed());
    let before = alloc_count::this_thread();
    for i in 0..10_000u32 {
        let h = a.header_len();
        buf[h..h + 4].copy_from_slice(&i.to_le_bytes());
        let n = a.seal(&mut buf, 1253).unwrap();
        let Ok(Received::Data(range)) = b.handle_datagram(now, &mut buf[..n]) else {
            panic!("datagram {i} did not open");
        };
        assert_eq!(buf[range][..4], i.to_le_bytes());
    }
    assert_eq!(alloc_count::this_thread() - before, 0);
}
