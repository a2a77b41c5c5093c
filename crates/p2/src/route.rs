//! The router (`docs/p2-protocol.md` A.4): each message, as the same reference-counted buffer, to every destination
//! registered for its kind; backtick updates to each target window; reboot and window events.

use sluicegate_core::PoolBytes;

use crate::classify::{Backtick, Tokens, is_separator, without_line_end};
use crate::message::{DiscardRef, Flags, KindSet, MessageKind, MessageRef, Output, OutputRef};
use crate::window::{Window, WindowError, WindowRegistry};

/// Where routed messages and events go: the CLI's terminal and log, tests, a UI, the Node binding.
///
/// `deliver` is called on the routing thread for every delivery, with messages borrowed from their buffers
/// ([`MessageRef`]): a destination that only looks (formats, counts, copies pixels) costs no reference count; one
/// that keeps a message takes [`MessageRef::to_pool_bytes`] (a reference count, no copy). Keeping many messages
/// for long keeps their chunk buffers out of the pool; copy them out ([`PoolBytes::into_bytes`] or `to_vec`) for
/// long-lived storage.
pub trait Destination {
    /// One delivery.
    fn deliver(&mut self, routed: &Routed<'_>);

    /// A backtick update's deliveries to its target windows, in order, in one call (one dynamic call per
    /// destination rather than one per target). The default delivers each as a [`Routed::WindowUpdate`].
    fn deliver_updates(&mut self, updates: &WindowUpdates<'_>) {
        for update in updates {
            self.deliver(&Routed::WindowUpdate(update));
        }
    }

    /// Everything queued so far has been routed: write out what is buffered ([`Router::flush`]). A
    /// destination that buffers across deliveries flushes here, not when it is handed the last message it
    /// subscribed to, so its last line shows even when messages it does not take follow.
    fn flush(&mut self) {}
}

impl<D: Destination + ?Sized> Destination for &mut D {
    fn deliver(&mut self, routed: &Routed<'_>) {
        (**self).deliver(routed);
    }

    fn deliver_updates(&mut self, updates: &WindowUpdates<'_>) {
        (**self).deliver_updates(updates);
    }

    fn flush(&mut self) {
        (**self).flush();
    }
}

impl<D: Destination + ?Sized> Destination for Box<D> {
    fn deliver(&mut self, routed: &Routed<'_>) {
        (**self).deliver(routed);
    }

    fn deliver_updates(&mut self, updates: &WindowUpdates<'_>) {
        (**self).deliver_updates(updates);
    }

    fn flush(&mut self) {
        (**self).flush();
    }
}

/// One delivery to a [`Destination`].
#[derive(Clone, Copy, Debug)]
pub enum Routed<'a> {
    /// A message of a kind the destination subscribed to.
    Message(&'a MessageRef<'a>),
    /// A backtick update for one of its target windows (delivered once per target).
    WindowUpdate(WindowUpdate<'a>),
    /// Something happened (to destinations subscribed to events).
    Event(Event<'a>),
}

/// A backtick update addressed to one window: `` `j k l $FFB7 `` gives three, with data `$FFB7`.
#[derive(Clone, Copy, Debug)]
pub struct WindowUpdate<'a> {
    /// The whole update line.
    pub message: &'a MessageRef<'a>,
    /// The target window.
    pub window: &'a Window,
    data_start: usize,
    data_end: usize,
}

impl<'a> WindowUpdate<'a> {
    /// The data after the target names, without the end of line; split it with [`Tokens`].
    pub fn data(&self) -> &'a [u8] {
        &self.message.bytes()[self.data_start..self.data_end]
    }

    /// The same data as a shared handle on the message's buffer (no copy).
    pub fn data_bytes(&self) -> PoolBytes {
        self.message.slice(self.data_start..self.data_end)
    }
}

/// One backtick update's deliveries to its target windows, in order, given to [`Destination::deliver_updates`];
/// iterate over a reference for the [`WindowUpdate`]s.
///
/// Given by reference, with `data_start` and `data_end` apart (`repr(C)`): passed by value, or with the two
/// side by side, its fields were read back with 16-byte loads just after the router wrote them with 8-byte
/// stores (a failed store-to-load forwarding), 65–70 % of `deliver_updates` in `perf` on the HSV16 bench.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct WindowUpdates<'a> {
    message: &'a MessageRef<'a>,
    data_start: usize,
    registry: &'a WindowRegistry,
    data_end: usize,
    /// Registry indices of the targets.
    targets: &'a [usize],
}

impl<'a> WindowUpdates<'a> {
    /// The whole update line.
    pub fn message(&self) -> &'a MessageRef<'a> {
        self.message
    }

    /// The data after the target names, the same for every target.
    pub fn data(&self) -> &'a [u8] {
        &self.message.bytes()[self.data_start..self.data_end]
    }
}

impl<'b, 'a> IntoIterator for &'b WindowUpdates<'a> {
    type Item = WindowUpdate<'a>;
    type IntoIter = WindowUpdatesIter<'b, 'a>;

    fn into_iter(self) -> WindowUpdatesIter<'b, 'a> {
        WindowUpdatesIter { updates: self, next: 0 }
    }
}

/// The [`WindowUpdate`]s of a [`WindowUpdates`], in order.
#[derive(Clone, Debug)]
pub struct WindowUpdatesIter<'b, 'a> {
    updates: &'b WindowUpdates<'a>,
    next: usize,
}

impl<'a> Iterator for WindowUpdatesIter<'_, 'a> {
    type Item = WindowUpdate<'a>;

    #[inline]
    fn next(&mut self) -> Option<WindowUpdate<'a>> {
        let updates = self.updates;
        loop {
            let &index = updates.targets.get(self.next)?;
            self.next += 1;
            if let Some(window) = updates.registry.get(index) {
                return Some(WindowUpdate {
                    message: updates.message,
                    window,
                    data_start: updates.data_start,
                    data_end: updates.data_end,
                });
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.updates.targets.len() - self.next))
    }
}

/// Events sent to destinations subscribed to them.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A.4: golden sync on COG0, the P2 rebooted. Sent before the golden-sync line itself, so a log can start
    /// its new file with it. The window registry has been cleared; counters are kept.
    Reboot {
        /// The golden-sync line.
        message: &'a MessageRef<'a>,
    },
    /// A backtick declaration opened a window (replacing any of the same name).
    WindowCreated {
        /// The new window.
        window: &'a Window,
        /// The declaration line.
        message: &'a MessageRef<'a>,
    },
    /// A backtick command that could not be applied: show it on the terminal (A.4). The message is still
    /// delivered to the destinations of its kind (the log).
    WindowError {
        /// What went wrong.
        error: WindowError,
        /// The window name the command used (empty if none).
        name: &'a [u8],
        /// The command line.
        message: &'a MessageRef<'a>,
    },
    /// Bytes the deframer discarded (padding, resynchronisation, truncated packet).
    Discard(&'a DiscardRef<'a>),
}

/// What a destination receives: messages of some kinds, window updates, events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscription {
    kinds: KindSet,
    window_updates: bool,
    events: bool,
}

impl Subscription {
    /// Messages of `kinds`.
    pub const fn new(kinds: KindSet) -> Self {
        Self {
            kinds,
            window_updates: false,
            events: false,
        }
    }

    /// Also each backtick update once per target window.
    pub const fn with_window_updates(self) -> Self {
        Self {
            window_updates: true,
            ..self
        }
    }

    /// Also events.
    pub const fn with_events(self) -> Self {
        Self { events: true, ..self }
    }
}

/// A registered destination's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DestinationId(u8);

impl DestinationId {
    /// The index, in registration order.
    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

/// Why a destination could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// The routing table holds one bit per destination.
    #[error("a router takes at most {} destinations", Router::MAX_DESTINATIONS)]
    TooManyDestinations,
}

/// Routing counters, serialised with snake_case keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoutingCounters {
    /// Messages routed.
    pub messages_routed: u64,
    /// Deliveries made (messages, window updates and events, counted once per destination).
    pub deliveries: u64,
    /// Window updates routed, counted once per target.
    pub window_updates: u64,
    /// Windows declared.
    pub windows_created: u64,
    /// Window commands that failed (unknown window, missing name).
    pub window_errors: u64,
    /// Reboots (golden sync on COG0).
    pub reboots: u64,
}

/// Routes deframer [`Output`]s to [`Destination`]s by kind (A.4), keeping the [`WindowRegistry`].
///
/// The routing table is one bit mask of destinations per kind, so a message costs one dynamic call per
/// receiving destination, with the same [`MessageRef`] (and so the same buffer) for all of them; a backtick
/// update costs one more per destination of window updates, for all its targets
/// ([`Destination::deliver_updates`]).
///
/// # Examples
/// ```
/// use std::time::Instant;
/// use sluicegate_p2::{Config, Deframer, Destination, Event, KindSet, Routed, Router, Subscription};
///
/// #[derive(Default)]
/// struct Terminal(Vec<String>);
/// impl Destination for Terminal {
///     fn deliver(&mut self, routed: &Routed<'_>) {
///         match routed {
///             Routed::Message(message) => self.0.push(String::from_utf8_lossy(message.bytes()).into()),
///             Routed::Event(Event::WindowError { error, .. }) => self.0.push(format!("ERROR: {error}")),
///             _ => {}
///         }
///     }
/// }
///
/// let mut terminal = Terminal::default();
/// let mut router = Router::new();
/// router.add_destination(&mut terminal, Subscription::new(KindSet::TERMINAL).with_events()).unwrap();
/// let mut deframer = Deframer::new(Config::default()).unwrap();
/// deframer.handle_bytes(b"Cog0  hi\r\n`nowhere 1\r\n\xDB\x01\x00\x0A", Instant::now());
/// while let Some(output) = deframer.poll_ref() {
///     router.route_ref(&output);
/// }
/// drop(router);
/// assert_eq!(terminal.0.len(), 2, "the DB packet never reaches the terminal");
/// assert!(terminal.0[1].starts_with("ERROR: window update failed"));
/// ```
pub struct Router<'d> {
    destinations: Vec<Box<dyn Destination + Send + 'd>>,
    by_kind: [u64; MessageKind::COUNT],
    window_updates: u64,
    events: u64,
    registry: WindowRegistry,
    targets: TargetCache,
    counters: RoutingCounters,
}

/// The targets of the last update, by the bytes that named them (`j k l ` in `` `j k l $FFFF ``).
///
/// DEBUG programs update the same windows over and over; an update starting with the same bytes (and whose
/// next token names no window) has the same targets, so it skips tokenizing and looking them up. With it (and a
/// faster tokenizer), deframe + route of HSV16 went from 7.7 to 13–15 M messages/s in the criterion bench.
#[derive(Debug, Default)]
struct TargetCache {
    prefix: Vec<u8>,
    windows: Vec<usize>,
    /// Cleared whenever the registry changes.
    valid: bool,
}

impl std::fmt::Debug for Router<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("destinations", &self.destinations.len())
            .field("by_kind", &self.by_kind)
            .field("registry", &self.registry)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Default for Router<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// Most target windows remembered on the stack while reading an update's targets; further ones are looked up
/// again when delivered.
const STACK_TARGETS: usize = 16;

impl<'d> Router<'d> {
    /// The most destinations a router takes.
    pub const MAX_DESTINATIONS: usize = 64;

    /// A router with no destination and no window.
    pub fn new() -> Self {
        Self {
            destinations: Vec::new(),
            by_kind: [0; MessageKind::COUNT],
            window_updates: 0,
            events: 0,
            registry: WindowRegistry::new(),
            targets: TargetCache::default(),
            counters: RoutingCounters::default(),
        }
    }

    /// Registers a destination for what `subscription` names.
    ///
    /// # Errors
    /// [`RouterError::TooManyDestinations`] past [`MAX_DESTINATIONS`](Self::MAX_DESTINATIONS).
    pub fn add_destination(
        &mut self,
        destination: impl Destination + Send + 'd,
        subscription: Subscription,
    ) -> Result<DestinationId, RouterError> {
        let index = self.destinations.len();
        if index >= Self::MAX_DESTINATIONS {
            return Err(RouterError::TooManyDestinations);
        }
        let bit = 1u64 << index;
        for kind in MessageKind::all().filter(|&kind| subscription.kinds.contains(kind)) {
            self.by_kind[kind.code() as usize] |= bit;
        }
        if subscription.window_updates {
            self.window_updates |= bit;
        }
        if subscription.events {
            self.events |= bit;
        }
        self.destinations.push(Box::new(destination));
        Ok(DestinationId(index as u8))
    }

    /// The windows declared since the last reboot.
    pub fn registry(&self) -> &WindowRegistry {
        &self.registry
    }

    /// The counters so far.
    pub fn counters(&self) -> &RoutingCounters {
        &self.counters
    }

    /// Tells every destination to write out what it buffers: call when nothing more is queued.
    pub fn flush(&mut self) {
        for destination in &mut self.destinations {
            destination.flush();
        }
    }

    /// Routes one deframer output: a message to its kind's destinations (and window updates, events), a discard
    /// as an event.
    pub fn route(&mut self, output: &Output) {
        self.route_ref(&output.into());
    }

    /// Routes one borrowed output, as [`Deframer::poll_ref`](crate::Deframer::poll_ref) yields it.
    #[inline]
    pub fn route_ref(&mut self, output: &OutputRef<'_>) {
        match output {
            OutputRef::Message(message) => self.route_message(message),
            OutputRef::Discard(discard) => {
                let events = self.events;
                self.deliver(events, &Routed::Event(Event::Discard(discard)));
            }
        }
    }

    /// Routes one message.
    ///
    /// Kept out of the caller's polling loop: inlined there with the whole deframer, HSV16 deframe + route ran at
    /// 49.6 M messages/s, called, 50.8 M (criterion); inlining `window_command` too made it 46.6 M.
    #[inline(never)]
    pub fn route_message(&mut self, message: &MessageRef<'_>) {
        self.counters.messages_routed += 1;
        let cog0 = matches!(message.kind, MessageKind::Cog(cog) if cog.get() == 0);
        if cog0 && message.flags.contains(Flags::GOLDEN_SYNC) {
            // A.4: reboot, registry cleared, before the line so that a log's new file starts with it.
            self.registry.clear();
            self.targets.valid = false;
            self.counters.reboots += 1;
            let events = self.events;
            self.deliver(events, &Routed::Event(Event::Reboot { message }));
        }
        let mask = self.by_kind[message.kind.code() as usize];
        self.deliver(mask, &Routed::Message(message));
        if message.kind == MessageKind::BacktickWindow {
            self.window_command(message);
        }
    }

    fn deliver(&mut self, mask: u64, routed: &Routed<'_>) {
        deliver(&mut self.destinations, &mut self.counters, mask, routed);
    }

    /// A.3/A.4: a declaration opens a window; an update goes to each leading token that names a window.
    fn window_command(&mut self, message: &MessageRef<'_>) {
        let line = without_line_end(message.bytes());
        // The cached prefix comes from an update, so its first token is no window type: this is an update too.
        if let Some(data_start) = self.cached_targets(line) {
            return self.cached_update(message, data_start, line.len());
        }
        let events = self.events;
        match Backtick::parse(message.bytes()) {
            Some(Backtick::Create(declaration)) => {
                let Some(name) = declaration.name else {
                    return self.window_error(WindowError::MissingName, b"", message);
                };
                self.counters.windows_created += 1;
                self.targets.valid = false;
                let window = self.registry.create(declaration.window_type, name);
                let routed = Routed::Event(Event::WindowCreated { window, message });
                deliver(&mut self.destinations, &mut self.counters, events, &routed);
            }
            Some(Backtick::Update(tokens)) => self.window_update(tokens, message),
            None => {}
        }
    }

    fn cached_update(&mut self, message: &MessageRef<'_>, data_start: usize, data_end: usize) {
        self.counters.window_updates += self.targets.windows.len() as u64;
        let updates = WindowUpdates {
            message,
            registry: &self.registry,
            targets: &self.targets.windows,
            data_start,
            data_end,
        };
        deliver_updates(
            &mut self.destinations,
            &mut self.counters,
            self.window_updates,
            &updates,
        );
    }

    fn window_update(&mut self, mut tokens: Tokens<'_>, message: &MessageRef<'_>) {
        let line = without_line_end(message.bytes());
        let mut found = [0usize; STACK_TARGETS];
        let mut targets = 0;
        let mut first = None;
        let mut data = tokens.remainder();
        while let Some(token) = tokens.next() {
            first.get_or_insert(token);
            let Some(index) = self.registry.position(token) else {
                break;
            };
            if let Some(slot) = found.get_mut(targets) {
                *slot = index;
            }
            targets += 1;
            data = tokens.remainder();
        }
        if targets == 0 {
            return self.window_error(WindowError::UnknownWindow, first.unwrap_or_default(), message);
        }
        let data_start = data.as_ptr().addr().saturating_sub(message.bytes().as_ptr().addr());
        let data_end = line.len().max(data_start);
        if targets <= STACK_TARGETS && data_start < data_end {
            let cache = &mut self.targets;
            cache.prefix.clear();
            cache.prefix.extend_from_slice(&line[..data_start]);
            cache.windows.clear();
            cache.windows.extend_from_slice(&found[..targets]);
            cache.valid = true;
        }
        let mask = self.window_updates;
        self.counters.window_updates += targets as u64;
        if targets <= STACK_TARGETS {
            let updates = WindowUpdates {
                message,
                registry: &self.registry,
                targets: &found[..targets],
                data_start,
                data_end,
            };
            return deliver_updates(&mut self.destinations, &mut self.counters, mask, &updates);
        }
        let mut extra = Tokens::new(line.get(1..).unwrap_or_default()).skip(STACK_TARGETS);
        for target in 0..targets {
            let index = match found.get(target) {
                Some(&index) => Some(index),
                None => extra.next().and_then(|token| self.registry.position(token)),
            };
            let Some(window) = index.and_then(|index| self.registry.get(index)) else {
                continue;
            };
            let routed = Routed::WindowUpdate(WindowUpdate {
                message,
                window,
                data_start,
                data_end,
            });
            deliver(&mut self.destinations, &mut self.counters, mask, &routed);
        }
    }

    /// Where the data starts in `line` if the cached targets apply to it.
    fn cached_targets(&self, line: &[u8]) -> Option<usize> {
        let cache = &self.targets;
        if !cache.valid || !starts_with(line, &cache.prefix) {
            return None;
        }
        let rest = &line[cache.prefix.len()..];
        let skip = rest.iter().position(|&b| !is_separator(b)).unwrap_or(rest.len());
        // Data rarely starts like a window name (`$FFFF` after `j k l`): then there is no token to read. Reading
        // it and comparing it with each name was 9 % of HSV16 deframe + route (`perf`).
        if let Some(&first) = rest.get(skip)
            && self.registry.may_start_a_name(first)
            && Tokens::new(&rest[skip..])
                .next()
                .is_some_and(|token| self.registry.position(token).is_some())
        {
            return None;
        }
        Some(cache.prefix.len() + skip)
    }

    fn window_error(&mut self, error: WindowError, name: &[u8], message: &MessageRef<'_>) {
        self.counters.window_errors += 1;
        let events = self.events;
        self.deliver(events, &Routed::Event(Event::WindowError { error, name, message }));
    }
}

/// `line.starts_with(prefix)`, with two overlapping word compares for prefixes of 4 to 16 bytes (update target
/// prefixes such as `` `j k l ``) rather than a call to `memcmp` (4 % of HSV16 deframe + route in `perf`).
fn starts_with(line: &[u8], prefix: &[u8]) -> bool {
    fn word<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
        bytes.get(at..)?.first_chunk::<N>().copied()
    }
    let Some(head) = line.get(..prefix.len()) else {
        return false;
    };
    match prefix.len() {
        n @ 8..=16 => word::<8>(head, 0) == word(prefix, 0) && word::<8>(head, n - 8) == word(prefix, n - 8),
        n @ 4..8 => word::<4>(head, 0) == word(prefix, 0) && word::<4>(head, n - 4) == word(prefix, n - 4),
        _ => head == prefix,
    }
}

fn deliver_updates(
    destinations: &mut [Box<dyn Destination + Send + '_>],
    counters: &mut RoutingCounters,
    mask: u64,
    updates: &WindowUpdates<'_>,
) {
    for_each_destination(destinations, mask, |destination| {
        counters.deliveries += updates.targets.len() as u64;
        destination.deliver_updates(updates);
    });
}

fn deliver(
    destinations: &mut [Box<dyn Destination + Send + '_>],
    counters: &mut RoutingCounters,
    mask: u64,
    routed: &Routed<'_>,
) {
    for_each_destination(destinations, mask, |destination| {
        counters.deliveries += 1;
        destination.deliver(routed);
    });
}

/// Calls `each` with every destination whose bit is set in `mask`, in registration order.
#[inline(always)]
fn for_each_destination<'d>(
    destinations: &mut [Box<dyn Destination + Send + 'd>],
    mut mask: u64,
    mut each: impl FnMut(&mut (dyn Destination + Send + 'd)),
) {
    while mask != 0 {
        let index = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        if let Some(destination) = destinations.get_mut(index) {
            each(destination.as_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::{CogId, Config, Deframer};

    /// Writes each delivery down as a line of text.
    #[derive(Default)]
    struct Recorder(Vec<String>);

    impl Destination for Recorder {
        fn deliver(&mut self, routed: &Routed<'_>) {
            let text = |bytes: &[u8]| String::from_utf8_lossy(without_line_end(bytes)).into_owned();
            self.0.push(match routed {
                Routed::Message(message) => format!("{} {}", message.kind.name(), text(message.bytes())),
                Routed::WindowUpdate(update) => {
                    format!("{} <- {}", text(update.window.name()), text(update.data()))
                }
                Routed::Event(Event::Reboot { .. }) => "reboot".into(),
                Routed::Event(Event::WindowCreated { window, .. }) => {
                    format!("created {:?} {}", window.window_type(), text(window.name()))
                }
                Routed::Event(Event::WindowError { error, name, .. }) => format!("error {error:?} {}", text(name)),
                Routed::Event(Event::Discard(discard)) => {
                    format!("discard {:?} {}", discard.reason, discard.bytes().len())
                }
            });
        }

        fn flush(&mut self) {
            self.0.push("flush".into());
        }
    }

    #[test]
    fn a_flush_reaches_every_destination_whatever_it_subscribed_to() {
        let (mut texts, mut nothing) = (Recorder::default(), Recorder::default());
        let mut router = Router::new();
        router
            .add_destination(&mut texts, Subscription::new(KindSet::TERMINAL))
            .unwrap();
        router
            .add_destination(Box::new(&mut nothing), Subscription::new(KindSet::EMPTY))
            .unwrap();
        let mut deframer = Deframer::new(Config::default()).unwrap();
        deframer.handle_bytes(b"Cog0  hi\r\n", Instant::now());
        while let Some(output) = deframer.poll_ref() {
            router.route_ref(&output);
        }
        router.flush();
        drop(router);
        assert_eq!(texts.0, ["cog0 Cog0  hi", "flush"]);
        assert_eq!(nothing.0, ["flush"], "through a Box and a &mut");
    }

    fn route(bytes: &[u8], subscriptions: &[Subscription]) -> (Vec<Vec<String>>, RoutingCounters, usize) {
        let mut recorders: Vec<Recorder> = subscriptions.iter().map(|_| Recorder::default()).collect();
        let mut router = Router::new();
        for (recorder, &subscription) in recorders.iter_mut().zip(subscriptions) {
            router.add_destination(recorder, subscription).unwrap();
        }
        let mut deframer = Deframer::new(Config::default()).unwrap();
        deframer.handle_bytes(bytes, Instant::now());
        deframer.handle_end();
        while let Some(output) = deframer.poll_ref() {
            router.route_ref(&output);
        }
        let (counters, windows) = (*router.counters(), router.registry().len());
        drop(router);
        (recorders.into_iter().map(|r| r.0).collect(), counters, windows)
    }

    #[test]
    fn each_kind_goes_to_the_destinations_registered_for_it() {
        let bytes = b"Cog0  hi\r\nplain\r\nCog9  bad\r\n\xDB\x02\x00\r\n\x03\x00\x00\x00";
        let mut packet = bytes.to_vec();
        packet.resize(bytes.len() - 4 + 416, 0x11);
        let subscriptions = [
            Subscription::new(KindSet::TERMINAL),
            Subscription::new(KindSet::DEBUGGER),
            Subscription::new(KindSet::only(MessageKind::Cog(CogId::new(0).unwrap()))),
            Subscription::new(KindSet::ALL),
        ];
        let (seen, counters, _) = route(&packet, &subscriptions);
        assert_eq!(
            seen[0],
            ["cog0 Cog0  hi", "terminal_output plain", "invalid_cog Cog9  bad"]
        );
        assert_eq!(seen[1].len(), 2);
        assert!(seen[1][0].starts_with("db_packet") && seen[1][1].starts_with("debugger3"));
        assert_eq!(seen[2], ["cog0 Cog0  hi"]);
        assert_eq!(seen[3].len(), 5);
        assert_eq!((counters.messages_routed, counters.deliveries), (5, 3 + 2 + 1 + 5));
    }

    #[test]
    fn every_destination_gets_the_same_buffer() {
        struct Keep(Vec<sluicegate_core::PoolBytes>);
        impl Destination for Keep {
            fn deliver(&mut self, routed: &Routed<'_>) {
                if let Routed::Message(message) = routed {
                    self.0.push(message.to_pool_bytes());
                }
            }
        }
        let (mut a, mut b, mut c) = (Keep(Vec::new()), Keep(Vec::new()), Keep(Vec::new()));
        let mut router = Router::new();
        for keep in [&mut a, &mut b, &mut c] {
            router.add_destination(keep, Subscription::new(KindSet::ALL)).unwrap();
        }
        let mut deframer = Deframer::new(Config::default()).unwrap();
        deframer.handle_bytes(b"Cog0  one\r\nCog0  two\r\n", Instant::now());
        while let Some(output) = deframer.poll_output() {
            router.route(&output);
        }
        drop(router);
        for i in 0..2 {
            assert_eq!(a.0[i].as_ptr(), b.0[i].as_ptr(), "no copy per destination");
            assert_eq!(a.0[i].as_ptr(), c.0[i].as_ptr());
        }
        assert_eq!(
            deframer.pool().stats().in_use,
            1,
            "both messages share the one chunk buffer"
        );
    }

    #[test]
    fn updates_reach_every_leading_target_named_in_any_case() {
        let bytes =
            b"`TERM MyTerm SIZE 40 20\r\n`scope S1\r\n`myterm s1 'hi there' 13\r\n`s1 MYTERM\r\n`S1 junk MyTerm 5\r\n";
        let all = Subscription::new(KindSet::EMPTY).with_window_updates().with_events();
        let (seen, counters, windows) = route(bytes, &[all]);
        assert_eq!(
            seen[0],
            [
                "created Term MyTerm",
                "created Scope S1",
                "MyTerm <- 'hi there' 13",
                "S1 <- 'hi there' 13",
                "S1 <- ",
                "MyTerm <- ",
                "S1 <- junk MyTerm 5",
            ]
        );
        assert_eq!((counters.windows_created, counters.window_updates, windows), (2, 5, 2));
    }

    #[test]
    fn repeated_updates_find_the_same_targets_as_the_first() {
        let bytes = b"`TERM a\r\n`TERM b\r\n`TERM c\r\n`a b 1\r\n`a b c 2\r\n`a b c 3\r\n`a b 4\r\n`a b  5\r\n`a b\r\n\
            `a bc 6\r\n`TERM d\r\n`a b d 7\r\nCog0  INIT $0000_0000 $0000_0000 load\r\n`a b 8\r\n";
        let windows = Subscription::new(KindSet::EMPTY).with_window_updates();
        let (seen, counters, _) = route(bytes, &[windows]);
        let expected = [
            "a <- 1",
            "b <- 1",
            "a <- 2",
            "b <- 2",
            "c <- 2",
            "a <- 3",
            "b <- 3",
            "c <- 3",
            "a <- 4",
            "b <- 4",
            "a <- 5",
            "b <- 5",
            "a <- ",
            "b <- ",
            "a <- bc 6",
            "a <- 7",
            "b <- 7",
            "d <- 7",
        ];
        assert_eq!(seen[0], expected);
        assert_eq!(counters.window_errors, 1, "after the reboot, `a` is unknown");
    }

    #[test]
    fn an_update_to_an_unknown_window_is_an_error_event_and_is_still_logged() {
        let log = Subscription::new(KindSet::ALL);
        let terminal = Subscription::new(KindSet::TERMINAL).with_events();
        let (seen, counters, _) = route(b"`nowhere 1 2\r\n`TERM\r\n`\r\n", &[log, terminal]);
        assert_eq!(
            seen[0],
            [
                "backtick_window `nowhere 1 2",
                "backtick_window `TERM",
                "backtick_window `"
            ]
        );
        assert_eq!(
            seen[1],
            [
                "error UnknownWindow nowhere",
                "error MissingName ",
                "error UnknownWindow "
            ]
        );
        assert_eq!(counters.window_errors, 3);
    }

    #[test]
    fn golden_sync_on_cog0_reboots_and_clears_the_windows() {
        let bytes = b"`TERM t\r\nCog1  INIT $0000_0000 $0000_0000 load\r\n`t 1\r\n.Cog0 INIT $0000_0000 $0000_0000 load\r\n`t 2\r\n";
        let log = Subscription::new(KindSet::ALL).with_events();
        let (seen, counters, windows) = route(bytes, &[log]);
        assert_eq!(
            seen[0],
            [
                "backtick_window `TERM t",
                "created Term t",
                "cog1 Cog1  INIT $0000_0000 $0000_0000 load",
                "backtick_window `t 1",
                "reboot",
                "cog0 .Cog0 INIT $0000_0000 $0000_0000 load",
                "backtick_window `t 2",
                "error UnknownWindow t",
            ]
        );
        assert_eq!(
            (counters.reboots, counters.messages_routed, windows),
            (1, 5, 0),
            "counters are kept"
        );
    }

    #[test]
    fn discards_are_events() {
        let mut bytes = vec![1, 0, 0, 0];
        bytes.resize(416 + 3, 0);
        let (seen, ..) = route(&bytes, &[Subscription::new(KindSet::EMPTY).with_events()]);
        assert_eq!(seen[0], ["discard Padding 3"]);
    }

    proptest::proptest! {
        #[test]
        fn short_prefix_compare_agrees_with_starts_with(
            line in proptest::collection::vec(proptest::prop_oneof![proptest::strategy::Just(b'a'), proptest::prelude::any::<u8>()], 0..24),
            prefix in proptest::collection::vec(proptest::prop_oneof![proptest::strategy::Just(b'a'), proptest::prelude::any::<u8>()], 0..20),
            copy in proptest::prelude::any::<bool>(),
        ) {
            let prefix = if copy { line[..prefix.len().min(line.len())].to_vec() } else { prefix };
            proptest::prop_assert_eq!(starts_with(&line, &prefix), line.starts_with(&prefix));
        }
    }

    #[test]
    fn a_router_takes_at_most_64_destinations() {
        let mut router = Router::new();
        for i in 0..Router::MAX_DESTINATIONS {
            let id = router
                .add_destination(Recorder::default(), Subscription::new(KindSet::ALL))
                .unwrap();
            assert_eq!(id.get(), i);
        }
        let refused = router.add_destination(Recorder::default(), Subscription::new(KindSet::ALL));
        assert_eq!(refused, Err(RouterError::TooManyDestinations));
    }
}
