//! Writes generated scenes as image files, for comparing two digitd builds on the same
//! pictures (CI runs the ARM build under qemu-arm against the native one):
//!
//! `cargo run --example write_scenes -- DIR TEXT_SCENES BLANK_PAGES [TEXT_SEED BLANK_SEED [MNIST_INDICES USPS_INDICES]]`
//!
//! The scenes are those of `tests/scenes.rs` (same seeds, half PNG, half JPEG), or others from
//! the given first seeds. With two index files (one index per line into MNIST train and USPS
//! train, e.g. the model pipeline's validation split) the digits come from those training-set
//! digits instead of the test sets: tuning scenes that share no digit with the tests.
//! `DIR/expected.txt` lists `file<TAB>reading` (newlines in readings written as `/`). Needs the
//! digit data (`DIGITD_DATA_DIR` or `../shared/data`).

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use digitd::synth::data::{load_mnist_train, load_usps_train, read_indices};
use digitd::synth::{blank_page, resolve_data_dir, save_grey, text_scene, DigitBank, DigitSet};

/// The seeds `tests/scenes.rs` uses.
const TEXT_SEED_BASE: u64 = 1_000_000;
const BLANK_SEED_BASE: u64 = 2_000_000;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, text, blank, text_base, blank_base, indices) = match args.as_slice() {
        [dir, text, blank] => (dir, text, blank, TEXT_SEED_BASE, BLANK_SEED_BASE, None),
        [dir, text, blank, ts, bs] => (dir, text, blank, ts.parse()?, bs.parse()?, None),
        [dir, text, blank, ts, bs, mnist, usps] => (dir, text, blank, ts.parse()?, bs.parse()?, Some((mnist, usps))),
        _ => return Err("usage: write_scenes DIR TEXT_SCENES BLANK_PAGES [TEXT_SEED BLANK_SEED [MNIST_INDICES USPS_INDICES]]".into()),
    };
    let dir = PathBuf::from(dir);
    let (text, blank): (u64, u64) = (text.parse()?, blank.parse()?);
    std::fs::create_dir_all(&dir)?;
    let data = resolve_data_dir(None);
    let bank = match indices {
        None => DigitBank::load_test_sets(&data)?,
        Some((mnist_indices, usps_indices)) => {
            let (mnist, usps) = (load_mnist_train(&data)?, load_usps_train(&data)?);
            DigitBank::unfiltered(subset(&mnist, mnist_indices)?, subset(&usps, usps_indices)?)
        }
    };
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

/// The digits of `set` listed in `index_file`.
fn subset(set: &DigitSet, index_file: &str) -> Result<DigitSet, Box<dyn Error>> {
    let indices = read_indices(Path::new(index_file), set.len())?;
    Ok(set.select(&indices).expect("read_indices checked every index"))
}
