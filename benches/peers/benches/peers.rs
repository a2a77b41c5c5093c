//! sluicegate-rlnc against the `rlnc` crate, `raptorq` and (systematic only)
//! `reed-solomon-simd`: same run, same data, S = 1500, single thread.
//! Throughput is source bytes (K·S) per iteration, timed in this thread's
//! CPU time (the benchmark machine is shared; wall time would mostly measure
//! the neighbours).
//!
//! sluicegate runs twice: `sluicegate` on the fastest kernel backend this
//! CPU has (GFNI on 64-byte vectors where available), `sluicegate-avx2` on
//! the AVX2 nibble-table backend, the path of CPUs without GFNI.
//!
//! Workloads, identical for every implementation:
//! * encode random: K coded packets; encode systematic: K originals + K/4
//!   repair packets (payload buffers are preallocated where the API allows);
//! * decode random: from coded packets until the generation is recovered
//!   (raptorq gets K+2 repair packets, its usual overhead); decode
//!   systematic: one original in eight lost, recovered from repair packets.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sluicegate_bench_support::ThreadCpuTime;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::hint::black_box;
use std::time::Duration;

use raptorq::{
    EncodingPacket, ObjectTransmissionInformation, SourceBlockDecoder, SourceBlockEncoder,
};
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};
use sluicegate_rlnc::gf::Backend;
use sluicegate_rlnc::speed::{decode_indices, encode_indices, sample_data};
use sluicegate_rlnc::{Decoder, Encoder, EncoderConfig, Mode, Packet};

type Bench = Criterion<ThreadCpuTime>;

/// The sluicegate runs: the best backend, then AVX2 if it is a different
/// one this CPU has.
fn sluicegate_backends() -> Vec<(&'static str, Backend)> {
    let best = Backend::available().last().expect("portable is always there");
    let mut runs = vec![("sluicegate", best)];
    if let Some(avx2) = Backend::available().find(|b| b.name() == "avx2")
        && avx2 != best
    {
        runs.push(("sluicegate-avx2", avx2));
    }
    runs
}

const S: usize = 1500;
const KS: [usize; 4] = [16, 32, 64, 128];

fn lost(i: usize) -> bool {
    i % 8 == 7
}

fn raptorq_config(len: usize) -> ObjectTransmissionInformation {
    ObjectTransmissionInformation::new(len as u64, S as u16, 1, 1, 1)
}

fn encode(c: &mut Bench) {
    for mode in [Mode::Random, Mode::Systematic] {
        let name = match mode {
            Mode::Random => "encode/random",
            Mode::Systematic => "encode/systematic",
        };
        let mut group = c.benchmark_group(name);
        for k in KS {
            let data = sample_data(k * S);
            let repairs = match mode {
                Mode::Random => k,
                Mode::Systematic => k / 4,
            };
            group.throughput(Throughput::Bytes((k * S) as u64));

            let enc = Encoder::new(EncoderConfig::new(k as u8, S as u16, mode), &data).unwrap();
            let indices = encode_indices(k as u8, mode);
            let mut out = vec![0u8; indices.len() * S];
            for (name, backend) in sluicegate_backends() {
                backend.activate().unwrap();
                group.bench_function(BenchmarkId::new(name, k), |b| {
                    b.iter(|| {
                        enc.write_payloads(0, indices.clone(), &mut out).unwrap();
                        black_box(&out);
                    })
                });
            }
            sluicegate_backends()[0].1.activate().unwrap();

            // rlnc: no systematic mode; originals are copied with unit vectors.
            let renc = rlnc::full::Encoder::new(data[..k * S - 1].to_vec(), k).unwrap();
            assert_eq!(renc.get_piece_byte_len(), S);
            let piece = renc.get_full_coded_piece_byte_len();
            let mut rout = vec![0u8; (k + repairs) * piece];
            let mut rng = StdRng::seed_from_u64(1);
            group.bench_function(BenchmarkId::new("rlnc", k), |b| {
                b.iter(|| {
                    let mut bufs = rout.chunks_exact_mut(piece);
                    if mode == Mode::Systematic {
                        for (i, buf) in (&mut bufs).take(k).enumerate() {
                            buf[..k].fill(0);
                            buf[i] = 1;
                            buf[k..].copy_from_slice(&data[i * S..(i + 1) * S]);
                        }
                    }
                    for buf in bufs.take(repairs) {
                        renc.code_with_buf(&mut rng, buf).unwrap();
                    }
                    black_box(&rout);
                })
            });

            let config = raptorq_config(data.len());
            group.bench_function(BenchmarkId::new("raptorq", k), |b| {
                b.iter(|| {
                    let enc = SourceBlockEncoder::new(0, &config, &data);
                    let mut packets = if mode == Mode::Systematic {
                        enc.source_packets()
                    } else {
                        Vec::new()
                    };
                    packets.extend(enc.repair_packets(0, repairs as u32));
                    black_box(packets)
                })
            });

            if mode == Mode::Systematic {
                let mut rs = ReedSolomonEncoder::new(k, repairs, S).unwrap();
                group.bench_function(BenchmarkId::new("reed-solomon-simd", k), |b| {
                    b.iter(|| {
                        rs.reset(k, repairs, S).unwrap();
                        for shard in data.chunks_exact(S) {
                            rs.add_original_shard(shard).unwrap();
                        }
                        let result = rs.encode().unwrap();
                        black_box(result.recovery_iter().count())
                    })
                });
            }
        }
        group.finish();
    }
}

fn decode(c: &mut Bench) {
    for mode in [Mode::Random, Mode::Systematic] {
        let name = match mode {
            Mode::Random => "decode/random",
            Mode::Systematic => "decode/systematic",
        };
        let mut group = c.benchmark_group(name);
        for k in KS {
            let data = sample_data(k * S);
            let lost_count = (0..k).filter(|&i| lost(i)).count();
            group.throughput(Throughput::Bytes((k * S) as u64));

            // sluicegate: packets prepared once, decoded from borrowed views.
            let enc = Encoder::new(EncoderConfig::new(k as u8, S as u16, mode), &data).unwrap();
            let offered = decode_indices(k as u8, mode);
            let mut payloads = vec![0u8; offered.len() * S];
            let coefs: Vec<_> = offered
                .iter()
                .zip(payloads.chunks_exact_mut(S))
                .map(|(&i, buf)| enc.write_payload(0, i, buf).unwrap())
                .collect();
            let packets: Vec<Packet<'_>> = coefs
                .iter()
                .zip(payloads.chunks_exact(S))
                .map(|(&coefficients, payload)| Packet {
                    version: sluicegate_rlnc::packet::VERSION,
                    generation: 0,
                    k: k as u8,
                    symbol_size: S as u16,
                    data_len: data.len() as u32,
                    coefficients,
                    payload,
                })
                .collect();
            let mut dec = Decoder::new(0, k as u8, S as u16).unwrap();
            for (name, backend) in sluicegate_backends() {
                backend.activate().unwrap();
                group.bench_function(BenchmarkId::new(name, k), |b| {
                    b.iter(|| {
                        dec.reset(0);
                        for p in &packets {
                            dec.receive(p).unwrap();
                            if dec.is_complete() {
                                break;
                            }
                        }
                        black_box(dec.data().unwrap());
                    })
                });
            }
            sluicegate_backends()[0].1.activate().unwrap();
            dec.reset(0);
            for p in &packets {
                if dec.is_complete() {
                    break;
                }
                dec.receive(p).unwrap();
            }
            assert_eq!(dec.data().unwrap(), &data[..]);

            // rlnc: random pieces, or unit-vector originals then random pieces.
            let renc = rlnc::full::Encoder::new(data[..k * S - 1].to_vec(), k).unwrap();
            let piece = renc.get_full_coded_piece_byte_len();
            let mut rng = StdRng::seed_from_u64(2);
            let mut pieces: Vec<Vec<u8>> = Vec::new();
            if mode == Mode::Systematic {
                for i in (0..k).filter(|&i| !lost(i)) {
                    let mut p = vec![0u8; piece];
                    p[i] = 1;
                    p[k..].copy_from_slice(&data[i * S..(i + 1) * S]);
                    pieces.push(p);
                }
            }
            pieces.extend((0..k + 16).map(|_| renc.code(&mut rng)));
            group.bench_function(BenchmarkId::new("rlnc", k), |b| {
                b.iter(|| {
                    let mut d = rlnc::full::Decoder::new(S, k).unwrap();
                    for p in &pieces {
                        let _ = d.decode(p);
                        if d.is_already_decoded() {
                            break;
                        }
                    }
                    black_box(d.get_decoded_data().unwrap())
                })
            });

            // raptorq: same loss pattern; repair packets as its decoder needs.
            let config = raptorq_config(data.len());
            let renc = SourceBlockEncoder::new(0, &config, &data);
            let rq_packets: Vec<EncodingPacket> = match mode {
                Mode::Random => renc.repair_packets(0, k as u32 + 2),
                Mode::Systematic => {
                    let mut v: Vec<EncodingPacket> = renc
                        .source_packets()
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| !lost(*i))
                        .map(|(_, p)| p)
                        .collect();
                    v.extend(renc.repair_packets(0, lost_count as u32 + 2));
                    v
                }
            };
            group.bench_function(BenchmarkId::new("raptorq", k), |b| {
                b.iter(|| {
                    let mut d = SourceBlockDecoder::new(0, &config, data.len() as u64);
                    let out = d.decode(rq_packets.iter().cloned());
                    assert!(out.is_some(), "raptorq needs more packets");
                    black_box(out)
                })
            });

            if mode == Mode::Systematic {
                let repairs = k / 4;
                let mut rs = ReedSolomonEncoder::new(k, repairs, S).unwrap();
                for shard in data.chunks_exact(S) {
                    rs.add_original_shard(shard).unwrap();
                }
                let recovery: Vec<Vec<u8>> = rs
                    .encode()
                    .unwrap()
                    .recovery_iter()
                    .map(<[u8]>::to_vec)
                    .collect();
                let mut rsd = ReedSolomonDecoder::new(k, repairs, S).unwrap();
                group.bench_function(BenchmarkId::new("reed-solomon-simd", k), |b| {
                    b.iter(|| {
                        rsd.reset(k, repairs, S).unwrap();
                        for i in (0..k).filter(|&i| !lost(i)) {
                            rsd.add_original_shard(i, &data[i * S..(i + 1) * S])
                                .unwrap();
                        }
                        for (j, r) in recovery.iter().enumerate().take(lost_count) {
                            rsd.add_recovery_shard(j, r).unwrap();
                        }
                        let result = rsd.decode().unwrap();
                        black_box(result.restored_original_iter().count())
                    })
                });
            }
        }
        group.finish();
    }
}

fn config() -> Bench {
    Criterion::default()
        .with_measurement(ThreadCpuTime)
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = config(); targets = encode, decode }
criterion_main!(benches);
