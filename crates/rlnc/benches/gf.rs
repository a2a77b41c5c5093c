//! Raw GF(2^8) kernel speed next to `memcpy` (the ceiling), for the active
//! backend, on L1/L2-resident buffers of S = 1500 bytes. Throughput counts
//! multiply-accumulated source bytes.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sluicegate_rlnc::gf::{self, Backend};
use std::hint::black_box;
use std::time::Duration;

const S: usize = 1500;

fn kernels(c: &mut Criterion) {
    let src: Vec<u8> = (0..S).map(|i| (i * 31 + 7) as u8).collect();
    let mut dst = vec![0u8; S];
    let mut group = c.benchmark_group("gf");
    group.throughput(Throughput::Bytes(S as u64));
    group.bench_function("memcpy/1500", |b| b.iter(|| dst.copy_from_slice(black_box(&src))));
    group.bench_function(BenchmarkId::new("mul_acc", Backend::active().name()), |b| {
        b.iter(|| gf::mul_acc(&mut dst, black_box(&src), 0x53))
    });
    group.bench_function(BenchmarkId::new("mul_acc_1501", Backend::active().name()), |b| {
        let src = vec![9u8; S + 1];
        let mut dst = vec![0u8; S + 1];
        b.iter(|| gf::mul_acc(&mut dst, black_box(&src), 0x53))
    });
    let rows: Vec<u8> = (0..32 * S).map(|i| (i * 13 + 1) as u8).collect();
    let coefs: Vec<u8> = (0..32).map(|i| (i * 37 + 5) as u8).collect();
    group.throughput(Throughput::Bytes((32 * S) as u64));
    group.bench_function(BenchmarkId::new("lin_comb_32x1500", Backend::active().name()), |b| {
        b.iter(|| gf::lin_comb(&mut dst, black_box(&rows), S, &coefs))
    });
    // The encoder's kernel: four outputs per pass; counted as multiply-
    // accumulated bytes (4 outputs × 32 sources × S).
    let coefs4: Vec<u8> = (0..4 * 32).map(|i| (i * 37 + 5) as u8).collect();
    let mut dst4 = vec![0u8; 4 * S];
    group.throughput(Throughput::Bytes((4 * 32 * S) as u64));
    group.bench_function(
        BenchmarkId::new("lin_comb_multi_4x32x1500", Backend::active().name()),
        |b| b.iter(|| gf::lin_comb_multi(&mut dst4, S, S, black_box(&rows), S, &coefs4, 32)),
    );
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! { name = benches; config = config(); targets = kernels }
criterion_main!(benches);
