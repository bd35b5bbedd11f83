//! What the camera looks at besides the ink: the writing surface (reflectance) and the light
//! falling on it (illumination). Both are planes of factors around 0..1 that multiply.

use super::raster::Plane;
use super::rng::Rng;

/// The writing surface.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SurfaceKind {
    /// Paper, maybe ruled: dark ink on light.
    Paper { ruled: bool },
    /// Whiteboard: dark marker on a smooth light surface, sometimes with glare.
    Whiteboard,
    /// Chalkboard: light chalk on a dark surface (negative polarity).
    Chalkboard,
}

impl SurfaceKind {
    pub fn pick(rng: &mut Rng, board_chance: f32) -> SurfaceKind {
        let u = rng.unit();
        if u < board_chance {
            SurfaceKind::Chalkboard
        } else if u < board_chance + 0.08 {
            SurfaceKind::Whiteboard
        } else {
            SurfaceKind::Paper { ruled: rng.chance(0.5) }
        }
    }

    /// Ink lighter than the surface.
    pub fn is_negative(self) -> bool { self == SurfaceKind::Chalkboard }
}

/// Smooth random field in about [-1, 1] with features about `cell` px wide (value noise with
/// smoothstep interpolation).
pub fn value_noise(rng: &mut Rng, width: usize, height: usize, cell: f32) -> Plane {
    let gw = (width as f32 / cell).ceil() as usize + 2;
    let gh = (height as f32 / cell).ceil() as usize + 2;
    let grid: Vec<f32> = (0..gw * gh).map(|_| rng.range(-1.0, 1.0)).collect();
    let mut out = Plane::new(width, height, 0.0);
    let smooth = |t: f32| t * t * (3.0 - 2.0 * t);
    for y in 0..height {
        let gy = y as f32 / cell;
        let (iy, ty) = (gy as usize, smooth(gy.fract()));
        for x in 0..width {
            let gx = x as f32 / cell;
            let (ix, tx) = (gx as usize, smooth(gx.fract()));
            let g = |i: usize, j: usize| grid[j * gw + i];
            let top = g(ix, iy) + (g(ix + 1, iy) - g(ix, iy)) * tx;
            let bottom = g(ix, iy + 1) + (g(ix + 1, iy + 1) - g(ix, iy + 1)) * tx;
            out.data[y * width + x] = top + (bottom - top) * ty;
        }
    }
    out
}

/// Adds `strength * amplitude * noise` at several scales (fibre grain to cloudy unevenness).
fn add_texture(rng: &mut Rng, plane: &mut Plane, strength: f32, octaves: &[(f32, f32)]) {
    for &(cell, amplitude) in octaves {
        let amplitude = amplitude * strength;
        let noise = value_noise(rng, plane.width, plane.height, cell);
        plane.data.iter_mut().zip(&noise.data).for_each(|(v, n)| *v *= 1.0 + amplitude * n);
    }
}

/// What the surface must agree with.
pub struct SurfacePlan {
    /// Rotation of the page in radians (ruled lines follow it).
    pub angle: f32,
    /// Leftmost x of any ink, if there is ink: a margin line never runs through the text.
    pub ink_left: Option<f32>,
    /// Strength of paper grain and board smears (1 = normal, 0 = smooth).
    pub texture: f32,
}

/// Reflectance of the bare surface: tint, texture, ruled lines, specks of dust.
pub fn surface(rng: &mut Rng, kind: SurfaceKind, width: usize, height: usize, plan: &SurfacePlan) -> Plane {
    let base = match kind {
        SurfaceKind::Paper { .. } => rng.range(0.72, 0.95),
        SurfaceKind::Whiteboard => rng.range(0.8, 0.95),
        SurfaceKind::Chalkboard => rng.range(0.12, 0.3),
    };
    let mut plane = Plane::new(width, height, base);
    match kind {
        SurfaceKind::Paper { ruled } => {
            let (grain, clouds) = (rng.range(0.01, 0.035), rng.range(0.0, 0.03));
            add_texture(rng, &mut plane, plan.texture, &[(1.5, grain), (4.0, grain * 0.8), (40.0, clouds)]);
            if ruled {
                draw_ruled_lines(rng, &mut plane, plan);
            }
            draw_specks(rng, &mut plane, 0.2, 0.55);
        }
        SurfaceKind::Whiteboard => {
            let clouds = rng.range(0.0, 0.03);
            add_texture(rng, &mut plane, plan.texture, &[(3.0, 0.008), (60.0, clouds)]);
            draw_specks(rng, &mut plane, 0.1, 0.4);
        }
        SurfaceKind::Chalkboard => {
            // Dust and old wiped chalk: cloudy lighter patches.
            let (smears, wipes) = (rng.range(0.05, 0.2), rng.range(0.05, 0.25));
            add_texture(rng, &mut plane, plan.texture, &[(2.0, 0.05), (25.0, smears), (90.0, wipes)]);
        }
    }
    plane
}

/// Thin blue-grey lines across the page, sometimes a margin line on the left.
fn draw_ruled_lines(rng: &mut Rng, plane: &mut Plane, plan: &SurfacePlan) {
    let spacing = rng.range(18.0, 40.0);
    let phase = rng.range(0.0, spacing);
    let line_width = rng.range(0.8, 2.0);
    // Blue ink on white is only a little darker in luma.
    let darkening = rng.range(0.08, 0.25);
    let angle = plan.angle + rng.range(-0.6f32, 0.6).to_radians();
    let (sin, cos) = angle.sin_cos();
    let margin_x = plan.ink_left.map_or(Some(rng.range(40.0, 120.0)), |left| {
        let x = rng.range(30.0, 110.0);
        (x < left - 15.0).then_some(x)
    });
    let margin = margin_x.filter(|_| rng.chance(0.35)).map(|x| (x, rng.range(0.12, 0.3), rng.range(1.0, 2.2)));
    let (w, h) = (plane.width, plane.height);
    let centre = (w as f32 / 2.0, h as f32 / 2.0);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 + 0.5 - centre.0, y as f32 + 0.5 - centre.1);
            // Distance across the ruling and along it, in page coordinates.
            let across = -dx * sin + dy * cos + centre.1 - phase;
            let nearest = (across / spacing).round() * spacing;
            let line = (0.5 + line_width / 2.0 - (across - nearest).abs()).clamp(0.0, 1.0);
            let mut factor = 1.0 - darkening * line;
            if let Some((mx, dark, mw)) = margin {
                let along = dx * cos + dy * sin + centre.0;
                let m = (0.5 + mw / 2.0 - (along - mx).abs()).clamp(0.0, 1.0);
                factor *= 1.0 - dark * m;
            }
            *plane.at_mut(x, y) *= factor;
        }
    }
}

/// Dust and paper flecks: tiny dark dots, far smaller than any digit stroke pattern.
fn draw_specks(rng: &mut Rng, plane: &mut Plane, min_dark: f32, max_dark: f32) {
    let count = rng.int(0, 30);
    for _ in 0..count {
        let cx = rng.range(0.0, plane.width as f32);
        let cy = rng.range(0.0, plane.height as f32);
        let radius = rng.range(0.4, 1.4);
        let dark = rng.range(min_dark, max_dark);
        let r = radius.ceil() as i64 + 1;
        for y in (cy as i64 - r).max(0)..(cy as i64 + r + 1).min(plane.height as i64) {
            for x in (cx as i64 - r).max(0)..(cx as i64 + r + 1).min(plane.width as i64) {
                let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
                let cover = (0.5 + radius - d).clamp(0.0, 1.0);
                *plane.at_mut(x as usize, y as usize) *= 1.0 - dark * cover;
            }
        }
    }
}

/// Light reaching the surface: exposure, a gradient across the frame, lens vignetting, soft
/// shadows (a hand or phone between lamp and page) and, on whiteboards, glare.
pub fn illumination(rng: &mut Rng, kind: SurfaceKind, width: usize, height: usize) -> Plane {
    let (w, h) = (width as f32, height as f32);
    let gradient_dir = rng.range(0.0, std::f32::consts::TAU);
    let (gs, gc) = gradient_dir.sin_cos();
    let gradient = if rng.chance(0.75) { rng.range(0.0, 0.35) } else { 0.0 };
    let vignette = if rng.chance(0.7) { rng.range(0.0, 0.35) } else { 0.0 };
    let shadows: Vec<Shadow> = (0..if rng.chance(0.4) { rng.int(1, 2) } else { 0 }).map(|_| Shadow::random(rng, w, h)).collect();
    let glare = (kind == SurfaceKind::Whiteboard && rng.chance(0.5)).then(|| Glare {
        cx: rng.range(0.0, w),
        cy: rng.range(0.0, h),
        radius: rng.range(60.0, 200.0),
        strength: rng.range(0.1, 0.25),
    });
    let half_diag = (w * w + h * h).sqrt() / 2.0;
    let mut plane = Plane::new(width, height, 1.0);
    for y in 0..height {
        for x in 0..width {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let (dx, dy) = (px - w / 2.0, py - h / 2.0);
            // t in [0, 1] along the gradient direction across the frame.
            let t = ((dx * gc + dy * gs) / half_diag + 1.0) / 2.0;
            let mut light = 1.0 - gradient * t;
            light *= 1.0 - vignette * (dx * dx + dy * dy) / (half_diag * half_diag);
            for shadow in &shadows {
                light *= shadow.factor(px, py);
            }
            if let Some(g) = &glare {
                let d2 = (px - g.cx).powi(2) + (py - g.cy).powi(2);
                light += g.strength * (-d2 / (2.0 * g.radius * g.radius)).exp();
            }
            plane.data[y * width + x] = light;
        }
    }
    // Stacked gradient, vignette and shadow can leave a corner nearly black; a real exposure
    // would not, and neither would a person reading it. Keep the darkest spot at 35 %.
    let darkest = plane.data.iter().cloned().fold(f32::MAX, f32::min);
    if darkest < MIN_LIGHT {
        let lift = |l: f32| MIN_LIGHT + (1.0 - MIN_LIGHT) * (l - darkest) / (1.0 - darkest);
        plane.data.iter_mut().for_each(|l| *l = lift(*l));
    }
    plane
}

const MIN_LIGHT: f32 = 0.35;

/// A soft elliptical shadow with a wide penumbra.
struct Shadow {
    cx: f32,
    cy: f32,
    rx: f32,
    ry: f32,
    cos: f32,
    sin: f32,
    /// Width of the soft edge, in px.
    softness: f32,
    /// Light left in the umbra (0.5 = half).
    depth: f32,
}

impl Shadow {
    fn random(rng: &mut Rng, w: f32, h: f32) -> Shadow {
        // Centred near an edge or corner, the way a hand or phone intrudes.
        let (cx, cy) = match rng.int(0, 3) {
            0 => (rng.range(-0.2, 1.2) * w, rng.range(-0.3, 0.1) * h),
            1 => (rng.range(-0.2, 1.2) * w, rng.range(0.9, 1.3) * h),
            2 => (rng.range(-0.3, 0.1) * w, rng.range(-0.2, 1.2) * h),
            _ => (rng.range(0.9, 1.3) * w, rng.range(-0.2, 1.2) * h),
        };
        let angle = rng.range(0.0, std::f32::consts::PI);
        Shadow {
            cx,
            cy,
            rx: rng.range(120.0, 420.0),
            ry: rng.range(80.0, 300.0),
            cos: angle.cos(),
            sin: angle.sin(),
            softness: rng.range(25.0, 110.0),
            depth: rng.range(0.5, 0.82),
        }
    }

    fn factor(&self, x: f32, y: f32) -> f32 {
        let (dx, dy) = (x - self.cx, y - self.cy);
        let (u, v) = (dx * self.cos + dy * self.sin, -dx * self.sin + dy * self.cos);
        // Approximate distance outside the ellipse edge, in px.
        let r = ((u / self.rx).powi(2) + (v / self.ry).powi(2)).sqrt();
        let outside = (r - 1.0) * self.rx.min(self.ry);
        let t = (0.5 + outside / self.softness).clamp(0.0, 1.0);
        let shade = t * t * (3.0 - 2.0 * t);
        self.depth + (1.0 - self.depth) * shade
    }
}

struct Glare {
    cx: f32,
    cy: f32,
    radius: f32,
    strength: f32,
}
