//! The realistic demo session from `simulate` through deframer and router, in several read sizes: its
//! messages exactly, two reboots, its nine windows declared twice, every update delivered, no window error.

use std::time::Instant;

use sluicegate_p2::{
    Config, Deframer, Destination, Event, Flags, KindSet, Output, Routed, Router, Subscription, simulate,
};

#[derive(Default)]
struct Events {
    reboots: usize,
    created: usize,
    updates: usize,
    errors: usize,
}

impl Destination for Events {
    fn deliver(&mut self, routed: &Routed<'_>) {
        match routed {
            Routed::WindowUpdate(_) => self.updates += 1,
            Routed::Event(Event::Reboot { .. }) => self.reboots += 1,
            Routed::Event(Event::WindowCreated { .. }) => self.created += 1,
            Routed::Event(Event::WindowError { .. }) => self.errors += 1,
            _ => {}
        }
    }
}

/// The window updates the demo's lines hold: one per feed line, two for the one that feeds FFT and SPECTRO.
fn updates_in(stream: &simulate::Stream) -> usize {
    stream
        .messages()
        .iter()
        .map(|message| &stream.bytes()[message.range.clone()])
        .filter(|line| line.starts_with(b"`My"))
        .map(|line| if line.starts_with(b"`MyFFT MySpectro ") { 2 } else { 1 })
        .sum()
}

#[test]
fn demo_session_gives_its_messages_and_events_in_any_read_size() {
    let stream = simulate::demo_session();
    let updates = updates_in(&stream);
    assert!(updates > 500, "the demo animates its displays: {updates} updates");
    for read in [1, 13, 62, 416, 4096, stream.bytes().len()] {
        let mut events = Events::default();
        let mut router = Router::new();
        router
            .add_destination(
                &mut events,
                Subscription::new(KindSet::EMPTY).with_window_updates().with_events(),
            )
            .unwrap();
        let mut deframer = Deframer::new(Config::default()).unwrap();
        let mut messages = Vec::new();
        for bytes in stream.bytes().chunks(read) {
            deframer.handle_bytes(bytes, Instant::now());
            while let Some(output) = deframer.poll_output() {
                router.route(&output);
                if let Output::Message(message) = output {
                    messages.push(message);
                }
            }
        }
        drop(router);
        assert_eq!(messages.len(), stream.messages().len(), "read size {read}");
        for (message, expected) in messages.iter().zip(stream.messages()) {
            assert_eq!(&message.bytes[..], &stream.bytes()[expected.range.clone()]);
            assert_eq!(
                (message.kind, message.flags.without(Flags::ASSEMBLED)),
                (expected.kind, expected.flags)
            );
        }
        assert_eq!(deframer.counters().outputs.padding_bytes, stream.padding_bytes());
        assert_eq!(
            (events.reboots, events.created, events.errors),
            (2, 18, 0),
            "read size {read}"
        );
        assert_eq!(events.updates, updates, "read size {read}");
    }
}
