//! A transfer over real sockets allocates nothing per packet: eight times
//! the data costs the same allocations (threads, pools and batch buffers are
//! set up once per transfer).

use std::io::Cursor;
use std::thread;

use sluicegate_core::alloc_count::{self, CountingAllocator};
use sluicegate_rlnc::net::{self, ReceiveOptions, SendOptions, Socket, SocketOptions};
use sluicegate_rlnc::transfer::SenderConfig;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocations, over every thread, of one loopback transfer of `len` bytes, and its packets.
fn allocations_of_a_transfer(len: usize) -> (u64, u64) {
    let input: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut receiver = Socket::bind("127.0.0.1:0".parse().unwrap(), SocketOptions::receiver()).unwrap();
    let to = receiver.local_addr().unwrap();
    let mut config = SenderConfig::new(9);
    config.rate = 100_000_000;
    // A window ceiling both transfers reach at once: the congestion window
    // grows with the transfer, and each new high-water mark of generations
    // in flight allocates a decoder (once); what is compared is per packet.
    config.window = 4;
    let options = SendOptions::new(config);
    let mut sender = Socket::connect(to, SocketOptions::sender(config.rate)).unwrap();
    let mut sink = vec![0u8; 0];
    sink.reserve_exact(len);
    let source = Cursor::new(input.clone());
    let tracing = std::env::var_os("SLUICEGATE_ALLOC_TRACE").is_some();
    if tracing {
        alloc_count::start_tracing();
    }
    let before = alloc_count::all_threads();
    let report = thread::scope(|scope| {
        let receiving = scope.spawn(|| {
            let options = ReceiveOptions {
                linger: std::time::Duration::ZERO,
                ..ReceiveOptions::default()
            };
            net::receive(&mut receiver, &mut sink, &options, &mut |_| {}).unwrap()
        });
        let sent = net::send(&mut sender, source, &options, &mut |_| {}).unwrap();
        receiving.join().unwrap();
        sent
    });
    let allocations = alloc_count::all_threads() - before;
    if tracing {
        eprintln!(
            "transfer of {len} bytes: {}",
            alloc_count::summary(&alloc_count::take_traces())
        );
    }
    assert!(report.verified() && sink == input);
    (allocations, report.stats.data_sent)
}

#[test]
fn eight_times_the_data_costs_no_more_allocations() {
    let (small, small_packets) = allocations_of_a_transfer(2 << 20);
    let (large, large_packets) = allocations_of_a_transfer(16 << 20);
    eprintln!("{small} allocations for {small_packets} packets, {large} for {large_packets}");
    assert!(large_packets >= 7 * small_packets);
    // What may differ is one-off and timing-dependent, not sized by the data:
    // the first wait of a thread on a channel, if it waits at all (crossbeam's
    // per-thread context and the channel side's waiter list, two allocations
    // for each of the three threads that can wait). One allocation per packet
    // would add 12,000, per feedback 750, per generation 380.
    assert!(large <= small + 16, "{small} → {large} allocations");
}
