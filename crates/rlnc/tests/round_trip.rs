//! Whole-path properties: encoder → wire bytes → loss and reordering →
//! parse → decoder (optionally through recoders) → byte-exact data.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sluicegate_rlnc::decoder::{Decoder, NeedMore, Progress};
use sluicegate_rlnc::encoder::{Encoder, EncoderConfig};
use sluicegate_rlnc::packet::{LegacyFallback, Mode, Packet, ParseOptions};
use sluicegate_rlnc::recoder::Recoder;

fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len).map(|_| rng.random()).collect()
}

/// Serialize packets `indices` of generation `g`.
fn wire(enc: &Encoder<'_>, g: u32, indices: impl Iterator<Item = u32>) -> Vec<Vec<u8>> {
    indices
        .map(|i| {
            let mut buf = vec![0; enc.packet_len()];
            let n = enc.write_packet(g, i, &mut buf).unwrap();
            buf.truncate(n);
            buf
        })
        .collect()
}

/// Feed batches of packets with loss and reordering until the decoder
/// completes; returns the decoded bytes of every generation, concatenated.
fn transfer(enc: &Encoder<'_>, loss: f64, rng: &mut StdRng) -> Vec<u8> {
    let cfg = *enc.config();
    let k = u32::from(cfg.k);
    let mut out = Vec::new();
    for g in 0..enc.generation_count() {
        let mut dec = Decoder::new(g, cfg.k, cfg.symbol_size).unwrap();
        let mut next = 0;
        while !dec.is_complete() {
            assert!(next < 8 * k + 64, "generation {g} never completed");
            let batch = k.max(4);
            let mut packets = wire(enc, g, next..next + batch);
            next += batch;
            packets.retain(|_| !rng.random_bool(loss));
            packets.shuffle(rng);
            for bytes in &packets {
                let p = Packet::parse(bytes, &ParseOptions::default()).unwrap();
                let before = dec.rank();
                match dec.receive(&p).unwrap() {
                    Progress::Redundant { rank } => assert_eq!(rank, before),
                    Progress::Delivered { index, .. } => {
                        assert_eq!(dec.symbol(index.into()), Some(p.payload));
                    }
                    Progress::Innovative { rank } => assert_eq!(rank, before + 1),
                    Progress::Complete => {}
                }
            }
        }
        out.extend_from_slice(dec.data().unwrap());
    }
    out
}

/// K in 1..=255 and S in 1..=9000, S clipped so that one generation's
/// decode stays around a few million byte-products in debug builds.
fn shape() -> impl Strategy<Value = (u8, u16)> {
    (1u8..=255, 1u16..=9000).prop_map(|(k, s)| {
        let cap = (4_000_000 / (usize::from(k) * usize::from(k))).clamp(1, 9000);
        (k, s.min(cap as u16))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_shape_any_length_survives_loss_and_reordering(
        (k, s) in shape(),
        gens in 0.0f64..2.5,
        random in any::<bool>(),
        explicit in any::<bool>(),
        loss in 0.0f64..0.5,
        seed in any::<u64>(),
    ) {
        let len = (gens * f64::from(k) * f64::from(s)) as usize;
        let src = data(len, seed);
        let config = EncoderConfig {
            explicit_coefficients: explicit,
            session: seed,
            ..EncoderConfig::new(k, s, if random { Mode::Random } else { Mode::Systematic })
        };
        let enc = Encoder::new(config, &src).unwrap();
        let mut rng = StdRng::seed_from_u64(seed ^ 1);
        prop_assert_eq!(transfer(&enc, loss, &mut rng), src);
    }

    #[test]
    fn two_recoding_hops_decode_exactly(
        k in 1u8..=64, s in 1u16..=600, seed in any::<u64>(), loss in 0.0f64..0.4,
    ) {
        let src = data(usize::from(k) * usize::from(s) - 1, seed);
        let enc = Encoder::new(EncoderConfig { session: seed, ..EncoderConfig::new(k, s, Mode::Systematic) }, &src).unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let opts = ParseOptions::default();
        let mut hop1 = Recoder::new(0, k, s).unwrap();
        let mut hop2 = Recoder::new(0, k, s).unwrap();
        let mut dec = Decoder::new(0, k, s).unwrap();
        let mut buf = vec![0u8; hop1.packet_len()];
        let mut round = 0u64;
        while !dec.is_complete() {
            prop_assert!(round < 40 * u64::from(k) + 200, "no progress");
            // Source → hop 1 (lossy), hop 1 → hop 2 (lossy), hop 2 → sink (lossy).
            for bytes in wire(&enc, 0, (round as u32 * 2)..(round as u32 * 2 + 2)) {
                if !rng.random_bool(loss) {
                    hop1.receive(&Packet::parse(&bytes, &opts).unwrap()).unwrap();
                }
            }
            if let Ok(n) = hop1.recode(rng.random(), &mut buf)
                && !rng.random_bool(loss)
            {
                hop2.receive(&Packet::parse(&buf[..n], &opts).unwrap()).unwrap();
            }
            if let Ok(n) = hop2.recode(rng.random(), &mut buf)
                && !rng.random_bool(loss)
            {
                dec.receive(&Packet::parse(&buf[..n], &opts).unwrap()).unwrap();
            }
            round += 1;
        }
        prop_assert_eq!(dec.data().unwrap(), &src[..]);
    }
}

#[test]
fn too_few_packets_say_need_more_and_never_give_data() {
    let src = data(32 * 100, 3);
    for mode in [Mode::Random, Mode::Systematic] {
        let enc = Encoder::new(EncoderConfig::new(32, 100, mode), &src).unwrap();
        let mut dec = Decoder::new(0, 32, 100).unwrap();
        // Skip original 5 in systematic mode; K-1 packets either way.
        for bytes in wire(&enc, 0, (0..32).filter(|&i| i != 5)) {
            dec.receive(&Packet::parse(&bytes, &ParseOptions::default()).unwrap())
                .unwrap();
        }
        assert_eq!(dec.data(), Err(NeedMore { rank: 31, k: 32 }));
        assert!(!dec.is_complete());
        if mode == Mode::Systematic {
            assert_eq!(dec.symbol(5), None);
            assert_eq!(dec.symbol(4), Some(&src[400..500]));
        }
    }
}

#[test]
fn legacy_packets_decode_with_the_configured_fallback() {
    let (k, s, session) = (8u8, 50u16, 0xFEED);
    let src = data(2 * 400, 11);
    let enc = Encoder::new(
        EncoderConfig {
            session,
            ..EncoderConfig::new(k, s, Mode::Systematic)
        },
        &src,
    )
    .unwrap();
    let opts = ParseOptions {
        legacy: Some(LegacyFallback {
            k,
            symbol_size: s,
            mode: Mode::Systematic,
            session,
        }),
    };
    let mut dec = Decoder::new(1, k, s).unwrap();
    // Originals minus two, then two repair packets, in the old framing:
    // 0x00, generation u32, index u16, payload.
    for index in [0u16, 1, 3, 4, 6, 7, 8, 9] {
        let mut frame = vec![0u8];
        frame.extend_from_slice(&1u32.to_le_bytes());
        frame.extend_from_slice(&index.to_le_bytes());
        let mut payload = vec![0; usize::from(s)];
        enc.write_payload(1, u32::from(index), &mut payload).unwrap();
        frame.extend_from_slice(&payload);
        dec.receive(&Packet::parse(&frame, &opts).unwrap()).unwrap();
    }
    assert_eq!(dec.data(), Ok(&src[400..]));
}
