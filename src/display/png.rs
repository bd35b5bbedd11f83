//! `PngDisplay`: the PC stand-in for the panel. Each screen becomes `latest.png` in an
//! output folder (an image viewer that reloads it shows a live screen), and optionally
//! also a numbered `frame-000001.png` sequence.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::*;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};

use super::canvas::{Canvas565, MAX_CANVAS_SIDE};
use super::{draw_screen, Display, DisplayError, ScreenState, DEFAULT_SIZE};

/// Name of the always-current picture in the output folder.
pub const LATEST_NAME: &str = "latest.png";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PngOptions {
    /// Screen size to render at.
    pub size: Size,
    /// Also keep every screen as `frame-NNNNNN.png` (numbered from 1).
    pub keep_every_frame: bool,
}

impl Default for PngOptions {
    fn default() -> Self { Self { size: DEFAULT_SIZE, keep_every_frame: false } }
}

#[derive(Debug)]
pub struct PngDisplay {
    dir: PathBuf,
    options: PngOptions,
    canvas: Canvas565,
    frames_written: u64,
}

impl PngDisplay {
    /// Creates `dir` if needed. Sizes must be 1..=4096 on each side.
    pub fn new(dir: impl Into<PathBuf>, options: PngOptions) -> Result<Self, DisplayError> {
        let dir = dir.into();
        let Size { width, height } = options.size;
        if width == 0 || height == 0 || width > MAX_CANVAS_SIDE || height > MAX_CANVAS_SIDE {
            return Err(DisplayError::BadSize { width, height, reason: "each side must be 1 to 4096 pixels" });
        }
        fs::create_dir_all(&dir).map_err(|source| DisplayError::Io { path: dir.clone(), source })?;
        Ok(Self { dir, options, canvas: Canvas565::new(options.size), frames_written: 0 })
    }

    /// Where the current screen is written.
    pub fn latest_path(&self) -> PathBuf { self.dir.join(LATEST_NAME) }

    /// Path of numbered frame `n` (1-based).
    pub fn frame_path(&self, n: u64) -> PathBuf { self.dir.join(format!("frame-{n:06}.png")) }

    /// The last rendered screen.
    pub fn canvas(&self) -> &Canvas565 { &self.canvas }

    /// Screens written so far (including cleared ones).
    pub fn frames_written(&self) -> u64 { self.frames_written }

    fn write_canvas(&mut self) -> Result<(), DisplayError> {
        let latest = self.latest_path();
        let png = encode_png(&self.canvas, &latest)?;
        self.frames_written += 1;
        if self.options.keep_every_frame {
            write_atomically(&self.frame_path(self.frames_written), &png)?;
        }
        write_atomically(&latest, &png)
    }
}

impl Display for PngDisplay {
    fn show(&mut self, state: &ScreenState) -> Result<(), DisplayError> {
        let Ok(()) = draw_screen(&mut self.canvas, state);
        self.write_canvas()
    }

    fn clear(&mut self) -> Result<(), DisplayError> {
        let Ok(()) = self.canvas.clear(Rgb565::BLACK);
        self.write_canvas()
    }

    fn size(&self) -> Size { self.options.size }
}

/// The canvas as PNG bytes. Fast compression: this runs every frame, and the flat colours
/// of a screen compress well anyway.
pub fn encode_png(canvas: &Canvas565, path_for_errors: &Path) -> Result<Vec<u8>, DisplayError> {
    let mut png = Vec::new();
    PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Adaptive)
        .write_image(&canvas.to_rgb8(), canvas.width(), canvas.height(), ExtendedColorType::Rgb8)
        .map_err(|source| DisplayError::Encode { path: path_for_errors.to_path_buf(), source })?;
    Ok(png)
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`, so a
/// viewer reading `path` sees the old picture or the new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), DisplayError> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let tmp_error = |source| DisplayError::Io { path: tmp.clone(), source };
    let mut file = fs::File::create(&tmp).map_err(tmp_error)?;
    file.write_all(bytes).map_err(tmp_error)?;
    drop(file);
    fs::rename(&tmp, path).map_err(|source| {
        // Best effort: do not leave a stray temporary behind; the rename error is the news.
        let _ = fs::remove_file(&tmp);
        DisplayError::Io { path: path.to_path_buf(), source }
    })
}
