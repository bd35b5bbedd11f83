//! Runs generated pages through the firmware's own preprocessing and writes the normalised
//! crops with their labels, as training data for the model pipeline (`model/`): the model then
//! learns the crops it will really be given, including the fragments, stray marks and specks
//! that survive the blob filter (labelled "not a digit").
//!
//! `cargo run --release --example export_crops -- POOL_DIR OUT TEXT_PAGES BLANK_PAGES SEED`
//!
//! `POOL_DIR` holds the digits to draw with, written by the pipeline (its training split only,
//! so validation and test digits never leak in): `mnist.pool` and `usps.pool`, each
//! `b"DPOOL1\0\0"`, count and side as u32 LE, `count` labels, then `count * side * side` pixels
//! (ink bright). `OUT` gets `b"DCROPS1\0"`, count as u32 LE, `count` labels (0-9, 10 = not a
//! digit), then `count * 784` bytes of model input.
//!
//! A candidate overlapping a drawn digit's box by IoU ≥ 0.5 gets its label; one overlapping
//! no digit (IoU < 0.1) is "not a digit"; anything between (a piece of a digit, two digits run
//! together) is left out rather than guessed.

use std::error::Error;
use std::io::Write;
use std::path::Path;

use digitd::preprocess::{BoundingBox, Preprocessor, INPUT_LEN};
use digitd::synth::{blank_page, text_scene, DigitBank, DigitSet};

const NOT_A_DIGIT: u8 = 10;
const POOL_MAGIC: &[u8; 8] = b"DPOOL1\0\0";
const CROPS_MAGIC: &[u8; 8] = b"DCROPS1\0";

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [pool, out, text, blank, seed] = args.as_slice() else {
        return Err("usage: export_crops POOL_DIR OUT TEXT_PAGES BLANK_PAGES SEED".into());
    };
    let pool = Path::new(pool);
    let bank = DigitBank::unfiltered(read_pool(&pool.join("mnist.pool"))?, read_pool(&pool.join("usps.pool"))?);
    let (text, blank, seed): (u64, u64, u64) = (text.parse()?, blank.parse()?, seed.parse()?);

    // Pages are independent: split them over the cores, in order, so the output is the same
    // whatever the thread count.
    let pages: Vec<u64> = (0..text + blank).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks: Vec<Crops> = std::thread::scope(|s| {
        let workers: Vec<_> = pages
            .chunks(pages.len().div_ceil(threads).max(1))
            .map(|chunk| s.spawn(|| crops_of(&bank, chunk, text, seed)))
            .collect();
        workers.into_iter().map(|w| w.join().expect("page worker panicked")).collect()
    });
    let (mut labels, mut tensors, mut skipped, mut missed) = (Vec::new(), Vec::new(), 0, 0);
    for c in chunks {
        labels.extend(c.labels);
        tensors.extend(c.tensors);
        skipped += c.skipped;
        missed += c.missed;
    }

    let mut f = std::io::BufWriter::new(std::fs::File::create(out)?);
    f.write_all(CROPS_MAGIC)?;
    f.write_all(&u32::try_from(labels.len())?.to_le_bytes())?;
    f.write_all(&labels)?;
    f.write_all(&tensors)?;
    f.flush()?;
    let negatives = labels.iter().filter(|&&l| l == NOT_A_DIGIT).count();
    println!(
        "{out}: {} crops ({} digits, {negatives} not a digit) from {text} text and {blank} blank pages; \
         {skipped} partial overlaps left out, {missed} drawn digits without a matching candidate",
        labels.len(),
        labels.len() - negatives
    );
    Ok(())
}

#[derive(Default)]
struct Crops {
    labels: Vec<u8>,
    tensors: Vec<u8>,
    /// Candidates overlapping a digit only in part, left out.
    skipped: usize,
    /// Drawn digits no candidate matched.
    missed: usize,
}

/// Pages `pages` (indices; those below `text` are text pages, the rest blank) through the
/// preprocessing, each candidate labelled from the drawn boxes.
fn crops_of(bank: &DigitBank, pages: &[u64], text: u64, seed: u64) -> Crops {
    let mut pre = Preprocessor::default();
    let mut out = Crops::default();
    for &i in pages {
        let page_seed = seed.wrapping_mul(1_000_003).wrapping_add(i);
        let scene = if i < text { text_scene(bank, page_seed) } else { blank_page(page_seed) };
        let truth: Vec<u8> = scene.text.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
        let mut found = vec![false; truth.len()];
        for c in pre.process(scene.image.view()) {
            let best = scene.boxes.iter().enumerate().map(|(k, b)| (k, iou(&c.bbox, b))).max_by(|a, b| a.1.total_cmp(&b.1));
            let label = match best {
                Some((k, v)) if v >= 0.5 => {
                    found[k] = true;
                    truth[k]
                }
                Some((_, v)) if v >= 0.1 => {
                    out.skipped += 1;
                    continue;
                }
                _ => NOT_A_DIGIT,
            };
            out.labels.push(label);
            out.tensors.extend_from_slice(&c.tensor.0);
        }
        out.missed += found.iter().filter(|f| !**f).count();
    }
    out
}

fn read_pool(path: &Path) -> Result<DigitSet, Box<dyn Error>> {
    let raw = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bad = || format!("{}: not a digit pool (see export_crops.rs)", path.display());
    if raw.len() < 16 || &raw[..8] != POOL_MAGIC {
        return Err(bad().into());
    }
    let word = |at: usize| u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]) as usize;
    let (count, side) = (word(8), word(12));
    let pixels_at = 16 + count;
    if raw.len() != pixels_at + count * side * side {
        return Err(bad().into());
    }
    DigitSet::new(side, raw[16..pixels_at].to_vec(), raw[pixels_at..].to_vec()).ok_or_else(|| bad().into())
}

fn iou(a: &BoundingBox, b: &BoundingBox) -> f32 {
    let w = a.right().min(b.right()).saturating_sub(a.x.max(b.x));
    let h = a.bottom().min(b.bottom()).saturating_sub(a.y.max(b.y));
    let inter = (w * h) as f32;
    let union = (a.w * a.h + b.w * b.h) as f32 - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

const _: () = assert!(INPUT_LEN == 784);
