//! Deframer + router on arbitrary input: bytes in arbitrary chunks, idle timeouts, gaps and ends of input, under
//! a configuration chosen by the first byte. Must never panic, and must account for every byte (A.1).

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sluicegate_p2::{
    Backtick, Config, DbHeader, DebuggerStatus, Deframer, Destination, Event, KindSet, MessageKind, Output, OutputRef,
    Routed,
    Router, Subscription, Tokens,
};

/// Touches everything a destination can see, keeping some messages alive as a UI would.
struct Touch {
    kept: Vec<sluicegate_core::PoolBytes>,
    sum: u64,
}

impl Destination for Touch {
    fn deliver(&mut self, routed: &Routed<'_>) {
        match routed {
            Routed::Message(message) => {
                self.sum += message.bytes().len() as u64;
                if let MessageKind::Debugger(_) = message.kind {
                    let status = DebuggerStatus::parse(message.bytes()).expect("debugger packets are 416 bytes");
                    self.sum += u64::from(status.cogn);
                }
                if let Some(Backtick::Update(tokens)) = Backtick::parse(message.bytes()) {
                    self.sum += tokens.count() as u64;
                }
                if self.kept.len() < 64 {
                    self.kept.push(message.to_pool_bytes());
                }
            }
            Routed::WindowUpdate(update) => {
                assert!(update.data().len() <= update.message.bytes().len());
                assert_eq!(&update.data_bytes()[..], update.data());
                self.sum += Tokens::new(update.data()).count() as u64;
            }
            Routed::Event(Event::WindowCreated { window, .. }) => self.sum += window.name().len() as u64,
            Routed::Event(_) => self.sum += 1,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&setup, mut ops)) = data.split_first() else { return };
    let config = Config {
        max_line: if setup & 1 == 0 { 65_536 } else { 1 + usize::from(setup >> 3) },
        db_header: if setup & 2 == 0 { DbHeader::Length } else { DbHeader::WithSubtype },
        ..Config::default()
    };
    // Borrowed outputs (`poll_ref`, the one-thread path) or owned ones (`poll_output`, the pipeline's).
    let borrowed = setup & 4 == 0;
    let mut deframer = Deframer::new(config).expect("valid configuration");
    let mut touch = Touch { kept: Vec::new(), sum: 0 };
    let mut router = Router::new();
    let everything = Subscription::new(KindSet::ALL).with_window_updates().with_events();
    router.add_destination(&mut touch, everything).expect("one destination");
    let mut now = Instant::now();
    let mut given = Vec::new();
    let mut out = Vec::new();
    while let Some((&op, rest)) = ops.split_first() {
        ops = rest;
        match op % 8 {
            0..=4 => {
                let len = (usize::from(op >> 3) * [1, 2, 16, 64, 416][usize::from(op % 8)]).min(ops.len());
                deframer.handle_bytes(&ops[..len], now);
                given.extend_from_slice(&ops[..len]);
                ops = &ops[len..];
            }
            5 => {
                now += Duration::from_millis(u64::from(op >> 3) * 4);
                deframer.handle_timeout(now);
            }
            6 => deframer.handle_gap(u64::from(op >> 3)),
            _ => deframer.handle_end(),
        }
        if borrowed {
            while let Some(output) = deframer.poll_ref() {
                out.extend_from_slice(output.bytes());
                if let OutputRef::Message(message) = &output {
                    assert!(!message.bytes().is_empty());
                    assert_eq!(&message.to_pool_bytes()[..], message.bytes());
                }
                router.route_ref(&output);
            }
        } else {
            while let Some(output) = deframer.poll_output() {
                out.extend_from_slice(output.bytes());
                if let Output::Message(message) = &output {
                    assert!(!message.bytes.is_empty());
                }
                router.route(&output);
            }
        }
        assert_eq!(out.len() + deframer.pending_bytes(), given.len());
    }
    deframer.handle_end();
    while let Some(output) = deframer.poll_output() {
        out.extend_from_slice(output.bytes());
        router.route(&output);
    }
    assert_eq!(out, given, "A.1: every byte comes out, in order");
    let counters = deframer.counters();
    assert_eq!(counters.bytes_in, counters.outputs.message_bytes + counters.outputs.discarded_bytes);
});
