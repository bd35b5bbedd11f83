//! [`VideoDevice`] on a real V4L2 node, through the `v4l` crate's generated kernel structs and
//! its raw ioctl layer. Both buffer types go through the same code: single-planar
//! (`VIDEO_CAPTURE`, USB webcams) and multi-planar (`VIDEO_CAPTURE_MPLANE`, the RV1106 ISP),
//! which the `v4l` crate's own stream types do not support. Only the first plane is mapped:
//! it holds the luma, which is all the pipeline reads.
//!
//! This is one of the thin hardware layers where `unsafe` is allowed; every block says why it
//! is sound.

use std::ffi::c_void;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use v4l::v4l2;
use v4l::v4l2::vidioc;
use v4l::v4l_sys;

use super::device::{Filled, VideoDevice};
use super::format::{FourCc, Negotiated};
use super::stream::StreamError;

// Kernel UAPI values (linux/videodev2.h); stable ABI.
const BUF_TYPE_VIDEO_CAPTURE: u32 = 1;
const BUF_TYPE_VIDEO_CAPTURE_MPLANE: u32 = 9;
const MEMORY_MMAP: u32 = 1;
const FIELD_ANY: u32 = 0;
const CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
const CAP_VIDEO_CAPTURE_MPLANE: u32 = 0x0000_1000;
const CAP_STREAMING: u32 = 0x0400_0000;
const CAP_DEVICE_CAPS: u32 = 0x8000_0000;
const BUF_FLAG_ERROR: u32 = 0x0000_0040;
const MAX_PLANES: usize = 8;

/// An open V4L2 capture node. Closed on drop.
pub struct LinuxDevice {
    fd: OwnedFd,
    buf_type: u32,
    /// The driver's card name (e.g. "rkisp_mainpath", a webcam's product name).
    pub card: String,
    pub driver: String,
}

/// A mapped first plane; unmapped on drop.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl AsRef<[u8]> for Mapping {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr` is a live PROT_READ mapping of exactly `len` bytes (made in
        // `map_buffer`, unmapped only in `drop`), and this shared borrow cannot outlive `self`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned, and no borrow of the mapping can
        // outlive `self` (see `as_ref`), so nothing uses the pages after this.
        unsafe {
            v4l2::munmap(self.ptr.cast::<c_void>(), self.len).ok();
        }
    }
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl LinuxDevice {
    /// Opens `path` and checks that it is a streaming video capture device.
    pub fn open(path: &Path) -> Result<Self, StreamError> {
        use std::os::unix::ffi::OsStrExt;
        if path.as_os_str().as_bytes().contains(&0) {
            return Err(StreamError::Unusable("the device path contains a NUL byte".into()));
        }
        let fd = v4l2::open(path, libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .map_err(|source| StreamError::Device { call: "open", source })?;
        // SAFETY: `open` just returned this descriptor and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: v4l2_capability is plain old data; all-zero is a valid value.
        let mut cap: v4l_sys::v4l2_capability = unsafe { std::mem::zeroed() };
        // SAFETY: VIDIOC_QUERYCAP writes one v4l2_capability, which `cap` is, on a descriptor
        // we own.
        unsafe { v4l2::ioctl(fd.as_raw_fd(), vidioc::VIDIOC_QUERYCAP, (&mut cap as *mut v4l_sys::v4l2_capability).cast()) }.map_err(|e| {
            if e.raw_os_error() == Some(libc::ENOTTY) {
                StreamError::Unusable("not a V4L2 device".into())
            } else {
                StreamError::Device { call: "VIDIOC_QUERYCAP", source: e }
            }
        })?;
        let caps = if cap.capabilities & CAP_DEVICE_CAPS != 0 { cap.device_caps } else { cap.capabilities };
        let buf_type = if caps & CAP_VIDEO_CAPTURE_MPLANE != 0 {
            BUF_TYPE_VIDEO_CAPTURE_MPLANE
        } else if caps & CAP_VIDEO_CAPTURE != 0 {
            BUF_TYPE_VIDEO_CAPTURE
        } else {
            return Err(StreamError::Unusable(format!("{:?} is not a video capture device", text(&cap.card))));
        };
        if caps & CAP_STREAMING == 0 {
            return Err(StreamError::Unusable(format!("{:?} cannot stream (no mmap I/O)", text(&cap.card))));
        }
        Ok(LinuxDevice { fd, buf_type, card: text(&cap.card), driver: text(&cap.driver) })
    }

    pub fn is_multi_planar(&self) -> bool { self.buf_type == BUF_TYPE_VIDEO_CAPTURE_MPLANE }

    /// # Safety
    /// `arg` must be the argument type the kernel expects for `request`.
    unsafe fn ioctl<T>(&self, request: vidioc::_IOC_TYPE, arg: &mut T) -> io::Result<()> {
        loop {
            // SAFETY: forwarded to the caller; `arg` is a live, exclusive borrow for the call.
            match unsafe { v4l2::ioctl(self.fd.as_raw_fd(), request, (arg as *mut T).cast()) } {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal, not a failure
                other => return other,
            }
        }
    }

    /// A zeroed v4l2_buffer for mmap buffer `index`, with `planes` wired in for multi-planar.
    fn buffer(&self, index: u32, planes: &mut [v4l_sys::v4l2_plane; MAX_PLANES]) -> v4l_sys::v4l2_buffer {
        // SAFETY: v4l2_buffer is plain old data; all-zero is a valid value.
        let mut buf: v4l_sys::v4l2_buffer = unsafe { std::mem::zeroed() };
        buf.index = index;
        buf.type_ = self.buf_type;
        buf.memory = MEMORY_MMAP;
        if self.is_multi_planar() {
            buf.m.planes = planes.as_mut_ptr();
            buf.length = MAX_PLANES as u32;
        }
        buf
    }
}

fn zeroed_planes() -> [v4l_sys::v4l2_plane; MAX_PLANES] {
    // SAFETY: v4l2_plane is plain old data; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

impl VideoDevice for LinuxDevice {
    type Mapping = Mapping;

    fn formats(&mut self) -> io::Result<Vec<FourCc>> {
        let mut out = Vec::new();
        for index in 0..64 {
            // SAFETY: v4l2_fmtdesc is plain old data; all-zero is a valid value.
            let mut desc: v4l_sys::v4l2_fmtdesc = unsafe { std::mem::zeroed() };
            desc.index = index;
            desc.type_ = self.buf_type;
            // SAFETY: VIDIOC_ENUM_FMT takes a v4l2_fmtdesc.
            match unsafe { self.ioctl(vidioc::VIDIOC_ENUM_FMT, &mut desc) } {
                Ok(()) => out.push(FourCc::from_u32(desc.pixelformat)),
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break, // end of the list
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn set_format(&mut self, fourcc: FourCc, width: u32, height: u32) -> io::Result<Negotiated> {
        // SAFETY: v4l2_format is plain old data; all-zero is a valid value.
        let mut fmt: v4l_sys::v4l2_format = unsafe { std::mem::zeroed() };
        fmt.type_ = self.buf_type;
        if self.is_multi_planar() {
            // SAFETY (union field writes): `pix_mp` is the member the kernel reads for
            // multi-planar types; writing Copy fields of a union is safe, reading is not.
            fmt.fmt.pix_mp.width = width;
            fmt.fmt.pix_mp.height = height;
            fmt.fmt.pix_mp.pixelformat = fourcc.to_u32();
            fmt.fmt.pix_mp.field = FIELD_ANY;
        } else {
            fmt.fmt.pix.width = width;
            fmt.fmt.pix.height = height;
            fmt.fmt.pix.pixelformat = fourcc.to_u32();
            fmt.fmt.pix.field = FIELD_ANY;
        }
        // SAFETY: VIDIOC_S_FMT takes a v4l2_format.
        unsafe { self.ioctl(vidioc::VIDIOC_S_FMT, &mut fmt) }?;
        // SAFETY: after S_FMT the kernel filled the union member matching `type_`, which is
        // the one read here.
        let negotiated = unsafe {
            if self.is_multi_planar() {
                let p = fmt.fmt.pix_mp;
                Negotiated { fourcc: FourCc::from_u32(p.pixelformat), width: p.width, height: p.height, bytes_per_line: p.plane_fmt[0].bytesperline }
            } else {
                let p = fmt.fmt.pix;
                Negotiated { fourcc: FourCc::from_u32(p.pixelformat), width: p.width, height: p.height, bytes_per_line: p.bytesperline }
            }
        };
        Ok(negotiated)
    }

    fn set_frame_rate(&mut self, fps: u32) -> io::Result<()> {
        // SAFETY: v4l2_streamparm is plain old data; all-zero is a valid value.
        let mut parm: v4l_sys::v4l2_streamparm = unsafe { std::mem::zeroed() };
        parm.type_ = self.buf_type;
        // Union field writes (Copy fields): `capture` is the member for capture types.
        parm.parm.capture.timeperframe.numerator = 1;
        parm.parm.capture.timeperframe.denominator = fps.max(1);
        // SAFETY: VIDIOC_S_PARM takes a v4l2_streamparm.
        unsafe { self.ioctl(vidioc::VIDIOC_S_PARM, &mut parm) }
    }

    fn request_buffers(&mut self, count: u32) -> io::Result<u32> {
        // SAFETY: v4l2_requestbuffers is plain old data; all-zero is a valid value.
        let mut req: v4l_sys::v4l2_requestbuffers = unsafe { std::mem::zeroed() };
        req.count = count;
        req.type_ = self.buf_type;
        req.memory = MEMORY_MMAP;
        // SAFETY: VIDIOC_REQBUFS takes a v4l2_requestbuffers.
        unsafe { self.ioctl(vidioc::VIDIOC_REQBUFS, &mut req) }?;
        Ok(req.count)
    }

    fn map_buffer(&mut self, index: u32) -> io::Result<Mapping> {
        let mut planes = zeroed_planes();
        let mut buf = self.buffer(index, &mut planes);
        // SAFETY: VIDIOC_QUERYBUF takes a v4l2_buffer; for multi-planar its `m.planes` points
        // at `planes`, MAX_PLANES long as `length` says, alive for the call.
        unsafe { self.ioctl(vidioc::VIDIOC_QUERYBUF, &mut buf) }?;
        let (offset, len) = if self.is_multi_planar() {
            if buf.length == 0 {
                return Err(io::Error::other(format!("buffer {index} has no planes")));
            }
            // SAFETY: for mmap memory the kernel set `mem_offset` of each plane's union.
            (unsafe { planes[0].m.mem_offset }, planes[0].length)
        } else {
            // SAFETY: for mmap memory the kernel set `m.offset`.
            (unsafe { buf.m.offset }, buf.length)
        };
        let len = len as usize;
        if len == 0 {
            return Err(io::Error::other(format!("buffer {index} has length 0")));
        }
        // SAFETY: maps `len` bytes of the driver's buffer at the offset it gave us, read-only
        // and shared; the result is checked before use and owned by the returned Mapping.
        let ptr = unsafe {
            v4l2::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, self.fd.as_raw_fd(), offset as libc::off_t)
        }?;
        Ok(Mapping { ptr: ptr.cast::<u8>(), len })
    }

    fn queue(&mut self, index: u32) -> io::Result<()> {
        let mut planes = zeroed_planes();
        let mut buf = self.buffer(index, &mut planes);
        // SAFETY: VIDIOC_QBUF takes a v4l2_buffer; `planes` outlives the call.
        unsafe { self.ioctl(vidioc::VIDIOC_QBUF, &mut buf) }
    }

    fn dequeue(&mut self, wait: Duration) -> io::Result<Option<Filled>> {
        let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = wait.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd, count 1.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(None) } else { Err(e) };
        }
        if ready == 0 {
            return Ok(None);
        }
        if pfd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 && pfd.revents & libc::POLLIN == 0 {
            return Err(io::Error::other("the device reported an error (unplugged?)"));
        }
        let mut planes = zeroed_planes();
        let mut buf = self.buffer(0, &mut planes);
        // SAFETY: VIDIOC_DQBUF takes a v4l2_buffer; `planes` outlives the call.
        match unsafe { self.ioctl(vidioc::VIDIOC_DQBUF, &mut buf) } {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        }
        let (bytes_used, data_offset) = if self.is_multi_planar() {
            (planes[0].bytesused.saturating_sub(planes[0].data_offset), planes[0].data_offset)
        } else {
            (buf.bytesused, 0)
        };
        Ok(Some(Filled { index: buf.index, bytes_used, data_offset, damaged: buf.flags & BUF_FLAG_ERROR != 0 }))
    }

    fn set_streaming(&mut self, on: bool) -> io::Result<()> {
        let mut kind = self.buf_type as libc::c_int;
        let request = if on { vidioc::VIDIOC_STREAMON } else { vidioc::VIDIOC_STREAMOFF };
        // SAFETY: STREAMON/STREAMOFF take a pointer to the int buffer type.
        unsafe { self.ioctl(request, &mut kind) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_node_is_a_device_error() {
        let Err(e) = LinuxDevice::open(Path::new("/dev/video-digitd-test-missing")) else { panic!("opened a missing node") };
        assert!(e.is_transient(), "an absent camera may come back: {e}");
        assert!(e.to_string().contains("open failed"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_a_camera_is_refused() {
        let file = tempfile::NamedTempFile::new().unwrap();
        for path in [Path::new("/dev/null"), file.path()] {
            let Err(e) = LinuxDevice::open(path) else { panic!("{} opened as a camera", path.display()) };
            assert!(!e.is_transient(), "{e}");
            assert_eq!(e.to_string(), "not a V4L2 device");
        }
    }

    #[test]
    fn a_nul_in_the_path_is_an_error_not_a_panic() {
        let Err(e) = LinuxDevice::open(Path::new("/dev/vid\0eo0")) else { panic!() };
        assert!(e.to_string().contains("NUL"), "{e}");
    }
}
