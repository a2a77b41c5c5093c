//! What the criterion benches of sluicegate share.
//!
//! The machines they run on are shared 2-vCPU guests: wall time counts whatever else the host schedules,
//! while the benchmarking thread's CPU time counts only the work measured. Peers are measured the same way in
//! the same run, so their ratios stay fair.

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// The benchmarking thread's CPU time, as a criterion measurement
/// (`Criterion::default().with_measurement(ThreadCpuTime)`).
pub struct ThreadCpuTime;

/// Durations are formatted as criterion formats wall time.
static WALL_TIME: WallTime = WallTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        cpu_time::ThreadTime::now().as_duration()
    }

    fn end(&self, start: Duration) -> Duration {
        cpu_time::ThreadTime::now().as_duration().saturating_sub(start)
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        WALL_TIME.formatter()
    }
}
