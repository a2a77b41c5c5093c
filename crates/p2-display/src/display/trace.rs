//! What the sampled displays (LOGIC, SCOPE, SCOPE_XY, FFT, SPECTRO) share: PNut's RATE counter, the sample
//! history, the line-and-dot pen, opaque label text, and the lazy view.
//!
//! # Lazy drawing
//!
//! PNut redraws a whole trace at every RATE or trigger refresh. These models only record *which* samples a
//! refresh shows (a [`View`]: the history's write count and how many samples were buffered, plus the trigger
//! mark) and draw that view when a caller asks for the picture. A burst of thousands of sample sets therefore
//! costs one drawing per frame the caller takes, and the picture is the one PNut would show after the last
//! refresh. The history keeps twice as many samples as any view uses, so a view stays drawable until 2,048 more
//! samples arrive; a model draws the pending view just before a sample would overwrite one it needs, and before
//! any setting that changes how it draws.

use super::Setup;
use crate::color::ColorState;
use crate::draw::{LineTables, fill_rect, smooth_line_with};
use crate::element::{Cursor, Keyword};
use crate::frame::{Canvas, Rect};
use crate::pack::Packing;
use crate::text::{Fonts, TextStyle};

/// The most samples (or sample sets) a display buffers (PNut's `DataSets`).
pub(crate) const SAMPLES_MAX: usize = 2048;

/// Samples kept per channel: twice a view's longest reach (see the module docs).
pub(crate) const HISTORY: usize = 2 * SAMPLES_MAX;

/// `RateCycle`: counts events and fires when the count *equals* RATE (so RATE ≤ 0 never fires).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rate {
    pub(crate) rate: i32,
    pub(crate) count: i32,
}

impl Rate {
    pub(crate) fn new(rate: i32) -> Self {
        Self { rate, count: 0 }
    }

    #[inline]
    pub(crate) fn cycle(&mut self) -> bool {
        self.count = self.count.wrapping_add(1);
        if self.count == self.rate {
            self.count = 0;
            true
        } else {
            false
        }
    }
}

/// The last [`HISTORY`] values of each channel, addressed by their absolute index (values never written read 0,
/// as PNut's zero-initialised buffers do).
#[derive(Clone, Debug)]
pub(crate) struct History {
    data: Box<[i32]>,
    channels: usize,
    written: u64,
}

impl History {
    pub(crate) fn new(channels: usize) -> Self {
        Self {
            data: vec![0; channels * HISTORY].into(),
            channels,
            written: 0,
        }
    }

    /// Values pushed so far (PNut's `SamplePtr`, unwrapped).
    #[inline]
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// Appends one set: a value per channel (missing channels read 0).
    #[inline]
    pub(crate) fn push(&mut self, set: &[i32]) {
        let slot = (self.written % HISTORY as u64) as usize;
        for channel in 0..self.channels {
            self.data[channel * HISTORY + slot] = set.get(channel).copied().unwrap_or(0);
        }
        self.written += 1;
    }

    /// The value of `channel` at absolute index `index` (wrapping: an index "before 0" reads a never-written 0).
    #[inline]
    pub(crate) fn get(&self, channel: usize, index: u64) -> i32 {
        self.data[channel * HISTORY + (index % HISTORY as u64) as usize]
    }

    /// `count` values of `channel` ending before index `end`, oldest first, as at most two slices.
    pub(crate) fn window(&self, channel: usize, end: u64, count: usize) -> (&[i32], &[i32]) {
        let ring = &self.data[channel * HISTORY..(channel + 1) * HISTORY];
        let start = (end.wrapping_sub(count as u64) % HISTORY as u64) as usize;
        if start + count <= HISTORY {
            (&ring[start..start + count], &[])
        } else {
            (&ring[start..], &ring[..start + count - HISTORY])
        }
    }

    /// Whether pushing one more value would overwrite one at or after index `oldest`.
    #[inline]
    pub(crate) fn would_overwrite(&self, oldest: u64) -> bool {
        self.written + 1 > oldest + HISTORY as u64
    }
}

/// The declaration keywords LOGIC, SCOPE, SCOPE_XY and FFT read alike: TEXTSIZE 6–200 (10), COLOR back
/// (black) grid (`#404040`), the packing words, and TITLE/POS/HIDEXY. Colours are read in RGB24, the only mode
/// these displays have.
#[derive(Debug)]
pub(crate) struct Appearance {
    pub(crate) text_size: i32,
    pub(crate) back_color: u32,
    pub(crate) grid_color: u32,
    pub(crate) packing: Packing,
    pub(crate) colors: ColorState,
}

impl Appearance {
    pub(crate) fn new() -> Self {
        Self {
            text_size: 10,
            back_color: 0,
            grid_color: 0x40_4040,
            packing: Packing::default(),
            colors: ColorState::default(),
        }
    }

    /// Reads `key` and its arguments if it is one of these; any other keyword is ignored.
    pub(crate) fn key(&mut self, key: Keyword, cursor: &mut Cursor<'_>, setup: &mut Setup<'_>) {
        match key {
            Keyword::Textsize => {
                cursor.key_val_within(&mut self.text_size, 6, 200);
            }
            Keyword::Color => {
                if self.colors.key_color_into(cursor, &mut self.back_color) {
                    self.colors.key_color_into(cursor, &mut self.grid_color);
                }
            }
            k if k.is_packing() => self.packing = Packing::from_directive(k, cursor),
            k => {
                setup.common(k, cursor);
            }
        }
    }
}

/// PNut's set buffer: numbers fill the channels in order and each full set is handed on. It is local to one
/// message, so a set never spans messages (a partial set at a message's end is dropped); channels beyond the set
/// width keep what this message last put there (PNut's uninitialised stack, here zeros).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SetBuffer<const N: usize> {
    values: [i32; N],
    filled: usize,
}

impl<const N: usize> SetBuffer<N> {
    pub(crate) fn new() -> Self {
        Self {
            values: [0; N],
            filled: 0,
        }
    }

    /// Adds `value` to a set `width` values wide (1..=N); the set, once full. With no channel (`width` 0) nothing
    /// collects.
    #[inline]
    pub(crate) fn push(&mut self, value: i32, width: usize) -> Option<&[i32; N]> {
        if width == 0 {
            return None;
        }
        self.values[self.filled] = value;
        self.filled += 1;
        if self.filled < width {
            return None;
        }
        self.filled = 0;
        Some(&self.values)
    }
}

/// The [`DisplayModel`](super::DisplayModel) methods of a model drawn lazily into its `canvas`: it has fields
/// `canvas: Canvas`, `stale: bool` (a refresh waits to be drawn) and `frames: u64`, and a method
/// `settle(&mut self, &mut Fonts)` that draws what waits; the picture is shown at 1:1 with PC_MOUSE in client
/// pixels.
macro_rules! lazy_canvas_methods {
    () => {
        fn front(&mut self, fonts: &mut Fonts) -> &Framebuffer {
            self.settle(fonts);
            &self.canvas.front
        }

        fn take_damage(&mut self, fonts: &mut Fonts) -> Option<Rect> {
            self.settle(fonts);
            self.canvas.shown.take()
        }

        fn frames(&self) -> u64 {
            self.frames
        }

        fn is_damaged(&self) -> bool {
            self.stale || self.canvas.shown.rect().is_some()
        }

        fn geometry(&self) -> Geometry {
            Geometry {
                client_width: self.canvas.width(),
                client_height: self.canvas.height(),
                units: MouseUnits::Client,
            }
        }
    };
}
pub(crate) use lazy_canvas_methods;

/// What a refresh shows: the samples buffered then (ages `0..count` before write count `end`) and the trigger mark
/// (`Some(toggle)` when the refresh was a trigger, PNut's `vTriggered`/`vToggle`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct View {
    pub(crate) end: u64,
    pub(crate) count: usize,
    pub(crate) mark: Option<bool>,
}

impl View {
    /// The oldest index the view reads.
    pub(crate) fn oldest(&self) -> u64 {
        self.end.saturating_sub(self.count as u64)
    }
}

/// `DrawLineDot`: each point is joined to the previous one by a line of radius LINESIZE/4 px and/or marked by a
/// dot of radius DOTSIZE/2 px; all in 1/256 px. The pen keeps the chord tables of both radii.
#[derive(Clone, Debug)]
pub(crate) struct Pen {
    line: Option<LineTables>,
    dot: Option<LineTables>,
    x: i32,
    y: i32,
}

impl Pen {
    pub(crate) fn new(line_size: i32, dot_size: i32) -> Self {
        Self {
            line: (line_size > 0).then(|| LineTables::new(line_size << 6)),
            dot: (dot_size > 0).then(|| LineTables::new(dot_size << 7)),
            x: 0,
            y: 0,
        }
    }

    /// Draws to `(x, y)`; the `first` point of a trace only moves the pen.
    #[inline]
    pub(crate) fn line_dot(&mut self, canvas: &mut Canvas, x: i32, y: i32, color: u32, first: bool) {
        if let Some(line) = self.line.as_mut().filter(|_| !first) {
            smooth_line_with(canvas, line, self.x, self.y, x, y, color, 0xFF);
        }
        if let Some(dot) = &mut self.dot {
            smooth_line_with(canvas, dot, x, y, x, y, color, 0xFF);
        }
        (self.x, self.y) = (x, y);
    }
}

/// GDI `TextOut` with the cell's top-left at `(x, y)`; with a solid `brush` the text cell is filled first (PNut's
/// labels are drawn on an opaque background of the back colour).
#[allow(clippy::too_many_arguments)]
pub(crate) fn text_out(
    fonts: &mut Fonts,
    canvas: &mut Canvas,
    x: i32,
    y: i32,
    text: &[u8],
    style: TextStyle,
    color: u32,
    brush: Option<u32>,
) {
    if text.is_empty() {
        return;
    }
    if let Some(brush) = brush {
        let width = fonts.text_width(style, text);
        let height = fonts.style_metrics(style).chr_height;
        fill_rect(canvas, x, y, x.saturating_add(width), y.saturating_add(height), brush);
    }
    let clip = canvas.back.bounds();
    let touched = fonts.draw(&mut canvas.back, clip, x, y, text, style, 0, color);
    canvas.touch(touched);
}

/// `value` in decimal, with a `+` before a value ≥ 0 when `plus` (PNut's guide text "+255"), written into `buf`:
/// drawing a picture allocates nothing.
pub(crate) fn decimal(value: i64, plus: bool, buf: &mut [u8; 21]) -> &[u8] {
    let mut start = buf.len();
    let mut rest = value.unsigned_abs();
    loop {
        start -= 1;
        buf[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 || plus {
        start -= 1;
        buf[start] = if value < 0 { b'-' } else { b'+' };
    }
    &buf[start..]
}

/// Shows a picture drawn whole in the back buffer: the buffers trade places and the front is damaged whole.
pub(crate) fn show_back(canvas: &mut Canvas) {
    std::mem::swap(&mut canvas.back, &mut canvas.front);
    canvas.pending.take();
    let bounds: Rect = canvas.front.bounds();
    canvas.shown.add(bounds);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_fires_when_the_count_equals_it() {
        let mut rate = Rate::new(3);
        let fired: Vec<bool> = (0..7).map(|_| rate.cycle()).collect();
        assert_eq!(fired, [false, false, true, false, false, true, false]);
        let mut never = Rate::new(0);
        assert!((0..10).all(|_| !never.cycle()), "RATE 0 never fires");
    }

    #[test]
    fn decimal_text() {
        let mut buf = [0; 21];
        assert_eq!(decimal(255, true, &mut buf), b"+255");
        assert_eq!(decimal(0, true, &mut buf), b"+0");
        assert_eq!(decimal(-40, true, &mut buf), b"-40");
        assert_eq!(decimal(127, false, &mut buf), b"127");
        assert_eq!(decimal(i64::MIN, true, &mut buf), b"-9223372036854775808");
    }

    #[test]
    fn history_windows_wrap() {
        let mut history = History::new(2);
        for i in 0..(HISTORY as i32 + 10) {
            history.push(&[i, -i]);
        }
        let end = history.written();
        assert_eq!(history.get(0, end - 1), HISTORY as i32 + 9);
        assert_eq!(history.get(1, end - 1), -(HISTORY as i32 + 9));
        let (a, b) = history.window(0, end, 20);
        let joined: Vec<i32> = a.iter().chain(b).copied().collect();
        assert_eq!(
            joined,
            ((HISTORY as i32 - 10)..(HISTORY as i32 + 10)).collect::<Vec<_>>()
        );
        assert!(history.would_overwrite(end - HISTORY as u64));
        assert!(!history.would_overwrite(end - HISTORY as u64 + 1));
        let fresh = History::new(1);
        assert_eq!(fresh.get(0, 0u64.wrapping_sub(2048)), 0, "before the first sample: 0");
    }
}
