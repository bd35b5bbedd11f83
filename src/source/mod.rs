//! Frame sources: where camera frames come from.
//!
//! One trait, [`FrameSource`], whose frames borrow the source's own buffer (a file buffer now,
//! a V4L2 mmap buffer on the board) so no frame is copied on its way to preprocessing.
//! PC sources: image files ([`ImageFiles`]), a folder of images, a Y4M clip ([`Y4mClip`],
//! optionally gzip-compressed). [`Paced`] replays any of them at a set frame rate.
//! The board's source: a live V4L2 camera ([`camera::Camera`], feature `camera`).

pub mod camera;
pub mod images;
pub mod pace;
pub mod y4m;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use thiserror::Error;

use crate::config::{SourceConfig, SourceKind};
use crate::frame::RawFrame;

pub use images::{is_image_path, load_grey, ImageFiles};
pub use pace::Paced;
pub use y4m::{Y4mClip, Y4mHeader};

#[derive(Debug, Error)]
pub enum SourceError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a readable image: {reason}")]
    Decode { path: PathBuf, reason: String },
    #[error("{path} is not a valid Y4M clip: {reason}")]
    BadClip { path: PathBuf, reason: String },
    #[error("{path} ends in the middle of frame {frame}")]
    Truncated { path: PathBuf, frame: u64 },
    #[error("{path} has no images")]
    Empty { path: PathBuf },
    #[error("{0}")]
    Unsupported(String),
    /// The camera failed or is absent; the source keeps trying to reopen it.
    #[error("camera lost: {reason}; retrying in {} ms", retry_in.as_millis())]
    CameraLost { reason: String, retry_in: std::time::Duration },
    /// The camera cannot be used as configured (not a capture device, no usable format).
    #[error("camera unusable: {0}")]
    Camera(String),
}

/// Whether `stop` (the daemon's signal flag, if any) asks sources to finish.
pub(crate) fn stop_requested(stop: Option<&AtomicBool>) -> bool { stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed)) }

/// Sleeps until `deadline` in slices of at most 50 ms so a stop request is noticed promptly;
/// false if a stop request cut the wait short.
pub(crate) fn sleep_until(deadline: std::time::Instant, stop: Option<&AtomicBool>) -> bool {
    const SLICE: std::time::Duration = std::time::Duration::from_millis(50);
    loop {
        if stop_requested(stop) {
            return false;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(SLICE));
    }
}

/// A stream of camera frames.
pub trait FrameSource {
    /// The next frame, borrowing the source's buffer until the next call; `None` at the end
    /// of the stream.
    fn next_frame(&mut self) -> Result<Option<RawFrame<'_>>, SourceError>;
    /// The rate the source was recorded or runs at, if it has one.
    fn nominal_fps(&self) -> Option<f32>;
    /// What this source reads, for logs.
    fn describe(&self) -> String;
}

impl<S: FrameSource + ?Sized> FrameSource for Box<S> {
    fn next_frame(&mut self) -> Result<Option<RawFrame<'_>>, SourceError> { (**self).next_frame() }
    fn nominal_fps(&self) -> Option<f32> { (**self).nominal_fps() }
    fn describe(&self) -> String { (**self).describe() }
}

/// Opens the source described by `cfg` (paths already resolved), paced at `cfg.fps` or the
/// source's own rate. `stop` cuts pacing sleeps short so that a signal is handled promptly.
pub fn open(cfg: &SourceConfig, default_path: &Path, stop: Option<Arc<AtomicBool>>) -> Result<Box<dyn FrameSource>, SourceError> {
    if cfg.kind == SourceKind::Camera {
        // The camera paces itself.
        return open_camera(cfg, stop);
    }
    let path = cfg.path.clone().unwrap_or_else(|| default_path.to_path_buf());
    let inner: Box<dyn FrameSource> = match resolve_kind(cfg.kind, &path, &cfg.files) {
        SourceKind::Clip => Box::new(Y4mClip::open(&path, cfg.looping)?),
        SourceKind::Folder => Box::new(ImageFiles::folder(&path, cfg.looping)?),
        SourceKind::Camera => unreachable!("handled above"),
        SourceKind::Images | SourceKind::Auto => {
            let files = if cfg.files.is_empty() { vec![path] } else { cfg.files.clone() };
            Box::new(ImageFiles::new(files, cfg.looping)?)
        }
    };
    let fps = match cfg.fps {
        Some(f) => f.get(),
        None => inner.nominal_fps().unwrap_or(0.0),
    };
    Ok(Box::new(Paced::new(inner, fps, stop)))
}

/// The V4L2 camera named by `cfg` (`path`, or found by `camera.name`). Nothing is opened yet:
/// a missing camera shows as "camera lost" while the daemon keeps trying.
#[cfg(feature = "camera")]
fn open_camera(cfg: &SourceConfig, stop: Option<Arc<AtomicBool>>) -> Result<Box<dyn FrameSource>, SourceError> {
    Ok(Box::new(camera::Camera::new(camera::LinuxOpener::new(cfg.path.clone(), &cfg.camera.name), camera::settings(cfg), stop)))
}

#[cfg(not(feature = "camera"))]
fn open_camera(_: &SourceConfig, _: Option<Arc<AtomicBool>>) -> Result<Box<dyn FrameSource>, SourceError> {
    Err(SourceError::Unsupported(
        "this digitd was built without camera support: rebuild with `--features camera` (needs libclang), or read a clip or images".into(),
    ))
}

/// `Auto` decided from the path: a folder, a Y4M clip, or image files.
pub fn resolve_kind(kind: SourceKind, path: &Path, files: &[PathBuf]) -> SourceKind {
    if kind != SourceKind::Auto {
        return kind;
    }
    if !files.is_empty() {
        SourceKind::Images
    } else if path.is_dir() {
        SourceKind::Folder
    } else if is_y4m_path(path) {
        SourceKind::Clip
    } else {
        SourceKind::Images
    }
}

/// `.y4m` or `.y4m.gz`.
pub fn is_y4m_path(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
    name.ends_with(".y4m") || name.ends_with(".y4m.gz")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_guessed_from_paths() {
        let dir = std::env::temp_dir();
        assert_eq!(resolve_kind(SourceKind::Auto, &dir, &[]), SourceKind::Folder);
        assert_eq!(resolve_kind(SourceKind::Auto, Path::new("a/clip.Y4M.gz"), &[]), SourceKind::Clip);
        assert_eq!(resolve_kind(SourceKind::Auto, Path::new("a/clip.y4m"), &[]), SourceKind::Clip);
        assert_eq!(resolve_kind(SourceKind::Auto, Path::new("a/x.png"), &[]), SourceKind::Images);
        assert_eq!(resolve_kind(SourceKind::Clip, Path::new("a/x.png"), &[]), SourceKind::Clip);
        assert_eq!(resolve_kind(SourceKind::Auto, &dir, &[PathBuf::from("x.png")]), SourceKind::Images);
    }
}
