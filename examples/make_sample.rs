//! Writes the sample material in `assets/sample/`:
//!
//! - `clip.y4m.gz`: 640x480 mono clip at 5 fps: blank paper, then four pages with known
//!   readings, each held for a few frames with slight camera shake and fresh sensor noise, with
//!   blank frames between them;
//! - `readings.json`: which frames show which reading (`[{"first_frame", "last_frame", "text"}]`,
//!   frames counted from 0, inclusive);
//! - `scene-1.png`, `scene-2.jpg`: two stills for `digitd recognize` demos.
//!
//! `cargo run --release --example make_sample -- assets/sample`. Deterministic: the same code
//! and data give the same bytes. Needs the digit data (`DIGITD_DATA_DIR` or `../shared/data`).

use std::error::Error;
use std::path::{Path, PathBuf};

use digitd::frame::OwnedGrey;
use digitd::synth::rng::Rng;
use digitd::synth::{blank_page_with, resolve_data_dir, save_grey, text_scene_with, DigitBank, PageOptions, Y4mWriter};

const WIDTH: usize = 640;
const HEIGHT: usize = 480;
/// Camera shake, px either way: pages are drawn this much larger and cropped.
const SHAKE: usize = 3;
const FRAMES_PER_PAGE: usize = 8;
const BLANK_FRAMES: usize = 3;
/// Per-frame sensor noise. Dense noise makes frames incompressible (sigma 0.35 alone takes the
/// clip to 3.5 MB), so frames get exposure flicker (a gain change, which keeps flat areas flat)
/// and noise on a small share of pixels.
const FLICKER: f32 = 0.015;
const NOISY_PIXELS: f32 = 0.02;
const PIXEL_NOISE: f32 = 2.0;
/// The clip must stay small enough to live in git.
const MAX_CLIP_BYTES: u64 = 1_800_000;
/// Page seeds, picked for variety: ruled paper in a shadow, a whiteboard with glare, marker
/// in two rows, a chalkboard (the last page is always drawn on a board).
const PAGE_SEEDS: [u64; 4] = [9, 1, 17, 109];
const BLANK_SEED: u64 = 900;
/// Seeds of the two stills.
const STILL_SEEDS: [u64; 2] = [14, 16];

#[derive(serde::Serialize)]
struct Reading {
    first_frame: usize,
    last_frame: usize,
    text: String,
}

fn main() -> Result<(), Box<dyn Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "assets/sample".into()));
    std::fs::create_dir_all(&out)?;
    let bank = DigitBank::load_test_sets(&resolve_data_dir(None))?;

    let readings = write_clip(&bank, &out.join("clip.y4m.gz"))?;
    std::fs::write(out.join("readings.json"), serde_json::to_string_pretty(&readings)? + "\n")?;
    write_stills(&bank, &out)?;

    for name in ["clip.y4m.gz", "readings.json", "scene-1.png", "scene-2.jpg"] {
        println!("{:>9} bytes  {}", std::fs::metadata(out.join(name))?.len(), out.join(name).display());
    }
    for r in &readings {
        println!("frames {:>2}-{:>2}: {:?}", r.first_frame, r.last_frame, r.text);
    }
    let clip_size = std::fs::metadata(out.join("clip.y4m.gz"))?.len();
    if clip_size > MAX_CLIP_BYTES {
        return Err(format!("clip is {clip_size} bytes, over the {MAX_CLIP_BYTES} budget: fewer frames or less noise").into());
    }
    Ok(())
}

/// Page options for clip frames: drawn with room for shake, noise added per frame instead.
fn clip_page_options(board: bool) -> PageOptions {
    PageOptions {
        width: WIDTH + 2 * SHAKE,
        height: HEIGHT + 2 * SHAKE,
        min_digits: 2,
        max_digits: 5,
        max_rows: 2,
        board_chance: if board { 1.0 } else { 0.0 },
        // MNIST only: the demo should show the reader working, not the data set's hard cases.
        usps_chance: 0.0,
        sensor_effects: false,
        // Paper grain is the least compressible part of a frame.
        texture: 0.0,
    }
}

fn write_clip(bank: &DigitBank, path: &Path) -> Result<Vec<Reading>, Box<dyn Error>> {
    let mut writer = Y4mWriter::create(path, WIDTH, HEIGHT, (5, 1))?;
    let mut rng = Rng::new(2024);
    let blank = blank_page_with(BLANK_SEED, &clip_page_options(false)).image;
    let mut readings = Vec::new();
    let mut frame_index = 0;
    for (page, &seed) in PAGE_SEEDS.iter().enumerate() {
        for _ in 0..BLANK_FRAMES {
            writer.write_frame(shaken_frame(&mut rng, &blank).view())?;
            frame_index += 1;
        }
        let scene = text_scene_with(bank, seed, &clip_page_options(page == PAGE_SEEDS.len() - 1));
        let first_frame = frame_index;
        for _ in 0..FRAMES_PER_PAGE {
            writer.write_frame(shaken_frame(&mut rng, &scene.image).view())?;
            frame_index += 1;
        }
        readings.push(Reading { first_frame, last_frame: frame_index - 1, text: scene.text });
    }
    for _ in 0..BLANK_FRAMES {
        writer.write_frame(shaken_frame(&mut rng, &blank).view())?;
    }
    writer.finish()?;
    Ok(readings)
}

/// A 640x480 window of `page` moved by a few px (hand shake), with fresh sensor noise.
fn shaken_frame(rng: &mut Rng, page: &OwnedGrey) -> OwnedGrey {
    let dx = rng.int(0, 2 * SHAKE);
    let dy = rng.int(0, 2 * SHAKE);
    let gain = 1.0 + rng.range(-FLICKER, FLICKER);
    let mut frame = OwnedGrey::new(WIDTH, HEIGHT, 0);
    for y in 0..HEIGHT {
        let src = &page.data[(y + dy) * page.width + dx..][..WIDTH];
        for (dst, &v) in frame.data[y * WIDTH..(y + 1) * WIDTH].iter_mut().zip(src) {
            let noise = if rng.chance(NOISY_PIXELS) { PIXEL_NOISE * rng.normal() } else { 0.0 };
            *dst = (v as f32 * gain + noise).round().clamp(0.0, 255.0) as u8;
        }
    }
    frame
}

/// Two stills as a camera would save them: a PNG (one row in a shadow) and a JPEG (two rows).
fn write_stills(bank: &DigitBank, out: &Path) -> Result<(), Box<dyn Error>> {
    let options = PageOptions { min_digits: 3, max_digits: 5, usps_chance: 0.0, board_chance: 0.0, ..PageOptions::default() };
    let first = text_scene_with(bank, STILL_SEEDS[0], &options);
    save_grey(&first.image, &out.join("scene-1.png"), 0)?;
    let second = text_scene_with(bank, STILL_SEEDS[1], &options);
    save_grey(&second.image, &out.join("scene-2.jpg"), 80)?;
    println!("scene-1.png: {:?}\nscene-2.jpg: {:?}", first.text, second.text);
    Ok(())
}
