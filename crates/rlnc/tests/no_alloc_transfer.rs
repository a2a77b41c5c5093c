//! The steady-state transfer paths allocate nothing per packet: the chunker
//! reads into pooled generation buffers, the sender codes each packet into
//! the caller's datagram buffer, and the receiver decodes into decoders it
//! reuses.

use std::time::Duration;

use sluicegate_core::alloc_count::{self, CountingAllocator};
use sluicegate_core::pool::PoolBytes;
use sluicegate_rlnc::Mode;
use sluicegate_rlnc::net::Chunker;
use sluicegate_rlnc::transfer::{Receiver, ReceiverConfig, Sender, SenderConfig};

/// Counts per thread: the whole transfer runs on the test's thread.
#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn chunk_encode_send_receive_and_decode_allocate_nothing_per_packet() {
    for mode in [Mode::Systematic, Mode::Random] {
        let mut config = SenderConfig::new(77);
        config.mode = mode;
        config.rate = 0;
        let data: Vec<u8> = (0..config.generation_bytes() * 200)
            .map(|i| (i * 13 + i / 97) as u8)
            .collect();
        let mut chunker = Chunker::new(&data[..], config.generation_bytes(), 64 + 3);
        let mut sender: Sender<PoolBytes> = Sender::new(config).unwrap();
        let mut receiver = Receiver::new(ReceiverConfig::new(1));
        let mut datagram = vec![0u8; sender.datagram_len()];
        let mut feedback = vec![0u8; 2048];
        let mut written = 0u64;
        let mut now = Duration::ZERO;
        let mut steady_from = None;
        let mut packets = 0u64;
        while !receiver.is_complete() {
            if steady_from.is_none() && packets >= 20 * u64::from(config.k) {
                // Past the first window: every buffer, decoder and queue exists.
                steady_from = Some(alloc_count::this_thread());
            }
            while sender.wants_generation() {
                let Some(chunk) = chunker.next_chunk().unwrap() else {
                    break;
                };
                sender.push_generation(chunk.data, chunk.data_len, chunk.last).unwrap();
            }
            now = sender.poll_timeout().unwrap_or(now).max(now + Duration::from_micros(1));
            while let Some(n) = sender.poll_transmit(now, &mut datagram) {
                packets += 1;
                receiver.handle_datagram(now, &datagram[..n]).unwrap();
                receiver
                    .poll_data(|bytes| {
                        written += bytes.len() as u64;
                        Ok::<_, ()>(())
                    })
                    .unwrap();
                while let Some(n) = receiver.poll_transmit(now, &mut feedback) {
                    sender.handle_datagram(now, &feedback[..n]).unwrap();
                }
            }
        }
        let allocations = alloc_count::this_thread() - steady_from.expect("ran past warm-up");
        assert_eq!(written, data.len() as u64);
        assert!(packets >= 200 * u64::from(config.k));
        assert_eq!(
            allocations, 0,
            "{mode:?}: {allocations} allocations over {packets} packets"
        );
    }
}
