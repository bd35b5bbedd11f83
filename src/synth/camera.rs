//! The camera: focus blur, exposure and tone curve, sensor noise, JPEG re-encoding.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageFormat};

use super::raster::Plane;
use super::rng::Rng;
use crate::frame::OwnedGrey;

/// How one shot is taken. `Camera::random` draws a plausible phone/webcam setting.
#[derive(Clone, Debug)]
pub struct Camera {
    /// Focus blur (Gaussian sigma, px).
    pub blur: f32,
    /// Scene radiance (paper ~0.8) times gain gives the signal before the tone curve.
    pub gain: f32,
    /// Tone curve exponent (< 1 lifts shadows).
    pub gamma: f32,
    /// Black level in 8-bit units.
    pub black: f32,
    /// Read noise sigma in 8-bit units.
    pub read_noise: f32,
    /// Shot noise: sigma is this times sqrt(level).
    pub shot_noise: f32,
    /// JPEG quality to re-encode at, if any.
    pub jpeg_quality: Option<u8>,
}

impl Camera {
    /// A random setting. `max_blur` caps focus blur so the smallest text stays legible.
    pub fn random(rng: &mut Rng, max_blur: f32) -> Camera {
        Camera {
            blur: if rng.chance(0.7) { rng.range(0.3, max_blur.max(0.31)) } else { 0.0 },
            gain: rng.range(0.85, 1.2),
            gamma: rng.range(0.8, 1.2),
            black: rng.range(0.0, 18.0),
            read_noise: rng.range(0.5, 3.5),
            shot_noise: rng.range(0.0, 0.25),
            jpeg_quality: rng.chance(0.6).then(|| rng.int(40, 95) as u8),
        }
    }

    pub fn describe(&self) -> String {
        let jpeg = self.jpeg_quality.map_or("no jpeg".to_string(), |q| format!("jpeg q{q}"));
        format!("blur {:.2}, gain {:.2}, gamma {:.2}, noise {:.1}+{:.2}, {jpeg}", self.blur, self.gain, self.gamma, self.read_noise, self.shot_noise)
    }

    /// Turns radiance (about 0..1) into an 8-bit frame.
    pub fn shoot(&self, rng: &mut Rng, mut radiance: Plane) -> OwnedGrey {
        radiance.blur(self.blur);
        let span = 255.0 - self.black;
        for v in radiance.data.iter_mut() {
            let signal = (*v * self.gain).clamp(0.0, 1.0).powf(self.gamma);
            let level = self.black + span * signal;
            let sigma = self.read_noise + self.shot_noise * level.sqrt();
            *v = level + sigma * rng.normal();
        }
        let image = OwnedGrey { width: radiance.width, height: radiance.height, data: radiance.to_u8() };
        match self.jpeg_quality {
            Some(q) => jpeg_round_trip(&image, q).unwrap_or(image),
            None => image,
        }
    }
}

/// Encodes a grey image as JPEG at `quality` (1-100).
pub fn encode_jpeg(image: &OwnedGrey, quality: u8) -> Result<Vec<u8>, image::ImageError> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100)).encode(
        &image.data,
        image.width as u32,
        image.height as u32,
        ExtendedColorType::L8,
    )?;
    Ok(bytes)
}

/// JPEG encode then decode: the blocking and ringing a phone or IP camera adds.
pub fn jpeg_round_trip(image: &OwnedGrey, quality: u8) -> Result<OwnedGrey, image::ImageError> {
    let bytes = encode_jpeg(image, quality)?;
    let decoded = image::load(Cursor::new(bytes), ImageFormat::Jpeg)?.to_luma8();
    Ok(OwnedGrey { width: decoded.width() as usize, height: decoded.height() as usize, data: decoded.into_raw() })
}
