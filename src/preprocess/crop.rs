//! Stage 6: each digit's crop, then MNIST normalisation.
//!
//! The crop holds ink strength (contrast against the local background, ink bright, 0 for
//! background) for the pixels of *this digit's* components only, so a neighbouring digit
//! reaching into the box never leaks in. Optionally the mask grows by one pixel, taking the
//! sub-threshold contrast of the anti-aliased stroke edges, as MNIST strokes have soft edges.
//! The crop is then cut to the box of its non-zero pixels and handed to [`Normalizer`].
//!
//! The background here is the mean of the *non-ink* pixels around each pixel, not the plain
//! local mean: inside a thick marker stroke or at a junction the plain mean is dragged
//! towards the ink, which would make dense parts of a digit look faint (and the soft edges of
//! thick strokes look like background). Excluding ink gives every stroke the paper-to-ink
//! contrast, as in MNIST. The background varies slowly, so it is computed on a grid of 4x4
//! blocks around the digit (block sums, an integral over them, one division per block) and
//! each pixel takes its block's level: no division per pixel. Levels are kept in the ink
//! direction ("how inky is the background") so that inverted frames give identical crops.

use super::binarize::Binarizer;
use super::components::Run;
use super::grouping::Digit;
use super::normalize::{Normalizer, INPUT_LEN};
use super::polarity::Polarity;
use crate::frame::GreyImage;

/// Everything a crop is painted from, for one frame.
pub struct CropSource<'a> {
    /// The frame the binariser ran on.
    pub img: GreyImage<'a>,
    pub binarizer: &'a Binarizer,
    pub polarity: Polarity,
    /// Runs sorted by row, their components, and each component's group.
    pub runs: &'a [Run],
    pub run_components: &'a [u32],
    pub piece_group: &'a [u32],
}

/// The crop buffer, reused from digit to digit and frame to frame.
#[derive(Debug, Default)]
pub struct CropBuilder {
    crop: Vec<u8>,
    /// Frame coordinates of the crop's top-left corner, and its size.
    origin: (usize, usize),
    width: usize,
    height: usize,
    background: Background,
    /// Scratch for the soft edges: which crop pixels are the digit's ink, and per column
    /// whether the current row or a vertical neighbour is.
    mine: Vec<u8>,
    near: Vec<u8>,
}

/// Side of the background grid's blocks, in pixels.
const BLOCK: usize = 4;

/// Background level on a block grid around one digit.
#[derive(Debug, Default)]
struct Background {
    /// The crop area in blocks (global grid): first column and row, width.
    bx0: usize,
    by0: usize,
    bw: usize,
    /// Background level per crop block in the ink direction (`255 - mean` for dark ink, the
    /// mean for light ink); -1 where the window holds no background pixel at all.
    level: Vec<i16>,
    /// Scratch: per-block sums and counts of the background pixels over the region around the
    /// crop, then their integral images (`(blocks + 1)` per side, sums wrapping).
    sums: Vec<u32>,
    counts: Vec<u32>,
    /// Scratch: per pixel column, the background sum and count over one block row.
    column_sum: Vec<u16>,
    column_count: Vec<u16>,
}

impl Background {
    /// Computes the levels for the crop `[x0, x1) x [y0, y1)`; each block's window reaches
    /// `radius` pixels (rounded up to whole blocks) beyond it, like the binariser's.
    fn build(&mut self, img: &GreyImage<'_>, ink: &[u8], polarity: Polarity, radius: usize, (x0, y0, x1, y1): (usize, usize, usize, usize)) {
        let (w, h) = (img.width(), img.height());
        let reach = radius.div_ceil(BLOCK).max(1);
        let (cbx0, cby0, cbx1, cby1) = (x0 / BLOCK, y0 / BLOCK, x1.div_ceil(BLOCK), y1.div_ceil(BLOCK));
        let (rbx0, rby0) = (cbx0.saturating_sub(reach), cby0.saturating_sub(reach));
        let (rbx1, rby1) = ((cbx1 + reach).min(w.div_ceil(BLOCK)), (cby1 + reach).min(h.div_ceil(BLOCK)));
        let (rw, rh) = (rbx1 - rbx0, rby1 - rby0);
        let stride = rw + 1;
        for table in [&mut self.sums, &mut self.counts] {
            table.clear();
            table.resize(stride * (rh + 1), 0);
        }
        let (px0, px1) = (rbx0 * BLOCK, (rbx1 * BLOCK).min(w));
        for by in 0..rh {
            // Column sums of this block row's background pixels (vectorises)...
            self.column_sum.clear();
            self.column_sum.resize(px1 - px0, 0);
            self.column_count.clear();
            self.column_count.resize(px1 - px0, 0);
            for py in (rby0 + by) * BLOCK..((rby0 + by + 1) * BLOCK).min(h) {
                let pixels = &img.row(py)[px0..px1];
                let inked = &ink[py * w + px0..py * w + px1];
                for (((s, c), &p), &i) in self.column_sum.iter_mut().zip(self.column_count.iter_mut()).zip(pixels).zip(inked) {
                    let paper = (i == 0) as u16;
                    *s += p as u16 * paper;
                    *c += paper;
                }
            }
            // ...summed per block, integrated along the row and onto the row above.
            let cells = (by + 1) * stride + 1;
            let (mut sum, mut count) = (0u32, 0u32);
            let blocks = self.column_sum.chunks(BLOCK).zip(self.column_count.chunks(BLOCK));
            for (bx, (s, c)) in blocks.enumerate() {
                sum = sum.wrapping_add(s.iter().map(|&v| v as u32).sum::<u32>());
                count += c.iter().map(|&v| v as u32).sum::<u32>();
                self.sums[cells + bx] = self.sums[cells - stride + bx].wrapping_add(sum);
                self.counts[cells + bx] = self.counts[cells - stride + bx] + count;
            }
        }

        (self.bx0, self.by0, self.bw) = (cbx0, cby0, cbx1 - cbx0);
        self.level.clear();
        for cby in cby0..cby1 {
            let (wy0, wy1) = (cby.saturating_sub(reach).max(rby0) - rby0, (cby + reach + 1).min(rby1) - rby0);
            for cbx in cbx0..cbx1 {
                let (wx0, wx1) = (cbx.saturating_sub(reach).max(rbx0) - rbx0, (cbx + reach + 1).min(rbx1) - rbx0);
                let window = |t: &[u32]| {
                    t[wy1 * stride + wx1].wrapping_sub(t[wy0 * stride + wx1]).wrapping_sub(t[wy1 * stride + wx0]).wrapping_add(t[wy0 * stride + wx0])
                };
                let (n, sum) = (window(&self.counts) as i64, window(&self.sums) as i64);
                let level = match (n, polarity) {
                    (0, _) => -1,
                    (_, Polarity::DarkInk) => (255 * n - sum) / n,
                    (_, Polarity::LightInk) => sum / n,
                };
                self.level.push(level as i16);
            }
        }
    }

    /// Contrast of pixel `(x, y)` of value `p` against its block's background, in the ink
    /// direction of `polarity`, clamped to 0..=255. `None` when there is no background.
    #[inline]
    fn contrast(&self, x: usize, y: usize, p: u8, polarity: Polarity) -> Option<u8> {
        let level = self.level[(y / BLOCK - self.by0) * self.bw + (x / BLOCK - self.bx0)];
        if level < 0 {
            return None;
        }
        let inkiness = match polarity {
            Polarity::DarkInk => 255 - p as i16,
            Polarity::LightInk => p as i16,
        };
        Some((inkiness - level).clamp(0, 255) as u8)
    }
}

impl CropBuilder {
    pub fn new() -> Self { Self::default() }

    /// Paints `digit` and normalises it into `out`. Returns `false` if nothing was painted.
    pub fn build(&mut self, src: &CropSource<'_>, digit: &Digit, dilate: bool, normalizer: &mut Normalizer, out: &mut [u8; INPUT_LEN]) -> bool {
        self.build_joined(src, digit, digit.group, dilate, normalizer, out)
    }

    /// As [`Self::build`], with the pieces of group `also` painted as the digit's own too
    /// (a digit the grouping left in two parts, put back together).
    pub fn build_joined(&mut self, src: &CropSource<'_>, digit: &Digit, also: u32, dilate: bool, normalizer: &mut Normalizer, out: &mut [u8; INPUT_LEN]) -> bool {
        self.paint(src, digit, also, dilate);
        match self.ink_box() {
            Some((x0, y0, x1, y1)) => {
                let start = y0 * self.width + x0;
                normalizer.normalize(&self.crop[start..], x1 - x0, y1 - y0, self.width, out)
            }
            None => {
                out.fill(0);
                false
            }
        }
    }

    /// The last painted crop: pixels (row-major), frame position of its corner, size.
    pub fn crop(&self) -> (&[u8], (usize, usize), usize, usize) {
        (&self.crop, self.origin, self.width, self.height)
    }

    fn paint(&mut self, src: &CropSource<'_>, digit: &Digit, also: u32, dilate: bool) {
        let (w, h, r) = (src.binarizer.width(), src.binarizer.height(), src.binarizer.radius());
        let b = &digit.blob;
        let pad = dilate as usize;
        let (x0, y0) = ((b.x0 as usize).saturating_sub(pad), (b.y0 as usize).saturating_sub(pad));
        let (x1, y1) = ((b.x1 as usize + pad).min(w), (b.y1 as usize + pad).min(h));
        let cw = x1 - x0;
        self.origin = (x0, y0);
        self.width = cw;
        self.height = y1 - y0;
        self.crop.clear();
        self.crop.resize(cw * self.height, 0);

        let ink = src.binarizer.ink(src.polarity);
        self.background.build(&src.img, ink, src.polarity, r, (x0, y0, x1, y1));
        let contrast = |x: usize, y: usize| self.background.contrast(x, y, src.img.get(x, y), src.polarity);

        // This digit's own ink, at its contrast against the background.
        let first = src.runs.partition_point(|run| run.y < b.y0);
        for (run, &component) in src.runs[first..].iter().zip(&src.run_components[first..]) {
            if run.y >= b.y1 {
                break;
            }
            let group = src.piece_group[component as usize];
            if group != digit.group && group != also {
                continue;
            }
            // Clipped to the digit's box: a piece cut free of a line keeps the line's runs.
            let (ry, rx0, rx1) = (run.y as usize, run.x0.max(b.x0) as usize, run.x1.min(b.x1) as usize);
            let row = (ry - y0) * cw;
            for x in rx0..rx1 {
                // Ink keeps at least 1; where the window is all ink, the binariser's strength.
                self.crop[row + x - x0] = contrast(x, ry).unwrap_or(ink[ry * w + x]).max(1);
            }
        }
        if !dilate {
            return;
        }
        // Soft edges: the non-ink 8-neighbours of the digit's pixels. (Ink next to the digit
        // is in the same component, so it is the digit's own and already painted.)
        self.mine.clear();
        self.mine.extend(self.crop.iter().map(|&v| (v > 0) as u8));
        self.near.resize(cw, 0);
        for cy in 0..self.height {
            let rows = cy.saturating_sub(1)..(cy + 2).min(self.height);
            self.near.fill(0);
            for r in rows {
                self.near.iter_mut().zip(&self.mine[r * cw..][..cw]).for_each(|(n, &m)| *n |= m);
            }
            let y = y0 + cy;
            for cx in 0..cw {
                let touched = self.near[cx.saturating_sub(1)] | self.near[cx] | self.near[(cx + 1).min(cw - 1)];
                let x = x0 + cx;
                if touched != 0 && self.mine[cy * cw + cx] == 0 && ink[y * w + x] == 0 {
                    self.crop[cy * cw + cx] = contrast(x, y).unwrap_or(0);
                }
            }
        }
    }

    /// Box `[x0, x1) x [y0, y1)` of the non-zero crop pixels, in crop coordinates.
    fn ink_box(&self) -> Option<(usize, usize, usize, usize)> {
        if self.width == 0 {
            return None;
        }
        let mut bounds: Option<(usize, usize, usize, usize)> = None;
        for (y, row) in self.crop.chunks_exact(self.width).enumerate() {
            let (Some(first), Some(last)) = (row.iter().position(|&v| v > 0), row.iter().rposition(|&v| v > 0)) else {
                continue;
            };
            bounds = Some(match bounds {
                None => (first, y, last + 1, y + 1),
                Some((x0, y0, x1, _)) => (x0.min(first), y0, x1.max(last + 1), y + 1),
            });
        }
        bounds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::OwnedGrey;
    use crate::preprocess::binarize::Margins;
    use crate::preprocess::components::Labeller;

    const MARGINS: Margins = Margins { relative_pct: 15, absolute: 10 };

    fn rect(img: &mut OwnedGrey, x0: usize, y0: usize, w: usize, h: usize, v: u8) {
        for y in y0..y0 + h {
            img.data[y * img.width + x0..y * img.width + x0 + w].fill(v);
        }
    }

    /// Binarises and labels `img`, makes each component its own group, and builds the crop of
    /// component `target`.
    fn crop_of(img: &OwnedGrey, target: usize, dilate: bool) -> (CropBuilder, [u8; INPUT_LEN], Labeller) {
        let mut bin = Binarizer::new();
        bin.run(&img.view(), 10, MARGINS);
        let mut lab = Labeller::new();
        lab.label(bin.ink(Polarity::DarkInk), img.width, img.height, usize::MAX);
        let groups: Vec<u32> = (0..lab.components().len() as u32).collect();
        let src = CropSource {
            img: img.view(),
            binarizer: &bin,
            polarity: Polarity::DarkInk,
            runs: lab.runs(),
            run_components: lab.run_components(),
            piece_group: &groups,
        };
        let digit = Digit { blob: lab.components()[target], group: target as u32, row: 0 };
        let mut out = [0u8; INPUT_LEN];
        let mut builder = CropBuilder::new();
        assert!(builder.build(&src, &digit, dilate, &mut Normalizer::new(), &mut out));
        (builder, out, lab)
    }

    #[test]
    fn a_neighbour_inside_the_box_does_not_leak_in() {
        // An "L" (component 0) and a bar (component 1) reaching into the L's box.
        let mut img = OwnedGrey::new(120, 100, 200);
        rect(&mut img, 20, 20, 4, 50, 40);
        rect(&mut img, 20, 66, 40, 4, 40);
        rect(&mut img, 40, 30, 30, 4, 40);
        let (builder, out, lab) = crop_of(&img, 0, true);
        assert_eq!(lab.components().len(), 2);
        let (crop, (ox, oy), cw, ch) = builder.crop();
        assert_eq!(((ox, oy), cw, ch), ((19, 19), 42, 52));
        for y in 30..34 {
            for x in 40..61 {
                assert_eq!(crop[(y - oy) * cw + x - ox], 0, "bar pixel ({x},{y}) leaked");
            }
        }
        assert!(crop[(40 - oy) * cw + 21 - ox] > 100, "the L's own ink is there");
        assert!(out.contains(&255));
    }

    #[test]
    fn dilation_keeps_soft_stroke_edges() {
        // A stroke with a half-tone fringe (contrast 30, under the ink threshold).
        let mut img = OwnedGrey::new(80, 80, 200);
        rect(&mut img, 29, 20, 8, 40, 170);
        rect(&mut img, 30, 20, 6, 40, 60);
        let (with, _, _) = crop_of(&img, 0, true);
        let (without, _, _) = crop_of(&img, 0, false);
        let (crop, (ox, oy), cw, _) = with.crop();
        let fringe = crop[(40 - oy) * cw + 29 - ox];
        assert!((20..=40).contains(&fringe), "fringe contrast {fringe}");
        let (crop, (ox, _), _, _) = without.crop();
        assert_eq!(ox, 30);
        assert!(crop.iter().all(|&v| v > 100), "without dilation only the solid stroke");
    }
}
