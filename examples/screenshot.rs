//! Draws a sample screen (a synthetic camera frame showing "317") to PNG files, for the
//! README and for eyeballing layout changes.
//!
//! ```text
//! cargo run --example screenshot -- [--state reading|no-digits|camera-lost|starting]
//!     [--notice TEXT] screen-240x240.png [screen-320x240.png [screen-480x320.png]]
//! ```
//! The files are rendered at 240x240, 320x240 and 480x320 in that order.

use std::path::PathBuf;
use std::process::ExitCode;

use digitd::display::png::{encode_png, write_atomically};
use digitd::display::{draw_screen, Canvas565, ScreenState, ShownDigit, Status};
use digitd::frame::OwnedGrey;
use digitd::preprocess::BoundingBox;
use embedded_graphics::geometry::Size;

const SIZES: [(u32, u32); 3] = [(240, 240), (320, 240), (480, 320)];
const USAGE: &str = "usage: screenshot [--state reading|no-digits|camera-lost|starting] [--notice TEXT] OUT_240x240.png [OUT_320x240.png [OUT_480x320.png]]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("screenshot: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut status = Status::Reading;
    let mut notice = None;
    let mut outputs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--state" => {
                status = match args.next().as_deref() {
                    Some("reading") => Status::Reading,
                    Some("no-digits") => Status::NoDigits,
                    Some("camera-lost") => Status::CameraLost,
                    Some("starting") => Status::Starting,
                    other => return Err(format!("unknown state {other:?}\n{USAGE}")),
                }
            }
            "--notice" => notice = Some(args.next().ok_or(USAGE)?),
            "-h" | "--help" => return Err(USAGE.to_string()),
            path => outputs.push(PathBuf::from(path)),
        }
    }
    if outputs.is_empty() || outputs.len() > SIZES.len() {
        return Err(USAGE.to_string());
    }

    let frame = sample_frame();
    let digits = sample_digits();
    let reading = status == Status::Reading;
    let state = ScreenState {
        camera: Some(frame.view()),
        digits: if reading { &digits } else { &[] },
        reading: reading.then_some("317"),
        confidence_pct: reading.then_some(86),
        fps: 148,
        status,
        notice: notice.as_deref(),
    };
    for (path, (w, h)) in outputs.iter().zip(SIZES) {
        let mut canvas = Canvas565::new(Size::new(w, h));
        let Ok(()) = draw_screen(&mut canvas, &state);
        let png = encode_png(&canvas, path).map_err(|e| e.to_string())?;
        write_atomically(path, &png).map_err(|e| e.to_string())?;
        println!("{} ({w}x{h})", path.display());
    }
    Ok(())
}

/// Where the three sample digits sit in the 640x480 frame.
const DIGIT_BOXES: [BoundingBox; 3] = [
    BoundingBox { x: 150, y: 160, w: 96, h: 150 },
    BoundingBox { x: 290, y: 158, w: 50, h: 154 },
    BoundingBox { x: 385, y: 165, w: 100, h: 148 },
];

fn sample_digits() -> [ShownDigit; 3] {
    let conf = [97, 99, 86];
    let digit = [3, 1, 7];
    std::array::from_fn(|i| ShownDigit { bbox: DIGIT_BOXES[i], digit: digit[i], confidence_pct: conf[i] })
}

/// Paper lit from the top left (a soft gradient), with "317" written in a thick dark pen.
fn sample_frame() -> OwnedGrey {
    let (w, h) = (640usize, 480usize);
    let mut frame = OwnedGrey::new(w, h, 0);
    for y in 0..h {
        for x in 0..w {
            // Brighter towards the top left, plus a faint paper texture.
            let light = 215 - (x + y) * 50 / (w + h);
            let grain = (x * 7 + y * 13) % 11;
            frame.data[y * w + x] = (light + grain) as u8;
        }
    }
    let pen = 14.0;
    // "3": two open arcs stacked.
    let b = DIGIT_BOXES[0];
    let (cx, top_cy, bottom_cy) = (b.x as f32 + 46.0, b.y as f32 + 38.0, b.y as f32 + 110.0);
    arc(&mut frame, (cx, top_cy), (40.0, 33.0), -200.0, 90.0, pen);
    arc(&mut frame, (cx, bottom_cy), (44.0, 37.0), -90.0, 200.0, pen);
    // "1": a stem with a small flag.
    let b = DIGIT_BOXES[1];
    let stem_x = b.x as f32 + 32.0;
    line(&mut frame, (stem_x, b.y as f32 + 8.0), (stem_x - 2.0, b.y as f32 + 146.0), pen);
    line(&mut frame, (stem_x, b.y as f32 + 8.0), (stem_x - 24.0, b.y as f32 + 34.0), pen);
    // "7": a bar and a slanted stroke.
    let b = DIGIT_BOXES[2];
    let (x0, y0) = (b.x as f32 + 8.0, b.y as f32 + 10.0);
    line(&mut frame, (x0, y0), (x0 + 84.0, y0 - 2.0), pen);
    line(&mut frame, (x0 + 84.0, y0 - 2.0), (x0 + 30.0, y0 + 136.0), pen);
    frame
}

/// Stamps a round pen of diameter `pen` along the segment.
fn line(frame: &mut OwnedGrey, from: (f32, f32), to: (f32, f32), pen: f32) {
    let steps = ((to.0 - from.0).hypot(to.1 - from.1) / 2.0).ceil().max(1.0) as usize;
    for i in 0..=steps {
        let t = i as f32 / steps as f32;
        dot(frame, from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t, pen / 2.0);
    }
}

/// An elliptical arc from `start` to `end` degrees (0 = right, clockwise as y grows down).
fn arc(frame: &mut OwnedGrey, centre: (f32, f32), radii: (f32, f32), start: f32, end: f32, pen: f32) {
    let steps = 120;
    for i in 0..=steps {
        let a = (start + (end - start) * i as f32 / steps as f32).to_radians();
        dot(frame, centre.0 + radii.0 * a.cos(), centre.1 + radii.1 * a.sin(), pen / 2.0);
    }
}

fn dot(frame: &mut OwnedGrey, cx: f32, cy: f32, r: f32) {
    let (w, h) = (frame.width as i32, frame.height as i32);
    let reach = r.ceil() as i32;
    for y in (cy as i32 - reach).max(0)..(cy as i32 + reach + 1).min(h) {
        for x in (cx as i32 - reach).max(0)..(cx as i32 + reach + 1).min(w) {
            let d = (x as f32 - cx).hypot(y as f32 - cy);
            if d <= r {
                // Ink is dark but not black, like a marker under room light.
                let px = &mut frame.data[y as usize * w as usize + x as usize];
                *px = (*px).min(35 + (d / r * 20.0) as u8);
            }
        }
    }
}
