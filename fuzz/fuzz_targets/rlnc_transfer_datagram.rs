//! Arbitrary datagrams into both transfer endpoints: parsing never panics,
//! the receiver and the sender count and ignore what is not theirs, and a
//! receiver that already holds a transfer in progress stays consistent.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sluicegate_rlnc::transfer::{Datagram, Receiver, ReceiverConfig, Sender, SenderConfig};

fuzz_target!(|data: &[u8]| {
    let _ = Datagram::parse(data);

    // A receiver in the middle of a real transfer, then the fuzzed bytes,
    // split into several datagrams at 0xFF bytes.
    let mut config = SenderConfig::new(9);
    config.k = 4;
    config.symbol_size = 16;
    let mut sender: Sender<Vec<u8>> = Sender::new(config).unwrap();
    sender.push_generation(vec![3; 64], 64, false).unwrap();
    sender.push_generation(vec![4; 64], 10, true).unwrap();
    let mut receiver = Receiver::new(ReceiverConfig::new(1));
    let mut buf = vec![0u8; 256];
    let now = Duration::from_millis(1);
    for _ in 0..3 {
        let n = sender.poll_transmit(now, &mut buf).unwrap();
        receiver.handle_datagram(now, &buf[..n]).unwrap();
    }
    for part in data.split(|&b| b == 0xFF) {
        let _ = receiver.handle_datagram(now, part);
        let _ = sender.handle_datagram(now, part);
        let _ = receiver.poll_data(|_| Ok::<_, ()>(()));
        while let Some(n) = receiver.poll_transmit(now, &mut buf) {
            Datagram::parse(&buf[..n]).expect("the receiver writes valid datagrams");
        }
        while let Some(n) = sender.poll_transmit(now, &mut buf) {
            Datagram::parse(&buf[..n]).expect("the sender writes valid datagrams");
        }
    }
    let _ = receiver.handle_datagram(now, data);
    let _ = sender.handle_datagram(now, data);
});
