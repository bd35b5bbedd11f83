//! Stage 2: adaptive binarisation against the local mean, robust to uneven light.
//!
//! Each pixel is compared with the mean of a square window around it. It is ink when it
//! differs from that mean by more than `relative% of the local background level + absolute`
//! grey levels, where the background level is measured from "full ink": the local mean for
//! dark ink on paper (Bradley's rule: the margin shrinks with the light, so shadowed paper
//! still works) and `255 - mean` for light ink on a board. Both polarities are classified in
//! the same pass; the polarity stage then picks one map.
//!
//! On a dark board in shadow the mirrored rule fails: chalk's contrast shrinks with the light
//! just as ink's does, but `255 - mean` grows as the board darkens. So light ink's background
//! level is also capped at twice the mean (a board darker than a third of white, `mean <
//! 85`): there the margin follows the light, as Bradley's does on paper. On 10 229 tuning
//! pages (scenes of seeds 5, 6, 7, 9, 10, 11 and 14 million, USPS validation pages; none of
//! the test seeds) the cap read 18 more exactly (digits in shadow on boards, which the
//! mirrored margin lost or cut short) and broke 1, and 2 000 blank pages still showed no
//! digit; a cap at the mean itself read about the same but thickened chalk strokes on
//! brighter boards. The polarity evidence keeps the mirrored rule, so that it still swaps
//! exactly under inversion and a dim page of thick marker is not taken for a board.
//!
//! The mean changes slowly, so the window is centred on the pixel's small block (up to 8x8,
//! well under the 2r+1 window) rather than on the pixel itself: the per-block work (window sum
//! from sliding column sums and their row prefix, a sliding integral image; the two ink
//! thresholds solved exactly in integers) is shared by the block's pixels, and each pixel
//! costs two byte comparisons, which the compiler vectorises.
//!
//! The thresholds are exact integer solutions of the inequalities on window *sums*
//! (`100 (sum - n p) > rel sum + 100 abs n` for dark ink, and its mirror for light ink), never
//! of rounded means, so the result is exactly symmetric under inversion wherever the board is
//! not under the cap (`255 n - sum <= 2 sum`): pixel `255 - p` with window sum `255 n - sum`
//! lands in the other map with the same strength.
//!
//! The output maps hold the ink *strength* (contrast against the local mean, clamped to
//! 1..=255) for ink pixels and 0 elsewhere.

use super::polarity::{Polarity, PolarityEvidence};
use crate::frame::GreyImage;

/// Largest window radius. Windows of at most 257x257 pixels keep column sums inside u16 and
/// `100 * 255 * n` (the largest scaled value compared) inside i32 range.
pub const MAX_RADIUS: usize = 128;

/// The ink margin: relative percentage of the background level plus absolute grey levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Margins {
    pub relative_pct: u8,
    pub absolute: u8,
}

/// Window radius for a frame: half the window side, the side being a fraction of the shorter
/// frame side but at least `min_side` pixels (and at most `2 * MAX_RADIUS + 1`).
pub fn window_radius(width: usize, height: usize, per_mille: u16, min_side: u16) -> usize {
    let side = (width.min(height) * per_mille as usize / 1000).max(min_side as usize);
    (side / 2).min(MAX_RADIUS)
}

/// log2 of the side of the blocks sharing one window: at most a quarter of the radius, so a
/// pixel is never more than an eighth of the radius off its window's centre.
fn block_shift(radius: usize) -> u32 {
    match radius {
        0..=7 => 0,
        8..=15 => 1,
        16..=31 => 2,
        _ => 3,
    }
}

/// The window along one axis for block `b`: `[c - r, c + r]` around the block's middle pixel
/// `c` (the last pixel for a partial last block), clipped to `[0, len)`.
fn window_span(b: usize, shift: u32, r: usize, len: usize) -> (usize, usize) {
    let centre = ((b << shift) + ((1 << shift) >> 1)).min(len - 1);
    (centre.saturating_sub(r), (centre + r + 1).min(len))
}

/// Exact division by a fixed divisor through a 64-bit reciprocal (one multiply and one
/// correction step instead of a hardware divide per block).
#[derive(Clone, Copy, Debug)]
struct Divider {
    d: u64,
    reciprocal: u64,
}

impl Divider {
    fn new(d: u64) -> Self {
        Divider { d, reciprocal: u64::MAX / d.max(1) }
    }

    /// `floor(x / d)` for `x < 2^63`.
    #[inline]
    fn floor(&self, x: u64) -> u64 {
        // The estimate is floor(x / d) or one less.
        let q = ((x as u128 * self.reciprocal as u128) >> 64) as u64;
        if (q + 1) * self.d <= x { q + 1 } else { q }
    }

    #[inline]
    fn ceil(&self, x: u64) -> u64 {
        let q = self.floor(x);
        if q * self.d < x { q + 1 } else { q }
    }
}

/// A window's ink thresholds and mean, shared by the pixels of one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Thresholds {
    /// Dark ink ⇔ `p < dark_below`.
    dark_below: u8,
    /// Light-ink evidence for the polarity decision ⇔ `p > light_above` (the mirror of the
    /// dark-ink rule, so that evidence swaps exactly under inversion)...
    light_above: u8,
    /// ...and light ink in the map ⇔ `p > chalk_above` (at most `light_above`).
    chalk_above: u8,
    /// `floor(sum / n)` and `ceil(sum / n)`: dark strength `floor - p`, light `p - ceil`.
    mean_floor: u8,
    mean_ceil: u8,
}

/// The divisors for windows of `n` pixels.
#[derive(Clone, Copy, Debug)]
struct WindowDivisors {
    n: u32,
    by_n: Divider,
    by_100n: Divider,
}

impl WindowDivisors {
    fn new(n: u32) -> Self {
        WindowDivisors { n, by_n: Divider::new(n as u64), by_100n: Divider::new(100 * n as u64) }
    }

    /// Solves the ink inequalities for a window of `n` pixels summing to `sum`:
    /// dark  ⇔ `100 n p < (100 - rel) sum - 100 abs n`             ⇔ `p < ceil(X / 100n)`,
    /// light ⇔ `100 n p > (100 - rel) sum + 100 abs n + 255 rel n` ⇔ `p > floor(Y / 100n)`
    /// (the mirror: polarity evidence), and for the light map the same with the background
    /// level `255 n - sum` capped at `2 sum`:
    /// chalk ⇔ `100 n p > 100 sum + rel min(2 sum, 255 n - sum) + 100 abs n`.
    #[inline]
    fn thresholds(&self, sum: u32, m: Margins) -> Thresholds {
        let (n, sum) = (self.n as u64, sum as u64);
        let rel = m.relative_pct.min(100) as u64;
        let scaled = (100 - rel) * sum;
        let margin = 100 * m.absolute as u64 * n;
        // X <= 0 leaves no dark pixel; Y / 100n >= 255 no light one.
        let dark_below = if scaled > margin { self.by_100n.ceil(scaled - margin) } else { 0 };
        let light_above = self.by_100n.floor(scaled + margin + 255 * rel * n).min(255);
        let chalk_above = self.by_100n.floor(100 * sum + rel * (2 * sum).min(255 * n - sum) + margin).min(255);
        debug_assert!(chalk_above <= light_above);
        Thresholds {
            dark_below: dark_below.min(255) as u8,
            light_above: light_above as u8,
            chalk_above: chalk_above as u8,
            mean_floor: self.by_n.floor(sum).min(255) as u8,
            mean_ceil: self.by_n.ceil(sum).min(255) as u8,
        }
    }
}

/// Window sums and ink maps, reused from frame to frame.
#[derive(Debug, Default)]
pub struct Binarizer {
    width: usize,
    height: usize,
    radius: usize,
    /// Per column, the sum of the pixels in the current block row's window rows.
    column_sums: Vec<u16>,
    /// Prefix sums of `column_sums` (`width + 1`, starting at 0): a window sum is one
    /// subtraction.
    strip: Vec<u32>,
    /// The current block row's thresholds, per block...
    block_thresholds: Vec<Thresholds>,
    /// ...and spread out per column (separate arrays, so the
    /// per-pixel comparison vectorises).
    dark_below: Vec<u8>,
    light_above: Vec<u8>,
    chalk_above: Vec<u8>,
    mean_floor: Vec<u8>,
    mean_ceil: Vec<u8>,
    dark: Vec<u8>,
    light: Vec<u8>,
}

impl Binarizer {
    pub fn new() -> Self { Self::default() }

    pub fn width(&self) -> usize { self.width }
    pub fn height(&self) -> usize { self.height }
    /// Half the window side.
    pub fn radius(&self) -> usize { self.radius }

    /// Classifies every pixel of `img` into the two ink maps. `radius` comes from
    /// [`window_radius`].
    pub fn run(&mut self, img: &GreyImage<'_>, radius: usize, margins: Margins) -> PolarityEvidence {
        self.width = img.width();
        self.height = img.height();
        self.radius = radius.min(MAX_RADIUS);
        let mut evidence = PolarityEvidence::default();
        if img.is_empty() {
            return evidence;
        }
        self.classify(img, margins, &mut evidence);
        evidence
    }

    /// The ink-strength map of one polarity, row-major `width x height`.
    pub fn ink(&self, polarity: Polarity) -> &[u8] {
        let map = match polarity {
            Polarity::DarkInk => &self.dark,
            Polarity::LightInk => &self.light,
        };
        // After an empty frame the maps keep their old size; show none of it.
        &map[..(self.width * self.height).min(map.len())]
    }

    fn classify(&mut self, img: &GreyImage<'_>, margins: Margins, evidence: &mut PolarityEvidence) {
        let (w, h, r) = (self.width, self.height, self.radius);
        let shift = block_shift(r);
        self.column_sums.clear();
        self.column_sums.resize(w, 0);
        self.strip.resize(w + 1, 0);
        for column_values in [&mut self.dark_below, &mut self.light_above, &mut self.chalk_above, &mut self.mean_floor, &mut self.mean_ceil] {
            column_values.resize(w, 0);
        }
        // Most pixels are not ink: clear the maps, then write only ink.
        for map in [&mut self.dark, &mut self.light] {
            map.clear();
            map.resize(w * h, 0);
        }
        let mut window_rows = 0..0;
        let mut divisors = WindowDivisors::new(1);
        for by in 0..h.div_ceil(1 << shift) {
            // Slide the column sums to this block row's window rows (both ends only move down).
            let (y0, y1) = window_span(by, shift, r, h);
            while window_rows.end < y1 {
                add_row(&mut self.column_sums, img.row(window_rows.end));
                window_rows.end += 1;
            }
            while window_rows.start < y0 {
                subtract_row(&mut self.column_sums, img.row(window_rows.start));
                window_rows.start += 1;
            }
            let mut acc = 0u32;
            for (s, &c) in self.strip[1..].iter_mut().zip(&self.column_sums) {
                acc += c as u32;
                *s = acc;
            }
            // For the polarity tie-break: the brightness of the frame's middle half, across
            // and down (the camera is aimed at the writing: the page, not the table around
            // it), from the window rows' column sums, which are free here.
            let centre_row = ((by << shift) + ((1 << shift) >> 1)).min(h - 1);
            if (h / 4..h - h / 4).contains(&centre_row) {
                let (x0, x1) = (w / 4, w - w / 4);
                evidence.brightness_sum += (self.strip[x1] - self.strip[x0]) as u64;
                evidence.pixels += ((x1 - x0) * (y1 - y0)) as u64;
            }
            self.block_thresholds.clear();
            for bx in 0..w.div_ceil(1 << shift) {
                let (x0, x1) = window_span(bx, shift, r, w);
                let n = ((x1 - x0) * (y1 - y0)) as u32;
                if n != divisors.n {
                    divisors = WindowDivisors::new(n);
                }
                self.block_thresholds.push(divisors.thresholds(self.strip[x1] - self.strip[x0], margins));
            }
            let blocks = &self.block_thresholds;
            spread(blocks.iter().map(|t| t.dark_below), shift, &mut self.dark_below);
            spread(blocks.iter().map(|t| t.light_above), shift, &mut self.light_above);
            spread(blocks.iter().map(|t| t.chalk_above), shift, &mut self.chalk_above);
            spread(blocks.iter().map(|t| t.mean_floor), shift, &mut self.mean_floor);
            spread(blocks.iter().map(|t| t.mean_ceil), shift, &mut self.mean_ceil);
            for y in by << shift..((by + 1) << shift).min(h) {
                let row = img.row(y);
                let (dark, light) = (&mut self.dark[y * w..][..w], &mut self.light[y * w..][..w]);
                let thresholds = RowThresholds {
                    dark_below: &self.dark_below,
                    light_above: &self.light_above,
                    chalk_above: &self.chalk_above,
                    mean_floor: &self.mean_floor,
                    mean_ceil: &self.mean_ceil,
                };
                let (d, l) = classify_row(row, &thresholds, dark, light);
                evidence.dark_excess += d;
                evidence.light_excess += l;
            }
        }
    }
}

/// Repeats each block's value over its `1 << shift` columns.
fn spread(values: impl Iterator<Item = u8>, shift: u32, columns: &mut [u8]) {
    for (chunk, v) in columns.chunks_mut(1 << shift).zip(values) {
        match <&mut [u8; 8]>::try_from(&mut *chunk) {
            Ok(eight) => *eight = [v; 8], // the usual case: one 8-byte store
            Err(_) => chunk.iter_mut().for_each(|c| *c = v),
        }
    }
}

// Wrapping: while the window slides by a whole block, rows are added before the ones it leaves
// are taken away, so a column may briefly hold more than 257 rows; sums modulo 2^16 come out
// exact once it holds its window again (at most 257 rows of 255).
fn add_row(sums: &mut [u16], row: &[u8]) {
    sums.iter_mut().zip(row).for_each(|(s, &p)| *s = s.wrapping_add(p as u16));
}

fn subtract_row(sums: &mut [u16], row: &[u8]) {
    sums.iter_mut().zip(row).for_each(|(s, &p)| *s = s.wrapping_sub(p as u16));
}

/// One row's [`Thresholds`], per column.
struct RowThresholds<'a> {
    dark_below: &'a [u8],
    light_above: &'a [u8],
    chalk_above: &'a [u8],
    mean_floor: &'a [u8],
    mean_ceil: &'a [u8],
}

/// Polarity evidence of an ink pixel `excess` grey levels past its threshold: squared, so
/// that a few strongly inked pixels outweigh the long faint bands that shadow edges leave.
#[inline]
fn excess_weight(excess: u8) -> u64 {
    (excess as u64) * (excess as u64)
}

/// Pixels compared at once in [`classify_row`].
const LANES: usize = 16;

/// Classifies one row against its per-column thresholds, writing strengths into the maps.
/// Returns the row's (dark, light) evidence (see [`excess_weight`]).
fn classify_row(row: &[u8], t: &RowThresholds<'_>, dark: &mut [u8], light: &mut [u8]) -> (u64, u64) {
    let mut evidence = (0u64, 0u64);
    let mut classify = |x: usize| {
        let p = row[x];
        if p < t.dark_below[x] {
            dark[x] = t.mean_floor[x].saturating_sub(p).max(1);
            evidence.0 += excess_weight(t.dark_below[x] - p);
        } else if p > t.chalk_above[x] {
            light[x] = p.saturating_sub(t.mean_ceil[x]).max(1);
            evidence.1 += excess_weight(p.saturating_sub(t.light_above[x]));
        }
    };
    // Ink is rare: test LANES pixels at once, branch-free so it vectorises, and look at
    // pixels one by one only in blocks that hold ink.
    let blocks = row.chunks_exact(LANES).zip(t.dark_below.chunks_exact(LANES)).zip(t.chalk_above.chunks_exact(LANES));
    for (i, ((p, below), above)) in blocks.enumerate() {
        let any_ink = p.iter().zip(below).zip(above).fold(false, |any, ((p, b), a)| any | (p < b) | (p > a));
        if any_ink {
            (i * LANES..(i + 1) * LANES).for_each(&mut classify);
        }
    }
    (row.len() / LANES * LANES..row.len()).for_each(classify);
    evidence
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::OwnedGrey;

    const MARGINS: Margins = Margins { relative_pct: 15, absolute: 10 };

    fn binarize(img: &OwnedGrey, radius: usize) -> (Binarizer, PolarityEvidence) {
        let mut b = Binarizer::new();
        let e = b.run(&img.view(), radius, MARGINS);
        (b, e)
    }

    fn count(map: &[u8]) -> usize { map.iter().filter(|&&v| v > 0).count() }

    fn fill_rect(img: &mut OwnedGrey, x0: usize, y0: usize, w: usize, h: usize, v: u8) {
        for y in y0..y0 + h {
            img.data[y * img.width + x0..y * img.width + x0 + w].fill(v);
        }
    }

    /// The rule written out naively: per pixel, loops over its block's window.
    fn reference(img: &OwnedGrey, r: usize, m: Margins) -> (Vec<u8>, Vec<u8>) {
        let (w, h) = (img.width, img.height);
        let shift = block_shift(r);
        let (mut dark, mut light) = (vec![0u8; w * h], vec![0u8; w * h]);
        for y in 0..h {
            for x in 0..w {
                let (x0, x1) = window_span(x >> shift, shift, r, w);
                let (y0, y1) = window_span(y >> shift, shift, r, h);
                let (mut n, mut sum) = (0i64, 0i64);
                for yy in y0..y1 {
                    for xx in x0..x1 {
                        n += 1;
                        sum += img.data[yy * w + xx] as i64;
                    }
                }
                let p = img.data[y * w + x] as i64;
                let (rel, abs) = (m.relative_pct as i64, m.absolute as i64);
                if 100 * (sum - n * p) > rel * sum + 100 * abs * n {
                    dark[y * w + x] = ((sum - n * p) / n).clamp(1, 255) as u8;
                }
                if 100 * (n * p - sum) > rel * (255 * n - sum) + 100 * abs * n {
                    light[y * w + x] = ((n * p - sum) / n).clamp(1, 255) as u8;
                }
            }
        }
        (dark, light)
    }

    #[test]
    fn the_largest_window_on_a_white_frame_keeps_exact_column_sums() {
        // 257 rows of 255 fill a u16 column sum; sliding by a block adds 8 more for a moment.
        let (w, h) = (300, 600);
        let mut img = OwnedGrey::new(w, h, 255);
        for y in 400..404 {
            img.data[y * w + 150..y * w + 154].fill(0);
        }
        let (b, evidence) = binarize(&img, MAX_RADIUS);
        let dark = b.ink(Polarity::DarkInk);
        assert_eq!(dark.iter().filter(|&&v| v > 0).count(), 16, "only the dot is dark ink");
        assert!(dark[401 * w + 151] > 200);
        assert!(evidence.pixels > 0);
    }

    #[test]
    fn the_brightness_for_the_polarity_vote_is_the_frames_middle() {
        // A white sheet filling the middle of a frame of dark table.
        let (w, h) = (400, 300);
        let mut img = OwnedGrey::new(w, h, 20);
        fill_rect(&mut img, 90, 60, 220, 180, 230);
        let (_, evidence) = binarize(&img, 5);
        assert_eq!(evidence.brightness_sum, 230 * evidence.pixels);
        let whole: u64 = img.data.iter().map(|&v| v as u64).sum();
        assert!(2 * whole < 255 * (w * h) as u64, "the frame as a whole is dark");
    }

    #[test]
    fn divider_is_exact() {
        for d in [1u64, 3, 7, 100, 6561, 100 * 66049] {
            let div = Divider::new(d);
            for x in [0u64, 1, d - 1, d, d + 1, 12345, 1 << 40, (1 << 40) + 17, 100 * 255 * 66049] {
                assert_eq!(div.floor(x), x / d, "{x}/{d}");
                assert_eq!(div.ceil(x), x.div_ceil(d), "{x}/{d}");
            }
        }
    }

    #[test]
    fn maps_match_the_naive_rule_everywhere() {
        // Rough random texture with bright and dark blobs, edges included.
        let (w, h) = (83, 41);
        let mut img = OwnedGrey::new(w, h, 0);
        let mut seed = 99u32;
        for (i, v) in img.data.iter_mut().enumerate() {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let base = if (i % w) / 9 % 3 == 0 { 60 } else { 190 };
            *v = (base + (seed >> 16) % 50) as u8;
        }
        for (r, m) in [(0, MARGINS), (5, MARGINS), (12, Margins { relative_pct: 0, absolute: 3 }), (20, MARGINS), (40, Margins { relative_pct: 100, absolute: 0 })] {
            let (b, _) = binarize(&img, r);
            let b = if m == MARGINS { b } else {
                let mut b = Binarizer::new();
                b.run(&img.view(), r, m);
                b
            };
            let (dark, light) = reference(&img, r, m);
            assert_eq!(b.ink(Polarity::DarkInk), &dark[..], "dark, r={r}");
            assert_eq!(b.ink(Polarity::LightInk), &light[..], "light, r={r}");
        }
    }

    #[test]
    fn stroke_on_a_steep_gradient_is_the_only_ink() {
        // Paper from 90 (left) to 230 (right), a dark vertical stroke in the middle.
        let (w, h) = (160, 60);
        let mut img = OwnedGrey::new(w, h, 0);
        for y in 0..h {
            for x in 0..w {
                img.data[y * w + x] = (90 + x * 140 / w) as u8;
            }
        }
        for y in 10..50 {
            for x in 80..83 {
                img.data[y * w + x] /= 3;
            }
        }
        let (b, e) = binarize(&img, 12);
        let dark = b.ink(Polarity::DarkInk);
        assert_eq!(count(dark), 3 * 40);
        assert!((10..50).all(|y| (80..83).all(|x| dark[y * w + x] > 0)));
        assert!(e.dark_excess > e.light_excess);
    }

    #[test]
    fn soft_shadow_and_paper_noise_are_not_ink() {
        // Bright paper with +-6 texture and a shadow darkening the right half by 40% over a
        // 24 px penumbra.
        let (w, h) = (200, 120);
        let mut img = OwnedGrey::new(w, h, 0);
        let mut seed = 12345u32;
        for y in 0..h {
            for x in 0..w {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let noise = (seed >> 16) % 13;
                let shade = 100 - 40 * (x.clamp(88, 112) - 88) / 24;
                img.data[y * w + x] = ((200 * shade / 100) as u32 + noise - 6) as u8;
            }
        }
        let (b, _) = binarize(&img, 15);
        assert_eq!(count(b.ink(Polarity::DarkInk)), 0);
        assert_eq!(count(b.ink(Polarity::LightInk)), 0);
    }

    #[test]
    fn light_ink_on_a_dark_board_goes_to_the_light_map() {
        let mut img = OwnedGrey::new(100, 80, 40);
        fill_rect(&mut img, 30, 20, 4, 40, 210);
        let (b, e) = binarize(&img, 12);
        assert_eq!(count(b.ink(Polarity::LightInk)), 4 * 40);
        assert!(e.light_excess > e.dark_excess);
    }

    #[test]
    fn chalk_in_a_shadow_on_a_dark_board_is_still_ink() {
        // A board in shadow (30 +-6) with a chalk stroke of only 28 grey levels: under the
        // mirrored margin (15 % of 225, plus 10) it would be lost; the capped one (15 % of 60,
        // plus 10) keeps it, and the board's grain stays below it.
        let (w, h) = (100, 80);
        let mut img = OwnedGrey::new(w, h, 0);
        let mut seed = 777u32;
        for v in img.data.iter_mut() {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *v = (24 + (seed >> 16) % 13) as u8;
        }
        fill_rect(&mut img, 30, 20, 4, 40, 58);
        let (b, e) = binarize(&img, 12);
        assert_eq!(count(b.ink(Polarity::LightInk)), 4 * 40);
        // Evidence keeps the mirrored rule: this faint stroke casts no polarity vote.
        assert_eq!(e.light_excess, 0);
        // The same stroke in ink on paper is not ink: the cap is for boards only.
        let paper = OwnedGrey { data: img.data.iter().map(|v| 255 - v).collect(), ..img.clone() };
        assert_eq!(count(binarize(&paper, 12).0.ink(Polarity::DarkInk)), 0);
    }

    #[test]
    fn inverted_frame_swaps_maps_and_evidence_exactly() {
        // Paper of 120-170: its negative, 85-135, is a board above the light-ink cap.
        let (w, h) = (90, 70);
        let mut img = OwnedGrey::new(w, h, 0);
        for (i, v) in img.data.iter_mut().enumerate() { *v = (120 + (i % w) / 2 + (i / w) % 7) as u8; }
        fill_rect(&mut img, 20, 10, 3, 50, 40);
        fill_rect(&mut img, 50, 30, 30, 3, 70);
        let inverted = OwnedGrey { data: img.data.iter().map(|v| 255 - v).collect(), ..img.clone() };
        let (a, ea) = binarize(&img, 9);
        let (b, eb) = binarize(&inverted, 9);
        assert_eq!(a.ink(Polarity::DarkInk), b.ink(Polarity::LightInk));
        assert_eq!(a.ink(Polarity::LightInk), b.ink(Polarity::DarkInk));
        assert_eq!((ea.dark_excess, ea.light_excess), (eb.light_excess, eb.dark_excess));
    }

    #[test]
    fn thick_marker_strokes_stay_solid() {
        // A 25 px stroke in a window of 2*40+1: the window mean is pulled towards the ink, but
        // the relative margin follows it down.
        let mut img = OwnedGrey::new(240, 200, 200);
        fill_rect(&mut img, 100, 20, 25, 160, 50);
        fill_rect(&mut img, 60, 90, 110, 25, 50);
        let (b, _) = binarize(&img, 40);
        let dark = b.ink(Polarity::DarkInk);
        assert_eq!(count(dark), 25 * 160 + 85 * 25);
    }

    #[test]
    fn tiny_and_degenerate_frames() {
        for (w, h) in [(0, 0), (1, 1), (1, 9), (9, 1), (2, 2)] {
            let img = OwnedGrey::new(w, h, 128);
            let (b, e) = binarize(&img, 7);
            assert_eq!(b.ink(Polarity::DarkInk).len(), w * h);
            assert_eq!(e.dark_excess + e.light_excess, 0);
        }
    }

    #[test]
    fn radius_follows_the_frame() {
        assert_eq!(window_radius(640, 480, 150, 15), 36);
        assert_eq!(window_radius(20, 10, 150, 15), 7);
        assert_eq!(window_radius(8192, 8192, 1000, 15), MAX_RADIUS);
        assert_eq!(window_radius(1920, 1080, 150, 15), 81);
        assert_eq!(window_radius(1, 1, 150, 15), 7);
    }
}
