//! What sealing costs next to what a transfer already does per datagram:
//! ChaCha20-Poly1305 seal and open of one 1,253-byte transfer datagram
//! (K = 32, S = 1200: the default) by our [`Channel`] (ring's AEAD), side by
//! side with RustCrypto's `chacha20poly1305` sealing the same bytes (the
//! peer, which we do not use: it is ~4x slower here), ring's AES-256-GCM
//! (the faster AEAD where the CPU has AES and carry-less multiply
//! instructions), `memcpy` of them (the ceiling) and coding one repair packet
//! (the sender's own work). Throughput counts plaintext bytes.
//!
//! Measured in this thread's CPU time, not wall time: the benchmark machine
//! is shared (2 cores, other jobs compiling), and wall time then mostly
//! measures the neighbours.

use std::hint::black_box;
use std::time::Duration;

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sluicegate_bench_support::ThreadCpuTime;
use sluicegate_rlnc::secure::{Channel, DirectionKeys, OVERHEAD, SEALED_HEADER_LEN};
use sluicegate_rlnc::{Encoder, EncoderConfig, Mode};

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

/// A fresh 96-bit nonce per call: four zero bytes and a counter.
fn next_nonce(counter: &mut u64) -> [u8; 12] {
    *counter += 1;
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&counter.to_le_bytes());
    nonce
}

fn secure(c: &mut Criterion<ThreadCpuTime>) {
    let mut group = c.benchmark_group("secure");
    group.throughput(Throughput::Bytes(PLAIN as u64));
    let src: Vec<u8> = (0..PLAIN).map(|i| (i * 31 + 7) as u8).collect();
    let mut buf = vec![0u8; PLAIN + OVERHEAD];
    group.bench_function("memcpy/1253", |b| {
        b.iter(|| buf[SEALED_HEADER_LEN..][..PLAIN].copy_from_slice(black_box(&src)))
    });
    let (mut sender, mut receiver) = pair();
    group.bench_function("seal/1253", |b| {
        b.iter(|| {
            black_box(sender.seal(black_box(&mut buf), PLAIN).unwrap());
        })
    });
    // Open needs a fresh counter every time (the replay window refuses a
    // repeat): seal one, open it; measured as the pair.
    group.bench_function("seal+open/1253", |b| {
        b.iter(|| {
            let n = sender.seal(&mut buf, PLAIN).unwrap();
            black_box(receiver.open(black_box(&mut buf[..n])).unwrap());
        })
    });
    let (header, rest) = buf.split_at_mut(SEALED_HEADER_LEN);
    let plain = &mut rest[..PLAIN];
    let peer = ChaCha20Poly1305::new(&[1u8; 32].into());
    let mut counter = 0u64;
    group.bench_function("rustcrypto_chacha20poly1305_seal/1253", |b| {
        b.iter(|| {
            let nonce = next_nonce(&mut counter);
            black_box(
                peer.encrypt_in_place_detached(&nonce.into(), header, black_box(&mut *plain))
                    .unwrap(),
            );
        })
    });
    let aes = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[1; 32]).unwrap());
    group.bench_function("ring_aes256gcm_seal/1253", |b| {
        b.iter(|| {
            let nonce = Nonce::assume_unique_for_key(next_nonce(&mut counter));
            let tag = aes.seal_in_place_separate_tag(nonce, Aad::from(&*header), black_box(&mut *plain));
            let _ = black_box(tag.unwrap());
        })
    });
    let data: Vec<u8> = (0..32 * 1200).map(|i| (i * 13 + i / 7) as u8).collect();
    let mut packet = vec![0u8; 2048];
    for mode in [Mode::Systematic, Mode::Random] {
        let encoder = Encoder::new(EncoderConfig::new(32, 1200, mode), &data).unwrap();
        // A repair packet: index K and up is coded in both modes.
        let mut index = 32;
        group.bench_function(format!("encode_repair_packet/{mode:?}"), |b| {
            b.iter(|| {
                index = 32 + (index + 1) % 1000;
                black_box(encoder.write_packet(0, black_box(index), &mut packet).unwrap());
            })
        });
    }
    group.finish();
}

fn config() -> Criterion<ThreadCpuTime> {
    Criterion::default()
        .with_measurement(ThreadCpuTime)
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! { name = benches; config = config(); targets = secure }
criterion_main!(benches);
