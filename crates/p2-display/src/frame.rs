//! Framebuffers: every display draws into a back buffer and shows a front buffer (PNut's `Bitmap[0]` and
//! `Bitmap[1]`). A refresh copies only the part of the back buffer drawn since the last refresh, and the front
//! buffer keeps the region changed since a caller last took it, so a UI sends only what changed.

/// A rectangle of pixels: `x..x+width`, `y..y+height`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Rect {
    /// A rectangle.
    pub const fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Self { x, y, width, height }
    }

    /// Whether it covers no pixel.
    pub fn is_empty(self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// One past the right column.
    pub fn right(self) -> u32 {
        self.x + self.width
    }

    /// One past the bottom row.
    pub fn bottom(self) -> u32 {
        self.y + self.height
    }

    /// The smallest rectangle holding both (an empty one is ignored).
    pub fn union(self, other: Rect) -> Rect {
        if self.is_empty() {
            return other;
        }
        if other.is_empty() {
            return self;
        }
        let (x, y) = (self.x.min(other.x), self.y.min(other.y));
        Rect::new(
            x,
            y,
            self.right().max(other.right()) - x,
            self.bottom().max(other.bottom()) - y,
        )
    }

    /// Whether `(x, y)` lies inside.
    pub fn contains(self, x: u32, y: u32) -> bool {
        x >= self.x && x < self.right() && y >= self.y && y < self.bottom()
    }

    /// The part of a signed rectangle `[left, right) × [top, bottom)` inside a `width × height` buffer.
    pub(crate) fn clipped(left: i64, top: i64, right: i64, bottom: i64, width: u32, height: u32) -> Rect {
        let l = left.clamp(0, i64::from(width));
        let r = right.clamp(0, i64::from(width));
        let t = top.clamp(0, i64::from(height));
        let b = bottom.clamp(0, i64::from(height));
        if r <= l || b <= t {
            return Rect::default();
        }
        Rect::new(l as u32, t as u32, (r - l) as u32, (b - t) as u32)
    }
}

/// A region accumulated as one bounding rectangle, built cheaply pixel by pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Damage {
    left: u32,
    top: u32,
    right: u32,
    bottom: u32,
}

impl Default for Damage {
    fn default() -> Self {
        Self::NONE
    }
}

impl Damage {
    pub(crate) const NONE: Damage = Damage {
        left: u32::MAX,
        top: u32::MAX,
        right: 0,
        bottom: 0,
    };

    #[inline]
    pub(crate) fn add_pixel(&mut self, x: u32, y: u32) {
        self.left = self.left.min(x);
        self.top = self.top.min(y);
        self.right = self.right.max(x + 1);
        self.bottom = self.bottom.max(y + 1);
    }

    pub(crate) fn add(&mut self, rect: Rect) {
        if rect.is_empty() {
            return;
        }
        self.left = self.left.min(rect.x);
        self.top = self.top.min(rect.y);
        self.right = self.right.max(rect.right());
        self.bottom = self.bottom.max(rect.bottom());
    }

    /// Adds another region.
    #[inline]
    pub(crate) fn merge(&mut self, other: Damage) {
        self.left = self.left.min(other.left);
        self.top = self.top.min(other.top);
        self.right = self.right.max(other.right);
        self.bottom = self.bottom.max(other.bottom);
    }

    pub(crate) fn rect(self) -> Option<Rect> {
        (self.right > self.left && self.bottom > self.top)
            .then(|| Rect::new(self.left, self.top, self.right - self.left, self.bottom - self.top))
    }

    pub(crate) fn take(&mut self) -> Option<Rect> {
        std::mem::take(self).rect()
    }
}

/// A `width × height` image of `0x00RRGGBB` pixels, row by row from the top-left.
#[derive(Clone, PartialEq, Eq)]
pub struct Framebuffer {
    width: u32,
    height: u32,
    pixels: Vec<u32>,
}

impl std::fmt::Debug for Framebuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Framebuffer({}×{})", self.width, self.height)
    }
}

impl Framebuffer {
    /// A buffer filled with `color`.
    pub fn new(width: u32, height: u32, color: u32) -> Self {
        Self {
            width,
            height,
            pixels: vec![color; width as usize * height as usize],
        }
    }

    /// A buffer holding `pixels` (`0x00RRGGBB`, `width·height` of them, row by row).
    ///
    /// # Errors
    /// `None` if the pixel count is not `width·height`.
    pub fn from_pixels(width: u32, height: u32, pixels: Vec<u32>) -> Option<Self> {
        (pixels.len() == width as usize * height as usize).then_some(Self { width, height, pixels })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Every pixel, `0x00RRGGBB`, row by row.
    pub fn pixels(&self) -> &[u32] {
        &self.pixels
    }

    /// Every pixel, mutable, row by row.
    #[inline]
    pub(crate) fn pixels_mut(&mut self) -> &mut [u32] {
        &mut self.pixels
    }

    /// The whole buffer as a rectangle.
    pub fn bounds(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    /// The pixel at `(x, y)`, if inside.
    pub fn get(&self, x: u32, y: u32) -> Option<u32> {
        (x < self.width && y < self.height).then(|| self.pixels[self.index(x, y)])
    }

    /// One row of pixels.
    pub fn row(&self, y: u32) -> &[u32] {
        let start = y as usize * self.width as usize;
        &self.pixels[start..start + self.width as usize]
    }

    #[inline]
    fn index(&self, x: u32, y: u32) -> usize {
        y as usize * self.width as usize + x as usize
    }

    /// Writes a pixel known to be inside.
    #[inline]
    pub(crate) fn set(&mut self, x: u32, y: u32, color: u32) {
        let i = self.index(x, y);
        self.pixels[i] = color;
    }

    /// A mutable pixel known to be inside.
    #[inline]
    pub(crate) fn pixel_mut(&mut self, x: u32, y: u32) -> &mut u32 {
        let i = self.index(x, y);
        &mut self.pixels[i]
    }

    pub(crate) fn fill(&mut self, color: u32) {
        self.pixels.fill(color);
    }

    /// Fills `rect` (already inside the buffer).
    pub(crate) fn fill_rect(&mut self, rect: Rect, color: u32) {
        for y in rect.y..rect.bottom() {
            let start = self.index(rect.x, y);
            self.pixels[start..start + rect.width as usize].fill(color);
        }
    }

    /// Copies `rect` from `source` (same size as `self`) to the same place here.
    pub(crate) fn copy_rect_from(&mut self, source: &Framebuffer, rect: Rect) {
        debug_assert_eq!((self.width, self.height), (source.width, source.height));
        for y in rect.y..rect.bottom() {
            let start = self.index(rect.x, y);
            let end = start + rect.width as usize;
            self.pixels[start..end].copy_from_slice(&source.pixels[start..end]);
        }
    }

    /// Moves the whole image by `(dx, dy)` pixels (GDI `CopyRect` of the buffer onto itself, clipped); the
    /// uncovered part keeps its old pixels (callers fill it).
    pub(crate) fn shift(&mut self, dx: i64, dy: i64) {
        let (w, h) = (i64::from(self.width), i64::from(self.height));
        if dx.abs() >= w || dy.abs() >= h {
            return;
        }
        let width = (w - dx.abs()) as usize;
        let (src_x, dst_x) = if dx >= 0 { (0, dx as usize) } else { ((-dx) as usize, 0) };
        let stride = self.width as usize;
        let mut move_row = |dst_y: i64| {
            let src = (dst_y - dy) as usize * stride + src_x;
            self.pixels
                .copy_within(src..src + width, dst_y as usize * stride + dst_x);
        };
        // Rows move away from the edge they leave, so a row is read before it is overwritten.
        if dy > 0 {
            (dy..h).rev().for_each(&mut move_row);
        } else {
            (0..h + dy).for_each(&mut move_row);
        }
    }
}

/// A display's back and front buffers with their damage: the back region not yet shown, the front region not yet
/// taken by a caller, and a count of refreshes.
#[derive(Clone, Debug)]
pub(crate) struct Canvas {
    pub(crate) back: Framebuffer,
    pub(crate) front: Framebuffer,
    /// Drawn in the back buffer since the last refresh.
    pub(crate) pending: Damage,
    /// Changed in the front buffer since the caller last took it.
    pub(crate) shown: Damage,
    /// Refreshes so far.
    pub(crate) frames: u64,
}

impl Canvas {
    pub(crate) fn new(width: u32, height: u32, color: u32) -> Self {
        let back = Framebuffer::new(width, height, color);
        let mut shown = Damage::NONE;
        shown.add(back.bounds());
        Self {
            front: back.clone(),
            back,
            pending: Damage::NONE,
            shown,
            frames: 0,
        }
    }

    pub(crate) fn width(&self) -> u32 {
        self.back.width
    }

    pub(crate) fn height(&self) -> u32 {
        self.back.height
    }

    /// Marks a back-buffer region as drawn.
    #[inline]
    pub(crate) fn touch(&mut self, rect: Rect) {
        self.pending.add(rect);
    }

    /// Writes one back-buffer pixel known to be inside.
    #[inline]
    pub(crate) fn put(&mut self, x: u32, y: u32, color: u32) {
        self.back.set(x, y, color);
        self.pending.add_pixel(x, y);
    }

    /// Fills back and front buffers at once (PNut's `ClearBitmap` copies the cleared bitmap to the front one, even
    /// in UPDATE mode); not counted as a refresh.
    pub(crate) fn clear_shown(&mut self, color: u32) {
        self.back.fill(color);
        self.front.fill(color);
        self.pending = Damage::NONE;
        self.shown.add(self.front.bounds());
    }

    /// Shows what was drawn since the last refresh (`BitmapToCanvas(0)`), copying only that region.
    pub(crate) fn refresh(&mut self) {
        if let Some(rect) = self.pending.take() {
            self.front.copy_rect_from(&self.back, rect);
            self.shown.add(rect);
        }
        self.frames += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_copies_only_what_was_drawn() {
        let mut canvas = Canvas::new(4, 3, 0);
        assert_eq!(
            canvas.shown.take(),
            Some(Rect::new(0, 0, 4, 3)),
            "a new canvas is shown whole"
        );
        canvas.put(1, 1, 7);
        canvas.put(2, 2, 9);
        assert_eq!(canvas.front.get(1, 1), Some(0), "not shown before a refresh");
        canvas.refresh();
        assert_eq!((canvas.front.get(1, 1), canvas.front.get(2, 2)), (Some(7), Some(9)));
        assert_eq!(canvas.shown.take(), Some(Rect::new(1, 1, 2, 2)));
        assert_eq!(canvas.shown.take(), None);
        canvas.refresh();
        assert_eq!((canvas.shown.take(), canvas.frames), (None, 2));
    }

    #[test]
    fn shift_moves_pixels_like_a_self_copy() {
        let pixels: Vec<u32> = (0..12).collect();
        let mut fb = Framebuffer::from_pixels(4, 3, pixels).unwrap();
        fb.shift(1, 0);
        assert_eq!(fb.row(0), [0, 0, 1, 2]);
        fb.shift(0, -1);
        assert_eq!(fb.row(0), [4, 4, 5, 6]);
        assert_eq!(fb.row(2), [8, 8, 9, 10], "the uncovered row keeps its pixels");
        fb.shift(-4, 0);
        assert_eq!(fb.row(0), [4, 4, 5, 6], "a shift by the whole width moves nothing");
    }

    #[test]
    fn rect_union_and_clip() {
        let a = Rect::new(1, 1, 2, 2);
        assert_eq!(a.union(Rect::default()), a);
        assert_eq!(a.union(Rect::new(4, 0, 1, 1)), Rect::new(1, 0, 4, 3));
        assert_eq!(Rect::clipped(-5, -5, 2, 3, 4, 4), Rect::new(0, 0, 2, 3));
        assert!(Rect::clipped(5, 0, 9, 2, 4, 4).is_empty());
    }
}
