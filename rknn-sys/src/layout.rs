//! Moving tensors in and out of the NPU's memory layouts. Pure code, no runtime calls.
//!
//! Inputs are NHWC with rows padded to `w_stride` pixels; outputs come as NC1HWC2 (channels in
//! blocks of C2, typically 16), NHWC or NCHW, quantised. Getting either wrong gives a model that
//! "works in the simulator but not on the board", so both directions are unit-tested against
//! hand-built layouts and, through the fake runtime, against the golden vectors.

use crate::attr::{Quantization, TensorAttr, TensorFormat, TensorType};
use crate::error::Error;

/// Copies a tightly packed `height x width x channels` uint8 image into `dst`, whose rows are
/// `w_stride` pixels apart (`w_stride` 0 or equal to `width`: no padding). Padding bytes are
/// left as they are.
pub fn write_nhwc_u8(dst: &mut [u8], src: &[u8], height: usize, width: usize, channels: usize, w_stride: usize) -> Result<(), Error> {
    let stride = if w_stride == 0 { width } else { w_stride };
    if stride < width {
        return Err(Error::Inconsistent(format!("w_stride {stride} is smaller than the width {width}")));
    }
    let row = width * channels;
    let pitch = stride * channels;
    if src.len() != height * row {
        return Err(Error::Usage(format!("input has {} bytes, expected {height}x{width}x{channels}", src.len())));
    }
    let needed = if height == 0 { 0 } else { (height - 1) * pitch + row };
    if dst.len() < needed {
        return Err(Error::Inconsistent(format!("input buffer holds {} bytes, the image needs {needed}", dst.len())));
    }
    for (y, line) in src.chunks_exact(row.max(1)).enumerate().take(height) {
        dst[y * pitch..y * pitch + row].copy_from_slice(line);
    }
    Ok(())
}

/// Logical `[n, c, h, w]` of a tensor given its native attribute and its logical channel count
/// (NC1HWC2 pads channels, so the native attribute alone does not say how many are real).
fn logical_shape(native: &TensorAttr, channels: usize) -> Result<[usize; 4], Error> {
    let d: Vec<usize> = native.dims().iter().map(|&x| x as usize).collect();
    let shape = match (native.format(), d.as_slice()) {
        (TensorFormat::Nc1hwc2, &[n, c1, h, w, c2]) => {
            if c2 == 0 || c1 * c2 < channels {
                return Err(Error::Inconsistent(format!("NC1HWC2 dims {d:?} cannot hold {channels} channels")));
            }
            [n, channels, h, w]
        }
        (TensorFormat::Nhwc, &[n, h, w, c]) | (TensorFormat::Nchw, &[n, c, h, w]) => {
            if c != channels {
                return Err(Error::Inconsistent(format!("{:?} dims {d:?} have {c} channels, expected {channels}", native.format())));
            }
            [n, c, h, w]
        }
        (fmt, _) => return Err(Error::Inconsistent(format!("unsupported output layout {fmt:?} with dims {d:?}"))),
    };
    Ok(shape)
}

/// Byte offset of logical element `(n, c, y, x)` in the native layout, in elements.
fn native_index(native: &TensorAttr, [_, channels, h, w]: [usize; 4], n: usize, c: usize, y: usize, x: usize) -> usize {
    let d = native.dims();
    match native.format() {
        TensorFormat::Nc1hwc2 => {
            let (c1s, c2) = (d[1] as usize, d[4] as usize);
            (((n * c1s + c / c2) * h + y) * w + x) * c2 + c % c2
        }
        TensorFormat::Nhwc => ((n * h + y) * w + x) * channels + c,
        _ => ((n * channels + c) * h + y) * w + x,
    }
}

/// Dequantises a native output buffer into logical NCHW order: `out` gets `n*c*h*w` values.
pub fn read_output_nchw(native: &TensorAttr, channels: usize, bytes: &[u8], out: &mut Vec<f32>) -> Result<(), Error> {
    let shape = logical_shape(native, channels)?;
    let [n, c, h, w] = shape;
    let esize = native.tensor_type().size().ok_or_else(|| Error::Inconsistent(format!("unsupported output type {:?}", native.tensor_type())))?;
    let native_elems: usize = native.dims().iter().map(|&x| x as usize).product();
    if bytes.len() < native_elems * esize {
        return Err(Error::Inconsistent(format!("output buffer has {} bytes, the tensor needs {}", bytes.len(), native_elems * esize)));
    }
    let value = |i: usize| -> Result<f32, Error> {
        let raw = &bytes[i * esize..(i + 1) * esize];
        let q = match native.tensor_type() {
            TensorType::Int8 => raw[0] as i8 as f32,
            TensorType::Uint8 => raw[0] as f32,
            TensorType::Int16 => i16::from_le_bytes([raw[0], raw[1]]) as f32,
            TensorType::Int32 => i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as f32,
            TensorType::Float32 => return Ok(f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]])),
            t => return Err(Error::Inconsistent(format!("unsupported output type {t:?}"))),
        };
        Ok(match native.quantization() {
            Quantization::Affine { zero_point, scale } => (q - zero_point as f32) * scale,
            Quantization::Dfp { fl } => q / (2f32).powi(fl as i32),
            Quantization::None => q,
            Quantization::Other(t) => return Err(Error::Inconsistent(format!("unsupported quantisation type {t}"))),
        })
    };
    out.clear();
    out.reserve(n * c * h * w);
    for ni in 0..n {
        for ci in 0..c {
            for y in 0..h {
                for x in 0..w {
                    out.push(value(native_index(native, shape, ni, ci, y, x))?);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn affine(zero_point: i32, scale: f32) -> Quantization {
        Quantization::Affine { zero_point, scale }
    }

    #[test]
    fn input_rows_land_at_the_stride_and_padding_is_untouched() {
        let src: Vec<u8> = (0..6).collect(); // 2 rows of 3 pixels
        let mut dst = vec![0xAAu8; 2 * 4];
        write_nhwc_u8(&mut dst, &src, 2, 3, 1, 4).unwrap();
        assert_eq!(dst, [0, 1, 2, 0xAA, 3, 4, 5, 0xAA]);
        let mut tight = vec![0u8; 6];
        write_nhwc_u8(&mut tight, &src, 2, 3, 1, 0).unwrap();
        assert_eq!(tight, src);
    }

    #[test]
    fn input_size_mistakes_are_errors() {
        let src = [0u8; 6];
        assert!(write_nhwc_u8(&mut [0u8; 7], &src, 2, 3, 1, 4).is_ok()); // last row needs no padding
        assert!(write_nhwc_u8(&mut [0u8; 6], &src, 2, 3, 1, 4).is_err());
        assert!(write_nhwc_u8(&mut [0u8; 8], &src, 2, 3, 1, 2).is_err());
        assert!(write_nhwc_u8(&mut [0u8; 8], &src[..5], 2, 3, 1, 4).is_err());
        assert!(write_nhwc_u8(&mut [], &[], 0, 0, 1, 0).is_ok());
    }

    #[test]
    fn nc1hwc2_is_unpacked_and_padding_channels_ignored() {
        // 11 channels, 1x1, C2 = 16: one block; channels 11..16 are padding (set to junk).
        let attr = TensorAttr::new(0, "out", &[1, 1, 1, 1, 16], TensorFormat::Nc1hwc2, TensorType::Int8, affine(-55, 0.5));
        let mut bytes = [0x7fu8; 16];
        for c in 0..11 {
            bytes[c] = (c as i8 - 55) as u8;
        }
        let mut out = Vec::new();
        read_output_nchw(&attr, 11, &bytes, &mut out).unwrap();
        let want: Vec<f32> = (0..11).map(|c| c as f32 * 0.5).collect();
        assert_eq!(out, want);
    }

    #[test]
    fn nc1hwc2_with_two_blocks_and_space() {
        // 20 channels over 2x1 pixels, C2 = 8: C1 = 3 blocks.
        let (c, h, w, c2) = (20usize, 2usize, 1usize, 8usize);
        let c1 = c.div_ceil(c2);
        let attr = TensorAttr::new(0, "o", &[1, c1 as u32, h as u32, w as u32, c2 as u32], TensorFormat::Nc1hwc2, TensorType::Int8, affine(0, 1.0));
        let mut bytes = vec![0u8; c1 * h * w * c2];
        for ci in 0..c {
            for y in 0..h {
                // value encodes (channel, row) so any misplacement shows
                bytes[((ci / c2) * h + y) * w * c2 + ci % c2] = (ci * 2 + y) as u8;
            }
        }
        let mut out = Vec::new();
        read_output_nchw(&attr, c, &bytes, &mut out).unwrap();
        for ci in 0..c {
            for y in 0..h {
                assert_eq!(out[ci * h + y], (ci * 2 + y) as f32, "channel {ci} row {y}");
            }
        }
    }

    #[test]
    fn nhwc_and_nchw_outputs() {
        let nhwc = TensorAttr::new(0, "o", &[1, 1, 2, 3], TensorFormat::Nhwc, TensorType::Int8, affine(1, 2.0));
        // pixel-major: (x0: c0 c1 c2) (x1: c0 c1 c2)
        let bytes = [1u8, 2, 3, 4, 5, 6];
        let mut out = Vec::new();
        read_output_nchw(&nhwc, 3, &bytes, &mut out).unwrap();
        assert_eq!(out, [0.0, 6.0, 2.0, 8.0, 4.0, 10.0]);
        let nchw = TensorAttr::new(0, "o", &[1, 3, 1, 2], TensorFormat::Nchw, TensorType::Int8, affine(1, 2.0));
        read_output_nchw(&nchw, 3, &bytes, &mut out).unwrap();
        assert_eq!(out, [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
    }

    #[test]
    fn wrong_channel_counts_and_short_buffers_are_errors() {
        let attr = TensorAttr::new(0, "o", &[1, 1, 1, 1, 16], TensorFormat::Nc1hwc2, TensorType::Int8, affine(0, 1.0));
        let mut out = Vec::new();
        assert!(read_output_nchw(&attr, 17, &[0; 16], &mut out).is_err());
        assert!(read_output_nchw(&attr, 11, &[0; 15], &mut out).is_err());
        let nchw = TensorAttr::new(0, "o", &[1, 10, 1, 1], TensorFormat::Nchw, TensorType::Int8, affine(0, 1.0));
        assert!(read_output_nchw(&nchw, 11, &[0; 16], &mut out).is_err());
    }

    #[test]
    fn float_outputs_are_read_as_is() {
        let attr = TensorAttr::new(0, "o", &[1, 2, 1, 1], TensorFormat::Nchw, TensorType::Float32, Quantization::None);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&1.5f32.to_le_bytes());
        bytes.extend_from_slice(&(-2.0f32).to_le_bytes());
        let mut out = Vec::new();
        read_output_nchw(&attr, 2, &bytes, &mut out).unwrap();
        assert_eq!(out, [1.5, -2.0]);
    }

    #[test]
    fn strided_attribute_sizes() {
        let a = TensorAttr::new(0, "input", &[1, 28, 28, 1], TensorFormat::Nhwc, TensorType::Uint8, Quantization::None).with_w_stride(32);
        assert_eq!(a.size(), 784);
        assert_eq!(a.size_with_stride(), 28 * 32);
        assert_eq!(a.name(), "input");
    }
}
