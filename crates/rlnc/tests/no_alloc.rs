//! The steady-state packet paths allocate nothing: a worker pool can fill
//! pooled buffers forever without touching the allocator.

use sluicegate_core::alloc_count::{self, CountingAllocator};
use sluicegate_rlnc::decoder::Decoder;
use sluicegate_rlnc::encoder::{Encoder, EncoderConfig};
use sluicegate_rlnc::packet::{Mode, Packet, ParseOptions};
use sluicegate_rlnc::recoder::Recoder;

/// Counts per thread: the harness's own threads allocate at times of their choosing.
#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn encode_parse_decode_and_recode_allocate_nothing_per_packet() {
    let data: Vec<u8> = (0..32 * 1500).map(|i| (i * 7) as u8).collect();
    for mode in [Mode::Systematic, Mode::Random] {
        let enc = Encoder::new(EncoderConfig::new(32, 1500, mode), &data).unwrap();
        let mut dec = Decoder::new(0, 32, 1500).unwrap();
        let mut rec = Recoder::new(0, 32, 1500).unwrap();
        let mut buf = vec![0u8; rec.packet_len()];
        let opts = ParseOptions::default();
        // Warm up: first calls may initialise lazily detected state.
        enc.write_packet(0, 40, &mut buf).unwrap();

        let before = alloc_count::this_thread();
        for index in 0..1000u32 {
            let n = enc.write_packet(0, index, &mut buf).unwrap();
            let p = Packet::parse(&buf[..n], &opts).unwrap();
            dec.receive(&p).unwrap();
            rec.receive(&p).unwrap();
            if dec.is_complete() {
                assert_eq!(dec.data(), Ok(&data[..]));
                dec.reset(0);
            }
        }
        for seed in 0..100 {
            rec.recode(seed, &mut buf).unwrap();
        }
        let after = alloc_count::this_thread();
        assert_eq!(after - before, 0, "{mode:?}: allocations in steady state");
    }
}
