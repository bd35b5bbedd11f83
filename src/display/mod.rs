//! What the user sees: one screen layout drawn with embedded-graphics, and back ends that
//! put it somewhere (PNG files on a PC, nothing at all for benches; the SPI panel later).
//!
//! Every back end renders the same way: `draw_screen` into a `Canvas565`, then ships the
//! canvas (or just the part that changed) to its output.

pub mod camera_view;
pub mod canvas;
pub mod framebuffer;
pub mod panel;
pub mod layout;
mod palette;
pub mod png;
pub mod screen;
mod text;

use std::path::PathBuf;

use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::*;
use thiserror::Error;

pub use canvas::Canvas565;
pub use framebuffer::{FbGeometry, FramebufferDisplay, PixelFormat};
pub use layout::Layout;
pub use png::{PngDisplay, PngOptions};
pub use screen::{draw_screen, ScreenState, ShownDigit, Status};

/// The panel size the firmware is designed around.
pub const DEFAULT_SIZE: Size = Size::new(240, 240);

#[derive(Debug, Error)]
pub enum DisplayError {
    #[error("display I/O on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("could not encode the screen as PNG for {path}: {source}")]
    Encode { path: PathBuf, source: image::ImageError },
    #[error("display panel: {0}")]
    Panel(String),
    #[error("display size {width}x{height} is not supported ({reason})")]
    BadSize { width: u32, height: u32, reason: &'static str },
}

/// A place screens are shown: a panel, a folder of PNGs, nowhere.
pub trait Display {
    /// Draws `state` and shows it.
    fn show(&mut self, state: &ScreenState) -> Result<(), DisplayError>;
    /// Blanks the screen.
    fn clear(&mut self) -> Result<(), DisplayError>;
    /// The screen size in pixels.
    fn size(&self) -> Size;
}

/// Shows nothing. With `rendering`, still draws every screen into a canvas, so a headless
/// run or a bench pays (and measures) the drawing cost without any output.
#[derive(Debug)]
pub struct NullDisplay {
    size: Size,
    canvas: Option<Canvas565>,
    shown: u64,
}

impl NullDisplay {
    /// Draws nothing at all.
    pub fn new(size: Size) -> Self { Self { size, canvas: None, shown: 0 } }
    /// Draws into an in-memory canvas and throws it away.
    pub fn rendering(size: Size) -> Self { Self { size, canvas: Some(Canvas565::new(size)), shown: 0 } }
    /// Screens shown so far.
    pub fn shown(&self) -> u64 { self.shown }
    /// The last drawn screen, when rendering.
    pub fn canvas(&self) -> Option<&Canvas565> { self.canvas.as_ref() }
}

impl Default for NullDisplay {
    fn default() -> Self { Self::new(DEFAULT_SIZE) }
}

impl Display for NullDisplay {
    fn show(&mut self, state: &ScreenState) -> Result<(), DisplayError> {
        if let Some(canvas) = &mut self.canvas {
            let Ok(()) = draw_screen(canvas, state);
        }
        self.shown += 1;
        Ok(())
    }

    fn clear(&mut self) -> Result<(), DisplayError> {
        if let Some(canvas) = &mut self.canvas {
            let Ok(()) = canvas.clear(Rgb565::BLACK);
        }
        Ok(())
    }

    fn size(&self) -> Size { self.size }
}

#[cfg(test)]
mod tests;
