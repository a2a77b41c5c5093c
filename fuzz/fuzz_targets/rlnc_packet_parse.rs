//! Arbitrary bytes into the parser: it must return a typed error or a
//! packet that re-serializes to an equal packet and that a decoder and a
//! recoder of its shape accept without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluicegate_rlnc::packet::{LegacyFallback, Mode, VERSION};
use sluicegate_rlnc::{Decoder, Packet, ParseOptions, Recoder};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let options = ParseOptions {
        legacy: (selector & 1 != 0).then_some(LegacyFallback {
            k: (selector >> 1).max(1),
            symbol_size: 1 + u16::from(selector >> 3),
            mode: if selector & 2 != 0 {
                Mode::Systematic
            } else {
                Mode::Random
            },
            session: u64::from(selector),
        }),
    };
    let Ok(packet) = Packet::parse(bytes, &options) else {
        return;
    };
    let mut out = vec![0u8; packet.wire_len()];
    let n = packet
        .write_to(&mut out)
        .expect("a parsed packet serializes");
    let again = Packet::parse(&out[..n], &options).expect("and parses back");
    assert_eq!(
        again,
        Packet {
            version: VERSION,
            ..packet
        }
    );

    let mut decoder = Decoder::new(packet.generation, packet.k, packet.symbol_size).unwrap();
    decoder.receive(&packet).expect("shape matches");
    let mut recoder = Recoder::new(packet.generation, packet.k, packet.symbol_size).unwrap();
    recoder.receive(&packet).expect("shape matches");
});
