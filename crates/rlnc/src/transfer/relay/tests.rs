//! The relay in virtual time, with loss on both hops, against plain forwarding.

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use proptest::prelude::*;

use super::sim::{Middle, TwoHopConfig, TwoHopReport, simulate};
use super::*;
use crate::Mode;
use crate::transfer::link::{LinkConfig, LossModel};
use crate::transfer::receiver::ReceiverConfig;
use crate::transfer::sender::{Sender, SenderConfig};

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(131) ^ (i >> 7)) as u8).collect()
}

fn config(first: LossModel, second: LossModel, middle: Middle, seed: u64) -> TwoHopConfig {
    let mut sender = SenderConfig::new(0xFEED);
    sender.k = 16;
    sender.symbol_size = 256;
    sender.window = 8;
    sender.rate = 20_000_000;
    let link = |loss| LinkConfig {
        loss,
        ..LinkConfig::default()
    };
    TwoHopConfig {
        sender,
        receiver: ReceiverConfig::new(0xD0D0),
        middle,
        first: link(first),
        second: link(second),
        seed,
        limit: Duration::from_secs(600),
    }
}

fn recoding() -> Middle {
    Middle::Recoding(RelayConfig::default())
}

fn check(r: &TwoHopReport, input: &[u8], what: &str) {
    assert!(r.finished, "{what}: not finished: {r:?}");
    assert!(r.output == input, "{what}: output differs");
}

#[test]
fn two_hops_with_loss_on_both_arrive_byte_exact() {
    let input = data(200_003);
    for p in [0.0, 0.1, 0.2, 0.3] {
        for (name, model) in [
            ("independent", LossModel::Independent(p)),
            ("bursty", LossModel::bursty(p, 4.0)),
        ] {
            for mode in [Mode::Systematic, Mode::Random] {
                let mut c = config(model, model, recoding(), 11);
                c.sender.mode = mode;
                let r = simulate(&input, &c);
                check(&r, &input, &alloc::format!("{name} {p} {mode:?}"));
                let relay = r.relay.unwrap();
                assert_eq!(relay.out_of_window, 0, "{name} {p}: {relay:?}");
                // Each hop pays for its own loss, near 1 / (1 - p) plus BOOST rounds.
                let bound = 1.0 / (1.0 - p) * 1.35 + 0.1;
                let first = r.first_hop_data as f64 / r.needed as f64;
                let second = r.second_hop_data as f64 / r.needed as f64;
                assert!(
                    first < bound && second < bound,
                    "{name} {p} {mode:?}: {first:.3} {second:.3}"
                );
                std::eprintln!("{name} {p} {mode:?}: first hop {first:.3}, second hop {second:.3}, {relay:?}");
            }
        }
    }
}

#[test]
fn recoding_needs_fewer_packets_than_forwarding() {
    // 20 % loss on each hop: forwarding loses 36 % end to end and the sender
    // must pay for it; with recoding each hop pays its own 20 %.
    let input = data(400_000);
    let loss = LossModel::Independent(0.2);
    let mut sums = [(0u64, 0u64, Duration::ZERO); 2];
    for seed in 1..=3 {
        for (i, middle) in [recoding(), Middle::Forwarding].into_iter().enumerate() {
            let r = simulate(&input, &config(loss, loss, middle, seed));
            check(&r, &input, &alloc::format!("{middle:?} seed {seed}"));
            sums[i].0 += r.first_hop_data;
            sums[i].1 += r.first_hop_data + r.second_hop_data;
            sums[i].2 += r.elapsed;
        }
    }
    let [(rec_first, rec_total, rec_time), (fwd_first, fwd_total, fwd_time)] = sums;
    let needed = 3 * (input.len() as u64).div_ceil(16 * 256) * 16;
    let (rf, ff) = (rec_first as f64 / needed as f64, fwd_first as f64 / needed as f64);
    std::eprintln!(
        "per packet needed, sender: recoding {rf:.3}, forwarding {ff:.3}; both hops: {:.3} vs {:.3}; time {rec_time:?} vs {fwd_time:?}",
        rec_total as f64 / needed as f64,
        fwd_total as f64 / needed as f64
    );
    // Recoding: the sender sends about 1 / 0.8 = 1.25 per packet needed;
    // forwarding about 1 / 0.64 = 1.56.
    assert!(
        rf < 1.4 && ff > 1.5,
        "sender per needed: recoding {rf:.3}, forwarding {ff:.3}"
    );
    assert!(
        rec_total < fwd_total,
        "both hops: recoding {rec_total}, forwarding {fwd_total}"
    );
    assert!(
        rec_time <= fwd_time,
        "time: recoding {rec_time:?}, forwarding {fwd_time:?}"
    );
}

#[test]
fn survives_reordering_duplication_delay_and_odd_sizes() {
    for (len, seed) in [(0, 1), (1, 2), (4096, 3), (4097, 4), (150_001, 5)] {
        let input = data(len);
        let mut c = config(
            LossModel::Independent(0.15),
            LossModel::bursty(0.15, 3.0),
            recoding(),
            seed,
        );
        for link in [&mut c.first, &mut c.second] {
            link.reorder = 0.3;
            link.duplicate = 0.2;
            link.delay = Duration::from_millis(10);
            link.jitter = Duration::from_millis(5);
        }
        let r = simulate(&input, &c);
        check(&r, &input, &alloc::format!("len {len}"));
    }
}

#[test]
fn the_relay_holds_at_most_two_windows_when_the_second_hop_is_slow() {
    // A lossy second hop with a long delay: the sender must not run ahead.
    let input = data(600_000);
    let mut c = config(LossModel::None, LossModel::Independent(0.4), recoding(), 8);
    c.second.delay = Duration::from_millis(40);
    let r = simulate(&input, &c);
    check(&r, &input, "slow second hop");
    let relay = r.relay.unwrap();
    assert_eq!(relay.out_of_window, 0, "{relay:?}");
    assert!(
        r.first_hop_data < r.needed * 11 / 10,
        "the sender pays little: {}",
        r.first_hop_data
    );
}

/// A few valid datagrams of each direction.
fn valid() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut c = SenderConfig::new(5);
    (c.k, c.symbol_size, c.rate) = (4, 16, 0);
    let mut sender: Sender<Vec<u8>> = Sender::new(c).unwrap();
    sender.push_generation(vec![1; 64], 64, false).unwrap();
    sender.push_generation(vec![2; 64], 20, true).unwrap();
    let mut buf = vec![0u8; 512];
    let mut up = Vec::new();
    while let Some(n) = sender.poll_transmit(Duration::ZERO, &mut buf) {
        up.push(buf[..n].to_vec());
    }
    let mut down = Vec::new();
    let feedback = datagram::Feedback {
        receiver: 9,
        echo_seq: 3,
        received: 2,
        window: 4,
        ranks: &[2, 4],
        ..datagram::Feedback::default()
    };
    let n = datagram::write_feedback(&mut buf, 5, &feedback).unwrap();
    down.push(buf[..n].to_vec());
    let n = datagram::write_done(&mut buf, 5, 9, 84, &[1; 32]).unwrap();
    down.push(buf[..n].to_vec());
    (up, down)
}

proptest! {
    /// Random bytes, and valid datagrams with a byte overwritten or cut
    /// short, from either side, never panic the relay.
    #[test]
    fn any_datagram_on_either_side_is_handled_without_panic(
        noise in proptest::collection::vec(any::<u8>(), 0..300),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut relay = Relay::new(RelayConfig::default());
        let now = Duration::ZERO;
        let (up, down) = valid();
        let mut out = vec![0u8; 2048];
        for d in up.iter().chain(&down) {
            let _ = relay.handle_upstream(now, &noise);
            let _ = relay.handle_downstream(now, &noise);
            let mut d2 = d.clone();
            let i = at.index(d2.len());
            d2[i] = byte;
            let _ = relay.handle_upstream(now, &d2);
            let _ = relay.handle_downstream(now, &d2);
            let _ = relay.handle_upstream(now, &d[..cut.index(d.len())]);
            let _ = relay.handle_upstream(now, d);
            let _ = relay.handle_downstream(now, d);
            while relay.poll_upstream(now, &mut out).is_some() {}
            let mut guard = 0;
            while relay.poll_downstream(now, &mut out).is_some() && guard < 100 {
                guard += 1;
            }
            let _ = relay.poll_timeout();
        }
    }
}
