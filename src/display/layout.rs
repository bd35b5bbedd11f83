//! Where each part of the screen goes, for any panel size.
//!
//! Two arrangements: on wide panels (320x240, 480x320) the camera sits left and the reading
//! in a column on its right; on square or tall panels (240x240) the camera sits on top and
//! the reading below. A status bar (notice, fps) always runs along the bottom.

use embedded_graphics::mono_font::ascii::{FONT_6X10, FONT_8X13};
use embedded_graphics::mono_font::MonoFont;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

/// Largest screen side laid out; bigger sizes are treated as this.
const MAX_SIDE: u32 = 1 << 15;

/// The screen's regions; they never overlap and all lie inside the screen.
#[derive(Clone, Copy)]
pub struct Layout {
    /// The whole screen.
    pub screen: Rectangle,
    /// Area the camera view is fitted into (keeping the camera's aspect).
    pub camera: Rectangle,
    /// The stable reading, in the largest type that fits.
    pub reading: Rectangle,
    /// Confidence of the reading.
    pub confidence: Rectangle,
    /// Bottom strip: notice banner on the left, fps on the right.
    pub status_bar: Rectangle,
    /// Font of the status bar and of the digit labels.
    pub small_font: &'static MonoFont<'static>,
}

impl Layout {
    pub fn for_size(size: Size) -> Self {
        // Clamped so every coordinate below stays well inside i32.
        let (w, h) = (size.width.min(MAX_SIDE), size.height.min(MAX_SIDE));
        let screen = rect(0, 0, w, h);
        let small_font = if w.min(h) >= 300 { &FONT_8X13 } else { &FONT_6X10 };
        let bar_h = (small_font.character_size.height + 4).min(h);
        let body_h = h - bar_h;
        let status_bar = rect(0, body_h, w, bar_h);

        // Wide panels (at least 5:4) get the side-by-side arrangement.
        let (camera, panel) = if w * 4 >= h * 5 {
            // Camera width: 5/8 of the screen, and no wider than a 4:3 view of the body height.
            let cam_w = (w * 5 / 8).min(body_h * 4 / 3);
            (rect(0, 0, cam_w, body_h), rect(cam_w, 0, w - cam_w, body_h))
        } else {
            // Camera height: 2/3 of the body, and no taller than a 4:3 view of the width.
            let cam_h = (body_h * 2 / 3).min(w * 3 / 4);
            (rect(0, 0, w, cam_h), rect(0, cam_h, w, body_h - cam_h))
        };
        let (reading, confidence) = split_panel(panel);
        Layout { screen, camera, reading, confidence, status_bar, small_font }
    }

    /// Everything above the status bar: full-screen messages take this over.
    pub fn body(&self) -> Rectangle {
        Rectangle::new(Point::zero(), Size::new(self.screen.size.width, self.status_bar.top_left.y as u32))
    }

    /// Reading and confidence together.
    pub fn panel(&self) -> Rectangle { envelope(&self.reading, &self.confidence) }

    /// While no digits are in view: a smaller camera view on top (still enough to aim)
    /// and the prompt across the full width below it, where it can be set large.
    pub fn prompt(&self) -> (Rectangle, Rectangle) {
        let body = self.body();
        let prompt_h = body.size.height * 9 / 20;
        let camera = Rectangle::new(body.top_left, Size::new(body.size.width, body.size.height - prompt_h));
        let prompt = Rectangle::new(Point::new(0, camera.size.height as i32), Size::new(body.size.width, prompt_h));
        (camera, prompt)
    }
}

// MonoFont has neither Debug nor PartialEq; fonts are told apart by their glyph size.
impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layout")
            .field("screen", &self.screen)
            .field("camera", &self.camera)
            .field("reading", &self.reading)
            .field("confidence", &self.confidence)
            .field("status_bar", &self.status_bar)
            .field("small_font", &self.small_font.character_size)
            .finish()
    }
}

impl PartialEq for Layout {
    fn eq(&self, other: &Self) -> bool {
        (self.screen, self.camera, self.reading, self.confidence, self.status_bar, self.small_font.character_size)
            == (other.screen, other.camera, other.reading, other.confidence, other.status_bar, other.small_font.character_size)
    }
}

/// Reading gets most of the panel; confidence goes beside it on wide panels, below otherwise.
fn split_panel(panel: Rectangle) -> (Rectangle, Rectangle) {
    let Point { x, y } = panel.top_left;
    let Size { width: w, height: h } = panel.size;
    let (x, y) = (x as u32, y as u32);
    if w >= h * 2 {
        let conf_w = w * 3 / 10;
        (rect(x, y, w - conf_w, h), rect(x + w - conf_w, y, conf_w, h))
    } else {
        let conf_h = (h / 4).max(24).min(h / 2);
        (rect(x, y, w, h - conf_h), rect(x, y + h - conf_h, w, conf_h))
    }
}

fn rect(x: u32, y: u32, w: u32, h: u32) -> Rectangle {
    Rectangle::new(Point::new(x as i32, y as i32), Size::new(w, h))
}

/// Smallest rectangle holding both.
fn envelope(a: &Rectangle, b: &Rectangle) -> Rectangle {
    let x0 = a.top_left.x.min(b.top_left.x);
    let y0 = a.top_left.y.min(b.top_left.y);
    let x1 = (a.top_left.x + a.size.width as i32).max(b.top_left.x + b.size.width as i32);
    let y1 = (a.top_left.y + a.size.height as i32).max(b.top_left.y + b.size.height as i32);
    Rectangle::new(Point::new(x0, y0), Size::new((x1 - x0) as u32, (y1 - y0) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlaps(a: &Rectangle, b: &Rectangle) -> bool { !a.intersection(b).is_zero_sized() }

    fn inside(outer: &Rectangle, inner: &Rectangle) -> bool { outer.intersection(inner) == *inner }

    #[test]
    fn regions_fit_and_do_not_overlap() {
        for (w, h) in [(240, 240), (320, 240), (480, 320), (128, 128), (240, 320), (800, 480), (128, 160)] {
            let l = Layout::for_size(Size::new(w, h));
            let parts = [l.camera, l.reading, l.confidence, l.status_bar];
            for (i, a) in parts.iter().enumerate() {
                assert!(inside(&l.screen, a), "{w}x{h}: {a:?} leaves the screen");
                assert!(!a.is_zero_sized(), "{w}x{h}: region {i} is empty");
                for b in &parts[i + 1..] {
                    assert!(!overlaps(a, b), "{w}x{h}: {a:?} overlaps {b:?}");
                }
            }
            let covered: u32 = parts.iter().map(|r| r.size.width * r.size.height).sum();
            assert_eq!(covered, w * h, "{w}x{h}: regions leave gaps");
            let (camera, prompt) = l.prompt();
            assert!(!overlaps(&camera, &prompt) && inside(&l.body(), &camera) && inside(&l.body(), &prompt));
            assert!(prompt.size.height >= 40, "{w}x{h}: prompt too low for 2 lines of 10x20");
        }
    }

    #[test]
    fn known_panels_get_a_usable_camera_and_reading() {
        let square = Layout::for_size(Size::new(240, 240));
        assert_eq!(square.camera, rect(0, 0, 240, 150));
        assert!(square.reading.size.height >= 60, "room for 3x scaled 10x20 digits");
        let wide = Layout::for_size(Size::new(320, 240));
        assert_eq!(wide.camera.top_left, Point::zero());
        assert!(wide.camera.size.width >= 190 && wide.reading.size.width >= 100);
        let big = Layout::for_size(Size::new(480, 320));
        assert!(big.camera.size.width >= 280 && big.reading.size.height >= 150);
    }

    #[test]
    fn tiny_and_degenerate_sizes_do_not_panic() {
        for (w, h) in [(0, 0), (1, 1), (10, 3), (3, 200), (4096, 1), (1, 4096), (u32::MAX, u32::MAX), (u32::MAX, 1)] {
            let l = Layout::for_size(Size::new(w, h));
            assert!(inside(&l.screen, &l.camera) || l.camera.is_zero_sized());
            let _ = l.body();
            let _ = l.panel();
            let _ = l.prompt();
        }
    }
}
