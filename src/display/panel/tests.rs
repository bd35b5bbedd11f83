//! Exact byte streams of the panel drivers, checked with embedded-hal-mock: every SPI write and
//! every DC/reset/backlight level, in order.

use embedded_graphics::prelude::*;
use embedded_hal_mock::eh1::delay::NoopDelay;
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
use embedded_hal_mock::eh1::spi::{Mock as SpiMock, Transaction as Spi};
use mipidsi::models::ST7789;
use mipidsi::options::{ColorInversion, Orientation};
use mipidsi::Builder;

use super::transport::{SpiTransport, MAX_TRANSFER};
use super::PanelDisplay;
use crate::display::{Display, ScreenState, Status};

/// The expected traffic, built up command by command.
#[derive(Default)]
struct Expect {
    spi: Vec<Spi<u8>>,
    dc: Vec<Pin>,
}

impl Expect {
    fn write(&mut self, bytes: &[u8]) {
        self.spi.extend([Spi::transaction_start(), Spi::write_vec(bytes.to_vec()), Spi::transaction_end()]);
    }
    /// A command: DC low, the opcode, DC high, then its arguments.
    fn command(&mut self, opcode: u8, args: &[u8]) {
        self.dc.extend([Pin::set(State::Low), Pin::set(State::High)]);
        self.write(&[opcode]);
        if !args.is_empty() {
            self.write(args);
        }
    }
    /// Pixel data after RAMWR, in transfers of at most MAX_TRANSFER bytes.
    fn pixels(&mut self, data: &[u8]) {
        for chunk in data.chunks(MAX_TRANSFER) {
            self.write(chunk);
        }
    }
}

/// ST7789 init as sent for the Pico-LCD-1.3: hardware reset, SLPOUT, MADCTL, INVON, COLMOD
/// 16-bit, NORON, DISPON.
fn st7789_init(e: &mut Expect) {
    e.command(0x11, &[]); // SLPOUT
    e.command(0x36, &[0x00]); // MADCTL: rotation 0, RGB
    e.command(0x21, &[]); // INVON: this panel shows true colours inverted
    e.command(0x3A, &[0x55]); // COLMOD: 16 bits per pixel, RGB565
    e.command(0x13, &[]); // NORON
    e.command(0x29, &[]); // DISPON
}

fn be16(v: u16) -> [u8; 2] {
    v.to_be_bytes()
}

/// A window write: CASET x0..x1, RASET y0..y1, RAMWR, pixels.
fn window(e: &mut Expect, x0: u16, y0: u16, x1: u16, y1: u16, pixels: &[u8]) {
    e.command(0x2A, &[be16(x0), be16(x1)].concat());
    e.command(0x2B, &[be16(y0), be16(y1)].concat());
    e.command(0x2C, &[]);
    e.pixels(pixels);
}

fn screen(status: Status) -> ScreenState<'static> {
    ScreenState { status, ..ScreenState::default() }
}

#[test]
fn st7789_init_full_frame_and_partial_update_byte_streams() {
    // What the screens look like, to know the pixel bytes to expect.
    let mut first = crate::display::Canvas565::new(embedded_graphics::prelude::Size::new(240, 240));
    let Ok(()) = crate::display::draw_screen(&mut first, &screen(Status::NoDigits));
    let mut second = first.clone();
    let Ok(()) = crate::display::draw_screen(&mut second, &screen(Status::CameraLost));
    let changed = second.changed_since(&first).expect("the two screens differ");
    let bytes_of = |c: &crate::display::Canvas565, r: embedded_graphics::primitives::Rectangle| -> Vec<u8> {
        let mut out = Vec::new();
        for y in r.top_left.y..r.top_left.y + r.size.height as i32 {
            for x in r.top_left.x..r.top_left.x + r.size.width as i32 {
                let p = c.pixel(embedded_graphics::prelude::Point::new(x, y)).unwrap();
                out.extend_from_slice(&embedded_graphics::pixelcolor::raw::RawU16::from(p).into_inner().to_be_bytes());
            }
        }
        out
    };

    let mut e = Expect::default();
    st7789_init(&mut e);
    window(&mut e, 0, 0, 239, 239, &bytes_of(&first, first.bounds()));
    let (x0, y0) = (changed.top_left.x as u16, changed.top_left.y as u16);
    let (x1, y1) = (x0 + changed.size.width as u16 - 1, y0 + changed.size.height as u16 - 1);
    window(&mut e, x0, y0, x1, y1, &bytes_of(&second, changed));

    let mut spi = SpiMock::new(&e.spi);
    let mut dc = PinMock::new(&e.dc);
    let mut rst = PinMock::new(&[Pin::set(State::Low), Pin::set(State::High)]);
    let mut bl = PinMock::new(&[Pin::set(State::High), Pin::set(State::Low)]); // on, then off on drop
    {
        let transport = SpiTransport::new(spi.clone(), dc.clone());
        let display = Builder::new(ST7789, transport)
            .display_size(240, 240)
            .invert_colors(ColorInversion::Inverted)
            .orientation(Orientation::new())
            .reset_pin(rst.clone())
            .init(&mut NoopDelay)
            .unwrap();
        let mut panel = PanelDisplay::new(display, Some(bl.clone())).unwrap();
        panel.show(&screen(Status::NoDigits)).unwrap();
        panel.show(&screen(Status::NoDigits)).unwrap(); // unchanged: nothing sent
        panel.show(&screen(Status::CameraLost)).unwrap();
        assert_eq!(panel.pixels_sent(), 240 * 240 + u64::from(changed.size.width * changed.size.height));
    }
    spi.done();
    dc.done();
    rst.done();
    bl.done();
}

#[test]
fn transfers_never_exceed_the_spidev_buffer() {
    // 3000 pixels = 6000 bytes: one 4096-byte transfer, then 1904.
    let mut e = Expect::default();
    e.command(0x2C, &[]);
    let data: Vec<u8> = (0..3000u16).flat_map(|i| i.to_be_bytes()).collect();
    e.pixels(&data);
    assert_eq!(e.spi.len(), 3 * (1 + 2));
    let mut spi = SpiMock::new(&e.spi);
    let mut dc = PinMock::new(&e.dc);
    let mut t = SpiTransport::new(spi.clone(), dc.clone());
    use mipidsi::interface::Interface;
    t.send_command(0x2C, &[]).unwrap();
    t.send_pixels((0..3000u16).map(|i| i.to_be_bytes())).unwrap();
    spi.done();
    dc.done();
}
