//! Float image plane and the few operations the generator needs: bilinear sampling and
//! resizing, Gaussian blur, and an exact Euclidean distance transform (for stroke width).
//!
//! Floats are fine here: this is test tooling, not the fixed-point pipeline.

/// A single-channel f32 image, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Plane {
    pub fn new(width: usize, height: usize, fill: f32) -> Self {
        Plane { width, height, data: vec![fill; width * height] }
    }

    /// From 8-bit values scaled to [0, 1].
    pub fn from_u8(width: usize, height: usize, bytes: &[u8]) -> Self {
        Plane { width, height, data: bytes.iter().map(|&b| b as f32 / 255.0).collect() }
    }

    #[inline]
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    #[inline]
    pub fn at_mut(&mut self, x: usize, y: usize) -> &mut f32 {
        &mut self.data[y * self.width + x]
    }

    /// Bilinear sample at continuous coordinates where pixel `(i, j)` has its centre at
    /// `(i + 0.5, j + 0.5)`. Outside the plane reads as 0.
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        let fx = x - 0.5;
        let fy = y - 0.5;
        let x0 = fx.floor();
        let y0 = fy.floor();
        let (tx, ty) = (fx - x0, fy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let get = |xi: i64, yi: i64| -> f32 {
            if xi < 0 || yi < 0 || xi >= self.width as i64 || yi >= self.height as i64 {
                0.0
            } else {
                self.data[yi as usize * self.width + xi as usize]
            }
        };
        let top = get(x0, y0) * (1.0 - tx) + get(x0 + 1, y0) * tx;
        let bottom = get(x0, y0 + 1) * (1.0 - tx) + get(x0 + 1, y0 + 1) * tx;
        top * (1.0 - ty) + bottom * ty
    }

    /// Bilinear resize to `width x height` (the content stretches to fill).
    pub fn resized(&self, width: usize, height: usize) -> Plane {
        let sx = self.width as f32 / width as f32;
        let sy = self.height as f32 / height as f32;
        let mut out = Plane::new(width, height, 0.0);
        for y in 0..height {
            for x in 0..width {
                out.data[y * width + x] = self.sample((x as f32 + 0.5) * sx, (y as f32 + 0.5) * sy);
            }
        }
        out
    }

    /// A copy with `pad` zero pixels added on every side.
    pub fn padded(&self, pad: usize) -> Plane {
        let mut out = Plane::new(self.width + 2 * pad, self.height + 2 * pad, 0.0);
        for y in 0..self.height {
            let dst = (y + pad) * out.width + pad;
            out.data[dst..dst + self.width].copy_from_slice(&self.data[y * self.width..(y + 1) * self.width]);
        }
        out
    }

    /// Separable Gaussian blur, edges clamped. `sigma <= 0.05` is a no-op.
    pub fn blur(&mut self, sigma: f32) {
        if sigma <= 0.05 || self.data.is_empty() {
            return;
        }
        let kernel = gaussian_kernel(sigma);
        let r = kernel.len() / 2;
        let (w, h) = (self.width, self.height);
        let mut tmp = vec![0.0f32; w * h];
        for y in 0..h {
            let row = &self.data[y * w..(y + 1) * w];
            for x in 0..w {
                let mut acc = 0.0;
                for (k, &kv) in kernel.iter().enumerate() {
                    let xi = (x + k).saturating_sub(r).min(w - 1);
                    acc += row[xi] * kv;
                }
                tmp[y * w + x] = acc;
            }
        }
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0;
                for (k, &kv) in kernel.iter().enumerate() {
                    let yi = (y + k).saturating_sub(r).min(h - 1);
                    acc += tmp[yi * w + x] * kv;
                }
                self.data[y * w + x] = acc;
            }
        }
    }

    /// Rounds to 8 bits, clamping to [0, 255].
    pub fn to_u8(&self) -> Vec<u8> {
        self.data.iter().map(|&v| v.round().clamp(0.0, 255.0) as u8).collect()
    }
}

fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let r = (sigma * 3.0).ceil() as i32;
    let mut k: Vec<f32> = (-r..=r).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k
}

/// Signed distance (pixels) from each pixel centre to the edge of the `inside` region:
/// negative inside, positive outside, about ±0.5 on the pixels that touch the edge.
/// Exact Euclidean (Felzenszwalb & Huttenlocher), so offsets grow strokes evenly in all
/// directions.
pub fn signed_distance(width: usize, height: usize, inside: &[bool]) -> Vec<f32> {
    let to_inside = distance_to(width, height, inside, true);
    let to_outside = distance_to(width, height, inside, false);
    inside
        .iter()
        .zip(to_inside.iter().zip(&to_outside))
        .map(|(&is_in, (&d_in, &d_out))| if is_in { 0.5 - d_out } else { d_in - 0.5 })
        .collect()
}

/// Euclidean distance from each pixel to the nearest pixel whose mask value equals `target`.
pub fn distance_to(width: usize, height: usize, mask: &[bool], target: bool) -> Vec<f32> {
    const FAR: f32 = 1e12;
    let mut sq: Vec<f32> = mask.iter().map(|&m| if m == target { 0.0 } else { FAR }).collect();
    let n = width.max(height);
    let (mut f, mut d, mut v, mut z) = (vec![0.0; n], vec![0.0; n], vec![0usize; n], vec![0.0; n + 1]);
    for x in 0..width {
        for y in 0..height {
            f[y] = sq[y * width + x];
        }
        edt_1d(&f[..height], &mut d[..height], &mut v, &mut z);
        for y in 0..height {
            sq[y * width + x] = d[y];
        }
    }
    for y in 0..height {
        f[..width].copy_from_slice(&sq[y * width..(y + 1) * width]);
        edt_1d(&f[..width], &mut d[..width], &mut v, &mut z);
        sq[y * width..(y + 1) * width].copy_from_slice(&d[..width]);
    }
    sq.iter().map(|&s| s.sqrt()).collect()
}

/// Thins a shape to its one-pixel-wide centre lines (Zhang-Suen), keeping it connected: the
/// path a pen tip would trace.
pub fn skeleton(width: usize, height: usize, mask: &[bool]) -> Vec<bool> {
    let mut img = mask.to_vec();
    let at = |img: &[bool], x: isize, y: isize| -> bool {
        x >= 0 && y >= 0 && (x as usize) < width && (y as usize) < height && img[y as usize * width + x as usize]
    };
    let mut remove = Vec::new();
    loop {
        let mut changed = false;
        for pass in 0..2 {
            remove.clear();
            for y in 0..height as isize {
                for x in 0..width as isize {
                    if !at(&img, x, y) {
                        continue;
                    }
                    // Neighbours P2..P9 clockwise from north.
                    let n = [
                        at(&img, x, y - 1),
                        at(&img, x + 1, y - 1),
                        at(&img, x + 1, y),
                        at(&img, x + 1, y + 1),
                        at(&img, x, y + 1),
                        at(&img, x - 1, y + 1),
                        at(&img, x - 1, y),
                        at(&img, x - 1, y - 1),
                    ];
                    let count = n.iter().filter(|&&b| b).count();
                    let transitions = (0..8).filter(|&i| !n[i] && n[(i + 1) % 8]).count();
                    let (p2, p4, p6, p8) = (n[0], n[2], n[4], n[6]);
                    // Zhang-Suen: pass 1 needs P2*P4*P6 = 0 and P4*P6*P8 = 0, pass 2 P2*P4*P8 = 0 and P2*P6*P8 = 0.
                    let ok = if pass == 0 { !(p4 && p6 && (p2 || p8)) } else { !(p2 && p8 && (p4 || p6)) };
                    if (2..=6).contains(&count) && transitions == 1 && ok {
                        remove.push(y as usize * width + x as usize);
                    }
                }
            }
            for &i in &remove {
                img[i] = false;
            }
            changed |= !remove.is_empty();
        }
        if !changed {
            return img;
        }
    }
}

/// 1-D squared distance transform by the lower envelope of parabolas.
fn edt_1d(f: &[f32], d: &mut [f32], v: &mut [usize], z: &mut [f32]) {
    let n = f.len();
    if n == 0 {
        return;
    }
    let mut k = 0usize;
    v[0] = 0;
    z[0] = f32::NEG_INFINITY;
    z[1] = f32::INFINITY;
    for q in 1..n {
        let parabola_cross = |p: usize| ((f[q] + (q * q) as f32) - (f[p] + (p * p) as f32)) / (2.0 * (q as f32 - p as f32));
        let mut s = parabola_cross(v[k]);
        // z[0] is -inf, so this stops at k == 0 at the latest.
        while s <= z[k] {
            k -= 1;
            s = parabola_cross(v[k]);
        }
        k += 1;
        v[k] = q;
        z[k] = s;
        z[k + 1] = f32::INFINITY;
    }
    let mut k = 0;
    for (q, out) in d.iter_mut().enumerate() {
        while z[k + 1] < q as f32 {
            k += 1;
        }
        let p = v[k];
        let dq = q as f32 - p as f32;
        *out = dq * dq + f[p];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_transform_is_euclidean() {
        let (w, h) = (9, 9);
        let mut inside = vec![false; w * h];
        inside[4 * w + 4] = true;
        let sd = signed_distance(w, h, &inside);
        assert!((sd[4 * w + 4] + 0.5).abs() < 1e-4);
        assert!((sd[4 * w + 7] - 2.5).abs() < 1e-4);
        assert!((sd[7 * w + 8] - (9.0f32 + 16.0).sqrt() + 0.5).abs() < 1e-4);
    }

    #[test]
    fn skeleton_of_a_bar_is_a_line() {
        let (w, h) = (12, 30);
        let mut mask = vec![false; w * h];
        for y in 5..25 {
            for x in 3..9 {
                mask[y * w + x] = true;
            }
        }
        let skel = skeleton(w, h, &mask);
        for y in 9..21 {
            let row: Vec<usize> = (0..w).filter(|&x| skel[y * w + x]).collect();
            assert_eq!(row.len(), 1, "row {y}: {row:?}");
        }
    }

    #[test]
    fn blur_keeps_mean_and_resize_keeps_flat() {
        let mut p = Plane::new(24, 24, 0.0);
        *p.at_mut(10, 5) = 1.0;
        p.blur(1.5);
        let sum: f32 = p.data.iter().sum();
        assert!((sum - 1.0).abs() < 1e-3);
        let flat = Plane::new(7, 5, 0.25).padded(0).resized(30, 11);
        // Edge pixels mix with the zero outside; the interior stays flat.
        assert!((flat.at(15, 5) - 0.25).abs() < 1e-6);
    }
}
