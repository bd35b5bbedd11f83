//! Writes USPS digits, each alone on a simulated page, as image files with their labels: the
//! pages of `tests/usps_pipeline.rs` (test split, same seeds), or pages of USPS *train* digits
//! for tuning the reader on digits the test never sees:
//!
//! `cargo run --example write_usps_pages -- DIR test|train [INDEX_FILE]`
//!
//! INDEX_FILE (optional) lists the digit indices to write, one per line (e.g. the model
//! pipeline's validation split of USPS train). `DIR/expected.txt` lists `file<TAB>label`.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use digitd::synth::data::{load_usps_test, load_usps_train, read_indices};
use digitd::synth::{resolve_data_dir, save_grey, single_digit_page};

/// The seeds `tests/usps_pipeline.rs` uses for the test split; train pages start elsewhere.
const TEST_SEED_BASE: u64 = 3_000_000;
const TRAIN_SEED_BASE: u64 = 4_000_000;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, split, index_file) = match args.as_slice() {
        [dir, split] => (dir, split, None),
        [dir, split, index] => (dir, split, Some(index)),
        _ => return Err("usage: write_usps_pages DIR test|train [INDEX_FILE]".into()),
    };
    let data = resolve_data_dir(None);
    let (digits, seed_base) = match split.as_str() {
        "test" => (load_usps_test(&data)?, TEST_SEED_BASE),
        "train" => (load_usps_train(&data)?, TRAIN_SEED_BASE),
        other => return Err(format!("split {other:?} is neither test nor train").into()),
    };
    let indices = match index_file {
        Some(path) => read_indices(Path::new(path), digits.len())?,
        None => (0..digits.len()).collect(),
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    let mut expected = String::new();
    for i in indices {
        let page = single_digit_page(digits.get(i), seed_base + i as u64);
        let name = format!("usps-{split}-{i:04}.png");
        save_grey(&page.image, &dir.join(&name), 90)?;
        writeln!(expected, "{name}\t{}", page.text)?;
    }
    std::fs::write(dir.join("expected.txt"), expected)?;
    Ok(())
}
