//! Stage 4b: cutting digits free of the tilted ruled lines they are written on.
//!
//! A slightly tilted ruled line does not fall apart into long runs (which the labeller drops),
//! so a digit touching it becomes one component with the line, and so does every other digit
//! on that line: the piece is too wide, cut off by the frame edge, or long and thin, and the
//! piece check drops the digits with the line. Such a piece shows in its column profile: a
//! stretch of columns where no ink is thicker than a line (counted vertically: a digit that
//! joins two lines crosses both), longer than the digits are tall (a line, not a 7's bar or a
//! 2's foot). The piece is then cut into the clusters of thicker columns between such
//! stretches, each trimmed to its first and last column holding ink thicker than the line
//! itself; the largest connected part of each cluster is checked again as a piece (the rest
//! is line that only the cut-away columns joined to the digit). The line where it crosses a
//! digit stays; the model saw such crossings in training.
//!
//! Only horizontal lines are handled: ruled paper. Buffers are reused from frame to frame.
//!
//! A piece the piece check kept is cut too when it is wider than a digit may be and of a
//! digit's height: a digit joined to a stretch of line that ends inside the frame (a line
//! the binariser broke, or one that stops at the paper's edge). For such a piece the line's
//! stretch must be at least four times the piece's height: with the dropped pieces' rule (a
//! digit's height) it cut stray marks on 6 of 1 000 blank tuning pages into "1"s; at four
//! times, on none of 4 000, for 2 more of 10 229 tuning scenes read exactly and none fewer.
//! (Cutting kept pieces at stretches of half a digit's height, to part digits joined by short
//! pieces of broken line, made "1"s on 30 of 1 000 blank pages; a flatness check left 10.)

use super::components::{Blob, Labeller, MAX_SPLIT};
use super::filter::{check_piece, Limits, Rejection};

/// Whether a piece dropped for `why` may be digits joined by a line.
pub fn may_be_digits_on_a_line(b: &Blob, why: Rejection, lim: &Limits) -> bool {
    matches!(why, Rejection::TouchesEdge | Rejection::Line | Rejection::TooBig)
        && of_digit_height(b, lim)
        && b.width() > b.height()
}

/// Whether a piece the piece check kept is too wide for one digit and of a digit's height:
/// possibly a digit joined to a stretch of ruled line that ends inside the frame. It is cut
/// like a dropped piece, and kept whole when it shows no line.
pub fn may_be_a_digit_on_a_line(b: &Blob, lim: &Limits) -> bool {
    of_digit_height(b, lim) && lim.too_wide(b)
}

/// Whether a piece is as tall as a digit may be (and short enough for the column profile,
/// which counts rows in u16).
fn of_digit_height(b: &Blob, lim: &Limits) -> bool {
    b.height() >= lim.min_digit_height
        && b.height() <= lim.max_digit_height
        && b.height() < u16::MAX as u32
}

/// One column of a piece: its thickest stretch of ink, and the rows its ink spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// The longest vertical run of ink, in pixels.
    pub thickest: u16,
    pub top: u16,
    pub bottom: u16,
    /// The vertical run being counted while the profile is built.
    current: u16,
}

impl Column {
    const EMPTY: Column = Column { thickest: 0, top: u16::MAX, bottom: 0, current: 0 };

    pub fn new(thickest: u16, top: u16, bottom: u16) -> Self { Column { thickest, top, bottom, current: 0 } }

    fn extent(&self) -> u16 { (self.bottom + 1).saturating_sub(self.top) }

    /// Adds the pixel on row `y`; rows come in increasing order.
    fn add(&mut self, y: u16) {
        self.current = if self.top != u16::MAX && self.bottom + 1 == y { self.current + 1 } else { 1 };
        self.thickest = self.thickest.max(self.current);
        self.top = self.top.min(y);
        self.bottom = y;
    }
}

/// The column spans `[start, end)` of a piece that hold its digits once the line between and
/// beside them is cut away, into `spans`. Empty when the piece shows no line: no stretch of
/// columns with no ink thicker than `max_thickness` is longer than the other columns are tall
/// (and than `min_length`), or nothing thicker than the line is left.
pub fn line_free_spans(columns: &[Column], max_thickness: u16, min_length: u16, spans: &mut Vec<(usize, usize)>) {
    spans.clear();
    let thin = |limit: u16| move |c: &Column| c.thickest <= limit;
    // Digits' height: the tallest column thicker than a line can be.
    let digit_height = columns.iter().filter(|c| !thin(max_thickness)(c)).map(Column::extent).max();
    let Some(digit_height) = digit_height else { return }; // a line and nothing else
    let min_stretch = digit_height.max(min_length) as usize;
    // The longest stretch of thin columns: if long enough, a line; its thickness (its middle
    // half, away from the digits it touches) decides which columns are the line's.
    let mut longest = (0, 0);
    let mut i = 0;
    while i < columns.len() {
        let n = columns[i..].iter().take_while(|c| thin(max_thickness)(c)).count();
        if n > longest.1 - longest.0 {
            longest = (i, i + n);
        }
        i += n.max(1);
    }
    let (a, b) = longest;
    if b - a < min_stretch {
        return;
    }
    let line = columns[a + (b - a) / 4..b - (b - a) / 4].iter().map(|c| c.thickest).max().unwrap_or(0);
    // Clusters of thicker columns, merged across thin gaps shorter than a line stretch.
    let mut i = 0;
    while i < columns.len() {
        let Some(first) = columns[i..].iter().position(|c| !thin(line)(c)).map(|p| p + i) else { break };
        let mut last = first;
        let mut j = first + 1;
        while j < columns.len() {
            let gap = columns[j..].iter().take_while(|c| thin(line)(c)).count();
            if j + gap == columns.len() || gap >= min_stretch {
                break;
            }
            last = j + gap;
            j = last + 1;
        }
        spans.push((first, last + 1));
        i = j;
    }
}

const NO_SLOT: u32 = u32::MAX;

/// How many times its own height a kept piece's thin stretch must run to be cut as a line.
const KEPT_PIECE_LINE_HEIGHTS: u32 = 4;

/// Cuts digits free of lines; its buffers are reused from frame to frame.
#[derive(Debug, Default)]
pub struct LineCutter {
    /// Pieces to examine (component indices), and whether each was kept by the piece check
    /// (it stays whole when it shows no line).
    candidates: Vec<(u32, bool)>,
    /// Per component: its index in `candidates`, or `NO_SLOT`.
    slot: Vec<u32>,
    /// Column profiles of all candidates, back to back; `offsets[k]` is candidate k's start.
    columns: Vec<Column>,
    offsets: Vec<usize>,
    spans: Vec<(usize, usize)>,
    frame_spans: Vec<(u32, u32)>,
    parts: Vec<u32>,
}

impl LineCutter {
    pub fn new() -> Self { Self::default() }

    /// Forgets the previous frame's candidates.
    pub fn clear(&mut self) { self.candidates.clear(); }

    /// Notes a dropped piece to examine (see [`may_be_digits_on_a_line`]).
    pub fn consider(&mut self, component: u32) { self.candidates.push((component, false)); }

    /// Notes a kept piece to examine (see [`may_be_a_digit_on_a_line`]): `cut` puts it back
    /// in `kept` unless it is cut.
    pub fn consider_kept(&mut self, component: u32) { self.candidates.push((component, true)); }

    /// Cuts the candidates free of their lines; each part that then passes the piece check
    /// joins `kept` (which stays sorted). Parts get their own components in `labeller`.
    pub fn cut(&mut self, labeller: &mut Labeller, ink: &[u8], width: usize, lim: &Limits, kept: &mut Vec<u32>) {
        if self.candidates.is_empty() {
            return;
        }
        self.profile(labeller);
        let before = kept.len();
        for (k, &(c, was_kept)) in self.candidates.iter().enumerate() {
            let piece = labeller.components()[c as usize];
            let columns = &self.columns[self.offsets[k]..][..piece.width() as usize];
            // A kept piece is cut only at a line several times as long as it is tall: shorter
            // thin stretches are as often a stray stroke's, whose cut parts read as 1s.
            let min_line = if was_kept { KEPT_PIECE_LINE_HEIGHTS * piece.height() } else { lim.min_digit_height };
            line_free_spans(columns, lim.max_line_thickness as u16, min_line.min(u16::MAX as u32) as u16, &mut self.spans);
            if self.spans.is_empty() {
                if was_kept {
                    kept.push(c);
                }
                continue;
            }
            self.frame_spans.clear();
            self.frame_spans.extend(self.spans.iter().take(MAX_SPLIT).map(|&(a, b)| (piece.x0 + a as u32, piece.x0 + b as u32)));
            labeller.split_columns(c, &self.frame_spans, ink, width, &mut self.parts);
            for &part in &self.parts {
                let blob = labeller.components()[part as usize];
                if check_piece(&blob, lim).is_ok() {
                    log::trace!("cut free of a line: the piece at {:?} keeps {:?}", piece.bbox(), blob.bbox());
                    kept.push(part);
                }
            }
        }
        if kept.len() > before {
            kept.sort_unstable();
        }
    }

    /// Column profiles of the candidates, in one pass over the runs.
    fn profile(&mut self, labeller: &Labeller) {
        let pieces = labeller.components();
        self.slot.clear();
        self.slot.resize(pieces.len(), NO_SLOT);
        self.offsets.clear();
        let mut total = 0;
        for (k, &(c, _)) in self.candidates.iter().enumerate() {
            self.slot[c as usize] = k as u32;
            self.offsets.push(total);
            total += pieces[c as usize].width() as usize;
        }
        self.columns.clear();
        self.columns.resize(total, Column::EMPTY);
        for (run, &c) in labeller.runs().iter().zip(labeller.run_components()) {
            let k = self.slot[c as usize];
            if k == NO_SLOT {
                continue;
            }
            let piece = &pieces[c as usize];
            let (start, y) = (self.offsets[k as usize] + (run.x0 - piece.x0) as usize, (run.y - piece.y0) as u16);
            for column in &mut self.columns[start..start + (run.x1 - run.x0) as usize] {
                column.add(y);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` columns whose thickest ink is `thickest` px, spanning `extent` rows.
    fn columns(spec: &[(u16, u16, usize)]) -> Vec<Column> {
        spec.iter().flat_map(|&(thickest, extent, n)| std::iter::repeat_n(Column::new(thickest, 0, extent - 1), n)).collect()
    }

    #[test]
    fn columns_measure_their_thickest_ink_and_its_extent() {
        let mut c = Column::EMPTY;
        for y in [3, 4, 9, 10, 11, 20] {
            c.add(y);
        }
        assert_eq!((c.thickest, c.top, c.bottom, c.extent()), (3, 3, 20, 18));
    }

    #[test]
    fn a_digit_joining_two_lines_is_cut_from_both() {
        // Two 2 px lines 40 rows apart (one column crosses both), a digit of 12 px strokes.
        let c = columns(&[(2, 42, 60), (12, 42, 8), (2, 42, 60)]);
        assert_eq!(spans_of(&c), vec![(60, 68)]);
    }

    fn spans_of(c: &[Column]) -> Vec<(usize, usize)> {
        let mut spans = Vec::new();
        line_free_spans(c, 4, 10, &mut spans);
        spans
    }

    #[test]
    fn a_digit_on_a_line_to_the_edge_keeps_its_columns() {
        // 30 columns of a 2 px line, a digit 20 px tall whose side columns are thin, 5 of line.
        let c = columns(&[(2, 2, 30), (3, 6, 1), (12, 20, 4), (3, 6, 1), (2, 2, 5)]);
        assert_eq!(spans_of(&c), vec![(30, 36)]);
    }

    #[test]
    fn digits_joined_by_a_line_come_apart() {
        let c = columns(&[(2, 2, 25), (12, 20, 6), (2, 2, 40), (10, 18, 5), (3, 10, 3), (10, 18, 5), (2, 2, 25)]);
        assert_eq!(spans_of(&c), vec![(25, 31), (71, 84)], "a short thin gap inside a digit stays");
    }

    #[test]
    fn short_thin_ends_alone_are_not_a_line() {
        // A 7's bar sticking out 8 columns: shorter than the digit is tall.
        assert!(spans_of(&columns(&[(3, 3, 8), (15, 30, 10)])).is_empty());
    }

    #[test]
    fn the_digit_is_cut_only_where_as_thin_as_the_line() {
        // Line 1 px thick on the right; on the left, a 3 px thick stroke end: not the line.
        let c = columns(&[(3, 3, 2), (9, 20, 3), (1, 1, 25)]);
        assert_eq!(spans_of(&c), vec![(0, 5)]);
    }

    #[test]
    fn a_bare_line_is_not_a_digit() {
        assert!(spans_of(&columns(&[(2, 2, 50)])).is_empty());
        assert!(spans_of(&[]).is_empty());
    }
}
