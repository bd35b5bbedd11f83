//! The seam between the capture logic and the kernel: the handful of V4L2 operations a
//! streaming capture needs, on an opened device. [`super::linux::LinuxDevice`] does them with
//! ioctls; the tests drive the same capture logic with a scripted fake.

use std::io;
use std::time::Duration;

use super::format::{FourCc, Negotiated};

/// A dequeued buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Filled {
    pub index: u32,
    /// Bytes of the first plane the driver filled, counted from `data_offset` (0: not reported).
    pub bytes_used: u32,
    /// Where the image starts in the first plane (multi-planar drivers may put a header first).
    pub data_offset: u32,
    /// The driver flagged the frame as damaged (`V4L2_BUF_FLAG_ERROR`): requeue, don't use.
    pub damaged: bool,
}

/// An opened V4L2 capture device (single- or multi-planar: the implementation knows which).
pub trait VideoDevice {
    /// A mapped buffer: the first plane's bytes, unmapped on drop.
    type Mapping: AsRef<[u8]>;

    /// The pixel formats the device offers for capture.
    fn formats(&mut self) -> io::Result<Vec<FourCc>>;
    /// `VIDIOC_S_FMT`: asks for a format and size; returns what the driver chose.
    fn set_format(&mut self, fourcc: FourCc, width: u32, height: u32) -> io::Result<Negotiated>;
    /// `VIDIOC_S_PARM`: asks for a frame rate (many ISPs ignore it).
    fn set_frame_rate(&mut self, fps: u32) -> io::Result<()>;
    /// `VIDIOC_REQBUFS` for mmap buffers; returns how many the driver allocated. 0 frees them.
    fn request_buffers(&mut self, count: u32) -> io::Result<u32>;
    /// `VIDIOC_QUERYBUF` + `mmap` of buffer `index`'s first plane.
    fn map_buffer(&mut self, index: u32) -> io::Result<Self::Mapping>;
    /// `VIDIOC_QBUF`: hands buffer `index` back to the driver to fill.
    fn queue(&mut self, index: u32) -> io::Result<()>;
    /// Waits up to `wait` for a filled buffer and dequeues it (`VIDIOC_DQBUF`); `None` if none
    /// came in that time.
    fn dequeue(&mut self, wait: Duration) -> io::Result<Option<Filled>>;
    /// `VIDIOC_STREAMON` / `VIDIOC_STREAMOFF` (off also returns every buffer to userspace).
    fn set_streaming(&mut self, on: bool) -> io::Result<()>;
}
