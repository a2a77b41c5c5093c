//! Sealed-datagram parsing: arbitrary bytes, and a genuine sealed datagram
//! XORed with the fuzzed bytes, opened by an established channel. Only the
//! unchanged genuine datagram opens, and only once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluicegate_rlnc::secure::{Channel, DirectionKeys, OVERHEAD, SEALED_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let mut sender = Channel::new(&DirectionKeys {
        seal: [1; 32],
        open: [2; 32],
    });
    let mut receiver = Channel::new(&DirectionKeys {
        seal: [2; 32],
        open: [1; 32],
    });
    let mut bytes = data.to_vec();
    assert!(receiver.open(&mut bytes).is_err(), "random bytes opened");
    let plain = b"SG transfer datagram";
    let mut genuine = vec![0u8; plain.len() + OVERHEAD];
    genuine[SEALED_HEADER_LEN..][..plain.len()].copy_from_slice(plain);
    let n = sender.seal(&mut genuine, plain.len()).expect("room for the tag");
    let mut mutated = genuine[..n].to_vec();
    let mut changed = false;
    for (byte, x) in mutated.iter_mut().zip(data) {
        *byte ^= x;
        changed |= *x != 0;
    }
    // Some inputs also cut the datagram short.
    let len = if data.len() % 7 == 3 { data.len() % (n + 1) } else { n };
    let cut = &mut mutated[..len];
    let changed = changed || len != n;
    match receiver.open(cut) {
        Ok(range) => {
            assert!(!changed, "a changed datagram opened");
            assert_eq!(&cut[range], plain);
            assert!(receiver.open(&mut genuine[..n].to_vec()).is_err(), "a replay opened");
        }
        Err(_) => assert!(changed, "the genuine datagram did not open"),
    }
});
