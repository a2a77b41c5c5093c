//! What viewers read: the displays as last published (their info, a copy of each front buffer, the rectangles
//! changed at each publication), the terminal's scrollback and the status, behind one short-held lock; and
//! the [`Viewer`], one page's cursor over it.
//!
//! Images are shared copy-on-write (`Arc`): a viewer takes the handles under the lock and copies pixels
//! after releasing it; the host copies an image only if a viewer still holds the previous one. Each
//! display keeps the rectangles of its last publications; a viewer asks for their union since the version it
//! saw. Merging the two oldest when the list is full keeps every answer a superset of what changed.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sluicegate_p2_display::{Framebuffer, Rect, WindowType};
use tokio::sync::watch;

use crate::status::Status;

/// Terminal lines kept for a page opened later.
pub const SCROLLBACK_LINES: usize = 5000;

/// Rectangles kept per display.
const DAMAGE_HISTORY: usize = 16;

/// A display as a page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayInfo {
    /// Its number in this session (a display declared again gets a new one); input names it by this.
    pub id: u32,
    /// Its name as declared.
    pub name: String,
    /// Its type.
    pub kind: WindowType,
    /// `TITLE`, or `name - TYPE`.
    pub caption: String,
    /// `POS x y`, if given.
    pub position: Option<(i32, i32)>,
    /// The image's width in image pixels (what [`FrameUpdate`]s address).
    pub width: u32,
    /// The image's height.
    pub height: u32,
    /// DOTSIZE: screen pixels per image pixel, horizontally and vertically (BITMAP, PLOT, SPECTRO; 1 for the
    /// others).
    pub scale: (u32, u32),
    /// `HIDEXY`: no pointer read-out.
    pub hide_xy: bool,
}

/// New pixels of one display: `rect` of its image, as RGBA bytes (alpha 255), row by row from the top-left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameUpdate {
    /// Which display ([`DisplayInfo::id`]).
    pub display: u32,
    /// Where, in image pixels.
    pub rect: Rect,
    /// `rect.width × rect.height × 4` bytes.
    pub rgba: Vec<u8>,
}

/// Where a terminal line comes from, for the page to style it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LineKind {
    /// A COG message (`CogN  …`).
    Cog(u8),
    /// Other terminal output (PST text).
    Text,
    /// A line claiming a cog number past 7.
    InvalidCog,
    /// A backtick command that could not be applied.
    WindowError,
    /// The P2 rebooted (golden sync).
    Reboot,
    /// A display was declared.
    WindowOpened,
    /// A note from sluicegate (a reply not sent, a SAVE ignored).
    Notice,
}

/// One line of terminal text, as the text terminal prints it but with PST control codes kept
/// ([`Controls::Raw`](sluicegate_p2::pst::Controls::Raw)): the page acts on them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalLine {
    /// What it is.
    pub kind: LineKind,
    /// The text, without a line end.
    pub text: String,
    /// Whether the line ends here; `false` for text shown before its line ended (the P2 paused mid-line),
    /// which the next line continues.
    pub complete: bool,
}

/// Terminal text new to a viewer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TerminalUpdate {
    /// Clear what is shown first: the lines are the whole scrollback (a new page, or one that fell more than
    /// [`SCROLLBACK_LINES`] behind).
    pub reset: bool,
    /// The lines, oldest first.
    pub lines: Vec<TerminalLine>,
}

/// What changed since a viewer last looked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Update {
    /// Displays the viewer has not seen, in declaration order (their whole frame is in `frames`).
    pub opened: Vec<DisplayInfo>,
    /// Displays closed since (by `CLOSE`, a reboot, or a redeclaration).
    pub closed: Vec<u32>,
    /// New pixels.
    pub frames: Vec<FrameUpdate>,
    /// New terminal text, if any.
    pub terminal: Option<TerminalUpdate>,
    /// The status, if it changed.
    pub status: Option<Status>,
}

impl Update {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.opened.is_empty()
            && self.closed.is_empty()
            && self.frames.is_empty()
            && self.terminal.is_none()
            && self.status.is_none()
    }
}

/// A published copy of a display's front buffer (`0x00RRGGBB`, row by row).
#[derive(Clone, Debug)]
struct Image {
    width: u32,
    height: u32,
    pixels: Vec<u32>,
}

impl Image {
    fn row(&self, y: u32) -> &[u32] {
        let start = y as usize * self.width as usize;
        &self.pixels[start..start + self.width as usize]
    }
}

/// One display as last published.
#[derive(Debug)]
pub(crate) struct Published {
    pub(crate) info: DisplayInfo,
    /// `None` until pixels are published (no viewer yet).
    image: Option<Arc<Image>>,
    /// A viewer that saw the display before this version gets the whole image.
    whole_since: u64,
    /// `(version, rectangle)` of the publications since, oldest first.
    damage: VecDeque<(u64, Rect)>,
}

/// The scrollback: lines numbered from `first`.
#[derive(Debug, Default)]
struct Scrollback {
    lines: VecDeque<TerminalLine>,
    first: u64,
}

impl Scrollback {
    fn end(&self) -> u64 {
        self.first + self.lines.len() as u64
    }

    fn push(&mut self, line: TerminalLine) {
        if self.lines.len() == SCROLLBACK_LINES {
            self.lines.pop_front();
            self.first += 1;
        }
        self.lines.push_back(line);
    }
}

#[derive(Debug, Default)]
struct State {
    version: u64,
    displays: Vec<Published>,
    terminal: Scrollback,
    status: Status,
    status_version: u64,
}

/// The shared state: written by the host, read by viewers.
#[derive(Debug)]
pub(crate) struct Board {
    state: Mutex<State>,
    published: watch::Sender<u64>,
    viewers: AtomicUsize,
}

impl Board {
    pub(crate) fn new(status: Status) -> Self {
        Self {
            state: Mutex::new(State {
                status,
                status_version: 1,
                ..State::default()
            }),
            published: watch::Sender::new(0),
            viewers: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The status as last published.
    pub(crate) fn status(&self) -> Status {
        self.lock().status.clone()
    }

    /// Viewers open now.
    pub(crate) fn viewers(&self) -> usize {
        self.viewers.load(Ordering::Relaxed)
    }

    /// A new viewer: it sees everything on its first poll.
    pub(crate) fn viewer(self: &Arc<Self>) -> Viewer {
        self.viewers.fetch_add(1, Ordering::Relaxed);
        Viewer {
            board: Arc::clone(self),
            changed: self.published.subscribe(),
            known: HashMap::new(),
            text_seen: None,
            status_seen: 0,
        }
    }

    /// Starts a publication: the host changes the state through the [`Publication`], and viewers are woken
    /// when it is dropped.
    pub(crate) fn publish(&self) -> Publication<'_> {
        let mut state = self.lock();
        state.version += 1;
        Publication { board: self, state }
    }

    /// Wakes the viewers' `changed` for good: the session has finished.
    pub(crate) fn close(&self) {
        self.published.send_modify(|version| *version = u64::MAX);
    }
}

/// The host's changes to the board, published together.
pub(crate) struct Publication<'a> {
    board: &'a Board,
    state: MutexGuard<'a, State>,
}

impl Publication<'_> {
    /// A display was opened.
    pub(crate) fn open(&mut self, info: DisplayInfo) {
        let version = self.state.version;
        self.state.displays.push(Published {
            info,
            image: None,
            whole_since: version,
            damage: VecDeque::new(),
        });
    }

    /// A display was closed.
    pub(crate) fn close(&mut self, id: u32) {
        self.state.displays.retain(|display| display.info.id != id);
    }

    /// Whether the display's pixels have been published.
    pub(crate) fn has_image(&self, id: u32) -> bool {
        self.state
            .displays
            .iter()
            .any(|display| display.info.id == id && display.image.is_some())
    }

    /// Forgets every display's pixels (no viewer kept them up to date): the next publication copies them whole.
    pub(crate) fn forget_images(&mut self) {
        for display in &mut self.state.displays {
            display.image = None;
        }
    }

    /// Publishes `image` whole.
    pub(crate) fn set_image(&mut self, id: u32, image: &Framebuffer) {
        let version = self.state.version;
        if let Some(display) = self.state.displays.iter_mut().find(|display| display.info.id == id) {
            display.image = Some(Arc::new(Image {
                width: image.width(),
                height: image.height(),
                pixels: image.pixels().to_vec(),
            }));
            display.whole_since = version;
            display.damage.clear();
        }
    }

    /// Publishes the `rect` of `image` that changed.
    pub(crate) fn update_image(&mut self, id: u32, image: &Framebuffer, rect: Rect) {
        let version = self.state.version;
        let Some(display) = self.state.displays.iter_mut().find(|display| display.info.id == id) else {
            return;
        };
        let Some(published) = display.image.as_mut() else {
            return;
        };
        let published = Arc::make_mut(published);
        if (published.width, published.height) != (image.width(), image.height())
            || rect.right() > image.width()
            || rect.bottom() > image.height()
        {
            return;
        }
        let width = published.width as usize;
        for y in rect.y..rect.bottom() {
            let start = y as usize * width;
            let row = rect.x as usize..rect.right() as usize;
            published.pixels[start + row.start..start + row.end].copy_from_slice(&image.row(y)[row]);
        }
        if display.damage.len() == DAMAGE_HISTORY
            && let (Some((_, oldest)), Some((_, next))) = (display.damage.pop_front(), display.damage.front_mut())
        {
            *next = next.union(oldest);
        }
        display.damage.push_back((version, rect));
    }

    /// Appends terminal lines.
    pub(crate) fn terminal(&mut self, lines: impl IntoIterator<Item = TerminalLine>) {
        for line in lines {
            self.state.terminal.push(line);
        }
    }

    /// Replaces the status.
    pub(crate) fn status(&mut self, status: Status) {
        if status != self.state.status {
            self.state.status = status;
            self.state.status_version = self.state.version;
        }
    }
}

impl Drop for Publication<'_> {
    fn drop(&mut self) {
        let version = self.state.version;
        self.board.published.send_if_modified(|published| {
            let changed = *published != u64::MAX;
            if changed {
                *published = version;
            }
            changed
        });
    }
}

/// One page's view of the session: what it has seen, and a way to wait for more. See the crate docs for the
/// loop a page's task runs.
#[derive(Debug)]
pub struct Viewer {
    board: Arc<Board>,
    changed: watch::Receiver<u64>,
    /// Displays seen, with the version their pixels were seen at (`None`: info only, no pixels yet).
    known: HashMap<u32, Option<u64>>,
    /// The next terminal line to give (`None`: nothing given yet).
    text_seen: Option<u64>,
    status_seen: u64,
}

impl Viewer {
    /// Waits until the host publishes something new (at most once per [`FRAME_INTERVAL`](crate::FRAME_INTERVAL)).
    /// Returns false once the session has finished: nothing will change any more.
    pub async fn changed(&mut self) -> bool {
        if *self.changed.borrow() == u64::MAX {
            return false;
        }
        self.changed.changed().await.is_ok() && *self.changed.borrow() != u64::MAX
    }

    /// Whether something was published since the last [`poll`](Self::poll) (without waiting).
    pub fn has_changed(&self) -> bool {
        self.changed.has_changed().unwrap_or(false)
    }

    /// What changed since the last poll; the first poll gives everything.
    pub fn poll(&mut self) -> Update {
        self.changed.mark_unchanged();
        let mut update = Update::default();
        let mut images = Vec::new();
        {
            let state = self.board.lock();
            let version = state.version;
            let open: Vec<u32> = state.displays.iter().map(|display| display.info.id).collect();
            self.known.retain(|id, _| {
                let keep = open.contains(id);
                if !keep {
                    update.closed.push(*id);
                }
                keep
            });
            for display in &state.displays {
                let id = display.info.id;
                let seen = match self.known.get(&id) {
                    None => {
                        update.opened.push(display.info.clone());
                        None
                    }
                    Some(seen) => *seen,
                };
                let Some(image) = &display.image else {
                    self.known.insert(id, None);
                    continue;
                };
                let rect = match seen {
                    Some(seen) if seen >= display.whole_since => display
                        .damage
                        .iter()
                        .filter(|(at, _)| *at > seen)
                        .fold(Rect::default(), |union, (_, rect)| union.union(*rect)),
                    _ => Rect::new(0, 0, image.width, image.height),
                };
                self.known.insert(id, Some(version));
                if !rect.is_empty() {
                    images.push((id, Arc::clone(image), rect));
                }
            }
            let terminal = &state.terminal;
            let from = self.text_seen.unwrap_or(0);
            if self.text_seen.is_none() || from < terminal.first {
                update.terminal = Some(TerminalUpdate {
                    reset: true,
                    lines: terminal.lines.iter().cloned().collect(),
                });
            } else if from < terminal.end() {
                update.terminal = Some(TerminalUpdate {
                    reset: false,
                    lines: terminal
                        .lines
                        .iter()
                        .skip((from - terminal.first) as usize)
                        .cloned()
                        .collect(),
                });
            }
            self.text_seen = Some(terminal.end());
            if state.status_version > self.status_seen {
                update.status = Some(state.status.clone());
                self.status_seen = state.status_version;
            }
        }
        update.frames = images
            .into_iter()
            .map(|(display, image, rect)| FrameUpdate {
                display,
                rect,
                rgba: rgba(&image, rect),
            })
            .collect();
        update
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.board.viewers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `rect` of `image` as RGBA bytes.
fn rgba(image: &Image, rect: Rect) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(rect.width as usize * rect.height as usize * 4);
    for y in rect.y..rect.bottom() {
        for &pixel in &image.row(y)[rect.x as usize..rect.right() as usize] {
            bytes.extend_from_slice(&[(pixel >> 16) as u8, (pixel >> 8) as u8, pixel as u8, 0xFF]);
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u32) -> DisplayInfo {
        DisplayInfo {
            id,
            name: format!("d{id}"),
            kind: WindowType::Bitmap,
            caption: String::new(),
            position: None,
            width: 4,
            height: 2,
            scale: (1, 1),
            hide_xy: false,
        }
    }

    fn image(value: u32) -> Framebuffer {
        Framebuffer::new(4, 2, value)
    }

    #[test]
    fn a_new_viewer_gets_everything_then_only_changes() {
        let board = Arc::new(Board::new(Status::default()));
        {
            let mut publication = board.publish();
            publication.open(info(1));
            publication.set_image(1, &image(0x112233));
            publication.terminal([TerminalLine {
                kind: LineKind::Text,
                text: "hello".into(),
                complete: true,
            }]);
        }
        let mut viewer = board.viewer();
        let first = viewer.poll();
        assert_eq!(first.opened, [info(1)]);
        assert_eq!(first.frames.len(), 1);
        assert_eq!(first.frames[0].rect, Rect::new(0, 0, 4, 2));
        assert_eq!(&first.frames[0].rgba[..4], [0x11, 0x22, 0x33, 0xFF]);
        assert!(
            first
                .terminal
                .as_ref()
                .is_some_and(|text| text.reset && text.lines.len() == 1)
        );
        assert!(first.status.is_some());
        assert!(viewer.poll().is_empty(), "nothing new");

        let mut pixels = vec![0x112233; 8];
        pixels[6] = 0xFF0000;
        let changed = Framebuffer::from_pixels(4, 2, pixels.clone()).unwrap();
        board.publish().update_image(1, &changed, Rect::new(2, 1, 1, 1));
        pixels[0] = 0x00FF00;
        let changed = Framebuffer::from_pixels(4, 2, pixels).unwrap();
        board.publish().update_image(1, &changed, Rect::new(0, 0, 1, 1));
        let update = viewer.poll();
        assert_eq!(update.frames.len(), 1, "two publications, one union");
        assert_eq!(update.frames[0].rect, Rect::new(0, 0, 3, 2));
        let pixel = |x: usize, y: usize| &update.frames[0].rgba[(y * 3 + x) * 4..(y * 3 + x) * 4 + 4];
        assert_eq!(pixel(0, 0), [0, 0xFF, 0, 0xFF]);
        assert_eq!(pixel(2, 1), [0xFF, 0, 0, 0xFF]);

        board.publish().close(1);
        assert_eq!(viewer.poll().closed, [1]);
        assert_eq!(board.viewers(), 1);
        drop(viewer);
        assert_eq!(board.viewers(), 0);
    }

    #[test]
    fn a_viewer_far_behind_gets_the_union_of_everything_it_missed() {
        let board = Arc::new(Board::new(Status::default()));
        {
            let mut publication = board.publish();
            publication.open(info(7));
            publication.set_image(7, &image(0));
        }
        let mut viewer = board.viewer();
        viewer.poll();
        let picture = image(0);
        for x in 0..4 {
            for y in 0..2 {
                for _ in 0..DAMAGE_HISTORY {
                    board.publish().update_image(7, &picture, Rect::new(x, y, 1, 1));
                }
            }
        }
        let update = viewer.poll();
        assert_eq!(update.frames[0].rect, Rect::new(0, 0, 4, 2));
    }

    #[test]
    fn scrollback_keeps_the_last_lines_and_a_late_viewer_resets() {
        let board = Arc::new(Board::new(Status::default()));
        let mut early = board.viewer();
        early.poll();
        let line = |n: usize| TerminalLine {
            kind: LineKind::Text,
            text: n.to_string(),
            complete: true,
        };
        board.publish().terminal((0..SCROLLBACK_LINES + 10).map(line));
        let text = early.poll().terminal.unwrap();
        assert!(text.reset, "fell behind the scrollback");
        assert_eq!(text.lines.len(), SCROLLBACK_LINES);
        assert_eq!(text.lines[0].text, "10");
        board.publish().terminal([line(1)]);
        let text = early.poll().terminal.unwrap();
        assert!(!text.reset);
        assert_eq!(text.lines, [line(1)]);
    }
}
