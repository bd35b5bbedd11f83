//! Camera-like pictures of handwritten digits on paper or boards, deterministic from a seed.
//!
//! A scene is built the way light makes a photo: surface reflectance (paper, lines, dust) with
//! ink on it, times the illumination (gradient, vignetting, shadows), then the camera (blur,
//! exposure, noise, JPEG). Digits are real held-out handwriting (MNIST t10k, USPS test), less
//! the few a person could not read for sure (see `ambiguity`).

use super::camera::Camera;
use super::data::{DigitBank, DigitRef, USPS_SIDE};
use super::ink::{digit_glyph, source_aspect, stray_mark, Glyph};
use super::paper::{illumination, surface, value_noise, SurfaceKind, SurfacePlan};
use super::raster::Plane;
use super::rng::Rng;
use crate::frame::OwnedGrey;
use crate::preprocess::BoundingBox;

/// A generated picture and what a reader should find in it.
#[derive(Clone, Debug)]
pub struct Scene {
    pub image: OwnedGrey,
    /// The digits, one line per row of text, rows joined by '\n'; empty for a blank page.
    pub text: String,
    /// One box per digit of `text`, in reading order (rows top to bottom, left to right).
    pub boxes: Vec<BoundingBox>,
    /// For each digit of `text`: whether it is a USPS digit (else MNIST), for telling the
    /// two data sets' error rates apart.
    pub from_usps: Vec<bool>,
    /// Nominal digit height in pixels (0 for a blank page).
    pub digit_height: f32,
    /// How it was drawn (surface, pen, size, camera), for failure reports.
    pub description: String,
}

/// What kind of pages to draw.
#[derive(Clone, Debug)]
pub struct PageOptions {
    pub width: usize,
    pub height: usize,
    /// Number of digits, inclusive range.
    pub min_digits: usize,
    pub max_digits: usize,
    /// 1 or 2.
    pub max_rows: usize,
    /// Chance of a chalkboard (light ink on dark).
    pub board_chance: f32,
    /// Chance that each digit comes from USPS rather than MNIST.
    pub usps_chance: f32,
    /// Sensor noise and JPEG. Off for clip frames, which get fresh noise per frame.
    pub sensor_effects: bool,
    /// Paper grain and board smears, 1 = normal. Lower for clips that must compress well.
    pub texture: f32,
}

impl Default for PageOptions {
    fn default() -> Self {
        PageOptions {
            width: 640,
            height: 480,
            min_digits: 1,
            max_digits: 6,
            max_rows: 2,
            board_chance: 0.12,
            usps_chance: 0.25,
            sensor_effects: true,
            texture: 1.0,
        }
    }
}

/// Digit heights, px (before the per-digit size wobble, which only shrinks to 0.9).
const MIN_DIGIT_HEIGHT: f32 = 22.5;
const MAX_DIGIT_HEIGHT: f32 = 300.0;
/// Free border around the text, px.
const BORDER: f32 = 10.0;
/// Vertical wobble of each digit in its row, as a fraction of the height.
const BASELINE_WOBBLE: f32 = 0.05;
/// Largest rotation of the text, degrees.
const MAX_TILT_DEG: f32 = 7.0;

/// A page with 1-6 digits in 1-2 rows, with [`PageOptions::default`].
pub fn text_scene(bank: &DigitBank, seed: u64) -> Scene {
    text_scene_with(bank, seed, &PageOptions::default())
}

/// A page without digits: paper or board, lines, dust, shadows and stray pen marks.
pub fn blank_page(seed: u64) -> Scene {
    blank_page_with(seed, &PageOptions::default())
}

/// How the digits are written.
#[derive(Clone, Copy, Debug)]
struct Pen {
    /// Stroke width as a fraction of digit height, and its floor in px.
    stroke_fraction: f32,
    min_stroke: f32,
    /// Share of light the ink absorbs (paper) or brightness of chalk (board).
    strength: f32,
    /// Unevenness of the ink (pressure, chalk grain), 0..1.
    unevenness: f32,
}

impl Pen {
    fn random(rng: &mut Rng, kind: SurfaceKind) -> Pen {
        match kind {
            SurfaceKind::Chalkboard => Pen {
                stroke_fraction: rng.range(0.08, 0.14),
                min_stroke: 2.0,
                strength: rng.range(0.55, 0.85),
                unevenness: rng.range(0.1, 0.35),
            },
            _ if rng.chance(0.35) => Pen {
                // Felt marker: thick and dark.
                stroke_fraction: rng.range(0.12, 0.17),
                min_stroke: 3.0,
                strength: rng.range(0.7, 0.95),
                unevenness: rng.range(0.0, 0.1),
            },
            _ => Pen {
                // Ballpoint, gel pen or pencil: thin, from black to pale blue or grey.
                stroke_fraction: rng.range(0.05, 0.09),
                min_stroke: 1.6,
                strength: rng.range(0.55, 0.92),
                unevenness: rng.range(0.0, 0.2),
            },
        }
    }

    fn stroke(&self, height: f32) -> f32 {
        (self.stroke_fraction * height).max(self.min_stroke)
    }

    fn describe(&self, height: f32) -> String {
        format!("stroke {:.1} px, ink {:.2}, uneven {:.2}", self.stroke(height), self.strength, self.unevenness)
    }
}

/// One digit to write and its share of the layout.
struct Planned<'a> {
    digit: DigitRef<'a>,
    /// Height relative to the row's nominal height.
    scale: f32,
    /// Gap to the next digit, relative to the nominal height (>= 0.22 so digits never touch).
    gap_after: f32,
    wobble: f32,
}

/// A glyph at its place in text coordinates (before rotation).
struct Placed {
    glyph: Glyph,
    x: f32,
    y: f32,
    label: u8,
    row: usize,
    from_usps: bool,
}

pub fn text_scene_with(bank: &DigitBank, seed: u64, opts: &PageOptions) -> Scene {
    let mut rng = Rng::new(seed);
    let mut layout_rng = rng.fork(1);
    let mut surface_rng = rng.fork(2);
    let mut light_rng = rng.fork(3);
    let mut camera_rng = rng.fork(4);
    let mut ink_rng = rng.fork(5);

    let kind = SurfaceKind::pick(&mut surface_rng, opts.board_chance);
    let pen = Pen::random(&mut ink_rng, kind);
    let rows = plan_rows(&mut layout_rng, bank, opts);

    let tilt = if layout_rng.chance(0.75) { layout_rng.range(-MAX_TILT_DEG, MAX_TILT_DEG).to_radians() } else { 0.0 };
    let row_gap = layout_rng.range(0.35, 0.9);
    let centred = layout_rng.chance(0.5);
    let indents: Vec<f32> = rows.iter().map(|_| layout_rng.range(0.0, 0.3)).collect();
    let position = (layout_rng.unit(), layout_rng.unit());
    let (frame_w, frame_h) = (opts.width as f32, opts.height as f32);

    // Largest nominal height at which the rotated text block fits, from a size estimate per
    // unit height; the real block is measured after drawing and shrunk if it still overflows.
    let stroke_share = pen.stroke_fraction;
    let unit_width = rows
        .iter()
        .zip(&indents)
        .map(|(row, indent)| {
            indent + row.iter().map(|p| p.scale * source_aspect(p.digit) + stroke_share).sum::<f32>() + row.iter().rev().skip(1).map(|p| p.gap_after).sum::<f32>()
        })
        .fold(0.0f32, f32::max);
    let unit_height = rows.iter().map(|row| row_unit_height(row, stroke_share)).sum::<f32>() + row_gap * (rows.len() - 1) as f32;
    let (sin, cos) = (tilt.sin().abs(), tilt.cos());
    let fit = ((frame_w - 2.0 * BORDER) / (unit_width * cos + unit_height * sin))
        .min((frame_h - 2.0 * BORDER) / (unit_width * sin + unit_height * cos));
    let highest = (0.95 * fit).clamp(MIN_DIGIT_HEIGHT, MAX_DIGIT_HEIGHT);
    let mut height = layout_rng.log_range(MIN_DIGIT_HEIGHT, highest.max(MIN_DIGIT_HEIGHT + 0.01));

    loop {
        let (placed, block_w, block_h) = place_rows(&rows, &indents, height, row_gap, centred, &pen);
        let half_w = (block_w * cos + block_h * sin) / 2.0;
        let half_h = (block_w * sin + block_h * cos) / 2.0;
        let room_x = frame_w - 2.0 * (BORDER + half_w);
        let room_y = frame_h - 2.0 * (BORDER + half_h);
        if (room_x < 0.0 || room_y < 0.0) && height > MIN_DIGIT_HEIGHT {
            height = (height * 0.9).max(MIN_DIGIT_HEIGHT);
            continue;
        }
        let centre = (BORDER + half_w + room_x.max(0.0) * position.0, BORDER + half_h + room_y.max(0.0) * position.1);
        let transform = Transform { angle: tilt, block_centre: (block_w / 2.0, block_h / 2.0), frame_centre: centre };
        let mut coverage = Plane::new(opts.width, opts.height, 0.0);
        let mut text = String::new();
        let mut boxes = Vec::new();
        let mut from_usps = Vec::new();
        let mut last_row = None;
        for p in &placed {
            // A digit that fell outside the frame is not in the reading either.
            let Some(b) = draw_glyph(&mut coverage, p, &transform) else { continue };
            if last_row.is_some_and(|row| row != p.row) {
                text.push('\n');
            }
            last_row = Some(p.row);
            text.push(char::from(b'0' + p.label));
            boxes.push(b);
            from_usps.push(p.from_usps);
        }
        let ink_left = boxes.iter().map(|b| b.x as f32).fold(f32::MAX, f32::min);
        let plan = SurfacePlan { angle: tilt, ink_left: Some(ink_left), texture: opts.texture };
        let (image, camera) = photograph(&mut surface_rng, &mut light_rng, &mut camera_rng, &mut ink_rng, kind, &pen, &plan, &coverage, height * 0.9, opts);
        let usps = from_usps.iter().filter(|&&u| u).count();
        let description = format!(
            "{kind:?}, {}, digits {height:.0} px ({usps} USPS), tilt {:.1} deg, {}",
            pen.describe(height),
            tilt.to_degrees(),
            camera.describe()
        );
        return Scene { image, text, boxes, from_usps, digit_height: height, description };
    }
}

pub fn blank_page_with(seed: u64, opts: &PageOptions) -> Scene {
    let mut rng = Rng::new(seed ^ 0xB1A4_C0DE);
    let mut mark_rng = rng.fork(1);
    let mut surface_rng = rng.fork(2);
    let mut light_rng = rng.fork(3);
    let mut camera_rng = rng.fork(4);
    let mut ink_rng = rng.fork(5);

    let kind = SurfaceKind::pick(&mut surface_rng, opts.board_chance);
    let pen = Pen::random(&mut ink_rng, kind);
    let tilt = mark_rng.range(-MAX_TILT_DEG, MAX_TILT_DEG).to_radians();
    let mut coverage = Plane::new(opts.width, opts.height, 0.0);
    let marks = if mark_rng.chance(0.6) { mark_rng.int(1, 4) } else { 0 };
    for _ in 0..marks {
        let length = mark_rng.range(12.0, 70.0);
        let stroke = mark_rng.range(1.5, 4.0);
        let Some(glyph) = stray_mark(&mut mark_rng, length, stroke) else { continue };
        let x = mark_rng.range(BORDER, (opts.width as f32 - BORDER - glyph.width() as f32).max(BORDER + 1.0));
        let y = mark_rng.range(BORDER, (opts.height as f32 - BORDER - glyph.height() as f32).max(BORDER + 1.0));
        let upright = Transform { angle: 0.0, block_centre: (0.0, 0.0), frame_centre: (0.0, 0.0) };
        draw_glyph(&mut coverage, &Placed { glyph, x, y, label: 0, row: 0, from_usps: false }, &upright);
    }
    let plan = SurfacePlan { angle: tilt, ink_left: None, texture: opts.texture };
    let (image, camera) = photograph(&mut surface_rng, &mut light_rng, &mut camera_rng, &mut ink_rng, kind, &pen, &plan, &coverage, 40.0, opts);
    let description = format!("{kind:?}, {marks} stray marks, {}", camera.describe());
    Scene { image, text: String::new(), boxes: Vec::new(), from_usps: Vec::new(), digit_height: 0.0, description }
}

/// One digit on a plain page (640x480): size 30-200 px, dark ink, mild light gradient and
/// noise. For measuring recognition of a digit set through the whole pipeline.
pub fn single_digit_page(digit: DigitRef, seed: u64) -> Scene {
    let mut rng = Rng::new(seed ^ 0x5146_1E00);
    let (width, height) = (640usize, 480usize);
    let digit_height = rng.log_range(30.0, 200.0);
    let pen = Pen { stroke_fraction: rng.range(0.08, 0.14), min_stroke: 2.0, strength: rng.range(0.7, 0.92), unevenness: 0.0 };
    let Some(glyph) = digit_glyph(digit, digit_height, pen.stroke(digit_height)) else {
        let description = "digit without ink".to_string();
        return Scene { image: OwnedGrey::new(width, height, 200), text: String::new(), boxes: Vec::new(), from_usps: Vec::new(), digit_height: 0.0, description };
    };
    let x = rng.range(BORDER, (width as f32 - BORDER - glyph.width() as f32).max(BORDER + 1.0));
    let y = rng.range(BORDER, (height as f32 - BORDER - glyph.height() as f32).max(BORDER + 1.0));
    let mut coverage = Plane::new(width, height, 0.0);
    let upright = Transform { angle: 0.0, block_centre: (0.0, 0.0), frame_centre: (0.0, 0.0) };
    let is_usps = digit.side == USPS_SIDE;
    let boxes: Vec<BoundingBox> = draw_glyph(&mut coverage, &Placed { glyph, x, y, label: digit.label, row: 0, from_usps: is_usps }, &upright).into_iter().collect();

    let paper = rng.range(0.75, 0.95);
    let (gs, gc) = rng.range(0.0, std::f32::consts::TAU).sin_cos();
    let slope = rng.range(0.0, 0.2);
    let mut radiance = Plane::new(width, height, 0.0);
    for yy in 0..height {
        for xx in 0..width {
            let t = ((xx as f32 / width as f32 - 0.5) * gc + (yy as f32 / height as f32 - 0.5) * gs + 1.0) / 2.0;
            let light = 1.0 - slope * t;
            let ink = coverage.at(xx, yy) * pen.strength;
            radiance.data[yy * width + xx] = paper * (1.0 - ink) * light;
        }
    }
    let camera = Camera {
        blur: rng.range(0.0, 0.8),
        gain: rng.range(0.95, 1.1),
        gamma: 1.0,
        black: rng.range(0.0, 10.0),
        read_noise: rng.range(0.5, 2.0),
        shot_noise: 0.0,
        jpeg_quality: None,
    };
    let image = camera.shoot(&mut rng, radiance);
    let description = format!("digit {digit_height:.0} px, {}, {}", pen.describe(digit_height), camera.describe());
    let from_usps = vec![is_usps; boxes.len()];
    Scene { image, text: char::from(b'0' + digit.label).to_string(), boxes, from_usps, digit_height, description }
}

/// Chooses how many digits, how they split into rows, and which digits they are.
fn plan_rows<'a>(rng: &mut Rng, bank: &'a DigitBank, opts: &PageOptions) -> Vec<Vec<Planned<'a>>> {
    let count = rng.int(opts.min_digits.max(1), opts.max_digits.max(opts.min_digits.max(1)));
    let rows = if count >= 2 && opts.max_rows >= 2 && rng.chance(0.3) { 2 } else { 1 };
    let first_row = if rows == 2 { rng.int(1, count - 1) } else { count };
    let mut plan: Vec<Vec<Planned>> = Vec::new();
    for len in [first_row, count - first_row].into_iter().filter(|&n| n > 0) {
        let row = (0..len)
            .map(|_| {
                let usps = rng.chance(opts.usps_chance);
                let readable = bank.readable(usps);
                Planned {
                    digit: bank.set(usps).get(readable[rng.int(0, readable.len() - 1)]),
                    scale: rng.range(0.9, 1.1),
                    gap_after: rng.range(0.22, 0.7),
                    wobble: rng.range(-BASELINE_WOBBLE, BASELINE_WOBBLE),
                }
            })
            .collect();
        plan.push(row);
    }
    plan
}

/// Height of a row per unit of nominal digit height: tallest digit, stroke growth and wobble.
fn row_unit_height(row: &[Planned], stroke_share: f32) -> f32 {
    row.iter().map(|p| p.scale).fold(0.0f32, f32::max) + stroke_share + 2.0 * BASELINE_WOBBLE
}

/// Draws each digit's glyph and lays the rows out; returns the glyphs and the block size.
fn place_rows(rows: &[Vec<Planned>], indents: &[f32], height: f32, row_gap: f32, centred: bool, pen: &Pen) -> (Vec<Placed>, f32, f32) {
    let stroke = pen.stroke(height);
    let mut placed = Vec::new();
    let mut row_spans = Vec::new();
    let mut top = 0.0;
    for (row_index, (row, indent)) in rows.iter().zip(indents).enumerate() {
        let glyphs: Vec<(Glyph, &Planned)> = row.iter().filter_map(|p| digit_glyph(p.digit, p.scale * height, stroke).map(|g| (g, p))).collect();
        let row_height = glyphs.iter().map(|(g, _)| g.height() as f32).fold(0.0f32, f32::max) + 2.0 * BASELINE_WOBBLE * height;
        let start = placed.len();
        let mut x = if centred { 0.0 } else { indent * height };
        for (glyph, plan) in glyphs {
            let y = top + (row_height - glyph.height() as f32) / 2.0 + plan.wobble * height;
            let advance = glyph.width() as f32 + plan.gap_after * height;
            placed.push(Placed { glyph, x, y, label: plan.digit.label, row: row_index, from_usps: plan.digit.side == USPS_SIDE });
            x += advance;
        }
        let right = placed[start..].iter().map(|p| p.x + p.glyph.width() as f32).fold(0.0f32, f32::max);
        row_spans.push((start, placed.len(), right));
        top += row_height + row_gap * height;
    }
    let block_w = row_spans.iter().map(|&(_, _, right)| right).fold(0.0f32, f32::max);
    let block_h = top - row_gap * height;
    if centred {
        for &(start, end, right) in &row_spans {
            let shift = (block_w - right) / 2.0;
            placed[start..end].iter_mut().for_each(|p| p.x += shift);
        }
    }
    (placed, block_w, block_h)
}

/// Rotation of the text block about its centre, then translation into the frame.
struct Transform {
    angle: f32,
    block_centre: (f32, f32),
    frame_centre: (f32, f32),
}

impl Transform {
    fn to_frame(&self, (x, y): (f32, f32)) -> (f32, f32) {
        let (s, c) = self.angle.sin_cos();
        let (dx, dy) = (x - self.block_centre.0, y - self.block_centre.1);
        (self.frame_centre.0 + dx * c - dy * s, self.frame_centre.1 + dx * s + dy * c)
    }

    fn to_block(&self, (x, y): (f32, f32)) -> (f32, f32) {
        let (s, c) = self.angle.sin_cos();
        let (dx, dy) = (x - self.frame_centre.0, y - self.frame_centre.1);
        (self.block_centre.0 + dx * c + dy * s, self.block_centre.1 - dx * s + dy * c)
    }
}

/// Adds a glyph's ink to `coverage` (keeping the stronger ink where shapes meet) and returns
/// the frame box of its pixels that are at least half covered.
fn draw_glyph(coverage: &mut Plane, placed: &Placed, transform: &Transform) -> Option<BoundingBox> {
    let (gw, gh) = (placed.glyph.width() as f32, placed.glyph.height() as f32);
    let corners = [(0.0, 0.0), (gw, 0.0), (0.0, gh), (gw, gh)].map(|(cx, cy)| transform.to_frame((placed.x + cx, placed.y + cy)));
    let x0 = corners.iter().map(|c| c.0).fold(f32::MAX, f32::min).floor().max(0.0) as usize;
    let y0 = corners.iter().map(|c| c.1).fold(f32::MAX, f32::min).floor().max(0.0) as usize;
    let x1 = (corners.iter().map(|c| c.0).fold(f32::MIN, f32::max).ceil().max(0.0) as usize).min(coverage.width);
    let y1 = (corners.iter().map(|c| c.1).fold(f32::MIN, f32::max).ceil().max(0.0) as usize).min(coverage.height);
    let (mut bx0, mut by0, mut bx1, mut by1) = (usize::MAX, usize::MAX, 0, 0);
    for y in y0..y1 {
        for x in x0..x1 {
            let (bx, by) = transform.to_block((x as f32 + 0.5, y as f32 + 0.5));
            let value = placed.glyph.coverage.sample(bx - placed.x, by - placed.y);
            if value <= 0.0 {
                continue;
            }
            let cell = coverage.at_mut(x, y);
            *cell = cell.max(value);
            if value >= 0.5 {
                (bx0, by0, bx1, by1) = (bx0.min(x), by0.min(y), bx1.max(x), by1.max(y));
            }
        }
    }
    (bx0 <= bx1).then(|| BoundingBox { x: bx0 as u32, y: by0 as u32, w: (bx1 - bx0 + 1) as u32, h: (by1 - by0 + 1) as u32 })
}

/// Surface with ink, under the light, through the camera.
#[allow(clippy::too_many_arguments)]
fn photograph(
    surface_rng: &mut Rng,
    light_rng: &mut Rng,
    camera_rng: &mut Rng,
    ink_rng: &mut Rng,
    kind: SurfaceKind,
    pen: &Pen,
    plan: &SurfacePlan,
    coverage: &Plane,
    smallest_digit: f32,
    opts: &PageOptions,
) -> (OwnedGrey, Camera) {
    let (w, h) = (opts.width, opts.height);
    let mut radiance = surface(surface_rng, kind, w, h, plan);
    // Pen pressure or chalk grain: chalk breaks up finely, ink varies along the stroke.
    let grain_cell = if kind.is_negative() { 1.5 } else { 12.0 };
    let grain = value_noise(ink_rng, w, h, grain_cell);
    let light = illumination(light_rng, kind, w, h);
    for i in 0..w * h {
        let ink = coverage.data[i] * (1.0 - pen.unevenness * (0.5 + 0.5 * grain.data[i]));
        let reflect = if kind.is_negative() {
            radiance.data[i] * (1.0 - ink) + pen.strength * ink
        } else {
            radiance.data[i] * (1.0 - pen.strength * ink)
        };
        radiance.data[i] = reflect * light.data[i];
    }
    // Focus blur never more than ~5 % of the smallest digit: a person would refocus.
    let mut camera = Camera::random(camera_rng, (0.05 * smallest_digit).min(1.8));
    if !opts.sensor_effects {
        camera.read_noise = 0.0;
        camera.shot_noise = 0.0;
        camera.jpeg_quality = None;
    }
    (camera.shoot(camera_rng, radiance), camera)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::data::resolve_data_dir;
    use std::sync::OnceLock;

    fn bank() -> &'static DigitBank {
        static BANK: OnceLock<DigitBank> = OnceLock::new();
        BANK.get_or_init(|| DigitBank::load_test_sets(&resolve_data_dir(None)).expect("test digit sets"))
    }

    #[test]
    fn same_seed_gives_identical_scenes() {
        let a = text_scene(bank(), 42);
        let b = text_scene(bank(), 42);
        assert_eq!(a.image, b.image);
        assert_eq!((a.text.as_str(), &a.boxes), (b.text.as_str(), &b.boxes));
        assert_ne!(text_scene(bank(), 43).image, a.image);
        assert_eq!(blank_page(7).image, blank_page(7).image);
    }

    #[test]
    fn boxes_match_text_and_stay_in_frame() {
        let (mut usps_digits, mut all_digits) = (0, 0);
        for seed in 0..40 {
            let scene = text_scene(bank(), seed);
            let digits = scene.text.chars().filter(|c| c.is_ascii_digit()).count();
            assert!((1..=6).contains(&digits), "seed {seed}: {:?}", scene.text);
            assert!(scene.text.lines().count() <= 2 && scene.text.lines().all(|l| !l.is_empty()));
            assert_eq!(scene.boxes.len(), digits, "seed {seed}");
            assert_eq!(scene.from_usps.len(), digits, "seed {seed}");
            (usps_digits, all_digits) = (usps_digits + scene.from_usps.iter().filter(|&&u| u).count(), all_digits + digits);
            assert_eq!((scene.image.width, scene.image.height), (640, 480));
            for b in &scene.boxes {
                assert!(b.w > 0 && b.h > 0 && b.right() <= 640 && b.bottom() <= 480, "seed {seed}: {b:?}");
                assert!(b.h >= 18 && b.h <= 340, "seed {seed}: height {}", b.h);
            }
        }
        // About a quarter of the digits come from USPS (`usps_chance`), the rest from MNIST.
        assert!(usps_digits * 8 > all_digits && usps_digits * 2 < all_digits, "{usps_digits} of {all_digits} from USPS");
    }

    #[test]
    fn digits_in_a_row_do_not_touch() {
        for seed in 100..130 {
            let scene = text_scene(bank(), seed);
            let mut index = 0;
            for line in scene.text.lines() {
                let row = &scene.boxes[index..index + line.len()];
                for pair in row.windows(2) {
                    // Boxes are axis-aligned after rotation, so allow a little overlap from tilt.
                    let gap = pair[1].x as i64 - pair[0].right() as i64;
                    let tilt_slack = (pair[0].h.max(pair[1].h) as f32 * 0.13) as i64;
                    assert!(gap >= -tilt_slack, "seed {seed}: {:?} then {:?}", pair[0], pair[1]);
                }
                index += line.len();
            }
        }
    }

    #[test]
    fn blank_pages_have_no_text() {
        for seed in 0..5 {
            let scene = blank_page(seed);
            assert!(scene.text.is_empty() && scene.boxes.is_empty() && scene.from_usps.is_empty());
        }
    }

    #[test]
    fn single_digit_page_has_one_box() {
        let digit = bank().usps.get(0);
        let scene = single_digit_page(digit, 1);
        assert_eq!(scene.text, char::from(b'0' + digit.label).to_string());
        assert_eq!(scene.boxes.len(), 1);
        assert!((25..=215).contains(&scene.boxes[0].h), "{:?}", scene.boxes[0]);
        assert_eq!(scene.from_usps, [true]);
        assert_eq!(single_digit_page(bank().mnist.get(0), 1).from_usps, [false]);
    }
}
