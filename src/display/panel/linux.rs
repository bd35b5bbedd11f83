//! Opening a panel on Linux: `/dev/spidevB.C` and GPIO lines named `gpiochipN:offset`.

use std::path::PathBuf;

use embedded_hal::digital::{ErrorType, OutputPin};
use linux_embedded_hal::gpio_cdev::{Chip, LineRequestFlags};
use linux_embedded_hal::spidev::{SpiModeFlags, SpidevOptions};
use linux_embedded_hal::{CdevPin, Delay, SpidevDevice};
use mipidsi::models::{Model, ILI9341Rgb565, ST7789};
use mipidsi::options::{ColorInversion, ColorOrder, Orientation, Rotation};
use mipidsi::Builder;
use embedded_graphics::pixelcolor::Rgb565;
use serde::{Deserialize, Serialize};

use super::transport::SpiTransport;
use super::PanelDisplay;
use crate::display::{Display, DisplayError};

/// The panel controller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelModel {
    /// 240x240 (Waveshare Pico-LCD-1.3), colours inverted as that module needs.
    #[default]
    St7789,
    /// 320x240 landscape.
    Ili9341,
}

/// `[display.panel]` of the config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PanelConfig {
    pub model: PanelModel,
    /// SPI device node.
    pub spi: PathBuf,
    /// SPI clock in Hz.
    pub speed_hz: u32,
    /// Data/command line, `gpiochipN:offset`.
    pub dc: String,
    /// Reset line, `gpiochipN:offset`; empty for none.
    pub reset: String,
    /// Backlight line, `gpiochipN:offset`; empty for none.
    pub backlight: String,
    /// The backlight is on when its line is low (the Pico-LCD-1.3's is).
    pub backlight_active_low: bool,
    /// Clockwise rotation in degrees: 0, 90, 180 or 270.
    pub rotation: u16,
}

impl Default for PanelConfig {
    /// The Luckfox Pico wiring of the Pico-LCD-1.3 (board-facts.md): DC GPIO1_A2, RST GPIO1_C3,
    /// BL GPIO0_A4 active-low.
    fn default() -> Self {
        Self {
            model: PanelModel::St7789,
            spi: PathBuf::from("/dev/spidev0.0"),
            speed_hz: 40_000_000,
            dc: "gpiochip1:2".into(),
            reset: "gpiochip1:19".into(),
            backlight: "gpiochip0:4".into(),
            backlight_active_low: true,
            rotation: 0,
        }
    }
}

/// A line spec `gpiochipN:offset` (or `/dev/gpiochipN:offset`).
pub fn parse_line(spec: &str) -> Result<(PathBuf, u32), String> {
    let (chip, offset) = spec.rsplit_once(':').ok_or_else(|| format!("GPIO line {spec:?} is not gpiochipN:offset"))?;
    let offset: u32 = offset.trim().parse().map_err(|_| format!("GPIO line {spec:?} has no numeric offset"))?;
    let chip = chip.trim();
    if chip.is_empty() {
        return Err(format!("GPIO line {spec:?} names no chip"));
    }
    let path = if chip.starts_with('/') { PathBuf::from(chip) } else { PathBuf::from("/dev").join(chip) };
    Ok((path, offset))
}

fn rotation(degrees: u16) -> Result<Rotation, DisplayError> {
    Ok(match degrees {
        0 => Rotation::Deg0,
        90 => Rotation::Deg90,
        180 => Rotation::Deg180,
        270 => Rotation::Deg270,
        d => return Err(DisplayError::Panel(format!("display.panel.rotation is {d}; use 0, 90, 180 or 270"))),
    })
}

fn output_line(spec: &str, active_low: bool, what: &str) -> Result<CdevPin, DisplayError> {
    let (chip_path, offset) = parse_line(spec).map_err(|e| DisplayError::Panel(format!("{what}: {e}")))?;
    let fail = |e: &dyn std::fmt::Display| DisplayError::Panel(format!("{what} line {}:{offset}: {e}", chip_path.display()));
    let mut chip = Chip::new(&chip_path).map_err(|e| fail(&e))?;
    let line = chip.get_line(offset).map_err(|e| fail(&e))?;
    let mut flags = LineRequestFlags::OUTPUT;
    if active_low {
        flags |= LineRequestFlags::ACTIVE_LOW;
    }
    let handle = line.request(flags, 0, "digitd").map_err(|e| fail(&e))?;
    CdevPin::new(handle).map_err(|e| fail(&e))
}

/// An optional output line: absent lines accept and ignore writes.
pub struct OptionalPin(pub Option<CdevPin>);

impl ErrorType for OptionalPin {
    type Error = linux_embedded_hal::CdevPinError;
}

impl OutputPin for OptionalPin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.0.as_mut().map_or(Ok(()), |p| p.set_low())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.0.as_mut().map_or(Ok(()), |p| p.set_high())
    }
}

fn optional_line(spec: &str, active_low: bool, what: &str) -> Result<OptionalPin, DisplayError> {
    if spec.trim().is_empty() {
        return Ok(OptionalPin(None));
    }
    output_line(spec, active_low, what).map(|p| OptionalPin(Some(p)))
}

/// Opens and initialises the panel described by `cfg`.
pub fn open(cfg: &PanelConfig) -> Result<Box<dyn Display>, DisplayError> {
    let rotation = rotation(cfg.rotation)?;
    let mut spi = SpidevDevice::open(&cfg.spi).map_err(|e| DisplayError::Panel(format!("cannot open {}: {e}", cfg.spi.display())))?;
    let options = SpidevOptions::new().bits_per_word(8).max_speed_hz(cfg.speed_hz).mode(SpiModeFlags::SPI_MODE_0).build();
    spi.0.configure(&options).map_err(|e| DisplayError::Panel(format!("cannot configure {}: {e}", cfg.spi.display())))?;
    let dc = output_line(&cfg.dc, false, "display.panel.dc")?;
    let reset = optional_line(&cfg.reset, false, "display.panel.reset")?;
    let backlight = optional_line(&cfg.backlight, cfg.backlight_active_low, "display.panel.backlight")?;
    let transport = SpiTransport::new(spi, dc);
    let mut delay = Delay;
    match cfg.model {
        PanelModel::St7789 => {
            let builder = Builder::new(ST7789, transport)
                .display_size(240, 240)
                .invert_colors(ColorInversion::Inverted)
                .orientation(Orientation::new().rotate(rotation))
                .reset_pin(reset);
            finish(builder.init(&mut delay), backlight)
        }
        PanelModel::Ili9341 => {
            // Landscape: the 240x320 controller turned by 90 degrees, then the configured rotation.
            let builder = Builder::new(ILI9341Rgb565, transport)
                .display_size(240, 320)
                .color_order(ColorOrder::Bgr)
                .orientation(Orientation::new().rotate(Rotation::Deg90).rotate(rotation))
                .reset_pin(reset);
            finish(builder.init(&mut delay), backlight)
        }
    }
}

fn finish<DI, M, E: std::fmt::Debug>(
    display: Result<mipidsi::Display<DI, M, OptionalPin>, E>,
    backlight: OptionalPin,
) -> Result<Box<dyn Display>, DisplayError>
where
    DI: mipidsi::interface::Interface<Word = u8> + 'static,
    M: Model<ColorFormat = Rgb565> + 'static,
{
    let display = display.map_err(|e| DisplayError::Panel(format!("panel initialisation failed: {e:?}")))?;
    Ok(Box::new(PanelDisplay::new(display, Some(backlight))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_specs() {
        assert_eq!(parse_line("gpiochip1:2").unwrap(), (PathBuf::from("/dev/gpiochip1"), 2));
        assert_eq!(parse_line("/dev/gpiochip0:4").unwrap(), (PathBuf::from("/dev/gpiochip0"), 4));
        assert!(parse_line("gpiochip1").is_err());
        assert!(parse_line("gpiochip1:x").is_err());
        assert!(parse_line(":3").is_err());
    }

    #[test]
    fn rotations() {
        assert!(rotation(90).is_ok());
        assert!(rotation(45).unwrap_err().to_string().contains("0, 90, 180 or 270"));
    }

    #[test]
    fn missing_devices_are_clear_errors() {
        let cfg = PanelConfig { spi: PathBuf::from("/nonexistent/spidev9.9"), ..PanelConfig::default() };
        let err = open(&cfg).err().unwrap().to_string();
        assert!(err.contains("cannot open /nonexistent/spidev9.9"), "{err}");
    }
}
