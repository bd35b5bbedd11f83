//! Fixed-point preprocessing: from a grey frame to 28x28 digit tensors.
//!
//! No floating point from frame to model input, and no allocation per frame once the buffers
//! have grown to the frame size. Stages, each in its own module:
//!
//! 1. [`binarize`]: adaptive threshold against the local mean (sliding integral image), both
//!    ink polarities at once, robust to gradients, vignetting and soft shadows;
//! 2. [`polarity`]: dark ink on paper or light ink on a board, from the binariser's evidence;
//! 3. [`components`]: 8-connected run-length labelling with per-component statistics, leaving
//!    out ink runs as long as a ruled line;
//! 4. [`filter`]: dropping specks, lines (whole or in fragments), cut-off and implausible
//!    blobs; [`tails`] cuts digits free of the tilted ruled lines they are written on;
//! 5. [`grouping`]: merging the pieces of one digit, splitting rows, reading order;
//! 6. [`crop`]: each digit's own ink into a crop, then [`normalize`] (MNIST normalisation).
//!
//! Inverting a frame (`255 - p`) swaps the polarity and nothing else: every stage works on
//! "ink strength" computed symmetrically, so both readings are identical.

pub mod binarize;
pub mod components;
pub mod config;
pub mod crop;
pub mod filter;
pub mod grouping;
pub mod normalize;
pub mod polarity;
pub mod tails;

use std::time::{Duration, Instant};

use crate::frame::GreyImage;

pub use config::PreprocessConfig;
pub use normalize::{Normalizer, INPUT_LEN, INPUT_SIDE};
pub use polarity::Polarity;

use binarize::{window_radius, Binarizer, Margins};
use components::Labeller;
use crop::{CropBuilder, CropSource};
use filter::{beside_ordinary_digits, check_digit, check_piece, relative_to_strongest, stands_beside, Limits, LineFragments, Rejection};
use grouping::{Digit, Grouper, MergeRules};
use tails::{may_be_a_digit_on_a_line, may_be_digits_on_a_line, LineCutter};

/// One normalised digit: 28x28 uint8, ink bright on black, row-major. This is exactly the
/// model's input (the NPU takes it raw; the CPU path divides by 255 inside the classifier).
#[derive(Clone, PartialEq, Eq)]
pub struct DigitTensor(pub [u8; INPUT_LEN]);

impl Default for DigitTensor {
    fn default() -> Self { DigitTensor([0; INPUT_LEN]) }
}

impl std::fmt::Debug for DigitTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "DigitTensor[")?;
        for row in self.0.chunks(INPUT_SIDE) {
            let line: String = row.iter().map(|&v| match v { 0..=31 => ' ', 32..=127 => '.', 128..=223 => 'o', _ => '#' }).collect();
            writeln!(f, "  |{line}|")?;
        }
        write!(f, "]")
    }
}

/// Axis-aligned box in frame pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BoundingBox {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl BoundingBox {
    pub fn right(&self) -> u32 { self.x + self.w }
    pub fn bottom(&self) -> u32 { self.y + self.h }
}

/// One digit found in a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigitCandidate {
    /// Box of the digit's ink in frame pixels.
    pub bbox: BoundingBox,
    /// Text row, 0 for the top one.
    pub row: u16,
    /// The normalised digit, ready for the classifier.
    pub tensor: DigitTensor,
    /// Below `min_peak_contrast`, kept only because the frame's strongest digit is faint too
    /// (`faint_peak_pct`) or because it stands in a row beside a digit of ordinary contrast, or
    /// beside a faint one kept so (`row_faint_peak_pct`): it may be shown only beside a digit of ordinary contrast that the
    /// classifier accepted, so that a stray mark on a blank page cannot vouch for another.
    pub faint: bool,
}

/// Time spent in each stage on the last frame (for debug logs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageTimings {
    /// Integral image and adaptive threshold (both polarities).
    pub binarize: Duration,
    pub polarity: Duration,
    pub components: Duration,
    /// Piece rejection, line fragments included.
    pub filter: Duration,
    /// Merging, digit rejection, rows and order.
    pub grouping: Duration,
    /// Crops and normalisation.
    pub normalize: Duration,
}

impl StageTimings {
    pub fn total(&self) -> Duration {
        self.binarize + self.polarity + self.components + self.filter + self.grouping + self.normalize
    }
}

/// The whole preprocessing stage. Keep one per camera: its buffers are reused frame to frame.
#[derive(Debug)]
pub struct Preprocessor {
    cfg: PreprocessConfig,
    binarizer: Binarizer,
    labeller: Labeller,
    /// Indices of the components that passed the piece check.
    kept: Vec<u32>,
    line_fragments: LineFragments,
    line_cutter: LineCutter,
    grouper: Grouper,
    crops: CropBuilder,
    normalizer: Normalizer,
    candidates: Vec<DigitCandidate>,
    /// The grouping's digit behind each candidate (for [`Self::joined_candidate`]).
    candidate_digits: Vec<Digit>,
    /// Groups that vouch for a faint one beside them (see `row_faint_peak_pct`): those of
    /// ordinary contrast on this frame, then the faint ones they vouch for, and so on.
    vouching: Vec<components::Blob>,
    polarity: Polarity,
    timings: StageTimings,
}

impl Default for Preprocessor {
    fn default() -> Self { Self::new(PreprocessConfig::default()) }
}

impl Preprocessor {
    /// `cfg` should have passed [`PreprocessConfig::validate`]; out-of-range values are
    /// clamped rather than trusted, so processing never panics either way.
    pub fn new(cfg: PreprocessConfig) -> Self {
        let max_digits = cfg.max_digits as usize;
        Self {
            cfg,
            binarizer: Binarizer::new(),
            labeller: Labeller::new(),
            kept: Vec::new(),
            line_fragments: LineFragments::new(),
            line_cutter: LineCutter::new(),
            grouper: Grouper::new(),
            crops: CropBuilder::new(),
            normalizer: Normalizer::new(),
            candidates: Vec::with_capacity(max_digits),
            candidate_digits: Vec::with_capacity(max_digits),
            vouching: Vec::new(),
            polarity: Polarity::default(),
            timings: StageTimings::default(),
        }
    }

    pub fn config(&self) -> &PreprocessConfig { &self.cfg }

    /// Finds the digits of `img`, in reading order (rows top to bottom, left to right).
    /// Never panics, for any frame size including empty ones.
    pub fn process(&mut self, img: GreyImage<'_>) -> &[DigitCandidate] {
        let mut clock = Lap::start();
        self.candidates.clear();
        self.candidate_digits.clear();
        let (w, h) = (img.width(), img.height());
        let cfg = &self.cfg;

        let radius = window_radius(w, h, cfg.window_per_mille, cfg.min_window_px);
        let margins = Margins { relative_pct: cfg.relative_margin_pct, absolute: cfg.absolute_margin };
        let evidence = self.binarizer.run(&img, radius, margins);
        self.timings.binarize = clock.lap();

        self.polarity = cfg.force_polarity.unwrap_or_else(|| polarity::decide(&evidence));
        log::trace!("polarity {:?} from {evidence:?}", self.polarity);
        self.timings.polarity = clock.lap();

        let max_run = match cfg.line_run_per_mille {
            0 => usize::MAX,
            per_mille => (w * per_mille as usize).div_ceil(1000).saturating_sub(1),
        };
        self.labeller.label(self.binarizer.ink(self.polarity), w, h, max_run);
        self.timings.components = clock.lap();

        let limits = Limits::new(cfg, w, h);
        let pieces = self.labeller.components();
        self.kept.clear();
        self.line_cutter.clear();
        for (i, piece) in pieces.iter().enumerate() {
            match check_piece(piece, &limits) {
                Ok(()) if cfg.cut_free_of_lines && may_be_a_digit_on_a_line(piece, &limits) => self.line_cutter.consider_kept(i as u32),
                Ok(()) => self.kept.push(i as u32),
                // Specks are most pieces of any frame: not worth a line each.
                Err(Rejection::Speck) => {}
                Err(why) => {
                    log::trace!("piece at {:?} dropped: {why:?}", piece.bbox());
                    if cfg.cut_free_of_lines && may_be_digits_on_a_line(piece, why, &limits) {
                        self.line_cutter.consider(i as u32);
                    }
                }
            }
        }
        self.line_cutter.cut(&mut self.labeller, self.binarizer.ink(self.polarity), w, &limits, &mut self.kept);
        let pieces = self.labeller.components();
        let before = self.kept.len();
        self.line_fragments.remove(pieces, &mut self.kept, &limits);
        if self.kept.len() < before {
            log::trace!("{} pieces dropped as fragments of a line", before - self.kept.len());
        }
        let max_pieces = (cfg.max_pieces as usize).max(1);
        if self.kept.len() > max_pieces {
            // Cluttered frame: keep the largest pieces, in their original order.
            self.kept.select_nth_unstable_by_key(max_pieces - 1, |&i| (std::cmp::Reverse(pieces[i as usize].area), i));
            self.kept.truncate(max_pieces);
            self.kept.sort_unstable();
        }
        self.timings.filter = clock.lap();

        self.grouper.group(pieces, &self.kept, &MergeRules::new(cfg, &limits));
        self.vouching.clear();
        self.vouching.extend(self.grouper.groups().filter(|b| check_digit(b, &limits).is_ok()));
        let strongest = self.vouching.iter().map(|b| b.peak).max();
        let digit_limits = relative_to_strongest(&limits, strongest, cfg.faint_peak_pct);
        let row_limits = beside_ordinary_digits(&digit_limits, cfg.row_faint_peak_pct);
        // A faint group standing beside a vouched-for one is vouched for in turn: a shadow over
        // the end of a row dims several digits in a row, and only the first stands beside one
        // of ordinary contrast.
        let faint_within_row_floor = |b: &components::Blob| {
            check_digit(b, &digit_limits) == Err(Rejection::Faint) && check_digit(b, &row_limits).is_ok()
        };
        loop {
            let before = self.vouching.len();
            for b in self.grouper.groups() {
                if faint_within_row_floor(b) && !self.vouching.contains(b) && self.vouching.iter().any(|o| stands_beside(b, o)) {
                    self.vouching.push(*b);
                }
            }
            if self.vouching.len() == before {
                break;
            }
        }
        let vouching = &self.vouching;
        let is_digit = |b: &components::Blob| match check_digit(b, &digit_limits) {
            Ok(()) => true,
            // Faint and vouched for: it passed `faint_within_row_floor` to be added.
            Err(Rejection::Faint) if vouching.contains(b) => {
                log::trace!("faint group at {:?} (peak contrast {}) kept: it stands beside a digit", b.bbox(), b.peak);
                true
            }
            Err(why) => {
                log::trace!("group at {:?} (peak contrast {}) is not a digit: {why:?}", b.bbox(), b.peak);
                false
            }
        };
        self.grouper.select_digits(is_digit, (cfg.max_digits as usize).max(1));
        self.timings.grouping = clock.lap();

        let source = crop_source(img, &self.binarizer, self.polarity, &self.labeller, &self.grouper);
        for digit in self.grouper.digits() {
            self.candidates.push(DigitCandidate {
                bbox: digit.blob.bbox(),
                row: digit.row,
                tensor: DigitTensor::default(),
                faint: digit.blob.peak < limits.min_peak,
            });
            let tensor = &mut self.candidates.last_mut().expect("just pushed").tensor.0;
            if self.crops.build(&source, digit, self.cfg.dilate_crop, &mut self.normalizer, tensor) {
                self.candidate_digits.push(*digit);
            } else {
                self.candidates.pop();
            }
        }
        self.timings.normalize = clock.lap();
        &self.candidates
    }

    /// Candidates `a` and `b` of the last frame cut as one digit: the pieces of both, in the
    /// union of their boxes, in `a`'s row. `img` must be the frame last processed. `None` for
    /// an index out of range, another frame size, or an empty crop.
    pub fn joined_candidate(&mut self, img: GreyImage<'_>, a: usize, b: usize) -> Option<DigitCandidate> {
        let db = *self.candidate_digits.get(b)?;
        let faint = self.candidates.get(b)?.faint;
        if a == b {
            return None;
        }
        self.joined(img, a, &db.blob, db.group, faint)
    }

    /// The groups of the last frame that are not candidates (too small, too thin, too faint
    /// for a digit of their own, or past `max_digits`): their group numbers and boxes, for
    /// [`Self::candidate_with_part`].
    pub fn leftover_parts(&self) -> impl Iterator<Item = (u32, BoundingBox)> + '_ { self.grouper.leftovers().map(|(g, blob)| (g, blob.bbox())) }

    /// Candidate `a` of the last frame cut together with the leftover group `group` (see
    /// [`Self::leftover_parts`]); `None` as for [`Self::joined_candidate`], or for a group
    /// that is no leftover.
    pub fn candidate_with_part(&mut self, img: GreyImage<'_>, a: usize, group: u32) -> Option<DigitCandidate> {
        let blob = *self.grouper.leftovers().find(|&(g, _)| g == group)?.1;
        self.joined(img, a, &blob, group, true)
    }

    fn joined(&mut self, img: GreyImage<'_>, a: usize, part: &components::Blob, part_group: u32, part_faint: bool) -> Option<DigitCandidate> {
        let da = *self.candidate_digits.get(a)?;
        if img.width() != self.binarizer.width() || img.height() != self.binarizer.height() {
            return None;
        }
        let digit = Digit { blob: da.blob.union(part), ..da };
        let source = crop_source(img, &self.binarizer, self.polarity, &self.labeller, &self.grouper);
        let mut tensor = DigitTensor::default();
        self.crops
            .build_joined(&source, &digit, part_group, self.cfg.dilate_crop, &mut self.normalizer, &mut tensor.0)
            .then(|| DigitCandidate { bbox: digit.blob.bbox(), row: da.row, tensor, faint: self.candidates[a].faint && part_faint })
    }

    /// Candidates of the last frame (what [`Self::process`] returned).
    pub fn candidates(&self) -> &[DigitCandidate] { &self.candidates }

    /// Ink polarity of the last frame.
    pub fn polarity(&self) -> Polarity { self.polarity }

    /// Per-stage times of the last frame.
    pub fn timings(&self) -> &StageTimings { &self.timings }

    /// The last frame's ink map (ink strength, 0 = background), for debug dumps.
    pub fn ink_map(&self) -> GreyImage<'_> {
        let (w, h) = (self.binarizer.width(), self.binarizer.height());
        GreyImage::packed(w, h, self.binarizer.ink(self.polarity)).unwrap_or_else(|_| GreyImage::packed(0, 0, &[]).expect("empty image"))
    }
}

/// Stopwatch handing out the time since the previous lap.
struct Lap(Instant);

impl Lap {
    fn start() -> Self { Lap(Instant::now()) }
    fn lap(&mut self) -> Duration {
        let now = Instant::now();
        let d = now - self.0;
        self.0 = now;
        d
    }
}

/// What the crops of the last frame are painted from.
fn crop_source<'a>(img: GreyImage<'a>, binarizer: &'a Binarizer, polarity: Polarity, labeller: &'a Labeller, grouper: &'a Grouper) -> CropSource<'a> {
    CropSource {
        img,
        binarizer,
        polarity,
        runs: labeller.runs(),
        run_components: labeller.run_components(),
        piece_group: grouper.piece_group(),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod test_draw;
