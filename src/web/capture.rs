//! Field capture: the current frame, each candidate's normalised 28x28 crop and what the
//! model made of it, saved for retraining (`python -m digitmodel.captures import`, see
//! model/README.md). A technician fills in `truth` (or per-digit `label`) in the sidecar.
//!
//! Layout: `<dir>/<id>/frame.png`, `digit-<n>.png`, `capture.json`. Each capture is written
//! under a temporary name and renamed when complete, so a folder never holds half a capture.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use image::{ExtendedColorType, ImageFormat};
use serde::Serialize;

use super::hub::LiveFrame;
use crate::preprocess::INPUT_SIDE;

pub const SIDECAR: &str = "capture.json";
pub const FORMAT: &str = "digitd-capture/1";

#[derive(Debug, Serialize)]
struct Sidecar<'a> {
    format: &'static str,
    id: &'a str,
    /// UTC, RFC 3339.
    time: String,
    frame: &'static str,
    width: usize,
    height: usize,
    /// The stable reading on screen at the time (rows joined by '\n'), if any.
    reading: Option<&'a str>,
    /// What this frame alone read.
    frame_reading: String,
    model_sha256: &'a str,
    classifier: &'a str,
    /// For the technician: the correct text, every candidate in reading order
    /// (`x` for one that is not a digit); or set `label` per digit.
    truth: Option<String>,
    digits: Vec<SidecarDigit>,
}

#[derive(Debug, Serialize)]
struct SidecarDigit {
    crop: String,
    #[serde(rename = "box")]
    bbox: [u32; 4],
    row: u16,
    /// The model's top class (10 = not a digit) and its probability.
    digit: u8,
    confidence: f32,
    accepted: bool,
    /// For the technician: the right digit (0-9), or "x" when it is not a digit.
    label: Option<String>,
}

/// What a capture wrote.
#[derive(Debug, Serialize)]
pub struct Receipt {
    pub id: String,
    pub path: PathBuf,
    pub digits: usize,
    pub reading: Option<String>,
}

/// Saves `frame` into a new folder under `dir`.
pub fn save(dir: &Path, frame: &LiveFrame, model_sha256: &str, classifier: &str) -> Result<Receipt, String> {
    let grey = frame.picture().ok_or("no frame to capture yet")?;
    let since_epoch = frame.time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let id = format!("{}-{:06}", compact_utc(since_epoch.as_secs()), frame.seq);
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("capture {id}: {what}: {e}");
    std::fs::create_dir_all(dir).map_err(|e| fail(&format!("cannot create {}", dir.display()), &e))?;
    let partial = dir.join(format!(".{id}.partial"));
    let done = dir.join(&id);
    if done.exists() {
        return Err(format!("capture {id} already exists in {}", dir.display()));
    }
    // A leftover from a crash under the same name is replaced.
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir(&partial).map_err(|e| fail(&format!("cannot create {}", partial.display()), &e))?;

    let written = (|| -> Result<Vec<SidecarDigit>, String> {
        image::save_buffer_with_format(partial.join("frame.png"), frame.image.data.as_slice(), grey.width() as u32, grey.height() as u32, ExtendedColorType::L8, ImageFormat::Png)
            .map_err(|e| fail("frame.png", &e))?;
        let mut digits = Vec::with_capacity(frame.digits.len());
        for (n, (d, tensor)) in frame.digits.iter().zip(&frame.tensors).enumerate() {
            let crop = format!("digit-{n}.png");
            let side = INPUT_SIDE as u32;
            image::save_buffer_with_format(partial.join(&crop), &tensor.0, side, side, ExtendedColorType::L8, ImageFormat::Png)
                .map_err(|e| fail(&crop, &e))?;
            digits.push(SidecarDigit {
                crop,
                bbox: [d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h],
                row: d.row,
                digit: d.digit,
                confidence: d.confidence,
                accepted: d.accepted,
                label: None,
            });
        }
        Ok(digits)
    })();
    let digits = match written {
        Ok(d) => d,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    let mut frame_reading = String::new();
    crate::policy::assemble_reading(frame.digits.iter().filter(|d| d.accepted).map(|d| (d.row, d.digit)), &mut frame_reading);
    let sidecar = Sidecar {
        format: FORMAT,
        id: &id,
        time: rfc3339_utc(since_epoch.as_secs()),
        frame: "frame.png",
        width: grey.width(),
        height: grey.height(),
        reading: frame.shown.as_deref(),
        frame_reading,
        model_sha256,
        classifier,
        truth: None,
        digits,
    };
    let count = sidecar.digits.len();
    let json = serde_json::to_vec_pretty(&sidecar).map_err(|e| fail("capture.json", &e))?;
    let finish = std::fs::write(partial.join(SIDECAR), json)
        .map_err(|e| fail("capture.json", &e))
        .and_then(|()| std::fs::rename(&partial, &done).map_err(|e| fail("cannot finish", &e)));
    if let Err(e) = finish {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    Ok(Receipt { id, path: done, digits: count, reading: frame.shown.clone() })
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift to a calendar starting on 0000-03-01 so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn utc_parts(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    (y, m, d, s / 3600, s % 3600 / 60, s % 60)
}

fn rfc3339_utc(secs: u64) -> String {
    let (y, m, d, hh, mm, ss) = utc_parts(secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// `20261128-114501`: sorts by time, safe in file names.
fn compact_utc(secs: u64) -> String {
    let (y, m, d, hh, mm, ss) = utc_parts(secs);
    format!("{y:04}{m:02}{d:02}-{hh:02}{mm:02}{ss:02}")
}

/// Seconds since the epoch now (for tests and logs).
pub fn now_secs() -> u64 { SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::OwnedGrey;
    use crate::pipeline::RecognizedDigit;
    use crate::preprocess::{BoundingBox, DigitTensor, INPUT_LEN};
    use std::time::Duration;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_872_301), "2026-11-28T13:25:01Z");
        assert_eq!(compact_utc(4_107_542_399), "21000228-235959");
    }

    fn frame() -> LiveFrame {
        let digits = vec![
            RecognizedDigit { bbox: BoundingBox { x: 1, y: 2, w: 3, h: 4 }, row: 0, digit: 4, confidence: 0.91, accepted: true },
            RecognizedDigit { bbox: BoundingBox { x: 9, y: 2, w: 3, h: 4 }, row: 0, digit: 10, confidence: 0.8, accepted: false },
        ];
        let tensors = vec![DigitTensor([200; INPUT_LEN]), DigitTensor([0; INPUT_LEN])];
        LiveFrame {
            seq: 7,
            time: UNIX_EPOCH + Duration::from_secs(1_795_872_301),
            image: OwnedGrey { width: 4, height: 3, data: (0..12).collect() },
            digits,
            tensors,
            shown: Some("4".into()),
        }
    }

    #[test]
    fn saves_frame_crops_and_sidecar_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let r = save(dir.path(), &frame(), "abc", "cpu").unwrap();
        assert_eq!(r.id, "20261128-132501-000007");
        let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names, std::slice::from_ref(&r.id), "no partial folder left behind");
        let frame_png = image::open(r.path.join("frame.png")).unwrap().to_luma8();
        assert_eq!(frame_png.as_raw(), &(0..12).collect::<Vec<u8>>());
        let crop = image::open(r.path.join("digit-0.png")).unwrap().to_luma8();
        assert_eq!((crop.width(), crop.get_pixel(5, 5).0[0]), (28, 200));
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(r.path.join(SIDECAR)).unwrap()).unwrap();
        assert_eq!(json["format"], FORMAT);
        assert_eq!(json["frame_reading"], "4");
        assert_eq!(json["reading"], "4");
        assert_eq!(json["time"], "2026-11-28T13:25:01Z");
        assert_eq!(json["digits"][1]["digit"], 10);
        assert_eq!(json["digits"][1]["accepted"], false);
        assert!(json["digits"][0]["label"].is_null() && json["truth"].is_null());
        // The same frame twice is refused, not overwritten.
        assert!(save(dir.path(), &frame(), "abc", "cpu").unwrap_err().contains("already exists"));
    }

    #[test]
    fn unwritable_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let e = save(&file, &frame(), "abc", "cpu").unwrap_err();
        assert!(e.contains("not-a-dir"), "{e}");
        let empty = LiveFrame { image: OwnedGrey::new(0, 0, 0), ..frame() };
        assert!(save(dir.path(), &empty, "abc", "cpu").unwrap_err().contains("no frame"));
    }
}
