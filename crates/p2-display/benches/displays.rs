//! The display models under load, measured in this thread's CPU time (the machine is shared; wall time would
//! measure the neighbours).
//!
//! The HSV16 burst (docs/p2-displays.md D2, p2-protocol A.7): three 256×256 BITMAPs, 65,536 feed messages
//! `` `j k l $v ``, 196,608 pixels, with every RATE refresh (one per column) and one frame taken per display per
//! column, as a UI at full speed would.
//!
//! - `apply`: the message bytes as the deframer hands them out, straight into [`Displays::handle_line`].
//! - `deframe+apply`: the same from the raw byte stream through the p2 deframer, the whole consumer side.
//!
//! The reference is the wire: 917,573 bytes at 2 Mbaud (10 bits a byte) take 4.59 s; the goal is 100× faster,
//! ≤ 46 ms of CPU.
//!
//! The SCOPE redraw (`scope-8x2048`): see [`scope_redraw`].

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluicegate_bench_support::ThreadCpuTime;
use sluicegate_p2::{Config, Deframer, simulate};
use sluicegate_p2_display::{DisplayId, Displays, Event};

/// The consumer side: applies each line; after each column (256 messages) takes every display's frame, as a UI
/// pushing changes would.
struct Consumer {
    displays: Displays,
    ids: Vec<DisplayId>,
    lines: usize,
    pixels: u64,
}

impl Consumer {
    fn new() -> Self {
        Self {
            displays: Displays::new(),
            ids: Vec::with_capacity(3),
            lines: 0,
            pixels: 0,
        }
    }

    fn line(&mut self, line: &[u8], now: Instant) {
        self.displays.handle_line(line, now).expect("the burst applies");
        while let Some(event) = self.displays.poll_event() {
            if let Event::Opened { display, .. } = event {
                self.ids.push(display);
            }
        }
        if self.lines % 256 == 2 {
            for &id in &self.ids {
                let frame = self.displays.frame(id).expect("open");
                self.pixels += frame.damage.map_or(0, |r| u64::from(r.width * r.height));
                black_box(frame.image.pixels());
            }
        }
        self.lines += 1;
    }
}

fn hsv16(c: &mut Criterion<ThreadCpuTime>) {
    let stream = simulate::hsv16();
    let bytes = stream.bytes().to_vec();
    let lines: Vec<&[u8]> = stream.messages().iter().map(|m| &bytes[m.range.clone()]).collect();
    assert_eq!(lines.len(), 65_539);
    let now = Instant::now();
    let mut group = c.benchmark_group("p2-display/hsv16-burst");
    group.throughput(Throughput::Elements(3 * 65_536));
    group.sample_size(20);
    group.bench_function("apply", |b| {
        b.iter(|| {
            let mut consumer = Consumer::new();
            for line in &lines {
                consumer.line(line, now);
            }
            consumer.pixels
        })
    });
    group.bench_function("deframe+apply", |b| {
        b.iter(|| {
            let mut deframer = Deframer::new(Config::default()).expect("default config");
            let mut consumer = Consumer::new();
            for read in bytes.chunks(64 * 1024) {
                deframer.handle_bytes(read, now);
                while let Some(output) = deframer.poll_ref() {
                    consumer.line(output.bytes(), now);
                }
            }
            consumer.pixels
        })
    });
    group.finish();
}

/// An 8-channel SCOPE at 2,048 samples (docs/p2-displays.md A.3; the default 256×256 plot, LINESIZE 3): each
/// iteration applies one sample set and takes the frame, a full redraw of 8 × 2,047 anti-aliased segments (PNut
/// redraws at every set with RATE 1). Goal: ≥ 2,000 redraws a second. Next to it, the same sets applied without
/// taking frames: what a burst costs per set when drawing is coalesced.
fn scope_redraw(c: &mut Criterion<ThreadCpuTime>) {
    const SETS: usize = 2048;
    let now = Instant::now();
    let set = |i: usize| {
        let values: Vec<String> = (0..8)
            .map(|c| {
                let phase = i as f64 * 0.004 * (c + 1) as f64;
                ((1000.0 * phase.sin()) as i32).to_string()
            })
            .collect();
        format!("`s {}", values.join(" "))
    };
    let lines: Vec<String> = (0..SETS).map(set).collect();
    let mut displays = Displays::new();
    displays.handle_line(b"`scope s samples 2048", now).expect("declared");
    for channel in 0..8 {
        let definition = format!("`s 'ch{channel}' -1000 1000 32 {} 0", channel * 32);
        displays.handle_line(definition.as_bytes(), now).expect("channel");
    }
    for line in &lines {
        displays.handle_line(line.as_bytes(), now).expect("a set");
    }
    let id = displays.find("s").expect("open").id();
    let mut group = c.benchmark_group("p2-display/scope-8x2048");
    group.throughput(Throughput::Elements(1));
    let mut next = 0;
    group.bench_function("set+redraw", |b| {
        b.iter(|| {
            displays.handle_line(lines[next % SETS].as_bytes(), now).expect("a set");
            next += 1;
            black_box(displays.frame(id).expect("open").image.get(0, 0))
        })
    });
    group.bench_function("set only", |b| {
        b.iter(|| {
            displays.handle_line(lines[next % SETS].as_bytes(), now).expect("a set");
            next += 1;
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime).warm_up_time(Duration::from_secs(2));
    targets = hsv16, scope_redraw
}
criterion_main!(benches);
