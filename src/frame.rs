//! Frames as the pipeline sees them: a borrowed 8-bit grey view.
//!
//! Every input format is reduced to its luma (Y) plane. For grey and NV12/NV21 buffers that
//! plane is borrowed in place (no copy: a V4L2 mmap buffer can be handed straight in); YUYV and
//! RGB are converted into a caller-owned buffer that is reused frame after frame.

use thiserror::Error;

/// A borrowed 8-bit grey image. Row `y` starts at `data[y * stride]`.
#[derive(Clone, Copy, Debug)]
pub struct GreyImage<'a> {
    width: usize,
    height: usize,
    stride: usize,
    data: &'a [u8],
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("stride {stride} is smaller than the width {width}")]
    StrideTooSmall { width: usize, stride: usize },
    #[error("a {width}x{height} {format} frame needs {needed} bytes but the buffer has {got}")]
    BufferTooSmall { width: usize, height: usize, format: PixelFormat, needed: usize, got: usize },
    #[error("a {format} frame needs an even width and height, got {width}x{height}")]
    OddSize { width: usize, height: usize, format: PixelFormat },
    #[error("frame size {width}x{height} is too large")]
    TooLarge { width: usize, height: usize },
}

/// Largest side we accept; protects the arithmetic (u32 integral sums) and memory.
pub const MAX_SIDE: usize = 8192;

impl<'a> GreyImage<'a> {
    pub fn new(width: usize, height: usize, stride: usize, data: &'a [u8]) -> Result<Self, FrameError> {
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(FrameError::TooLarge { width, height });
        }
        if stride < width {
            return Err(FrameError::StrideTooSmall { width, stride });
        }
        let needed = if height == 0 { 0 } else { stride * (height - 1) + width };
        if data.len() < needed {
            return Err(FrameError::BufferTooSmall { width, height, format: PixelFormat::Grey, needed, got: data.len() });
        }
        Ok(Self { width, height, stride, data })
    }

    /// A tightly packed image (`stride == width`).
    pub fn packed(width: usize, height: usize, data: &'a [u8]) -> Result<Self, FrameError> {
        Self::new(width, height, width, data)
    }

    pub fn width(&self) -> usize { self.width }
    pub fn height(&self) -> usize { self.height }
    pub fn stride(&self) -> usize { self.stride }
    pub fn is_empty(&self) -> bool { self.width == 0 || self.height == 0 }

    /// Row `y` (exactly `width` bytes). Panics if `y >= height`.
    #[inline]
    pub fn row(&self, y: usize) -> &'a [u8] {
        let start = y * self.stride;
        &self.data[start..start + self.width]
    }

    #[inline]
    pub fn get(&self, x: usize, y: usize) -> u8 { self.data[y * self.stride + x] }
}

/// Pixel layouts a frame may arrive in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// 8-bit luma only.
    Grey,
    /// Y plane then interleaved UV at half resolution (V4L2 NV12).
    Nv12,
    /// Y plane then interleaved VU at half resolution (V4L2 NV21).
    Nv21,
    /// Packed Y0 U Y1 V.
    Yuyv,
    /// Packed 8-bit R G B.
    Rgb24,
}

impl std::fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PixelFormat::Grey => "GREY",
            PixelFormat::Nv12 => "NV12",
            PixelFormat::Nv21 => "NV21",
            PixelFormat::Yuyv => "YUYV",
            PixelFormat::Rgb24 => "RGB24",
        })
    }
}

/// A raw frame in some pixel format, borrowed from its producer (file buffer, mmap, ...).
#[derive(Clone, Copy, Debug)]
pub struct RawFrame<'a> {
    pub format: PixelFormat,
    pub width: usize,
    pub height: usize,
    /// Bytes per row of the first plane (the Y plane for NV12/NV21).
    pub stride: usize,
    pub data: &'a [u8],
}

impl<'a> RawFrame<'a> {
    /// The grey (luma) view of this frame. Grey and NV12/NV21 are borrowed without copying;
    /// YUYV and RGB are converted into `scratch`, which is resized once and then reused.
    pub fn to_grey<'s>(&self, scratch: &'s mut Vec<u8>) -> Result<GreyImage<'s>, FrameError>
    where
        'a: 's,
    {
        let (w, h) = (self.width, self.height);
        if w > MAX_SIDE || h > MAX_SIDE {
            return Err(FrameError::TooLarge { width: w, height: h });
        }
        match self.format {
            PixelFormat::Grey => GreyImage::new(w, h, self.stride, self.data),
            PixelFormat::Nv12 | PixelFormat::Nv21 => {
                if w % 2 != 0 || h % 2 != 0 {
                    return Err(FrameError::OddSize { width: w, height: h, format: self.format });
                }
                if self.stride < w {
                    return Err(FrameError::StrideTooSmall { width: w, stride: self.stride });
                }
                let needed = self.stride * h * 3 / 2;
                if self.data.len() < needed {
                    return Err(FrameError::BufferTooSmall { width: w, height: h, format: self.format, needed, got: self.data.len() });
                }
                GreyImage::new(w, h, self.stride, &self.data[..self.stride * h])
            }
            // Packed formats: every pixel's luma is computed into the reused scratch buffer.
            PixelFormat::Yuyv => self.packed_to_grey(2, scratch, |px| px[0]),
            PixelFormat::Rgb24 => self.packed_to_grey(3, scratch, |px| rgb_to_luma(px[0], px[1], px[2])),
        }
    }
}

impl RawFrame<'_> {
    /// Luma of a packed format with `bytes_per_pixel` bytes per pixel, converted by `luma`
    /// into `scratch` (resized once, then reused).
    fn packed_to_grey<'s>(&self, bytes_per_pixel: usize, scratch: &'s mut Vec<u8>, luma: impl Fn(&[u8]) -> u8) -> Result<GreyImage<'s>, FrameError> {
        let (w, h) = (self.width, self.height);
        let row_bytes = w * bytes_per_pixel;
        if self.stride < row_bytes {
            return Err(FrameError::StrideTooSmall { width: row_bytes, stride: self.stride });
        }
        let needed = if h == 0 { 0 } else { self.stride * (h - 1) + row_bytes };
        if self.data.len() < needed {
            return Err(FrameError::BufferTooSmall { width: w, height: h, format: self.format, needed, got: self.data.len() });
        }
        scratch.resize(w * h, 0);
        for y in 0..h {
            let src = &self.data[y * self.stride..y * self.stride + row_bytes];
            for (dst, px) in scratch[y * w..(y + 1) * w].iter_mut().zip(src.chunks_exact(bytes_per_pixel)) {
                *dst = luma(px);
            }
        }
        GreyImage::packed(w, h, &scratch[..])
    }
}

/// BT.601 luma in fixed point: (77 R + 150 G + 29 B) / 256.
#[inline]
pub fn rgb_to_luma(r: u8, g: u8, b: u8) -> u8 {
    ((77 * r as u32 + 150 * g as u32 + 29 * b as u32 + 128) >> 8) as u8
}

/// An owned grey image, for file sources and generated scenes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedGrey {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl OwnedGrey {
    pub fn new(width: usize, height: usize, fill: u8) -> Self {
        Self { width, height, data: vec![fill; width * height] }
    }
    pub fn view(&self) -> GreyImage<'_> {
        GreyImage { width: self.width, height: self.height, stride: self.width, data: &self.data }
    }

    /// Becomes a packed copy of `view` (any stride), reusing this image's allocation.
    pub fn copy_from(&mut self, view: GreyImage<'_>) {
        (self.width, self.height) = (view.width(), view.height());
        self.data.clear();
        for y in 0..view.height() {
            self.data.extend_from_slice(view.row(y));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nv12_borrows_the_y_plane() {
        let mut buf = vec![0u8; 4 * 2 * 3 / 2];
        buf[..8].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let raw = RawFrame { format: PixelFormat::Nv12, width: 4, height: 2, stride: 4, data: &buf };
        let mut scratch = Vec::new();
        let g = raw.to_grey(&mut scratch).unwrap();
        assert_eq!(g.row(1), &[5, 6, 7, 8]);
        assert!(scratch.is_empty(), "NV12 must not copy");
    }

    #[test]
    fn yuyv_and_rgb_take_luma() {
        let yuyv = [10u8, 128, 20, 128, 30, 128, 40, 128];
        let raw = RawFrame { format: PixelFormat::Yuyv, width: 2, height: 2, stride: 4, data: &yuyv };
        let mut s = Vec::new();
        assert_eq!(raw.to_grey(&mut s).unwrap().row(1), &[30, 40]);
        let rgb = [255u8, 255, 255, 0, 0, 0];
        let raw = RawFrame { format: PixelFormat::Rgb24, width: 2, height: 1, stride: 6, data: &rgb };
        assert_eq!(raw.to_grey(&mut s).unwrap().row(0), &[255, 0]);
    }

    #[test]
    fn short_buffers_and_odd_sizes_are_errors() {
        let buf = [0u8; 5];
        assert!(GreyImage::packed(3, 2, &buf).is_err());
        let raw = RawFrame { format: PixelFormat::Nv12, width: 3, height: 2, stride: 3, data: &[0u8; 64] };
        assert!(matches!(raw.to_grey(&mut Vec::new()), Err(FrameError::OddSize { .. })));
        assert!(GreyImage::packed(0, 0, &[]).unwrap().is_empty());
    }
}
