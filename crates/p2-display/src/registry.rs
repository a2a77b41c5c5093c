//! The open displays (docs/p2-displays.md B.1): each backtick line is scanned, checked against PNut's grammar
//! as a whole, and only then applied — a declaration opens a display, a feed runs on each target in turn, and
//! `CLOSE` closes the targets after the message. Whatever the caller must act on comes out as [`Event`]s.

use std::collections::VecDeque;
use std::time::Instant;

use sluicegate_p2::WindowType;

use crate::display::{Common, Context, Display, Model, Setup, window_image};
use crate::element::{Cursor, Element, Keyword, Reserved, Scanner, Symbol, Token, reserved};
use crate::frame::{Framebuffer, Rect};
use crate::input::{Buttons, Key, Reply};
use crate::text::Fonts;

/// PNut's limit on open displays.
pub const DISPLAYS_MAX: usize = 32;
/// PNut's limit on records per message: the type or target names, the elements, and an end record.
pub const RECORDS_MAX: usize = 1100;
/// PNut's buffer for a display string: the bytes between the backtick and the CR must be fewer (the buffer also
/// holds the terminating NUL); a longer line is discarded whole.
pub const LINE_MAX: usize = 32_768;

/// A display's identity: a new declaration of a name gets a new id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DisplayId(u32);

impl DisplayId {
    /// The number, unique within one [`Displays`] (until it wraps after 2³² declarations).
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Why a whole message was dropped (B.1): PNut drops it silently; we count and report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DropReason {
    /// The line holds no element.
    #[error("no element")]
    Empty,
    /// The first element is neither a display type nor an open display's name (a feed to a display that was never
    /// declared, or was closed).
    #[error("first word is neither a display type nor an open display")]
    UnknownFirstWord,
    /// A declaration's name is missing, reserved, or already an open display.
    #[error("declaration name missing, reserved or already open")]
    NameNotFree,
    /// A symbol that is neither reserved nor an open display.
    #[error("unknown word")]
    UnknownWord,
    /// A display type or display name after the first data element.
    #[error("display type or name among the data")]
    MisplacedName,
    /// More than 1100 records.
    #[error("more than 1100 elements")]
    TooManyElements,
    /// A 33rd display.
    #[error("already 32 displays open")]
    TooManyDisplays,
    /// More than 32 targets.
    #[error("more than 32 targets")]
    TooManyTargets,
    /// 32,768 bytes or more between the backtick and the line end.
    #[error("line of 32768 bytes or more")]
    LineTooLong,
    /// A declaration whose picture would exceed 16 Mi pixels (PNut's limits allow a few such sizes, e.g. LOGIC
    /// at 2047 samples of 32 px, MIDI at SIZE 50 over all 128 notes, or a TERM of 256×256 cells at TEXTSIZE 15).
    #[error("display too large")]
    TooLarge,
}

impl DropReason {
    /// How many reasons there are.
    pub const COUNT: usize = 10;

    /// Every reason, in a fixed order (the index of [`DropCounts`]).
    pub const ALL: [DropReason; Self::COUNT] = [
        DropReason::Empty,
        DropReason::UnknownFirstWord,
        DropReason::NameNotFree,
        DropReason::UnknownWord,
        DropReason::MisplacedName,
        DropReason::TooManyElements,
        DropReason::TooManyDisplays,
        DropReason::TooManyTargets,
        DropReason::LineTooLong,
        DropReason::TooLarge,
    ];

    /// A snake_case name for counters and logs.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Empty => "empty",
            DropReason::UnknownFirstWord => "unknown_first_word",
            DropReason::NameNotFree => "name_not_free",
            DropReason::UnknownWord => "unknown_word",
            DropReason::MisplacedName => "misplaced_name",
            DropReason::TooManyElements => "too_many_elements",
            DropReason::TooManyDisplays => "too_many_displays",
            DropReason::TooManyTargets => "too_many_targets",
            DropReason::LineTooLong => "line_too_long",
            DropReason::TooLarge => "too_large",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|&r| r == self).unwrap_or(0)
    }
}

/// A dropped message: why, where in the line (byte offset, after the backtick), and which display type it was
/// for when that is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("display message dropped at byte {offset}: {reason}")]
pub struct Dropped {
    /// Why.
    pub reason: DropReason,
    /// Where the offending element starts.
    pub offset: usize,
    /// The declared type, or the first target's type.
    pub kind: Option<WindowType>,
}

/// What an applied message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// A display was opened.
    Declared(DisplayId),
    /// A feed ran on this many targets (closing them afterwards when `closed`).
    Fed {
        /// Targets updated (a name given twice counts twice, as in PNut).
        targets: usize,
        /// Whether `CLOSE` closed them.
        closed: bool,
    },
}

/// Which reply a [`Event::Reply`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Request {
    /// `PC_KEY`: one long.
    Key,
    /// `PC_MOUSE`: two longs.
    Mouse,
}

/// Why a `SAVE` was not turned into a file request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SaveRefused {
    /// The name holds `/`, `\`, `..`, `:`, a NUL or a drive letter, is empty, or is not UTF-8.
    #[error("file name would leave the save directory (or is empty or not UTF-8)")]
    BadName,
    /// `SAVE left top width height 'f'` captures a desktop region; there is no desktop here.
    #[error("desktop-region capture is not available")]
    DesktopRegion,
    /// `SAVE WINDOW 'f'` of a window over 16 Mi pixels (a 2048×2048 BITMAP at DOTSIZE 256 is 524,288 pixels a
    /// side): that image is never built. `SAVE 'f'` of the same display writes its logical size.
    #[error("window too large to save")]
    TooLarge,
}

/// Something the caller must act on, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A display was declared.
    Opened {
        /// Which.
        display: DisplayId,
        /// Its type.
        kind: WindowType,
    },
    /// A display was closed (`CLOSE`, or [`Displays::close_all`]).
    Closed {
        /// Which.
        display: DisplayId,
        /// Its name, now free again.
        name: Box<str>,
    },
    /// Send these bytes to the P2 now: it is blocked until they arrive, and expects exactly one reply per request.
    Reply {
        /// The display asked.
        display: DisplayId,
        /// PC_KEY or PC_MOUSE.
        request: Request,
        /// Little-endian longs.
        reply: Reply,
    },
    /// `SAVE 'file'`: write `image` as `file.bmp` (or `.png`) inside the save directory, if there is one. The name
    /// is checked (no path); the image is the front buffer when the SAVE ran.
    Save {
        /// The display.
        display: DisplayId,
        /// File name without extension.
        file: String,
        /// What to write.
        image: Framebuffer,
    },
    /// A `SAVE` that cannot be honoured.
    SaveRefused {
        /// The display.
        display: DisplayId,
        /// Why.
        reason: SaveRefused,
    },
    /// A PLOT `LAYER` whose file the [`LayerSource`] did not supply (or whose name was refused); PNut skips the
    /// rest of that message, and so do we.
    LayerRefused {
        /// The display.
        display: DisplayId,
        /// Layer 1–8.
        layer: u8,
        /// The name as given.
        file: String,
    },
}

/// Supplies PLOT `LAYER` pictures: PNut reads `file.bmp` from disk; the caller decides where (a save directory,
/// the working directory) or refuses. Names are already checked to hold no path and to end in `.bmp`.
pub trait LayerSource {
    /// The picture called `file`, or `None` to refuse.
    fn load(&mut self, file: &str) -> Option<Framebuffer>;
}

/// Refuses every layer (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoLayers;

impl LayerSource for NoLayers {
    fn load(&mut self, _file: &str) -> Option<Framebuffer> {
        None
    }
}

impl<F: FnMut(&str) -> Option<Framebuffer>> LayerSource for F {
    fn load(&mut self, file: &str) -> Option<Framebuffer> {
        self(file)
    }
}

/// Dropped messages by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounts([u64; DropReason::COUNT]);

impl DropCounts {
    /// Messages dropped for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason.index()]
    }

    /// All dropped messages.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `(reason, count)` for every reason.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|&r| (r, self.get(r)))
    }

    fn add(&mut self, reason: DropReason) {
        self.0[reason.index()] += 1;
    }
}

/// Counters for one display type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypeStats {
    /// Displays opened.
    pub declared: u64,
    /// Feed messages applied, per target.
    pub applied: u64,
    /// Messages dropped, by reason (declarations of this type, feeds whose first target is of this type).
    pub dropped: DropCounts,
    /// Refreshes shown (front-buffer updates).
    pub frames: u64,
    /// PC_KEY and PC_MOUSE replies produced.
    pub replies: u64,
    /// SAVE requests produced.
    pub saves: u64,
    /// SAVE requests refused.
    pub saves_refused: u64,
    /// PLOT layers refused.
    pub layers_refused: u64,
}

/// Counters for every display type, and drops that name no type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    per_type: [TypeStats; 9],
    /// Dropped messages whose type is unknown (a feed to a name never declared, an empty line…).
    pub unattributed: DropCounts,
}

const TYPES: [WindowType; 9] = [
    WindowType::Logic,
    WindowType::Scope,
    WindowType::ScopeXy,
    WindowType::Fft,
    WindowType::Spectro,
    WindowType::Plot,
    WindowType::Term,
    WindowType::Bitmap,
    WindowType::Midi,
];

fn type_index(kind: WindowType) -> usize {
    TYPES.iter().position(|&t| t == kind).unwrap_or(0)
}

impl Stats {
    /// The counters of one type.
    pub fn of(&self, kind: WindowType) -> &TypeStats {
        &self.per_type[type_index(kind)]
    }

    /// `(type, counters)` for the nine types.
    pub fn iter(&self) -> impl Iterator<Item = (WindowType, &TypeStats)> {
        TYPES.iter().copied().zip(self.per_type.iter())
    }

    /// All dropped messages.
    pub fn dropped(&self) -> u64 {
        self.unattributed.total() + self.per_type.iter().map(|t| t.dropped.total()).sum::<u64>()
    }

    fn of_mut(&mut self, kind: WindowType) -> &mut TypeStats {
        &mut self.per_type[type_index(kind)]
    }
}

/// The visible image of a display with what changed in it since the last look.
#[derive(Debug)]
pub struct Frame<'a> {
    /// The front buffer: BITMAP, PLOT and SPECTRO at logical size (one pixel per logical pixel; show it
    /// `scale` times larger), the others as drawn.
    pub image: &'a Framebuffer,
    /// The region changed since the last [`Displays::frame`] for this display (`None`: nothing).
    pub damage: Option<Rect>,
    /// Refreshes so far (PNut's screen updates).
    pub frames: u64,
    /// DOTSIZE: how many screen pixels one image pixel covers, horizontally and vertically.
    pub scale: (u32, u32),
}

/// The open displays of one P2 session: feed it every backtick line, poll its events, ask it for frames.
pub struct Displays {
    slots: Vec<Option<Display>>,
    /// Open slots in declaration order.
    order: Vec<u8>,
    elements: Vec<Element>,
    targets: Vec<u8>,
    events: VecDeque<Event>,
    fonts: Fonts,
    stats: Stats,
    next_id: u32,
    layers: Box<dyn LayerSource + Send>,
}

impl std::fmt::Debug for Displays {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Displays")
            .field("open", &self.order.len())
            .field("events", &self.events.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Default for Displays {
    fn default() -> Self {
        Self::new()
    }
}

/// What PNut stores of a line: every byte after a leading backtick, before the line end (a NUL included).
fn stored_text(line: &[u8]) -> &[u8] {
    let line = line.strip_prefix(b"`").unwrap_or(line);
    let end = line
        .iter()
        .rposition(|&b| b != b'\r' && b != b'\n')
        .map_or(0, |i| i + 1);
    &line[..end]
}

/// The display text PNut parses: the stored bytes up to a NUL (its string is NUL-terminated).
fn display_text(stored: &[u8]) -> &[u8] {
    let end = stored.iter().position(|&b| b == 0).unwrap_or(stored.len());
    &stored[..end]
}

impl Displays {
    /// No display open.
    pub fn new() -> Self {
        Self {
            slots: (0..DISPLAYS_MAX).map(|_| None).collect(),
            order: Vec::with_capacity(DISPLAYS_MAX),
            elements: Vec::with_capacity(RECORDS_MAX),
            targets: Vec::with_capacity(DISPLAYS_MAX),
            events: VecDeque::with_capacity(64),
            fonts: Fonts::new(),
            stats: Stats::default(),
            next_id: 0,
            layers: Box::new(NoLayers),
        }
    }

    /// Where PLOT `LAYER` pictures come from (by default none: every LAYER is refused).
    pub fn set_layer_source(&mut self, source: Box<dyn LayerSource + Send>) {
        self.layers = source;
    }

    fn slot_of(&self, symbol: &[u8]) -> Option<usize> {
        self.order
            .iter()
            .map(|&s| usize::from(s))
            .find(|&s| self.slots[s].as_ref().is_some_and(|d| d.symbol.as_bytes() == symbol))
    }

    /// Applies one backtick line (`` `…`` with or without its line end) that arrived at `now`.
    ///
    /// # Errors
    /// [`Dropped`] when PNut would drop the whole message (B.1); nothing was changed then.
    pub fn handle_line(&mut self, line: &[u8], now: Instant) -> Result<Applied, Dropped> {
        let stored = stored_text(line);
        let result = if stored.len() >= LINE_MAX {
            // PNut counts every byte up to the CR, a NUL too, before it parses anything.
            Err(Dropped {
                reason: DropReason::LineTooLong,
                offset: LINE_MAX - 1,
                kind: None,
            })
        } else {
            self.apply(display_text(stored), now)
        };
        if let Err(dropped) = result {
            match dropped.kind {
                Some(kind) => self.stats.of_mut(kind).dropped.add(dropped.reason),
                None => self.stats.unattributed.add(dropped.reason),
            }
        }
        result
    }

    fn apply(&mut self, text: &[u8], now: Instant) -> Result<Applied, Dropped> {
        let drop = |reason, offset, kind| Err(Dropped { reason, offset, kind });
        let mut scanner = Scanner::new(text);
        self.elements.clear();
        self.targets.clear();
        let start = scanner.position();
        let declaration = match scanner.next() {
            None => return drop(DropReason::Empty, 0, None),
            Some(Token::Symbol { upper, .. }) => match reserved(upper.as_bytes()) {
                Some(Reserved::Display(kind)) => {
                    let offset = scanner.position();
                    match scanner.next() {
                        Some(Token::Symbol { upper, start, end })
                            if reserved(upper.as_bytes()).is_none() && self.slot_of(upper.as_bytes()).is_none() =>
                        {
                            Some((kind, upper, start..end))
                        }
                        _ => return drop(DropReason::NameNotFree, offset, Some(kind)),
                    }
                }
                Some(Reserved::Key(_)) => return drop(DropReason::UnknownFirstWord, start, None),
                None => match self.slot_of(upper.as_bytes()) {
                    Some(slot) => {
                        self.targets.push(slot as u8);
                        None
                    }
                    None => return drop(DropReason::UnknownFirstWord, start, None),
                },
            },
            Some(_) => return drop(DropReason::UnknownFirstWord, start, None),
        };
        let kind_of = |this: &Self| match &declaration {
            Some((kind, ..)) => Some(*kind),
            None => this
                .targets
                .first()
                .and_then(|&s| this.slots[usize::from(s)].as_ref())
                .map(|d| d.kind),
        };
        // Leading names of open displays are targets; everything after them is data.
        let mut close = false;
        let mut in_targets = declaration.is_none();
        loop {
            let offset = scanner.position();
            let Some(token) = scanner.next() else { break };
            let element = match token {
                Token::Number(n) => Element::Num(n),
                Token::Str { start, end } => Element::Str {
                    start: start as u32,
                    end: end as u32,
                },
                Token::Symbol { upper, .. } => match reserved(upper.as_bytes()) {
                    Some(Reserved::Key(key)) => {
                        close |= key == Keyword::Close && declaration.is_none();
                        Element::Key(key)
                    }
                    Some(Reserved::Display(_)) => return drop(DropReason::MisplacedName, offset, kind_of(self)),
                    None => match self.slot_of(upper.as_bytes()) {
                        Some(slot) if in_targets => {
                            if self.targets.len() == DISPLAYS_MAX {
                                return drop(DropReason::TooManyTargets, offset, kind_of(self));
                            }
                            self.targets.push(slot as u8);
                            continue;
                        }
                        Some(_) => return drop(DropReason::MisplacedName, offset, kind_of(self)),
                        None => return drop(DropReason::UnknownWord, offset, kind_of(self)),
                    },
                },
            };
            in_targets = false;
            let header = if declaration.is_some() { 2 } else { self.targets.len() };
            if header + self.elements.len() + 1 >= RECORDS_MAX {
                return drop(DropReason::TooManyElements, offset, kind_of(self));
            }
            self.elements.push(element);
        }
        match declaration {
            Some((kind, symbol, name)) => self.declare(kind, symbol, &text[name], text),
            None => Ok(self.feed(text, close, now)),
        }
    }

    fn declare(&mut self, kind: WindowType, symbol: Symbol, name: &[u8], text: &[u8]) -> Result<Applied, Dropped> {
        let Some(slot) = self.slots.iter().position(Option::is_none) else {
            return Err(Dropped {
                reason: DropReason::TooManyDisplays,
                offset: 0,
                kind: Some(kind),
            });
        };
        let name = String::from_utf8_lossy(name).into_owned();
        let mut common = Common {
            caption: format!("{name} - {}", kind.keyword()),
            position: None,
            hide_xy: false,
        };
        let mut cursor = Cursor::new(&self.elements, text);
        let mut setup = Setup {
            common: &mut common,
            fonts: &mut self.fonts,
            too_large: false,
        };
        let model = Model::configure(kind, &mut cursor, &mut setup);
        if setup.too_large {
            return Err(Dropped {
                reason: DropReason::TooLarge,
                offset: 0,
                kind: Some(kind),
            });
        }
        let id = DisplayId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        self.slots[slot] = Some(Display {
            id,
            kind,
            name: name.into_boxed_str(),
            symbol,
            common,
            input: Default::default(),
            model,
        });
        self.order.push(slot as u8);
        self.stats.of_mut(kind).declared += 1;
        self.events.push_back(Event::Opened { display: id, kind });
        Ok(Applied::Declared(id))
    }

    fn feed(&mut self, text: &[u8], close: bool, now: Instant) -> Applied {
        for i in 0..self.targets.len() {
            let slot = usize::from(self.targets[i]);
            let Some(display) = self.slots[slot].as_mut() else {
                continue;
            };
            let stats = &mut self.stats.per_type[type_index(display.kind)];
            let frames = display.model.frames();
            let mut cursor = Cursor::new(&self.elements, text);
            let mut ctx = Context {
                now,
                display: display.id,
                fonts: &mut self.fonts,
                input: &mut display.input,
                events: &mut self.events,
                layers: self.layers.as_mut(),
                stats,
            };
            display.model.update(&mut cursor, &mut ctx);
            stats.applied += 1;
            stats.frames += display.model.frames() - frames;
        }
        let targets = self.targets.len();
        if close {
            for i in 0..self.targets.len() {
                self.close_slot(usize::from(self.targets[i]));
            }
        }
        Applied::Fed { targets, closed: close }
    }

    fn close_slot(&mut self, slot: usize) {
        if let Some(display) = self.slots[slot].take() {
            self.order.retain(|&s| usize::from(s) != slot);
            self.events.push_back(Event::Closed {
                display: display.id,
                name: display.name,
            });
        }
    }

    /// Closes every display (the P2 rebooted: its program will declare them again).
    pub fn close_all(&mut self) {
        while let Some(&slot) = self.order.first() {
            self.close_slot(usize::from(slot));
        }
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The open displays, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = &Display> {
        self.order.iter().filter_map(|&s| self.slots[usize::from(s)].as_ref())
    }

    /// How many displays are open.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    fn slot_by_id(&self, id: DisplayId) -> Option<usize> {
        self.order
            .iter()
            .map(|&s| usize::from(s))
            .find(|&s| self.slots[s].as_ref().is_some_and(|d| d.id == id))
    }

    fn display_mut(&mut self, id: DisplayId) -> Option<&mut Display> {
        let slot = self.slot_by_id(id)?;
        self.slots[slot].as_mut()
    }

    /// An open display.
    pub fn get(&self, id: DisplayId) -> Option<&Display> {
        self.slots[self.slot_by_id(id)?].as_ref()
    }

    /// The open display called `name` (compared as PNut does: case-insensitively, first 30 characters).
    pub fn find(&self, name: &str) -> Option<&Display> {
        let symbol = match Scanner::new(name.as_bytes()).next() {
            Some(Token::Symbol { upper, .. }) => upper,
            _ => return None,
        };
        self.slots[self.slot_of(symbol.as_bytes())?].as_ref()
    }

    /// A display's visible image, rendered if needed, and the region changed since the last call for it.
    pub fn frame(&mut self, id: DisplayId) -> Option<Frame<'_>> {
        let slot = self.slot_by_id(id)?;
        let display = self.slots[slot].as_mut()?;
        let damage = display.model.take_damage(&mut self.fonts);
        let frames = display.model.frames();
        let geometry = display.model.geometry();
        let image = display.model.front(&mut self.fonts);
        let scale = (
            geometry.client_width / image.width().max(1),
            geometry.client_height / image.height().max(1),
        );
        Some(Frame {
            image,
            damage,
            frames,
            scale,
        })
    }

    /// The displays whose image changed since their last [`frame`](Self::frame): what a UI should send next.
    pub fn changed(&self) -> impl Iterator<Item = DisplayId> + '_ {
        self.iter().filter(|d| d.model.is_damaged()).map(|d| d.id)
    }

    /// A display's visible image as the user sees it (DOTSIZE applied): what `SAVE WINDOW` writes. `None` when the
    /// display is not open, or when that image would exceed 16 Mi pixels (see [`SaveRefused::TooLarge`]).
    pub fn window_image(&mut self, id: DisplayId) -> Option<Framebuffer> {
        let slot = self.slot_by_id(id)?;
        let display = self.slots[slot].as_mut()?;
        let geometry = display.model.geometry();
        window_image(display.model.front(&mut self.fonts), geometry)
    }

    /// A key typed into a display at `now` (PC_KEY reads it within 100 ms).
    pub fn handle_key(&mut self, id: DisplayId, key: Key, now: Instant) {
        if let Some(display) = self.display_mut(id) {
            display.input.key(key, now);
        }
    }

    /// The pointer over a display, in its client pixels (DOTSIZE included, top-left origin), or `None` when it
    /// left; and the buttons held.
    pub fn handle_pointer(&mut self, id: DisplayId, position: Option<(i32, i32)>, buttons: Buttons) {
        if let Some(display) = self.display_mut(id) {
            display.input.pointer = position;
            display.input.buttons = buttons;
        }
    }

    /// A wheel step over a display at `now` (PC_MOUSE reads it within 100 ms).
    pub fn handle_wheel(&mut self, id: DisplayId, up: bool, now: Instant) {
        if let Some(display) = self.display_mut(id) {
            display.input.wheel(up, now);
        }
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_can_move_to_a_consumer_thread() {
        fn send<T: Send>() {}
        send::<Displays>();
    }

    #[test]
    fn display_text_strips_the_backtick_the_line_end_and_stops_at_nul() {
        let text = |line| display_text(stored_text(line));
        assert_eq!(text(b"`j k $1\r\n"), b"j k $1");
        assert_eq!(text(b"j\n\r"), b"j");
        assert_eq!(text(b"`j 'a\0b' 5"), b"j 'a");
        assert_eq!(
            stored_text(b"`j 'a\0b' 5\r\n"),
            b"j 'a\0b' 5",
            "PNut stores the bytes after a NUL too"
        );
        assert_eq!(text(b"``j"), b"`j", "only one backtick");
    }
}
