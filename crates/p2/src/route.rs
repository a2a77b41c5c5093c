//! The router (p2-protocol A.4): each message, as the same reference-counted buffer, to every destination
//! registered for its kind; backtick updates to each target window; reboot and window events.

use sluicegate_core::PoolBytes;

use crate::classify::{Backtick, Tokens, without_line_end};
use crate::deframe::FramingCounters;
use crate::message::{Discard, Flags, KindSet, Message, MessageKind, Output};
use crate::window::{Window, WindowError, WindowRegistry};

/// Where routed messages and events go: the CLI's terminal and log, tests, a UI, the Node binding.
///
/// `deliver` is called on the routing thread for every delivery; a destination that keeps a message clones
/// its [`PoolBytes`] (a reference count, no copy). Keeping many messages for long keeps their chunk buffers
/// out of the pool; copy them out ([`PoolBytes::into_bytes`] or `to_vec`) for long-lived storage.
pub trait Destination {
    /// One delivery.
    fn deliver(&mut self, routed: &Routed<'_>);
}

impl<D: Destination + ?Sized> Destination for &mut D {
    fn deliver(&mut self, routed: &Routed<'_>) {
        (**self).deliver(routed);
    }
}

impl<D: Destination + ?Sized> Destination for Box<D> {
    fn deliver(&mut self, routed: &Routed<'_>) {
        (**self).deliver(routed);
    }
}

/// One delivery to a [`Destination`].
#[derive(Clone, Copy, Debug)]
pub enum Routed<'a> {
    /// A message of a kind the destination subscribed to.
    Message(&'a Message),
    /// A backtick update for one of its target windows (delivered once per target).
    WindowUpdate(WindowUpdate<'a>),
    /// Something happened (to destinations subscribed to events).
    Event(Event<'a>),
}

/// A backtick update addressed to one window: `` `j k l $FFB7 `` gives three, with data `$FFB7`.
#[derive(Clone, Copy, Debug)]
pub struct WindowUpdate<'a> {
    /// The whole update line.
    pub message: &'a Message,
    /// The target window.
    pub window: &'a Window,
    data_start: usize,
    data_end: usize,
}

impl<'a> WindowUpdate<'a> {
    /// The data after the target names, without the end of line; split it with [`Tokens`].
    pub fn data(&self) -> &'a [u8] {
        &self.message.bytes[self.data_start..self.data_end]
    }

    /// The same data as a shared handle on the message's buffer (no copy).
    pub fn data_bytes(&self) -> PoolBytes {
        self.message.bytes.slice(self.data_start..self.data_end)
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
        message: &'a Message,
    },
    /// A backtick declaration opened a window (replacing any of the same name).
    WindowCreated {
        /// The new window.
        window: &'a Window,
        /// The declaration line.
        message: &'a Message,
    },
    /// A backtick command that could not be applied: show it on the terminal (A.4). The message is still
    /// delivered to the destinations of its kind (the log).
    WindowError {
        /// What went wrong.
        error: WindowError,
        /// The window name the command used (empty if none).
        name: &'a [u8],
        /// The command line.
        message: &'a Message,
    },
    /// Bytes the deframer discarded (padding, resynchronisation, truncated packet).
    Discard(&'a Discard),
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

/// Framing and routing counters together, as the CLI prints them (one flat JSON object).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// The deframer's counters.
    #[serde(flatten)]
    pub framing: FramingCounters,
    /// The router's counters.
    #[serde(flatten)]
    pub routing: RoutingCounters,
}

/// Routes deframer [`Output`]s to [`Destination`]s by kind (A.4), keeping the [`WindowRegistry`].
///
/// The routing table is one bit mask of destinations per kind, so a message costs one dynamic call per
/// receiving destination, with the same `&Message` (and so the same buffer) for all of them.
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
///             Routed::Message(message) => self.0.push(String::from_utf8_lossy(&message.bytes).into()),
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
/// while let Some(output) = deframer.poll_output() {
///     router.route(&output);
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
    counters: RoutingCounters,
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

    /// Routes one deframer output: a message to its kind's destinations (and window updates, events), a discard
    /// as an event.
    pub fn route(&mut self, output: &Output) {
        match output {
            Output::Message(message) => self.route_message(message),
            Output::Discard(discard) => {
                let events = self.events;
                self.deliver(events, &Routed::Event(Event::Discard(discard)));
            }
        }
    }

    /// Routes one message.
    pub fn route_message(&mut self, message: &Message) {
        self.counters.messages_routed += 1;
        let cog0 = matches!(message.kind, MessageKind::Cog(cog) if cog.get() == 0);
        if cog0 && message.flags.contains(Flags::GOLDEN_SYNC) {
            // A.4: reboot, registry cleared, before the line so that a log's new file starts with it.
            self.registry.clear();
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
    fn window_command(&mut self, message: &Message) {
        let events = self.events;
        match Backtick::parse(&message.bytes) {
            Some(Backtick::Create(declaration)) => {
                let Some(name) = declaration.name else {
                    return self.window_error(WindowError::MissingName, b"", message);
                };
                self.counters.windows_created += 1;
                let window = self.registry.create(declaration.window_type, name);
                let routed = Routed::Event(Event::WindowCreated { window, message });
                deliver(&mut self.destinations, &mut self.counters, events, &routed);
            }
            Some(Backtick::Update(tokens)) => self.window_update(tokens, message),
            None => {}
        }
    }

    fn window_update(&mut self, mut tokens: Tokens<'_>, message: &Message) {
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
        let line = without_line_end(&message.bytes);
        let data_start = data.as_ptr().addr().saturating_sub(message.bytes.as_ptr().addr());
        let data_end = line.len().max(data_start);
        let mask = self.window_updates;
        self.counters.window_updates += targets as u64;
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

    fn window_error(&mut self, error: WindowError, name: &[u8], message: &Message) {
        self.counters.window_errors += 1;
        let events = self.events;
        self.deliver(events, &Routed::Event(Event::WindowError { error, name, message }));
    }
}

fn deliver(
    destinations: &mut [Box<dyn Destination + Send + '_>],
    counters: &mut RoutingCounters,
    mut mask: u64,
    routed: &Routed<'_>,
) {
    while mask != 0 {
        let index = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        if let Some(destination) = destinations.get_mut(index) {
            counters.deliveries += 1;
            destination.deliver(routed);
        }
    }
}
