//! Whole-screen tests: draw each state into a canvas and look at the pixels.

use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

use super::camera_view::CameraView;
use super::*;
use crate::frame::{GreyImage, OwnedGrey};
use crate::preprocess::BoundingBox;

const SIZES: [(u32, u32); 3] = [(240, 240), (320, 240), (480, 320)];

/// A 640x480 mid-grey frame with a horizontal brightness ramp, so scaled pixels are
/// recognisably "from the frame".
fn ramp_frame() -> OwnedGrey {
    let mut f = OwnedGrey::new(640, 480, 0);
    for (i, px) in f.data.iter_mut().enumerate() {
        *px = 64 + ((i % 640) * 128 / 640) as u8;
    }
    f
}

fn digits() -> [ShownDigit; 3] {
    [
        ShownDigit { bbox: BoundingBox { x: 100, y: 150, w: 90, h: 150 }, digit: 3, confidence_pct: 97 },
        ShownDigit { bbox: BoundingBox { x: 270, y: 150, w: 90, h: 150 }, digit: 1, confidence_pct: 80 },
        ShownDigit { bbox: BoundingBox { x: 440, y: 150, w: 90, h: 150 }, digit: 7, confidence_pct: 40 },
    ]
}

fn reading_state<'a>(frame: &'a OwnedGrey, digits: &'a [ShownDigit]) -> ScreenState<'a> {
    ScreenState {
        camera: Some(frame.view()),
        digits,
        reading: Some("317"),
        confidence_pct: Some(40),
        fps: 125,
        status: Status::Reading,
        notice: None,
    }
}

fn render(size: (u32, u32), state: &ScreenState) -> Canvas565 {
    let mut canvas = Canvas565::new(Size::new(size.0, size.1));
    let Ok(()) = draw_screen(&mut canvas, state);
    canvas
}

fn count(canvas: &Canvas565, area: Rectangle, wanted: impl Fn(Rgb565) -> bool) -> usize {
    area.points().filter_map(|p| canvas.pixel(p)).filter(|&c| wanted(c)).count()
}

fn is_grey(c: Rgb565) -> bool { c.r() == c.b() && (c.g() >> 1) == c.r() }

#[test]
fn camera_region_shows_the_frame_in_grey() {
    let frame = ramp_frame();
    for size in SIZES {
        let canvas = render(size, &reading_state(&frame, &[]));
        let layout = Layout::for_size(Size::new(size.0, size.1));
        let view = CameraView::fit(640, 480, layout.camera).unwrap();
        // Ramp runs 64..192 left to right: grey, never black, and brighter on the right.
        let y = view.image.center().y;
        let left = canvas.pixel(Point::new(view.image.top_left.x, y)).unwrap();
        let right = canvas.pixel(Point::new(view.image.top_left.x + view.image.size.width as i32 - 1, y)).unwrap();
        assert!(is_grey(left) && is_grey(right), "{size:?}: {left:?} {right:?}");
        assert!(left.g() >= 64 >> 2 && right.g() > left.g(), "{size:?}: {left:?} {right:?}");
        let grey_pixels = count(&canvas, view.image, |c| is_grey(c) && c != Rgb565::BLACK);
        assert_eq!(grey_pixels as u32, view.image.size.width * view.image.size.height, "{size:?}");
    }
}

#[test]
fn digit_boxes_are_drawn_around_the_scaled_boxes() {
    let frame = ramp_frame();
    let digits = digits();
    for size in SIZES {
        let canvas = render(size, &reading_state(&frame, &digits));
        let layout = Layout::for_size(Size::new(size.0, size.1));
        let view = CameraView::fit(640, 480, layout.camera).unwrap();
        for d in &digits {
            let inner = view.map_box(&d.bbox).unwrap();
            let ring = inner.offset(1);
            let colour = palette::for_confidence(d.confidence_pct);
            // The left edge, below any label, is solid box colour just outside the box.
            let left_edge = Rectangle::new(ring.top_left + Point::new(0, 12), Size::new(1, ring.size.height - 14));
            assert_eq!(count(&canvas, left_edge, |c| c == colour), left_edge.size.height as usize, "{size:?} {d:?}");
            // The box does not paint over the digit itself.
            let centre = canvas.pixel(inner.center()).unwrap();
            assert!(is_grey(centre), "{size:?}: centre {centre:?}");
        }
    }
}

#[test]
fn reading_and_confidence_regions_are_drawn() {
    let frame = ramp_frame();
    let digits = digits();
    for size in SIZES {
        let canvas = render(size, &reading_state(&frame, &digits));
        let layout = Layout::for_size(Size::new(size.0, size.1));
        let white = count(&canvas, layout.reading, |c| c == palette::READING);
        assert!(white > 300, "{size:?}: only {white} reading pixels");
        let red = count(&canvas, layout.confidence, |c| c == palette::for_confidence(40));
        assert!(red > 40, "{size:?}: only {red} confidence pixels");
        let bar = count(&canvas, layout.status_bar, |c| c == palette::STATUS_TEXT);
        assert!(bar > 20, "{size:?}: status bar text missing");
    }
}

#[test]
fn bigger_panels_get_bigger_reading_type() {
    let frame = ramp_frame();
    let heights: Vec<i32> = SIZES
        .iter()
        .map(|&size| {
            let canvas = render(size, &reading_state(&frame, &[]));
            let layout = Layout::for_size(Size::new(size.0, size.1));
            let rows: Vec<i32> = layout.reading.points().filter(|&p| canvas.pixel(p) == Some(palette::READING)).map(|p| p.y).collect();
            rows.iter().max().unwrap() - rows.iter().min().unwrap()
        })
        .collect();
    // Digits in the 10x20 font are 13 pixels tall: 3x enlarged on the 240x240 panel.
    assert!(heights[0] >= 36, "240x240 reading is only {} px tall", heights[0]);
    assert!(heights[2] > heights[0], "{heights:?}");
}

#[test]
fn each_status_looks_different() {
    let frame = ramp_frame();
    let digits = digits();
    let reading = reading_state(&frame, &digits);
    for size in SIZES {
        let screens: Vec<Canvas565> = [Status::Reading, Status::NoDigits, Status::CameraLost, Status::Starting]
            .into_iter()
            .map(|status| render(size, &ScreenState { status, ..reading }))
            .collect();
        for (i, a) in screens.iter().enumerate() {
            for b in &screens[i + 1..] {
                assert!(a.changed_since(b).is_some(), "{size:?}: two statuses draw the same screen");
            }
        }
        let layout = Layout::for_size(Size::new(size.0, size.1));
        let prompt = count(&screens[1], layout.panel(), |c| c == palette::PROMPT);
        assert!(prompt > 300, "{size:?}: 'point me at a number' is missing");
        let lost_body = count(&screens[2], layout.body(), |c| c == palette::LOST_BACKGROUND);
        assert!(lost_body as u32 > layout.body().size.width * layout.body().size.height / 2, "{size:?}");
        assert!(count(&screens[2], layout.body(), |c| c == palette::LOST_TEXT) > 300);
        // Camera lost shows no camera picture (its white text is grey too, so skip that).
        let frame_pixels = count(&screens[2], layout.camera, |c| is_grey(c) && c.g() > 8 && c != palette::LOST_TEXT);
        assert_eq!(frame_pixels, 0, "{size:?}");
    }
}

#[test]
fn notice_is_a_banner_in_the_status_bar() {
    let frame = ramp_frame();
    let state = ScreenState { notice: Some("NPU missing: CPU fallback"), ..reading_state(&frame, &[]) };
    for size in SIZES {
        let canvas = render(size, &state);
        let layout = Layout::for_size(Size::new(size.0, size.1));
        let amber = count(&canvas, layout.status_bar, |c| c == palette::NOTICE_BACKGROUND);
        assert!(amber > 500, "{size:?}: only {amber} banner pixels");
        assert_eq!(count(&canvas, layout.body(), |c| c == palette::NOTICE_BACKGROUND), 0);
    }
}

#[test]
fn missing_camera_draws_a_placeholder() {
    let state = ScreenState { camera: None, status: Status::Reading, reading: Some("42"), ..Default::default() };
    let canvas = render((240, 240), &state);
    let layout = Layout::for_size(Size::new(240, 240));
    assert!(count(&canvas, layout.camera, |c| c == palette::NO_IMAGE) > 10_000);
}

#[test]
fn odd_inputs_do_not_panic() {
    let one = OwnedGrey::new(1, 1, 200);
    let empty: [u8; 0] = [];
    let zero = GreyImage::packed(0, 0, &empty).unwrap();
    let wide_zero = GreyImage::packed(5, 0, &empty).unwrap();
    let strided = [9u8; 40];
    let strided = GreyImage::new(3, 4, 10, &strided).unwrap();
    let crazy_boxes = [
        ShownDigit { bbox: BoundingBox { x: u32::MAX, y: u32::MAX, w: u32::MAX, h: u32::MAX }, digit: 255, confidence_pct: 255 },
        ShownDigit { bbox: BoundingBox { x: 0, y: 0, w: u32::MAX, h: u32::MAX }, digit: 9, confidence_pct: 0 },
        ShownDigit { bbox: BoundingBox { x: 0, y: 0, w: 0, h: 0 }, digit: 0, confidence_pct: 100 },
    ];
    let long_text = "8".repeat(10_000);
    let many_rows = "1\n".repeat(5_000);
    let cameras = [Some(one.view()), Some(zero), Some(wide_zero), Some(strided), None];
    let readings = [None, Some(""), Some("\n\n"), Some(long_text.as_str()), Some(many_rows.as_str()), Some("é∑ 12")];
    let sizes = [(240, 240), (1, 1), (0, 0), (7, 300), (300, 7), (128, 128), (4096, 8)];
    for size in sizes {
        for camera in cameras {
            for reading in readings {
                for status in [Status::Reading, Status::NoDigits, Status::CameraLost, Status::Starting] {
                    let state = ScreenState {
                        camera,
                        digits: &crazy_boxes,
                        reading,
                        confidence_pct: Some(255),
                        fps: u32::MAX,
                        status,
                        notice: reading,
                    };
                    render(size, &state);
                }
            }
        }
    }
}

#[test]
fn draws_into_an_offset_sub_area() {
    // A cropped target (e.g. half a larger panel) starts at a non-zero origin.
    let frame = ramp_frame();
    let mut canvas = Canvas565::new(Size::new(480, 240));
    let right_half = Rectangle::new(Point::new(240, 0), Size::new(240, 240));
    let Ok(()) = draw_screen(&mut canvas.cropped(&right_half), &reading_state(&frame, &[]));
    assert_eq!(count(&canvas, Rectangle::new(Point::zero(), Size::new(240, 240)), |c| c != Rgb565::BLACK), 0);
    assert!(count(&canvas, right_half, |c| c == palette::READING) > 300);
}

#[test]
fn png_display_writes_a_decodable_latest_png_and_numbered_frames() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("screens");
    let frame = ramp_frame();
    let options = PngOptions { size: Size::new(320, 240), keep_every_frame: true };
    let mut display = PngDisplay::new(&out, options).unwrap();
    assert_eq!(display.size(), Size::new(320, 240));
    display.show(&reading_state(&frame, &[])).unwrap();
    display.show(&ScreenState { status: Status::NoDigits, ..reading_state(&frame, &[]) }).unwrap();

    let latest = image::open(display.latest_path()).unwrap().to_rgb8();
    assert_eq!(latest.dimensions(), (320, 240));
    let expected = display.canvas().to_rgb8();
    assert_eq!(latest.as_raw(), &expected);
    assert!(latest.pixels().any(|p| p.0 == [255, 255, 0]), "yellow prompt expected in latest.png");

    let first = image::open(out.join("frame-000001.png")).unwrap().to_rgb8();
    assert!(first.pixels().any(|p| p.0 == [255, 255, 255]), "frame 1 shows the white reading");
    assert!(out.join("frame-000002.png").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&out).unwrap().filter_map(|e| e.ok()).filter(|e| e.path().extension().is_some_and(|x| x == "tmp")).collect();
    assert!(leftovers.is_empty(), "temporary files left behind");

    display.clear().unwrap();
    let cleared = image::open(display.latest_path()).unwrap().to_rgb8();
    assert!(cleared.pixels().all(|p| p.0 == [0, 0, 0]));
}

#[test]
fn png_display_reports_bad_sizes_and_paths() {
    let dir = tempfile::tempdir().unwrap();
    let zero = PngDisplay::new(dir.path(), PngOptions { size: Size::new(0, 240), ..Default::default() });
    assert!(matches!(zero, Err(DisplayError::BadSize { .. })));

    // A file where the output folder should be: the error names the path.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let err = PngDisplay::new(blocker.join("sub"), PngOptions::default()).unwrap_err();
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

#[test]
fn null_display_counts_and_optionally_renders() {
    let mut quiet = NullDisplay::default();
    quiet.show(&ScreenState::default()).unwrap();
    assert_eq!((quiet.shown(), quiet.size()), (1, DEFAULT_SIZE));
    assert!(quiet.canvas().is_none());

    let mut rendering = NullDisplay::rendering(Size::new(320, 240));
    rendering.show(&ScreenState::default()).unwrap();
    let canvas = rendering.canvas().unwrap();
    assert!(canvas.pixels().contains(&palette::STARTING));
    rendering.clear().unwrap();
    assert!(rendering.canvas().unwrap().pixels().iter().all(|&c| c == Rgb565::BLACK));
}
