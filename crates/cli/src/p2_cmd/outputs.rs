//! The terminal's destinations (`docs/p2-protocol.md` A.4): terminal text, JSON lines, the debug log (B.5),
//! per-window files. The formats are the p2 library's ([`pst`], [`sluicegate_p2::debug_log`],
//! [`sluicegate_p2::window_files`]); here are the files, buffers and what a write error ends.
//!
//! Each writes through a buffered writer and flushes when the consumer has routed everything queued
//! ([`Destination::flush`]), so a burst costs few system calls and a lone line still shows at once. Write errors of
//! stdout (terminal, JSON) and of the debug log are kept in the shared [`Failure`] for the consumer loop, which ends
//! the session (a closed pipe quietly): what the user watches, or the one complete record of the session, is gone.
//! A window file's error only loses that window's copy of its data, so [`WindowFiles`] reports it and goes on.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sluicegate_p2::debug_log::{DebugLog, LocalTime, LogStep};
use sluicegate_p2::pst::{self, Controls};
use sluicegate_p2::window_files::WindowFileNames;
use sluicegate_p2::{
    Backtick, Destination, Event, Flags, MessageKind, MessageRef, Routed, Tokens, Window, WindowId, WindowRegistry,
    without_line_end,
};

/// The first write error any destination met.
pub type Failure = Arc<Mutex<Option<io::Error>>>;

fn record_failure(failure: &Failure, result: io::Result<()>) {
    if let Err(error) = result {
        failure
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .get_or_insert(error);
    }
}

/// Terminal text: COG, TERMINAL_OUTPUT and INVALID_COG lines, window errors and reboots.
pub struct Terminal<W: Write> {
    out: BufWriter<W>,
    controls: Controls,
    failure: Failure,
    line: String,
}

impl<W: Write> Terminal<W> {
    pub fn new(out: W, controls: Controls, failure: Failure) -> Self {
        Self {
            out: BufWriter::with_capacity(64 * 1024, out),
            controls,
            failure,
            line: String::new(),
        }
    }

    fn write(&mut self, routed: &Routed<'_>) -> io::Result<()> {
        self.line.clear();
        if pst::render_routed(routed, self.controls, &mut self.line) {
            self.out.write_all(self.line.as_bytes())?;
        }
        Ok(())
    }
}

impl<W: Write> Destination for Terminal<W> {
    fn deliver(&mut self, routed: &Routed<'_>) {
        let result = self.write(routed);
        record_failure(&self.failure, result);
    }

    fn flush(&mut self) {
        let result = self.out.flush();
        record_failure(&self.failure, result);
    }
}

impl<W: Write> Drop for Terminal<W> {
    fn drop(&mut self) {
        Destination::flush(self);
    }
}

/// One JSON object per message: `code`, `kind`, `cog`, `window`, `targets`, `flags`, `len`, `hex`, `text`
/// (text kinds only), `t` (arrival, seconds since the start) and `seq`.
///
/// Targets are resolved against a mirror of the router's window registry, kept from the `WindowCreated` and
/// `Reboot` events, so each message is written whole the moment it is delivered.
pub struct JsonLines<W: Write> {
    out: BufWriter<W>,
    started: Instant,
    windows: WindowRegistry,
    failure: Failure,
    sequence: u64,
    line: String,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W, started: Instant, failure: Failure) -> Self {
        Self {
            out: BufWriter::with_capacity(256 * 1024, out),
            started,
            windows: WindowRegistry::new(),
            failure,
            sequence: 0,
            line: String::new(),
        }
    }

    fn write_message(&mut self, message: &MessageRef<'_>) -> io::Result<()> {
        let (window, targets) = self.window_and_targets(message);
        let line = &mut self.line;
        line.clear();
        let kind = message.kind;
        // Integer formatting throughout: `{:.6}` of an f64 and a `String` for the cog were a third of a
        // message's formatting.
        let arrival = message.arrival.saturating_duration_since(self.started);
        let _ = write!(
            line,
            r#"{{"seq":{},"t":{}.{:06},"code":{},"kind":"{}","cog":"#,
            self.sequence,
            arrival.as_secs(),
            arrival.subsec_micros(),
            kind.code(),
            kind.name()
        );
        match kind {
            MessageKind::Cog(cog) | MessageKind::Debugger(cog) => {
                let _ = write!(line, "{}", cog.get());
            }
            _ => line.push_str("null"),
        }
        line.push_str(r#","window":"#);
        match window {
            Some(window) => push_json_string(line, &String::from_utf8_lossy(&window)),
            None => line.push_str("null"),
        }
        line.push_str(r#","targets":["#);
        for (index, target) in targets.iter().enumerate() {
            if index > 0 {
                line.push(',');
            }
            push_json_string(line, &String::from_utf8_lossy(target));
        }
        line.push_str(r#"],"flags":["#);
        let names = [
            (Flags::OVERLONG, "overlong"),
            (Flags::PARTIAL, "partial"),
            (Flags::RESYNC, "resync"),
            (Flags::GOLDEN_SYNC, "golden_sync"),
            (Flags::ASSEMBLED, "assembled"),
        ];
        let mut first = true;
        for (flag, name) in names {
            if message.flags.contains(flag) {
                line.push_str(if first { "\"" } else { ",\"" });
                line.push_str(name);
                line.push('"');
                first = false;
            }
        }
        let _ = write!(line, r#"],"len":{},"hex":""#, message.bytes().len());
        // Two table lookups a byte: `fmt` (`write!("{:02x}")` per byte and its padding) was about 8 % of the
        // terminal's perf samples at 2 Mbaud.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        line.reserve(message.bytes().len() * 2);
        for &byte in message.bytes().iter() {
            line.push(char::from(HEX[usize::from(byte >> 4)]));
            line.push(char::from(HEX[usize::from(byte & 15)]));
        }
        line.push('"');
        if !matches!(kind, MessageKind::DbPacket | MessageKind::Debugger(_)) {
            line.push_str(r#","text":"#);
            push_json_string(line, &String::from_utf8_lossy(message.bytes()));
        }
        line.push_str("}\n");
        self.sequence += 1;
        self.out.write_all(self.line.as_bytes())?;
        Ok(())
    }

    /// The declared window of a create; the first target (and all targets) of an update.
    fn window_and_targets(&self, message: &MessageRef<'_>) -> (Option<Vec<u8>>, Vec<Vec<u8>>) {
        match Backtick::parse(without_line_end(message.bytes())) {
            Some(Backtick::Create(declaration)) => (declaration.name.map(<[u8]>::to_vec), Vec::new()),
            Some(Backtick::Update(tokens)) => {
                let targets: Vec<Vec<u8>> = tokens_naming_windows(tokens, &self.windows);
                (targets.first().cloned(), targets)
            }
            None => (None, Vec::new()),
        }
    }
}

fn tokens_naming_windows(tokens: Tokens<'_>, windows: &WindowRegistry) -> Vec<Vec<u8>> {
    tokens
        .map_while(|token| windows.find(token).map(|window| window.name().to_vec()))
        .collect()
}

fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl<W: Write> Destination for JsonLines<W> {
    fn deliver(&mut self, routed: &Routed<'_>) {
        match routed {
            Routed::Message(message) => {
                let result = self.write_message(message);
                record_failure(&self.failure, result);
            }
            Routed::Event(Event::Reboot { .. }) => self.windows.clear(),
            Routed::Event(Event::WindowCreated { window, .. }) => {
                self.windows.create(window.window_type(), window.name());
            }
            _ => {}
        }
    }

    fn flush(&mut self) {
        let result = self.out.flush();
        record_failure(&self.failure, result);
    }
}

impl<W: Write> Drop for JsonLines<W> {
    fn drop(&mut self) {
        Destination::flush(self);
    }
}

/// The debug log (`docs/p2-protocol.md` B.5) in files: `<dir>/debug_YYMMDD-HHMMSS.log`, a new file at each
/// reboot; the entries are [`sluicegate_p2::debug_log`]'s, stamped with the local time.
pub struct LogFiles {
    dir: PathBuf,
    file: BufWriter<File>,
    log: DebugLog,
    failure: Failure,
    entry: String,
}

impl LogFiles {
    pub fn open(dir: &Path, failure: Failure) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let file = BufWriter::new(File::create(Self::next_path(dir))?);
        Ok(Self {
            dir: dir.to_owned(),
            file,
            log: DebugLog::new(),
            failure,
            entry: String::new(),
        })
    }

    /// A path for a new log file in `dir`, named after the time (numbered if that name is taken).
    fn next_path(dir: &Path) -> PathBuf {
        let now = local_time();
        (0..)
            .map(|repeat| dir.join(now.file_name(repeat)))
            .find(|path| !path.exists())
            .expect("some numbered name is free")
    }

    /// Goes on in a new file. The old one is kept until the new one exists: if it cannot be made (the session
    /// then ends), what is routed meanwhile still has a file to go to.
    fn rotate(&mut self) -> io::Result<()> {
        let path = Self::next_path(&self.dir);
        let file = File::create(&path).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("cannot create the debug log {}: {error}", path.display()),
            )
        })?;
        std::mem::replace(&mut self.file, BufWriter::new(file)).flush()
    }

    fn write(&mut self, routed: &Routed<'_>) -> io::Result<()> {
        match self.log.handle(routed, local_time(), &mut self.entry) {
            LogStep::Write => self.file.write_all(self.entry.as_bytes()),
            LogStep::NewFile => self.rotate(),
            _ => Ok(()),
        }
    }
}

/// The local time now, as the debug log writes it.
fn local_time() -> LocalTime {
    use chrono::{Datelike as _, Timelike as _};
    let now = chrono::Local::now();
    // chrono's ranges fit; a leap second, which chrono gives as 1,000 ms or more, is written .999.
    let narrow = |value: u32| u8::try_from(value).unwrap_or(u8::MAX);
    LocalTime {
        year: u16::try_from(now.year()).unwrap_or(0),
        month: narrow(now.month()),
        day: narrow(now.day()),
        hour: narrow(now.hour()),
        minute: narrow(now.minute()),
        second: narrow(now.second()),
        millisecond: u16::try_from(now.timestamp_subsec_millis().min(999)).unwrap_or(999),
    }
}

impl Destination for LogFiles {
    fn deliver(&mut self, routed: &Routed<'_>) {
        let result = self.write(routed);
        record_failure(&self.failure, result);
    }

    fn flush(&mut self) {
        let result = self.file.flush();
        record_failure(&self.failure, result);
    }
}

impl Drop for LogFiles {
    fn drop(&mut self) {
        Destination::flush(self);
    }
}

/// `--windows DIR`: one file per window declaration, the declaration line first, then each update's data, named
/// as [`sluicegate_p2::window_files`] says (`NAME.txt`, `NAME.2.txt` for a redeclaration). A file of the same
/// name left in DIR by an earlier session is replaced.
///
/// A file stays open while its window exists: a redeclaration or a reboot closes it (the registry forgets the
/// window), so the files open at once are the windows declared since the last reboot; the registry sets no bound
/// on those, and past the process's limit on open files the window's file fails as below.
///
/// A file that cannot be created or written (a name too long for the file system, a full disk) is reported once
/// on stderr and that window's data is then dropped, while the session and the other windows carry on: unlike
/// stdout or the debug log, one window's file is a copy of some lines (which the log and JSON also take), not worth
/// ending a debugging session for.
pub struct WindowFiles {
    dir: PathBuf,
    /// The windows declared since the last reboot, oldest first.
    files: Vec<WindowFile>,
    /// The names of this session's files so far.
    names: WindowFileNames,
}

/// One window's file.
struct WindowFile {
    window: WindowId,
    /// The name as declared, to find a redeclaration (ASCII case-insensitively) and to report errors.
    name: Box<[u8]>,
    path: PathBuf,
    /// `None` once a write failed (and was reported).
    writer: Option<BufWriter<File>>,
}

impl WindowFile {
    /// Applies `write` to the file; the first failure is reported and closes it.
    fn write_with(&mut self, write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) {
        if let Some(writer) = self.writer.as_mut()
            && let Err(error) = write(writer)
        {
            self.fail(&error);
        }
    }

    fn fail(&mut self, error: &io::Error) {
        self.writer = None;
        let name = String::from_utf8_lossy(&self.name);
        // Not `eprintln!`, which panics if stderr is closed.
        let _ = writeln!(
            io::stderr().lock(),
            "sluicegate p2: window '{}': cannot write {}: {error}; the window's data is not saved, the session goes on",
            name.escape_debug(),
            self.path.display()
        );
    }

    /// Writes out what is buffered and closes the file.
    fn close(mut self) {
        self.write_with(|writer| writer.flush());
    }
}

impl WindowFiles {
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            files: Vec::new(),
            names: WindowFileNames::new(),
        })
    }

    fn declare(&mut self, window: &Window, declaration: &[u8]) {
        if let Some(index) = self
            .files
            .iter()
            .position(|file| file.name.eq_ignore_ascii_case(window.name()))
        {
            // Closed before its successor is opened: nothing of it is left buffered to land in another file.
            self.files.remove(index).close();
        }
        let path = self.dir.join(self.names.next(window.name()));
        let mut file = WindowFile {
            window: window.id(),
            name: window.name().into(),
            path,
            writer: None,
        };
        match File::create(&file.path) {
            Ok(created) => {
                file.writer = Some(BufWriter::new(created));
                file.write_with(|writer| {
                    writer.write_all(without_line_end(declaration))?;
                    writer.write_all(b"\n")
                });
            }
            Err(error) => file.fail(&error),
        }
        self.files.push(file);
    }
}

impl Destination for WindowFiles {
    fn deliver(&mut self, routed: &Routed<'_>) {
        match routed {
            Routed::Event(Event::WindowCreated { window, message }) => self.declare(window, message.bytes()),
            Routed::Event(Event::Reboot { .. }) => self.files.drain(..).for_each(WindowFile::close),
            Routed::WindowUpdate(update) => {
                if let Some(file) = self.files.iter_mut().find(|file| file.window == update.window.id()) {
                    file.write_with(|writer| {
                        writer.write_all(update.data())?;
                        writer.write_all(b"\n")
                    });
                }
            }
            _ => {}
        }
    }

    fn flush(&mut self) {
        for file in &mut self.files {
            file.write_with(|writer| writer.flush());
        }
    }
}

impl Drop for WindowFiles {
    fn drop(&mut self) {
        Destination::flush(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_controls() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\r\n\x01");
        assert_eq!(out, r#""a\"b\\c\r\n\u0001""#);
    }
}
