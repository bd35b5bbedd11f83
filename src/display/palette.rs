//! Screen colours: saturated and high contrast, so a 240x240 panel reads at arm's length.

use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::*;

pub const BACKGROUND: Rgb565 = Rgb565::BLACK;
pub const READING: Rgb565 = Rgb565::WHITE;
/// Placeholders ("--") and captions: visible, but clearly not a value.
pub const DIM: Rgb565 = Rgb565::new(17, 34, 17);
pub const STATUS_BAR: Rgb565 = Rgb565::new(4, 8, 4);
pub const STATUS_TEXT: Rgb565 = Rgb565::new(26, 52, 26);
/// Notice banner: black on amber, like a warning sign.
pub const NOTICE_BACKGROUND: Rgb565 = Rgb565::new(31, 44, 0);
pub const NOTICE_TEXT: Rgb565 = Rgb565::BLACK;
pub const NO_IMAGE: Rgb565 = Rgb565::new(3, 6, 3);
pub const PROMPT: Rgb565 = Rgb565::YELLOW;
pub const LOST_BACKGROUND: Rgb565 = Rgb565::new(14, 0, 0);
pub const LOST_TEXT: Rgb565 = Rgb565::WHITE;
pub const LOST_HINT: Rgb565 = Rgb565::YELLOW;
pub const STARTING: Rgb565 = Rgb565::CYAN;
/// Text drawn on a digit label (the label's background is the box colour).
pub const LABEL_TEXT: Rgb565 = Rgb565::BLACK;

/// Green when sure, yellow when fair, red when doubtful: boxes, labels and the confidence.
pub fn for_confidence(pct: u8) -> Rgb565 {
    match pct {
        90.. => Rgb565::GREEN,
        70..=89 => Rgb565::YELLOW,
        _ => Rgb565::new(31, 8, 4),
    }
}
