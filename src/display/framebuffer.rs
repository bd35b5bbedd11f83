//! The Linux framebuffer (`/dev/fbN`), for panels driven by the kernel (fbtft ST7789 on the
//! Luckfox, HDMI on a PC): RGB565 or XRGB8888, geometry from sysfs.
//!
//! Writes go through the file with positioned writes, not mmap: no `unsafe`, and only the rows of
//! the region that changed since the last screen are written, so an unchanged screen costs
//! nothing and a new reading costs a few rows.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

use super::canvas::{Canvas565, ShownCanvas};
use super::{draw_screen, Display, DisplayError, ScreenState};

/// How pixels are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// 16 bits, little-endian `RRRRRGGG GGGBBBBB`.
    Rgb565,
    /// 32 bits, little-endian B, G, R, X.
    Xrgb8888,
}

impl PixelFormat {
    pub fn bytes(self) -> usize {
        match self {
            PixelFormat::Rgb565 => 2,
            PixelFormat::Xrgb8888 => 4,
        }
    }
}

/// Size and memory layout of a framebuffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FbGeometry {
    pub width: u32,
    pub height: u32,
    /// Bytes from one row to the next (at least `width * bytes per pixel`).
    pub stride: usize,
    pub format: PixelFormat,
}

impl FbGeometry {
    /// Reads `/sys/class/graphics/fbN/{virtual_size,bits_per_pixel,stride}` for `/dev/fbN`.
    pub fn from_sysfs(device: &Path) -> Result<Self, DisplayError> {
        let name = device.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Self::from_sysfs_dir(&Path::new("/sys/class/graphics").join(name))
    }

    /// Reads the geometry from a sysfs folder (tests pass their own).
    pub fn from_sysfs_dir(dir: &Path) -> Result<Self, DisplayError> {
        let read = |file: &str| -> Result<String, DisplayError> {
            let path = dir.join(file);
            std::fs::read_to_string(&path).map(|s| s.trim().to_string()).map_err(|source| DisplayError::Io { path, source })
        };
        let bad = |what: String| DisplayError::Io { path: dir.to_path_buf(), source: std::io::Error::new(std::io::ErrorKind::InvalidData, what) };
        let size = read("virtual_size")?;
        let (w, h) = size.split_once(',').ok_or_else(|| bad(format!("virtual_size {size:?} is not W,H")))?;
        let (width, height): (u32, u32) =
            (w.trim().parse().map_err(|_| bad(format!("bad width {w:?}")))?, h.trim().parse().map_err(|_| bad(format!("bad height {h:?}")))?);
        let bpp = read("bits_per_pixel")?;
        let format = match bpp.as_str() {
            "16" => PixelFormat::Rgb565,
            "32" => PixelFormat::Xrgb8888,
            other => return Err(DisplayError::BadSize { width, height, reason: bpp_reason(other) }),
        };
        let stride = match read("stride") {
            Ok(s) => s.parse().map_err(|_| bad(format!("bad stride {s:?}")))?,
            Err(_) => width as usize * format.bytes(),
        };
        let g = FbGeometry { width, height, stride, format };
        g.check()?;
        Ok(g)
    }

    fn check(&self) -> Result<(), DisplayError> {
        let (width, height) = (self.width, self.height);
        if width == 0 || height == 0 {
            return Err(DisplayError::BadSize { width, height, reason: "the framebuffer has no pixels" });
        }
        if self.stride < width as usize * self.format.bytes() {
            return Err(DisplayError::BadSize { width, height, reason: "the row stride is shorter than a row" });
        }
        Ok(())
    }
}

fn bpp_reason(_bpp: &str) -> &'static str {
    "only 16-bit RGB565 and 32-bit XRGB8888 framebuffers are supported"
}

/// Shows screens on a Linux framebuffer device (or any file laid out like one).
#[derive(Debug)]
pub struct FramebufferDisplay {
    file: File,
    path: PathBuf,
    geometry: FbGeometry,
    canvas: Canvas565,
    /// What the framebuffer holds now.
    shown: ShownCanvas,
    row: Vec<u8>,
    bytes_written: u64,
}

impl FramebufferDisplay {
    /// Opens `/dev/fbN`, reading its geometry from sysfs. The screen is drawn at the
    /// framebuffer's size.
    pub fn open(device: &Path) -> Result<Self, DisplayError> {
        let geometry = FbGeometry::from_sysfs(device)?;
        Self::with_geometry(device, geometry)
    }

    /// Opens `path` as a framebuffer of the given geometry.
    pub fn with_geometry(path: &Path, geometry: FbGeometry) -> Result<Self, DisplayError> {
        geometry.check()?;
        let file = OpenOptions::new().write(true).open(path).map_err(|source| DisplayError::Io { path: path.to_path_buf(), source })?;
        let size = Size::new(geometry.width, geometry.height);
        Ok(Self { file, path: path.to_path_buf(), geometry, canvas: Canvas565::new(size), shown: ShownCanvas::default(), row: Vec::new(), bytes_written: 0 })
    }

    pub fn geometry(&self) -> FbGeometry {
        self.geometry
    }

    /// Bytes written to the framebuffer so far (tests and benches check partial updates).
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Writes the part of the canvas that differs from what the framebuffer shows.
    fn flush(&mut self) -> Result<(), DisplayError> {
        let Some(region) = self.shown.pending(&self.canvas) else { return Ok(()) };
        self.write_region(region)?;
        self.shown.commit(&self.canvas);
        Ok(())
    }

    fn write_region(&mut self, region: Rectangle) -> Result<(), DisplayError> {
        let width = self.canvas.width() as usize;
        let x0 = region.top_left.x.max(0) as usize;
        let y0 = region.top_left.y.max(0) as usize;
        let x1 = (x0 + region.size.width as usize).min(width);
        let y1 = (y0 + region.size.height as usize).min(self.canvas.height() as usize);
        let bpp = self.geometry.format.bytes();
        let pixels = self.canvas.pixels();
        for y in y0..y1 {
            self.row.clear();
            for c in &pixels[y * width + x0..y * width + x1] {
                pack(*c, self.geometry.format, &mut self.row);
            }
            let offset = (y * self.geometry.stride + x0 * bpp) as u64;
            self.file
                .write_all_at(&self.row, offset)
                .map_err(|source| DisplayError::Io { path: self.path.clone(), source })?;
            self.bytes_written += self.row.len() as u64;
        }
        Ok(())
    }
}

/// Appends one pixel in the framebuffer's format.
fn pack(c: Rgb565, format: PixelFormat, out: &mut Vec<u8>) {
    match format {
        PixelFormat::Rgb565 => {
            let raw = (u16::from(c.r()) << 11) | (u16::from(c.g()) << 5) | u16::from(c.b());
            out.extend_from_slice(&raw.to_le_bytes());
        }
        PixelFormat::Xrgb8888 => {
            let (r, g, b) = (c.r(), c.g(), c.b());
            // Widen so full scale maps to 255.
            out.extend_from_slice(&[(b << 3) | (b >> 2), (g << 2) | (g >> 4), (r << 3) | (r >> 2), 0xff]);
        }
    }
}

impl Display for FramebufferDisplay {
    fn show(&mut self, state: &ScreenState) -> Result<(), DisplayError> {
        let Ok(()) = draw_screen(&mut self.canvas, state);
        self.flush()
    }

    fn clear(&mut self) -> Result<(), DisplayError> {
        let Ok(()) = self.canvas.clear(Rgb565::BLACK);
        self.flush()
    }

    fn size(&self) -> Size {
        Size::new(self.geometry.width, self.geometry.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::{ShownDigit, Status};
    use embedded_graphics::pixelcolor::raw::RawU16;

    fn fb_file(g: FbGeometry) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fb0");
        // Pre-fill with a pattern so untouched bytes (stride padding) are visible.
        std::fs::write(&path, vec![0x5au8; g.stride * g.height as usize]).unwrap();
        (dir, path)
    }

    fn pixel565(bytes: &[u8], g: FbGeometry, x: usize, y: usize) -> u16 {
        let i = y * g.stride + x * 2;
        u16::from_le_bytes([bytes[i], bytes[i + 1]])
    }

    const DIGITS: [ShownDigit; 1] = [ShownDigit { bbox: crate::preprocess::BoundingBox { x: 10, y: 10, w: 20, h: 30 }, digit: 7, confidence_pct: 97 }];

    fn reading_state(text: &str) -> ScreenState<'_> {
        ScreenState { digits: &DIGITS, reading: Some(text), confidence_pct: Some(97), fps: 125, status: Status::Reading, ..ScreenState::default() }
    }

    #[test]
    fn rgb565_pixels_land_at_the_stride_and_padding_is_untouched() {
        let g = FbGeometry { width: 240, height: 240, stride: 240 * 2 + 16, format: PixelFormat::Rgb565 };
        let (_dir, path) = fb_file(g);
        let mut fb = FramebufferDisplay::with_geometry(&path, g).unwrap();
        fb.show(&reading_state("7")).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        for y in (0..240).step_by(7) {
            for x in (0..240).step_by(5) {
                let c = fb.canvas.pixel(Point::new(x as i32, y as i32)).unwrap();
                assert_eq!(pixel565(&bytes, g, x, y), RawU16::from(c).into_inner(), "pixel {x},{y}");
            }
            assert!(bytes[y * g.stride + 480..(y + 1) * g.stride].iter().all(|&b| b == 0x5a), "padding of row {y}");
        }
        assert_eq!(fb.bytes_written(), 240 * 240 * 2);
    }

    #[test]
    fn only_the_changed_region_is_rewritten() {
        let g = FbGeometry { width: 320, height: 240, stride: 640, format: PixelFormat::Rgb565 };
        let (_dir, path) = fb_file(g);
        let mut fb = FramebufferDisplay::with_geometry(&path, g).unwrap();
        fb.show(&reading_state("7")).unwrap();
        let full = fb.bytes_written();
        fb.show(&reading_state("7")).unwrap();
        assert_eq!(fb.bytes_written(), full, "an identical screen writes nothing");
        fb.show(&reading_state("71")).unwrap();
        let partial = fb.bytes_written() - full;
        assert!(partial > 0 && partial < full / 2, "a new reading rewrites {partial} of {full} bytes");
        // And the file equals a fresh full render of the new state.
        let bytes = std::fs::read(&path).unwrap();
        let mut fresh = Canvas565::new(Size::new(320, 240));
        let Ok(()) = draw_screen(&mut fresh, &reading_state("71"));
        for (i, c) in fresh.pixels().iter().enumerate() {
            let (x, y) = (i % 320, i / 320);
            assert_eq!(pixel565(&bytes, g, x, y), RawU16::from(*c).into_inner(), "pixel {x},{y}");
        }
        fb.clear().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.iter().all(|&b| b == 0), "cleared to black");
    }

    #[test]
    fn xrgb8888_widens_channels() {
        let g = FbGeometry { width: 240, height: 240, stride: 960, format: PixelFormat::Xrgb8888 };
        let (_dir, path) = fb_file(g);
        let mut fb = FramebufferDisplay::with_geometry(&path, g).unwrap();
        fb.canvas.clear(Rgb565::WHITE).unwrap();
        fb.flush().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], &[255, 255, 255, 255]);
        let mut v = Vec::new();
        pack(Rgb565::new(31, 0, 0), PixelFormat::Xrgb8888, &mut v);
        assert_eq!(v, [0, 0, 255, 255]);
    }

    #[test]
    fn geometry_from_sysfs_and_bad_geometries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("virtual_size"), "240,240\n").unwrap();
        std::fs::write(dir.path().join("bits_per_pixel"), "16\n").unwrap();
        std::fs::write(dir.path().join("stride"), "480\n").unwrap();
        let g = FbGeometry::from_sysfs_dir(dir.path()).unwrap();
        assert_eq!(g, FbGeometry { width: 240, height: 240, stride: 480, format: PixelFormat::Rgb565 });
        std::fs::write(dir.path().join("bits_per_pixel"), "24\n").unwrap();
        let e = FbGeometry::from_sysfs_dir(dir.path()).unwrap_err();
        assert!(e.to_string().contains("RGB565"), "{e}");
        std::fs::write(dir.path().join("bits_per_pixel"), "16\n").unwrap();
        std::fs::write(dir.path().join("stride"), "100\n").unwrap();
        assert!(FbGeometry::from_sysfs_dir(dir.path()).is_err());
        std::fs::write(dir.path().join("virtual_size"), "garbage").unwrap();
        assert!(FbGeometry::from_sysfs_dir(dir.path()).is_err());
        assert!(FbGeometry::from_sysfs_dir(&dir.path().join("missing")).is_err());
    }
}
