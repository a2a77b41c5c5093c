//! A.1 as properties: any split of the same bytes gives the same messages, and messages plus counted discards
//! give back the input byte for byte; no input makes the deframer or router panic.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use sluicegate_p2::{
    Config, DbHeader, Deframer, Destination, Flags, KindSet, Message, Output, Routed, Router, Subscription, simulate,
};

/// What must not depend on the chunking: bytes, kind code, flags but `ASSEMBLED`, sequence number.
type Signature = (Vec<u8>, u8, Flags, u64);

fn signature(message: &Message) -> Signature {
    (
        message.bytes.to_vec(),
        message.kind.code(),
        message.flags.without(Flags::ASSEMBLED),
        message.sequence,
    )
}

/// Feeds `bytes` cut at `cuts`, ends the input, and returns the messages and every output's bytes concatenated;
/// `borrowed` takes the outputs with `poll_ref` rather than `poll_output`.
fn feed(bytes: &[u8], cuts: &[usize], config: &Config, borrowed: bool) -> (Vec<Signature>, Vec<u8>, u64) {
    let t0 = Instant::now();
    let mut deframer = Deframer::new(config.clone()).unwrap();
    let mut messages = Vec::new();
    let mut out = Vec::new();
    let mut take = |deframer: &mut Deframer| {
        if borrowed {
            while let Some(output) = deframer.poll_ref() {
                out.extend_from_slice(output.bytes());
                if let Some(message) = output.message() {
                    messages.push(signature(&message.to_message()));
                }
            }
        }
        while let Some(output) = deframer.poll_output() {
            out.extend_from_slice(output.bytes());
            if let Output::Message(message) = &output {
                messages.push(signature(message));
            }
        }
    };
    let mut cuts: Vec<usize> = cuts.iter().map(|&cut| cut % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut start = 0;
    for end in cuts.into_iter().chain([bytes.len()]) {
        deframer.handle_bytes(&bytes[start..end], t0);
        take(&mut deframer);
        start = end;
    }
    deframer.handle_end();
    take(&mut deframer);
    let counters = deframer.counters();
    assert_eq!(
        counters.bytes_in,
        counters.outputs.message_bytes + counters.outputs.discarded_bytes
    );
    (messages, out, counters.outputs.padding_bytes)
}

/// A mixed stream with garbage pieces spliced in at message boundaries.
fn mixed_with_garbage(seed: u64, count: usize, garbage: &[(usize, Vec<u8>)]) -> Vec<u8> {
    let stream = simulate::mixed(seed, count);
    let mut bytes = stream.bytes().to_vec();
    let mut boundaries: Vec<usize> = stream.messages().iter().map(|m| m.range.end).collect();
    boundaries.insert(0, 0);
    let mut inserts: Vec<(usize, &[u8])> = garbage
        .iter()
        .map(|(at, piece)| (boundaries[at % boundaries.len()], piece.as_slice()))
        .collect();
    inserts.sort_by_key(|&(at, _)| std::cmp::Reverse(at));
    for (at, piece) in inserts {
        bytes.splice(at..at, piece.iter().copied());
    }
    bytes
}

fn garbage() -> impl Strategy<Value = Vec<(usize, Vec<u8>)>> {
    let byte = prop_oneof![
        Just(0u8),
        Just(b'\r'),
        Just(b'\n'),
        Just(0xDB),
        Just(b'`'),
        Just(b'C'),
        any::<u8>()
    ];
    proptest::collection::vec((any::<usize>(), proptest::collection::vec(byte, 0..24)), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_split_of_mixed_streams_with_garbage_gives_the_same_messages(
        seed in any::<u64>(),
        count in 1usize..60,
        garbage in garbage(),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
        max_line in prop_oneof![Just(65_536usize), 1usize..64],
        subtype in any::<bool>(),
    ) {
        let db_header = if subtype { DbHeader::WithSubtype } else { DbHeader::Length };
        let config = Config { max_line, db_header, ..Config::default() };
        let bytes = mixed_with_garbage(seed, count, &garbage);
        let (whole, whole_out, whole_padding) = feed(&bytes, &[], &config, false);
        let (split, split_out, split_padding) = feed(&bytes, &cuts, &config, true);
        prop_assert_eq!(&whole_out, &bytes, "A.1: concatenated outputs are the input");
        prop_assert_eq!(&split_out, &bytes);
        prop_assert_eq!(whole_padding, split_padding);
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn clean_mixed_streams_give_exactly_the_generated_messages(
        seed in any::<u64>(),
        count in 1usize..80,
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
    ) {
        let stream = simulate::mixed(seed, count);
        let (messages, out, padding) = feed(stream.bytes(), &cuts, &Config::default(), true);
        prop_assert_eq!(out.as_slice(), stream.bytes());
        prop_assert_eq!(padding, stream.padding_bytes());
        let expected: Vec<_> = stream
            .messages()
            .iter()
            .enumerate()
            .map(|(i, m)| (stream.bytes()[m.range.clone()].to_vec(), m.kind.code(), m.flags, i as u64))
            .collect();
        prop_assert_eq!(messages, expected);
    }
}

#[derive(Debug, Clone)]
enum Op {
    Bytes(Vec<u8>),
    Timeout(u16),
    Gap(u16),
    End,
}

/// Bytes biased towards the ones framing looks at, from a seed: proptest's own generator is slow per byte in
/// debug builds, and a seed still shrinks through the length.
fn biased_bytes(seed: u64, len: usize) -> Vec<u8> {
    const SPECIAL: [u8; 7] = [0, 0, 1, b'\r', b'\n', 0xDB, b'`'];
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let pick = (state >> 32) as usize;
            if pick.is_multiple_of(2) {
                SPECIAL[(pick >> 8) % SPECIAL.len()]
            } else {
                (pick >> 16) as u8
            }
        })
        .collect()
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u64>(), 0usize..600).prop_map(|(seed, len)| Op::Bytes(biased_bytes(seed, len))),
        2 => any::<u16>().prop_map(Op::Timeout),
        1 => any::<u16>().prop_map(Op::Gap),
        1 => Just(Op::End),
    ]
}

/// Counts deliveries; the router must not panic whatever it is given.
struct Tally(u64);

impl Destination for Tally {
    fn deliver(&mut self, _: &Routed<'_>) {
        self.0 += 1;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn arbitrary_bytes_timeouts_and_gaps_never_panic_and_lose_nothing(
        ops in proptest::collection::vec(op(), 0..24),
        max_line in prop_oneof![Just(65_536usize), 1usize..32],
        subtype in any::<bool>(),
        borrowed in any::<bool>(),
    ) {
        let db_header = if subtype { DbHeader::WithSubtype } else { DbHeader::Length };
        let config = Config { max_line, db_header, ..Config::default() };
        let mut deframer = Deframer::new(config).unwrap();
        let mut tally = Tally(0);
        let mut router = Router::new();
        router.add_destination(&mut tally, Subscription::new(KindSet::ALL).with_window_updates().with_events()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut given = Vec::new();
        let mut out = Vec::new();
        let mut lost = 0;
        for op in ops {
            match op {
                Op::Bytes(bytes) => {
                    deframer.handle_bytes(&bytes, now);
                    given.extend_from_slice(&bytes);
                }
                Op::Timeout(ms) => {
                    now += Duration::from_millis(u64::from(ms % 200));
                    deframer.handle_timeout(now);
                }
                Op::Gap(n) => {
                    deframer.handle_gap(u64::from(n));
                    lost += u64::from(n);
                }
                Op::End => deframer.handle_end(),
            }
            // Borrowed outputs (one thread) or owned ones (the pipeline's): the same bytes either way.
            if borrowed {
                while let Some(output) = deframer.poll_ref() {
                    out.extend_from_slice(output.bytes());
                    if let Some(message) = output.message() {
                        prop_assert_eq!(&message.to_pool_bytes()[..], message.bytes());
                    }
                    router.route_ref(&output);
                }
            } else {
                while let Some(output) = deframer.poll_output() {
                    out.extend_from_slice(output.bytes());
                    router.route(&output);
                }
            }
            prop_assert_eq!(out.len() + deframer.pending_bytes(), given.len());
        }
        prop_assert_eq!(&out[..], &given[..out.len()], "outputs are the input's prefix, in order");
        deframer.handle_end();
        while let Some(output) = deframer.poll_output() {
            out.extend_from_slice(output.bytes());
            router.route(&output);
        }
        prop_assert_eq!(&out, &given);
        let counters = deframer.counters();
        prop_assert_eq!(counters.bytes_in, given.len() as u64);
        prop_assert_eq!(counters.bytes_in, counters.outputs.message_bytes + counters.outputs.discarded_bytes);
        prop_assert_eq!(counters.outputs.discarded_bytes, counters.outputs.padding_bytes + counters.outputs.resync_bytes + counters.outputs.truncated_bytes);
        prop_assert_eq!(counters.lost_bytes, lost);
        prop_assert_eq!(router.counters().messages_routed, counters.outputs.messages);
    }
}
