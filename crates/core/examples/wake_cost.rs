//! What one wake-up costs in CPU time on this machine: a thread woken by its own timer against one woken by
//! another thread, with the waker at normal and at real-time priority. The p2 pipeline's read coalescing and
//! its untimed worker wait follow from these figures (BENCHMARKS.md, "p2 terminal end to end").
//!
//! ```sh
//! cargo run --release -p sluicegate-core --example wake_cost
//! ```
//!
//! CPU time is each thread's own, from `/proc/thread-self/schedstat` (Linux), in nanoseconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const ROUNDS: u32 = 300;

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux) gives the thread's CPU time")
}

fn per_round(ns: u64) -> f64 {
    ns as f64 / f64::from(ROUNDS) / 1e3
}

/// A thread that sleeps `period` in a loop: one timer wake-up a round.
fn timer_wakes(period: Duration) -> f64 {
    let start = thread_cpu_ns();
    for _ in 0..ROUNDS {
        std::thread::sleep(period);
    }
    per_round(thread_cpu_ns() - start)
}

/// A waker that sleeps `period` then unparks a parked thread: (waker, wakee) CPU a round.
fn handed_wakes(period: Duration, realtime_waker: bool) -> Option<(f64, f64)> {
    // Rounds handed over; the wakee parks until all are (a wake it was late for is not waited for again).
    let rounds = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&rounds);
    let wakee = std::thread::spawn(move || {
        let start = thread_cpu_ns();
        while seen.load(Ordering::Acquire) < ROUNDS {
            std::thread::park();
        }
        thread_cpu_ns() - start
    });
    let target = wakee.thread().clone();
    let handed = Arc::clone(&rounds);
    let waker = std::thread::spawn(move || {
        if realtime_waker && sluicegate_core::realtime::raise_current_thread().is_err() {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
        let start = thread_cpu_ns();
        for _ in 0..ROUNDS {
            std::thread::sleep(period);
            handed.fetch_add(1, Ordering::Release);
            target.unpark();
        }
        Some(thread_cpu_ns() - start)
    });
    let waker = waker.join().expect("the waker does not panic");
    if waker.is_none() {
        // Not allowed real-time priority: release the wakee.
        rounds.store(ROUNDS, Ordering::Release);
        wakee.thread().unpark();
    }
    let wakee = wakee.join().expect("the wakee does not panic");
    waker.map(|waker| (per_round(waker), per_round(wakee)))
}

fn main() {
    println!("CPU time per wake-up, µs (mean of {ROUNDS} rounds)");
    for period in [Duration::from_millis(1), Duration::from_millis(10)] {
        let ms = period.as_millis();
        println!(
            "{ms:>3} ms  timer wake-up (sleep in a loop):               {:6.1}",
            timer_wakes(period)
        );
        for (realtime, label) in [(false, "normal"), (true, "real-time")] {
            match handed_wakes(period, realtime) {
                Some((waker, wakee)) => {
                    println!("{ms:>3} ms  {label:>9} waker: sleep + unpark {waker:6.1}, parked wakee {wakee:6.1}")
                }
                None => println!("{ms:>3} ms  {label:>9} waker: not allowed here"),
            }
        }
    }
}
