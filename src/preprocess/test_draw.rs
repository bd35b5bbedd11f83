//! Test-only scene drawing: a reflectance canvas (paper 1.0, ink darker) lit by an
//! illumination function, with anti-aliased strokes, MNIST digits, ruled lines and specks.
//! Floating point is fine here: this draws test input, it is not part of the pipeline.
//! Shared by the unit tests and `tests/preprocess_props.rs` (included there by path).

#![allow(dead_code)]

use std::io::Read;

/// Reflectance canvas, 0 (black) ..= 1 (white paper).
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub refl: Vec<f32>,
}

/// Tiny deterministic generator (test scenes must be reproducible).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 { (self.next_u32() >> 8) as f32 / (1u32 << 24) as f32 }
}

impl Canvas {
    pub fn new(width: usize, height: usize) -> Self {
        Canvas { width, height, refl: vec![1.0; width * height] }
    }

    /// A canvas of uniform reflectance (a dark board: 0.15).
    pub fn filled(width: usize, height: usize, refl: f32) -> Self {
        Canvas { width, height, refl: vec![refl; width * height] }
    }

    /// Mixes ink of reflectance `ink` into pixel `(x, y)` with coverage `alpha`; overlapping
    /// strokes do not add up (dark ink only darkens, chalk only brightens).
    fn ink(&mut self, x: usize, y: usize, alpha: f32, ink: f32) {
        let r = &mut self.refl[y * self.width + x];
        let target = *r * (1.0 - alpha) + ink * alpha;
        *r = if ink < *r { r.min(target) } else { r.max(target) };
    }

    /// Anti-aliased stroke of width `w` from `a` to `b` (round caps).
    pub fn stroke(&mut self, a: (f32, f32), b: (f32, f32), w: f32, ink: f32) {
        let half = w / 2.0;
        let (x0, x1) = (a.0.min(b.0) - half - 1.0, a.0.max(b.0) + half + 1.0);
        let (y0, y1) = (a.1.min(b.1) - half - 1.0, a.1.max(b.1) + half + 1.0);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = (dx * dx + dy * dy).max(1e-6);
        for y in (y0.max(0.0) as usize)..(y1.max(0.0) as usize).min(self.height) {
            for x in (x0.max(0.0) as usize)..(x1.max(0.0) as usize).min(self.width) {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let t = (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0);
                let (cx, cy) = (a.0 + t * dx - px, a.1 + t * dy - py);
                let dist = (cx * cx + cy * cy).sqrt();
                let alpha = (half + 0.5 - dist).clamp(0.0, 1.0);
                if alpha > 0.0 {
                    self.ink(x, y, alpha, ink);
                }
            }
        }
    }

    /// A polyline in unit coordinates mapped onto box `(x, y, w, h)`.
    pub fn polyline(&mut self, pts: &[(f32, f32)], bx: (f32, f32, f32, f32), w: f32, ink: f32) {
        for seg in pts.windows(2) {
            let map = |p: (f32, f32)| (bx.0 + p.0 * bx.2, bx.1 + p.1 * bx.3);
            self.stroke(map(seg[0]), map(seg[1]), w, ink);
        }
    }

    /// A handwriting-like glyph (see [`glyph_strokes`]) in box `(x, y, w, h)`.
    pub fn glyph(&mut self, digit: u8, bx: (f32, f32, f32, f32), w: f32, ink: f32) {
        for stroke in glyph_strokes(digit) {
            self.polyline(&stroke, bx, w, ink);
        }
    }

    /// An MNIST image (ink bright) scaled by `scale` with bilinear interpolation, top-left at
    /// `(x, y)`, darkening the canvas towards `ink`.
    pub fn mnist(&mut self, digit: &[u8; 784], x: usize, y: usize, scale: f32, ink: f32) {
        let size = (28.0 * scale) as usize;
        for oy in 0..size {
            for ox in 0..size {
                let (fx, fy) = ((ox as f32 + 0.5) / scale - 0.5, (oy as f32 + 0.5) / scale - 0.5);
                let (ix, iy) = (fx.floor(), fy.floor());
                let (tx, ty) = (fx - ix, fy - iy);
                let at = |x: f32, y: f32| -> f32 {
                    if x < 0.0 || y < 0.0 || x > 27.0 || y > 27.0 { 0.0 } else { digit[y as usize * 28 + x as usize] as f32 / 255.0 }
                };
                let v = at(ix, iy) * (1.0 - tx) * (1.0 - ty) + at(ix + 1.0, iy) * tx * (1.0 - ty) + at(ix, iy + 1.0) * (1.0 - tx) * ty + at(ix + 1.0, iy + 1.0) * tx * ty;
                let (px, py) = (x + ox, y + oy);
                if v > 0.0 && px < self.width && py < self.height {
                    self.ink(px, py, v, ink);
                }
            }
        }
    }

    /// Horizontal ruled lines every `spacing` px from `first`, `w` px thick, darkening to `ink`.
    pub fn ruled_lines(&mut self, first: usize, spacing: usize, w: usize, ink: f32) {
        let mut y = first;
        while y + w <= self.height {
            for yy in y..y + w {
                for x in 0..self.width {
                    self.ink(x, yy, 1.0, ink);
                }
            }
            y += spacing;
        }
    }

    /// `n` dots of radius 0.7..1.5 px at random places, avoiding the given boxes.
    pub fn specks(&mut self, n: usize, rng: &mut Lcg, avoid: &[(usize, usize, usize, usize)]) {
        let mut placed = 0;
        while placed < n {
            let x = 2.0 + rng.unit() * (self.width as f32 - 4.0);
            let y = 2.0 + rng.unit() * (self.height as f32 - 4.0);
            let inside = avoid.iter().any(|&(ax, ay, aw, ah)| {
                x + 4.0 > ax as f32 && x < (ax + aw) as f32 + 4.0 && y + 4.0 > ay as f32 && y < (ay + ah) as f32 + 4.0
            });
            if inside {
                continue;
            }
            let r = 0.7 + rng.unit() * 0.8;
            self.stroke((x, y), (x + 0.1, y), 2.0 * r, 0.3);
            placed += 1;
        }
    }

    /// Renders `255 * paper_level * light(x, y) * reflectance`, plus uniform noise of
    /// +-`noise` grey levels, as packed row-major pixels.
    pub fn render(&self, paper_level: f32, light: impl Fn(f32, f32) -> f32, noise: f32, rng: &mut Lcg) -> Vec<u8> {
        let mut img = vec![0u8; self.width * self.height];
        for y in 0..self.height {
            for x in 0..self.width {
                let l = light(x as f32 / self.width as f32, y as f32 / self.height as f32);
                let v = 255.0 * paper_level * l * self.refl[y * self.width + x] + (rng.unit() * 2.0 - 1.0) * noise;
                img[y * self.width + x] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
        img
    }
}

/// A 640x480 evenly lit page: a "4" of ordinary contrast at x = 100 (unless `with_strong` is
/// false), then a "3" and a "7" in pale pencil of reflectance `pale` at x = 250 and 400.
pub fn page_with_pale_digits(pale: f32, with_strong: bool) -> Vec<u8> {
    let mut canvas = Canvas::new(640, 480);
    if with_strong {
        canvas.glyph(4, (100.0, 150.0, 50.0, 80.0), 6.0, 0.66);
    }
    canvas.glyph(3, (250.0, 150.0, 50.0, 80.0), 6.0, pale);
    canvas.glyph(7, (400.0, 150.0, 50.0, 80.0), 6.0, pale);
    canvas.render(0.9, |_, _| 1.0, 2.0, &mut Lcg(17))
}

/// Uneven light: a left-to-right gradient, vignetting, and a soft diagonal shadow.
pub fn uneven_light(x: f32, y: f32) -> f32 {
    let gradient = 0.7 + 0.3 * x;
    let (dx, dy) = (x - 0.5, y - 0.5);
    let vignette = 1.0 - 0.35 * (dx * dx + dy * dy);
    // Shadow over the lower right, its edge blurred over ~6% of the frame.
    let edge = (x + y - 1.25) / 0.06;
    let shadow = 1.0 - 0.35 * (0.5 + 0.5 * (edge.clamp(-1.0, 1.0) * std::f32::consts::FRAC_PI_2).sin());
    gradient * vignette * shadow
}

/// Every pixel inverted (`255 - p`).
pub fn inverted(pixels: &[u8]) -> Vec<u8> {
    pixels.iter().map(|&v| 255 - v).collect()
}

/// Rough handwritten shapes, polylines in a unit box (x right, y down).
pub fn glyph_strokes(digit: u8) -> Vec<Vec<(f32, f32)>> {
    let ring = |cx: f32, cy: f32, rx: f32, ry: f32| -> Vec<(f32, f32)> {
        (0..=24).map(|i| {
            let a = i as f32 / 24.0 * std::f32::consts::TAU;
            (cx + rx * a.cos(), cy + ry * a.sin())
        }).collect()
    };
    match digit {
        0 => vec![ring(0.5, 0.5, 0.45, 0.48)],
        1 => vec![vec![(0.25, 0.2), (0.55, 0.0), (0.55, 1.0)]],
        2 => vec![vec![(0.05, 0.25), (0.3, 0.02), (0.7, 0.02), (0.9, 0.25), (0.8, 0.5), (0.05, 1.0), (0.95, 1.0)]],
        3 => vec![vec![(0.05, 0.1), (0.5, 0.0), (0.9, 0.2), (0.45, 0.48), (0.95, 0.75), (0.5, 1.0), (0.05, 0.9)]],
        // Open 4: the stem does not touch the crossbar's left stroke.
        4 => vec![vec![(0.55, 0.0), (0.05, 0.65), (0.95, 0.65)], vec![(0.72, 0.25), (0.72, 1.0)]],
        // 5 with a detached top bar.
        5 => vec![vec![(0.15, 0.0), (0.95, 0.0)], vec![(0.15, 0.12), (0.1, 0.45), (0.6, 0.4), (0.95, 0.7), (0.6, 1.0), (0.05, 0.9)]],
        6 => vec![vec![(0.8, 0.0), (0.2, 0.45), (0.1, 0.8), (0.45, 1.0), (0.85, 0.8), (0.6, 0.55), (0.15, 0.7)]],
        7 => vec![vec![(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)]],
        8 => vec![ring(0.5, 0.27, 0.35, 0.25), ring(0.5, 0.74, 0.45, 0.25)],
        _ => vec![ring(0.5, 0.3, 0.4, 0.28), vec![(0.9, 0.3), (0.75, 1.0)]],
    }
}

/// Test image `index` of MNIST (t10k), or `None` if the data is not present.
pub fn mnist_test_images(count: usize) -> Option<Vec<[u8; 784]>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/mnist/t10k-images-idx3-ubyte.gz");
    let file = std::fs::File::open(path).ok()?;
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(file).take(16 + 784 * count as u64).read_to_end(&mut raw).ok()?;
    let magic = u32::from_be_bytes(raw[0..4].try_into().ok()?);
    assert_eq!(magic, 0x0803, "not an idx3 file");
    Some(raw[16..].chunks_exact(784).map(|c| c.try_into().unwrap()).collect())
}

/// Pearson correlation of two images.
pub fn correlation(a: &[u8], b: &[u8]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().map(|&v| v as f64).sum::<f64>() / n, b.iter().map(|&v| v as f64).sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt().max(1e-9)
}

/// Centre of mass of a tensor in index coordinates.
pub fn centre_of_mass(t: &[u8]) -> (f64, f64) {
    let (mut m, mut x, mut y) = (0.0, 0.0, 0.0);
    for (i, &v) in t.iter().enumerate() {
        m += v as f64;
        x += (i % 28) as f64 * v as f64;
        y += (i / 28) as f64 * v as f64;
    }
    (x / m, y / m)
}
