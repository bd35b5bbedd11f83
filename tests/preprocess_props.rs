//! Properties of the preprocessing stage on random frames and random drawn scenes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use digitd::frame::{GreyImage, OwnedGrey};
use digitd::preprocess::{DigitCandidate, Polarity, PreprocessConfig, Preprocessor};
use proptest::prelude::*;

#[path = "../src/preprocess/test_draw.rs"]
mod draw;
use draw::*;

/// Counts allocations made by the current thread, to check that a warmed-up preprocessor
/// does not allocate.
struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocations() -> usize { ALLOCATIONS.with(|n| n.get()) }

/// A random scene: `digits` glyphs spread over rows on a page under uneven light, with specks.
fn scene(seed: u64, digits: usize, width: usize, height: usize) -> OwnedGrey {
    let mut rng = Lcg(seed);
    let mut canvas = Canvas::new(width, height);
    let per_row = digits.div_ceil(2).max(1);
    let cell_w = width as f32 / per_row as f32;
    let cell_h = height as f32 / 2.0;
    for i in 0..digits {
        let (col, row) = ((i % per_row) as f32, (i / per_row) as f32);
        let h = cell_h * (0.3 + 0.4 * rng.unit());
        let w = (h * (0.4 + 0.4 * rng.unit())).min(cell_w * 0.7);
        let x = col * cell_w + (cell_w - w) * (0.2 + 0.6 * rng.unit());
        let y = row * cell_h + (cell_h - h) * (0.2 + 0.6 * rng.unit());
        let stroke = 2.0 + rng.unit() * h / 10.0;
        canvas.glyph((rng.next_u32() % 10) as u8, (x, y, w, h), stroke, 0.1 + 0.2 * rng.unit());
    }
    canvas.specks(10, &mut rng, &[]);
    let data = canvas.render(0.6 + 0.35 * rng.unit(), uneven_light, 4.0, &mut rng);
    OwnedGrey { width, height, data }
}

/// Edges of the same digit's box may move this far between a page and its negative...
const INVERSION_BOX_SLACK: u32 = 1;
/// ...and the normalised digits may differ by this much per pixel on average (grey levels).
const INVERSION_TENSOR_SLACK: u32 = 6;

/// Whether `a` and `b` hold the same digits: the same count, rows and faint marks, and boxes
/// and normalised pixels within the slack above. They are identical where the negative's
/// board is brighter than a third of white; darker, light ink's margin follows the board's
/// light instead of mirroring dark ink's (see `binarize`), so stroke edges may be cut a little
/// differently.
fn same_digits(a: &[DigitCandidate], b: &[DigitCandidate]) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} candidates against {}", a.len(), b.len()));
    }
    for (a, b) in a.iter().zip(b) {
        let edges = [(a.bbox.x, b.bbox.x), (a.bbox.y, b.bbox.y), (a.bbox.right(), b.bbox.right()), (a.bbox.bottom(), b.bbox.bottom())];
        if a.row != b.row || a.faint != b.faint || edges.iter().any(|&(p, q)| p.abs_diff(q) > INVERSION_BOX_SLACK) {
            return Err(format!("{a:?} against {b:?}"));
        }
        let diff: u32 = a.tensor.0.iter().zip(&b.tensor.0).map(|(&p, &q)| p.abs_diff(q) as u32).sum();
        if diff > INVERSION_TENSOR_SLACK * a.tensor.0.len() as u32 {
            return Err(format!("normalised digits at {:?} differ by {:.1} per pixel", a.bbox, diff as f32 / a.tensor.0.len() as f32));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any size (including empty and one-pixel-wide frames), any stride, any content.
    #[test]
    fn never_panics_on_random_frames(w in 0usize..200, h in 0usize..200, pad in 0usize..5, seed: u64, levels in 1u8..=255) {
        let stride = w + pad;
        let mut rng = Lcg(seed);
        let data: Vec<u8> = (0..stride * h).map(|_| (rng.next_u32() % levels as u32) as u8).collect();
        let img = GreyImage::new(w, h, stride, &data).unwrap();
        let mut pre = Preprocessor::default();
        for c in pre.process(img) {
            prop_assert!(c.bbox.right() as usize <= w && c.bbox.bottom() as usize <= h);
        }
    }

    /// Blocky random frames (large flat areas and hard edges) at odd sizes.
    #[test]
    fn never_panics_on_blocky_frames(w in 1usize..400, h in 1usize..60, block in 1usize..40, seed: u64) {
        let mut rng = Lcg(seed);
        let blocks: Vec<u8> = (0..(w / block + 1) * (h / block + 1)).map(|_| [20, 230, 230][(rng.next_u32() % 3) as usize]).collect();
        let data: Vec<u8> = (0..w * h).map(|i| blocks[(i / w / block) * (w / block + 1) + (i % w) / block]).collect();
        let img = GreyImage::packed(w, h, &data).unwrap();
        let _ = Preprocessor::default().process(img);
        let img = GreyImage::packed(h, w, &data).unwrap();
        let _ = Preprocessor::default().process(img);
    }

    /// Every normalised digit has its centre of mass within 1 px of the field's centre.
    #[test]
    fn digits_are_centred_by_mass(seed: u64, digits in 1usize..7) {
        let img = scene(seed, digits, 640, 480);
        let mut pre = Preprocessor::default();
        for c in pre.process(img.view()) {
            let (cx, cy) = centre_of_mass(&c.tensor.0);
            prop_assert!((cx - 13.5).abs() <= 1.0 && (cy - 13.5).abs() <= 1.0, "centre ({cx:.2}, {cy:.2}) of {:?}", c.bbox);
        }
    }

    /// Light ink on a dark board gives the same digits as the same scene in dark ink on paper.
    #[test]
    fn inverted_frames_give_the_same_candidates(seed: u64, digits in 1usize..7, small in any::<bool>()) {
        let (w, h) = if small { (320, 240) } else { (640, 480) };
        let img = scene(seed, digits, w, h);
        let board = OwnedGrey { width: w, height: h, data: inverted(&img.data) };
        let mut pre = Preprocessor::default();
        let paper = pre.process(img.view()).to_vec();
        let paper_polarity = pre.polarity();
        let chalk = pre.process(board.view()).to_vec();
        prop_assert!(!paper.is_empty());
        prop_assert_eq!(paper_polarity, Polarity::DarkInk);
        prop_assert_eq!(pre.polarity(), Polarity::LightInk);
        prop_assert_eq!(same_digits(&paper, &chalk), Ok(()));
    }
}

#[test]
fn frames_of_extreme_shapes_do_not_panic() {
    let mut pre = Preprocessor::default();
    for (w, h) in [(0, 0), (1, 1), (1, 8192), (8192, 1), (8192, 3), (2, 4000)] {
        let data: Vec<u8> = (0..w * h).map(|i| if (i / 7) % 3 == 0 { 0 } else { 255 }).collect();
        let _ = pre.process(GreyImage::packed(w, h, &data).unwrap());
    }
    let big = scene(1, 6, 4096, 3072);
    let found = pre.process(big.view()).len();
    assert!(found > 0);
}

#[test]
fn config_limits_are_enforced_without_panicking() {
    // Extreme but valid settings must not break the arithmetic.
    let cfg = PreprocessConfig {
        window_per_mille: 1000,
        min_window_px: u16::MAX,
        relative_margin_pct: 100,
        absolute_margin: 255,
        min_piece_area_px: 0,
        min_piece_area_ppm: u32::MAX,
        max_digits: 1,
        max_pieces: 1,
        ..PreprocessConfig::default()
    };
    let img = scene(3, 4, 640, 480);
    let _ = Preprocessor::new(cfg).process(img.view());
    let loose = PreprocessConfig { relative_margin_pct: 0, absolute_margin: 1, min_piece_area_px: 0, min_piece_area_ppm: 0, min_fill_pct: 0, max_fill_pct: 100, ..Default::default() };
    let _ = Preprocessor::new(loose).process(img.view());
}

#[test]
fn warmed_up_preprocessor_does_not_allocate() {
    let a = scene(10, 4, 640, 480);
    let b = scene(11, 6, 640, 480);
    let mut pre = Preprocessor::default();
    for img in [&a, &b, &a] {
        pre.process(img.view());
    }
    let before = allocations();
    let found_a = pre.process(a.view()).len();
    let found_b = pre.process(b.view()).len();
    assert_eq!(allocations() - before, 0, "allocations while processing warmed-up frames");
    assert!(found_a > 0 && found_b > 0);
}
