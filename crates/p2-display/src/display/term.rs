//! TERM (docs/p2-displays.md A.8; DDU `TERM_Configure`, `TERM_Update`, `TERM_Chr`): a grid of character cells.
//!
//! PNut paints each character into its cell at once (background, then glyph, clipped to the cell). Every cell is
//! always painted whole, so a grid of (character, text colour, cell colour) is an exact model of the picture:
//! messages only change the grid, and pixels are rendered for the cells that changed when a frame is asked for.
//! A burst of text therefore costs one render per frame, not one per character.

use super::{Context, DisplayModel, Geometry, MouseUnits, Setup, pc_key, pc_mouse, save};
use crate::color::ColorState;
use crate::element::{Cursor, Keyword};
use crate::frame::{Damage, Framebuffer, Rect};
use crate::text::{Fonts, TextMetrics, TextStyle};

/// The default colour pairs: text, cell background ×4 (literal colours, A.8).
const DEFAULT_COLORS: [u32; 8] = [
    0xFF7F00, 0x000000, 0x000000, 0xFF7F00, 0x00FF00, 0x000000, 0x000000, 0x00FF00,
];

/// One character cell: a byte (0 for none) in `fg` on `bg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cell {
    byte: u8,
    fg: u32,
    bg: u32,
}

/// A TERM display.
#[derive(Debug)]
pub(crate) struct Term {
    cols: i32,
    rows: i32,
    text_size: i32,
    metrics: TextMetrics,
    margin: i32,
    colors: [u32; 8],
    back_color: u32,
    text_color: u32,
    text_back: u32,
    col: i32,
    row: i32,
    update_mode: bool,
    /// What has been printed (PNut's back buffer).
    cells: Vec<Cell>,
    /// What is shown: the same as `cells` outside UPDATE mode, else the grid at the last UPDATE (or CLEAR).
    shown_cells: Vec<Cell>,
    /// Shown cells whose pixels are stale.
    stale: Vec<bool>,
    any_stale: bool,
    image: Framebuffer,
    damage: Damage,
    frames: u64,
    /// Whether the grid changed since the last frame (outside UPDATE mode a message end shows it).
    changed: bool,
    color_state: ColorState,
}

impl Term {
    fn blank(&self) -> Cell {
        Cell {
            byte: 0,
            fg: self.back_color,
            bg: self.back_color,
        }
    }

    fn index(&self, col: i32, row: i32) -> usize {
        (row * self.cols + col) as usize
    }

    /// Marks shown cells stale.
    fn mark(&mut self, range: std::ops::Range<usize>) {
        self.stale[range].fill(true);
        self.any_stale = true;
    }

    /// Writes a cell of the back grid, and of the shown grid outside UPDATE mode.
    fn write(&mut self, index: usize, cell: Cell) {
        self.cells[index] = cell;
        self.changed = true;
        if !self.update_mode && self.shown_cells[index] != cell {
            self.shown_cells[index] = cell;
            self.mark(index..index + 1);
        }
    }

    /// `TERM_Chr`: a newline (13) or one printed byte, with the lazy wrap.
    fn chr(&mut self, byte: u8) {
        if byte == 13 {
            if self.row != self.rows - 1 {
                self.row += 1;
            } else {
                self.scroll();
            }
            self.col = 0;
            return;
        }
        if self.col == self.cols {
            self.chr(13);
        }
        let index = self.index(self.col, self.row);
        self.write(
            index,
            Cell {
                byte,
                fg: self.text_color,
                bg: self.text_back,
            },
        );
        self.col += 1;
    }

    /// The text area moves up one row; the new row gets the window's back colour.
    fn scroll(&mut self) {
        let cols = self.cols as usize;
        self.cells.copy_within(cols.., 0);
        let blank = self.blank();
        let last = self.cells.len() - cols;
        self.cells[last..].fill(blank);
        self.changed = true;
        if !self.update_mode {
            self.show();
        }
    }

    /// `ClearBitmap` and home: blank cells, shown at once (PNut copies a clear to its front buffer in any mode).
    fn clear(&mut self) {
        let blank = self.blank();
        self.cells.fill(blank);
        self.col = 0;
        self.row = 0;
        self.changed = true;
        self.show();
    }

    /// The shown grid becomes the back grid; changed cells go stale.
    fn show(&mut self) {
        for i in 0..self.cells.len() {
            if self.shown_cells[i] != self.cells[i] {
                self.shown_cells[i] = self.cells[i];
                self.stale[i] = true;
                self.any_stale = true;
            }
        }
    }

    /// A frame is shown: counted once per message that changed something (UPDATE always counts).
    fn frame(&mut self) {
        self.frames += 1;
        self.changed = false;
    }

    /// Renders stale cells into the image.
    fn render(&mut self, fonts: &mut Fonts) {
        if !self.any_stale {
            return;
        }
        let (w, h) = (self.metrics.chr_width, self.metrics.chr_height);
        let style = TextStyle::regular(self.text_size);
        for row in 0..self.rows {
            for col in 0..self.cols {
                let i = self.index(col, row);
                if !self.stale[i] {
                    continue;
                }
                self.stale[i] = false;
                let cell = self.shown_cells[i];
                let (x, y) = (self.margin + col * w, self.margin + row * h);
                let rect = Rect::clipped(
                    x.into(),
                    y.into(),
                    (x + w).into(),
                    (y + h).into(),
                    self.image.width(),
                    self.image.height(),
                );
                self.image.fill_rect(rect, cell.bg);
                if cell.byte != 0 {
                    fonts.draw(&mut self.image, rect, x, y, &[cell.byte], style, 0, cell.fg);
                }
                self.damage.add(rect);
            }
        }
        self.any_stale = false;
    }
}

impl DisplayModel for Term {
    fn configure(cursor: &mut Cursor<'_>, setup: &mut Setup<'_>) -> Self {
        let (mut cols, mut rows, mut text_size) = (40, 20, 10);
        let mut colors = DEFAULT_COLORS;
        let mut back_color = 0;
        let mut update_mode = false;
        let color_state = ColorState::default();
        while let Some(key) = cursor.next_key() {
            match key {
                Keyword::Size => {
                    if cursor.key_val_within(&mut cols, 1, 256) {
                        cursor.key_val_within(&mut rows, 1, 256);
                    }
                }
                Keyword::Textsize => {
                    cursor.key_val_within(&mut text_size, 6, 200);
                }
                Keyword::Color => {
                    for color in &mut colors {
                        if !color_state.key_color_into(cursor, color) {
                            break;
                        }
                    }
                }
                Keyword::Backcolor => {
                    color_state.key_color_into(cursor, &mut back_color);
                }
                Keyword::Update => update_mode = true,
                k => {
                    setup.common(k, cursor);
                }
            }
        }
        let metrics = setup.fonts.metrics(text_size);
        let margin = metrics.chr_width / 2;
        // 256×256 cells at a large TEXTSIZE would be gigapixels: refused (A.0 "Limits here").
        let (width, height) = setup.size(
            i64::from(cols * metrics.chr_width + 2 * margin),
            i64::from(rows * metrics.chr_height + 2 * margin),
        );
        let blank = Cell {
            byte: 0,
            fg: back_color,
            bg: back_color,
        };
        let cells = vec![blank; (cols * rows) as usize];
        let mut damage = Damage::NONE;
        damage.add(Rect::new(0, 0, width, height));
        Term {
            cols,
            rows,
            text_size,
            metrics,
            margin,
            colors,
            back_color,
            text_color: colors[0],
            text_back: colors[1],
            col: 0,
            row: 0,
            update_mode,
            shown_cells: cells.clone(),
            stale: vec![false; cells.len()],
            cells,
            any_stale: false,
            image: Framebuffer::new(width, height, back_color),
            damage,
            frames: 0,
            changed: false,
            color_state,
        }
    }

    fn update(&mut self, cursor: &mut Cursor<'_>, ctx: &mut Context<'_>) {
        while !cursor.at_end() {
            if let Some(key) = cursor.next_key() {
                match key {
                    k if k.is_color_name() => {
                        // v52+: text colour, then optionally the cell colour.
                        cursor.back();
                        self.color_state.key_color_into(cursor, &mut self.text_color);
                        self.color_state.key_color_into(cursor, &mut self.text_back);
                    }
                    Keyword::Backcolor => {
                        self.color_state.key_color_into(cursor, &mut self.text_back);
                    }
                    Keyword::Clear => self.clear(),
                    Keyword::Update => {
                        self.show();
                        self.frame();
                    }
                    Keyword::Save => save(self, cursor, ctx),
                    Keyword::PcKey => pc_key(ctx),
                    Keyword::PcMouse => pc_mouse(self, ctx),
                    _ => {}
                }
            } else if let Some(code) = cursor.next_num() {
                match code {
                    0 => self.clear(),
                    1 => (self.col, self.row) = (0, 0),
                    2 => {
                        cursor.key_val_within(&mut self.col, 0, self.cols - 1);
                    }
                    3 => {
                        cursor.key_val_within(&mut self.row, 0, self.rows - 1);
                    }
                    4..=7 => {
                        let pair = ((code - 4) * 2) as usize;
                        (self.text_color, self.text_back) = (self.colors[pair], self.colors[pair + 1]);
                    }
                    8 if self.col != 0 || self.row != 0 => {
                        self.col -= 1;
                        if self.col < 0 {
                            self.col = self.cols - 1;
                            self.row -= 1;
                        }
                    }
                    9 => {
                        // At least one space, then spaces to the next multiple of 8. With fewer than 8 columns
                        // no column is one and PNut loops forever; we stop at the end of the row instead.
                        self.chr(b' ');
                        while self.col & 7 != 0 && !(self.cols < 8 && self.col == self.cols) {
                            self.chr(b' ');
                        }
                    }
                    10 => self.chr(13),
                    13 => {
                        self.chr(13);
                        if cursor.next_num().is_some_and(|n| n != 10) {
                            cursor.back();
                        }
                    }
                    32..=255 => self.chr(code as u8),
                    _ => {}
                }
            } else if let Some(text) = cursor.next_str() {
                for &byte in text {
                    self.chr(byte);
                }
            }
        }
        if !self.update_mode && self.changed {
            self.frame();
        }
    }

    fn front(&mut self, fonts: &mut Fonts) -> &Framebuffer {
        self.render(fonts);
        &self.image
    }

    fn take_damage(&mut self, fonts: &mut Fonts) -> Option<Rect> {
        self.render(fonts);
        self.damage.take()
    }

    fn frames(&self) -> u64 {
        self.frames
    }

    fn is_damaged(&self) -> bool {
        self.any_stale || self.damage.rect().is_some()
    }

    fn hover(&self, x: i32, y: i32) -> Option<String> {
        let (w, h) = (self.metrics.chr_width, self.metrics.chr_height);
        let inside = (self.margin..self.margin + w * self.cols).contains(&x)
            && (self.margin..self.margin + h * self.rows).contains(&y);
        inside.then(|| format!("{},{}", (x - self.margin) / w, (y - self.margin) / h))
    }

    fn geometry(&self) -> Geometry {
        Geometry {
            client_width: self.image.width(),
            client_height: self.image.height(),
            units: MouseUnits::Cells {
                margin: self.margin,
                cell_width: self.metrics.chr_width,
                cell_height: self.metrics.chr_height,
            },
        }
    }
}
