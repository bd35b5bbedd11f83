//! Streaming capture on any [`VideoDevice`]: negotiate, map, queue, stream, and on the way
//! out always stream off, unmap and free the buffers, so the next open finds the camera idle.

use std::io;
use std::time::{Duration, Instant};

use super::device::{Filled, VideoDevice};
use super::format::{self, FourCc, Negotiated};
use crate::frame::RawFrame;

/// What to ask the camera for.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamRequest {
    pub width: u32,
    pub height: u32,
    /// A specific format, or the best one offered.
    pub fourcc: Option<FourCc>,
    /// Requested frame rate (None: the driver's default).
    pub fps: Option<u32>,
    pub buffers: u32,
}

/// Why a stream could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// A call to the device failed (unplugged, I/O error, ...): worth reopening.
    #[error("{call} failed: {source}")]
    Device { call: &'static str, source: io::Error },
    /// No frame within the timeout: worth reopening.
    #[error("no frame for {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The device cannot do what is asked (format, size): reopening will not help.
    #[error("{0}")]
    Unusable(String),
}

impl StreamError {
    /// Whether reopening the device may help.
    pub fn is_transient(&self) -> bool { !matches!(self, StreamError::Unusable(_)) }
}

fn call(call: &'static str) -> impl FnOnce(io::Error) -> StreamError { move |source| StreamError::Device { call, source } }

/// Largest single wait on the device, so a stop request is noticed promptly.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// A running capture. Frames borrow its mapped buffers.
pub struct Stream<D: VideoDevice> {
    // Declared before `device` only for readability: `Drop` releases everything explicitly.
    buffers: Vec<D::Mapping>,
    device: D,
    format: Negotiated,
    /// The buffer lent out with the last frame; queued again at the next call.
    lent: Option<u32>,
    /// Buffers were requested from the driver (freed again with REQBUFS 0 on drop).
    requested: bool,
    streaming: bool,
}

impl<D: VideoDevice> Stream<D> {
    /// Negotiates the format, maps and queues the buffers and starts streaming.
    pub fn start(device: D, req: &StreamRequest) -> Result<Self, StreamError> {
        let mut stream = Stream {
            buffers: Vec::new(),
            device,
            format: Negotiated { fourcc: FourCc::GREY, width: 0, height: 0, bytes_per_line: 0 },
            lent: None,
            requested: false,
            streaming: false,
        };
        // From here on `stream`'s Drop undoes whatever was done if a step fails.
        let offered = stream.device.formats().map_err(call("VIDIOC_ENUM_FMT"))?;
        let fourcc = format::choose(&offered, req.fourcc).map_err(StreamError::Unusable)?;
        let negotiated = stream.device.set_format(fourcc, req.width, req.height).map_err(call("VIDIOC_S_FMT"))?;
        negotiated.validate(fourcc).map_err(StreamError::Unusable)?;
        if (negotiated.width, negotiated.height) != (req.width, req.height) {
            log::warn!("camera: asked for {}x{}, the driver gives {}x{}", req.width, req.height, negotiated.width, negotiated.height);
        }
        stream.format = negotiated;
        if let Some(fps) = req.fps {
            if let Err(e) = stream.device.set_frame_rate(fps) {
                log::warn!("camera: cannot set {fps} fps ({e}); using the driver's rate");
            }
        }
        let count = stream.device.request_buffers(req.buffers.max(2)).map_err(call("VIDIOC_REQBUFS"))?;
        stream.requested = true;
        if count < 2 {
            return Err(StreamError::Unusable(format!("the driver gave {count} capture buffers; streaming needs at least 2")));
        }
        for index in 0..count {
            let mapping = stream.device.map_buffer(index).map_err(call("mmap"))?;
            let needed = negotiated.bytes_per_line as usize * negotiated.height as usize;
            if mapping.as_ref().len() < needed {
                return Err(StreamError::Unusable(format!(
                    "buffer {index} holds {} bytes, a {}x{} {} frame needs {needed}",
                    mapping.as_ref().len(),
                    negotiated.width,
                    negotiated.height,
                    negotiated.fourcc
                )));
            }
            stream.buffers.push(mapping);
        }
        for index in 0..count {
            stream.device.queue(index).map_err(call("VIDIOC_QBUF"))?;
        }
        stream.device.set_streaming(true).map_err(call("VIDIOC_STREAMON"))?;
        stream.streaming = true;
        Ok(stream)
    }

    pub fn format(&self) -> Negotiated { self.format }

    /// Waits for the next good frame (up to `timeout`, giving up early if `stop()` says so) and
    /// returns which buffer holds it; `None` if stopped. The previous frame's buffer goes back
    /// to the driver first.
    pub fn next_filled(&mut self, timeout: Duration, stop: &dyn Fn() -> bool) -> Result<Option<Filled>, StreamError> {
        if let Some(index) = self.lent.take() {
            self.device.queue(index).map_err(call("VIDIOC_QBUF"))?;
        }
        let deadline = Instant::now() + timeout;
        loop {
            if stop() {
                return Ok(None);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StreamError::Timeout(timeout));
            }
            let Some(filled) = self.device.dequeue(WAIT_SLICE.min(deadline - now)).map_err(call("VIDIOC_DQBUF"))? else { continue };
            if filled.index as usize >= self.buffers.len() {
                return Err(StreamError::Device {
                    call: "VIDIOC_DQBUF",
                    source: io::Error::other(format!("the driver returned buffer {} of {}", filled.index, self.buffers.len())),
                });
            }
            if filled.damaged {
                log::debug!("camera: driver flagged buffer {} as damaged; skipped", filled.index);
                self.device.queue(filled.index).map_err(call("VIDIOC_QBUF"))?;
                continue;
            }
            self.lent = Some(filled.index);
            return Ok(Some(filled));
        }
    }

    /// The frame in a buffer from [`Self::next_filled`], borrowed in place.
    pub fn frame(&self, filled: Filled) -> RawFrame<'_> {
        let plane = self.buffers[filled.index as usize].as_ref();
        let start = (filled.data_offset as usize).min(plane.len());
        self.format.frame(&plane[start..], filled.bytes_used)
    }
}

impl<D: VideoDevice> Drop for Stream<D> {
    fn drop(&mut self) {
        // Stream off first (the driver then owns no buffer), unmap, free the buffers; the
        // device itself closes when `self.device` drops right after. Errors are only logged:
        // a device that is gone cannot be cleaned further.
        if self.streaming {
            if let Err(e) = self.device.set_streaming(false) {
                log::debug!("camera: VIDIOC_STREAMOFF failed while closing: {e}");
            }
        }
        self.buffers.clear();
        if self.requested {
            if let Err(e) = self.device.request_buffers(0) {
                log::debug!("camera: freeing the buffers failed while closing: {e}");
            }
        }
    }
}
