//! Which pixel format to ask the camera for, and how a filled buffer becomes a frame.
//!
//! Pure logic: no device access. The luma-first formats (NV12/NV21, one or two planes, and
//! GREY) are handed on as the Y plane itself, borrowed from the mapped buffer: the grey image
//! the pipeline needs is already there, so nothing is copied or converted.

use crate::frame::{PixelFormat, RawFrame};

/// A V4L2 four-character pixel format code.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FourCc(pub [u8; 4]);

impl FourCc {
    pub const NV12: FourCc = FourCc(*b"NV12");
    pub const NV21: FourCc = FourCc(*b"NV21");
    /// NV12 with Y and UV in separate planes (multi-planar API).
    pub const NV12M: FourCc = FourCc(*b"NM12");
    pub const NV21M: FourCc = FourCc(*b"NM21");
    pub const GREY: FourCc = FourCc(*b"GREY");
    pub const YUYV: FourCc = FourCc(*b"YUYV");

    pub fn from_u32(code: u32) -> Self { FourCc(code.to_le_bytes()) }
    pub fn to_u32(self) -> u32 { u32::from_le_bytes(self.0) }

    /// Frames of this format start with a full-resolution 8-bit luma plane.
    pub fn is_luma_first(self) -> bool {
        matches!(self, FourCc::NV12 | FourCc::NV21 | FourCc::NV12M | FourCc::NV21M | FourCc::GREY)
    }

    /// Bytes per pixel of the first plane's rows (for checking `bytesperline`).
    fn first_plane_bytes_per_pixel(self) -> usize {
        if self == FourCc::YUYV { 2 } else { 1 }
    }
}

impl std::fmt::Display for FourCc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for &b in &self.0 {
            let c = if b.is_ascii_graphic() { b as char } else { '?' };
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for FourCc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "FourCc({self})") }
}

/// The formats digitd can read, best first: luma-first formats need no conversion at all;
/// YUYV (what most USB webcams offer uncompressed) needs the luma bytes picked out.
pub const SUPPORTED: [FourCc; 6] = [FourCc::NV12, FourCc::NV21, FourCc::NV12M, FourCc::NV21M, FourCc::GREY, FourCc::YUYV];

/// The format to request: `wanted` if given and offered, else the best supported one offered.
pub fn choose(offered: &[FourCc], wanted: Option<FourCc>) -> Result<FourCc, String> {
    if let Some(w) = wanted {
        if !SUPPORTED.contains(&w) {
            return Err(format!("pixel format {w} is not one digitd reads ({})", list(&SUPPORTED)));
        }
        return if offered.contains(&w) {
            Ok(w)
        } else {
            Err(format!("the camera does not offer {w}; it offers {}", list(offered)))
        };
    }
    SUPPORTED.iter().copied().find(|f| offered.contains(f)).ok_or_else(|| {
        format!("the camera offers none of the formats digitd reads ({}); it offers {}", list(&SUPPORTED), list(offered))
    })
}

fn list(formats: &[FourCc]) -> String {
    if formats.is_empty() {
        return "nothing".into();
    }
    formats.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(", ")
}

/// What the driver settled on after `VIDIOC_S_FMT` (it may change the size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    pub fourcc: FourCc,
    pub width: u32,
    pub height: u32,
    /// Bytes per row of the first plane (the Y plane for luma-first formats).
    pub bytes_per_line: u32,
}

impl Negotiated {
    /// Checks the driver's answer before any buffer is trusted with it.
    pub fn validate(&self, requested: FourCc) -> Result<(), String> {
        if self.fourcc != requested {
            return Err(format!("asked for {requested}, the driver chose {}", self.fourcc));
        }
        if self.width == 0 || self.height == 0 || self.width as usize > crate::frame::MAX_SIDE || self.height as usize > crate::frame::MAX_SIDE {
            return Err(format!("the driver chose an unusable size {}x{}", self.width, self.height));
        }
        let row = self.width as usize * self.fourcc.first_plane_bytes_per_pixel();
        if (self.bytes_per_line as usize) < row {
            return Err(format!("bytesperline {} is shorter than a {}-pixel {} row", self.bytes_per_line, self.width, self.fourcc));
        }
        Ok(())
    }

    /// The frame in `plane0` (the first plane's mapped bytes, `bytes_used` of them filled; 0
    /// means the driver did not say), borrowed without copying.
    pub fn frame<'a>(&self, plane0: &'a [u8], bytes_used: u32) -> RawFrame<'a> {
        let filled = match bytes_used as usize {
            0 => plane0.len(),
            n => n.min(plane0.len()),
        };
        let format = if self.fourcc.is_luma_first() { PixelFormat::Grey } else { PixelFormat::Yuyv };
        RawFrame {
            format,
            width: self.width as usize,
            height: self.height as usize,
            stride: self.bytes_per_line as usize,
            data: &plane0[..filled],
        }
    }
}

/// Parses a configured format name ("nv12", "NV21", "yuyv", "grey", ...).
pub fn parse_fourcc(name: &str) -> Option<FourCc> {
    let upper = name.trim().to_ascii_uppercase();
    SUPPORTED.iter().copied().find(|f| f.to_string() == upper).or(match upper.as_str() {
        "GRAY" | "Y8" => Some(FourCc::GREY),
        "NV12M" => Some(FourCc::NV12M),
        "NV21M" => Some(FourCc::NV21M),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fourcc_codes_match_v4l2() {
        // v4l2_fourcc('N','V','1','2') == 0x3231564e
        assert_eq!(FourCc::NV12.to_u32(), 0x3231_564e);
        assert_eq!(FourCc::from_u32(0x5659_5559), FourCc::YUYV);
        assert_eq!(FourCc(*b"Y\x01\0Z").to_string(), "Y??Z");
    }

    #[test]
    fn the_best_offered_format_is_chosen() {
        assert_eq!(choose(&[FourCc::YUYV, FourCc::NV21], None), Ok(FourCc::NV21));
        assert_eq!(choose(&[FourCc(*b"MJPG"), FourCc::YUYV], None), Ok(FourCc::YUYV));
        assert_eq!(choose(&[FourCc::NV12M, FourCc::NV12], None), Ok(FourCc::NV12));
        assert_eq!(choose(&[FourCc::YUYV, FourCc::NV12], Some(FourCc::YUYV)), Ok(FourCc::YUYV));
    }

    #[test]
    fn unusable_offers_are_explained() {
        let e = choose(&[FourCc(*b"MJPG")], None).unwrap_err();
        assert!(e.contains("offers MJPG") && e.contains("NV12"), "{e}");
        let e = choose(&[FourCc::NV12], Some(FourCc::YUYV)).unwrap_err();
        assert!(e.contains("does not offer YUYV"), "{e}");
        let e = choose(&[], None).unwrap_err();
        assert!(e.contains("offers nothing"), "{e}");
        assert!(choose(&[FourCc(*b"MJPG")], Some(FourCc(*b"MJPG"))).unwrap_err().contains("not one digitd reads"));
    }

    #[test]
    fn names_parse() {
        assert_eq!(parse_fourcc("nv12"), Some(FourCc::NV12));
        assert_eq!(parse_fourcc(" Gray "), Some(FourCc::GREY));
        assert_eq!(parse_fourcc("nv21m"), Some(FourCc::NV21M));
        assert_eq!(parse_fourcc("mjpg"), None);
    }

    #[test]
    fn driver_answers_are_checked() {
        let ok = Negotiated { fourcc: FourCc::NV12, width: 640, height: 480, bytes_per_line: 640 };
        assert!(ok.validate(FourCc::NV12).is_ok());
        assert!(ok.validate(FourCc::NV21).unwrap_err().contains("driver chose NV12"));
        let zero = Negotiated { width: 0, ..ok };
        assert!(zero.validate(FourCc::NV12).unwrap_err().contains("0x480"));
        let huge = Negotiated { width: 100_000, ..ok };
        assert!(huge.validate(FourCc::NV12).is_err());
        let yuyv = Negotiated { fourcc: FourCc::YUYV, bytes_per_line: 640, ..ok };
        assert!(yuyv.validate(FourCc::YUYV).unwrap_err().contains("bytesperline 640"));
    }

    #[test]
    fn nv12_frames_are_the_y_plane_in_place() {
        // 4x2 NV12 with rows padded to 8 bytes: Y rows then one UV row.
        let fmt = Negotiated { fourcc: FourCc::NV12, width: 4, height: 2, bytes_per_line: 8 };
        let mut buf = vec![0u8; 8 * 3];
        buf[..4].copy_from_slice(&[1, 2, 3, 4]);
        buf[8..12].copy_from_slice(&[5, 6, 7, 8]);
        let raw = fmt.frame(&buf, 24);
        let mut scratch = Vec::new();
        let grey = raw.to_grey(&mut scratch).unwrap();
        assert_eq!((grey.row(0), grey.row(1)), (&[1u8, 2, 3, 4][..], &[5u8, 6, 7, 8][..]));
        assert_eq!(grey.row(0).as_ptr(), buf.as_ptr(), "borrowed from the buffer itself, not copied");
    }

    #[test]
    fn yuyv_frames_give_their_luma_bytes() {
        let fmt = Negotiated { fourcc: FourCc::YUYV, width: 2, height: 1, bytes_per_line: 4 };
        let buf = [10u8, 128, 20, 128];
        let mut scratch = Vec::new();
        let grey = fmt.frame(&buf, 0).to_grey(&mut scratch).unwrap();
        assert_eq!(grey.row(0), &[10, 20]);
    }

    #[test]
    fn short_buffers_are_errors_not_panics() {
        let fmt = Negotiated { fourcc: FourCc::GREY, width: 4, height: 4, bytes_per_line: 4 };
        let buf = [0u8; 16];
        let mut scratch = Vec::new();
        // The driver says only 8 bytes were filled: half a frame.
        assert!(fmt.frame(&buf, 8).to_grey(&mut scratch).is_err());
        // bytesused larger than the buffer is clamped to it.
        assert!(fmt.frame(&buf, 1000).to_grey(&mut scratch).is_ok());
    }
}
