//! Whole transfers in virtual time over simulated links: a bottleneck with
//! a drop-tail queue, delay, random loss (independent or bursty),
//! reordering and duplication, links that change mid-transfer, a TCP CUBIC
//! flow sharing the bottleneck, a receiver restarted mid-transfer, and
//! peers that go silent. Every transfer that finishes is byte-exact.

use std::time::Duration;

use sluicegate_rlnc::Mode;
use sluicegate_rlnc::transfer::link::{LinkConfig, LossModel};
use sluicegate_rlnc::transfer::sim::{LinkChange, SimConfig, SimReport, simulate};
use sluicegate_rlnc::transfer::{ReceiverConfig, SenderConfig, SessionError};

const MS: Duration = Duration::from_millis(1);

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ (i >> 9)) as u8).collect()
}

/// Default coding over `link` both ways, the way back without a rate limit.
fn config(link: LinkConfig) -> SimConfig {
    let mut c = SimConfig::new(SenderConfig::new(0xC0FFEE), ReceiverConfig::new(0xBEE), link);
    c.back.rate = 0;
    c
}

/// A netem-like link (`LinkConfig::shaped`): `mbit`, one-way `delay_ms`, loss `p`.
fn shaped(mbit: u64, delay_ms: u64, p: f64) -> LinkConfig {
    LinkConfig::shaped(mbit, Duration::from_millis(delay_ms), LossModel::Independent(p))
}

fn assert_exact(r: &SimReport, input: &[u8], what: &str) {
    assert!(
        r.finished,
        "{what}: not finished: {:?} {:?}",
        r.sender_failure, r.receiver_failure
    );
    assert!(r.output == input, "{what}: output differs");
}

#[test]
fn arrives_byte_exact_at_every_loss_rate_and_pattern() {
    let input = data(300_000);
    for p in [0.0, 0.1, 0.3, 0.5] {
        for (name, model) in [
            ("independent", LossModel::Independent(p)),
            ("bursty", LossModel::bursty(p, 4.0)),
        ] {
            for mode in [Mode::Systematic, Mode::Random] {
                let mut c = config(LinkConfig {
                    loss: model,
                    ..LinkConfig::shaped(20, 5 * MS, LossModel::None)
                });
                c.back.loss = model;
                (c.sender.k, c.sender.symbol_size, c.sender.mode) = (16, 256, mode);
                let r = simulate(&input, &c);
                assert_exact(&r, &input, &format!("{name} {p} {mode:?}"));
                // Overhead stays near 1 / (1 - p), plus the margin and BOOST rounds.
                let bound = 1.0 / (1.0 - p) * 1.3 + 0.1;
                assert!(r.overhead() < bound, "{name} {p} {mode:?}: {}", r.overhead());
            }
        }
    }
}

#[test]
fn survives_reordering_duplication_and_odd_sizes() {
    for (len, seed) in [(0, 1), (1, 2), (4096, 3), (4097, 4), (100_003, 5)] {
        let input = data(len);
        let mut link = shaped(20, 5, 0.2);
        (link.reorder, link.duplicate) = (0.3, 0.2);
        let mut c = config(link);
        c.back = LinkConfig { rate: 0, ..link };
        c.seed = seed;
        (c.sender.k, c.sender.symbol_size) = (16, 256);
        let r = simulate(&input, &c);
        assert_exact(&r, &input, &format!("len {len}"));
        if len > 10_000 {
            assert!(r.receiver.redundant > 0, "duplicates are counted");
        }
    }
}

#[test]
fn sender_memory_is_bounded_by_the_window_ceiling() {
    let input = data(2_000_000);
    let mut c = config(shaped(100, 10, 0.1));
    c.sender.window = 4;
    c.trace_every = 5 * MS;
    let r = simulate(&input, &c);
    assert_exact(&r, &input, "window 4");
    assert!(r.trace.iter().all(|s| s.path.window_generations <= 4));
    assert_eq!(r.receiver.out_of_window, 0);
}

/// Goodput over the middle of a transfer (after Startup, before the tail).
fn steady_goodput(r: &SimReport) -> f64 {
    r.goodput(r.elapsed * 2 / 5, r.elapsed * 9 / 10)
}

#[test]
fn steady_links_are_filled_to_90_percent_of_rate_times_one_minus_loss() {
    // (Mbit/s, one-way ms, loss, MB): the benchmark's links, scaled down in
    // rate so that a debug build simulates them in seconds.
    for (mbit, delay, p, mb) in [
        (40, 20, 0.0, 10),
        (40, 20, 0.01, 10),
        (20, 50, 0.05, 8),
        (20, 50, 0.2, 8),
    ] {
        let input = data(mb * 1_000_000);
        let r = simulate(&input, &config(shaped(mbit, delay, p)));
        assert_exact(&r, &input, &format!("{mbit} Mbit/s {delay} ms {p}"));
        let rate = mbit as f64 * 125_000.0;
        let goodput = steady_goodput(&r);
        assert!(
            goodput >= 0.9 * rate * (1.0 - p),
            "{mbit} Mbit/s {delay} ms {p}: {:.2} MB/s of {:.2}",
            goodput / 1e6,
            rate / 1e6
        );
        // The queue stays short of full: under a quarter of the round trip on average.
        let samples: Vec<_> = r
            .trace
            .iter()
            .filter(|s| s.at >= r.elapsed * 2 / 5 && s.at <= r.elapsed * 9 / 10)
            .collect();
        let mean_queue = samples.iter().map(|s| s.queue_delay).sum::<Duration>() / samples.len() as u32;
        assert!(
            mean_queue < Duration::from_millis(delay) / 2,
            "{mbit} Mbit/s {delay} ms {p}: mean queue {mean_queue:?}"
        );
        // Random loss is measured, and repaired by the first pass.
        let path = r.trace.last().unwrap().path;
        assert!(
            (path.random_loss - p).abs() < 0.01 + p / 5.0,
            "{p}: {}",
            path.random_loss
        );
    }
}

#[test]
fn redundancy_sent_ahead_completes_most_generations_without_a_round_trip() {
    let input = data(8_000_000);
    let r = simulate(&input, &config(shaped(20, 50, 0.2)));
    assert_exact(&r, &input, "20 %");
    let s = r.sender;
    let first_pass = s.first_pass_complete as f64 / s.generations_done as f64;
    // Half a standard deviation of margin and whole packets: about 80 % at
    // 20 % independent loss (less while the loss estimate converges).
    assert!(first_pass > 0.7, "{first_pass}: {s:?}");
    assert!(s.redundant_ahead > 0 && s.boosted < s.redundant_ahead, "{s:?}");
}

/// When the link changes, and the stretch after it where the transfer
/// must have converged.
const CHANGE_AT: Duration = Duration::from_millis(1500);
const SETTLED: (Duration, Duration) = (Duration::from_millis(3000), Duration::from_millis(4500));

/// `mb` megabytes over `link`, which becomes `to` at [`CHANGE_AT`]; the
/// transfer must still run at the end of [`SETTLED`].
fn changed(link: LinkConfig, to: LinkConfig, mb: usize) -> SimReport {
    let input = data(mb * 1_000_000);
    let mut c = config(link);
    c.changes.push(LinkChange {
        at: CHANGE_AT,
        forward: to,
        back: LinkConfig { rate: 0, ..to },
    });
    c.trace_every = 20 * MS;
    let r = simulate(&input, &c);
    assert_exact(&r, &input, "changed link");
    assert!(r.elapsed > SETTLED.1 + 100 * MS, "too short to judge: {:?}", r.elapsed);
    r
}

fn settled_goodput(r: &SimReport) -> f64 {
    r.goodput(SETTLED.0, SETTLED.1)
}

#[test]
fn converges_after_the_rate_halves_and_drains_the_queue() {
    let before = shaped(20, 20, 0.01);
    let after = LinkConfig {
        rate: before.rate / 2,
        ..before
    };
    let r = changed(before, after, 7);
    let goodput = settled_goodput(&r);
    assert!(goodput >= 0.85 * after.rate as f64 * 0.99, "{:.2} MB/s", goodput / 1e6);
    // The queue the change left behind is drained: of an 80 ms buffer,
    // under a quarter of the 40 ms RTT on average, three quarters at worst.
    let samples: Vec<_> = r
        .trace
        .iter()
        .filter(|s| s.at >= SETTLED.0 && s.at <= SETTLED.1)
        .collect();
    let mean = samples.iter().map(|s| s.queue_delay).sum::<Duration>() / samples.len() as u32;
    let max = r.max_queue_delay_between(SETTLED.0, SETTLED.1);
    assert!(mean < 10 * MS && max < 30 * MS, "queue: mean {mean:?}, max {max:?}");
}

#[test]
fn converges_after_the_rate_doubles() {
    let after = shaped(20, 20, 0.01);
    let before = LinkConfig {
        rate: after.rate / 2,
        ..after
    };
    let r = changed(before, after, 10);
    let goodput = settled_goodput(&r);
    assert!(goodput >= 0.85 * after.rate as f64 * 0.99, "{:.2} MB/s", goodput / 1e6);
}

#[test]
fn converges_after_the_loss_jumps_without_taking_it_for_congestion() {
    let before = shaped(20, 20, 0.01);
    let after = LinkConfig {
        loss: LossModel::Independent(0.2),
        ..before
    };
    let r = changed(before, after, 10);
    let goodput = settled_goodput(&r);
    assert!(goodput >= 0.85 * after.rate as f64 * 0.8, "{:.2} MB/s", goodput / 1e6);
    let path = r.sample(SETTLED.0).unwrap().path;
    assert!((path.random_loss - 0.2).abs() < 0.03, "{}", path.random_loss);
    // The jump is tested with a cut or two, not taken for congestion cut
    // after cut (which collapsed the rate before cuts were tested).
    let before = r.sample(CHANGE_AT).unwrap().path;
    let cuts = path.congestion_events - before.congestion_events;
    assert!(cuts <= 3, "{cuts} cuts");
    assert!(path.undone_cuts > before.undone_cuts, "no cut was undone");
}

#[test]
fn converges_after_the_delay_jumps() {
    let before = shaped(20, 20, 0.01);
    let after = LinkConfig {
        delay: 80 * MS,
        ..before
    };
    let r = changed(before, after, 11);
    let goodput = settled_goodput(&r);
    assert!(goodput >= 0.85 * after.rate as f64 * 0.99, "{:.2} MB/s", goodput / 1e6);
    let min_rtt = r.sample(SETTLED.0).unwrap().path.min_rtt.unwrap();
    assert!(min_rtt >= 160 * MS && min_rtt < 170 * MS, "{min_rtt:?}");
}

#[test]
fn shares_a_bottleneck_with_tcp_cubic() {
    // A clean link with a one-BDP queue; the CUBIC flow starts with us or
    // joins after we filled the link.
    for (delay, start) in [(10, Duration::ZERO), (20, Duration::from_secs(2))] {
        let input = data(30_000_000);
        let mut c = config(shaped(40, delay, 0.0));
        c.competitor = Some(start);
        c.trace_every = 100 * MS;
        let r = simulate(&input, &c);
        assert_exact(&r, &input, "with CUBIC");
        let from = start + Duration::from_secs(2);
        let ours = r.goodput(from, r.elapsed);
        let theirs = r.competitor_goodput(from, r.elapsed);
        let share = ours / (ours + theirs);
        assert!((0.3..=0.7).contains(&share), "delay {delay} ms: our share {share:.2}");
        // Together they still fill the link.
        assert!(ours + theirs > 0.85 * 5e6, "{:.2} MB/s", (ours + theirs) / 1e6);
    }
}

#[test]
fn a_receiver_restarted_mid_transfer_fails_both_ends_at_once() {
    let input = data(5_000_000);
    let mut c = config(shaped(40, 20, 0.01));
    c.restart_receiver_at = Some(Duration::from_millis(600));
    let r = simulate(&input, &c);
    assert!(!r.finished);
    assert!(
        matches!(
            r.sender_failure,
            Some(SessionError::ReceiverRestarted {
                before: 0xBEE,
                now: 0xBEF
            })
        ),
        "{:?}",
        r.sender_failure
    );
    assert_eq!(
        r.receiver_failure,
        Some(SessionError::JoinedMidTransfer { bound: 0xBEE })
    );
    // Within a round trip or two of the restart, not the 10 s timeout.
    assert!(
        r.elapsed < Duration::from_millis(800),
        "sender ended at {:?}",
        r.elapsed
    );
    assert!(r.receiver_ended.unwrap() < Duration::from_millis(800));
}

#[test]
fn a_receiver_restarted_before_it_was_heard_receives_everything() {
    // All feedback is lost until the restart: the sender never bound to the
    // first instance and released nothing, so the second can have it all.
    let input = data(300_000);
    let link = shaped(40, 20, 0.0);
    let mut c = config(link);
    c.back.loss = LossModel::Independent(1.0);
    c.changes.push(LinkChange {
        at: Duration::from_millis(100),
        forward: link,
        back: LinkConfig { rate: 0, ..link },
    });
    c.restart_receiver_at = Some(Duration::from_millis(100));
    let r = simulate(&input, &c);
    assert_exact(&r, &input, "restart before feedback");
    assert!(r.receiver_failure.is_none());
}

#[test]
fn a_receiver_that_vanishes_fails_the_sender_after_its_idle_timeout() {
    let input = data(5_000_000);
    let link = shaped(40, 20, 0.0);
    let mut c = config(link);
    let dead = LinkConfig {
        loss: LossModel::Independent(1.0),
        ..link
    };
    c.changes.push(LinkChange {
        at: Duration::from_millis(500),
        forward: dead,
        back: dead,
    });
    let r = simulate(&input, &c);
    assert_eq!(
        r.sender_failure,
        Some(SessionError::NoProgress {
            after: Duration::from_secs(10)
        })
    );
    // Ten seconds after the last progress, give or take a round trip.
    assert!(
        r.elapsed > Duration::from_millis(10_300) && r.elapsed < Duration::from_millis(10_700),
        "{:?}",
        r.elapsed
    );
    assert!(matches!(r.receiver_failure, Some(SessionError::NoProgress { .. })));
}
