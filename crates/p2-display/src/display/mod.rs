//! One open display: what every type shares (caption, position, input, SAVE/PC_KEY/PC_MOUSE) and the
//! [`Model`] of its type.
//!
//! # Adding a display type
//!
//! A type is a struct in its own module here (`bitmap.rs`, `term.rs`, `plot.rs` are the examples) that
//! implements [`DisplayModel`]:
//!
//! 1. `configure` reads the declaration's elements with the [`Cursor`] exactly as PNut's `<TYPE>_Configure`
//!    does (the shared `TITLE`, `POS` and `HIDEXY` go through [`Setup::common`]), and builds its buffers: a
//!    [`Canvas`](crate::frame::Canvas) (back and front [`Framebuffer`]s with damage tracking) or a lazily rendered model of its own.
//! 2. `update` runs one feed message's elements, as `<TYPE>_Update` does; `SAVE`, `PC_KEY` and `PC_MOUSE`
//!    go through [`save`], [`pc_key`] and [`pc_mouse`], which need only the trait's other methods.
//! 3. `front` brings the visible image up to date and returns it with its damage (lazy models render here);
//!    `geometry` says how big it is on screen and how PC_MOUSE maps the pointer.
//!
//! Then add a variant to [`Model`] and one line to each `match` in it. A picture larger than [`PIXELS_MAX`]
//! is refused through [`Setup::size`]: the declaration is then dropped as [`DropReason::TooLarge`].
//!
//! [`DropReason::TooLarge`]: crate::DropReason::TooLarge

mod bitmap;
mod chart;
mod fft;
mod logic;
mod midi;
mod plot;
mod scan;
mod scope;
mod scope_xy;
mod spectro;
mod term;
mod trace;

use std::collections::VecDeque;
use std::time::Instant;

use sluicegate_p2::WindowType;

use crate::element::{Cursor, Keyword, Symbol};
use crate::frame::{Framebuffer, Rect};
use crate::input::{InputState, MOUSE_OUTSIDE, PIXEL_OUTSIDE, Reply, mouse_long};
use crate::registry::{DisplayId, Event, LayerSource, Request, SaveRefused, TypeStats};
use crate::text::{Fonts, decode_windows_1252};

pub(crate) use bitmap::Bitmap;
pub(crate) use fft::Fft;
pub(crate) use logic::Logic;
pub(crate) use midi::Midi;
pub(crate) use plot::Plot;
pub(crate) use scope::Scope;
pub(crate) use scope_xy::ScopeXy;
pub(crate) use spectro::Spectro;
pub(crate) use term::Term;

/// The most pixels one display's buffer may hold (16 Mi, 64 MiB per buffer). Every size PNut allows fits except
/// a SPARSE bitmap drawn at DOTSIZE scale (up to 2048·256 px a side), which then draws as a plain bitmap, and a
/// TERM of many cells at a large TEXTSIZE, whose declaration is refused.
pub(crate) const PIXELS_MAX: u64 = 1 << 24;

/// What every declaration may set, whatever its type.
#[derive(Debug)]
pub(crate) struct Common {
    pub(crate) caption: String,
    pub(crate) position: Option<(i32, i32)>,
    pub(crate) hide_xy: bool,
}

/// What `configure` gets besides the elements.
pub(crate) struct Setup<'a> {
    pub(crate) common: &'a mut Common,
    pub(crate) fonts: &'a mut Fonts,
    /// Set by [`size`](Self::size) when the picture would be too large: the declaration is refused.
    pub(crate) too_large: bool,
}

impl Setup<'_> {
    /// A picture of `width × height` pixels, if it fits [`PIXELS_MAX`]; otherwise the declaration is refused and
    /// a 1×1 stand-in is returned (PNut's own limits allow a few sizes no window could show, e.g. LOGIC at 2047
    /// samples of 32 px, or a TERM of 256×256 cells at TEXTSIZE 15 or more).
    pub(crate) fn size(&mut self, width: i64, height: i64) -> (u32, u32) {
        if width >= 1 && height >= 1 && width.saturating_mul(height) as u64 <= PIXELS_MAX {
            (width as u32, height as u32)
        } else {
            self.too_large = true;
            (1, 1)
        }
    }

    /// `TITLE 'caption'`, `POS x y`, `HIDEXY`: `true` if `key` was one of them (and its arguments were read).
    pub(crate) fn common(&mut self, key: Keyword, cursor: &mut Cursor<'_>) -> bool {
        match key {
            Keyword::Title => {
                if let Some(title) = cursor.next_str() {
                    self.common.caption = decode_windows_1252(title);
                }
            }
            Keyword::Pos => {
                if let Some(x) = cursor.next_num() {
                    let y = cursor.next_num();
                    let (_, old_y) = self.common.position.unwrap_or((0, 0));
                    self.common.position = Some((x, y.unwrap_or(old_y)));
                }
            }
            Keyword::Hidexy => self.common.hide_xy = true,
            _ => return false,
        }
        true
    }
}

/// What `update` gets besides the elements: the time, the fonts, this display's input, and where events go.
pub(crate) struct Context<'a> {
    pub(crate) now: Instant,
    pub(crate) display: DisplayId,
    pub(crate) fonts: &'a mut Fonts,
    pub(crate) input: &'a mut InputState,
    pub(crate) events: &'a mut VecDeque<Event>,
    pub(crate) layers: &'a mut dyn LayerSource,
    pub(crate) stats: &'a mut TypeStats,
}

/// How the pointer maps to the numbers PC_MOUSE reports (A.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MouseUnits {
    /// Raw client pixels, top-left origin (LOGIC, SCOPE, SCOPE_XY, FFT, MIDI).
    Client,
    /// PLOT, BITMAP, SPECTRO: client pixels (flipped: x from the right when `from_right`, y from the bottom unless
    /// `from_top`) divided by DOTSIZE.
    Logical {
        dot_x: i32,
        dot_y: i32,
        from_right: bool,
        from_top: bool,
    },
    /// TERM: character column and row; outside the text area counts as outside.
    Cells {
        margin: i32,
        cell_width: i32,
        cell_height: i32,
    },
}

/// A display's size on screen and its pointer mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) client_width: u32,
    pub(crate) client_height: u32,
    pub(crate) units: MouseUnits,
}

/// A display type's state machine. See the module docs for how to add one.
pub(crate) trait DisplayModel: Sized {
    /// A declaration's elements (after the name), as `<TYPE>_Configure`.
    fn configure(cursor: &mut Cursor<'_>, setup: &mut Setup<'_>) -> Self;
    /// A feed's elements (after the targets), as `<TYPE>_Update`.
    fn update(&mut self, cursor: &mut Cursor<'_>, ctx: &mut Context<'_>);
    /// The front buffer brought up to date, and the region changed since the last `take_damage`.
    fn front(&mut self, fonts: &mut Fonts) -> &Framebuffer;
    /// The front region changed since the last call (after [`front`](Self::front) rendered it).
    fn take_damage(&mut self, fonts: &mut Fonts) -> Option<Rect>;
    /// Refreshes shown so far.
    fn frames(&self) -> u64;
    /// Whether the front image changed since the last `take_damage` (without rendering).
    fn is_damaged(&self) -> bool;
    /// Size on screen and pointer mapping.
    fn geometry(&self) -> Geometry;
    /// The hover read-out for client pixel `(x, y)` (PNut's cross cursor label, A.0), `None` where it shows nothing.
    fn hover(&self, x: i32, y: i32) -> Option<String>;
}

/// The model of each display type.
#[derive(Debug)]
pub(crate) enum Model {
    Logic(Box<Logic>),
    Scope(Box<Scope>),
    ScopeXy(Box<ScopeXy>),
    Fft(Box<Fft>),
    Spectro(Box<Spectro>),
    Plot(Box<Plot>),
    Term(Term),
    Bitmap(Bitmap),
    Midi(Box<Midi>),
}

macro_rules! each_model {
    ($model:expr, $m:ident => $body:expr) => {
        match $model {
            Model::Logic($m) => $body,
            Model::Scope($m) => $body,
            Model::ScopeXy($m) => $body,
            Model::Fft($m) => $body,
            Model::Spectro($m) => $body,
            Model::Plot($m) => $body,
            Model::Term($m) => $body,
            Model::Bitmap($m) => $body,
            Model::Midi($m) => $body,
        }
    };
}

impl Model {
    /// A model for `kind` from a declaration.
    pub(crate) fn configure(kind: WindowType, cursor: &mut Cursor<'_>, setup: &mut Setup<'_>) -> Model {
        match kind {
            WindowType::Logic => Model::Logic(Box::new(Logic::configure(cursor, setup))),
            WindowType::Scope => Model::Scope(Box::new(Scope::configure(cursor, setup))),
            WindowType::ScopeXy => Model::ScopeXy(Box::new(ScopeXy::configure(cursor, setup))),
            WindowType::Fft => Model::Fft(Box::new(Fft::configure(cursor, setup))),
            WindowType::Spectro => Model::Spectro(Box::new(Spectro::configure(cursor, setup))),
            WindowType::Plot => Model::Plot(Box::new(Plot::configure(cursor, setup))),
            WindowType::Term => Model::Term(Term::configure(cursor, setup)),
            WindowType::Bitmap => Model::Bitmap(Bitmap::configure(cursor, setup)),
            WindowType::Midi => Model::Midi(Box::new(Midi::configure(cursor, setup))),
        }
    }

    pub(crate) fn update(&mut self, cursor: &mut Cursor<'_>, ctx: &mut Context<'_>) {
        each_model!(self, m => m.update(cursor, ctx))
    }

    pub(crate) fn front(&mut self, fonts: &mut Fonts) -> &Framebuffer {
        each_model!(self, m => m.front(fonts))
    }

    pub(crate) fn take_damage(&mut self, fonts: &mut Fonts) -> Option<Rect> {
        each_model!(self, m => m.take_damage(fonts))
    }

    pub(crate) fn frames(&self) -> u64 {
        each_model!(self, m => m.frames())
    }

    pub(crate) fn geometry(&self) -> Geometry {
        each_model!(self, m => m.geometry())
    }

    pub(crate) fn is_damaged(&self) -> bool {
        each_model!(self, m => m.is_damaged())
    }

    pub(crate) fn hover(&self, x: i32, y: i32) -> Option<String> {
        each_model!(self, m => m.hover(x, y))
    }
}

/// An open display.
#[derive(Debug)]
pub struct Display {
    pub(crate) id: DisplayId,
    pub(crate) kind: WindowType,
    pub(crate) name: Box<str>,
    pub(crate) symbol: Symbol,
    pub(crate) common: Common,
    pub(crate) input: InputState,
    pub(crate) model: Model,
}

impl Display {
    /// Its id (a new declaration of the same name gets a new one).
    pub fn id(&self) -> DisplayId {
        self.id
    }

    /// Its type.
    pub fn kind(&self) -> WindowType {
        self.kind
    }

    /// Its name as declared (original case, at most 30 characters: B.1).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The caption: `TITLE`, or `name - TYPE`.
    pub fn caption(&self) -> &str {
        &self.common.caption
    }

    /// `POS x y`, if given (PNut adds its `DEBUG_DISPLAY_LEFT/TOP`, 0 by default).
    pub fn position(&self) -> Option<(i32, i32)> {
        self.common.position
    }

    /// Whether `HIDEXY` hides the pointer read-out.
    pub fn hides_xy(&self) -> bool {
        self.common.hide_xy
    }

    /// Size on screen in pixels (DOTSIZE applied).
    pub fn client_size(&self) -> (u32, u32) {
        let g = self.model.geometry();
        (g.client_width, g.client_height)
    }

    /// Refreshes shown so far.
    pub fn frames(&self) -> u64 {
        self.model.frames()
    }

    /// The pointer read-out PNut shows next to its cross cursor at client pixel `(x, y)`, in the display's units
    /// (`None` with HIDEXY, outside the client area — PNut's cursor exists only over it — or where it shows
    /// nothing).
    pub fn hover_text(&self, x: i32, y: i32) -> Option<String> {
        let geometry = self.model.geometry();
        let inside = u32::try_from(x).is_ok_and(|x| x < geometry.client_width)
            && u32::try_from(y).is_ok_and(|y| y < geometry.client_height);
        if self.common.hide_xy || !inside {
            return None;
        }
        self.model.hover(x, y)
    }
}

/// `PC_KEY` (A.0): one long, the key typed within 100 ms (0 if none), then forgotten.
pub(crate) fn pc_key(ctx: &mut Context<'_>) {
    let code = ctx.input.take_key(ctx.now);
    ctx.stats.replies += 1;
    ctx.events.push_back(Event::Reply {
        display: ctx.display,
        request: Request::Key,
        reply: Reply::key(code),
    });
}

/// `PC_MOUSE` (A.0): position in the display's units with wheel and buttons, and the pixel under the pointer;
/// the outside values when the pointer is not over the display (or TERM's text area). The wheel is forgotten.
pub(crate) fn pc_mouse<M: DisplayModel>(model: &mut M, ctx: &mut Context<'_>) {
    let geometry = model.geometry();
    let wheel = ctx.input.take_wheel(ctx.now);
    let (w, h) = (geometry.client_width as i32, geometry.client_height as i32);
    let inside = ctx.input.pointer.filter(|&(x, y)| {
        let on_client = (0..w).contains(&x) && (0..h).contains(&y);
        match geometry.units {
            MouseUnits::Cells { margin, .. } => {
                on_client && (margin..w - margin).contains(&x) && (margin..h - margin).contains(&y)
            }
            _ => on_client,
        }
    });
    let reply = match inside {
        None => Reply::mouse(MOUSE_OUTSIDE, PIXEL_OUTSIDE),
        Some((x, y)) => {
            let front = model.front(ctx.fonts);
            let (fx, fy) = (
                (i64::from(x) * i64::from(front.width()) / i64::from(w.max(1))) as u32,
                (i64::from(y) * i64::from(front.height()) / i64::from(h.max(1))) as u32,
            );
            let pixel = front.get(fx, fy).unwrap_or(0);
            let (ux, uy) = match geometry.units {
                MouseUnits::Client => (x, y),
                MouseUnits::Logical {
                    dot_x,
                    dot_y,
                    from_right,
                    from_top,
                } => {
                    // PNut measures from the far edge without subtracting one: the bottom row reads 1 / DOTSIZE.
                    let px = if from_right { w - x } else { x };
                    let py = if from_top { y } else { h - y };
                    (px / dot_x.max(1), py / dot_y.max(1))
                }
                MouseUnits::Cells {
                    margin,
                    cell_width,
                    cell_height,
                } => ((x - margin) / cell_width.max(1), (y - margin) / cell_height.max(1)),
            };
            Reply::mouse(mouse_long(ux, uy, wheel, ctx.input.buttons), pixel)
        }
    };
    ctx.stats.replies += 1;
    ctx.events.push_back(Event::Reply {
        display: ctx.display,
        request: Request::Mouse,
        reply,
    });
}

/// `name` (Windows-1252 bytes, as PNut's Windows reads them) as a file name inside the caller's directory, if it is
/// one: not empty, no path separator or drive (`/`, `\\`, `:`), no `..`, and nothing Windows refuses in a name
/// (control characters, `* ? " < > |`).
pub(crate) fn check_file_name(name: &[u8]) -> Result<String, SaveRefused> {
    let text = decode_windows_1252(name);
    let refused = |c: char| c.is_ascii_control() || "/\\:*?\"<>|".contains(c);
    if text.is_empty() || text.contains(refused) || text.contains("..") {
        return Err(SaveRefused::BadName);
    }
    Ok(text)
}

/// `SAVE 'f'` (the front buffer at logical size), `SAVE WINDOW 'f'` (the display as shown), `SAVE l t w h 'f'`
/// (a desktop region: refused, there is no desktop here). Without a string nothing is saved; a keyword other
/// than `WINDOW` after SAVE is swallowed, as in PNut.
pub(crate) fn save<M: DisplayModel>(model: &mut M, cursor: &mut Cursor<'_>, ctx: &mut Context<'_>) {
    let (name, window) = if let Some(name) = cursor.next_str() {
        (name, false)
    } else if let Some(key) = cursor.next_key() {
        if key != Keyword::Window {
            return;
        }
        match cursor.next_str() {
            Some(name) => (name, true),
            None => return,
        }
    } else {
        let mut region = [0; 4];
        if !region.iter_mut().all(|v| cursor.key_val(v)) || cursor.next_str().is_none() {
            return;
        }
        return refuse_save(ctx, SaveRefused::DesktopRegion);
    };
    let file = match check_file_name(name) {
        Ok(file) => file,
        Err(reason) => return refuse_save(ctx, reason),
    };
    let image = if window {
        let geometry = model.geometry();
        match window_image(model.front(ctx.fonts), geometry) {
            Some(image) => image,
            None => return refuse_save(ctx, SaveRefused::TooLarge),
        }
    } else {
        model.front(ctx.fonts).clone()
    };
    ctx.stats.saves += 1;
    ctx.events.push_back(Event::Save {
        display: ctx.display,
        file,
        image,
    });
}

/// A `SAVE` that writes nothing: counted, and reported with its reason.
fn refuse_save(ctx: &mut Context<'_>, reason: SaveRefused) {
    ctx.stats.saves_refused += 1;
    ctx.events.push_back(Event::SaveRefused {
        display: ctx.display,
        reason,
    });
}

/// The front buffer `front` as the window shows it (DOTSIZE applied), unless that would exceed [`PIXELS_MAX`].
pub(crate) fn window_image(front: &Framebuffer, geometry: Geometry) -> Option<Framebuffer> {
    if u64::from(geometry.client_width) * u64::from(geometry.client_height) > PIXELS_MAX {
        return None;
    }
    Some(magnify(front, geometry.client_width, geometry.client_height))
}

/// `image` stretched to `width × height` with nearest-neighbour sampling (PNut's `StretchDraw`).
pub(crate) fn magnify(image: &Framebuffer, width: u32, height: u32) -> Framebuffer {
    if (width, height) == (image.width(), image.height()) {
        return image.clone();
    }
    let mut pixels = Vec::with_capacity(width as usize * height as usize);
    for y in 0..height {
        let row = image.row((u64::from(y) * u64::from(image.height()) / u64::from(height)) as u32);
        pixels.extend((0..width).map(|x| row[(u64::from(x) * u64::from(image.width()) / u64::from(width)) as usize]));
    }
    Framebuffer::from_pixels(width, height, pixels).expect("width·height pixels")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_stay_inside_the_directory() {
        for good in [&b"picture"[..], b"a.b", b"My Bitmap 2"] {
            assert!(check_file_name(good).is_ok(), "{good:?}");
        }
        assert_eq!(
            check_file_name(b"Gr\xFC\xDFe \x80").as_deref(),
            Ok("Grüße €"),
            "Windows-1252"
        );
        for bad in [
            &b""[..],
            b"../x",
            b"a/b",
            b"a\\b",
            b"..",
            b"x..y",
            b"C:x",
            b"c:\\x",
            b"a\0b",
            b"a\nb",
            b"a*b",
            b"what?",
            b"<x>",
            b"a|b",
            b"\"q\"",
        ] {
            assert_eq!(check_file_name(bad), Err(SaveRefused::BadName), "{bad:?}");
        }
    }

    #[test]
    fn magnify_is_nearest_neighbour() {
        let small = Framebuffer::from_pixels(2, 1, vec![1, 2]).unwrap();
        let big = magnify(&small, 4, 2);
        assert_eq!(big.pixels(), [1, 1, 2, 2, 1, 1, 2, 2]);
    }
}
