//! `Canvas565`: an in-memory RGB565 frame buffer that screens are drawn into.
//!
//! Every back end renders into one of these first. The PNG back end converts it to RGB8;
//! an SPI panel driver keeps the previous canvas and sends only `changed_since` regions.

use embedded_graphics::pixelcolor::raw::RawU16;
use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

/// Largest canvas side; keeps `width * height` small and `i32` pixel maths safe.
pub const MAX_CANVAS_SIDE: u32 = 4096;

/// An RGB565 frame buffer, row-major, with a tracker of the region written to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canvas565 {
    width: u32,
    height: u32,
    pixels: Vec<Rgb565>,
    /// Bounding box of every pixel written since the last `take_dirty`.
    dirty: Option<Rectangle>,
}

impl Canvas565 {
    /// A black canvas. Sides are clamped to `MAX_CANVAS_SIDE`.
    pub fn new(size: Size) -> Self {
        let width = size.width.min(MAX_CANVAS_SIDE);
        let height = size.height.min(MAX_CANVAS_SIDE);
        Self { width, height, pixels: vec![Rgb565::BLACK; (width * height) as usize], dirty: None }
    }

    pub fn width(&self) -> u32 { self.width }
    pub fn height(&self) -> u32 { self.height }
    /// The whole canvas as a rectangle at the origin.
    pub fn bounds(&self) -> Rectangle { Rectangle::new(Point::zero(), Size::new(self.width, self.height)) }
    /// Row-major pixels.
    pub fn pixels(&self) -> &[Rgb565] { &self.pixels }

    /// The pixel at `p`, or `None` outside the canvas.
    pub fn pixel(&self, p: Point) -> Option<Rgb565> { self.index(p).map(|i| self.pixels[i]) }

    /// Region written since creation or the last `take_dirty` (writes of an unchanged value
    /// count too: this is cheap bookkeeping, `changed_since` is the exact answer).
    pub fn dirty(&self) -> Option<Rectangle> { self.dirty }

    /// Returns the dirty region and starts tracking afresh.
    pub fn take_dirty(&mut self) -> Option<Rectangle> { self.dirty.take() }

    /// The smallest rectangle holding every pixel that differs from `previous`; `None` when
    /// both are identical. A canvas of another size differs everywhere.
    pub fn changed_since(&self, previous: &Canvas565) -> Option<Rectangle> {
        if previous.width != self.width || previous.height != self.height {
            return (!self.pixels.is_empty()).then(|| self.bounds());
        }
        let width = (self.width as usize).max(1);
        let rows = self.pixels.chunks_exact(width).zip(previous.pixels.chunks_exact(width));
        let mut changed: Option<(usize, usize, usize, usize)> = None; // x0, y0, x1, y1 inclusive
        for (y, (now, before)) in rows.enumerate() {
            if now != before {
                // Only rows that differ are scanned pixel by pixel.
                let first = now.iter().zip(before).position(|(a, b)| a != b).unwrap_or(0);
                let last = now.iter().zip(before).rposition(|(a, b)| a != b).unwrap_or(first);
                changed = Some(match changed {
                    None => (first, y, last, y),
                    Some((x0, y0, x1, _)) => (x0.min(first), y0, x1.max(last), y),
                });
            }
        }
        changed.map(|(x0, y0, x1, y1)| rect_from_corners(x0 as u32, y0 as u32, x1 as u32, y1 as u32))
    }

    /// The canvas as packed 8-bit RGB, each channel widened so 0x1f maps to 255.
    pub fn to_rgb8(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.pixels.len() * 3);
        for c in &self.pixels {
            out.extend_from_slice(&[widen5(c.r()), widen6(c.g()), widen5(c.b())]);
        }
        out
    }

    /// Appends `area` (clipped to the canvas) as big-endian RGB565, the byte order ST7789-like
    /// SPI panels expect, and returns the rectangle actually copied.
    pub fn copy_region_be(&self, area: &Rectangle, out: &mut Vec<u8>) -> Rectangle {
        let area = area.intersection(&self.bounds());
        for y in area.rows() {
            for x in area.columns() {
                if let Some(c) = self.pixel(Point::new(x, y)) {
                    out.extend_from_slice(&RawU16::from(c).into_inner().to_be_bytes());
                }
            }
        }
        area
    }

    fn index(&self, p: Point) -> Option<usize> {
        let inside = p.x >= 0 && p.y >= 0 && (p.x as u32) < self.width && (p.y as u32) < self.height;
        inside.then(|| p.y as usize * self.width as usize + p.x as usize)
    }

    fn mark_dirty(&mut self, area: Rectangle) {
        if area.is_zero_sized() {
            return;
        }
        self.dirty = Some(match self.dirty {
            None => area,
            Some(old) => union(&old, &area),
        });
    }
}

/// What an output device shows now, for back ends that send only what changed (panels,
/// framebuffers): the region to send for a new canvas, then `commit` once it was sent.
#[derive(Clone, Debug, Default)]
pub struct ShownCanvas {
    shown: Option<Canvas565>,
}

impl ShownCanvas {
    /// The part of `canvas` the device does not show yet: everything before the first commit,
    /// `None` when nothing changed.
    pub fn pending(&self, canvas: &Canvas565) -> Option<Rectangle> {
        match &self.shown {
            None => Some(canvas.bounds()),
            Some(prev) => canvas.changed_since(prev),
        }
    }

    /// Records that the device now shows `canvas`.
    pub fn commit(&mut self, canvas: &Canvas565) {
        match &mut self.shown {
            Some(prev) => prev.clone_from(canvas),
            None => self.shown = Some(canvas.clone()),
        }
    }
}

fn widen5(v: u8) -> u8 { (v << 3) | (v >> 2) }
fn widen6(v: u8) -> u8 { (v << 2) | (v >> 4) }

fn rect_from_corners(x0: u32, y0: u32, x1: u32, y1: u32) -> Rectangle {
    Rectangle::new(Point::new(x0 as i32, y0 as i32), Size::new(x1 - x0 + 1, y1 - y0 + 1))
}

/// Smallest rectangle holding both (both non-empty).
fn union(a: &Rectangle, b: &Rectangle) -> Rectangle {
    let x0 = a.top_left.x.min(b.top_left.x);
    let y0 = a.top_left.y.min(b.top_left.y);
    let x1 = (a.top_left.x + a.size.width as i32).max(b.top_left.x + b.size.width as i32);
    let y1 = (a.top_left.y + a.size.height as i32).max(b.top_left.y + b.size.height as i32);
    Rectangle::new(Point::new(x0, y0), Size::new((x1 - x0) as u32, (y1 - y0) as u32))
}

impl OriginDimensions for Canvas565 {
    fn size(&self) -> Size { Size::new(self.width, self.height) }
}

impl DrawTarget for Canvas565 {
    type Color = Rgb565;
    type Error = core::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(p, color) in pixels {
            if let Some(i) = self.index(p) {
                self.pixels[i] = color;
                self.mark_dirty(Rectangle::new(p, Size::new(1, 1)));
            }
        }
        Ok(())
    }

    fn fill_contiguous<I>(&mut self, area: &Rectangle, colors: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Self::Color>,
    {
        let visible = area.intersection(&self.bounds());
        if visible != *area {
            // Partly off-canvas: the generic per-pixel path skips what falls outside.
            return self.draw_iter(area.points().zip(colors).map(|(p, c)| Pixel(p, c)));
        }
        // Fully inside: copy row by row straight into the buffer.
        let mut colors = colors.into_iter();
        let width = self.width as usize;
        let (x0, w) = (area.top_left.x as usize, area.size.width as usize);
        for y in area.rows() {
            let start = y as usize * width + x0;
            for (dst, c) in self.pixels[start..start + w].iter_mut().zip(&mut colors) {
                *dst = c;
            }
        }
        self.mark_dirty(*area);
        Ok(())
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Self::Color) -> Result<(), Self::Error> {
        let area = area.intersection(&self.bounds());
        let width = self.width as usize;
        let (x0, w) = (area.top_left.x as usize, area.size.width as usize);
        for y in area.rows() {
            let start = y as usize * width + x0;
            self.pixels[start..start + w].fill(color);
        }
        self.mark_dirty(area);
        Ok(())
    }

    fn clear(&mut self, color: Self::Color) -> Result<(), Self::Error> {
        self.pixels.fill(color);
        self.mark_dirty(self.bounds());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_write_pixels_and_track_the_dirty_region() {
        let mut c = Canvas565::new(Size::new(10, 8));
        assert_eq!(c.dirty(), None);
        c.fill_solid(&Rectangle::new(Point::new(2, 3), Size::new(3, 2)), Rgb565::RED).unwrap();
        c.draw_iter([Pixel(Point::new(8, 7), Rgb565::GREEN), Pixel(Point::new(-1, 0), Rgb565::GREEN)]).unwrap();
        assert_eq!(c.pixel(Point::new(4, 4)), Some(Rgb565::RED));
        assert_eq!(c.pixel(Point::new(5, 4)), Some(Rgb565::BLACK));
        assert_eq!(c.pixel(Point::new(8, 7)), Some(Rgb565::GREEN));
        assert_eq!(c.take_dirty(), Some(Rectangle::new(Point::new(2, 3), Size::new(7, 5))));
        assert_eq!(c.dirty(), None);
    }

    #[test]
    fn fill_contiguous_clips_off_canvas_parts() {
        let mut c = Canvas565::new(Size::new(4, 4));
        let area = Rectangle::new(Point::new(-2, 2), Size::new(4, 4));
        c.fill_contiguous(&area, core::iter::repeat(Rgb565::BLUE)).unwrap();
        assert_eq!(c.pixel(Point::new(1, 3)), Some(Rgb565::BLUE));
        assert_eq!(c.pixel(Point::new(2, 3)), Some(Rgb565::BLACK));
        // Too few colours must not panic either.
        c.fill_contiguous(&c.bounds(), [Rgb565::WHITE]).unwrap();
        assert_eq!(c.pixel(Point::zero()), Some(Rgb565::WHITE));
    }

    #[test]
    fn changed_since_finds_the_exact_difference() {
        let before = Canvas565::new(Size::new(20, 10));
        let mut after = before.clone();
        assert_eq!(after.changed_since(&before), None);
        after.draw_iter([Pixel(Point::new(3, 2), Rgb565::WHITE), Pixel(Point::new(15, 6), Rgb565::WHITE)]).unwrap();
        assert_eq!(after.changed_since(&before), Some(Rectangle::new(Point::new(3, 2), Size::new(13, 5))));
        let other_size = Canvas565::new(Size::new(5, 5));
        assert_eq!(after.changed_since(&other_size), Some(after.bounds()));
    }

    #[test]
    fn rgb8_and_big_endian_exports() {
        let mut c = Canvas565::new(Size::new(2, 1));
        c.draw_iter([Pixel(Point::new(0, 0), Rgb565::WHITE), Pixel(Point::new(1, 0), Rgb565::RED)]).unwrap();
        assert_eq!(c.to_rgb8(), vec![255, 255, 255, 255, 0, 0]);
        let mut bytes = Vec::new();
        let copied = c.copy_region_be(&Rectangle::new(Point::new(1, 0), Size::new(9, 9)), &mut bytes);
        assert_eq!(copied.size, Size::new(1, 1));
        assert_eq!(bytes, vec![0xf8, 0x00]);
    }

    #[test]
    fn empty_and_oversized_canvases_are_safe() {
        let empty = Canvas565::new(Size::zero());
        assert!(empty.to_rgb8().is_empty());
        assert_eq!(empty.changed_since(&empty.clone()), None);
        let huge = Canvas565::new(Size::new(100_000, 1));
        assert_eq!(huge.width(), MAX_CANVAS_SIDE);
    }
}
