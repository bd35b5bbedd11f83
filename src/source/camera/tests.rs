//! The capture logic against the scripted fake device.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::fake::{fill_of, shared, Event, FakeOpener, Shared};
use super::format::FourCc;
use super::stream::StreamRequest;
use super::{Backoff, Camera, CameraSettings};
use crate::source::{FrameSource, SourceError};

fn settings(settle: u32) -> CameraSettings {
    CameraSettings {
        request: StreamRequest { width: 64, height: 48, fourcc: None, fps: Some(25), buffers: 3 },
        settle_frames: settle,
        frame_timeout: Duration::from_millis(300),
        max_reopen_interval: Duration::from_millis(1000),
    }
}

fn camera(state: &Shared, settle: u32) -> Camera<FakeOpener> { Camera::new(FakeOpener(state.clone()), settings(settle), None) }

/// The first pixel of the next frame (which buffer it came from), or the error.
fn next_fill(cam: &mut Camera<FakeOpener>) -> Result<u8, SourceError> {
    let frame = cam.next_frame()?.expect("a frame");
    let mut scratch = Vec::new();
    let grey = frame.to_grey(&mut scratch).expect("a valid frame");
    assert_eq!((grey.width(), grey.height()), (64, 48));
    Ok(grey.get(0, 0))
}

fn assert_released(state: &Shared) {
    let s = state.borrow();
    assert!(s.violations.is_empty(), "protocol violations: {:?}", s.violations);
    assert_eq!((s.live_devices, s.live_mappings, s.allocated, s.streaming), (0, 0, 0, false), "calls: {:?}", s.calls);
}

#[test]
fn frames_come_after_the_settle_frames_and_buffers_cycle() {
    let state = shared(&[FourCc::YUYV, FourCc::NV12], vec![Event::Frame; 8]);
    let mut cam = camera(&state, 2);
    // Buffers 0 and 1 are dropped while exposure settles; then 2, 0, 1, 2, ...
    let fills: Vec<u8> = (0..5).map(|_| next_fill(&mut cam).unwrap()).collect();
    assert_eq!(fills, [fill_of(2), fill_of(0), fill_of(1), fill_of(2), fill_of(0)]);
    assert!(cam.describe().contains("NV12 64x48"), "{}", cam.describe());
    {
        let s = state.borrow();
        assert!(s.calls.starts_with(&["open".into(), "ENUM_FMT".into(), "S_FMT NV12 64x48".into(), "S_PARM 25".into(), "REQBUFS 3".into()]), "{:?}", s.calls);
        assert_eq!(s.queued.len(), 2, "all but the lent buffer are back with the driver");
    }
    drop(cam);
    assert_released(&state);
    let s = state.borrow();
    let tail: Vec<&str> = s.calls.iter().rev().take(3).rev().map(String::as_str).collect();
    assert_eq!(tail, ["STREAMOFF", "REQBUFS 0", "close"], "stream off, free, close, in that order");
}

#[test]
fn damaged_frames_are_requeued_not_shown() {
    let state = shared(&[FourCc::GREY], [Event::Damaged, Event::Frame, Event::Frame]);
    let mut cam = camera(&state, 0);
    assert_eq!(next_fill(&mut cam).unwrap(), fill_of(1));
    assert_eq!(next_fill(&mut cam).unwrap(), fill_of(2));
    drop(cam);
    assert_released(&state);
}

#[test]
fn an_unplugged_camera_is_reported_lost_closed_and_reopened() {
    let state = shared(&[FourCc::NV12], [Event::Frame, Event::Frame, Event::Fail(libc::ENODEV), Event::Frame, Event::Frame]);
    let mut cam = camera(&state, 1);
    assert_eq!(next_fill(&mut cam).unwrap(), fill_of(1));
    let err = next_fill(&mut cam).unwrap_err();
    let SourceError::CameraLost { reason, retry_in } = &err else { panic!("{err}") };
    assert!(reason.contains("VIDIOC_DQBUF failed") && reason.contains("/dev/video-fake"), "{reason}");
    assert_eq!(*retry_in, Backoff::FIRST);
    {
        // Everything was released before the error came back.
        let s = state.borrow();
        assert_eq!((s.live_devices, s.live_mappings, s.allocated, s.streaming), (0, 0, 0, false));
    }
    let t = Instant::now();
    // Reopens after the wait; one settle frame is dropped again.
    assert_eq!(next_fill(&mut cam).unwrap(), fill_of(1));
    assert!(t.elapsed() >= Backoff::FIRST, "reopened after {:?}", t.elapsed());
    assert_eq!(state.borrow().opens, 2);
    drop(cam);
    assert_released(&state);
}

#[test]
fn failed_opens_back_off_and_a_frame_resets_the_wait() {
    let state = shared(&[FourCc::NV12], vec![Event::Frame; 4]);
    state.borrow_mut().open_results = [Some(libc::ENOENT), Some(libc::ENOENT), Some(libc::EIO), Some(libc::ENOENT)].into_iter().collect();
    let mut cam = camera(&state, 0);
    let mut waits = Vec::new();
    for _ in 0..4 {
        match cam.next_frame() {
            Err(SourceError::CameraLost { retry_in, reason }) => {
                assert!(reason.contains("open failed"), "{reason}");
                waits.push(retry_in.as_millis());
            }
            other => panic!("expected a loss, got {:?}", other.map(|f| f.is_some())),
        }
    }
    assert_eq!(waits, [250, 500, 1000, 1000], "doubling up to the ceiling");
    assert_eq!(next_fill(&mut cam).unwrap(), fill_of(0));
    assert_eq!(cam.backoff.next_wait(), Backoff::FIRST, "a good frame resets the backoff");
}

#[test]
fn a_silent_camera_times_out_and_is_reopened() {
    let state = shared(&[FourCc::NV12], vec![Event::Idle; 100]);
    let mut cam = camera(&state, 0);
    let t = Instant::now();
    let err = next_fill(&mut cam).unwrap_err();
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert!(matches!(&err, SourceError::CameraLost { reason, .. } if reason.contains("no frame for 300 ms")), "{err}");
    drop(cam);
    assert_released(&state);
}

#[test]
fn a_camera_without_a_usable_format_is_a_fatal_error() {
    let state = shared(&[FourCc(*b"MJPG")], []);
    let mut cam = camera(&state, 0);
    let err = next_fill(&mut cam).unwrap_err();
    let SourceError::Camera(msg) = &err else { panic!("expected a fatal error, got {err}") };
    assert!(msg.contains("offers MJPG") && msg.contains("/dev/video-fake"), "{msg}");
    assert_released(&state);
}

#[test]
fn buffers_too_small_for_a_frame_are_refused_and_freed() {
    let state = shared(&[FourCc::NV12], [Event::Frame]);
    {
        let mut s = state.borrow_mut();
        s.short_mapping_by = 64 * 48 / 2 + 1; // less than the Y plane
    }
    let mut cam = camera(&state, 0);
    let err = next_fill(&mut cam).unwrap_err();
    assert!(matches!(&err, SourceError::Camera(m) if m.contains("buffer 0 holds")), "{err}");
    assert_released(&state);
}

#[test]
fn a_driver_that_changes_the_size_is_followed() {
    let state = shared(&[FourCc::NV12], [Event::Frame]);
    state.borrow_mut().forced_size = Some((32, 24));
    let mut cam = camera(&state, 0);
    let frame = cam.next_frame().unwrap().unwrap();
    assert_eq!((frame.width, frame.height, frame.stride), (32, 24, 32));
}

#[test]
fn a_stop_request_ends_a_reopen_wait_promptly() {
    let state = shared(&[FourCc::NV12], []);
    state.borrow_mut().open_results = [Some(libc::ENOENT)].into_iter().collect();
    let stop = Arc::new(AtomicBool::new(false));
    let mut s = settings(0);
    s.max_reopen_interval = Duration::from_secs(30);
    let mut cam = Camera::new(FakeOpener(state.clone()), s, Some(stop.clone()));
    cam.backoff = Backoff { next: Duration::from_secs(30), max: Duration::from_secs(30) };
    assert!(matches!(cam.next_frame(), Err(SourceError::CameraLost { .. })));
    let stopper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        })
    };
    let t = Instant::now();
    assert!(cam.next_frame().unwrap().is_none());
    assert!(t.elapsed() < Duration::from_secs(1), "took {:?}", t.elapsed());
    stopper.join().unwrap();
}
