//! What one screen shows (`ScreenState`) and how it is drawn (`draw_screen`).

use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyleBuilder, Rectangle, StrokeAlignment};

use super::camera_view::{draw_digit_boxes, draw_frame, CameraView};
use super::layout::Layout;
use super::palette;
use super::text::{draw_lines, fit_lines, fit_wrapped, truncate, Align, TextFit, MAX_CHAR_HEIGHT};
use crate::frame::GreyImage;
use crate::preprocess::BoundingBox;

/// A digit found in the current frame, as it is boxed on screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShownDigit {
    /// In camera frame pixels; scaled onto the view when drawn.
    pub bbox: BoundingBox,
    pub digit: u8,
    pub confidence_pct: u8,
}

/// What the reader is doing, which decides the screen's main message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Status {
    /// Digits in view: show the reading.
    Reading,
    /// Frames arrive but hold no digits: "point me at a number".
    NoDigits,
    /// No frames arrive any more.
    CameraLost,
    /// Before the first frame.
    #[default]
    Starting,
}

/// Everything one screen shows. Borrowed, so building one per frame costs nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScreenState<'a> {
    /// The grey camera frame (any size); `None` draws a placeholder.
    pub camera: Option<GreyImage<'a>>,
    /// Boxes in camera coordinates.
    pub digits: &'a [ShownDigit],
    /// The stable reading, rows separated by '\n'; `None` when nothing is stable yet.
    pub reading: Option<&'a str>,
    /// Confidence of the reading (its least confident digit), 0..=100.
    pub confidence_pct: Option<u8>,
    /// Frames per second in tenths (125 = 12.5 fps), to keep floats out of the display.
    pub fps: u32,
    pub status: Status,
    /// A one-line banner such as "NPU missing: CPU fallback".
    pub notice: Option<&'a str>,
}

/// Tallest reading and headline characters: 80x160 pixels a digit on big panels.
const HEADLINE_MAX_HEIGHT: u32 = MAX_CHAR_HEIGHT;
/// Hints, placeholders and the confidence stay modest so the headline dominates.
const HINT_MAX_HEIGHT: u32 = 40;
const CONFIDENCE_MAX_HEIGHT: u32 = 60;

/// Draws `state` over the whole of `target`, laid out for its size.
pub fn draw_screen<D>(target: &mut D, state: &ScreenState) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb565>,
{
    let bounds = target.bounding_box();
    // Layouts start at the origin; a target whose area starts elsewhere is shifted to match.
    let mut target = target.translated(bounds.top_left);
    let layout = Layout::for_size(bounds.size);
    target.fill_solid(&layout.screen, palette::BACKGROUND)?;
    match state.status {
        Status::Reading => {
            draw_camera(&mut target, state, layout.camera, &layout)?;
            draw_reading(&mut target, state, &layout)?;
            draw_confidence(&mut target, state.confidence_pct, &layout)?;
        }
        Status::NoDigits => {
            let (camera, prompt) = layout.prompt();
            if let Some(view) = draw_camera(&mut target, state, camera, &layout)? {
                // A yellow frame round the view says "aim here" even from a distance.
                let style = PrimitiveStyleBuilder::new()
                    .stroke_color(palette::PROMPT)
                    .stroke_width(2)
                    .stroke_alignment(StrokeAlignment::Inside)
                    .build();
                view.image.into_styled(style).draw(&mut target)?;
            }
            draw_message(&mut target, "Point me at a number", prompt, palette::PROMPT, HEADLINE_MAX_HEIGHT)?;
        }
        Status::CameraLost => {
            let body = layout.body();
            target.fill_solid(&body, palette::LOST_BACKGROUND)?;
            let (message, hint) = split_body(body);
            draw_message(&mut target, "CAMERA LOST", message, palette::LOST_TEXT, HEADLINE_MAX_HEIGHT)?;
            draw_message(&mut target, "check the camera cable", hint, palette::LOST_HINT, HINT_MAX_HEIGHT)?;
        }
        Status::Starting => {
            let (message, hint) = split_body(layout.body());
            draw_message(&mut target, "starting", message, palette::STARTING, HEADLINE_MAX_HEIGHT)?;
            draw_message(&mut target, "digitd", hint, palette::DIM, HINT_MAX_HEIGHT)?;
        }
    }
    draw_status_bar(&mut target, state, &layout)
}

/// The camera image (or a placeholder) fitted into `area`, and its digit boxes; returns
/// where the image went.
fn draw_camera<D>(target: &mut D, state: &ScreenState, area: Rectangle, layout: &Layout) -> Result<Option<CameraView>, D::Error>
where
    D: DrawTarget<Color = Rgb565>,
{
    let frame = state.camera.filter(|f| !f.is_empty());
    let view = frame.and_then(|f| CameraView::fit(f.width(), f.height(), area));
    match (frame, view) {
        (Some(frame), Some(view)) => {
            draw_frame(target, &frame, &view)?;
            draw_digit_boxes(target, state.digits, &view, layout.small_font)?;
        }
        _ => {
            let inset = area.offset(-2);
            target.fill_solid(&inset, palette::NO_IMAGE)?;
            let fit = fit_lines(&["no image"], inset.size, 20);
            draw_lines(target, &["no image"], inset, fit, palette::DIM, Align::Centre)?;
        }
    }
    Ok(view)
}

fn draw_reading<D>(target: &mut D, state: &ScreenState, layout: &Layout) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb565>,
{
    let area = layout.reading.offset(-margin(layout.reading));
    let reading = state.reading.map(str::trim).filter(|r| !r.is_empty());
    let (lines, colour, max_height): (Vec<&str>, _, _) = match reading {
        Some(r) => (r.lines().map(str::trim).collect(), palette::READING, HEADLINE_MAX_HEIGHT),
        None => (vec!["--"], palette::DIM, HINT_MAX_HEIGHT),
    };
    let fit = fit_lines(&lines, area.size, max_height);
    draw_lines(target, &lines, area, fit, colour, Align::Centre)
}

/// "98%" in its confidence colour under a small caption; sized for "100%" so the number
/// does not jump in size as the confidence changes.
fn draw_confidence<D>(target: &mut D, confidence: Option<u8>, layout: &Layout) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb565>,
{
    let area = layout.confidence.offset(-margin(layout.confidence));
    let caption_font = layout.small_font;
    let caption_h = caption_font.character_size.height + 2;
    let caption = Rectangle::new(area.top_left, Size::new(area.size.width, caption_h.min(area.size.height)));
    let caption_text = if area.size.width >= 10 * caption_font.character_size.width { "confidence" } else { "conf" };
    let caption_fit = TextFit { font: caption_font, scale: 1 };
    draw_lines(target, &[caption_text], caption, caption_fit, palette::DIM, Align::Centre)?;

    let value_area = Rectangle::new(
        area.top_left + Point::new(0, caption_h as i32),
        Size::new(area.size.width, area.size.height.saturating_sub(caption_h)),
    );
    let fit = fit_lines(&["100%"], value_area.size, CONFIDENCE_MAX_HEIGHT);
    match confidence {
        Some(pct) => {
            let text = format!("{}%", pct.min(100));
            draw_lines(target, &[text.as_str()], value_area, fit, palette::for_confidence(pct), Align::Centre)
        }
        None => draw_lines(target, &["--"], value_area, fit, palette::DIM, Align::Centre),
    }
}

/// Notice (or the status in words) on the left, fps on the right.
fn draw_status_bar<D>(target: &mut D, state: &ScreenState, layout: &Layout) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb565>,
{
    let bar = layout.status_bar;
    target.fill_solid(&bar, palette::STATUS_BAR)?;
    let fit = TextFit { font: layout.small_font, scale: 1 };
    let char_w = fit.char_size().width;
    let padded = Rectangle::new(bar.top_left + Point::new(3, 0), bar.size.saturating_sub(Size::new(6, 0)));

    let fps = format!("{}.{} fps", state.fps / 10, state.fps % 10);
    draw_lines(target, &[fps.as_str()], padded, fit, palette::STATUS_TEXT, Align::Right)?;

    // The left part gets whatever the fps text leaves, less a gap.
    let left_chars = (padded.size.width / char_w).saturating_sub(fps.len() as u32 + 2) as usize;
    match state.notice.map(str::trim).filter(|n| !n.is_empty()) {
        Some(notice) => {
            let text = truncate(notice.lines().next().unwrap_or(""), left_chars);
            let width = (text.chars().count() as u32 * char_w + 6).min(bar.size.width);
            let banner = Rectangle::new(bar.top_left, Size::new(width, bar.size.height));
            target.fill_solid(&banner, palette::NOTICE_BACKGROUND)?;
            draw_lines(target, &[text.as_str()], padded, fit, palette::NOTICE_TEXT, Align::Left)
        }
        None => {
            let words = match state.status {
                Status::Reading => format!("{} digit{}", state.digits.len(), if state.digits.len() == 1 { "" } else { "s" }),
                Status::NoDigits => "no digits".to_string(),
                Status::CameraLost => "camera lost".to_string(),
                Status::Starting => "starting".to_string(),
            };
            draw_lines(target, &[truncate(&words, left_chars).as_str()], padded, fit, palette::STATUS_TEXT, Align::Left)
        }
    }
}

/// A message wrapped and set as large as fits `area`, centred.
fn draw_message<D>(target: &mut D, message: &str, area: Rectangle, colour: Rgb565, max_char_height: u32) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb565>,
{
    let area = area.offset(-margin(area));
    let (fit, lines) = fit_wrapped(message, area.size, max_char_height);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    draw_lines(target, &lines, area, fit, colour, Align::Centre)
}

/// Full-body messages: the headline in the top three quarters, a hint under it.
fn split_body(body: Rectangle) -> (Rectangle, Rectangle) {
    let hint_h = body.size.height / 4;
    let message = Rectangle::new(body.top_left, Size::new(body.size.width, body.size.height - hint_h));
    let hint = Rectangle::new(body.top_left + Point::new(0, (body.size.height - hint_h) as i32), Size::new(body.size.width, hint_h));
    (message, hint)
}

/// Breathing room inside a region: 4 pixels, less on tiny regions.
fn margin(area: Rectangle) -> i32 { (area.size.width.min(area.size.height) / 16).min(4) as i32 }
