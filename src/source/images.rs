//! Still images (PNG, JPEG, BMP, TIFF, WebP, PGM/PPM) as frames: a list of files, or a folder sorted by name.

use std::path::{Path, PathBuf};

use image::{ImageReader, Limits};

use super::{FrameSource, SourceError};
use crate::frame::{OwnedGrey, PixelFormat, RawFrame, MAX_SIDE};

/// File extensions read from a folder.
#[cfg(feature = "photo-formats")]
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "pgm", "ppm", "pnm", "pbm", "pam"];
#[cfg(not(feature = "photo-formats"))]
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "pgm", "ppm", "pnm", "pbm", "pam"];
/// The formats this build decodes, for messages.
const FORMATS: &str = if cfg!(feature = "photo-formats") { "PNG, JPEG, BMP, TIFF, WebP or PNM" } else { "PNG, JPEG or PNM" };

/// Whether `path` has one of the image extensions we read.
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Decodes an image file into its grey (luma) version.
pub fn load_grey(path: &Path) -> Result<OwnedGrey, SourceError> {
    let mut out = OwnedGrey::new(0, 0, 0);
    load_grey_into(path, &mut out)?;
    Ok(out)
}

/// Like [`load_grey`], reusing `out`'s buffer.
pub fn load_grey_into(path: &Path, out: &mut OwnedGrey) -> Result<(), SourceError> {
    let decode_err = |reason: String| SourceError::Decode { path: path.to_path_buf(), reason };
    let mut reader = ImageReader::open(path)
        .map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?
        .with_guessed_format()
        .map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE as u32);
    limits.max_image_height = Some(MAX_SIDE as u32);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    match reader.format() {
        Some(format) if format.reading_enabled() => {}
        Some(format) => return Err(decode_err(format!("{format:?} pictures are not supported (only {FORMATS})"))),
        None => return Err(decode_err(format!("its format is not {FORMATS}"))),
    }
    let img = reader.decode().map_err(|e| decode_err(e.to_string()))?;
    let grey = img.into_luma8();
    out.width = grey.width() as usize;
    out.height = grey.height() as usize;
    out.data = grey.into_raw();
    Ok(())
}

/// Image files played one after the other as frames.
#[derive(Debug)]
pub struct ImageFiles {
    files: Vec<PathBuf>,
    next: usize,
    looping: bool,
    current: OwnedGrey,
    what: String,
}

impl ImageFiles {
    /// The given files, in the given order.
    pub fn new(files: Vec<PathBuf>, looping: bool) -> Result<ImageFiles, SourceError> {
        if files.is_empty() {
            return Err(SourceError::Unsupported("no image files were given".into()));
        }
        let what = match files.as_slice() {
            [one] => format!("image {}", one.display()),
            many => format!("{} images", many.len()),
        };
        Ok(ImageFiles { files, next: 0, looping, current: OwnedGrey::new(0, 0, 0), what })
    }

    /// The images of `dir` (by extension), sorted by file name.
    pub fn folder(dir: &Path, looping: bool) -> Result<ImageFiles, SourceError> {
        let io_err = |source| SourceError::Io { path: dir.to_path_buf(), source };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_err)? {
            let path = entry.map_err(io_err)?.path();
            if path.is_file() && is_image_path(&path) {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(SourceError::Empty { path: dir.to_path_buf() });
        }
        files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        let mut source = ImageFiles::new(files, looping)?;
        source.what = format!("folder {} ({} images)", dir.display(), source.files.len());
        Ok(source)
    }

    pub fn files(&self) -> &[PathBuf] { &self.files }
}

impl FrameSource for ImageFiles {
    fn next_frame(&mut self) -> Result<Option<RawFrame<'_>>, SourceError> {
        if self.next >= self.files.len() {
            if !self.looping {
                return Ok(None);
            }
            self.next = 0;
        }
        let path = &self.files[self.next];
        self.next += 1;
        load_grey_into(path, &mut self.current)?;
        let g = &self.current;
        Ok(Some(RawFrame { format: PixelFormat::Grey, width: g.width, height: g.height, stride: g.width, data: &g.data }))
    }

    fn nominal_fps(&self) -> Option<f32> { None }

    fn describe(&self) -> String { self.what.clone() }
}
