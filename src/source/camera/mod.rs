//! The live camera source: V4L2 streaming capture with recovery.
//!
//! - [`discover`] finds the ISP node by name (`rkisp_mainpath`), [`format`] picks the pixel
//!   format and turns filled buffers into frames without copying, [`stream`] runs one capture
//!   session on any [`device::VideoDevice`], and [`linux`] (feature `camera`) is the only part
//!   that talks to the kernel.
//! - [`Camera`] is the [`FrameSource`]: it drops the first frames while auto-exposure settles,
//!   and when the device fails (unplugged, EIO, no frames for a while) it closes everything and
//!   reopens with growing waits, reporting [`SourceError::CameraLost`] meanwhile so the daemon
//!   can say so on screen.

pub mod device;
pub mod discover;
pub mod format;
#[cfg(feature = "camera")]
pub mod linux;
pub mod stream;
#[cfg(test)]
mod fake;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use self::device::VideoDevice;
use self::stream::{Stream, StreamError, StreamRequest};
use super::{FrameSource, SourceError};
use crate::frame::RawFrame;

/// Opens the camera device (finding it first if needed).
pub trait Opener {
    type Device: VideoDevice;
    /// The opened device and what it is, for logs ("/dev/video11 (rkisp_mainpath)").
    fn open(&mut self) -> Result<(Self::Device, String), StreamError>;
    /// What this opener looks for, for logs before anything is open.
    fn target(&self) -> String;
}

/// How the camera is run.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraSettings {
    pub request: StreamRequest,
    /// Frames dropped after each (re)open while exposure and white balance settle.
    pub settle_frames: u32,
    /// No frame for this long counts as a failure.
    pub frame_timeout: Duration,
    /// Longest wait between reopen attempts.
    pub max_reopen_interval: Duration,
}

/// Waits between reopen attempts: 250 ms, doubling up to a ceiling.
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_millis(250);

    pub fn new(max: Duration) -> Self { Backoff { next: Self::FIRST.min(max), max } }

    /// The wait before the next attempt; each call doubles the following one.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    pub fn reset(&mut self) { self.next = Self::FIRST.min(self.max); }
}

/// A camera as a frame source.
pub struct Camera<O: Opener> {
    opener: O,
    settings: CameraSettings,
    stream: Option<Stream<O::Device>>,
    /// The open device, for logs.
    opened: Option<String>,
    settle_left: u32,
    backoff: Backoff,
    retry_at: Option<Instant>,
    stop: Option<Arc<AtomicBool>>,
    /// A loss has been reported and no frame has come since.
    lost: bool,
}

impl<O: Opener> Camera<O> {
    /// Nothing is opened until the first frame is asked for.
    pub fn new(opener: O, settings: CameraSettings, stop: Option<Arc<AtomicBool>>) -> Self {
        let backoff = Backoff::new(settings.max_reopen_interval);
        Camera { opener, settings, stream: None, opened: None, settle_left: 0, backoff, retry_at: None, stop, lost: false }
    }

    fn stopped(&self) -> bool { super::stop_requested(self.stop.as_deref()) }

    fn open_stream(&mut self) -> Result<(), StreamError> {
        let (device, what) = self.opener.open()?;
        let stream = Stream::start(device, &self.settings.request)?;
        let f = stream.format();
        log::info!("camera: {what} streaming {} {}x{} (row {} bytes)", f.fourcc, f.width, f.height, f.bytes_per_line);
        self.opened = Some(format!("camera {what}, {} {}x{}", f.fourcc, f.width, f.height));
        self.stream = Some(stream);
        self.settle_left = self.settings.settle_frames;
        Ok(())
    }

    /// Closes the stream after `err` and schedules the next attempt; fatal errors end the run.
    fn fail(&mut self, err: StreamError) -> SourceError {
        self.stream = None; // streams off, unmaps, frees the buffers, closes the device
        let target = self.opened.take().unwrap_or_else(|| self.opener.target());
        if !err.is_transient() {
            return SourceError::Camera(format!("{target}: {err}"));
        }
        let wait = self.backoff.next_wait();
        self.retry_at = Some(Instant::now() + wait);
        let reason = format!("{target}: {err}");
        if self.lost {
            log::debug!("camera still lost ({reason}); next try in {} ms", wait.as_millis());
        } else {
            log::warn!("camera lost ({reason}); reopening, next try in {} ms", wait.as_millis());
        }
        self.lost = true;
        SourceError::CameraLost { reason, retry_in: wait }
    }
}

impl<O: Opener> FrameSource for Camera<O> {
    fn next_frame(&mut self) -> Result<Option<RawFrame<'_>>, SourceError> {
        // The loop only finds which buffer holds the next good frame; the frame itself is
        // borrowed after it (a borrow returned from inside the loop would lock `self` for it).
        let filled = loop {
            if self.stopped() {
                return Ok(None);
            }
            if self.stream.is_none() {
                if let Some(at) = self.retry_at.take() {
                    if !super::sleep_until(at, self.stop.as_deref()) {
                        return Ok(None);
                    }
                }
                if let Err(e) = self.open_stream() {
                    return Err(self.fail(e));
                }
            }
            let stop = self.stop.clone();
            let stopped = move || super::stop_requested(stop.as_deref());
            let Some(stream) = self.stream.as_mut() else { continue };
            match stream.next_filled(self.settings.frame_timeout, &stopped) {
                Ok(None) => return Ok(None),
                Ok(Some(_)) if self.settle_left > 0 => self.settle_left -= 1,
                Ok(Some(filled)) => break filled,
                Err(e) => return Err(self.fail(e)),
            }
        };
        if self.lost {
            log::info!("camera back");
            self.lost = false;
        }
        self.backoff.reset();
        Ok(self.stream.as_ref().map(|stream| stream.frame(filled)))
    }

    fn nominal_fps(&self) -> Option<f32> { self.settings.request.fps.map(|f| f as f32) }

    fn describe(&self) -> String { self.opened.clone().unwrap_or_else(|| format!("camera {}", self.opener.target())) }
}

#[cfg(test)]
mod tests;

/// The camera settings in `cfg`.
pub fn settings(cfg: &crate::config::SourceConfig) -> CameraSettings {
    let c = &cfg.camera;
    CameraSettings {
        request: StreamRequest {
            width: c.width.get(),
            height: c.height.get(),
            fourcc: c.pixel_format.get(),
            fps: cfg.fps.map(|f| f.get().round() as u32).filter(|&f| f > 0),
            buffers: c.buffers.get(),
        },
        settle_frames: c.settle_frames.get(),
        frame_timeout: Duration::from_millis(c.frame_timeout_ms.get().into()),
        max_reopen_interval: Duration::from_millis(c.max_reopen_interval_ms.get().into()),
    }
}

/// Opens a real V4L2 node: `path` if configured, else the one whose sysfs name is `name`.
#[cfg(feature = "camera")]
pub struct LinuxOpener {
    path: Option<std::path::PathBuf>,
    name: String,
}

#[cfg(feature = "camera")]
impl LinuxOpener {
    pub fn new(path: Option<std::path::PathBuf>, name: &str) -> Self { LinuxOpener { path, name: name.to_string() } }
}

#[cfg(feature = "camera")]
impl Opener for LinuxOpener {
    type Device = linux::LinuxDevice;

    fn open(&mut self) -> Result<(linux::LinuxDevice, String), StreamError> {
        let path = match &self.path {
            Some(p) => p.clone(),
            None => discover::find_by_name(std::path::Path::new(discover::SYSFS_VIDEO4LINUX), std::path::Path::new(discover::DEV), &self.name)
                .map_err(|e| StreamError::Device { call: "finding the camera", source: std::io::Error::new(std::io::ErrorKind::NotFound, e) })?,
        };
        let device = linux::LinuxDevice::open(&path)?;
        let what = format!("{} ({}, {}{})", path.display(), device.card, device.driver, if device.is_multi_planar() { ", multi-planar" } else { "" });
        Ok((device, what))
    }

    fn target(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => format!("named {:?}", self.name),
        }
    }
}
