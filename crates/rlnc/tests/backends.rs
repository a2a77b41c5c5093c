//! The whole codec on every kernel backend this CPU has, one after the
//! other: encode → lose and reorder → (recode) → decode is byte-exact
//! whichever backend runs, and batched whole packets equal single ones. The
//! backend is a process-wide switch, so this file holds a single test (test
//! binaries run their tests on parallel threads).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sluicegate_rlnc::gf::Backend;
use sluicegate_rlnc::{Decoder, Encoder, EncoderConfig, Mode, Packet, ParseOptions, Recoder};

/// One generation through loss, reordering and optionally a recoder; the
/// decoded bytes.
fn round_trip(k: u8, s: u16, mode: Mode, loss: f64, recode: bool, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let len = usize::from(k) * usize::from(s) - rng.random_range(0..usize::from(s));
    let data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
    let enc = Encoder::new(
        EncoderConfig {
            session: seed,
            ..EncoderConfig::new(k, s, mode)
        },
        &data,
    )
    .unwrap();
    let opts = ParseOptions::default();
    let mut dec = Decoder::new(0, k, s).unwrap();
    let mut hop = Recoder::new(0, k, s).unwrap();
    let mut wire = vec![0u8; hop.packet_len()];
    let mut recoded = vec![0u8; 4 * hop.packet_len()];
    let mut next = 0u32;
    while !dec.is_complete() {
        assert!(next < 20 * u32::from(k) + 100, "no progress");
        let mut batch: Vec<Vec<u8>> = (next..next + 4)
            .map(|i| {
                let n = enc.write_packet(0, i, &mut wire).unwrap();
                wire[..n].to_vec()
            })
            .collect();
        next += 4;
        batch.retain(|_| !rng.random_bool(loss));
        batch.shuffle(&mut rng);
        if recode {
            for bytes in &batch {
                hop.receive(&Packet::parse(bytes, &opts).unwrap()).unwrap();
            }
            let seeds: [u64; 4] = rng.random();
            if let Ok(n) = hop.recode_batch(&seeds, &mut recoded) {
                batch = recoded[..n].chunks(hop.packet_len()).map(<[u8]>::to_vec).collect();
            }
        }
        for bytes in &batch {
            dec.receive(&Packet::parse(bytes, &opts).unwrap()).unwrap();
        }
    }
    // A batched run of whole packets across the end of the originals, more
    // than one 16-packet product, equals the packets one by one.
    let start = rng.random_range(0..u32::from(k) + 20);
    let mut batch = vec![0u8; 37 * enc.packet_len()];
    enc.write_packets(0, start..start + 37, &mut batch).unwrap();
    for (slot, bytes) in batch.chunks(enc.packet_len()).enumerate() {
        let n = enc.write_packet(0, start + slot as u32, &mut wire).unwrap();
        assert_eq!(bytes, &wire[..n], "packet {}", start + slot as u32);
    }
    (dec.data().unwrap().to_vec(), data)
}

#[test]
fn every_backend_decodes_what_it_encodes() {
    let shapes = (
        1u8..=80,
        1u16..=700,
        any::<bool>(),
        0.0f64..0.4,
        any::<bool>(),
        any::<u64>(),
    );
    for backend in Backend::available() {
        backend.activate().unwrap();
        let mut runner = TestRunner::new(Config {
            cases: 12,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&shapes, |(k, s, random, loss, recode, seed)| {
                let mode = if random { Mode::Random } else { Mode::Systematic };
                let (decoded, data) = round_trip(k, s, mode, loss, recode, seed);
                prop_assert_eq!(decoded, data, "{:?}", backend);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        assert_eq!(Backend::active(), backend);
    }
}
