//! Arbitrary datagrams into both sides of a recoding relay that holds part
//! of a real transfer: nothing panics, and whatever it sends parses.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sluicegate_rlnc::transfer::{Datagram, Relay, RelayConfig, Sender, SenderConfig};

fuzz_target!(|data: &[u8]| {
    let mut config = SenderConfig::new(9);
    config.k = 4;
    config.symbol_size = 16;
    config.rate = 0;
    let mut sender: Sender<Vec<u8>> = Sender::new(config).unwrap();
    sender.push_generation(vec![3; 64], 64, false).unwrap();
    sender.push_generation(vec![4; 64], 10, true).unwrap();
    let mut relay = Relay::new(RelayConfig::default());
    let mut buf = vec![0u8; 512];
    let now = Duration::from_millis(1);
    for _ in 0..3 {
        let n = sender.poll_transmit(now, &mut buf).unwrap();
        relay.handle_upstream(now, &buf[..n]).unwrap();
    }
    for (i, part) in data.split(|&b| b == 0xFF).enumerate() {
        let later = now + Duration::from_millis(i as u64 * 3);
        let _ = relay.handle_upstream(later, part);
        let _ = relay.handle_downstream(later, part);
        let mut sent = 0;
        while let Some(n) = relay.poll_downstream(later, &mut buf) {
            Datagram::parse(&buf[..n]).expect("the relay writes valid data datagrams");
            sent += 1;
            assert!(sent < 10_000, "the relay sends without end");
        }
        while let Some(n) = relay.poll_upstream(later, &mut buf) {
            Datagram::parse(&buf[..n]).expect("the relay writes valid feedback");
        }
        let _ = relay.poll_timeout();
    }
});
