//! The display host: a thread that owns the [`Displays`] models, applies the lines the [`LiveFeed`] hands it,
//! answers `PC_KEY`/`PC_MOUSE`, writes SAVE and snapshot files, and publishes frames, terminal text and
//! status for viewers; and the [`Session`] that starts and ends it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use sluicegate_core::handover;
use sluicegate_p2::io::{PipelineMonitor, Recorder, ResetLine, SourceSpec, Transmitter};
use sluicegate_p2::pst::{self, Controls};
use sluicegate_p2::{Backtick, MessageKind, without_line_end};
use sluicegate_p2_display::{Buttons, DisplayId, Displays, Event, Key, Request, SaveRefused, Stats};

use crate::board::{Board, DisplayInfo, LineKind, TerminalLine};
use crate::feed::{FEED_QUEUE, FeedItem, LiveFeed};
use crate::files::{write_save, write_snapshot};
use crate::handle::LiveHandle;
use crate::status::{Rates, Status};

/// The shortest time between two publications to viewers: about one animation frame.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(16);

/// How often the status is refreshed while someone looks.
const STATUS_INTERVAL: Duration = Duration::from_millis(500);

/// How long the host sleeps with nothing to do: a safety net only, since lines, commands and the end of the
/// input all wake it.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// How often the host looks at the queue while lines flow and someone watches, instead of being woken for
/// each batch the consumer routes: half a frame, so that nothing a viewer could see waits longer for it. A
/// line the P2 waits on wakes the host at once.
pub(crate) const LOOK_WATCHED: Duration = Duration::from_millis(8);

/// The same with nobody watching: the lines only have to be applied before a snapshot, the end, or the queue
/// filling (a quarter of it wakes the host). At 2 Mbaud the HSV16 burst woke the host 812 times in 4.6 s
/// with an 8 ms look and a wake-up every 256 lines, and 73 ms of its CPU; with this, ~50 times (BENCHMARKS.md).
pub(crate) const LOOK_UNWATCHED: Duration = Duration::from_millis(100);

/// Lines applied between two looks at the commands and the clock.
const BATCH: usize = 1024;

/// What a session does besides modelling the displays.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionConfig {
    /// The input, for the status and the notices.
    pub input: SourceSpec,
    /// Write every open display as `DIR/<name>.png` at the end and on [`Session::write_snapshots`].
    pub snapshots: Option<PathBuf>,
    /// Where `SAVE 'f'` writes `f.bmp`; without it, SAVEs are counted and ignored.
    pub save_dir: Option<PathBuf>,
    /// Hand the terminal text to viewers too (a UI; the text terminal prints its own).
    pub terminal_text: bool,
    /// The line [`LiveHandle::reset`] pulses.
    pub reset_line: ResetLine,
    /// Lines the host may fall behind by ([`FEED_QUEUE`]).
    pub queue: usize,
}

impl SessionConfig {
    /// Displays only: no snapshots, no SAVE directory, no terminal text for viewers, reset on DTR.
    pub fn new(input: SourceSpec) -> Self {
        Self {
            input,
            snapshots: None,
            save_dir: None,
            terminal_text: false,
            reset_line: ResetLine::Dtr,
            queue: FEED_QUEUE,
        }
    }

    /// With snapshots written into `dir`.
    #[must_use]
    pub fn snapshots(mut self, dir: Option<PathBuf>) -> Self {
        self.snapshots = dir;
        self
    }

    /// With SAVE files written into `dir`.
    #[must_use]
    pub fn save_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.save_dir = dir;
        self
    }

    /// With the terminal text handed to viewers.
    #[must_use]
    pub fn terminal_text(mut self, on: bool) -> Self {
        self.terminal_text = on;
        self
    }

    /// Resetting with `line`.
    #[must_use]
    pub fn reset_line(mut self, line: ResetLine) -> Self {
        self.reset_line = line;
        self
    }
}

/// What the host did, for `--stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostStats {
    /// Per display type: declared, applied, dropped by reason, frames, replies, SAVEs.
    pub displays: Stats,
    /// Backtick lines the host took (applied or dropped by the grammar).
    pub lines: u64,
    /// Backtick lines dropped on a full queue (the host was a whole queue behind).
    pub queue_dropped: u64,
    /// Terminal lines for viewers dropped on a full queue.
    pub text_dropped: u64,
    /// `PC_KEY`/`PC_MOUSE` answers sent to the P2.
    pub replies_sent: u64,
    /// Answers that could not be sent (no way back, or the write failed).
    pub replies_not_sent: u64,
    /// SAVE files written.
    pub saves_written: u64,
    /// SAVEs ignored: no save directory.
    pub saves_ignored: u64,
    /// SAVE files that could not be written.
    pub saves_failed: u64,
    /// Snapshot files written.
    pub snapshots_written: u64,
    /// Snapshot files that could not be written.
    pub snapshots_failed: u64,
}

/// Something the front end should tell the user (once per kind): a reply not sent, a SAVE ignored or refused,
/// a file that could not be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice(String);

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The host's notices, readable from any thread, also after the session finished.
#[derive(Clone, Debug)]
pub struct Notices(Receiver<Notice>);

impl Notices {
    /// The next notice, if any.
    pub fn poll(&self) -> Option<Notice> {
        self.0.try_recv().ok()
    }
}

/// What the handle and the session ask of the host.
#[derive(Debug)]
pub(crate) enum Command {
    Key {
        display: u32,
        key: Key,
        at: Instant,
    },
    Pointer {
        display: u32,
        position: Option<(i32, i32)>,
        buttons: Buttons,
    },
    Wheel {
        display: u32,
        up: bool,
        at: Instant,
    },
    /// The pointer read-out at a client position, answered on `reply`.
    Hover {
        display: u32,
        position: (i32, i32),
        reply: tokio::sync::oneshot::Sender<Option<String>>,
    },
    /// Something for the status changed (a viewer came, a recording started).
    Refresh,
    Snapshot,
    Stop,
}

/// A display opened or closed, for the next publication.
#[derive(Debug)]
enum Change {
    Open(DisplayInfo),
    Close(u32),
}

/// The kinds of notice said once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Said {
    NoWayBack = 1,
    ReplyFailed = 2,
    SaveIgnored = 4,
    SaveRefused = 8,
    SaveFailed = 16,
    LayerRefused = 32,
    SnapshotFailed = 64,
}

/// A running display host and its handles.
#[derive(Debug)]
pub struct Session {
    handle: LiveHandle,
    feed: Option<LiveFeed>,
    thread: Option<JoinHandle<HostStats>>,
    notices: Receiver<Notice>,
    stats: Arc<Mutex<HostStats>>,
}

impl Session {
    /// Starts the host thread for an input whose way back is `transmitter` (`None`: a replay or stdin),
    /// recorded by `recorder` (the tap given to the pipeline), counted by `pipeline`.
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn start(
        config: SessionConfig,
        transmitter: Option<Transmitter>,
        recorder: Recorder,
        pipeline: PipelineMonitor,
    ) -> std::io::Result<Session> {
        let (producer, consumer) = handover::bounded(config.queue.max(1));
        let (command_tx, commands) = crossbeam_channel::unbounded();
        let (notice_tx, notices) = crossbeam_channel::unbounded();
        let dropped = Arc::new(AtomicU64::new(0));
        let text_dropped = Arc::new(AtomicU64::new(0));
        let can_reset = transmitter.as_ref().is_some_and(Transmitter::can_reset);
        let status = Status::new(&config.input, transmitter.is_some(), can_reset);
        let board = Arc::new(Board::new(status.clone()));
        let stats = Arc::new(Mutex::new(HostStats::default()));
        let nudger = consumer.nudger();
        let handle = LiveHandle::new(
            Arc::clone(&board),
            command_tx,
            nudger,
            transmitter.clone(),
            recorder.clone(),
            config.reset_line,
            &config.input.to_string(),
        );
        let feed = LiveFeed::new(
            producer,
            Arc::clone(&dropped),
            Arc::clone(&text_dropped),
            config.terminal_text,
        );
        let host = Host {
            displays: Displays::new(),
            feed: consumer,
            commands,
            board,
            transmitter,
            recorder,
            pipeline,
            notices: notice_tx,
            shared_stats: Arc::clone(&stats),
            stats: HostStats::default(),
            dropped,
            text_dropped,
            status,
            rates: Rates::new(),
            pending_text: Vec::new(),
            changes: Vec::new(),
            ids: Vec::with_capacity(sluicegate_p2_display::DISPLAYS_MAX),
            said: 0,
            dirty: false,
            stats_dirty: false,
            status_due: Instant::now(),
            next_publish: Instant::now(),
            viewers_at_last_publish: 0,
            input_ended: false,
            stopping: false,
            busy: false,
            config,
        };
        let thread = std::thread::Builder::new()
            .name("p2-displays".into())
            .spawn(move || host.run())?;
        Ok(Session {
            handle,
            feed: Some(feed),
            thread: Some(thread),
            notices,
            stats,
        })
    }

    /// The router destination that feeds the host (once): register it with [`LiveFeed::subscription`].
    /// Dropping it (with the router) tells the host the input has ended.
    pub fn take_feed(&mut self) -> Option<LiveFeed> {
        self.feed.take()
    }

    /// The handle for front ends.
    pub fn handle(&self) -> LiveHandle {
        self.handle.clone()
    }

    /// Writes every open display's snapshot now (`--snapshots` on SIGUSR1), once the lines queued so far
    /// are applied.
    pub fn write_snapshots(&self) {
        self.handle.command(Command::Snapshot);
    }

    /// The next notice, if any.
    pub fn poll_notice(&self) -> Option<Notice> {
        self.notices.try_recv().ok()
    }

    /// The notices, for a front end that reads them elsewhere or after [`finish`](Self::finish) (the last ones
    /// come while the host finishes: snapshots that could not be written).
    pub fn notices(&self) -> Notices {
        Notices(self.notices.clone())
    }

    /// The counters as of the host's last batch.
    pub fn stats(&self) -> HostStats {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Ends the session: the host applies every line queued, writes the snapshots, closes the viewers'
    /// `changed`, and returns its counters. Drop the feed (the router) first.
    pub fn finish(mut self) -> HostStats {
        self.stop()
    }

    fn stop(&mut self) -> HostStats {
        drop(self.feed.take());
        self.handle.command(Command::Stop);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(stats)) => stats,
            _ => self.stats(),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop();
        }
    }
}

struct Host {
    displays: Displays,
    feed: handover::Consumer<FeedItem>,
    commands: Receiver<Command>,
    board: Arc<Board>,
    transmitter: Option<Transmitter>,
    recorder: Recorder,
    pipeline: PipelineMonitor,
    notices: Sender<Notice>,
    shared_stats: Arc<Mutex<HostStats>>,
    stats: HostStats,
    dropped: Arc<AtomicU64>,
    text_dropped: Arc<AtomicU64>,
    status: Status,
    rates: Rates,
    /// Terminal lines for the next publication.
    pending_text: Vec<TerminalLine>,
    /// Displays opened and closed since the last publication, in order.
    changes: Vec<Change>,
    /// Reused list of open displays.
    ids: Vec<DisplayId>,
    /// Notices said ([`Said`] bits).
    said: u8,
    /// Something a viewer would see changed since the last publication.
    dirty: bool,
    /// The counters changed since they were last shared.
    stats_dirty: bool,
    status_due: Instant,
    next_publish: Instant,
    viewers_at_last_publish: usize,
    input_ended: bool,
    /// A stop was asked for.
    stopping: bool,
    /// Lines came at the last look: look again within [`LOOK_WATCHED`] or [`LOOK_UNWATCHED`].
    busy: bool,
    config: SessionConfig,
}

impl Host {
    fn run(mut self) -> HostStats {
        loop {
            self.wait();
            self.take_commands();
            if self.stopping {
                while let Ok(item) = self.feed.receiver().try_recv() {
                    self.apply(item);
                }
                break;
            }
            let now = Instant::now();
            if self.publication_due(now) {
                self.publish(now);
            }
            self.share_stats();
        }
        let now = Instant::now();
        self.publish(now);
        self.write_snapshots();
        self.board.close();
        self.share_stats();
        self.stats.clone()
    }

    /// Waits for lines (or, once the input has ended, a command) and applies them.
    ///
    /// Commands are taken before each line: input a page gave before the P2 asked (a key, then `PC_KEY`) is
    /// in the display before the request is answered, whichever channel woke the host.
    fn wait(&mut self) {
        let timeout = self.timeout(Instant::now());
        if self.input_ended {
            match self.commands.recv_timeout(timeout) {
                Ok(command) => self.command(command),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.stopping = true,
            }
            return;
        }
        // While lines flow, look again by ourselves (the feed does not wake a looking host for each batch);
        // otherwise sleep until woken.
        let received = if self.busy {
            let look = if self.board.viewers() > 0 {
                LOOK_WATCHED
            } else {
                LOOK_UNWATCHED
            };
            self.feed.look_timeout(timeout.min(look))
        } else {
            self.feed.recv_timeout(timeout)
        };
        match received {
            Ok(item) => {
                self.busy = true;
                self.take_commands();
                self.apply(item);
                for _ in 0..BATCH {
                    match self.feed.receiver().try_recv() {
                        Ok(item) => {
                            self.take_commands();
                            self.apply(item);
                        }
                        Err(_) => break,
                    }
                }
            }
            // A whole look found nothing: the lines have stopped.
            Err(RecvTimeoutError::Timeout) => self.busy = false,
            Err(RecvTimeoutError::Disconnected) => {
                self.input_ended = true;
                self.status_due = Instant::now();
            }
        }
    }

    /// Applies the commands queued (a stop is kept for the loop).
    fn take_commands(&mut self) {
        while let Ok(command) = self.commands.try_recv() {
            self.command(command);
        }
    }

    /// Whether text or displays opened or closed wait for a publication.
    fn pending(&self) -> bool {
        !self.pending_text.is_empty() || !self.changes.is_empty()
    }

    /// How long to sleep: until the next publication if there is something to show (pixels only while
    /// someone looks), the next status while someone looks, else long.
    fn timeout(&self, now: Instant) -> Duration {
        let viewers = self.board.viewers() > 0;
        let due = match (viewers, self.pending() || (viewers && self.dirty)) {
            (true, true) => self.next_publish.min(self.status_due),
            (true, false) => self.status_due,
            (false, true) => self.next_publish,
            (false, false) => return IDLE_WAIT,
        };
        due.saturating_duration_since(now).min(IDLE_WAIT)
    }

    fn publication_due(&self, now: Instant) -> bool {
        let viewers = self.board.viewers();
        if viewers == 0 {
            return self.pending() && now >= self.next_publish;
        }
        let something = self.dirty || self.pending() || viewers != self.viewers_at_last_publish;
        (something && now >= self.next_publish) || now >= self.status_due
    }

    /// Applies one command.
    fn command(&mut self, command: Command) {
        match command {
            Command::Key { display, key, at } => {
                if let Some(id) = self.find(display) {
                    self.displays.handle_key(id, key, at);
                }
            }
            Command::Pointer {
                display,
                position,
                buttons,
            } => {
                if let Some(id) = self.find(display) {
                    self.displays.handle_pointer(id, position, buttons);
                }
            }
            Command::Wheel { display, up, at } => {
                if let Some(id) = self.find(display) {
                    self.displays.handle_wheel(id, up, at);
                }
            }
            Command::Hover {
                display,
                position: (x, y),
                reply,
            } => {
                let text = self
                    .find(display)
                    .and_then(|id| self.displays.get(id))
                    .and_then(|open| open.hover_text(x, y));
                let _ = reply.send(text);
            }
            Command::Refresh => {
                self.status_due = Instant::now();
                self.dirty = true;
            }
            Command::Snapshot => {
                // The lines routed before the signal are in the pictures.
                while let Ok(item) = self.feed.receiver().try_recv() {
                    self.apply(item);
                }
                self.write_snapshots();
                self.share_stats();
            }
            Command::Stop => self.stopping = true,
        }
    }

    fn find(&self, display: u32) -> Option<DisplayId> {
        self.displays
            .iter()
            .find(|open| open.id().get() == display)
            .map(|open| open.id())
    }

    fn apply(&mut self, item: FeedItem) {
        match item {
            FeedItem::Display { line, arrival } => {
                self.stats.lines += 1;
                let _ = self.displays.handle_line(&line, arrival);
                self.dirty = true;
            }
            FeedItem::Text { line, kind, flags } => {
                let mut text = String::new();
                pst::render_message(&line, kind, flags, Controls::Raw, &mut text);
                let kind = match kind {
                    MessageKind::Cog(cog) => LineKind::Cog(cog.get()),
                    MessageKind::InvalidCog => LineKind::InvalidCog,
                    _ => LineKind::Text,
                };
                self.text(kind, text);
            }
            FeedItem::WindowError { line, error, name } => {
                let mut text = String::new();
                pst::render_window_error(error, line.get(name).unwrap_or_default(), &mut text);
                self.text(LineKind::WindowError, text);
            }
            FeedItem::WindowOpened { line } => {
                if let Some(Backtick::Create(declaration)) = Backtick::parse(without_line_end(&line)) {
                    let mut text = String::new();
                    pst::render_window_opened(declaration.window_type, declaration.name.unwrap_or_default(), &mut text);
                    self.text(LineKind::WindowOpened, text);
                }
            }
            FeedItem::Reboot => {
                self.displays.close_all();
                if self.config.terminal_text {
                    let mut text = String::new();
                    pst::render_reboot(&mut text);
                    self.text(LineKind::Reboot, text);
                }
            }
        }
        while let Some(event) = self.displays.poll_event() {
            self.event(event);
        }
        self.stats_dirty = true;
    }

    /// A rendered terminal line (ending in `\n` when complete) for viewers.
    fn text(&mut self, kind: LineKind, mut text: String) {
        let complete = text.ends_with('\n');
        if complete {
            text.pop();
        }
        self.pending_text.push(TerminalLine { kind, text, complete });
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Opened { display, kind } => {
                let Some(open) = self.displays.get(display) else {
                    return;
                };
                let (name, caption, position, hide_xy) = (
                    open.name().to_owned(),
                    open.caption().to_owned(),
                    open.position(),
                    open.hides_xy(),
                );
                let Some(frame) = self.displays.frame(display) else {
                    return;
                };
                let info = DisplayInfo {
                    id: display.get(),
                    name,
                    kind,
                    caption,
                    position,
                    width: frame.image.width(),
                    height: frame.image.height(),
                    scale: frame.scale,
                    hide_xy,
                };
                self.changes.push(Change::Open(info));
                self.status_due = Instant::now();
            }
            Event::Closed { display, .. } => {
                self.changes.push(Change::Close(display.get()));
                self.status_due = Instant::now();
            }
            Event::Reply {
                display,
                request,
                reply,
                ..
            } => self.reply(display, request, reply.as_bytes()),
            Event::Save {
                display, file, image, ..
            } => {
                let name = self.name(display);
                match self.config.save_dir.clone() {
                    None => {
                        self.stats.saves_ignored += 1;
                        self.notice(
                            Said::SaveIgnored,
                            format!(
                                "SAVE '{file}' from display '{name}' ignored: no save directory (--save-dir); \
                                 further SAVEs are counted in the statistics"
                            ),
                        );
                    }
                    Some(dir) => match std::fs::create_dir_all(&dir).and_then(|()| write_save(&dir, &file, &image)) {
                        Ok(_) => self.stats.saves_written += 1,
                        Err(error) => {
                            self.stats.saves_failed += 1;
                            self.notice(
                                Said::SaveFailed,
                                format!("SAVE '{file}' from display '{name}' not written: {error}"),
                            );
                        }
                    },
                }
            }
            Event::SaveRefused { display, reason } => {
                let name = self.name(display);
                let why = match reason {
                    SaveRefused::BadName => "its file name would leave the save directory",
                    _ => "it captures a desktop region, and there is no desktop here",
                };
                self.notice(
                    Said::SaveRefused,
                    format!("a SAVE from display '{name}' was refused: {why} (counted in the statistics)"),
                );
            }
            Event::LayerRefused {
                display, layer, file, ..
            } => {
                let name = self.name(display);
                self.notice(
                    Said::LayerRefused,
                    format!("PLOT '{name}': LAYER {layer} '{file}' not loaded: layers are not read from disk"),
                );
            }
            _ => {}
        }
    }

    fn name(&self, display: DisplayId) -> String {
        self.displays
            .get(display)
            .map_or_else(|| format!("#{}", display.get()), |open| open.name().to_owned())
    }

    /// Sends a PC_KEY/PC_MOUSE answer at once: the P2 waits for it.
    fn reply(&mut self, display: DisplayId, request: Request, bytes: &[u8]) {
        let request = match request {
            Request::Key => "PC_KEY",
            _ => "PC_MOUSE",
        };
        let Some(transmitter) = &self.transmitter else {
            self.stats.replies_not_sent += 1;
            let name = self.name(display);
            let input = self.config.input.to_string();
            self.notice(
                Said::NoWayBack,
                format!(
                    "{request} from display '{name}' not answered: {input} has no way back to the P2 \
                     (further ones are counted in the statistics)"
                ),
            );
            return;
        };
        match transmitter.transmit(bytes) {
            Ok(()) => self.stats.replies_sent += 1,
            Err(error) => {
                self.stats.replies_not_sent += 1;
                self.notice(Said::ReplyFailed, format!("{request} not answered: {error}"));
            }
        }
    }

    fn notice(&mut self, kind: Said, text: String) {
        let bit = kind as u8;
        if self.said & bit != 0 {
            return;
        }
        self.said |= bit;
        if self.config.terminal_text {
            self.text(LineKind::Notice, format!("sluicegate: {text}\n"));
        }
        let _ = self.notices.send(Notice(text));
    }

    /// Publishes pixels, text and status to viewers.
    fn publish(&mut self, now: Instant) {
        let viewers = self.board.viewers();
        let status_due = now >= self.status_due;
        if status_due {
            self.refresh_status(now);
        }
        let mut publication = self.board.publish();
        for change in self.changes.drain(..) {
            match change {
                Change::Open(info) => publication.open(info),
                Change::Close(id) => publication.close(id),
            }
        }
        publication.terminal(self.pending_text.drain(..));
        if status_due {
            publication.status(self.status.clone());
        }
        if viewers > 0 {
            // Nobody kept the published pixels up to date: copy them whole.
            if self.viewers_at_last_publish == 0 {
                publication.forget_images();
            }
            // The displays not yet published, and those whose image changed (the others are not rendered).
            self.ids.clear();
            self.ids.extend(self.displays.changed());
            for open in self.displays.iter() {
                if !publication.has_image(open.id().get()) && !self.ids.contains(&open.id()) {
                    self.ids.push(open.id());
                }
            }
            for &id in &self.ids {
                let Some(frame) = self.displays.frame(id) else {
                    continue;
                };
                if !publication.has_image(id.get()) {
                    publication.set_image(id.get(), frame.image);
                } else if let Some(rect) = frame.damage {
                    publication.update_image(id.get(), frame.image, rect);
                }
            }
            self.dirty = false;
        }
        drop(publication);
        self.viewers_at_last_publish = viewers;
        self.next_publish = now + FRAME_INTERVAL;
    }

    fn refresh_status(&mut self, now: Instant) {
        self.rates.update(&mut self.status, &self.pipeline.stats(), now);
        self.status.display_messages_dropped = self.dropped.load(Ordering::Relaxed);
        self.status.displays = self.displays.len();
        self.status.recording = self.recorder.path().map(|path| path.display().to_string());
        self.status.input_ended = self.input_ended;
        self.status_due = now + STATUS_INTERVAL;
    }

    /// Writes every open display as a PNG into the snapshot directory.
    fn write_snapshots(&mut self) {
        let Some(dir) = self.config.snapshots.clone() else {
            return;
        };
        if let Err(error) = std::fs::create_dir_all(&dir) {
            self.stats.snapshots_failed += self.displays.len() as u64;
            self.notice(
                Said::SnapshotFailed,
                format!("cannot write snapshots into {}: {error}", dir.display()),
            );
            return;
        }
        // Viewers first: taking a frame takes its damage, which their copy must see. With none, the copy is
        // renewed whole when one comes.
        if self.board.viewers() > 0 {
            self.publish(Instant::now());
        } else {
            self.viewers_at_last_publish = 0;
        }
        self.ids.clear();
        self.ids.extend(self.displays.iter().map(|open| open.id()));
        for index in 0..self.ids.len() {
            let id = self.ids[index];
            let name = self.name(id);
            let Some(frame) = self.displays.frame(id) else {
                continue;
            };
            match write_snapshot(&dir, &name, frame.image) {
                Ok(_) => self.stats.snapshots_written += 1,
                Err(error) => {
                    self.stats.snapshots_failed += 1;
                    self.notice(
                        Said::SnapshotFailed,
                        format!(
                            "cannot write the snapshot of display '{name}' into {}: {error}",
                            dir.display()
                        ),
                    );
                }
            }
        }
        self.stats_dirty = true;
    }

    fn share_stats(&mut self) {
        self.stats.queue_dropped = self.dropped.load(Ordering::Relaxed);
        self.stats.text_dropped = self.text_dropped.load(Ordering::Relaxed);
        if !self.stats_dirty {
            return;
        }
        self.stats.displays = self.displays.stats().clone();
        *self.shared_stats.lock().unwrap_or_else(PoisonError::into_inner) = self.stats.clone();
        self.stats_dirty = false;
    }
}
