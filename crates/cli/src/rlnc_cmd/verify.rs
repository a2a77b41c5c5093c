//! `sluicegate rlnc verify`: worker-pool throughput and transfer resilience.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sluicegate_rlnc::Mode;
use sluicegate_rlnc::net::Chunker;
use sluicegate_rlnc::speed::sample_data;
use sluicegate_rlnc::transfer::link::{LinkConfig, LossModel};
use sluicegate_rlnc::transfer::sim::{SimConfig, simulate};
use sluicegate_rlnc::transfer::{ReceiverConfig, SenderConfig};
use sluicegate_rlnc::workers::{WorkerPool, WorkerPoolConfig};

use crate::exit::Failure;

/// `sluicegate rlnc verify` arguments.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// What to verify.
    #[arg(long, value_enum)]
    mode: VerifyMode,
    /// Data size in MB (default: 32 for throughput, 4 for resilience).
    #[arg(long)]
    size_mb: Option<f64>,
    /// Most workers to measure (throughput: 1..=N; default: the number of cores).
    #[arg(long)]
    workers: Option<usize>,
    /// Symbols per generation.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u8).range(1..))]
    k: u8,
    /// Symbol size in bytes.
    #[arg(long, default_value_t = 1200, value_parser = clap::value_parser!(u16).range(1..=9000))]
    symbol_size: u16,
    /// Repair packets per generation on top of K, as a fraction of K (throughput).
    #[arg(long, default_value_t = 0.0)]
    repair: f64,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum VerifyMode {
    /// MB/s through the worker pool for 1..=N workers, systematic and random.
    Throughput,
    /// Simulated transfers at 0–50 % loss, bursty loss, reordering, duplication.
    Resilience,
}

#[derive(Serialize)]
struct ThroughputRow {
    mode: Mode,
    workers: usize,
    mb_per_s: f64,
    speedup: f64,
    packets: u64,
}

#[derive(Serialize)]
struct ResilienceRow {
    pattern: &'static str,
    loss: f64,
    reorder: f64,
    duplicate: f64,
    sha256_equal: bool,
    packets_sent: u64,
    packets_needed: u64,
    overhead: f64,
    boosted: u64,
    virtual_ms: f64,
}

/// `sluicegate rlnc verify`.
pub fn run(args: VerifyArgs) -> Result<(), Failure> {
    match args.mode {
        VerifyMode::Throughput => throughput(&args),
        VerifyMode::Resilience => resilience(&args),
    }
}

fn coding(args: &VerifyArgs, mode: Mode) -> SenderConfig {
    let mut c = SenderConfig::new(0x5EED);
    c.k = args.k;
    c.symbol_size = args.symbol_size;
    c.mode = mode;
    c
}

/// Chunks `data` into pooled buffers, encodes through the pool, reads every packet in order.
fn pipeline(data: &[u8], config: WorkerPoolConfig) -> Result<(Duration, u64), Failure> {
    let start = Instant::now();
    let mut pool = WorkerPool::new(config).map_err(Failure::runtime)?;
    let mut chunker = Chunker::new(data, config.coding.generation_bytes(), config.max_in_flight + 4);
    let mut packets = 0u64;
    let mut id = 0;
    let mut count = |e: sluicegate_rlnc::workers::Encoded| packets += e.count() as u64;
    while let Some(chunk) = chunker.next_chunk().map_err(Failure::runtime)? {
        pool.submit(id, chunk.data).into_iter().for_each(&mut count);
        id += 1;
    }
    pool.finish()
        .map_err(Failure::runtime)?
        .into_iter()
        .for_each(&mut count);
    Ok((start.elapsed(), packets))
}

fn throughput(args: &VerifyArgs) -> Result<(), Failure> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max_workers = args.workers.unwrap_or(cores).max(1);
    let size = (args.size_mb.unwrap_or(32.0) * 1e6) as usize;
    let data = sample_data(size);
    let mut out = std::io::stdout().lock();
    if !args.json {
        writeln!(
            out,
            "{} MB, K={} S={}, repair {:.2}",
            size as f64 / 1e6,
            args.k,
            args.symbol_size,
            args.repair
        )
        .map_err(Failure::runtime)?;
        writeln!(out, "{:>11} {:>8} {:>10} {:>8}", "mode", "workers", "MB/s", "speedup").map_err(Failure::runtime)?;
    }
    for mode in [Mode::Systematic, Mode::Random] {
        let mut single = 0.0;
        for workers in 1..=max_workers {
            let mut config = WorkerPoolConfig::new(coding(args, mode), workers);
            config.packets_per_generation = u32::from(args.k) + (f64::from(args.k) * args.repair).ceil() as u32;
            let (elapsed, packets) = pipeline(&data, config)?;
            let mb_per_s = size as f64 / elapsed.as_secs_f64() / 1e6;
            if workers == 1 {
                single = mb_per_s;
            }
            let row = ThroughputRow {
                mode,
                workers,
                mb_per_s,
                speedup: mb_per_s / single,
                packets,
            };
            if args.json {
                writeln!(out, "{}", serde_json::to_string(&row).map_err(Failure::runtime)?)
            } else {
                let name = if mode == Mode::Systematic {
                    "systematic"
                } else {
                    "random"
                };
                writeln!(out, "{name:>11} {workers:>8} {mb_per_s:>10.2} {:>8.2}", row.speedup)
            }
            .map_err(Failure::runtime)?;
        }
    }
    Ok(())
}

fn resilience(args: &VerifyArgs) -> Result<(), Failure> {
    let size = (args.size_mb.unwrap_or(4.0) * 1e6) as usize;
    let data = sample_data(size);
    let digest = Sha256::digest(&data);
    let mut scenarios: Vec<(&'static str, f64, LossModel, f64, f64)> = Vec::new();
    for p in [0.0, 0.1, 0.2, 0.3, 0.4, 0.5] {
        scenarios.push(("independent", p, LossModel::Independent(p), 0.0, 0.0));
    }
    for p in [0.1, 0.2, 0.3, 0.4, 0.5] {
        scenarios.push(("bursty", p, LossModel::bursty(p, 4.0), 0.0, 0.0));
    }
    scenarios.push(("reorder", 0.0, LossModel::None, 0.3, 0.0));
    scenarios.push(("duplicate", 0.0, LossModel::None, 0.0, 0.3));
    scenarios.push(("all", 0.2, LossModel::bursty(0.2, 4.0), 0.3, 0.3));
    let mut out = std::io::stdout().lock();
    if !args.json {
        writeln!(
            out,
            "{} MB, K={} S={}, virtual time",
            size as f64 / 1e6,
            args.k,
            args.symbol_size
        )
        .map_err(Failure::runtime)?;
        writeln!(
            out,
            "{:>12} {:>5} {:>8} {:>6} {:>7} {:>9} {:>9} {:>9} {:>11}",
            "pattern", "loss", "reorder", "dup", "sha256", "sent", "needed", "overhead", "virtual ms"
        )
        .map_err(Failure::runtime)?;
    }
    let mut failed = 0;
    for (pattern, loss, model, reorder, duplicate) in scenarios {
        let link = LinkConfig {
            loss: model,
            reorder,
            duplicate,
            ..LinkConfig::default()
        };
        let mut sender = coding(args, Mode::Systematic);
        sender.rate = 100_000_000;
        let config = SimConfig {
            seed: 7,
            limit: Duration::from_secs(3600),
            ..SimConfig::new(sender, ReceiverConfig::new(1), link)
        };
        let report = simulate(&data, &config);
        let equal = report.finished && Sha256::digest(&report.output) == digest;
        failed += usize::from(!equal);
        let row = ResilienceRow {
            pattern,
            loss,
            reorder,
            duplicate,
            sha256_equal: equal,
            packets_sent: report.sender.data_sent,
            packets_needed: report.needed,
            overhead: report.overhead(),
            boosted: report.sender.boosted,
            virtual_ms: report.elapsed.as_secs_f64() * 1e3,
        };
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&row).map_err(Failure::runtime)?)
        } else {
            writeln!(
                out,
                "{pattern:>12} {:>4.0}% {:>7.0}% {:>5.0}% {:>7} {:>9} {:>9} {:>9.3} {:>11.1}",
                loss * 100.0,
                reorder * 100.0,
                duplicate * 100.0,
                if equal { "equal" } else { "DIFFER" },
                row.packets_sent,
                row.packets_needed,
                row.overhead,
                row.virtual_ms
            )
        }
        .map_err(Failure::runtime)?;
    }
    if failed > 0 {
        return Err(Failure::runtime(anyhow::anyhow!(
            "{failed} scenarios did not arrive intact"
        )));
    }
    Ok(())
}
