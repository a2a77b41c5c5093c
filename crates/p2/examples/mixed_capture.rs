//! Writes a large `.sgrec` capture of the mixed stream (every message kind), for replay benchmarks:
//! `cargo run --release -p sluicegate-p2 --example mixed_capture -- 100 /tmp/mixed.sgrec` (size in MB).
//! Reads are 4 KiB, spaced as a 2 Mbaud link would deliver them.

use std::io::BufWriter;
use std::time::Duration;

use sluicegate_p2::recording::RecordingWriter;
use sluicegate_p2::simulate;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let megabytes: usize = args.next().and_then(|arg| arg.parse().ok()).unwrap_or(100);
    let path = args.next().unwrap_or_else(|| "mixed.sgrec".to_owned());
    let stream = simulate::mixed(0x5EED, 20_000);
    let mut writer = RecordingWriter::new(BufWriter::new(std::fs::File::create(&path)?), 0)?;
    let (mut written, target) = (0usize, megabytes * 1_000_000);
    while written < target {
        for chunk in stream.bytes().chunks(4096) {
            writer.write_chunk(Duration::from_micros(5 * written as u64), chunk)?;
            written += chunk.len();
        }
    }
    writer.finish()?;
    eprintln!(
        "{path}: {written} bytes of the mixed stream ({} bytes a cycle)",
        stream.bytes().len()
    );
    Ok(())
}
