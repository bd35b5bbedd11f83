//! MNIST-style normalisation of one digit crop into the model's 28x28 uint8 input.
//!
//! This is a contract shared with `model/digitmodel/normalize.py`: both sides must produce
//! byte-identical tensors for the same crop, so it is written in plain integer arithmetic.
//!
//! 1. Fit the crop into a 20x20 box keeping its aspect ratio: the longer side becomes 20, the
//!    shorter `max(1, round(short * 20 / long))`.
//! 2. Resample by area averaging: output pixel `(ox, oy)` covers source span
//!    `[ox*w/ow, (ox+1)*w/ow)`; each source pixel contributes in proportion to its exact overlap,
//!    computed in units of `1/ow` (x) and `1/oh` (y) so every weight is an integer.
//! 3. Stretch contrast so the brightest output pixel is 255 (thin pen strokes on large digits
//!    come out faint after averaging; MNIST strokes peak at 255), and grow a hairline stroke to
//!    a pen's width ([`thicken_hairline`]).
//! 4. Place the box in the 28x28 field so its centre of mass lands on index 14 (where MNIST's
//!    digits have theirs: mean 14.01, 13.99 over the test set), rounded to whole pixels and
//!    clamped so the box stays inside.

/// Side of the model input.
pub const INPUT_SIDE: usize = 28;
/// Side of the box the digit is fitted into.
pub const BOX_SIDE: usize = 20;
/// Number of bytes in one model input.
pub const INPUT_LEN: usize = INPUT_SIDE * INPUT_SIDE;

/// Scratch space reused across digits so that normalisation does not allocate per frame.
#[derive(Debug)]
pub struct Normalizer {
    /// Per output column: (first source column, weights for the covered source columns).
    x_spans: Vec<(usize, usize)>,
    x_weights: Vec<u32>,
    y_spans: Vec<(usize, usize)>,
    y_weights: Vec<u32>,
    row_acc: Vec<u64>,
}

impl Default for Normalizer {
    fn default() -> Self { Self::new() }
}

impl Normalizer {
    pub fn new() -> Self {
        Self {
            x_spans: Vec::with_capacity(BOX_SIDE),
            x_weights: Vec::with_capacity(1024),
            y_spans: Vec::with_capacity(BOX_SIDE),
            y_weights: Vec::with_capacity(1024),
            row_acc: Vec::with_capacity(BOX_SIDE),
        }
    }

    /// Normalise a `w x h` crop (ink bright on 0, row-major, `stride` bytes per row) into `out`.
    /// Returns `false` (and zeroes `out`) when the crop is empty or has no ink.
    pub fn normalize(&mut self, crop: &[u8], w: usize, h: usize, stride: usize, out: &mut [u8; INPUT_LEN]) -> bool {
        out.fill(0);
        if w == 0 || h == 0 || stride < w || crop.len() < stride * (h - 1) + w {
            return false;
        }
        let (ow, oh) = fitted_size(w, h);
        overlap_table(w, ow, &mut self.x_spans, &mut self.x_weights);
        overlap_table(h, oh, &mut self.y_spans, &mut self.y_weights);

        // Area-averaged box, computed separably: rows first into row_acc, then columns.
        let mut boxed = [0u32; BOX_SIDE * BOX_SIDE];
        let denom = (w as u64) * (h as u64);
        let mut wy_off = 0;
        for oy in 0..oh {
            let (y0, ny) = self.y_spans[oy];
            self.row_acc.clear();
            self.row_acc.resize(ow, 0);
            for (k, sy) in (y0..y0 + ny).enumerate() {
                let wy = self.y_weights[wy_off + k] as u64;
                let row = &crop[sy * stride..sy * stride + w];
                let mut wx_off = 0;
                for ox in 0..ow {
                    let (x0, nx) = self.x_spans[ox];
                    let mut s: u64 = 0;
                    for (j, &v) in row[x0..x0 + nx].iter().enumerate() {
                        s += v as u64 * self.x_weights[wx_off + j] as u64;
                    }
                    wx_off += nx;
                    self.row_acc[ox] += s * wy;
                }
            }
            wy_off += ny;
            for ox in 0..ow {
                boxed[oy * BOX_SIDE + ox] = ((self.row_acc[ox] + denom / 2) / denom) as u32;
            }
        }

        let peak = (0..oh).flat_map(|y| (0..ow).map(move |x| (x, y))).map(|(x, y)| boxed[y * BOX_SIDE + x]).max().unwrap_or(0);
        if peak == 0 {
            return false;
        }
        // The stretched box, with a blank pixel all round: room for a hairline to grow.
        let mut grown = [0u8; GROWN_SIDE * GROWN_SIDE];
        for y in 0..oh {
            for x in 0..ow {
                grown[(y + 1) * GROWN_SIDE + x + 1] = ((boxed[y * BOX_SIDE + x] * 255 + peak / 2) / peak) as u8;
            }
        }
        let (x0, y0, bw, bh) = if thicken_hairline(&mut grown) { (0, 0, ow + 2, oh + 2) } else { (1, 1, ow, oh) };
        let (mut mass, mut mx, mut my) = (0i64, 0i64, 0i64);
        for y in 0..bh {
            for x in 0..bw {
                let v = grown[(y + y0) * GROWN_SIDE + x + x0] as i64;
                mass += v;
                mx += x as i64 * v;
                my += y as i64 * v;
            }
        }
        let dx = centre_offset(mass, mx, bw);
        let dy = centre_offset(mass, my, bh);
        for y in 0..bh {
            out[(y + dy) * INPUT_SIDE + dx..][..bw].copy_from_slice(&grown[(y + y0) * GROWN_SIDE + x0..][..bw]);
        }
        true
    }
}

/// Pixels at least this bright are the stroke's core when its width is measured.
pub const CORE_LEVEL: u8 = 128;
/// Side of the box with a blank pixel all round, where a hairline grows.
const GROWN_SIDE: usize = BOX_SIDE + 2;

/// Gives a hairline stroke the width of a pen at MNIST's scale, before the box is centred.
/// A thin pen on a big digit shrinks to a one-pixel line in the 20x20 box, and the model
/// learned digits with strokes 2-3 px wide: a hairline 1 looks to it more like a line fragment
/// than a 1. The core's mean width is about `2 * area / perimeter`; under 1.2 px (a one-pixel
/// line; how many MNIST digits that touches: `docs/photos.md`), the stroke grows by one pixel
/// on each side, softly (3/4 of a 4-neighbour's level, 1/2 of a diagonal one's). `grown` is the box
/// with a blank border; returns whether it grew.
fn thicken_hairline(grown: &mut [u8; GROWN_SIDE * GROWN_SIDE]) -> bool {
    const N: usize = GROWN_SIDE;
    let core = |i: usize| grown[i] >= CORE_LEVEL;
    let (mut area, mut perimeter) = (0u32, 0u32);
    // The border is blank, so every core pixel's 4 neighbours are inside.
    for y in 1..N - 1 {
        for x in 1..N - 1 {
            let i = y * N + x;
            if core(i) {
                area += 1;
                perimeter += [i - 1, i + 1, i - N, i + N].into_iter().filter(|&j| !core(j)).count() as u32;
            }
        }
    }
    // width = 2A/P < 1.2  <=>  5A < 3P
    if area == 0 || 5 * area >= 3 * perimeter {
        return false;
    }
    let src = *grown;
    let at = |x: isize, y: isize| -> u32 {
        if (0..N as isize).contains(&x) && (0..N as isize).contains(&y) {
            src[y as usize * N + x as usize] as u32
        } else {
            0
        }
    };
    for y in 0..N as isize {
        for x in 0..N as isize {
            let side = at(x - 1, y).max(at(x + 1, y)).max(at(x, y - 1)).max(at(x, y + 1));
            let diagonal = at(x - 1, y - 1).max(at(x + 1, y - 1)).max(at(x - 1, y + 1)).max(at(x + 1, y + 1));
            grown[y as usize * N + x as usize] = at(x, y).max(side * 3 / 4).max(diagonal / 2) as u8;
        }
    }
    true
}

/// Size of the digit inside the 20x20 box.
pub fn fitted_size(w: usize, h: usize) -> (usize, usize) {
    if w >= h {
        (BOX_SIDE, ((h * BOX_SIDE + w / 2) / w).max(1))
    } else {
        (((w * BOX_SIDE + h / 2) / h).max(1), BOX_SIDE)
    }
}

/// For each output cell of an `n -> m` resampling, the covered source cells and their overlap
/// lengths in units of 1/m source pixels (output cell `o` spans `[o*n, (o+1)*n)`, source cell
/// `s` spans `[s*m, (s+1)*m)`).
fn overlap_table(n: usize, m: usize, spans: &mut Vec<(usize, usize)>, weights: &mut Vec<u32>) {
    spans.clear();
    weights.clear();
    for o in 0..m {
        let (lo, hi) = (o * n, (o + 1) * n);
        let first = lo / m;
        let last = (hi - 1) / m;
        for s in first..=last {
            let a = lo.max(s * m);
            let b = hi.min((s + 1) * m);
            weights.push((b - a) as u32);
        }
        spans.push((first, last - first + 1));
    }
}

/// Offset of a box of `len` pixels so that its centre of mass `moment / mass` lands on index 14,
/// rounded to the nearest pixel (`floor(14 - c + 1/2)`) and clamped so the box stays inside.
fn centre_offset(mass: i64, moment: i64, len: usize) -> usize {
    let num = 29 * mass - 2 * moment;
    let off = num.div_euclid(2 * mass);
    off.clamp(0, (INPUT_SIDE - len) as i64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn centre_of_mass(t: &[u8; INPUT_LEN]) -> (f64, f64) {
        let (mut m, mut x, mut y) = (0f64, 0f64, 0f64);
        for (i, &v) in t.iter().enumerate() {
            m += v as f64;
            x += (i % 28) as f64 * v as f64;
            y += (i / 28) as f64 * v as f64;
        }
        (x / m, y / m)
    }

    #[test]
    fn fitted_size_keeps_aspect() {
        assert_eq!(fitted_size(100, 50), (20, 10));
        assert_eq!(fitted_size(10, 300), (1, 20));
        assert_eq!(fitted_size(7, 7), (20, 20));
    }

    #[test]
    fn overlaps_sum_to_source_length() {
        let (mut s, mut w) = (Vec::new(), Vec::new());
        for (n, m) in [(300, 20), (20, 20), (7, 20), (1, 20), (33, 13)] {
            overlap_table(n, m, &mut s, &mut w);
            let mut off = 0;
            for &(_, k) in &s {
                let sum: u32 = w[off..off + k].iter().sum();
                assert_eq!(sum as usize, n, "n={n} m={m}");
                off += k;
            }
        }
    }

    #[test]
    fn solid_square_fills_the_box_centred() {
        let crop = vec![200u8; 50 * 50];
        let mut out = [0u8; INPUT_LEN];
        assert!(Normalizer::new().normalize(&crop, 50, 50, 50, &mut out));
        assert_eq!(out.iter().filter(|&&v| v == 255).count(), 400);
        assert_eq!(out[5 * 28 + 5], 255);
        assert_eq!(out[4 * 28 + 5], 0);
        let (cx, cy) = centre_of_mass(&out);
        assert!((cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5);
    }

    /// Core pixels (at least [`CORE_LEVEL`]) per inked row.
    fn core_width(t: &[u8; INPUT_LEN]) -> f64 {
        let rows: Vec<usize> = t.chunks(INPUT_SIDE).map(|r| r.iter().filter(|&&v| v >= CORE_LEVEL).count()).filter(|&n| n > 0).collect();
        rows.iter().sum::<usize>() as f64 / rows.len() as f64
    }

    #[test]
    fn a_thin_pens_one_gets_a_pens_width_and_a_markers_is_left_alone() {
        // 2 px of a 110 px tall 1: under half a pixel in the 20x20 box.
        let mut crop = vec![0u8; 110 * 40];
        crop.chunks_mut(40).for_each(|row| row[19..21].fill(200));
        let mut out = [0u8; INPUT_LEN];
        assert!(Normalizer::new().normalize(&crop, 40, 110, 40, &mut out));
        assert!(core_width(&out) >= 2.5, "{out:?}");
        // 3 px wide in the 20x20 box already, as MNIST's strokes are: left as it is.
        let mut crop = vec![0u8; 100 * 40];
        crop.chunks_mut(40).for_each(|row| row[15..30].fill(200));
        assert!(Normalizer::new().normalize(&crop, 40, 100, 40, &mut out));
        assert_eq!(core_width(&out), 3.0);
        assert_eq!(out.iter().filter(|&&v| v > 0).count(), 3 * 20);
    }

    #[test]
    fn empty_or_blank_crops_are_rejected() {
        let mut out = [7u8; INPUT_LEN];
        let mut n = Normalizer::new();
        assert!(!n.normalize(&[], 0, 0, 0, &mut out));
        assert!(!n.normalize(&[0; 16], 4, 4, 4, &mut out));
        assert!(out.iter().all(|&v| v == 0));
        assert!(!n.normalize(&[1; 3], 4, 4, 4, &mut out), "short buffer");
    }

    #[test]
    fn off_centre_mass_is_moved_to_the_centre() {
        // An "L": heavy left column, light bottom row.
        let (w, h) = (30, 60);
        let mut crop = vec![0u8; w * h];
        for y in 0..h { for x in 0..8 { crop[y * w + x] = 255; } }
        for x in 0..w { crop[(h - 1) * w + x] = 255; }
        let mut out = [0u8; INPUT_LEN];
        assert!(Normalizer::new().normalize(&crop, w, h, w, &mut out));
        let (cx, cy) = centre_of_mass(&out);
        assert!((cx - 14.0).abs() <= 0.5, "cx={cx}");
        assert!((cy - 14.0).abs() <= 0.5, "cy={cy}");
    }
}
