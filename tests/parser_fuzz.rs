//! Cheap fuzzing of every parser that reads a file a user or a technician hands to `digitd`:
//! Y4M clips (plain and gzip), the TOML config, the model manifest and picture files. Each
//! starts from a valid input, damages it at random (bytes replaced, inserted, deleted, the
//! tail cut off) and checks that the parser returns either a value or an error, never panics,
//! and that what it returns is consistent (a clip's frames have the size its header says).

use std::io::Write;
use std::path::{Path, PathBuf};

use digitd::classify::Manifest;
use digitd::config::Config;
use digitd::source::{load_grey, FrameSource, Y4mClip};
use proptest::prelude::*;

/// One edit of a byte string; positions are taken modulo its length.
#[derive(Clone, Debug)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Replace(i, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => any::<usize>().prop_map(Edit::Delete),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn damaged(valid: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = valid.to_vec();
    for e in edits {
        let len = bytes.len();
        match *e {
            Edit::Replace(i, b) if len > 0 => bytes[i % len] = b,
            Edit::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Edit::Delete(i) if len > 0 => {
                bytes.remove(i % len);
            }
            Edit::Truncate(i) => bytes.truncate(i % (len + 1)),
            _ => {}
        }
    }
    bytes
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A valid 8x6 clip of three frames with 4:2:0 chroma.
fn valid_clip() -> Vec<u8> {
    let mut clip = b"YUV4MPEG2 W8 H6 F30:1 C420jpeg\n".to_vec();
    for frame in 0..3u8 {
        clip.extend_from_slice(b"FRAME\n");
        clip.extend((0..48u8).map(|i| i.wrapping_mul(5).wrapping_add(frame)));
        clip.extend([128u8; 2 * 4 * 3]);
    }
    clip
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Opens `path` as a clip and reads up to a few frames (looping, so a rewind is tried too),
/// checking each against the header. Errors are fine; panics and inconsistent frames are not.
fn read_clip(path: &Path) {
    let Ok(mut clip) = Y4mClip::open(path, true) else { return };
    let (w, h) = (clip.header().width, clip.header().height);
    for _ in 0..5 {
        match clip.next_frame() {
            Ok(Some(frame)) => {
                assert_eq!((frame.width, frame.height), (w, h));
                assert!(frame.data.len() >= frame.stride * h.saturating_sub(1) + w, "frame shorter than its header says");
            }
            Ok(None) | Err(_) => return,
        }
    }
}

proptest! {
    // 256 cases per parser; `PROPTEST_CASES=20000` fuzzes longer.
    #[test]
    fn damaged_y4m_clips_are_read_or_refused(edits in prop::collection::vec(edit(), 1..8), gz in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let valid = valid_clip();
        let bytes = if gz { damaged(&gzip(&valid), &edits) } else { damaged(&valid, &edits) };
        read_clip(&write(dir.path(), "clip.y4m", &bytes));
    }

    #[test]
    fn random_bytes_are_not_a_clip(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let dir = tempfile::tempdir().unwrap();
        read_clip(&write(dir.path(), "clip.y4m", &bytes));
    }

    #[test]
    fn damaged_configs_are_parsed_or_refused(edits in prop::collection::vec(edit(), 1..6)) {
        let example = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/board/digitd.toml")).unwrap();
        let bytes = damaged(&example, &edits);
        // Config files are read as UTF-8 text; damage that breaks the encoding is the
        // reader's error, not the parser's.
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Err(e) = Config::parse(text, Path::new("digitd.toml")) {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn damaged_manifests_are_loaded_or_refused(edits in prop::collection::vec(edit(), 1..6)) {
        let shipped = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/model/artifacts/MANIFEST.json")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "MANIFEST.json", &damaged(&shipped, &edits));
        if let Ok(m) = Manifest::load(&path) {
            // Whatever survives the checks must still describe a usable rule.
            prop_assert!((0.0..=1.0).contains(&m.reject.min_confidence));
            prop_assert!((0.0..=1.0).contains(&m.reject.max_not_a_digit));
        }
    }

    #[test]
    fn damaged_pictures_are_decoded_or_refused(edits in prop::collection::vec(edit(), 1..6), kind in 0usize..3) {
        let dir = tempfile::tempdir().unwrap();
        let (name, valid) = match kind {
            0 => ("scene.jpg", std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample/scene-2.jpg")).unwrap()),
            1 => ("scene.png", small_png()),
            _ => ("scene.pgm", b"P5\n4 3\n255\n\x00\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0".to_vec()),
        };
        let path = write(dir.path(), name, &damaged(&valid, &edits));
        if let Ok(img) = load_grey(&path) {
            let view = img.view();
            prop_assert!(view.width() <= digitd::frame::MAX_SIDE && view.height() <= digitd::frame::MAX_SIDE);
        }
    }
}

fn small_png() -> Vec<u8> {
    let img = image::GrayImage::from_fn(16, 12, |x, y| image::Luma([(x * 13 + y * 7) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn the_valid_seeds_parse() {
    // The fuzzing above only means something if its starting points are accepted.
    let dir = tempfile::tempdir().unwrap();
    let mut clip = Y4mClip::open(&write(dir.path(), "clip.y4m", &valid_clip()), false).unwrap();
    let mut frames = 0;
    while clip.next_frame().unwrap().is_some() {
        frames += 1;
    }
    assert_eq!(frames, 3);
    let mut clip = Y4mClip::open(&write(dir.path(), "clip.y4m.gz", &gzip(&valid_clip())), false).unwrap();
    assert!(clip.next_frame().unwrap().is_some());
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/board/digitd.toml")).unwrap();
    Config::parse(&example, Path::new("digitd.toml")).unwrap();
    Manifest::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/model/artifacts/MANIFEST.json"))).unwrap();
    for (name, bytes) in [("a.png", small_png()), ("b.pgm", b"P5\n4 3\n255\n\x00\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0".to_vec())] {
        let img = load_grey(&write(dir.path(), name, &bytes)).unwrap();
        assert!(img.view().width() > 0);
    }
}
