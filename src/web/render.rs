//! The live view: the camera frame with a box and label on each accepted digit, drawn by the
//! same code as the panel's camera view, then JPEG-encoded (the pure-Rust `jpeg-encoder`
//! crate: about 2x faster than the `image` crate's encoder here, which matters on the board's
//! one core; see `cargo bench --bench web`). Runs on a web thread, never on the pipeline's.

use embedded_graphics::mono_font::ascii::{FONT_10X20, FONT_6X10};
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use jpeg_encoder::{ColorType, Encoder};

use super::hub::LiveFrame;
use crate::display::camera_view::{draw_digit_boxes, draw_frame, CameraView};
use crate::display::{Canvas565, ShownDigit};

/// The annotated view of `frame`, at most `max_width` wide (never upscaled), as a JPEG.
pub fn annotated_jpeg(frame: &LiveFrame, max_width: u32, quality: u8) -> Result<Vec<u8>, String> {
    let grey = frame.picture().ok_or("no picture in this frame")?;
    let width = max_width.min(grey.width() as u32).max(1);
    let height = ((grey.height() as u64 * width as u64) / grey.width() as u64).max(1) as u32;
    let mut canvas = Canvas565::new(Size::new(width, height));
    let area = Rectangle::new(Point::zero(), canvas.size());
    let view = CameraView::fit(grey.width(), grey.height(), area).ok_or("empty view")?;
    let shown: Vec<ShownDigit> = frame
        .digits
        .iter()
        .filter(|d| d.accepted)
        .map(|d| ShownDigit { bbox: d.bbox, digit: d.digit, confidence_pct: (d.confidence.clamp(0.0, 1.0) * 100.0).round() as u8 })
        .collect();
    let font = if width >= 400 { &FONT_10X20 } else { &FONT_6X10 };
    // Canvas565 drawing cannot fail.
    let _ = draw_frame(&mut canvas, &grey, &view);
    let _ = draw_digit_boxes(&mut canvas, &shown, &view, font);
    // JPEG sides are 16-bit; the view is never wider than the frame, which may be huge.
    let too_big = || format!("a {width}x{height} view is too big for a JPEG");
    let (w16, h16) = (u16::try_from(width).map_err(|_| too_big())?, u16::try_from(height).map_err(|_| too_big())?);
    let mut out = Vec::with_capacity((width * height / 4) as usize);
    Encoder::new(&mut out, quality.clamp(1, 100))
        .encode(&canvas.to_rgb8(), w16, h16, ColorType::Rgb)
        .map_err(|e| format!("JPEG encoding failed: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::OwnedGrey;
    use crate::pipeline::RecognizedDigit;
    use crate::preprocess::BoundingBox;
    use std::time::SystemTime;

    fn frame(w: usize, h: usize) -> LiveFrame {
        let image = OwnedGrey { width: w, height: h, data: (0..w * h).map(|i| (i % 251) as u8).collect() };
        let digits = vec![RecognizedDigit { bbox: BoundingBox { x: 10, y: 10, w: 30, h: 40 }, row: 0, digit: 3, confidence: 0.97, accepted: true }];
        LiveFrame { seq: 1, time: SystemTime::now(), image, digits, tensors: vec![], shown: Some("3".into()) }
    }

    #[test]
    fn encodes_a_scaled_annotated_jpeg() {
        let jpeg = annotated_jpeg(&frame(640, 480), 320, 80).unwrap();
        let img = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((img.width(), img.height()), (320, 240));
        // The accepted digit's box is drawn in colour over a grey picture.
        let rgb = img.to_rgb8();
        let coloured = rgb.pixels().filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 60).count();
        assert!(coloured > 40, "{coloured} coloured pixels");
    }

    #[test]
    fn never_upscales_and_copes_with_odd_sizes() {
        let img = |f| image::load_from_memory(&annotated_jpeg(&f, 640, 50).unwrap()).unwrap();
        assert_eq!(img(frame(100, 20)).width(), 100);
        assert_eq!(img(frame(1, 1)).height(), 1);
        assert_eq!(img(frame(4000, 3)).height(), 1);
        assert!(annotated_jpeg(&frame(0, 0), 640, 80).is_err());
    }
}
