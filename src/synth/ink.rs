//! Ink shapes: handwritten digits scaled up to page size with a chosen stroke width, and stray
//! pen marks for blank pages. Shapes are coverage planes (0 = paper, 1 = full ink) cropped to
//! their ink, anti-aliased.

use super::data::DigitRef;
use super::raster::{distance_to, signed_distance, skeleton, Plane};
use super::rng::Rng;

/// Source pixels at or above this (of 1.0) count as ink when cropping a digit.
const SOURCE_INK: f32 = 0.25;
/// Level of the smoothed, upscaled digit taken as the stroke edge.
const EDGE_LEVEL: f32 = 0.4;

/// An ink shape, tightly cropped: every row and column holds some coverage.
#[derive(Clone, Debug)]
pub struct Glyph {
    pub coverage: Plane,
}

impl Glyph {
    pub fn width(&self) -> usize { self.coverage.width }
    pub fn height(&self) -> usize { self.coverage.height }
}

/// Ink bounding box `(x, y, w, h)` of a source digit, or `None` if it has no ink.
pub fn source_ink_box(digit: DigitRef) -> Option<(usize, usize, usize, usize)> {
    let threshold = (SOURCE_INK * 255.0) as u8;
    let side = digit.side;
    let (mut x0, mut y0, mut x1, mut y1) = (side, side, 0, 0);
    for y in 0..side {
        for x in 0..side {
            if digit.pixels[y * side + x] >= threshold {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
    }
    (x0 <= x1).then(|| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

/// Width / height of a digit's ink.
pub fn source_aspect(digit: DigitRef) -> f32 {
    source_ink_box(digit).map_or(1.0, |(_, _, w, h)| w as f32 / h as f32)
}

/// Draws `digit` about `height` px tall with strokes about `stroke` px wide.
///
/// The digit is upscaled bilinearly and smoothed (so the source's pixel grid does not show),
/// thresholded into a shape, then redrawn with strokes of width `stroke`: its outline moved
/// along an exact distance field, plus (for a thin pen) its centre lines retraced.
pub fn digit_glyph(digit: DigitRef, height: f32, stroke: f32) -> Option<Glyph> {
    // Retracing centre lines shortens stroke ends and growing outlines lengthens them: draw
    // once, then once more scaled so the result has the height asked for.
    let first = draw_digit(digit, height, stroke)?;
    let drawn = first.height() as f32;
    if (drawn - height).abs() <= (0.02 * height).max(1.0) {
        return Some(first);
    }
    draw_digit(digit, height * height / drawn, stroke)
}

fn draw_digit(digit: DigitRef, height: f32, stroke: f32) -> Option<Glyph> {
    let (bx, by, bw, bh) = source_ink_box(digit)?;
    let source = Plane::from_u8(digit.side, digit.side, digit.pixels);
    let peak = source.data.iter().cloned().fold(0.0f32, f32::max);
    let scale = (height / bh as f32).max(0.2);
    // Room around the ink for the smoothing tail and any thickening.
    let pad = (scale * 1.5).ceil() as usize + (stroke * 0.6).ceil() as usize + 2;
    let (w, h) = ((bw as f32 * scale).round() as usize + 2 * pad, (bh as f32 * scale).round() as usize + 2 * pad);
    let mut field = Plane::new(w, h, 0.0);
    for y in 0..h {
        for x in 0..w {
            let sx = bx as f32 + (x as f32 + 0.5 - pad as f32) / scale;
            let sy = by as f32 + (y as f32 + 0.5 - pad as f32) / scale;
            field.data[y * w + x] = source.sample(sx, sy) / peak;
        }
    }
    field.blur(0.45 * scale);
    let level = EDGE_LEVEL * field.data.iter().cloned().fold(0.0f32, f32::max);
    let inside: Vec<bool> = field.data.iter().map(|&v| v >= level).collect();
    let natural = stroke_width(w, h, &inside)?;
    // Move the outline by `offset` px (grow if positive) along the exact distance field.
    let offset = (stroke - natural) / 2.0;
    let outline = signed_distance(w, h, &inside);
    let mut coverage: Vec<f32> = outline.iter().map(|&d| (0.5 - (d - offset)).clamp(0.0, 1.0)).collect();
    if offset < 0.0 {
        // Thinner pen. Shrinking the outline alone would break strokes that were thin to begin
        // with, so also retrace the centre lines with a round tip; blobs (filled loops) stay
        // filled through the shrunk outline.
        let centre = skeleton(w, h, &inside);
        let to_centre = distance_to(w, h, &centre, true);
        for (c, &d) in coverage.iter_mut().zip(&to_centre) {
            *c = c.max((0.5 + stroke / 2.0 - d).clamp(0.0, 1.0));
        }
    }
    let coverage = Plane { width: w, height: h, data: coverage };
    Some(Glyph { coverage: crop_to_ink(&coverage)? })
}

/// Mean stroke width of a shape: twice its area over its outline length (a long stroke of
/// width `s` has area `s * L` and an outline of about `2 * L`).
fn stroke_width(w: usize, h: usize, inside: &[bool]) -> Option<f32> {
    let mut area = 0usize;
    let mut edge = 0usize;
    for y in 0..h {
        for x in 0..w {
            if !inside[y * w + x] {
                continue;
            }
            area += 1;
            let out = |dx: isize, dy: isize| {
                let (nx, ny) = (x as isize + dx, y as isize + dy);
                nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize || !inside[ny as usize * w + nx as usize]
            };
            if out(1, 0) || out(-1, 0) || out(0, 1) || out(0, -1) {
                edge += 1;
            }
        }
    }
    (edge > 0).then(|| 2.0 * area as f32 / edge as f32)
}

/// The smallest sub-plane holding all non-zero coverage.
fn crop_to_ink(plane: &Plane) -> Option<Plane> {
    let (w, h) = (plane.width, plane.height);
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if plane.at(x, y) > 0.0 {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
    }
    if x0 > x1 {
        return None;
    }
    let (cw, ch) = (x1 - x0 + 1, y1 - y0 + 1);
    let mut out = Plane::new(cw, ch, 0.0);
    for y in 0..ch {
        out.data[y * cw..(y + 1) * cw].copy_from_slice(&plane.data[(y0 + y) * w + x0..(y0 + y) * w + x0 + cw]);
    }
    Some(out)
}

/// Kinds of stray mark. All are wider than tall or curl sideways, so that no fair reader would
/// take one for a digit (a short vertical stroke *is* a "1", so there are none of those).
#[derive(Clone, Copy, Debug)]
enum StrayKind {
    Dash,
    Wave,
    Tick,
    Arc,
    Scribble,
}

/// A short stray pen stroke about `length` px long, `stroke` px wide.
pub fn stray_mark(rng: &mut Rng, length: f32, stroke: f32) -> Option<Glyph> {
    let kind = [StrayKind::Dash, StrayKind::Wave, StrayKind::Tick, StrayKind::Arc, StrayKind::Scribble][rng.int(0, 4)];
    let steps = 24;
    let mut points: Vec<(f32, f32)> = Vec::with_capacity(steps + 1);
    match kind {
        StrayKind::Dash => {
            let bow = rng.range(-0.06, 0.06) * length;
            for i in 0..=steps {
                let t = i as f32 / steps as f32;
                points.push((t * length, bow * 4.0 * t * (1.0 - t)));
            }
        }
        StrayKind::Wave => {
            let amp = rng.range(0.05, 0.12) * length;
            let waves = rng.range(1.0, 2.5);
            for i in 0..=steps {
                let t = i as f32 / steps as f32;
                points.push((t * length, amp * (t * waves * std::f32::consts::TAU).sin()));
            }
        }
        StrayKind::Tick => {
            // A check mark: short stroke down, long stroke up to the right.
            let drop = rng.range(0.15, 0.3) * length;
            points.push((0.0, 0.0));
            points.push((0.3 * length, drop));
            points.push((length, -rng.range(0.1, 0.3) * length));
        }
        StrayKind::Arc => {
            let sag = rng.range(0.1, 0.22) * length * rng.sign();
            for i in 0..=steps {
                let t = i as f32 / steps as f32;
                points.push((t * length, sag * 4.0 * t * (1.0 - t)));
            }
        }
        StrayKind::Scribble => {
            let zigs = rng.int(3, 6);
            let amp = rng.range(0.06, 0.15) * length;
            for i in 0..=zigs {
                let t = i as f32 / zigs as f32;
                let up = if i % 2 == 0 { -amp } else { amp };
                points.push((t * length + rng.range(-0.02, 0.02) * length, up));
            }
        }
    }
    // Tilt at most 30 degrees off horizontal: steeper marks start to look like a "1" or "7".
    let tilt = rng.range(-30.0, 30.0).to_radians();
    let (sin, cos) = tilt.sin_cos();
    let points: Vec<(f32, f32)> = points.iter().map(|&(x, y)| (x * cos - y * sin, x * sin + y * cos)).collect();
    Some(Glyph { coverage: crop_to_ink(&polyline_coverage(&points, stroke))? })
}

/// Anti-aliased coverage of a polyline drawn with a round pen of width `stroke`.
fn polyline_coverage(points: &[(f32, f32)], stroke: f32) -> Plane {
    let margin = stroke + 2.0;
    let min_x = points.iter().map(|p| p.0).fold(f32::MAX, f32::min) - margin;
    let min_y = points.iter().map(|p| p.1).fold(f32::MAX, f32::min) - margin;
    let max_x = points.iter().map(|p| p.0).fold(f32::MIN, f32::max) + margin;
    let max_y = points.iter().map(|p| p.1).fold(f32::MIN, f32::max) + margin;
    let (w, h) = ((max_x - min_x).ceil() as usize, (max_y - min_y).ceil() as usize);
    let mut plane = Plane::new(w, h, 0.0);
    for y in 0..h {
        for x in 0..w {
            let p = (min_x + x as f32 + 0.5, min_y + y as f32 + 0.5);
            let d = points.windows(2).map(|s| segment_distance(p, s[0], s[1])).fold(f32::MAX, f32::min);
            plane.data[y * w + x] = (0.5 + stroke / 2.0 - d).clamp(0.0, 1.0);
        }
    }
    plane
}

fn segment_distance(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (abx, aby) = (b.0 - a.0, b.1 - a.1);
    let len2 = abx * abx + aby * aby;
    let t = if len2 > 0.0 { (((p.0 - a.0) * abx + (p.1 - a.1) * aby) / len2).clamp(0.0, 1.0) } else { 0.0 };
    let (dx, dy) = (p.0 - a.0 - t * abx, p.1 - a.1 - t * aby);
    (dx * dx + dy * dy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 28x28 "1": a vertical bar 3 px wide, 20 px tall.
    fn bar() -> Vec<u8> {
        let mut px = vec![0u8; 28 * 28];
        for y in 4..24 {
            for x in 13..16 {
                px[y * 28 + x] = 255;
            }
        }
        px
    }

    #[test]
    fn glyph_has_requested_height_and_stroke() {
        let px = bar();
        let digit = DigitRef { label: 1, side: 28, pixels: &px };
        for (height, stroke) in [(40.0, 4.0), (200.0, 10.0), (200.0, 30.0)] {
            let g = digit_glyph(digit, height, stroke).unwrap();
            let width = g.width() as f32;
            assert!((width - stroke).abs() <= 2.5 + 0.15 * stroke, "height {height}: stroke {stroke} drew {width}");
            assert!((g.height() as f32 - height).abs() <= 0.05 * height, "height {height} drew {}", g.height());
        }
    }

    #[test]
    fn stray_marks_are_wider_than_tall() {
        let mut rng = Rng::new(3);
        for _ in 0..50 {
            let g = stray_mark(&mut rng, 40.0, 3.0).unwrap();
            assert!(g.width() > g.height(), "{}x{}", g.width(), g.height());
        }
    }
}
