//! The display destination: on the terminal's consumer thread, it hands each backtick line (and, for a UI,
//! each terminal line) to the display host, without waiting and without allocating.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_channel::TrySendError;
use sluicegate_core::PoolBytes;
use sluicegate_core::handover;
use sluicegate_p2::{Destination, Event, Flags, KindSet, MessageKind, Routed, Subscription, WindowError};

/// Lines the display host may fall behind by before one is dropped: the whole HSV16 burst (65,539 lines) fits
/// however late the host starts on it. 56 bytes a slot: 3.5 MiB, allocated once.
pub const FEED_QUEUE: usize = 1 << 16;

/// Lines sent without waking the host before it is woken anyway: a burst faster than a wire (a replay at full
/// speed) is applied while it is still being routed, a quarter of the queue at a time.
const WAKE_EVERY: usize = FEED_QUEUE / 4;

/// What the consumer hands the host, in routing order.
#[derive(Debug)]
pub(crate) enum FeedItem {
    /// A backtick line (`MessageKind::BacktickWindow`) and when its first byte arrived.
    Display { line: PoolBytes, arrival: Instant },
    /// A terminal line.
    Text {
        line: PoolBytes,
        kind: MessageKind,
        flags: Flags,
    },
    /// A backtick command the router could not apply; `name` is the range of the window name in `line`.
    WindowError {
        line: PoolBytes,
        error: WindowError,
        name: std::ops::Range<usize>,
    },
    /// A display declaration (the router's view, for the terminal's `[TYPE window 'name' opened]`).
    WindowOpened { line: PoolBytes },
    /// Golden sync: the P2 rebooted.
    Reboot,
}

/// The [`Destination`] that feeds the display host; register it with [`subscription`](Self::subscription).
///
/// On the consumer thread it costs one reference count and one queue slot per line: no allocation, no lock,
/// no wait (a counting-allocator test holds it to that). It wakes the host once a routed batch (at
/// [`Destination::flush`]) rather than once a line.
#[derive(Debug)]
pub struct LiveFeed {
    queue: handover::Producer<FeedItem>,
    /// Display lines dropped on a full queue.
    dropped: Arc<AtomicU64>,
    /// Terminal lines dropped on a full queue.
    text_dropped: Arc<AtomicU64>,
    /// Also hand on the terminal text (for a UI).
    text: bool,
    /// Lines queued since the host was last woken.
    unannounced: usize,
    /// A line the P2 waits on is among them.
    urgent: bool,
}

impl LiveFeed {
    pub(crate) fn new(
        queue: handover::Producer<FeedItem>,
        dropped: Arc<AtomicU64>,
        text_dropped: Arc<AtomicU64>,
        text: bool,
    ) -> Self {
        Self {
            queue,
            dropped,
            text_dropped,
            text,
            unannounced: 0,
            urgent: false,
        }
    }

    /// What to register it for: backtick lines and events, and terminal text when the session feeds a UI.
    pub fn subscription(&self) -> Subscription {
        let backtick = KindSet::only(MessageKind::BacktickWindow);
        let kinds = if self.text {
            KindSet::TERMINAL.with(backtick)
        } else {
            backtick
        };
        Subscription::new(kinds).with_events()
    }

    /// Queues `item`; a full queue drops it and counts it, except a line the P2 waits on (or a reboot), which
    /// waits for room.
    fn send(&mut self, item: FeedItem) {
        let request = matches!(&item, FeedItem::Display { line, .. } if holds_request(line));
        match self.queue.try_send_deferred(item) {
            Ok(()) => {
                self.unannounced += 1;
                self.urgent |= request;
                if self.unannounced >= WAKE_EVERY {
                    self.wake_host();
                }
            }
            Err(TrySendError::Full(item)) => {
                if request || matches!(item, FeedItem::Reboot) {
                    let _ = self.queue.send_deferred(item);
                    self.wake_host();
                } else if matches!(item, FeedItem::Display { .. }) {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.text_dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn wake_host(&mut self) {
        self.queue.wake_consumer();
        self.unannounced = 0;
        self.urgent = false;
    }
}

/// Whether a backtick line may ask for a `PC_KEY` or `PC_MOUSE` answer: it holds `pc_key` or `pc_mou` in
/// any case (a superset: a wake-up too many costs little). Looks only around each `_`.
fn holds_request(line: &[u8]) -> bool {
    memchr::memchr_iter(b'_', line).any(|at| {
        at >= 2
            && line[at - 2..at].eq_ignore_ascii_case(b"pc")
            && line
                .get(at + 1..at + 4)
                .is_some_and(|word| word.eq_ignore_ascii_case(b"key") || word.eq_ignore_ascii_case(b"mou"))
    })
}

impl Destination for LiveFeed {
    fn deliver(&mut self, routed: &Routed<'_>) {
        let item = match routed {
            Routed::Message(message) if message.kind == MessageKind::BacktickWindow => FeedItem::Display {
                line: message.to_pool_bytes(),
                arrival: message.arrival,
            },
            Routed::Message(message) if self.text => FeedItem::Text {
                line: message.to_pool_bytes(),
                kind: message.kind,
                flags: message.flags,
            },
            Routed::Event(Event::Reboot { .. }) => FeedItem::Reboot,
            Routed::Event(Event::WindowError { error, name, message }) if self.text => {
                let bytes = message.bytes();
                let start = name.as_ptr().addr().wrapping_sub(bytes.as_ptr().addr());
                let name = if start <= bytes.len() && name.len() <= bytes.len() - start {
                    start..start + name.len()
                } else {
                    0..0
                };
                FeedItem::WindowError {
                    line: message.to_pool_bytes(),
                    error: *error,
                    name,
                }
            }
            Routed::Event(Event::WindowCreated { message, .. }) if self.text => FeedItem::WindowOpened {
                line: message.to_pool_bytes(),
            },
            _ => return,
        };
        self.send(item);
    }

    /// The consumer has routed its batch. While lines flow, the host looks at the queue every few
    /// milliseconds by itself (half a frame while someone watches, 100 ms otherwise: `look_timeout`) rather
    /// than being woken once a batch (about once a read, ~860 times a second at 2 Mbaud; each wake-up is a
    /// futex call and a context switch). So it is woken at once only for a line the P2 waits on
    /// (PC_KEY/PC_MOUSE) or a long burst, and otherwise only if it sleeps for good
    /// ([`wake_consumer_if_asleep`](handover::Producer::wake_consumer_if_asleep): the handover channel's
    /// handshake, model-checked with loom in sluicegate-core).
    fn flush(&mut self) {
        if self.unannounced == 0 {
            return;
        }
        if self.urgent {
            self.wake_host();
        } else {
            self.queue.wake_consumer_if_asleep();
            self.unannounced = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_found_in_any_case() {
        assert!(holds_request(b"`t1 PC_KEY\r\n"));
        assert!(holds_request(b"`t1 'x' pc_mouse"));
        assert!(holds_request(b"`t1 Pc_Mouse 1_000"));
        assert!(!holds_request(b"`t1 'PC' KEY 1_000 _key pc_"));
        assert!(!holds_request(b"`j k l $FFFF"));
    }
}
