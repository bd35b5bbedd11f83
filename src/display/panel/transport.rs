//! The SPI transport under mipidsi: a DC pin for command/data and an SPI device, with every
//! transfer at most [`MAX_TRANSFER`] bytes (Linux spidev refuses larger ones by default).

use embedded_hal::digital::OutputPin;
use embedded_hal::spi::SpiDevice;
use mipidsi::interface::{Interface, InterfaceKind};

/// Largest single SPI write: spidev's default buffer size.
pub const MAX_TRANSFER: usize = 4096;

/// Error of the SPI bus or the DC line.
#[derive(Debug)]
pub enum TransportError<S, D> {
    Spi(S),
    Dc(D),
}

/// mipidsi `Interface` over an `SpiDevice` and a DC pin, owning its staging buffer.
pub struct SpiTransport<SPI, DC> {
    spi: SPI,
    dc: DC,
    buffer: Vec<u8>,
}

impl<SPI: SpiDevice, DC: OutputPin> SpiTransport<SPI, DC> {
    pub fn new(spi: SPI, dc: DC) -> Self {
        Self { spi, dc, buffer: Vec::with_capacity(MAX_TRANSFER) }
    }

    /// The bus and pin back.
    pub fn release(self) -> (SPI, DC) {
        (self.spi, self.dc)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), TransportError<SPI::Error, DC::Error>> {
        for chunk in bytes.chunks(MAX_TRANSFER) {
            self.spi.write(chunk).map_err(TransportError::Spi)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), TransportError<SPI::Error, DC::Error>> {
        if !self.buffer.is_empty() {
            self.spi.write(&self.buffer).map_err(TransportError::Spi)?;
            self.buffer.clear();
        }
        Ok(())
    }
}

impl<SPI: SpiDevice, DC: OutputPin> Interface for SpiTransport<SPI, DC> {
    type Word = u8;
    type Error = TransportError<SPI::Error, DC::Error>;
    const KIND: InterfaceKind = InterfaceKind::Serial4Line;

    fn send_command(&mut self, command: u8, args: &[u8]) -> Result<(), Self::Error> {
        self.dc.set_low().map_err(TransportError::Dc)?;
        self.spi.write(&[command]).map_err(TransportError::Spi)?;
        // DC stays high after every command: pixel data follows RAMWR without another call.
        self.dc.set_high().map_err(TransportError::Dc)?;
        if !args.is_empty() {
            let args = args.to_vec();
            self.write(&args)?;
        }
        Ok(())
    }

    fn send_pixels<const N: usize>(&mut self, pixels: impl IntoIterator<Item = [u8; N]>) -> Result<(), Self::Error> {
        let per_transfer = (MAX_TRANSFER / N.max(1)) * N;
        self.buffer.clear();
        for p in pixels {
            self.buffer.extend_from_slice(&p);
            if self.buffer.len() >= per_transfer {
                self.flush()?;
            }
        }
        self.flush()
    }

    fn send_repeated_pixel<const N: usize>(&mut self, pixel: [u8; N], count: u32) -> Result<(), Self::Error> {
        self.send_pixels((0..count).map(|_| pixel))
    }
}
