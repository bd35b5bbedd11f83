//! Stage 1: which way round is the ink? Dark ink on paper, or light ink (chalk, whiteboard
//! marker) on a dark board.
//!
//! The binariser measures both at once: every pixel that stands out from its local mean by
//! more than the margin counts as dark-ink or light-ink evidence, weighted by the square of
//! how far past the margin it is. Ink is the locally minor phase: around a stroke covering a
//! fraction `f < 1/2` of the window, ink deviates by `(1 - f) C` and the paper next to it by
//! only `f C`, so the ink side has the larger excess. Smooth light changes (gradients,
//! vignetting, shadow edges) deviate both ways about equally and only just past the margin,
//! which the squaring makes count little next to real strokes, and the brightness of the
//! frame's middle (where the camera is aimed: a sheet, not the table it lies on) has
//! the casting vote unless the evidence is clear ([`decide`]). Inverting the frame swaps the
//! two sums and mirrors the brightness exactly, so an inverted frame always gets the opposite
//! polarity (bar an exact tie on a mid-grey frame) and, downstream, the identical ink map.

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
    /// Sum of pixel values over a fixed sample of the frame's middle (tie-break: a bright
    /// middle is paper, even on a dark table)...
    pub brightness_sum: u64,
    /// ...and the number of pixels in that sample.
    pub pixels: u64,
}

/// How many times the evidence against the frame's brightness must outweigh the evidence for
/// it. A bright frame is paper and a dark one a board unless the strokes clearly say otherwise:
/// a hard shadow edge across a page of small, thin digits can give more light-ink evidence
/// (the lit paper beside the shadow) than the digits give dark-ink evidence. On 1 500 scenes
/// drawn from validation digits (README, "Development"), the two that went wrong that way had
/// 1.2x and 1.9x; the closest right decisions against the brightness (dark-ink pages dimmer
/// than mid-grey) had 41x, and with it (chalk on a board) 1.3x.
pub const AGAINST_BRIGHTNESS_RATIO: u64 = 4;

/// Dark ink on a bright frame and light ink on a dark one, unless the other polarity's
/// weighted evidence is [`AGAINST_BRIGHTNESS_RATIO`] times larger. A frame of exactly
/// mid-grey brightness goes by the larger evidence (an exact tie there: dark ink).
pub fn decide(e: &PolarityEvidence) -> Polarity {
    use std::cmp::Ordering::*;
    let (favoured, favoured_excess, other_excess) = match (2 * e.brightness_sum).cmp(&(255 * e.pixels)) {
        Greater => (Polarity::DarkInk, e.dark_excess, e.light_excess),
        Less => (Polarity::LightInk, e.light_excess, e.dark_excess),
        Equal if e.light_excess > e.dark_excess => return Polarity::LightInk,
        Equal => return Polarity::DarkInk,
    };
    if other_excess > favoured_excess.saturating_mul(AGAINST_BRIGHTNESS_RATIO) {
        favoured.opposite()
    } else {
        favoured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(dark: u64, light: u64, mean: u64) -> PolarityEvidence {
        PolarityEvidence { dark_excess: dark, light_excess: light, brightness_sum: mean * 100, pixels: 100 }
    }

    #[test]
    fn clearly_larger_excess_wins_against_the_brightness() {
        assert_eq!(decide(&evidence(500, 20, 30)), Polarity::DarkInk, "dark ink on a dim page");
        assert_eq!(decide(&evidence(20, 500, 220)), Polarity::LightInk, "chalk on an overexposed board");
        assert_eq!(decide(&evidence(20, 500, 30)), Polarity::LightInk);
        assert_eq!(decide(&evidence(500, 20, 220)), Polarity::DarkInk);
    }

    #[test]
    fn a_bright_frame_is_paper_unless_the_light_evidence_is_four_times_larger() {
        // A shadow edge on a page of thin digits: more light-ink evidence, not four times more.
        assert_eq!(decide(&evidence(652_619, 789_751, 227)), Polarity::DarkInk);
        assert_eq!(decide(&evidence(100, 400, 200)), Polarity::DarkInk, "exactly 4x");
        assert_eq!(decide(&evidence(100, 401, 200)), Polarity::LightInk);
        assert_eq!(decide(&evidence(0, 1, 200)), Polarity::LightInk, "any light evidence beats none");
        assert_eq!(decide(&evidence(u64::MAX / 2, u64::MAX, 200)), Polarity::DarkInk, "no overflow");
    }

    #[test]
    fn ties_go_by_brightness_and_swap_under_inversion() {
        assert_eq!(decide(&evidence(0, 0, 200)), Polarity::DarkInk);
        assert_eq!(decide(&evidence(0, 0, 55)), Polarity::LightInk);
        for (d, l, m) in [(3, 9, 10), (9, 3, 240), (0, 0, 17), (7, 7, 250), (100, 300, 200), (300, 100, 200), (100, 500, 200)] {
            let inverted = evidence(l, d, 255 - m);
            assert_eq!(decide(&inverted), decide(&evidence(d, l, m)).opposite());
        }
    }

    #[test]
    fn a_mid_grey_frame_goes_by_the_larger_evidence() {
        let mid = |d, l| PolarityEvidence { dark_excess: d, light_excess: l, brightness_sum: 255, pixels: 2 };
        assert_eq!(decide(&mid(10, 11)), Polarity::LightInk);
        assert_eq!(decide(&mid(11, 10)), Polarity::DarkInk);
        assert_eq!(decide(&mid(10, 10)), Polarity::DarkInk);
    }
}
