//! Stage 4: rejecting blobs that cannot be digits.
//!
//! Two checks. [`check_piece`] runs on single components before grouping and drops what must
//! not be merged into a digit: specks, long ruled lines and table edges, blobs cut off by the
//! frame edge, anything larger than a digit can be. [`check_digit`] runs on the merged groups
//! and judges the whole digit: size, shape, how much of its box is inked, contrast.
//!
//! [`LineFragments`] then drops pieces that are too short to be lines on their own but line
//! up with others into one: a faint margin line or ruled line that the threshold broke up.
//!
//! All limits are integers derived once per frame from the config and the frame size.

use super::components::Blob;
use super::config::PreprocessConfig;

/// Why a blob was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Too few pixels: dust, noise.
    Speck,
    /// Long and thin: ruled line, table or page edge.
    Line,
    /// Touches (or nearly) the frame edge, so it is probably cut off.
    TouchesEdge,
    /// Taller or wider than a digit can be.
    TooBig,
    /// Shorter than the smallest digit.
    TooSmall,
    /// Much wider than tall.
    TooWide,
    /// Too little ink for its box (outlines, frames).
    TooSparse,
    /// A nearly solid blob.
    TooDense,
    /// Not enough contrast anywhere (shadow edge, smudge).
    Faint,
}

/// The config's rules resolved to pixels for one frame size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub frame_width: u32,
    pub frame_height: u32,
    pub min_piece_area: u32,
    pub line_aspect: u32,
    pub min_line_width: u32,
    pub min_line_height: u32,
    pub edge_margin: u32,
    pub min_digit_height: u32,
    pub max_digit_height: u32,
    pub max_digit_width: u32,
    pub max_aspect_pct: u32,
    pub min_fill_pct: u32,
    pub max_fill_pct: u32,
    pub min_peak: u8,
    /// Thickest piece that may be a fragment of a line.
    pub max_line_thickness: u32,
}

/// `value * per_mille / 1000`, rounded up so that a positive fraction is never zero pixels.
fn fraction(value: u32, per_mille: u16) -> u32 {
    ((value as u64 * per_mille as u64).div_ceil(1000)) as u32
}

impl Limits {
    pub fn new(cfg: &PreprocessConfig, width: usize, height: usize) -> Self {
        let (w, h) = (width as u32, height as u32);
        let area = width as u64 * height as u64;
        Limits {
            frame_width: w,
            frame_height: h,
            min_piece_area: cfg.min_piece_area_px.max((area * cfg.min_piece_area_ppm as u64 / 1_000_000) as u32),
            line_aspect: cfg.line_aspect.max(1) as u32,
            min_line_width: fraction(w, cfg.line_min_length_per_mille),
            min_line_height: fraction(h, cfg.line_min_length_per_mille),
            edge_margin: cfg.edge_margin_px as u32,
            min_digit_height: (cfg.min_digit_height_px as u32).max(fraction(h, cfg.min_digit_height_per_mille)),
            max_digit_height: fraction(h, cfg.max_digit_height_per_mille),
            max_digit_width: fraction(w, cfg.max_digit_width_per_mille),
            max_aspect_pct: cfg.max_digit_aspect_pct as u32,
            min_fill_pct: cfg.min_fill_pct as u32,
            max_fill_pct: cfg.max_fill_pct as u32,
            min_peak: cfg.min_peak_contrast,
            max_line_thickness: (h / 120).max(4),
        }
    }

    /// Long and thin, horizontally or vertically. Also checked after grouping, as a line cut
    /// into short segments by crossing lines is merged back by the grouping.
    fn is_line(&self, b: &Blob) -> bool {
        let (w, h) = (b.width(), b.height());
        let horizontal = w >= self.line_aspect * h && w >= self.min_line_width;
        let vertical = h >= self.line_aspect * w && h >= self.min_line_height;
        horizontal || vertical
    }

    fn too_big(&self, b: &Blob) -> bool {
        b.height() > self.max_digit_height || b.width() > self.max_digit_width
    }

    /// Wider for its height than a digit may be.
    pub fn too_wide(&self, b: &Blob) -> bool {
        b.width() as u64 * 100 > self.max_aspect_pct as u64 * b.height() as u64
    }
}

/// Whether a single component may be part of a digit.
pub fn check_piece(b: &Blob, lim: &Limits) -> Result<(), Rejection> {
    if b.area < lim.min_piece_area {
        return Err(Rejection::Speck);
    }
    let m = lim.edge_margin;
    if b.x0 <= m || b.y0 <= m || b.x1 + m >= lim.frame_width || b.y1 + m >= lim.frame_height {
        return Err(Rejection::TouchesEdge);
    }
    if lim.is_line(b) {
        return Err(Rejection::Line);
    }
    if lim.too_big(b) {
        return Err(Rejection::TooBig);
    }
    Ok(())
}

/// Whether a merged group looks like one digit.
pub fn check_digit(b: &Blob, lim: &Limits) -> Result<(), Rejection> {
    if b.height() < lim.min_digit_height {
        return Err(Rejection::TooSmall);
    }
    if lim.too_big(b) {
        return Err(Rejection::TooBig);
    }
    if lim.is_line(b) {
        return Err(Rejection::Line);
    }
    if lim.too_wide(b) {
        return Err(Rejection::TooWide);
    }
    let (w, h) = (b.width() as u64, b.height() as u64);
    let fill_pct = b.area as u64 * 100 / (w * h);
    if fill_pct < lim.min_fill_pct as u64 {
        return Err(Rejection::TooSparse);
    }
    if fill_pct > lim.max_fill_pct as u64 && h < 2 * w {
        return Err(Rejection::TooDense);
    }
    if b.peak < lim.min_peak {
        return Err(Rejection::Faint);
    }
    Ok(())
}

/// `limits` with the contrast floor lowered for a low-contrast frame: a digit whose peak
/// reaches `faint_peak_pct` % of the strongest digit's on this frame is not faint. Chalk on a
/// grey board or pencil in a shadow makes every digit of the frame faint together, while a
/// lone shadow edge or smudge on a blank page has no strong digit beside it to vouch for it.
pub fn relative_to_strongest(limits: &Limits, strongest_peak: Option<u8>, faint_peak_pct: u8) -> Limits {
    match strongest_peak {
        Some(peak) if faint_peak_pct > 0 => {
            let floor = (peak as u32 * faint_peak_pct as u32 / 100).clamp(1, 255) as u8;
            Limits { min_peak: limits.min_peak.min(floor), ..*limits }
        }
        _ => *limits,
    }
}

/// `limits` with the contrast floor lowered to `row_faint_peak_pct` % of it, for a digit that
/// [`stands_beside`] one of ordinary contrast. 0: the limits unchanged.
pub fn beside_ordinary_digits(limits: &Limits, row_faint_peak_pct: u8) -> Limits {
    let floor = (limits.min_peak as u32 * row_faint_peak_pct as u32 / 100).clamp(1, 255) as u8;
    match row_faint_peak_pct {
        0 => *limits,
        _ => Limits { min_peak: limits.min_peak.min(floor), ..*limits },
    }
}

/// Whether `faint` stands in `digit`'s row, beside it, about as tall: where a shadow falls
/// across a line of digits, the shaded ones lose contrast but keep their size and place,
/// while shadow edges and smudges rarely match a digit's height within its row.
pub fn stands_beside(faint: &Blob, digit: &Blob) -> bool {
    let (fh, dh) = (faint.height() as u64, digit.height() as u64);
    let overlap_y = faint.y1.min(digit.y1).saturating_sub(faint.y0.max(digit.y0)) as u64;
    let gap_x = faint.x0.max(digit.x0).saturating_sub(faint.x1.min(digit.x1)) as u64;
    overlap_y * 2 > fh.min(dh)
        && fh * 100 >= BESIDE_MIN_HEIGHT_PCT * dh
        && fh * 100 <= BESIDE_MAX_HEIGHT_PCT * dh
        && gap_x <= BESIDE_MAX_GAP_HEIGHTS * dh
}

/// Height of a faint digit that [`stands_beside`] an ordinary one, in percent of the latter's.
const BESIDE_MIN_HEIGHT_PCT: u64 = 60;
const BESIDE_MAX_HEIGHT_PCT: u64 = 150;
/// The blank between them, in heights of the ordinary digit.
const BESIDE_MAX_GAP_HEIGHTS: u64 = 2;

/// A line fragment is at least this many times longer than thick.
const FRAGMENT_ASPECT: u32 = 4;
/// Fragments needed to call a chain a line: vertical lines are rare in the text itself (two
/// x-aligned thin 1s, one above the other, are the risk); horizontal ones need one more, as a
/// row of detached 5-bars could line up.
const MIN_VERTICAL_FRAGMENTS: u32 = 2;
const MIN_HORIZONTAL_FRAGMENTS: u32 = 3;

/// Whether `piece` is digit-shaped (not a stroke: at least a third as wide as tall), about as
/// tall as `stroke` (65-150 %), in its row (overlapping most of the shorter one's height) and
/// beside it (a gap of at most twice the stroke's height).
fn is_a_digit_beside(piece: &Blob, stroke: &Blob) -> bool {
    let (ph, sh) = (piece.height() as u64, stroke.height() as u64);
    let overlap = piece.y1.min(stroke.y1).saturating_sub(piece.y0.max(stroke.y0)) as u64;
    let gap = piece.x0.max(stroke.x0).saturating_sub(piece.x1.min(stroke.x1)) as u64;
    piece.width() as u64 * 3 >= ph && ph * 100 >= sh * 65 && ph * 100 <= sh * 150 && overlap * 2 > ph.min(sh) && gap <= 2 * sh
}

/// A piece's extent along a line's direction and across it.
#[derive(Clone, Copy, Debug)]
struct Extent {
    along: (u32, u32),
    across: (u32, u32),
}

impl Extent {
    fn of(b: &Blob, vertical: bool) -> Self {
        if vertical {
            Extent { along: (b.y0, b.y1), across: (b.x0, b.x1) }
        } else {
            Extent { along: (b.x0, b.x1), across: (b.y0, b.y1) }
        }
    }

    /// Whether `next`, starting further along, continues this fragment's line: it starts no
    /// earlier than this one ends (give or take a pixel), and sits at the same place across
    /// it, within a tolerance that grows with the gap (for tilted lines).
    fn continued_by(&self, next: &Extent) -> bool {
        let gap = next.along.0.saturating_sub(self.along.1);
        let tolerance = 2 + gap / 8;
        next.along.0 + 1 >= self.along.1 && next.across.0 <= self.across.1 + tolerance && self.across.0 <= next.across.1 + tolerance
    }
}

/// Fragments lined up so far.
#[derive(Clone, Copy, Debug)]
struct Chain {
    last: Extent,
    start: u32,
    end: u32,
    count: u32,
}

/// Finds thin pieces that chain up, end to end and nearly collinear, into a long line (a
/// margin line or ruled line broken up by the threshold). Buffers are reused per frame.
#[derive(Debug, Default)]
pub struct LineFragments {
    candidates: Vec<u32>,
    chain_of: Vec<u32>,
    chains: Vec<Chain>,
    is_line: Vec<bool>,
}

impl LineFragments {
    pub fn new() -> Self { Self::default() }

    /// Removes from `kept` (indices into `pieces`) the pieces that are fragments of a line.
    pub fn remove(&mut self, pieces: &[Blob], kept: &mut Vec<u32>, lim: &Limits) {
        self.is_line.clear();
        self.is_line.resize(pieces.len(), false);
        self.mark(pieces, kept, lim, true);
        self.spare_ones_in_rows(pieces, kept);
        self.mark(pieces, kept, lim, false);
        kept.retain(|&i| !self.is_line[i as usize]);
    }

    /// Unmarks the upright fragments that stand in a row beside a digit-shaped piece of about
    /// their height: 1s written one above the other in a column of numbers line up like the
    /// pieces of a broken margin line, but each stands in a row of digits.
    fn spare_ones_in_rows(&mut self, pieces: &[Blob], kept: &[u32]) {
        for &i in kept {
            let stroke = &pieces[i as usize];
            if !self.is_line[i as usize] {
                continue;
            }
            let spared = kept.iter().any(|&j| !self.is_line[j as usize] && j != i && is_a_digit_beside(&pieces[j as usize], stroke));
            if spared {
                self.is_line[i as usize] = false;
            }
        }
    }

    fn mark(&mut self, pieces: &[Blob], kept: &[u32], lim: &Limits, vertical: bool) {
        let (min_length, min_count) = if vertical {
            (lim.min_line_height, MIN_VERTICAL_FRAGMENTS)
        } else {
            (lim.min_line_width, MIN_HORIZONTAL_FRAGMENTS)
        };
        self.candidates.clear();
        self.candidates.extend(kept.iter().copied().filter(|&i| {
            let e = Extent::of(&pieces[i as usize], vertical);
            let (length, thickness) = (e.along.1 - e.along.0, e.across.1 - e.across.0);
            thickness <= lim.max_line_thickness && length >= FRAGMENT_ASPECT * thickness
        }));
        self.candidates.sort_unstable_by_key(|&i| {
            let e = Extent::of(&pieces[i as usize], vertical);
            (e.along.0, e.across.0, i)
        });
        // Greedy, in order along the line: each fragment extends the first chain it continues,
        // or starts one.
        self.chains.clear();
        self.chain_of.clear();
        for &i in &self.candidates {
            let e = Extent::of(&pieces[i as usize], vertical);
            let chain = match self.chains.iter().position(|c| c.last.continued_by(&e)) {
                Some(k) => {
                    let c = &mut self.chains[k];
                    c.last = e;
                    c.end = c.end.max(e.along.1);
                    c.count += 1;
                    k
                }
                None => {
                    self.chains.push(Chain { last: e, start: e.along.0, end: e.along.1, count: 1 });
                    self.chains.len() - 1
                }
            };
            self.chain_of.push(chain as u32);
        }
        for (&i, &c) in self.candidates.iter().zip(&self.chain_of) {
            let chain = &self.chains[c as usize];
            if chain.count >= min_count && chain.end - chain.start >= min_length {
                self.is_line[i as usize] = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vga() -> Limits { Limits::new(&PreprocessConfig::default(), 640, 480) }

    /// A blob with the given box, `fill_pct` of it inked at strength 150.
    fn blob(x: u32, y: u32, w: u32, h: u32, fill_pct: u32) -> Blob {
        let area = (w * h * fill_pct / 100).max(1);
        Blob { x0: x, y0: y, x1: x + w, y1: y + h, area, ink_sum: area as u64 * 150, peak: 150 }
    }

    #[test]
    fn limits_scale_with_the_frame() {
        let l = vga();
        assert_eq!(l.min_piece_area, 8);
        assert_eq!(l.min_digit_height, 15);
        assert_eq!(l.max_digit_height, 432);
        let big = Limits::new(&PreprocessConfig::default(), 1920, 1080);
        assert_eq!(big.min_piece_area, 51);
        assert_eq!(big.min_digit_height, 33);
    }

    #[test]
    fn specks_are_pieces_too_small_to_matter() {
        assert_eq!(check_piece(&blob(100, 100, 2, 3, 100), &vga()), Err(Rejection::Speck));
        assert_eq!(check_piece(&blob(100, 100, 12, 3, 100), &vga()), Ok(()), "a short stroke fragment stays");
    }

    #[test]
    fn ruled_lines_and_table_edges_are_lines() {
        let l = vga();
        assert_eq!(check_piece(&blob(20, 200, 500, 3, 100), &l), Err(Rejection::Line));
        assert_eq!(check_piece(&blob(300, 20, 4, 440, 100), &l), Err(Rejection::Line));
        // A detached bar of a "5" and a thin "1" are not.
        assert_eq!(check_piece(&blob(100, 100, 40, 3, 100), &l), Ok(()));
        assert_eq!(check_piece(&blob(100, 100, 3, 60, 100), &l), Ok(()));
        // A thick-marker "1" at the largest digit size is not either.
        assert_eq!(check_piece(&blob(100, 100, 25, 300, 90), &l), Ok(()));
    }

    #[test]
    fn pieces_at_the_edge_or_huge_are_dropped() {
        let l = vga();
        assert_eq!(check_piece(&blob(0, 100, 30, 40, 30), &l), Err(Rejection::TouchesEdge));
        assert_eq!(check_piece(&blob(600, 440, 40, 40, 30), &l), Err(Rejection::TouchesEdge));
        assert_eq!(check_piece(&blob(1, 1, 30, 40, 30), &l), Ok(()));
        assert_eq!(check_piece(&blob(10, 10, 620, 450, 30), &l), Err(Rejection::TooBig));
    }

    #[test]
    fn a_broken_margin_line_is_found_but_aligned_digits_are_not() {
        let l = vga();
        // A slightly tilted vertical line broken into 4 pieces; a digit beside it; two
        // digit-shaped pieces stacked in one column (rows of text).
        let pieces = [
            blob(90, 10, 2, 54, 100),
            blob(91, 100, 2, 20, 100),
            blob(93, 268, 2, 20, 100),
            blob(95, 440, 2, 24, 100),
            blob(120, 150, 30, 40, 100),
            blob(300, 100, 20, 40, 100),
            blob(302, 200, 20, 40, 100),
        ];
        let mut kept: Vec<u32> = (0..pieces.len() as u32).collect();
        LineFragments::new().remove(&pieces, &mut kept, &l);
        assert_eq!(kept, vec![4, 5, 6]);
    }

    #[test]
    fn ones_in_a_column_of_numbers_are_not_a_broken_line() {
        let l = vga();
        // Two rows, each a 1 followed by a 7; the 1s one above the other.
        let pieces = [blob(50, 100, 4, 40, 100), blob(70, 100, 25, 40, 30), blob(51, 180, 4, 40, 100), blob(70, 181, 25, 40, 30)];
        let mut kept: Vec<u32> = (0..4).collect();
        LineFragments::new().remove(&pieces, &mut kept, &l);
        assert_eq!(kept, vec![0, 1, 2, 3]);
        // Without the 7s they are what a margin line broken in two looks like.
        let mut kept = vec![0, 2];
        LineFragments::new().remove(&pieces, &mut kept, &l);
        assert!(kept.is_empty());
    }

    #[test]
    fn a_dashed_ruled_line_is_found_but_a_row_of_bars_is_not() {
        let l = vga();
        let dashes: Vec<Blob> = (0..8).map(|i| blob(20 + i * 60, 200 + i / 3, 25, 2, 100)).collect();
        let mut kept: Vec<u32> = (0..8).collect();
        LineFragments::new().remove(&dashes, &mut kept, &l);
        assert!(kept.is_empty());
        // Two detached 5-bars in a row of digits.
        let bars = [blob(100, 100, 30, 3, 100), blob(150, 101, 28, 3, 100)];
        let mut kept = vec![0, 1];
        LineFragments::new().remove(&bars, &mut kept, &l);
        assert_eq!(kept, vec![0, 1]);
    }

    #[test]
    fn digit_checks() {
        let l = vga();
        assert_eq!(check_digit(&blob(100, 100, 30, 50, 25), &l), Ok(()));
        assert_eq!(check_digit(&blob(100, 100, 8, 10, 25), &l), Err(Rejection::TooSmall));
        assert_eq!(check_digit(&blob(100, 100, 130, 40, 25), &l), Err(Rejection::TooWide));
        assert_eq!(check_digit(&blob(100, 100, 200, 200, 1), &l), Err(Rejection::TooSparse));
        assert_eq!(check_digit(&blob(100, 100, 50, 50, 98), &l), Err(Rejection::TooDense));
        assert_eq!(check_digit(&blob(100, 100, 25, 150, 98), &l), Ok(()), "solid but tall: a marker 1");
        assert_eq!(check_digit(&blob(100, 100, 3, 200, 95), &l), Err(Rejection::Line), "merged line segments");
        let faint = Blob { peak: 30, ..blob(100, 100, 30, 50, 25) };
        assert_eq!(check_digit(&faint, &l), Err(Rejection::Faint));
    }

    #[test]
    fn a_faint_digit_stands_beside_one_in_its_row_about_as_tall() {
        let digit = blob(100, 100, 40, 60, 25);
        assert!(stands_beside(&blob(160, 105, 40, 60, 25), &digit), "next in the row");
        assert!(stands_beside(&blob(30, 95, 40, 50, 25), &digit), "before it, a little shorter");
        assert!(!stands_beside(&blob(160, 200, 40, 60, 25), &digit), "in the row below");
        assert!(!stands_beside(&blob(160, 110, 20, 30, 25), &digit), "half as tall: a smudge or speck");
        assert!(!stands_beside(&blob(160, 80, 60, 100, 25), &digit), "much taller: a shadow edge");
        assert!(!stands_beside(&blob(270, 100, 40, 60, 25), &digit), "beyond two heights of blank");
        let l = vga();
        assert_eq!(beside_ordinary_digits(&l, 50).min_peak, l.min_peak / 2);
        assert_eq!(beside_ordinary_digits(&l, 0).min_peak, l.min_peak, "0: off");
    }

    #[test]
    fn a_frame_of_faint_digits_lowers_the_contrast_floor() {
        let l = vga();
        let faint = Blob { peak: 40, ..blob(100, 100, 30, 50, 25) };
        assert_eq!(check_digit(&faint, &l), Err(Rejection::Faint));
        assert_eq!(check_digit(&faint, &relative_to_strongest(&l, Some(60), 60)), Ok(()), "40 is over 60 % of 60");
        assert_eq!(check_digit(&faint, &relative_to_strongest(&l, Some(200), 60)), Err(Rejection::Faint), "beside a strong digit");
        assert_eq!(relative_to_strongest(&l, None, 60), l, "no digit on the frame vouches for it");
        assert_eq!(relative_to_strongest(&l, Some(60), 0), l, "0 turns the rule off");
        assert_eq!(relative_to_strongest(&l, Some(255), 100), l, "the floor is never raised");
        assert_eq!(relative_to_strongest(&l, Some(1), 60).min_peak, 1, "never down to no floor at all");
    }
}
