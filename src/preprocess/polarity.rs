//! Stage 1: which way round is the ink? Dark ink on paper, or light ink (chalk, whiteboard
//! marker) on a dark board.
//!
//! The binariser measures both at once: every pixel that stands out from its local mean by
//! more than the margin counts as dark-ink or light-ink evidence, weighted by the square of
//! how far past the margin it is. Ink is the locally minor phase: around a stroke covering a
//! fraction `f < 1/2` of the window, ink deviates by `(1 - f) C` and the paper next to it by
//! only `f C`, so the ink side has the larger excess. Smooth light changes (gradients,
//! vignetting, shadow edges) deviate both ways about equally and only just past the margin,
//! which the squaring makes count little next to real strokes. Inverting the frame swaps the
//! two sums exactly, so an inverted frame always gets the opposite polarity and, downstream,
//! the identical ink map.

use serde::{Deserialize, Serialize};

/// Which way round the ink is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    /// Dark ink on light paper.
    #[default]
    DarkInk,
    /// Light ink (chalk, marker) on a dark board.
    LightInk,
}

impl Polarity {
    pub fn opposite(self) -> Self {
        match self {
            Polarity::DarkInk => Polarity::LightInk,
            Polarity::LightInk => Polarity::DarkInk,
        }
    }
}

/// What the binariser saw, for the polarity decision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PolarityEvidence {
    /// Sum over dark-ink pixels of their contrast beyond the margin, squared (grey levels²).
    pub dark_excess: u64,
    /// Sum over light-ink pixels of their contrast beyond the margin, squared (grey levels²).
    pub light_excess: u64,
    /// Sum of pixel values over a fixed sample of the frame (tie-break: a bright frame is
    /// paper)...
    pub brightness_sum: u64,
    /// ...and the number of pixels in that sample.
    pub pixels: u64,
}

/// The polarity with the larger weighted evidence; an exact tie (a blank frame) goes by the
/// overall brightness.
pub fn decide(e: &PolarityEvidence) -> Polarity {
    use std::cmp::Ordering::*;
    match e.dark_excess.cmp(&e.light_excess) {
        Greater => Polarity::DarkInk,
        Less => Polarity::LightInk,
        Equal if 2 * e.brightness_sum >= 255 * e.pixels => Polarity::DarkInk,
        Equal => Polarity::LightInk,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(dark: u64, light: u64, mean: u64) -> PolarityEvidence {
        PolarityEvidence { dark_excess: dark, light_excess: light, brightness_sum: mean * 100, pixels: 100 }
    }

    #[test]
    fn larger_excess_wins() {
        assert_eq!(decide(&evidence(500, 20, 30)), Polarity::DarkInk);
        assert_eq!(decide(&evidence(20, 500, 220)), Polarity::LightInk);
    }

    #[test]
    fn ties_go_by_brightness_and_swap_under_inversion() {
        assert_eq!(decide(&evidence(0, 0, 200)), Polarity::DarkInk);
        assert_eq!(decide(&evidence(0, 0, 55)), Polarity::LightInk);
        for (d, l, m) in [(3, 9, 10), (9, 3, 240), (0, 0, 17), (7, 7, 250)] {
            let inverted = evidence(l, d, 255 - m);
            assert_eq!(decide(&inverted), decide(&evidence(d, l, m)).opposite());
        }
    }
}
