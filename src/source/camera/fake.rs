//! A scripted [`VideoDevice`] for testing the capture logic without a camera. It checks the
//! V4L2 protocol as a driver would (no double queueing, no dequeue while stopped, no buffers
//! freed while mapped) and records what was left behind.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use super::device::{Filled, VideoDevice};
use super::format::{FourCc, Negotiated};
use super::stream::StreamError;
use super::Opener;

/// What the next dequeue sees.
#[derive(Clone, Debug)]
pub enum Event {
    Frame,
    Damaged,
    /// Nothing arrives during this wait.
    Idle,
    /// DQBUF fails with this errno (EIO, ENODEV: unplugged).
    Fail(i32),
}

#[derive(Debug, Default)]
pub struct State {
    pub offered: Vec<FourCc>,
    /// The driver's answer to S_FMT overrides (None: grant the request).
    pub forced_size: Option<(u32, u32)>,
    pub buffers_granted: u32,
    /// Mapped buffers are this many bytes short of a frame.
    pub short_mapping_by: usize,
    pub events: VecDeque<Event>,
    /// Results of successive opens (None in the queue = success); empty: success.
    pub open_results: VecDeque<Option<i32>>,
    // What happened.
    pub calls: Vec<String>,
    pub opens: u32,
    pub live_devices: u32,
    pub live_mappings: u32,
    pub allocated: u32,
    pub streaming: bool,
    pub queued: VecDeque<u32>,
    pub violations: Vec<String>,
}

pub type Shared = Rc<RefCell<State>>;

pub fn shared(offered: &[FourCc], events: impl IntoIterator<Item = Event>) -> Shared {
    Rc::new(RefCell::new(State { offered: offered.to_vec(), buffers_granted: 3, events: events.into_iter().collect(), ..Default::default() }))
}

pub struct FakeDevice {
    state: Shared,
    format: Option<Negotiated>,
}

pub struct FakeMapping {
    data: Vec<u8>,
    state: Shared,
}

impl AsRef<[u8]> for FakeMapping {
    fn as_ref(&self) -> &[u8] { &self.data }
}

impl Drop for FakeMapping {
    fn drop(&mut self) { self.state.borrow_mut().live_mappings -= 1; }
}

impl Drop for FakeDevice {
    fn drop(&mut self) {
        let mut s = self.state.borrow_mut();
        s.calls.push("close".into());
        if s.streaming || s.allocated > 0 || s.live_mappings > 0 {
            let msg = format!("closed while streaming={} allocated={} mapped={}", s.streaming, s.allocated, s.live_mappings);
            s.violations.push(msg);
        }
        s.live_devices -= 1;
    }
}

fn errno(code: i32) -> io::Error { io::Error::from_raw_os_error(code) }

/// The byte every pixel of buffer `index` holds, so tests can tell buffers apart.
pub fn fill_of(index: u32) -> u8 { 10 * (index as u8 + 1) }

impl VideoDevice for FakeDevice {
    type Mapping = FakeMapping;

    fn formats(&mut self) -> io::Result<Vec<FourCc>> {
        let mut s = self.state.borrow_mut();
        s.calls.push("ENUM_FMT".into());
        Ok(s.offered.clone())
    }

    fn set_format(&mut self, fourcc: FourCc, width: u32, height: u32) -> io::Result<Negotiated> {
        let mut s = self.state.borrow_mut();
        s.calls.push(format!("S_FMT {fourcc} {width}x{height}"));
        let (w, h) = s.forced_size.unwrap_or((width, height));
        let bpp = if fourcc == FourCc::YUYV { 2 } else { 1 };
        let n = Negotiated { fourcc, width: w, height: h, bytes_per_line: (w * bpp).div_ceil(16) * 16 };
        self.format = Some(n);
        Ok(n)
    }

    fn set_frame_rate(&mut self, fps: u32) -> io::Result<()> {
        self.state.borrow_mut().calls.push(format!("S_PARM {fps}"));
        Err(errno(libc::ENOTTY)) // like many ISPs
    }

    fn request_buffers(&mut self, count: u32) -> io::Result<u32> {
        let mut s = self.state.borrow_mut();
        s.calls.push(format!("REQBUFS {count}"));
        if count == 0 {
            if s.live_mappings > 0 {
                return Err(errno(libc::EBUSY)); // the kernel refuses while buffers are mapped
            }
            if s.streaming {
                s.violations.push("REQBUFS 0 while streaming".into());
            }
            s.allocated = 0;
            s.queued.clear();
            return Ok(0);
        }
        s.allocated = s.buffers_granted;
        Ok(s.allocated)
    }

    fn map_buffer(&mut self, index: u32) -> io::Result<FakeMapping> {
        let Some(f) = self.format else { return Err(errno(libc::EINVAL)) };
        let mut s = self.state.borrow_mut();
        s.calls.push(format!("MAP {index}"));
        if index >= s.allocated {
            return Err(errno(libc::EINVAL));
        }
        s.live_mappings += 1;
        let len = (f.bytes_per_line * f.height * 3 / 2) as usize - s.short_mapping_by.min((f.bytes_per_line * f.height) as usize);
        Ok(FakeMapping { data: vec![fill_of(index); len], state: self.state.clone() })
    }

    fn queue(&mut self, index: u32) -> io::Result<()> {
        let mut s = self.state.borrow_mut();
        if index >= s.allocated || s.queued.contains(&index) {
            let msg = format!("QBUF {index} (allocated {}, queued {:?})", s.allocated, s.queued);
            s.violations.push(msg);
            return Err(errno(libc::EINVAL));
        }
        s.queued.push_back(index);
        Ok(())
    }

    fn dequeue(&mut self, wait: Duration) -> io::Result<Option<Filled>> {
        let mut s = self.state.borrow_mut();
        if !s.streaming {
            s.violations.push("DQBUF while not streaming".into());
            return Err(errno(libc::EINVAL));
        }
        match s.events.pop_front() {
            None | Some(Event::Idle) => {
                drop(s);
                std::thread::sleep(wait.min(Duration::from_millis(20)));
                Ok(None)
            }
            Some(Event::Fail(code)) => Err(errno(code)),
            Some(e @ (Event::Frame | Event::Damaged)) => {
                let Some(index) = s.queued.pop_front() else {
                    s.violations.push("DQBUF with no buffer queued".into());
                    return Err(errno(libc::EINVAL));
                };
                Ok(Some(Filled { index, bytes_used: 0, data_offset: 0, damaged: matches!(e, Event::Damaged) }))
            }
        }
    }

    fn set_streaming(&mut self, on: bool) -> io::Result<()> {
        let mut s = self.state.borrow_mut();
        s.calls.push(if on { "STREAMON" } else { "STREAMOFF" }.into());
        s.streaming = on;
        if !on {
            s.queued.clear(); // STREAMOFF returns every buffer to userspace
        }
        Ok(())
    }
}

pub struct FakeOpener(pub Shared);

impl Opener for FakeOpener {
    type Device = FakeDevice;

    fn open(&mut self) -> Result<(FakeDevice, String), StreamError> {
        let mut s = self.0.borrow_mut();
        s.opens += 1;
        s.calls.push("open".into());
        if let Some(Some(code)) = s.open_results.pop_front() {
            return Err(StreamError::Device { call: "open", source: errno(code) });
        }
        if s.live_devices > 0 {
            s.violations.push("opened while a previous device is still open".into());
        }
        s.live_devices += 1;
        Ok((FakeDevice { state: self.0.clone(), format: None }, "/dev/video-fake (fake)".into()))
    }

    fn target(&self) -> String { "/dev/video-fake".into() }
}
