//! SPI panels driven from user space: ST7789 240x240 (Waveshare Pico-LCD-1.3) and ILI9341
//! 320x240, through `mipidsi` (`Model` per chip) over [`transport::SpiTransport`], with
//! `linux-embedded-hal` for `/dev/spidevB.C` and GPIO character-device lines.
//!
//! Each screen is drawn into a [`Canvas565`]; only the rectangle that differs from what the panel
//! shows is sent, so a changed reading costs a few thousand bytes, not the whole frame.

pub mod linux;
pub mod transport;

use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::*;
use embedded_hal::digital::OutputPin;
use mipidsi::interface::Interface;
use mipidsi::models::Model;

use super::canvas::{Canvas565, ShownCanvas};
use super::{draw_screen, Display, DisplayError, ScreenState};

pub use linux::{open, PanelConfig, PanelModel};

/// A panel behind mipidsi, with the screen diffing and an optional backlight line.
pub struct PanelDisplay<DI: Interface<Word = u8>, M: Model<ColorFormat = Rgb565>, RST: OutputPin, BL: OutputPin> {
    display: mipidsi::Display<DI, M, RST>,
    backlight: Option<BL>,
    canvas: Canvas565,
    shown: ShownCanvas,
    pixels_sent: u64,
}

impl<DI, M, RST, BL> PanelDisplay<DI, M, RST, BL>
where
    DI: Interface<Word = u8>,
    M: Model<ColorFormat = Rgb565>,
    RST: OutputPin,
    BL: OutputPin,
{
    /// Wraps an initialised mipidsi display; turns the backlight on (lines are requested so
    /// that "high" means "on", whatever the panel's polarity).
    pub fn new(display: mipidsi::Display<DI, M, RST>, mut backlight: Option<BL>) -> Result<Self, DisplayError> {
        if let Some(bl) = &mut backlight {
            bl.set_high().map_err(|e| DisplayError::Panel(format!("backlight: {e:?}")))?;
        }
        let size = display.size();
        Ok(Self { display, backlight, canvas: Canvas565::new(size), shown: ShownCanvas::default(), pixels_sent: 0 })
    }

    /// Pixels sent to the panel so far.
    pub fn pixels_sent(&self) -> u64 {
        self.pixels_sent
    }

    fn flush(&mut self) -> Result<(), DisplayError> {
        let Some(r) = self.shown.pending(&self.canvas) else { return Ok(()) };
        if r.size.width == 0 || r.size.height == 0 {
            return Ok(());
        }
        let (x0, y0) = (r.top_left.x.max(0) as usize, r.top_left.y.max(0) as usize);
        let (w, h) = (r.size.width as usize, r.size.height as usize);
        let stride = self.canvas.width() as usize;
        let pixels = self.canvas.pixels();
        let rows = (y0..y0 + h).flat_map(|y| pixels[y * stride + x0..y * stride + x0 + w].iter().copied());
        self.display
            .set_pixels(x0 as u16, y0 as u16, (x0 + w - 1) as u16, (y0 + h - 1) as u16, rows)
            .map_err(|e| DisplayError::Panel(format!("SPI write: {e:?}")))?;
        self.pixels_sent += (w * h) as u64;
        self.shown.commit(&self.canvas);
        Ok(())
    }
}

/// The backlight goes off with the display (after `clear` on shutdown, the panel is dark).
impl<DI, M, RST, BL> Drop for PanelDisplay<DI, M, RST, BL>
where
    DI: Interface<Word = u8>,
    M: Model<ColorFormat = Rgb565>,
    RST: OutputPin,
    BL: OutputPin,
{
    fn drop(&mut self) {
        if let Some(bl) = &mut self.backlight {
            let _ = bl.set_low();
        }
    }
}

impl<DI, M, RST, BL> Display for PanelDisplay<DI, M, RST, BL>
where
    DI: Interface<Word = u8>,
    M: Model<ColorFormat = Rgb565>,
    RST: OutputPin,
    BL: OutputPin,
{
    fn show(&mut self, state: &ScreenState) -> Result<(), DisplayError> {
        let Ok(()) = draw_screen(&mut self.canvas, state);
        self.flush()
    }

    fn clear(&mut self) -> Result<(), DisplayError> {
        let Ok(()) = self.canvas.clear(Rgb565::BLACK);
        self.flush()
    }

    fn size(&self) -> Size {
        self.canvas.bounds().size
    }
}

#[cfg(test)]
mod tests;
