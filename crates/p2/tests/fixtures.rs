//! The real captures (tests/fixtures, see its README), fed with their real USB read sizes and with other
//! chunkings: the same messages every time, the expected COG lines, golden syncs, windows and debugger packets,
//! padding counted, every byte accounted for.

use std::path::Path;
use std::time::{Duration, Instant};

use sluicegate_p2::{
    CogId, Config, DebuggerStatus, Deframer, Destination, Event, Flags, KindSet, Message, MessageKind, Output, Routed,
    Router, RoutingCounters, Subscription,
};

struct Capture {
    bytes: Vec<u8>,
    reads: Vec<usize>,
}

fn capture(name: &str) -> Capture {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let bytes = std::fs::read(dir.join(format!("{name}.bin"))).unwrap();
    let reads: Vec<usize> = std::fs::read_to_string(dir.join(format!("{name}.chunks")))
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.trim().parse().unwrap())
        .collect();
    assert_eq!(
        reads.iter().sum::<usize>(),
        bytes.len(),
        "{name}: the read sizes add up to the capture"
    );
    Capture { bytes, reads }
}

/// Counts what the router delivers.
#[derive(Default)]
struct Windows {
    created: Vec<String>,
    updates: usize,
    errors: usize,
    reboots: usize,
}

impl Destination for Windows {
    fn deliver(&mut self, routed: &Routed<'_>) {
        match routed {
            Routed::WindowUpdate(_) => self.updates += 1,
            Routed::Event(Event::WindowCreated { window, .. }) => {
                self.created.push(String::from_utf8_lossy(window.name()).into_owned());
            }
            Routed::Event(Event::WindowError { .. }) => self.errors += 1,
            Routed::Event(Event::Reboot { .. }) => self.reboots += 1,
            _ => {}
        }
    }
}

struct Run {
    messages: Vec<Message>,
    padding: u64,
    windows: Windows,
    routing: RoutingCounters,
}

/// Feeds the capture in reads of the given sizes (1 ms apart, well under the idle timeout), then ends it.
fn run(bytes: &[u8], reads: impl IntoIterator<Item = usize>) -> Run {
    let t0 = Instant::now();
    let mut deframer = Deframer::new(Config::default()).unwrap();
    let mut windows = Windows::default();
    let mut router = Router::new();
    router
        .add_destination(
            &mut windows,
            Subscription::new(KindSet::EMPTY).with_window_updates().with_events(),
        )
        .unwrap();
    let mut messages = Vec::new();
    let mut out = Vec::new();
    let mut start = 0;
    let mut route = |deframer: &mut Deframer, router: &mut Router<'_>| {
        while let Some(output) = deframer.poll_output() {
            out.extend_from_slice(output.bytes());
            router.route(&output);
            if let Output::Message(message) = output {
                messages.push(message);
            }
        }
    };
    for (i, len) in reads.into_iter().enumerate() {
        let end = (start + len).min(bytes.len());
        deframer.handle_bytes(&bytes[start..end], t0 + Duration::from_millis(i as u64));
        route(&mut deframer, &mut router);
        start = end;
    }
    deframer.handle_bytes(&bytes[start..], t0);
    deframer.handle_end();
    route(&mut deframer, &mut router);
    assert_eq!(out, bytes, "A.1: every byte accounted for");
    let counters = deframer.counters();
    assert_eq!(
        counters.bytes_in,
        counters.outputs.message_bytes + counters.outputs.padding_bytes
    );
    assert_eq!(
        (
            counters.outputs.resync_bytes,
            counters.outputs.truncated_bytes,
            counters.outputs.partial_flushes
        ),
        (0, 0, 0)
    );
    let routing = *router.counters();
    drop(router);
    Run {
        messages,
        padding: counters.outputs.padding_bytes,
        windows,
        routing,
    }
}

fn same(a: &[Message], b: &[Message]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            (
                x.bytes == y.bytes,
                x.kind,
                x.flags.without(Flags::ASSEMBLED),
                x.sequence,
            ) == (true, y.kind, y.flags.without(Flags::ASSEMBLED), y.sequence)
        })
}

/// Runs the capture with its real reads and other chunkings; all must give the same messages.
fn run_all_chunkings(name: &str) -> Run {
    let capture = capture(name);
    let real = run(&capture.bytes, capture.reads.iter().copied());
    let len = capture.bytes.len();
    let others: Vec<Vec<usize>> = vec![
        vec![len],
        vec![1; len],
        vec![7; len / 7 + 1],
        vec![64; len / 64 + 1],
        vec![416; len / 416 + 1],
        capture.reads.iter().rev().copied().collect(),
        (0..len).map(|i| 1 + (i * 7919) % 97).collect(),
    ];
    for reads in others {
        let other = run(&capture.bytes, reads.iter().copied());
        assert!(
            same(&real.messages, &other.messages),
            "{name}: reads {:?}… differ",
            &reads[..reads.len().min(5)]
        );
        assert_eq!(real.padding, other.padding);
    }
    real
}

fn cog(n: u8) -> CogId {
    CogId::new(n).unwrap()
}

fn lines(run: &Run) -> Vec<(MessageKind, String)> {
    run.messages
        .iter()
        .filter(|m| !matches!(m.kind, MessageKind::Debugger(_)))
        .map(|m| (m.kind, String::from_utf8_lossy(&m.bytes).trim_end().to_owned()))
        .collect()
}

fn debugger_packets(run: &Run) -> Vec<(CogId, DebuggerStatus)> {
    run.messages
        .iter()
        .filter_map(|m| match m.kind {
            MessageKind::Debugger(cog) => Some((cog, DebuggerStatus::parse(&m.bytes).unwrap())),
            _ => None,
        })
        .collect()
}

#[test]
fn real_session_2025_08_30_frames_cleanly_twice() {
    let run = run_all_chunkings("real-session-2025-08-30");
    let session = [
        (MessageKind::Cog(cog(0)), "Cog0  INIT $0000_0000 $0000_0000 load"),
        (MessageKind::Cog(cog(0)), "Cog0  INIT $0000_0F5C $0000_1C68 jump"),
        (MessageKind::Cog(cog(0)), "Cog0  hi from debug demo"),
        (MessageKind::Cog(cog(1)), "Cog1  INIT $0000_0F5C $0000_1834 jump"),
        (MessageKind::Cog(cog(2)), "Cog2  INIT $0000_0F5C $0000_1A34 jump"),
        (MessageKind::Cog(cog(0)), "Cog0  Tasks run, Main now looping!"),
        (MessageKind::Cog(cog(1)), "Cog1  Task in new COG started"),
        (MessageKind::Cog(cog(2)), "Cog2  Task in new COG started"),
    ];
    let expected: Vec<(MessageKind, String)> = session
        .iter()
        .chain(&session)
        .map(|&(kind, text)| (kind, text.to_owned()))
        .collect();
    assert_eq!(lines(&run), expected);
    let golden: Vec<u64> = run
        .messages
        .iter()
        .filter(|m| m.flags.contains(Flags::GOLDEN_SYNC))
        .map(|m| m.sequence)
        .collect();
    assert_eq!(golden, [0, 9], "the golden sync with two spaces, both sessions");
    let packets = debugger_packets(&run);
    assert_eq!(packets.len(), 2);
    for (cog_id, status) in packets {
        assert_eq!((cog_id, status.cogn, status.brks), (cog(1), 1, 1));
    }
    assert_eq!(run.padding, 80, "40 zero bytes after each packet");
    assert_eq!((run.windows.reboots, run.routing.reboots), (2, 2));
}

#[test]
fn hardware_captures_with_debugger_packets() {
    for (name, sessions, padding) in [
        ("real/hw_0901_2237", 2, 80),
        ("real/timing_0830_0854", 2, 80),
        ("real/res_0902_2030", 1, 40),
    ] {
        let run = run_all_chunkings(name);
        let lines = lines(&run);
        assert_eq!(lines.len(), 6 * sessions, "{name}");
        assert_eq!(
            lines[0],
            (MessageKind::Cog(cog(0)), "Cog0  INIT $0000_0000 $0000_0000 load".into())
        );
        assert_eq!(
            lines[5],
            (MessageKind::Cog(cog(1)), "Cog1  Task in new COG started".into())
        );
        assert!(
            lines.iter().all(|(kind, _)| matches!(kind, MessageKind::Cog(_))),
            "{name}"
        );
        let packets = debugger_packets(&run);
        assert_eq!(packets.len(), sessions, "{name}");
        assert!(
            packets
                .iter()
                .all(|(cog_id, status)| *cog_id == cog(1) && status.cogn == 1)
        );
        assert_eq!(run.padding, padding, "{name}");
        assert_eq!(run.windows.reboots, sessions, "{name}");
    }
}

#[test]
fn exact_hw_routing_two_cog_session() {
    let run = run_all_chunkings("real/exact_hw_routing");
    let lines = lines(&run);
    assert_eq!(lines.len(), 8);
    let cogs: Vec<MessageKind> = lines.iter().map(|(kind, _)| *kind).collect();
    let c = |n| MessageKind::Cog(cog(n));
    assert_eq!(cogs, [c(0), c(0), c(0), c(1), c(2), c(0), c(1), c(2)]);
    assert_eq!(
        debugger_packets(&run).iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        [cog(1)]
    );
    assert_eq!(run.padding, 52);
}

#[test]
fn window_sessions_declare_three_windows_and_update_them() {
    for name in ["real/ext_0909_0545", "real/ext_0909_0550"] {
        let run = run_all_chunkings(name);
        assert_eq!(run.windows.created, ["MyLogic", "MyTerm", "MyScope"], "{name}");
        let backticks = run
            .messages
            .iter()
            .filter(|m| m.kind == MessageKind::BacktickWindow)
            .count();
        assert_eq!(backticks, 217, "{name}");
        assert_eq!(
            (run.windows.updates, run.windows.errors),
            (214, 0),
            "{name}: each update names one window"
        );
        let cog_lines = run
            .messages
            .iter()
            .filter(|m| m.kind == MessageKind::Cog(cog(0)))
            .count();
        assert_eq!(cog_lines, 3, "{name}");
        assert_eq!(run.windows.reboots, 1);
        assert_eq!(run.padding, 0);
    }
}

#[test]
fn a_window_session_fragment_without_declarations_gives_window_errors() {
    let run = run_all_chunkings("real/ext_0909_0535");
    assert_eq!(run.messages.len(), 12);
    assert!(
        run.messages
            .iter()
            .all(|m| m.kind == MessageKind::BacktickWindow && m.bytes.starts_with(b"`MyLogic "))
    );
    assert_eq!(
        (run.windows.updates, run.windows.errors, run.routing.window_errors),
        (0, 12, 12)
    );
}
