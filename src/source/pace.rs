//! Replaying a recorded source at a set frame rate.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{FrameSource, SourceError};
use crate::frame::RawFrame;

/// Hands out the inner source's frames no faster than `fps` (0: as fast as possible). When
/// processing falls behind, the schedule restarts instead of bursting to catch up.
pub struct Paced<S> {
    inner: S,
    period: Option<Duration>,
    next_due: Option<Instant>,
    stop: Option<Arc<AtomicBool>>,
}

impl<S: FrameSource> Paced<S> {
    pub fn new(inner: S, fps: f32, stop: Option<Arc<AtomicBool>>) -> Self {
        let period = (fps.is_finite() && fps > 0.0).then(|| Duration::from_secs_f64(1.0 / fps as f64));
        Paced { inner, period, next_due: None, stop }
    }

    fn wait_turn(&mut self) {
        let Some(period) = self.period else { return };
        let now = Instant::now();
        let due = match self.next_due {
            Some(due) if due > now => due,
            // First frame, or late: start a new schedule now.
            _ => now,
        };
        super::sleep_until(due, self.stop.as_deref());
        self.next_due = Some(due + period);
    }
}

impl<S: FrameSource> FrameSource for Paced<S> {
    fn next_frame(&mut self) -> Result<Option<RawFrame<'_>>, SourceError> {
        self.wait_turn();
        self.inner.next_frame()
    }

    fn nominal_fps(&self) -> Option<f32> {
        match self.period {
            Some(p) => Some((1.0 / p.as_secs_f64()) as f32),
            None => self.inner.nominal_fps(),
        }
    }

    fn describe(&self) -> String {
        match self.period {
            Some(p) => format!("{} at {:.1} fps", self.inner.describe(), 1.0 / p.as_secs_f64()),
            None => format!("{} as fast as possible", self.inner.describe()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelFormat;
    use std::sync::atomic::Ordering;

    struct Counter(u32, [u8; 1]);

    impl FrameSource for Counter {
        fn next_frame(&mut self) -> Result<Option<RawFrame<'_>>, SourceError> {
            self.0 += 1;
            Ok(Some(RawFrame { format: PixelFormat::Grey, width: 1, height: 1, stride: 1, data: &self.1 }))
        }
        fn nominal_fps(&self) -> Option<f32> { Some(7.0) }
        fn describe(&self) -> String { "counter".into() }
    }

    #[test]
    fn paces_to_the_rate() {
        let mut s = Paced::new(Counter(0, [0]), 100.0, None);
        let t = Instant::now();
        for _ in 0..6 {
            s.next_frame().unwrap();
        }
        // 6 frames at 100 fps: the first at once, then 5 periods of 10 ms.
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(45), "{took:?}");
        assert_eq!(s.nominal_fps(), Some(100.0));
    }

    #[test]
    fn zero_fps_does_not_sleep_and_stop_cuts_sleeps_short() {
        let mut s = Paced::new(Counter(0, [0]), 0.0, None);
        let t = Instant::now();
        for _ in 0..100 {
            s.next_frame().unwrap();
        }
        assert!(t.elapsed() < Duration::from_millis(50));
        assert_eq!(s.nominal_fps(), Some(7.0));

        let stop = Arc::new(AtomicBool::new(false));
        let mut s = Paced::new(Counter(0, [0]), 0.5, Some(stop.clone()));
        s.next_frame().unwrap();
        stop.store(true, Ordering::Relaxed);
        let t = Instant::now();
        s.next_frame().unwrap();
        assert!(t.elapsed() < Duration::from_millis(100));
    }
}
