//! Synthetic test material: camera-like pictures of handwritten digits with known readings,
//! built from held-out real handwriting, and clips of them.
//!
//! Test tooling, not firmware: floats and allocation are fine here. Everything is
//! deterministic from a seed so a failing scene can be regenerated and looked at.

pub mod ambiguity;
pub mod camera;
pub mod cli_run;
pub mod clip;
pub mod data;
pub mod ink;
pub mod page;
pub mod paper;
pub mod raster;
pub mod rng;

use std::path::Path;

pub use clip::Y4mWriter;
pub use data::{resolve_data_dir, verify_checksums, DataError, DigitBank, DigitRef, DigitSet};
pub use page::{blank_page, blank_page_with, single_digit_page, text_scene, text_scene_with, PageOptions, Scene};

use crate::frame::OwnedGrey;

/// Writes a grey image; the format follows the extension (`.jpg`/`.jpeg` at `jpeg_quality`,
/// otherwise PNG/PGM as `image` infers it).
pub fn save_grey(image: &OwnedGrey, path: &Path, jpeg_quality: u8) -> Result<(), image::ImageError> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if matches!(ext.as_deref(), Some("jpg" | "jpeg")) {
        let bytes = camera::encode_jpeg(image, jpeg_quality)?;
        return std::fs::write(path, bytes).map_err(image::ImageError::IoError);
    }
    image::save_buffer(path, &image.data, image.width as u32, image.height as u32, image::ExtendedColorType::L8)
}
