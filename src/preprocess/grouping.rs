//! Stage 5: from pieces to digits in reading order.
//!
//! 1. Merge pieces of one digit: a 5's detached top bar, an open 4, a pen stroke broken by a
//!    skip. Two blobs merge when they overlap horizontally by a good part of the narrower one,
//!    are vertically close relative to the taller one and have similar ink strength (one
//!    pen), provided the union still has a digit's size and shape (so a long ruled-line
//!    segment never swallows a digit). Larger blobs are visited first so bodies absorb their
//!    fragments.
//! 2. Merge again with the row as context: a faint stroke can break a digit into parts that
//!    are each small, with a gap large next to the parts but small next to the digits beside
//!    them. Measured against the row's digit height, stacked parts merge across larger gaps
//!    (overlapping horizontally at all: the broken stroke may slant), and a small part beside
//!    a bigger one (a 1's detached foot) joins it, as long as the union is not taller than a
//!    digit of that row, so two digits never become one, and the parts are not flat slivers
//!    (what ruled lines leave between digits), except a flat top bar above a digit's body.
//! 3. Keep the groups that pass the digit check.
//! 4. Split rows top to bottom: a digit joins the row whose vertical span overlaps its own by
//!    more than half the smaller height; otherwise it starts a new row.
//! 5. Order left to right within each row.

use std::cmp::Reverse;

use super::components::Blob;
use super::config::PreprocessConfig;
use super::filter::Limits;

/// `piece_group` value of a piece that is in no digit.
pub const NO_GROUP: u32 = u32::MAX;

/// In the second pass, flat slivers (at least twice as wide as tall, and shorter than this
/// fraction of the row height: bits of ruled lines picked up between the digits) never merge,
/// so they cannot stack up into a "1".
const SLIVER_DIVISOR: u32 = 6;
/// Parts count as stacked when their rows overlap by at most this percentage of the shorter.
const STACKED_MAX_OVERLAP_PCT: u64 = 25;
/// A part beside a bigger one joins it only if at most this percentage of its height...
const SIDE_PART_MAX_PCT: u64 = 60;
/// ...and at least this percentage (smaller marks, like a decimal point, stay apart)...
const SIDE_PART_MIN_PCT: u64 = 25;
/// ...and if this percentage of its height lies within the bigger one's rows.
const SIDE_PART_INSIDE_PCT: u64 = 80;
/// A group this many times taller than wide (or more) never sets its row's height: it is
/// more often a stretch of a margin or table line than a "1", and reaching beyond the row's
/// digits above and below, it would let two digits of different rows merge as parts of one.
const THIN_DIVISOR: u32 = 8;

/// When two blobs are pieces of one digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MergeRules {
    pub overlap_pct: u32,
    pub gap_pct: u32,
    pub min_contrast_pct: u32,
    pub row_gap_pct: u32,
    pub row_height_pct: u32,
    pub side_gap_pct: u32,
    pub min_digit_height: u32,
    pub max_height: u32,
    pub max_width: u32,
    pub max_aspect_pct: u32,
}

impl MergeRules {
    pub fn new(cfg: &PreprocessConfig, limits: &Limits) -> Self {
        MergeRules {
            overlap_pct: cfg.merge_overlap_pct as u32,
            gap_pct: cfg.merge_gap_pct as u32,
            min_contrast_pct: cfg.merge_min_contrast_pct as u32,
            row_gap_pct: cfg.merge_row_gap_pct as u32,
            row_height_pct: cfg.merge_row_height_pct as u32,
            side_gap_pct: cfg.merge_side_gap_pct as u32,
            min_digit_height: limits.min_digit_height,
            max_height: limits.max_digit_height,
            max_width: limits.max_digit_width,
            max_aspect_pct: limits.max_aspect_pct,
        }
    }

    /// First pass: pieces stacked close together, relative to their own size.
    pub fn should_merge(&self, a: &Blob, b: &Blob) -> bool {
        let taller = a.height().max(b.height()) as u64;
        self.stacked(a, b)
            && vertical_gap(a, b) * 100 <= self.gap_pct as u64 * taller
            && self.same_pen(a, b)
            && self.digit_shaped(&a.union(b))
    }

    /// Second pass: parts of one digit in a row of digits `row_height` tall.
    pub fn should_merge_in_row(&self, a: &Blob, b: &Blob, row_height: u32) -> bool {
        let u = a.union(b);
        if !self.same_pen(a, b) || !self.digit_shaped(&u) || u.height() as u64 * 100 > self.row_height_pct as u64 * row_height as u64 {
            return false;
        }
        let sliver = |p: &Blob| p.height() * SLIVER_DIVISOR < row_height && p.width() >= 2 * p.height();
        match (sliver(a), sliver(b)) {
            (true, true) => return false,
            (true, false) => return self.top_bar(a, b, row_height),
            (false, true) => return self.top_bar(b, a, row_height),
            (false, false) => {}
        }
        // Stacked parts (one above the other, not side by side); any horizontal overlap will
        // do, as the stroke between them may slant.
        let overlap_x = a.x1.min(b.x1).saturating_sub(a.x0.max(b.x0));
        let overlap_y = a.y1.min(b.y1).saturating_sub(a.y0.max(b.y0)) as u64;
        let above_each_other = overlap_y * 100 <= STACKED_MAX_OVERLAP_PCT * a.height().min(b.height()) as u64;
        if overlap_x > 0 && above_each_other && self.within_row_gap(a, b, row_height) {
            return true;
        }
        // A small part beside a bigger one, within its rows, close to it.
        let (big, small) = if a.height() >= b.height() { (a, b) } else { (b, a) };
        let (big_h, small_h) = (big.height() as u64, small.height() as u64);
        let overlap_y = big.y1.min(small.y1).saturating_sub(big.y0.max(small.y0)) as u64;
        let gap_x = a.x0.max(b.x0).saturating_sub(a.x1.min(b.x1)) as u64;
        small_h * 100 <= SIDE_PART_MAX_PCT * big_h
            && small_h * 100 >= SIDE_PART_MIN_PCT * big_h
            && overlap_y * 100 >= SIDE_PART_INSIDE_PCT * small_h
            && gap_x * 100 <= self.side_gap_pct as u64 * big_h
            && u.width() <= u.height()
    }

    /// A flat sliver merges only as a top bar (a 5's or a 7's, written as a separate stroke):
    /// above a body at least half the row height, over a good part of its width. Slivers
    /// elsewhere are mostly what ruled lines leave between the digits.
    fn top_bar(&self, bar: &Blob, body: &Blob, row_height: u32) -> bool {
        bar.y1 <= body.y0 + body.height() / 4
            && body.height() * 2 >= row_height
            && self.stacked(bar, body)
            && self.within_row_gap(bar, body, row_height)
    }

    /// The blank between two parts, one above the other, is small next to the row's height.
    fn within_row_gap(&self, a: &Blob, b: &Blob, row_height: u32) -> bool {
        vertical_gap(a, b) * 100 <= self.row_gap_pct as u64 * row_height as u64
    }

    /// Overlapping horizontally by a good part of the narrower one.
    fn stacked(&self, a: &Blob, b: &Blob) -> bool {
        let overlap_x = a.x1.min(b.x1).saturating_sub(a.x0.max(b.x0)) as u64;
        let narrower = a.width().min(b.width()) as u64;
        overlap_x > 0 && overlap_x * 100 >= self.overlap_pct as u64 * narrower
    }

    /// Similar mean ink strength (compared without division: `sum_a / area_a` vs
    /// `sum_b / area_b`).
    fn same_pen(&self, a: &Blob, b: &Blob) -> bool {
        let (strength_a, strength_b) = (a.ink_sum as u128 * b.area as u128, b.ink_sum as u128 * a.area as u128);
        strength_a.min(strength_b) * 100 >= self.min_contrast_pct as u128 * strength_a.max(strength_b)
    }

    fn digit_shaped(&self, u: &Blob) -> bool {
        u.height() <= self.max_height && u.width() <= self.max_width && u.width() as u64 * 100 <= self.max_aspect_pct as u64 * u.height() as u64
    }
}

/// Blank rows between two blobs (0 when their row spans overlap).
fn vertical_gap(a: &Blob, b: &Blob) -> u64 {
    a.y0.max(b.y0).saturating_sub(a.y1.min(b.y1)) as u64
}

/// One accepted digit: its merged blob, the group its pieces point at, its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digit {
    pub blob: Blob,
    pub group: u32,
    pub row: u16,
}

/// Grouping state, reused from frame to frame.
#[derive(Debug, Default)]
pub struct Grouper {
    /// Merged blobs; a group absorbed by another stays in place but is dead.
    groups: Vec<Blob>,
    /// For each group: itself while alive, else the group it was merged into.
    merged_into: Vec<u32>,
    /// Piece index of each group's founding piece (for initialisation).
    founders: Vec<u32>,
    /// For each piece (component): its group, or [`NO_GROUP`].
    piece_group: Vec<u32>,
    /// Per group, the digit height of its row (see `measure_rows`), for the second pass.
    row_height: Vec<u32>,
    digits: Vec<Digit>,
    /// Vertical span `[top, bottom)` of each row.
    rows: Vec<(u32, u32)>,
}

impl Grouper {
    pub fn new() -> Self { Self::default() }

    /// Groups the pieces listed in `kept` (indices into `pieces`) into merged blobs.
    pub fn group(&mut self, pieces: &[Blob], kept: &[u32], rules: &MergeRules) {
        self.piece_group.clear();
        self.piece_group.resize(pieces.len(), NO_GROUP);
        self.founders.clear();
        self.founders.extend_from_slice(kept);
        // Largest first, then by index: deterministic, and bodies absorb fragments.
        self.founders.sort_unstable_by_key(|&i| (Reverse(pieces[i as usize].area), i));
        self.groups.clear();
        self.groups.extend(self.founders.iter().map(|&i| pieces[i as usize]));
        self.merged_into.clear();
        self.merged_into.extend(0..self.groups.len() as u32);
        self.row_height.clear();

        self.merge_while(|a, b, _| rules.should_merge(a, b));
        self.measure_rows(rules.min_digit_height);
        self.merge_while(|a, b, row_heights| rules.should_merge_in_row(a, b, row_heights.0.max(row_heights.1)));
        for (g, &piece) in self.founders.iter().enumerate() {
            self.piece_group[piece as usize] = self.root(g as u32);
        }
    }

    /// Merges pairs of alive groups for which `merge(a, b, (row height of a, of b))` holds,
    /// until no pair does.
    fn merge_while(&mut self, merge: impl Fn(&Blob, &Blob, (u32, u32)) -> bool) {
        let n = self.groups.len();
        let mut changed = true;
        while changed {
            changed = false;
            for i in 0..n {
                if !self.is_alive(i) {
                    continue;
                }
                for j in i + 1..n {
                    let rows = (self.row_height.get(i).copied().unwrap_or(0), self.row_height.get(j).copied().unwrap_or(0));
                    if self.is_alive(j) && merge(&self.groups[i], &self.groups[j], rows) {
                        let absorbed = self.groups[j];
                        self.groups[i].absorb(&absorbed);
                        self.merged_into[j] = i as u32;
                        changed = true;
                    }
                }
            }
        }
    }

    /// For each alive group, the height of the tallest digit-sized group in its row (one
    /// whose vertical span overlaps its own by more than half the smaller height), itself
    /// included. Thin upright groups (see [`THIN_DIVISOR`]) do not count.
    fn measure_rows(&mut self, min_digit_height: u32) {
        self.row_height.clear();
        for (g, blob) in self.groups.iter().enumerate() {
            let mut tallest = blob.height();
            if self.is_alive(g) {
                for (_, other) in alive_groups(&self.groups, &self.merged_into) {
                    let overlap = blob.y1.min(other.y1).saturating_sub(blob.y0.max(other.y0));
                    let same_row = overlap * 2 > blob.height().min(other.height());
                    let thin = other.width() * THIN_DIVISOR <= other.height();
                    if other.height() >= min_digit_height && same_row && !thin {
                        tallest = tallest.max(other.height());
                    }
                }
            }
            self.row_height.push(tallest);
        }
    }

    /// Keeps the alive groups for which `is_digit` holds, assigns rows, sorts them into
    /// reading order and keeps the first `max_digits`.
    pub fn select_digits(&mut self, is_digit: impl Fn(&Blob) -> bool, max_digits: usize) {
        self.digits.clear();
        for (g, blob) in alive_groups(&self.groups, &self.merged_into) {
            if is_digit(blob) {
                self.digits.push(Digit { blob: *blob, group: g as u32, row: 0 });
            }
        }
        self.assign_rows();
        self.digits.sort_unstable_by_key(|d| (d.row, d.blob.x0, d.blob.y0, d.group));
        self.digits.truncate(max_digits);
    }

    /// The merged groups left after [`Self::group`] (before any digit check).
    pub fn groups(&self) -> impl Iterator<Item = &Blob> + '_ { alive_groups(&self.groups, &self.merged_into).map(|(_, blob)| blob) }

    /// The merged groups that are not among the digits (after [`Self::select_digits`]), with
    /// their group numbers.
    pub fn leftovers(&self) -> impl Iterator<Item = (u32, &Blob)> + '_ {
        alive_groups(&self.groups, &self.merged_into)
            .filter(|&(g, _)| !self.digits.iter().any(|d| d.group == g as u32))
            .map(|(g, blob)| (g as u32, blob))
    }

    fn is_alive(&self, g: usize) -> bool { is_alive(&self.merged_into, g) }

    /// Accepted digits in reading order.
    pub fn digits(&self) -> &[Digit] { &self.digits }

    /// Group of each piece (parallel to the components), [`NO_GROUP`] for dropped pieces.
    pub fn piece_group(&self) -> &[u32] { &self.piece_group }

    fn root(&self, mut g: u32) -> u32 {
        while self.merged_into[g as usize] != g {
            g = self.merged_into[g as usize];
        }
        g
    }

    /// Visits digits top-down; each joins the row it overlaps most (by more than half the
    /// smaller height) or opens a new one. Rows are thus numbered top to bottom.
    fn assign_rows(&mut self) {
        self.digits.sort_unstable_by_key(|d| (d.blob.y0, d.blob.x0, d.group));
        self.rows.clear();
        for d in self.digits.iter_mut() {
            let (top, bottom) = (d.blob.y0, d.blob.y1);
            let mut best: Option<(usize, u32)> = None;
            for (r, &(row_top, row_bottom)) in self.rows.iter().enumerate() {
                let overlap = bottom.min(row_bottom).saturating_sub(top.max(row_top));
                let smaller = (bottom - top).min(row_bottom - row_top);
                if overlap * 2 > smaller && best.is_none_or(|(_, o)| overlap > o) {
                    best = Some((r, overlap));
                }
            }
            let r = match best {
                Some((r, _)) => {
                    let span = &mut self.rows[r];
                    *span = (span.0.min(top), span.1.max(bottom));
                    r
                }
                None => {
                    self.rows.push((top, bottom));
                    self.rows.len() - 1
                }
            };
            d.row = r.min(u16::MAX as usize) as u16;
        }
    }
}

/// Groups not merged into another, with their index (a free function so that callers can
/// borrow other fields of the grouper mutably meanwhile).
fn alive_groups<'a>(groups: &'a [Blob], merged_into: &'a [u32]) -> impl Iterator<Item = (usize, &'a Blob)> + 'a {
    groups.iter().enumerate().filter(|&(g, _)| is_alive(merged_into, g))
}

/// Whether group `g` was not merged into another.
fn is_alive(merged_into: &[u32], g: usize) -> bool { merged_into[g] == g as u32 }

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(x: u32, y: u32, w: u32, h: u32) -> Blob {
        let area = w * h / 4 + 1;
        Blob { x0: x, y0: y, x1: x + w, y1: y + h, area, ink_sum: area as u64 * 100, peak: 100 }
    }

    fn rules() -> MergeRules {
        let cfg = PreprocessConfig::default();
        MergeRules::new(&cfg, &Limits::new(&cfg, 640, 480))
    }

    fn group_all(pieces: &[Blob]) -> Grouper {
        let mut g = Grouper::new();
        let kept: Vec<u32> = (0..pieces.len() as u32).collect();
        g.group(pieces, &kept, &rules());
        g.select_digits(|_| true, 32);
        g
    }

    fn boxes(g: &Grouper) -> Vec<(u32, u32, u32, u32, u16)> {
        g.digits().iter().map(|d| (d.blob.x0, d.blob.y0, d.blob.width(), d.blob.height(), d.row)).collect()
    }

    #[test]
    fn detached_top_bar_of_a_five_is_merged() {
        let body = blob(100, 110, 36, 50);
        let bar = blob(104, 100, 34, 4);
        let g = group_all(&[bar, body]);
        assert_eq!(boxes(&g), vec![(100, 100, 38, 60, 0)]);
        assert_eq!(g.piece_group()[0], g.piece_group()[1]);
    }

    #[test]
    fn open_four_and_broken_stroke_chain_into_one_digit() {
        // Left "L" of a 4 plus its right stem; and a stroke broken twice.
        let g = group_all(&[blob(100, 100, 30, 35), blob(120, 95, 6, 60), blob(300, 100, 6, 20), blob(300, 123, 6, 15), blob(301, 141, 6, 20)]);
        assert_eq!(boxes(&g), vec![(100, 95, 30, 60, 0), (300, 100, 7, 61, 0)]);
    }

    #[test]
    fn neighbours_in_a_row_and_stacked_rows_stay_apart() {
        // Two digits side by side, slightly overlapping; a third one row below.
        let g = group_all(&[blob(100, 100, 30, 50), blob(126, 104, 30, 50), blob(100, 190, 30, 50)]);
        assert_eq!(boxes(&g), vec![(100, 100, 30, 50, 0), (126, 104, 30, 50, 0), (100, 190, 30, 50, 1)]);
    }

    #[test]
    fn a_line_segment_under_a_digit_is_not_merged() {
        // Too wide for the union to be a digit.
        let g = group_all(&[blob(100, 100, 30, 50), blob(40, 152, 200, 3)]);
        assert_eq!(g.digits().len(), 2);
        // Short, but much fainter than the ink (a ruled line broken up in a shadow).
        let segment = blob(95, 154, 40, 3);
        let faint = Blob { ink_sum: segment.area as u64 * 40, ..segment };
        let g = group_all(&[blob(100, 100, 30, 50), faint]);
        assert_eq!(g.digits().len(), 2);
        let dark = Blob { ink_sum: segment.area as u64 * 90, ..segment };
        assert_eq!(group_all(&[blob(100, 100, 30, 50), dark]).digits().len(), 1);
    }

    #[test]
    fn parts_of_a_faint_digit_merge_against_the_row_height() {
        // A 5 broken in two with a 9 px gap (too far for its 20 px top part alone), next to a
        // complete 40 px digit; the same two parts on their own stay apart.
        let (top, bottom) = (blob(100, 100, 30, 20), blob(102, 129, 26, 12));
        let g = group_all(&[top, bottom, blob(150, 100, 28, 40)]);
        assert_eq!(boxes(&g), vec![(100, 100, 30, 41, 0), (150, 100, 28, 40, 0)]);
        assert_eq!(group_all(&[top, bottom]).digits().len(), 2);
    }

    #[test]
    fn a_detached_foot_beside_a_one_joins_it_but_a_decimal_point_does_not() {
        let one = blob(100, 100, 15, 41);
        let foot = blob(119, 122, 6, 17);
        assert_eq!(boxes(&group_all(&[one, foot])), vec![(100, 100, 25, 41, 0)]);
        let point = blob(119, 134, 5, 6);
        assert_eq!(group_all(&[one, point]).digits().len(), 2);
    }

    #[test]
    fn a_slanted_stroke_broken_into_bits_is_one_digit() {
        // A faint "1" in bits drifting left as they go down, next to a complete digit.
        let bits = [blob(494, 235, 12, 14), blob(494, 260, 7, 8), blob(488, 279, 8, 13), blob(483, 294, 8, 13)];
        let mut pieces = bits.to_vec();
        pieces.push(blob(400, 235, 48, 74));
        assert_eq!(boxes(&group_all(&pieces)), vec![(400, 235, 48, 74, 0), (483, 235, 23, 72, 0)]);
    }

    #[test]
    fn a_flat_top_bar_far_above_its_body_joins_it_in_a_row() {
        // A 5 whose bar was written apart, 12 px above the body (too far for the first pass),
        // beside a 9 of the row height: the bar is a sliver, yet it is the digit's top.
        let (bar, body, nine) = (blob(104, 100, 30, 5), blob(100, 117, 32, 45), blob(150, 100, 30, 62));
        assert_eq!(boxes(&group_all(&[bar, body, nine])), vec![(100, 100, 34, 62, 0), (150, 100, 30, 62, 0)]);
        // The same sliver under the body (a ruled-line bit) stays apart.
        let under = blob(104, 170, 30, 5);
        assert_eq!(group_all(&[under, body, nine]).digits().len(), 3);
    }

    #[test]
    fn ruled_line_slivers_do_not_stack_into_a_one() {
        let mut pieces: Vec<Blob> = (0..5).map(|i| blob(300 + i, 100 + 25 * i, 14, 2)).collect();
        pieces.push(blob(400, 90, 60, 136));
        assert_eq!(group_all(&pieces).digits().len(), 6);
    }

    #[test]
    fn a_margin_line_beside_two_rows_does_not_stack_their_digits() {
        // A 5 and the 0 under it, 30 px apart in rows of 31-37 px digits, while a stretch of
        // the page's margin line spans both rows: measured against the line, the 0 would be
        // the 5's lower part.
        let (five, zero, margin) = (blob(281, 139, 30, 31), blob(285, 200, 35, 37), blob(94, 120, 5, 105));
        assert_eq!(group_all(&[five, zero, margin]).digits().len(), 3);
        // A digit that tall, not a line, still sets the row's height (it could be the 5's row).
        let tall_digit = blob(94, 120, 40, 105);
        assert_eq!(group_all(&[five, zero, tall_digit]).digits().len(), 2);
    }

    #[test]
    fn close_rows_of_digits_never_merge_in_the_second_pass() {
        // Rows 8 px apart (20%): each digit is as tall as its row, so a union would be twice
        // that.
        let g = group_all(&[blob(100, 100, 30, 40), blob(102, 148, 30, 40), blob(150, 100, 30, 40), blob(150, 148, 28, 40)]);
        assert_eq!(g.digits().len(), 4);
    }

    #[test]
    fn rows_follow_reading_order_despite_slant() {
        // Row 0 drifts downwards to the right; row 1 starts lower.
        let g = group_all(&[
            blob(300, 130, 30, 50),
            blob(100, 100, 30, 50),
            blob(200, 115, 30, 50),
            blob(120, 230, 30, 50),
            blob(50, 240, 30, 50),
        ]);
        let order: Vec<(u32, u16)> = g.digits().iter().map(|d| (d.blob.x0, d.row)).collect();
        assert_eq!(order, vec![(100, 0), (200, 0), (300, 0), (50, 1), (120, 1)]);
    }

    #[test]
    fn digit_filter_and_cap_apply_after_grouping() {
        let pieces: Vec<Blob> = (0..10).map(|i| blob(20 + i * 60, 100, 30, 20 + i * 5)).collect();
        let mut g = Grouper::new();
        let kept: Vec<u32> = (0..10).collect();
        g.group(&pieces, &kept, &rules());
        g.select_digits(|b| b.height() >= 30, 3);
        let xs: Vec<u32> = g.digits().iter().map(|d| d.blob.x0).collect();
        assert_eq!(xs, vec![140, 200, 260]);
        assert_eq!(g.piece_group()[0], 9, "dropped digits still name their group");
    }
}
