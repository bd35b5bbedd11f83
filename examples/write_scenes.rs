//! Writes generated scenes as image files, for comparing two digitd builds on the same
//! pictures (CI runs the ARM build under qemu-arm against the native one):
//!
//! `cargo run --example write_scenes -- DIR TEXT_SCENES BLANK_PAGES [TEXT_SEED BLANK_SEED]`
//!
//! The scenes are those of `tests/scenes.rs` (same seeds, half PNG, half JPEG), or others from
//! the given first seeds (e.g. for tuning on scenes the tests do not use); `DIR/expected.txt`
//! lists `file<TAB>reading` (newlines in readings written as `/`). Needs the digit data
//! (`DIGITD_DATA_DIR` or `../shared/data`).

use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;

use digitd::synth::{blank_page, resolve_data_dir, save_grey, text_scene, DigitBank};

/// The seeds `tests/scenes.rs` uses.
const TEXT_SEED_BASE: u64 = 1_000_000;
const BLANK_SEED_BASE: u64 = 2_000_000;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, text, blank, text_base, blank_base) = match args.as_slice() {
        [dir, text, blank] => (dir, text, blank, TEXT_SEED_BASE, BLANK_SEED_BASE),
        [dir, text, blank, ts, bs] => (dir, text, blank, ts.parse()?, bs.parse()?),
        _ => return Err("usage: write_scenes DIR TEXT_SCENES BLANK_PAGES [TEXT_SEED BLANK_SEED]".into()),
    };
    let dir = PathBuf::from(dir);
    let (text, blank): (u64, u64) = (text.parse()?, blank.parse()?);
    std::fs::create_dir_all(&dir)?;
    let bank = DigitBank::load_test_sets(&resolve_data_dir(None))?;
    let mut expected = String::new();
    let scenes = (0..text).map(|i| (text_base + i, "text")).chain((0..blank).map(|i| (blank_base + i, "blank")));
    for (seed, kind) in scenes {
        let scene = if kind == "text" { text_scene(&bank, seed) } else { blank_page(seed) };
        let name = format!("{kind}-{seed}.{}", if seed % 2 == 0 { "png" } else { "jpg" });
        save_grey(&scene.image, &dir.join(&name), 90)?;
        writeln!(expected, "{name}\t{}", scene.text.replace('\n', "/"))?;
    }
    std::fs::write(dir.join("expected.txt"), expected)?;
    Ok(())
}
