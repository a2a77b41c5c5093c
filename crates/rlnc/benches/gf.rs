//! Raw GF(2^8) kernel speed on every backend this CPU has, next to its
//! bounds: the 64-byte GFNI multiply-add loop on registers only, and
//! `memcpy` in L1 (8 KiB) and L2 (256 KiB). S = 1500; throughput counts
//! multiply-accumulated source bytes (outputs × sources × S). Timed in this
//! thread's CPU time: the benchmark machine is shared.
//!
//! `sluicegate rlnc bench --kernels` prints the same shapes with their
//! fractions of each bound.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sluicegate_bench_support::ThreadCpuTime;
use sluicegate_rlnc::gf::{self, Backend};
use sluicegate_rlnc::speed::sample_data;

const S: usize = 1500;

fn bounds(c: &mut Criterion<ThreadCpuTime>) {
    let mut group = c.benchmark_group("bounds");
    const ROUNDS: u64 = 1 << 12;
    if let Some(bytes) = gf::gfni_peak_loop(ROUNDS) {
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function("gfni512-register-loop", |b| {
            b.iter(|| gf::gfni_peak_loop(black_box(ROUNDS)))
        });
    }
    for (name, len) in [("memcpy-l1-8KiB", 8 << 10), ("memcpy-l2-256KiB", 256 << 10)] {
        let src = sample_data(len);
        let mut dst = vec![0u8; len];
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(name, |b| b.iter(|| dst.copy_from_slice(black_box(&src))));
    }
    group.finish();
}

fn kernels(c: &mut Criterion<ThreadCpuTime>) {
    let mut group = c.benchmark_group("kernels");
    for backend in Backend::available() {
        backend.activate().expect("available");
        for (name, outputs, sources) in [
            ("mul_acc-1x1", 1, 1),
            ("lin_comb-1x32", 1, 32),
            ("product-8x32", 8, 32),
            ("product-16x128", 16, 128),
        ] {
            let rows = sample_data(sources * S);
            let coefs: Vec<u8> = sample_data(outputs * sources).iter().map(|&c| c | 1).collect();
            let mut out = vec![0u8; outputs * S];
            group.throughput(Throughput::Bytes((outputs * sources * S) as u64));
            group.bench_function(BenchmarkId::new(name, backend.name()), |b| {
                b.iter(|| {
                    if sources == 1 {
                        gf::mul_acc(&mut out, black_box(&rows), coefs[0]);
                    } else {
                        gf::lin_comb_multi(&mut out, S, S, black_box(&rows), S, &coefs, sources);
                    }
                })
            });
        }
    }
    group.finish();
}

fn config() -> Criterion<ThreadCpuTime> {
    Criterion::default()
        .with_measurement(ThreadCpuTime)
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! { name = benches; config = config(); targets = bounds, kernels }
criterion_main!(benches);
