//! Frame sources against files written in a temporary folder: Y4M clips (plain and gzip,
//! every chroma layout), looping, broken clips, image folders.

use std::io::Write;
use std::path::{Path, PathBuf};

use digitd::config::{SourceConfig, SourceKind};
use digitd::frame::PixelFormat;
use digitd::source::{self, FrameSource, ImageFiles, SourceError, Y4mClip};

/// A clip of `frames` frames whose Y plane is filled with the frame number (and chroma with
/// 200, which must never show up in the luma).
fn clip_bytes(w: usize, h: usize, colour: &str, chroma_len: usize, frames: u8, frame_tag: &str) -> Vec<u8> {
    let mut out = format!("YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 {colour} XCOLORRANGE=FULL\n").into_bytes();
    for i in 0..frames {
        out.extend_from_slice(frame_tag.as_bytes());
        out.extend(std::iter::repeat_n(i, w * h));
        out.extend(std::iter::repeat_n(200u8, chroma_len));
    }
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// The first luma byte of every frame until the end.
fn drain(src: &mut dyn FrameSource, limit: usize) -> Result<Vec<u8>, SourceError> {
    let mut seen = Vec::new();
    while seen.len() < limit {
        match src.next_frame()? {
            Some(f) => {
                assert_eq!(f.format, PixelFormat::Grey);
                let last = f.data[f.stride * (f.height - 1) + f.width - 1];
                assert_eq!(f.data[0], last, "a frame mixes planes");
                seen.push(f.data[0]);
            }
            None => break,
        }
    }
    Ok(seen)
}

#[test]
fn every_chroma_layout_yields_the_y_plane() {
    let dir = tempfile::tempdir().unwrap();
    // 5x3 frames: odd sizes round chroma planes up.
    for (colour, chroma) in [("C420jpeg", 2 * 3 * 2), ("C420paldv", 12), ("C420mpeg2", 12), ("C420", 12), ("C422", 2 * 3 * 3), ("C444", 2 * 15), ("Cmono", 0)] {
        let p = write(dir.path(), "c.y4m", &clip_bytes(5, 3, colour, chroma, 4, "FRAME\n"));
        let mut clip = Y4mClip::open(&p, false).unwrap();
        assert_eq!(clip.nominal_fps(), Some(25.0));
        let f = clip.next_frame().unwrap().unwrap();
        assert_eq!((f.width, f.height, f.stride, f.data.len()), (5, 3, 5, 15), "{colour}");
        assert_eq!(drain(&mut clip, 100).unwrap(), [1, 2, 3], "{colour}");
    }
}

#[test]
fn frame_parameters_and_gzip_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let plain = clip_bytes(4, 2, "C420jpeg", 4, 3, "FRAME Ixyz\n");
    let p = write(dir.path(), "clip.y4m.gz", &gzip(&plain));
    let mut clip = Y4mClip::open(&p, false).unwrap();
    assert_eq!(drain(&mut clip, 100).unwrap(), [0, 1, 2]);
    assert!(clip.describe().contains("4x2"));
    // The same bytes in a file without the .gz suffix: detected from the content.
    let p = write(dir.path(), "named-wrong.y4m", &gzip(&plain));
    assert_eq!(drain(&mut Y4mClip::open(&p, false).unwrap(), 100).unwrap(), [0, 1, 2]);
}

#[test]
fn looping_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "clip.y4m", &clip_bytes(4, 2, "Cmono", 0, 3, "FRAME\n"));
    let mut clip = Y4mClip::open(&p, true).unwrap();
    assert_eq!(drain(&mut clip, 8).unwrap(), [0, 1, 2, 0, 1, 2, 0, 1]);
    // Also through gzip, where rewinding means reopening.
    let p = write(dir.path(), "clip.y4m.gz", &gzip(&clip_bytes(4, 2, "Cmono", 0, 2, "FRAME\n")));
    let mut clip = Y4mClip::open(&p, true).unwrap();
    assert_eq!(drain(&mut clip, 5).unwrap(), [0, 1, 0, 1, 0]);
}

#[test]
fn an_empty_looping_clip_ends_instead_of_spinning() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "empty.y4m", b"YUV4MPEG2 W4 H2 F25:1 Cmono\n");
    let mut clip = Y4mClip::open(&p, true).unwrap();
    assert!(clip.next_frame().unwrap().is_none());
}

#[test]
fn truncated_clips_are_errors_naming_the_frame() {
    let dir = tempfile::tempdir().unwrap();
    let full = clip_bytes(4, 2, "C420jpeg", 4, 3, "FRAME\n");
    let frame_len = "FRAME\n".len() + 8 + 4;
    let header_len = full.len() - 3 * frame_len;
    // Cut inside the luma of frame 2, inside its chroma, and inside its FRAME tag.
    for cut in [header_len + 2 * frame_len + 9, header_len + 2 * frame_len + 15, header_len + 2 * frame_len + 3] {
        let p = write(dir.path(), "cut.y4m", &full[..cut]);
        let mut clip = Y4mClip::open(&p, false).unwrap();
        assert_eq!(drain(&mut clip, 2).unwrap(), [0, 1]);
        let err = clip.next_frame().unwrap_err();
        assert!(matches!(err, SourceError::Truncated { frame: 2, .. }), "cut at {cut}: {err}");
        assert!(err.to_string().contains("cut.y4m"), "{err}");
    }
    // A truncated gzip stream is an error too, never a silent end.
    let p = write(dir.path(), "cut.y4m.gz", &gzip(&full)[..40]);
    let result = Y4mClip::open(&p, false).and_then(|mut c| drain(&mut c, 100).map(|_| ()));
    assert!(result.is_err());
}

#[test]
fn bad_headers_and_frames_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (bytes, why) in [
        (&b"YUV4MPEG2 W4 C420\n"[..], "height"),
        (b"RIFF....WAVEfmt \n", "YUV4MPEG2"),
        (b"", "empty"),
        (b"YUV4MPEG2 W4 H2 C411\nFRAME\n", "C411"),
        (&[0x89, b'P', b'N', b'G', 0, 0, 0, 0][..], "header"),
    ] {
        let p = write(dir.path(), "bad.y4m", bytes);
        let err = Y4mClip::open(&p, false).unwrap_err();
        assert!(matches!(err, SourceError::BadClip { .. }), "{why}: {err}");
        assert!(err.to_string().contains(why), "{why}: {err}");
    }
    let mut bytes = b"YUV4MPEG2 W2 H2 Cmono\nFRAME\n1234".to_vec();
    bytes.extend_from_slice(b"FRAMX\n1234");
    let p = write(dir.path(), "bad.y4m", &bytes);
    let mut clip = Y4mClip::open(&p, false).unwrap();
    clip.next_frame().unwrap().unwrap();
    let err = clip.next_frame().unwrap_err();
    assert!(err.to_string().contains("FRAME"), "{err}");
    assert!(matches!(Y4mClip::open(&dir.path().join("missing.y4m"), false), Err(SourceError::Io { .. })));
}

fn grey_png(dir: &Path, name: &str, value: u8) -> PathBuf {
    let p = dir.join(name);
    image::GrayImage::from_pixel(6, 4, image::Luma([value])).save(&p).unwrap();
    p
}

#[test]
fn folders_are_read_in_name_order_and_skip_other_files() {
    let dir = tempfile::tempdir().unwrap();
    grey_png(dir.path(), "b.png", 20);
    grey_png(dir.path(), "a.png", 10);
    grey_png(dir.path(), "c.PNG", 30);
    std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
    std::fs::create_dir(dir.path().join("sub.png")).unwrap();
    let rgb = dir.path().join("d.jpg");
    image::RgbImage::from_pixel(6, 4, image::Rgb([40, 40, 40])).save(&rgb).unwrap();

    let mut src = ImageFiles::folder(dir.path(), false).unwrap();
    let names: Vec<String> = src.files().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["a.png", "b.png", "c.PNG", "d.jpg"]);
    let values = drain(&mut src, 10).unwrap();
    assert_eq!(&values[..3], [10, 20, 30]);
    assert!((values[3] as i32 - 40).abs() <= 2, "JPEG grey {}", values[3]);

    let mut looping = ImageFiles::folder(dir.path(), true).unwrap();
    assert_eq!(drain(&mut looping, 6).unwrap()[4..], [10, 20]);

    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(ImageFiles::folder(empty.path(), false), Err(SourceError::Empty { .. })));
}

#[test]
#[cfg(feature = "photo-formats")]
fn bmp_tiff_and_webp_photos_are_read_and_other_formats_named() {
    let dir = tempfile::tempdir().unwrap();
    for (value, name) in [(50, "p.bmp"), (60, "p.tiff"), (70, "p.webp")] {
        let p = dir.path().join(name);
        image::RgbImage::from_pixel(6, 4, image::Rgb([value, value, value])).save(&p).unwrap();
        let grey = source::load_grey(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((grey.width, grey.height), (6, 4), "{name}");
        assert!(grey.data.iter().all(|&v| v == value), "{name}: {:?}", grey.data);
    }
    let names: Vec<String> = ImageFiles::folder(dir.path(), false).unwrap().files().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["p.bmp", "p.tiff", "p.webp"]);
    // A GIF (a format this build does not decode) is refused with a sentence naming it.
    let gif = write(dir.path(), "p.gif", b"GIF89a\x06\x00\x04\x00\x00\x00\x00;");
    let err = source::load_grey(&gif).unwrap_err().to_string();
    assert!(err.contains("p.gif") && err.contains("Gif pictures are not supported"), "{err}");
}

#[test]
fn a_corrupt_image_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let good = grey_png(dir.path(), "a.png", 10);
    let bad = write(dir.path(), "b.png", b"\x89PNG\r\n\x1a\n garbage that is not a PNG");
    let mut src = ImageFiles::new(vec![good, bad], false).unwrap();
    src.next_frame().unwrap().unwrap();
    let err = src.next_frame().unwrap_err();
    assert!(matches!(err, SourceError::Decode { .. }), "{err}");
    assert!(err.to_string().contains("b.png"), "{err}");
}

#[test]
fn open_picks_the_source_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let clip = write(dir.path(), "x.y4m", &clip_bytes(4, 2, "Cmono", 0, 2, "FRAME\n"));
    let cfg = SourceConfig { path: Some(clip.clone()), fps: Some(0.0f64.try_into().unwrap()), ..Default::default() };
    let mut src = source::open(&cfg, Path::new("unused"), None).unwrap();
    assert!(src.describe().contains("as fast as possible"), "{}", src.describe());
    assert_eq!(drain(&mut src, 10).unwrap(), [0, 1]);

    // No fps in the config: the clip's own rate paces the replay.
    let cfg = SourceConfig { path: Some(clip), ..Default::default() };
    let src = source::open(&cfg, Path::new("unused"), None).unwrap();
    assert_eq!(src.nominal_fps(), Some(25.0));

    let png = grey_png(dir.path(), "one.png", 77);
    let cfg = SourceConfig { kind: SourceKind::Images, files: vec![png.clone(), png], ..Default::default() };
    let mut src = source::open(&cfg, Path::new("unused"), None).unwrap();
    assert_eq!(drain(&mut src, 10).unwrap(), [77, 77]);

    let cfg = SourceConfig { path: Some(dir.path().to_path_buf()), fps: Some(0.0f64.try_into().unwrap()), ..Default::default() };
    let mut src = source::open(&cfg, Path::new("unused"), None).unwrap();
    assert_eq!(drain(&mut src, 10).unwrap(), [77]);
}
