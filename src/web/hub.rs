//! What the pipeline shares with the web threads: the latest frame (copied at most
//! `stream_fps` times a second), the status, and counters. The pipeline only ever takes a
//! short lock to swap in a new frame; it never waits for a client, so a slow browser costs
//! it nothing: clients simply skip to the newest frame when they are ready for one.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::frame::{GreyImage, OwnedGrey};
use crate::pipeline::{FrameResult, RecognizedDigit};
use crate::preprocess::DigitCandidate;
use crate::preprocess::DigitTensor;

/// One frame as the web view shows and captures it.
#[derive(Debug)]
pub struct LiveFrame {
    /// Increases by one per published frame, from 1.
    pub seq: u64,
    pub time: SystemTime,
    /// The grey camera frame, packed.
    pub image: OwnedGrey,
    /// Every candidate, accepted or not, in reading order.
    pub digits: Vec<RecognizedDigit>,
    /// The model input of each candidate (same order as `digits`).
    pub tensors: Vec<DigitTensor>,
    /// The stable reading shown at the time (rows joined by '\n').
    pub shown: Option<String>,
}

impl LiveFrame {
    /// The camera picture, if this frame has one (not 0x0).
    pub fn picture(&self) -> Option<GreyImage<'_>> { Some(self.image.view()).filter(|g| !g.is_empty()) }
}

/// What the reader is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    #[default]
    Starting,
    Reading,
    NoDigits,
    CameraLost,
}

/// Time per stage of the last published frame, milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    pub binarize: f64,
    pub polarity: f64,
    pub components: f64,
    pub filter: f64,
    pub grouping: f64,
    pub normalize: f64,
    pub preprocess: f64,
    pub classify: f64,
    pub total: f64,
}

/// One candidate in `/api/status`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DigitStatus {
    pub digit: u8,
    pub confidence: f32,
    #[serde(rename = "box")]
    pub bbox: [u32; 4],
    pub accepted: bool,
}

/// The pipeline's side of `/api/status` (the server adds uptime, memory, temperature, clients).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PipelineStatus {
    pub state: State,
    /// The stable reading on screen.
    pub reading: Option<String>,
    /// Its confidence (its least sure digit), 0-1.
    pub confidence: Option<f32>,
    /// What the last frame alone read (may flicker; the screen shows `reading`).
    pub frame_reading: String,
    pub digits: Vec<DigitStatus>,
    /// Frames per second, smoothed.
    pub fps: f32,
    pub latency_ms: Latency,
    /// "cpu" or "npu".
    pub classifier: String,
    pub source: String,
    pub frame_width: usize,
    pub frame_height: usize,
}

#[derive(Debug, Default)]
struct Shared {
    frame: Option<Arc<LiveFrame>>,
    status: PipelineStatus,
    closed: bool,
}

/// Counters for `/metrics`, updated without locks.
#[derive(Debug, Default)]
pub struct Counters {
    pub frames: AtomicU64,
    pub readings_shown: AtomicU64,
    pub camera_lost: AtomicU64,
    pub captures: AtomicU64,
    pub stream_frames_sent: AtomicU64,
    /// Responses by class: 2xx, 3xx, 4xx, 5xx.
    pub responses: [AtomicU64; 4],
    /// Streams refused because `max_clients` were already connected.
    pub streams_refused: AtomicU64,
}

/// Shared between the pipeline thread (through [`Publisher`]) and the web threads.
#[derive(Debug)]
pub struct Hub {
    shared: Mutex<Shared>,
    new_frame: Condvar,
    /// The JPEG of the newest frame that a client asked for, encoded once for all of them.
    encoded: Mutex<Option<(u64, Arc<Vec<u8>>)>>,
    clients: AtomicUsize,
    pub counters: Counters,
    pub started: Instant,
}

impl Default for Hub {
    fn default() -> Self { Self::new() }
}

impl Hub {
    pub fn new() -> Self {
        Hub {
            shared: Mutex::new(Shared::default()),
            new_frame: Condvar::new(),
            encoded: Mutex::new(None),
            clients: AtomicUsize::new(0),
            counters: Counters::default(),
            started: Instant::now(),
        }
    }

    // A panic elsewhere while holding the lock leaves plain data behind: keep serving it.
    fn lock(&self) -> MutexGuard<'_, Shared> { self.shared.lock().unwrap_or_else(|e| e.into_inner()) }

    pub fn latest(&self) -> Option<Arc<LiveFrame>> { self.lock().frame.clone() }

    pub fn status(&self) -> PipelineStatus { self.lock().status.clone() }

    /// The first frame newer than `seq`, waiting up to `timeout`; `None` on timeout or once
    /// the hub is closed.
    pub fn wait_frame_after(&self, seq: u64, timeout: Duration) -> Option<Arc<LiveFrame>> {
        self.wait_for(timeout, |shared| match &shared.frame {
            _ if shared.closed => Some(None),
            Some(f) if f.seq > seq => Some(Some(f.clone())),
            _ => None,
        })
        .flatten()
    }

    /// Waits (woken by new frames and by `close`) until `ready` returns something, or
    /// `timeout` passes (`None`).
    fn wait_for<T>(&self, timeout: Duration, mut ready: impl FnMut(&Shared) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut shared = self.lock();
        loop {
            if let Some(out) = ready(&shared) {
                return Some(out);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            shared = self.new_frame.wait_timeout(shared, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Wakes every waiting client and tells them to finish (the daemon is stopping).
    pub fn close(&self) {
        self.lock().closed = true;
        self.new_frame.notify_all();
    }

    pub fn is_closed(&self) -> bool { self.lock().closed }

    /// Waits up to `timeout` for [`Hub::close`]; true if closed.
    pub fn wait_closed(&self, timeout: Duration) -> bool { self.wait_for(timeout, |shared| shared.closed.then_some(())).is_some() }

    /// The JPEG of `frame`, encoded by `encode` only the first time any client asks; a newer
    /// frame's JPEG when one is already encoded (a late client never re-encodes an old frame,
    /// which would make the others re-encode the new one after it).
    pub fn jpeg<E>(&self, frame: &LiveFrame, encode: impl FnOnce(&LiveFrame) -> Result<Vec<u8>, E>) -> Result<(u64, Arc<Vec<u8>>), E> {
        let mut cached = self.encoded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((seq, jpeg)) = cached.as_ref() {
            if *seq >= frame.seq {
                return Ok((*seq, jpeg.clone()));
            }
        }
        let jpeg = Arc::new(encode(frame)?);
        *cached = Some((frame.seq, jpeg.clone()));
        Ok((frame.seq, jpeg))
    }

    /// Takes one of `max` stream slots; `None` when all are in use.
    pub fn join_stream(self: &Arc<Self>, max: usize) -> Option<StreamSlot> {
        let taken = self.clients.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1));
        match taken {
            Ok(_) => Some(StreamSlot(self.clone())),
            Err(_) => {
                self.counters.streams_refused.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Live streams being served.
    pub fn clients(&self) -> usize { self.clients.load(Ordering::Acquire) }

    pub fn count_response(&self, code: u16) {
        let class = (code / 100).clamp(2, 5) as usize - 2;
        self.counters.responses[class].fetch_add(1, Ordering::Relaxed);
    }
}

/// A live stream's place among `max_clients`; given back when dropped.
#[derive(Debug)]
pub struct StreamSlot(Arc<Hub>);

impl Drop for StreamSlot {
    fn drop(&mut self) { self.0.clients.fetch_sub(1, Ordering::AcqRel); }
}

/// Published frames kept for reuse (clients rarely hold more than the newest two).
const RECENT_FRAMES: usize = 4;

/// The pipeline thread's handle: decides which frames to copy out (at most `rate` a second).
#[derive(Debug)]
pub struct Publisher {
    hub: Arc<Hub>,
    /// Frames published lately: once no client holds one any more, its buffers are reused,
    /// so publishing allocates nothing in the steady state (and the heap does not fragment).
    recent: std::collections::VecDeque<Arc<LiveFrame>>,
    interval: Duration,
    next: Option<Instant>,
    seq: u64,
    classifier: String,
    source: String,
}

/// What the run loop knows about a frame besides the pipeline's result.
#[derive(Clone, Copy, Debug)]
pub struct FrameContext<'a> {
    /// The stable reading on screen.
    pub shown: Option<&'a str>,
    pub shown_confidence: Option<f32>,
    pub fps_tenths: u32,
}

impl Publisher {
    pub fn new(hub: Arc<Hub>, max_fps: u32, classifier: &str, source: &str) -> Self {
        Publisher {
            hub,
            recent: std::collections::VecDeque::with_capacity(RECENT_FRAMES),
            interval: Duration::from_secs(1) / max_fps.max(1),
            next: None,
            seq: 0,
            classifier: classifier.into(),
            source: source.into(),
        }
    }

    pub fn hub(&self) -> &Arc<Hub> { &self.hub }

    pub fn set_classifier(&mut self, name: &str) { name.clone_into(&mut self.classifier) }
    pub fn set_source(&mut self, description: &str) { description.clone_into(&mut self.source) }

    /// Called for every frame; copies it out when the rate allows. Cheap otherwise.
    pub fn frame(&mut self, grey: GreyImage<'_>, result: &FrameResult, candidates: &[DigitCandidate], ctx: FrameContext<'_>) {
        self.hub.counters.frames.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        if self.next.is_some_and(|next| now < next) {
            return;
        }
        // Keep to the grid when on time; restart it after a stall instead of bursting.
        self.next = Some(match self.next {
            Some(next) if now < next + self.interval => next + self.interval,
            _ => now + self.interval,
        });
        self.seq += 1;
        // Reuse the oldest recent frame no client holds any more, else start a new one.
        let reusable = self.recent.iter().position(|f| Arc::strong_count(f) == 1);
        let mut frame = match reusable.and_then(|i| self.recent.remove(i)).map(Arc::try_unwrap) {
            Some(Ok(old)) => old,
            _ => LiveFrame {
                seq: 0,
                time: SystemTime::now(),
                image: OwnedGrey::new(0, 0, 0),
                digits: Vec::new(),
                tensors: Vec::new(),
                shown: None,
            },
        };
        frame.seq = self.seq;
        frame.time = SystemTime::now();
        frame.image.copy_from(grey);
        frame.digits.clone_from(&result.digits);
        frame.tensors.clear();
        frame.tensors.extend(candidates.iter().map(|c| c.tensor.clone()));
        frame.shown = ctx.shown.map(str::to_string);
        let frame = Arc::new(frame);
        if self.recent.len() == RECENT_FRAMES {
            self.recent.pop_front();
        }
        self.recent.push_back(frame.clone());
        let ms = crate::pipeline::ms;
        let (t, s) = (&result.timings, &result.timings.stages);
        let status = PipelineStatus {
            state: if ctx.shown.is_some() || result.accepted().next().is_some() { State::Reading } else { State::NoDigits },
            reading: ctx.shown.map(str::to_string),
            confidence: ctx.shown.and(ctx.shown_confidence),
            frame_reading: result.reading.clone(),
            digits: result
                .digits
                .iter()
                .map(|d| DigitStatus {
                    digit: d.digit,
                    confidence: d.confidence,
                    bbox: [d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h],
                    accepted: d.accepted,
                })
                .collect(),
            fps: ctx.fps_tenths as f32 / 10.0,
            latency_ms: Latency {
                binarize: ms(s.binarize),
                polarity: ms(s.polarity),
                components: ms(s.components),
                filter: ms(s.filter),
                grouping: ms(s.grouping),
                normalize: ms(s.normalize),
                preprocess: ms(t.preprocess),
                classify: ms(t.classify),
                total: ms(t.total()),
            },
            classifier: self.classifier.clone(),
            source: self.source.clone(),
            frame_width: grey.width(),
            frame_height: grey.height(),
        };
        let mut shared = self.hub.lock();
        shared.frame = Some(frame);
        shared.status = status;
        drop(shared);
        self.hub.new_frame.notify_all();
    }

    /// A reading appeared on screen.
    pub fn reading_shown(&self) { self.hub.counters.readings_shown.fetch_add(1, Ordering::Relaxed); }

    /// The camera went away: the status says so at once (no frames will come to say it).
    pub fn camera_lost(&mut self) {
        self.hub.counters.camera_lost.fetch_add(1, Ordering::Relaxed);
        let mut shared = self.hub.lock();
        let status = &mut shared.status;
        status.state = State::CameraLost;
        status.reading = None;
        status.confidence = None;
        status.frame_reading.clear();
        status.digits.clear();
        status.fps = 0.0;
        // The next frame after the camera comes back is published at once.
        self.next = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::PipelineTimings;
    use crate::preprocess::BoundingBox;

    fn result(reading: &str) -> FrameResult {
        let mut r = FrameResult { reading: reading.into(), ..FrameResult::default() };
        if reading.is_empty() {
            return r;
        }
        r.digits.push(RecognizedDigit { bbox: BoundingBox { x: 1, y: 2, w: 3, h: 4 }, row: 0, digit: 7, confidence: 0.9, accepted: true });
        r.timings = PipelineTimings::default();
        r
    }

    #[test]
    fn empty_frames_say_no_digits() {
        let hub = Arc::new(Hub::new());
        let mut p = Publisher::new(hub.clone(), 10, "cpu", "clip");
        p.frame(GreyImage::packed(1, 1, &[0]).unwrap(), &result(""), &[], ctx(None));
        assert_eq!(hub.status().state, State::NoDigits);
    }

    fn ctx(shown: Option<&str>) -> FrameContext<'_> { FrameContext { shown, shown_confidence: Some(0.9), fps_tenths: 125 } }

    #[test]
    fn publishes_at_most_the_rate_and_copies_the_frame() {
        let hub = Arc::new(Hub::new());
        let mut p = Publisher::new(hub.clone(), 5, "cpu", "clip");
        let pixels: Vec<u8> = (0..12).collect();
        // A strided view: only the first 3 of each 4 bytes are pixels.
        let grey = GreyImage::new(3, 3, 4, &pixels).unwrap();
        for _ in 0..10 {
            p.frame(grey, &result("7"), &[], ctx(Some("7")));
        }
        let f = hub.latest().unwrap();
        assert_eq!(f.seq, 1, "10 frames in well under 200 ms publish once");
        assert_eq!(f.image.data, [0, 1, 2, 4, 5, 6, 8, 9, 10]);
        assert_eq!(hub.counters.frames.load(Ordering::Relaxed), 10);
        let s = hub.status();
        assert_eq!((s.state, s.reading.as_deref(), s.fps), (State::Reading, Some("7"), 12.5));
        assert_eq!(s.digits[0].bbox, [1, 2, 3, 4]);
        std::thread::sleep(Duration::from_millis(210));
        p.frame(grey, &result(""), &[], ctx(None));
        assert_eq!(hub.latest().unwrap().seq, 2);
    }

    #[test]
    fn frame_buffers_are_reused_once_no_client_holds_them() {
        let hub = Arc::new(Hub::new());
        let mut p = Publisher::new(hub.clone(), 1000, "cpu", "clip");
        let pixels = vec![7u8; 64 * 48];
        let grey = GreyImage::packed(64, 48, &pixels).unwrap();
        let mut seen = std::collections::HashSet::new();
        let held = {
            p.frame(grey, &result("7"), &[], ctx(None));
            hub.latest().unwrap() // a client keeps this one
        };
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(2));
            p.frame(grey, &result("7"), &[], ctx(None));
            seen.insert(hub.latest().unwrap().image.data.as_ptr() as usize);
        }
        assert!(seen.len() <= RECENT_FRAMES, "{} distinct buffers for 20 frames", seen.len());
        assert!(!seen.contains(&(held.image.data.as_ptr() as usize)), "a held frame is never overwritten");
        assert_eq!(held.seq, 1);
        assert_eq!(hub.latest().unwrap().image.data, pixels);
    }

    #[test]
    fn waiting_clients_get_the_next_frame_or_time_out_or_stop() {
        let hub = Arc::new(Hub::new());
        assert!(hub.wait_frame_after(0, Duration::from_millis(20)).is_none());
        let mut p = Publisher::new(hub.clone(), 1000, "cpu", "clip");
        let h = hub.clone();
        let waiter = std::thread::spawn(move || h.wait_frame_after(0, Duration::from_secs(5)).map(|f| f.seq));
        std::thread::sleep(Duration::from_millis(20));
        let pixels = [9u8; 4];
        p.frame(GreyImage::packed(2, 2, &pixels).unwrap(), &result(""), &[], ctx(None));
        assert_eq!(waiter.join().unwrap(), Some(1));
        // Already seen: wait; closing releases the waiter at once.
        let h = hub.clone();
        let waiter = std::thread::spawn(move || h.wait_frame_after(1, Duration::from_secs(30)).is_none());
        std::thread::sleep(Duration::from_millis(20));
        let t = Instant::now();
        hub.close();
        assert!(waiter.join().unwrap());
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn stream_slots_are_capped_and_given_back() {
        let hub = Arc::new(Hub::new());
        let a = hub.join_stream(2).unwrap();
        let _b = hub.join_stream(2).unwrap();
        assert!(hub.join_stream(2).is_none());
        assert_eq!(hub.counters.streams_refused.load(Ordering::Relaxed), 1);
        drop(a);
        assert_eq!(hub.clients(), 1);
        assert!(hub.join_stream(2).is_some());
    }

    #[test]
    fn jpeg_is_encoded_once_per_frame() {
        let hub = Hub::new();
        let frame = LiveFrame { seq: 3, time: SystemTime::now(), image: OwnedGrey::new(0, 0, 0), digits: vec![], tensors: vec![], shown: None };
        let mut calls = 0;
        for _ in 0..3 {
            let (seq, j) = hub.jpeg(&frame, |_| { calls += 1; Ok::<_, ()>(vec![1, 2]) }).unwrap();
            assert_eq!((seq, j.as_slice()), (3, &[1u8, 2][..]));
        }
        assert_eq!(calls, 1);
        // An older frame gets the newer JPEG, not a re-encode.
        let old = LiveFrame { seq: 2, ..frame };
        let (seq, _) = hub.jpeg(&old, |_| { calls += 1; Ok::<_, ()>(vec![9]) }).unwrap();
        assert_eq!((seq, calls), (3, 1));
    }

    #[test]
    fn camera_lost_clears_the_status() {
        let hub = Arc::new(Hub::new());
        let mut p = Publisher::new(hub.clone(), 10, "npu", "camera");
        let pixels = [0u8; 4];
        p.frame(GreyImage::packed(2, 2, &pixels).unwrap(), &result("7"), &[], ctx(Some("7")));
        p.camera_lost();
        let s = hub.status();
        assert_eq!((s.state, s.reading, s.digits.len()), (State::CameraLost, None, 0));
        assert_eq!(hub.counters.camera_lost.load(Ordering::Relaxed), 1);
        // Published at once when frames come back, whatever the rate.
        p.frame(GreyImage::packed(2, 2, &pixels).unwrap(), &result(""), &[], ctx(None));
        assert_eq!(hub.latest().unwrap().seq, 2);
        assert_eq!(hub.status().state, State::NoDigits);
    }
}
