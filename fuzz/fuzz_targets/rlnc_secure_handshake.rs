//! Arbitrary datagrams into both sides of the secure handshake, before,
//! during and after it: nothing panics, nothing that was not sealed by the
//! peer comes out as data, and a failed handshake stays failed.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sluicegate_rlnc::secure::{Code, Connection, HandshakeConfig, Received, Secret};

fn code() -> Secret {
    Secret::Code(Code::parse("7-acorn-zebra-fox").expect("a valid code"))
}

fuzz_target!(|data: &[u8]| {
    let now = Duration::ZERO;
    let config = HandshakeConfig::default();
    let secret = || if data.first().is_some_and(|b| b & 1 == 1) { Secret::Key([7; 32]) } else { code() };
    let mut a = Connection::initiator(secret(), [1; 32], config, now);
    let mut b = Connection::responder(secret(), [2; 32], config, now);
    let mut buf = vec![0u8; 2048];
    let parts: Vec<&[u8]> = data.split(|&x| x == 0xFF).collect();
    // The fuzzed bytes at every stage of a real handshake: fresh, after the
    // Hello, after the Reply, established.
    for stage in 0..4 {
        for part in &parts {
            for side in [&mut a, &mut b] {
                let mut bytes = part.to_vec();
                let failed_before = side.handle_timeout(now).is_err();
                let got = side.handle_datagram(now, &mut bytes);
                assert!(!matches!(got, Ok(Received::Data(_))), "forged data accepted");
                assert!(!(failed_before && got.is_ok()), "a failed handshake came back");
                while side.poll_transmit(now, &mut buf).is_some() {}
            }
        }
        let (from, to) = if stage % 2 == 0 { (&mut a, &mut b) } else { (&mut b, &mut a) };
        while let Some(n) = from.poll_transmit(now, &mut buf) {
            let _ = to.handle_datagram(now, &mut buf[..n]);
        }
    }
});
