//! A.7 through the library: the HSV16 burst gives 65,539 messages, in order, byte-exact, and each update
//! reaches j, k and l with its data, whatever the read sizes.

use std::time::Instant;

use sluicegate_p2::{
    Config, Deframer, Destination, Event, KindSet, MessageKind, Output, OutputRef, Routed, Router, Subscription,
    simulate,
};

/// One window sink: the data of every update it receives, by window name.
#[derive(Default)]
struct WindowSink {
    names: Vec<Vec<u8>>,
    data: Vec<Vec<Vec<u8>>>,
    errors: usize,
}

impl Destination for WindowSink {
    fn deliver(&mut self, routed: &Routed<'_>) {
        match routed {
            Routed::Event(Event::WindowCreated { window, .. }) => {
                self.names.push(window.name().to_vec());
                self.data.push(Vec::new());
            }
            Routed::WindowUpdate(update) => {
                let index = self.names.iter().position(|name| name == update.window.name()).unwrap();
                self.data[index].push(update.data().to_vec());
            }
            Routed::Event(Event::WindowError { .. }) => self.errors += 1,
            _ => {}
        }
    }
}

/// The debug log: every message, in order.
#[derive(Default)]
struct Log(Vec<(u64, MessageKind, Vec<u8>)>);

impl Destination for Log {
    fn deliver(&mut self, routed: &Routed<'_>) {
        if let Routed::Message(message) = routed {
            self.0.push((message.sequence, message.kind, message.bytes().to_vec()));
        }
    }
}

/// `borrowed`: outputs taken with `poll_ref` and routed with `route_ref` (one thread), else owned (the pipeline).
fn burst_through_the_library(read_size: usize, borrowed: bool) {
    let stream = simulate::hsv16();
    let mut windows = WindowSink::default();
    let mut log = Log::default();
    let mut router = Router::new();
    router
        .add_destination(
            &mut windows,
            Subscription::new(KindSet::EMPTY).with_window_updates().with_events(),
        )
        .unwrap();
    router
        .add_destination(&mut log, Subscription::new(KindSet::ALL))
        .unwrap();
    let mut deframer = Deframer::new(Config::default()).unwrap();
    let now = Instant::now();
    for read in stream.bytes().chunks(read_size) {
        deframer.handle_bytes(read, now);
        if borrowed {
            while let Some(output) = deframer.poll_ref() {
                assert!(matches!(output, OutputRef::Message(_)), "no discards in the burst");
                router.route_ref(&output);
            }
        } else {
            while let Some(output) = deframer.poll_output() {
                assert!(matches!(output, Output::Message(_)), "no discards in the burst");
                router.route(&output);
            }
        }
    }
    assert_eq!(deframer.pending_bytes(), 0, "the burst ends with CRLF: nothing waits");
    drop(router);

    assert_eq!(log.0.len(), 65_539, "every message arrives");
    for (i, ((sequence, kind, bytes), expected)) in log.0.iter().zip(stream.messages()).enumerate() {
        assert_eq!(*sequence, i as u64, "in order");
        assert_eq!(*kind, MessageKind::BacktickWindow);
        assert_eq!(
            bytes.as_slice(),
            &stream.bytes()[expected.range.clone()],
            "message {i} byte-exact"
        );
    }
    assert_eq!(windows.names, [b"j".to_vec(), b"k".to_vec(), b"l".to_vec()]);
    assert_eq!(windows.errors, 0);
    for data in &windows.data {
        assert_eq!(data.len(), 65_536, "each update reaches j, k and l");
        for (value, item) in data.iter().enumerate() {
            assert_eq!(item, format!("${value:X}").as_bytes());
        }
    }
}

#[test]
fn hsv16_in_usb_sized_reads() {
    burst_through_the_library(62, false);
    burst_through_the_library(62, true);
}

#[test]
fn hsv16_in_large_reads() {
    burst_through_the_library(65_536, false);
    burst_through_the_library(65_536, true);
}

#[test]
fn hsv16_in_odd_reads() {
    burst_through_the_library(4099, false);
    burst_through_the_library(4099, true);
}
