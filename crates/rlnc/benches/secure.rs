//! What sealing costs next to what a transfer already does per datagram:
//! ChaCha20-Poly1305 seal and open of one 1,253-byte transfer datagram
//! (K = 32, S = 1200: the default) by our [`Channel`] (ring's AEAD), side by
//! side with RustCrypto's `chacha20poly1305` sealing the same bytes (the
//! peer, which we do not use: it is ~4x slower here), `memcpy` of them (the
//! ceiling) and coding one packet (the sender's own work). Throughput counts
//! plaintext bytes.

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sluicegate_rlnc::secure::{Channel, DirectionKeys, OVERHEAD, SEALED_HEADER_LEN};
use sluicegate_rlnc::{Encoder, EncoderConfig, Mode};
use std::hint::black_box;
use std::time::Duration;

/// A default transfer datagram's bytes: 12 header, 14 data prefix, 23
/// packet header, 1200 payload, 4 CRC.
const PLAIN: usize = 12 + 14 + 23 + 1200 + 4;

fn pair() -> (Channel, Channel) {
    let a = DirectionKeys {
        seal: [1; 32],
        open: [2; 32],
    };
    let b = DirectionKeys {
        seal: [2; 32],
        open: [1; 32],
    };
    (Channel::new(&a), Channel::new(&b))
}

fn secure(c: &mut Criterion) {
    let mut group = c.benchmark_group("secure");
    group.throughput(Throughput::Bytes(PLAIN as u64));
    let src: Vec<u8> = (0..PLAIN).map(|i| (i * 31 + 7) as u8).collect();
    let mut buf = vec![0u8; PLAIN + OVERHEAD];
    group.bench_function("memcpy/1253", |b| {
        b.iter(|| buf[SEALED_HEADER_LEN..][..PLAIN].copy_from_slice(black_box(&src)))
    });
    let (mut sender, mut receiver) = pair();
    group.bench_function("seal/1253", |b| {
        b.iter(|| sender.seal(black_box(&mut buf), PLAIN).unwrap())
    });
    let peer = ChaCha20Poly1305::new(&[1u8; 32].into());
    let mut counter = 0u64;
    group.bench_function("rustcrypto_seal/1253", |b| {
        b.iter(|| {
            counter += 1;
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&counter.to_le_bytes());
            let (header, rest) = buf.split_at_mut(SEALED_HEADER_LEN);
            peer.encrypt_in_place_detached(&nonce.into(), header, black_box(&mut rest[..PLAIN]))
                .unwrap()
        })
    });
    // Open needs a fresh counter every time (the replay window refuses a
    // repeat): seal one, open it; measured as the pair.
    group.bench_function("seal+open/1253", |b| {
        b.iter(|| {
            let n = sender.seal(&mut buf, PLAIN).unwrap();
            receiver.open(black_box(&mut buf[..n])).unwrap()
        })
    });
    let data: Vec<u8> = (0..32 * 1200).map(|i| (i * 13 + i / 7) as u8).collect();
    let mut packet = vec![0u8; 2048];
    for mode in [Mode::Systematic, Mode::Random] {
        let encoder = Encoder::new(EncoderConfig::new(32, 1200, mode), &data).unwrap();
        // A repair packet: index K and up is coded in both modes.
        let mut index = 32;
        group.bench_function(BenchmarkId::new("encode_repair_packet", format!("{mode:?}")), |b| {
            b.iter(|| {
                index = 32 + (index + 1) % 1000;
                encoder.write_packet(0, black_box(index), &mut packet).unwrap()
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! { name = benches; config = config(); targets = secure }
criterion_main!(benches);
