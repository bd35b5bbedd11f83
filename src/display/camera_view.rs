//! The camera frame scaled into its screen area, and digit boxes mapped onto it.
//!
//! Integer arithmetic throughout (the board has no fast FPU to spare): nearest-neighbour
//! sampling from precomputed column indices, streamed with one `fill_contiguous` call.

use embedded_graphics::mono_font::{MonoFont, MonoTextStyle};
use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyleBuilder, Rectangle, StrokeAlignment};
use embedded_graphics::text::{Baseline, Text};

use super::palette;
use super::screen::ShownDigit;
use crate::frame::GreyImage;
use crate::preprocess::BoundingBox;

/// Where a camera frame of a given size lands on screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CameraView {
    /// The scaled image's rectangle, centred in the camera area.
    pub image: Rectangle,
    camera_width: u32,
    camera_height: u32,
}

impl CameraView {
    /// Fits a `camera_width` x `camera_height` frame into `area`, keeping its aspect.
    /// `None` for an empty frame or area.
    pub fn fit(camera_width: usize, camera_height: usize, area: Rectangle) -> Option<Self> {
        let (cw, ch) = (camera_width as u64, camera_height as u64);
        let (aw, ah) = (area.size.width as u64, area.size.height as u64);
        if cw == 0 || ch == 0 || aw == 0 || ah == 0 {
            return None;
        }
        // Compare aspects by cross-multiplying: whichever side limits the scale wins.
        let (w, h) = if cw * ah <= ch * aw { ((cw * ah / ch).max(1), ah) } else { (aw, (ch * aw / cw).max(1)) };
        let offset = Point::new(((aw - w) / 2) as i32, ((ah - h) / 2) as i32);
        let image = Rectangle::new(area.top_left + offset, Size::new(w as u32, h as u32));
        // Frames larger than u32 cannot exist (GreyImage caps sides at 8192).
        Some(Self { image, camera_width: cw.min(u32::MAX as u64) as u32, camera_height: ch.min(u32::MAX as u64) as u32 })
    }

    /// A camera-coordinate box in screen coordinates, clipped to the frame; `None` when it
    /// lies wholly outside the frame or is empty.
    pub fn map_box(&self, b: &BoundingBox) -> Option<Rectangle> {
        let (cw, ch) = (self.camera_width as u64, self.camera_height as u64);
        let (vw, vh) = (self.image.size.width as u64, self.image.size.height as u64);
        let x0 = (b.x as u64).min(cw);
        let y0 = (b.y as u64).min(ch);
        let x1 = (b.x as u64 + b.w as u64).min(cw);
        let y1 = (b.y as u64 + b.h as u64).min(ch);
        if x1 <= x0 || y1 <= y0 {
            return None;
        }
        // Start rounds down and end rounds up, so a tiny box still covers a pixel.
        let (sx0, sy0) = (x0 * vw / cw, y0 * vh / ch);
        let (sx1, sy1) = ((x1 * vw).div_ceil(cw), (y1 * vh).div_ceil(ch));
        let top_left = self.image.top_left + Point::new(sx0 as i32, sy0 as i32);
        Some(Rectangle::new(top_left, Size::new((sx1 - sx0).max(1) as u32, (sy1 - sy0).max(1) as u32)))
    }
}

/// Source index sampled for each of `out` destination positions over `len` source ones
/// (pixel centres, rounded down).
fn nearest_indices(len: usize, out: u32) -> Vec<usize> {
    let (len64, out64) = (len as u64, out.max(1) as u64);
    (0..out as u64).map(|d| (((2 * d + 1) * len64) / (2 * out64)).min(len64.saturating_sub(1)) as usize).collect()
}

fn grey_to_rgb565(v: u8) -> Rgb565 { Rgb565::new(v >> 3, v >> 2, v >> 3) }

/// Draws `frame` scaled into `view.image`.
pub fn draw_frame<D>(target: &mut D, frame: &GreyImage, view: &CameraView) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb565>,
{
    if frame.is_empty() {
        return Ok(());
    }
    let columns = nearest_indices(frame.width(), view.image.size.width);
    let rows = nearest_indices(frame.height(), view.image.size.height);
    let columns = &columns;
    let pixels = rows.iter().flat_map(|&sy| {
        let row = frame.row(sy);
        columns.iter().map(move |&sx| grey_to_rgb565(row[sx]))
    });
    target.fill_contiguous(&view.image, pixels)
}

/// Draws a box around each digit and a "7 98%" label on it, clipped to the camera image.
pub fn draw_digit_boxes<D>(target: &mut D, digits: &[ShownDigit], view: &CameraView, font: &MonoFont) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb565>,
{
    let mut clipped = target.clipped(&view.image);
    // Thicker strokes once the view is big enough for them not to hide the strokes.
    let stroke = if view.image.size.width >= 160 { 2 } else { 1 };
    let boxes: Vec<(Rectangle, &ShownDigit)> = digits.iter().filter_map(|d| Some((view.map_box(&d.bbox)?, d))).collect();
    for (rect, digit) in &boxes {
        let style = PrimitiveStyleBuilder::new()
            .stroke_color(palette::for_confidence(digit.confidence_pct))
            .stroke_width(stroke)
            .stroke_alignment(StrokeAlignment::Outside)
            .build();
        rect.into_styled(style).draw(&mut clipped)?;
    }
    // Labels after all boxes so no box crosses a label.
    for (rect, digit) in &boxes {
        draw_label(&mut clipped, rect, digit, stroke, &view.image, font)?;
    }
    Ok(())
}

fn draw_label<D>(target: &mut D, digit_box: &Rectangle, digit: &ShownDigit, stroke: u32, image: &Rectangle, font: &MonoFont) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb565>,
{
    let char_size = font.character_size;
    // The longest label no wider than the box, so neighbouring labels do not collide.
    let pct = digit.confidence_pct.min(100);
    let outer_width = digit_box.size.width + 2 * stroke;
    let text = [format!("{} {pct}%", digit.digit), format!("{} {pct}", digit.digit), digit.digit.to_string()]
        .into_iter()
        .find(|t| t.len() as u32 * char_size.width + 2 <= outer_width)
        .unwrap_or_else(|| digit.digit.to_string());
    let size = Size::new(text.len() as u32 * char_size.width + 2, char_size.height + 1);
    let colour = palette::for_confidence(digit.confidence_pct);
    // Above the box when there is room, otherwise just below it, otherwise inside its top.
    let outer_top = digit_box.top_left.y - stroke as i32;
    let outer_bottom = digit_box.top_left.y + digit_box.size.height as i32 + stroke as i32;
    let image_bottom = image.top_left.y + image.size.height as i32;
    let y = if outer_top - size.height as i32 >= image.top_left.y {
        outer_top - size.height as i32
    } else if outer_bottom + size.height as i32 <= image_bottom {
        outer_bottom
    } else {
        digit_box.top_left.y
    };
    // Left-aligned with the box, but pulled back inside the image at the right edge.
    let image_right = image.top_left.x + image.size.width as i32;
    let x = (digit_box.top_left.x - stroke as i32).min(image_right - size.width as i32).max(image.top_left.x);
    let label = Rectangle::new(Point::new(x, y), size);
    target.fill_solid(&label, colour)?;
    let style = MonoTextStyle::new(font, palette::LABEL_TEXT);
    Text::with_baseline(&text, label.top_left + Point::new(1, 1), style, Baseline::Top).draw(target)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(w: u32, h: u32) -> Rectangle { Rectangle::new(Point::new(0, 0), Size::new(w, h)) }

    #[test]
    fn fit_keeps_aspect_and_centres() {
        let v = CameraView::fit(640, 480, area(240, 150)).unwrap();
        assert_eq!(v.image, Rectangle::new(Point::new(20, 0), Size::new(200, 150)));
        let tall = CameraView::fit(100, 400, area(200, 200)).unwrap();
        assert_eq!(tall.image, Rectangle::new(Point::new(75, 0), Size::new(50, 200)));
        let sliver = CameraView::fit(8192, 1, area(100, 100)).unwrap();
        assert_eq!(sliver.image.size, Size::new(100, 1));
        assert!(CameraView::fit(0, 0, area(10, 10)).is_none());
        assert!(CameraView::fit(10, 10, area(0, 10)).is_none());
    }

    #[test]
    fn boxes_scale_and_clip() {
        let v = CameraView::fit(640, 480, area(320, 240)).unwrap();
        let b = BoundingBox { x: 100, y: 40, w: 60, h: 80 };
        assert_eq!(v.map_box(&b), Some(Rectangle::new(Point::new(50, 20), Size::new(30, 40))));
        let huge = BoundingBox { x: 600, y: 0, w: u32::MAX, h: u32::MAX };
        assert_eq!(v.map_box(&huge), Some(Rectangle::new(Point::new(300, 0), Size::new(20, 240))));
        assert_eq!(v.map_box(&BoundingBox { x: 640, y: 0, w: 5, h: 5 }), None);
        assert_eq!(v.map_box(&BoundingBox { x: 5, y: 5, w: 0, h: 5 }), None);
        let tiny = v.map_box(&BoundingBox { x: 1, y: 1, w: 1, h: 1 }).unwrap();
        assert_eq!(tiny.size, Size::new(1, 1));
    }

    #[test]
    fn nearest_indices_stay_in_range() {
        assert_eq!(nearest_indices(4, 2), [1, 3]);
        assert_eq!(nearest_indices(1, 3), [0, 0, 0]);
        assert_eq!(nearest_indices(3, 6), [0, 0, 1, 1, 2, 2]);
        assert!(nearest_indices(5, 0).is_empty());
    }
}
