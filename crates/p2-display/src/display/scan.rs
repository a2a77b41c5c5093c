//! The write position of a raster fed pixel by pixel (docs/p2-displays.md A.9; DDU `SetTrace`, `StepTrace`):
//! TRACE patterns 0–7 walk rows or columns from one of the four corners, bit 3 scrolls the image instead of
//! moving to the next line.

/// A scan path over a `width × height` raster.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScanPath {
    pub(crate) trace: i32,
    pub(crate) x: i32,
    pub(crate) y: i32,
    width: i32,
    height: i32,
}

/// How each pattern walks: along x (rows) or y (columns), forwards or backwards along a line, and whether lines
/// advance forwards (down or right).
fn walk(pattern: i32) -> (bool, bool, bool) {
    match pattern & 7 {
        0 => (true, true, true),
        1 => (true, false, true),
        2 => (true, true, false),
        3 => (true, false, false),
        4 => (false, true, true),
        5 => (false, false, true),
        6 => (false, true, false),
        _ => (false, false, false),
    }
}

impl ScanPath {
    /// `SetTrace`: the start corner of `trace`.
    pub(crate) fn new(trace: i32, width: i32, height: i32) -> Self {
        let mut path = Self {
            trace: 0,
            x: 0,
            y: 0,
            width,
            height,
        };
        path.set(trace);
        path
    }

    /// `SetTrace`: restart at the corner `trace`'s pattern starts from.
    pub(crate) fn set(&mut self, trace: i32) {
        let pattern = trace & 7;
        self.x = if matches!(pattern, 0 | 2 | 4 | 5) {
            0
        } else {
            self.width - 1
        };
        self.y = if matches!(pattern, 0 | 1 | 4 | 6) {
            0
        } else {
            self.height - 1
        };
        self.trace = trace & 0xF;
    }

    /// Lines in the raster: rows for patterns 0–3, columns for 4–7.
    pub(crate) fn lines(&self) -> i32 {
        if self.trace & 4 == 0 { self.height } else { self.width }
    }

    /// `StepTrace`: the next position. At the end of a line the path returns to the line's start and either moves
    /// to the next line (wrapping) or, with scrolling, asks for the image to move by the returned `(dx, dy)`.
    pub(crate) fn step(&mut self) -> Option<(i32, i32)> {
        let (along_x, forward, lines_forward) = walk(self.trace);
        let (along, along_max) = if along_x {
            (&mut self.x, self.width - 1)
        } else {
            (&mut self.y, self.height - 1)
        };
        let (end, start) = if forward { (along_max, 0) } else { (0, along_max) };
        if *along != end {
            *along += if forward { 1 } else { -1 };
            return None;
        }
        *along = start;
        if self.trace & 8 != 0 {
            let step = if lines_forward { 1 } else { -1 };
            return Some(if along_x { (0, step) } else { (step, 0) });
        }
        self.next_line();
        None
    }

    /// Moves to the next line, wrapping to the first.
    pub(crate) fn next_line(&mut self) {
        let (along_x, _, lines_forward) = walk(self.trace);
        let (across, across_max) = if along_x {
            (&mut self.y, self.height - 1)
        } else {
            (&mut self.x, self.width - 1)
        };
        if lines_forward {
            *across = if *across != across_max { *across + 1 } else { 0 };
        } else {
            *across = if *across != 0 { *across - 1 } else { across_max };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(trace: i32, w: i32, h: i32) -> Vec<(i32, i32)> {
        let mut path = ScanPath::new(trace, w, h);
        (0..w * h)
            .map(|_| {
                let at = (path.x, path.y);
                path.step();
                at
            })
            .collect()
    }

    #[test]
    fn patterns_start_at_their_corner_and_cover_every_pixel() {
        let starts = [(0, 0), (2, 0), (0, 1), (2, 1), (0, 0), (0, 1), (2, 0), (2, 1)];
        for (pattern, start) in starts.into_iter().enumerate() {
            let seen = visit(pattern as i32, 3, 2);
            assert_eq!(seen[0], start, "pattern {pattern}");
            let mut sorted = seen.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), 6, "pattern {pattern} covers the raster");
        }
        assert_eq!(visit(0, 3, 2)[..4], [(0, 0), (1, 0), (2, 0), (0, 1)]);
        assert_eq!(visit(7, 3, 2)[..3], [(2, 1), (2, 0), (1, 1)]);
    }

    #[test]
    fn scrolling_asks_for_a_move_at_each_line_end() {
        let mut path = ScanPath::new(15, 4, 2);
        assert_eq!((path.x, path.y), (3, 1));
        assert_eq!(path.step(), None);
        assert_eq!(path.step(), Some((-1, 0)), "pattern 7 scrolls left");
        assert_eq!((path.x, path.y), (3, 1), "and starts the same column again");
        assert_eq!(path.lines(), 4);
    }
}
