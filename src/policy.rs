//! What counts as a reading: the per-digit accept rule, how digits make a reading, and the
//! temporal stabiliser that keeps single-frame glitches off the screen. Pure logic.

use crate::classify::{ClassScores, NOT_A_DIGIT};

/// A pair of reject thresholds. A digit passes when its probability is at least
/// `min_confidence` and the probability of "not a digit" is at most `max_not_a_digit`.
///
/// Two thresholds because they answer two questions: `max_not_a_digit` keeps specks, lines and
/// stray strokes off the screen; `min_confidence` drops digits the model cannot tell apart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    pub min_confidence: f32,
    pub max_not_a_digit: f32,
}

impl Thresholds {
    pub const fn new(min_confidence: f32, max_not_a_digit: f32) -> Self { Self { min_confidence, max_not_a_digit } }

    /// Whether a digit read with probability `confidence` and p(not a digit) `not_a_digit`
    /// passes. NaN (a broken model) compares false and never passes.
    pub fn pass(&self, confidence: f32, not_a_digit: f32) -> bool {
        confidence >= self.min_confidence && not_a_digit <= self.max_not_a_digit
    }

    /// These thresholds for a looser rule (the row and lone-digit rules) beside `strict`: each
    /// one clamped so the rule is never harder to pass than the strict one, and `None` when it
    /// is no looser at all (the rule would change nothing).
    pub fn looser_than(self, strict: Thresholds) -> Option<Thresholds> {
        let clamped = Thresholds::new(self.min_confidence.min(strict.min_confidence), self.max_not_a_digit.max(strict.max_not_a_digit));
        (clamped != strict).then_some(clamped)
    }
}

/// The accept rule: the strict thresholds (the manifest's reject rule, or the config's
/// `[model] min_confidence` / `max_not_a_digit` overrides) for every digit, and the looser
/// rules for digits in context. A digit is shown only if the top class is a digit
/// (not "not a digit") and it passes the strict thresholds, unless a looser rule admits it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AcceptRule {
    pub strict: Thresholds,
    /// Looser thresholds beside accepted digits in the same text row; `None`: strict only.
    pub row: Option<RowRule>,
    /// Looser thresholds for the one digit-like candidate of an otherwise empty frame;
    /// `None`: strict only.
    pub lone: Option<LoneRule>,
}

/// One classified digit: the top class, its probability, and whether the rule accepts it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    /// Top class index (0-9, or [`NOT_A_DIGIT`]).
    pub class: u8,
    pub confidence: f32,
    pub accepted: bool,
}

impl AcceptRule {
    /// The strict thresholds alone, no looser rule.
    pub const fn strict_only(strict: Thresholds) -> Self { Self { strict, row: None, lone: None } }

    pub fn judge(&self, scores: &ClassScores) -> Verdict {
        let (class, p) = scores.best();
        let accepted = class != NOT_A_DIGIT && self.strict.pass(p, scores.0[NOT_A_DIGIT]);
        Verdict { class: class as u8, confidence: p, accepted }
    }
}

/// Looser thresholds for a candidate that stands in a text row beside accepted digits of about
/// its height: a number is read as a row, and a digit the model is unsure of alone (a hurried
/// 4, a 1 that could be a stroke) is very likely a digit when its neighbours are, so it is read
/// as its best digit. A row with no accepted digit of its own (a lone "1" on the line under a
/// number) is measured against the accepted digits of the whole frame instead: on 1 500 scenes
/// drawn from the model's validation digits (README, "Development") that read 1 424 exactly
/// against 1 420 (five lone 1s, 3s and 8s on their own line now read; one stray stroke on its
/// own line now read as a 7). A frame with no accepted digit keeps the strict [`AcceptRule`],
/// so blank pages are unaffected.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowRule(pub Thresholds);

/// The row rule unless configured otherwise (`[model] row_min_confidence`, `row_max_not_a_digit`).
/// Thin 1s beside other digits often get p(not a digit) 0.3-0.45 (a lone stroke looks like
/// one), and a hurried digit in a row sometimes gets it ranked first (0.5-0.6) with its own
/// digit next. On 2 000 tuning scenes (seeds 5 000 000 and 7 000 000, not the test seeds)
/// reading such candidates as their best digit with these thresholds read 1 926 exactly,
/// against 1 922 with the top class required to be a digit, 0.3 and 0.5; looser settings
/// (0.15, 0.8) read the same. Blank pages cannot change (no accepted neighbour, no row rule).
pub const DEFAULT_ROW_RULE: RowRule = RowRule(Thresholds::new(0.2, 0.6));

/// Heights within this range of the row's accepted digits' median count as "about its height"
/// (per mille): a 1 or a 7 with a descender varies that much within handwriting.
const ROW_HEIGHT_RANGE_PER_MILLE: (u64, u64) = (650, 1500);

/// Looser thresholds for a frame on which the strict rule accepts nothing and exactly one
/// candidate has a digit as the model's top class: a single digit written alone on a page (a
/// thin 1, a hurried 7) is often read with p 0.3-0.6 and some "not a digit", and with nothing
/// else on the page there is no neighbour to vouch for it. The candidate must also be at least
/// as tall as it is wide: the marks alone on a blank page that the model calls a digit are
/// wavy scribbles and dashes, wider than tall, while a digit written alone stands upright. A
/// second digit-like candidate means the frame is not that simple, so the rule stays out of it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoneRule(pub Thresholds);

/// The lone-digit rule unless configured otherwise (`[model] lone_min_confidence`,
/// `lone_max_not_a_digit`). On 7 500 text scenes of tuning and validation seeds (5, 6, 7, 9,
/// 10, 11 and 14 000 000) and 729 USPS validation pages it reads 8 more exactly (two 1s, two
/// 7s, an 8, a 2, a 3 and a 5 alone on their page, which read as nothing before) and fires on
/// two more, reading a wrong digit where nothing was read; 0.2/0.6 and 0.15/0.75 read the same,
/// 0.3/0.45 one fewer. On 4 000 blank pages (seeds 8, 12, 13 and 14 500 000) it fired twice,
/// both times on a scribble wider than tall, which the upright condition keeps out.
pub const DEFAULT_LONE_RULE: LoneRule = LoneRule(Thresholds::new(0.25, 0.5));

/// One candidate as the lone-digit rule sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoneCandidate {
    /// The verdict so far (the strict rule's, or the row rule's where it admitted one).
    pub verdict: Verdict,
    pub not_a_digit: f32,
    pub width: u32,
    pub height: u32,
}

impl LoneRule {
    /// The candidate to accept: `None` unless no candidate is accepted and exactly one has a
    /// digit on top, upright and read surely enough for this rule.
    pub fn pick(&self, candidates: impl IntoIterator<Item = LoneCandidate>) -> Option<usize> {
        let mut lone = None;
        for (i, c) in candidates.into_iter().enumerate() {
            if c.verdict.accepted {
                return None;
            }
            if c.verdict.class as usize != NOT_A_DIGIT {
                if lone.is_some() {
                    return None;
                }
                lone = Some((i, c));
            }
        }
        let (i, c) = lone?;
        let upright = c.height >= c.width;
        (upright && self.0.pass(c.verdict.confidence, c.not_a_digit)).then_some(i)
    }
}

/// One candidate as the row rule sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowCandidate {
    pub row: u16,
    pub width: u32,
    pub height: u32,
    /// The best digit class (0-9), "not a digit" left out, and its probability: beside
    /// accepted digits, a candidate of digit height is read as its best digit even when the
    /// model ranks "not a digit" first, as long as `not_a_digit` stays under the row rule's bar.
    pub digit: u8,
    pub confidence: f32,
    pub not_a_digit: f32,
    pub accepted: bool,
}

impl RowRule {
    /// Accepts (sets `accepted`) the candidates the row rule admits, returning how many.
    /// Support comes only from digits the strict rule accepted, so one admitted digit never
    /// admits another. `heights` is scratch space (kept to stay allocation-free per frame).
    pub fn admit(&self, candidates: &mut [RowCandidate], heights: &mut Vec<u32>) -> usize {
        let mut admitted = 0;
        let Some(frame_median) = accepted_median_height(candidates, heights) else {
            return 0;
        };
        let mut i = 0;
        while i < candidates.len() {
            // Candidates come in reading order: each row is one run.
            let row = candidates[i].row;
            let end = i + candidates[i..].iter().take_while(|c| c.row == row).count();
            let own_median = accepted_median_height(&candidates[i..end], heights);
            let median = own_median.unwrap_or(frame_median) as u64;
            let (lo, hi) = ROW_HEIGHT_RANGE_PER_MILLE;
            for c in &mut candidates[i..end] {
                let h = c.height as u64 * 1000;
                let sized = h >= median * lo && h <= median * hi;
                if !c.accepted && sized && (self.0.pass(c.confidence, c.not_a_digit) || (own_median.is_some() && is_a_one_in_a_row(c))) {
                    c.accepted = true;
                    admitted += 1;
                }
            }
            i = end;
        }
        admitted
    }
}

/// A stroke at most this percentage of its height wide is shaped like a 1 (plain, flagged
/// or with a foot).
const ONE_MAX_WIDTH_PCT: u64 = 40;

/// Whether a candidate of its row's digit height, in a row with accepted digits of its own
/// (both checked by the caller), is a 1 whatever the model's "not a digit" says: an upright
/// stroke whose best digit is 1. Alone, a stroke is as much a line fragment as a 1, and the
/// model says so; in a row of digits it is a 1.
fn is_a_one_in_a_row(c: &RowCandidate) -> bool { c.digit == 1 && c.width as u64 * 100 <= c.height as u64 * ONE_MAX_WIDTH_PCT }

/// The median height of the accepted candidates, `None` if there are none (`heights` is scratch).
fn accepted_median_height(candidates: &[RowCandidate], heights: &mut Vec<u32>) -> Option<u32> {
    heights.clear();
    heights.extend(candidates.iter().filter(|c| c.accepted).map(|c| c.height));
    heights.sort_unstable();
    heights.get(heights.len() / 2).copied()
}

/// Writes the reading of `digits` (row, digit value), already in reading order, into `out`:
/// digits of a row side by side, rows joined by `\n`.
pub fn assemble_reading(digits: impl IntoIterator<Item = (u16, u8)>, out: &mut String) {
    out.clear();
    let mut last_row = None;
    for (row, digit) in digits {
        if last_row.is_some_and(|r| r != row) {
            out.push('\n');
        }
        last_row = Some(row);
        out.push(char::from(b'0' + digit.min(9)));
    }
}

/// A change of the stable reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StableChange {
    /// This reading is now shown (replacing any other).
    Shown(String),
    /// Nothing is shown any more.
    Cleared,
}

/// Turns per-frame readings into a stable one: a reading appears once the same text was seen
/// in `stable_frames` consecutive frames, and disappears after `vanish_frames` consecutive
/// frames without it (no digits, or a different reading).
#[derive(Clone, Debug)]
pub struct Stabiliser {
    stable_frames: u32,
    vanish_frames: u32,
    shown: Option<String>,
    /// The latest frame reading and for how many consecutive frames it has been seen.
    candidate: String,
    candidate_frames: u32,
    /// Consecutive frames without the shown reading.
    missing_frames: u32,
}

impl Stabiliser {
    pub fn new(stable_frames: u32, vanish_frames: u32) -> Self {
        Stabiliser {
            stable_frames: stable_frames.max(1),
            vanish_frames: vanish_frames.max(1),
            shown: None,
            candidate: String::new(),
            candidate_frames: 0,
            missing_frames: 0,
        }
    }

    /// The reading currently shown.
    pub fn shown(&self) -> Option<&str> { self.shown.as_deref() }

    /// Feeds one frame's reading (`""` when it has no accepted digits).
    pub fn update(&mut self, reading: &str) -> Option<StableChange> {
        if reading == self.candidate {
            self.candidate_frames = self.candidate_frames.saturating_add(1);
        } else {
            self.candidate.clear();
            self.candidate.push_str(reading);
            self.candidate_frames = 1;
        }
        if self.shown.as_deref() == Some(reading) {
            self.missing_frames = 0;
            return None;
        }
        if !reading.is_empty() && self.candidate_frames >= self.stable_frames {
            self.missing_frames = 0;
            self.shown = Some(reading.to_string());
            return Some(StableChange::Shown(reading.to_string()));
        }
        if self.shown.is_some() {
            self.missing_frames += 1;
            if self.missing_frames >= self.vanish_frames {
                self.shown = None;
                self.missing_frames = 0;
                return Some(StableChange::Cleared);
            }
        }
        None
    }

    /// Forgets everything (the camera was lost): a shown reading is cleared at once.
    pub fn reset(&mut self) -> Option<StableChange> {
        self.candidate.clear();
        self.candidate_frames = 0;
        self.missing_frames = 0;
        self.shown.take().map(|_| StableChange::Cleared)
    }

    /// Changes the thresholds (config reload), keeping what is shown.
    pub fn set_thresholds(&mut self, stable_frames: u32, vanish_frames: u32) {
        self.stable_frames = stable_frames.max(1);
        self.vanish_frames = vanish_frames.max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::NUM_CLASSES;

    fn scores(class: usize, p: f32) -> ClassScores {
        let mut s = [(1.0 - p) / (NUM_CLASSES - 1) as f32; NUM_CLASSES];
        s[class] = p;
        ClassScores(s)
    }

    #[test]
    fn accept_rule() {
        let rule = AcceptRule::strict_only(Thresholds::new(0.6, 1.0));
        assert_eq!(rule.judge(&scores(7, 0.9)), Verdict { class: 7, confidence: 0.9, accepted: true });
        assert!(rule.judge(&scores(7, 0.6)).accepted, "the threshold itself passes");
        assert!(!rule.judge(&scores(7, 0.59)).accepted);
        assert!(!rule.judge(&scores(NOT_A_DIGIT, 0.99)).accepted);
        assert!(!rule.judge(&ClassScores([f32::NAN; NUM_CLASSES])).accepted);
    }

    #[test]
    fn a_likely_non_digit_is_rejected_even_when_a_digit_is_on_top() {
        let rule = AcceptRule::strict_only(Thresholds::new(0.3, 0.1));
        let mut s = [0.0; NUM_CLASSES];
        s[1] = 0.55;
        s[NOT_A_DIGIT] = 0.4;
        s[7] = 0.05;
        assert_eq!(rule.judge(&ClassScores(s)), Verdict { class: 1, confidence: 0.55, accepted: false });
        s[NOT_A_DIGIT] = 0.1;
        s[7] = 0.35;
        assert!(rule.judge(&ClassScores(s)).accepted, "exactly max_not_a_digit passes");
        s[NOT_A_DIGIT] = 0.11;
        s[7] = 0.34;
        assert!(!rule.judge(&ClassScores(s)).accepted);
    }

    #[test]
    fn a_looser_rule_is_never_stricter_than_the_strict_one() {
        let strict = Thresholds::new(0.4, 0.23);
        let looser = |min, max| Thresholds::new(min, max).looser_than(strict);
        assert_eq!(looser(0.2, 0.6), Some(Thresholds::new(0.2, 0.6)));
        // Only one threshold looser: the other stays at the strict value.
        assert_eq!(looser(0.5, 0.6), Some(Thresholds::new(0.4, 0.6)));
        assert_eq!(looser(0.25, 0.1), Some(Thresholds::new(0.25, 0.23)));
        // Both at or beyond the strict values: no looser rule at all.
        assert_eq!(looser(0.4, 0.23), None);
        assert_eq!(looser(0.9, 0.0), None);
    }

    fn cand(row: u16, height: u32, digit: u8, confidence: f32, not_a_digit: f32, accepted: bool) -> RowCandidate {
        RowCandidate { row, width: height / 2, height, digit, confidence, not_a_digit, accepted }
    }

    #[test]
    fn row_rule_admits_unsure_digits_beside_accepted_ones_of_their_height() {
        let rule = RowRule(Thresholds::new(0.3, 0.3));
        let mut heights = Vec::new();
        let mut c = [
            cand(0, 40, 4, 0.95, 0.01, true),
            cand(0, 38, 1, 0.70, 0.20, false), // unsure, beside a 4 of its height: admitted
            cand(0, 12, 1, 0.90, 0.10, false), // a speck-sized mark: too small
            cand(0, 41, 7, 0.25, 0.05, false), // the model cannot tell which digit
            cand(0, 39, 2, 0.60, 0.45, false), // too likely not a digit
            cand(0, 40, 5, 0.05, 0.9, false), // "not a digit" first, far ahead of any digit
            cand(1, 40, 3, 0.80, 0.20, false), // alone in its row, as tall as the frame's digits
            cand(2, 90, 3, 0.80, 0.20, false), // alone in its row, far taller than any digit
        ];
        assert_eq!(rule.admit(&mut c, &mut heights), 2);
        assert_eq!(c.map(|c| c.accepted), [true, true, false, false, false, false, true, false]);
        // Heights at the edges of the range: 0.65x and 1.5x the median.
        let mut c = [cand(0, 100, 4, 0.9, 0.0, true), cand(0, 65, 1, 0.5, 0.2, false), cand(0, 150, 1, 0.5, 0.2, false), cand(0, 64, 1, 0.5, 0.2, false)];
        rule.admit(&mut c, &mut heights);
        assert_eq!(c.map(|c| c.accepted), [true, true, true, false]);
        // A digit admitted by the row rule does not support another (80 is within 1.5x of 58,
        // not of 40).
        let mut c = [cand(0, 40, 4, 0.9, 0.0, true), cand(0, 58, 1, 0.5, 0.2, false), cand(0, 80, 1, 0.5, 0.2, false)];
        rule.admit(&mut c, &mut heights);
        assert_eq!(c.map(|c| c.accepted), [true, true, false]);
        let mut none: [RowCandidate; 0] = [];
        assert_eq!(rule.admit(&mut none, &mut heights), 0);
    }

    #[test]
    fn a_row_without_accepted_digits_is_measured_against_the_frame() {
        let rule = RowRule(Thresholds::new(0.3, 0.3));
        let mut heights = Vec::new();
        // A lone unsure 1 under a number: its row has no accepted digit, the frame does.
        let mut c = [cand(0, 50, 4, 0.9, 0.0, true), cand(0, 54, 2, 0.9, 0.0, true), cand(1, 48, 1, 0.6, 0.25, false)];
        assert_eq!(rule.admit(&mut c, &mut heights), 1);
        assert_eq!(c.map(|c| c.accepted), [true, true, true]);
        // A row's own accepted digits take precedence over the frame's: 30 is about the height
        // of row 1's digit, not of row 0's.
        let mut c = [cand(0, 100, 4, 0.9, 0.0, true), cand(1, 30, 2, 0.9, 0.0, true), cand(1, 32, 1, 0.6, 0.25, false)];
        assert_eq!(rule.admit(&mut c, &mut heights), 1);
        // No accepted digit anywhere (a blank page, a page of stray marks): nothing is admitted.
        let mut c = [cand(0, 40, 1, 0.6, 0.25, false), cand(1, 40, 7, 0.6, 0.25, false)];
        assert_eq!(rule.admit(&mut c, &mut heights), 0);
        assert_eq!(c.map(|c| c.accepted), [false, false]);
    }

    #[test]
    fn a_stroke_of_row_height_in_a_row_of_digits_is_a_one() {
        let rule = RowRule(Thresholds::new(0.3, 0.3));
        let mut heights = Vec::new();
        let stroke = |row, width, height, digit| RowCandidate { width, ..cand(row, height, digit, 0.1, 0.85, false) };
        let mut c = [
            cand(0, 100, 4, 0.95, 0.01, true),
            stroke(0, 10, 104, 1), // a hairline 1 the model calls a line fragment: admitted
            stroke(0, 38, 98, 1),  // a flagged 1, 39 % of its height wide: admitted
            stroke(0, 45, 100, 1), // wider than a 1
            stroke(0, 10, 100, 7), // its best digit is not 1
            stroke(0, 10, 40, 1),  // far shorter than the row's digits
            stroke(1, 10, 100, 1), // a row with no accepted digit of its own (a margin line)
        ];
        assert_eq!(rule.admit(&mut c, &mut heights), 2);
        assert_eq!(c.map(|c| c.accepted), [true, true, true, false, false, false, false]);
    }

    fn lone(class: u8, p: f32, not_a_digit: f32, (width, height): (u32, u32)) -> LoneCandidate {
        LoneCandidate { verdict: Verdict { class, confidence: p, accepted: false }, not_a_digit, width, height }
    }

    #[test]
    fn a_lone_upright_digit_on_an_otherwise_empty_frame_is_accepted() {
        let rule = LoneRule(Thresholds::new(0.25, 0.5));
        let nad = NOT_A_DIGIT as u8;
        // A thin 1 alone, beside a ruled-line fragment the model calls no digit.
        assert_eq!(rule.pick([lone(nad, 0.97, 0.97, (60, 8)), lone(1, 0.53, 0.4, (23, 56))]), Some(1));
        // Too unsure, or too likely no digit at all.
        assert_eq!(rule.pick([lone(7, 0.2, 0.1, (16, 33))]), None);
        assert_eq!(rule.pick([lone(7, 0.4, 0.55, (16, 33))]), None);
        // A scribble wider than tall, read as a 2.
        assert_eq!(rule.pick([lone(2, 0.45, 0.35, (52, 26))]), None);
        // Two digit-like candidates: not a lone digit.
        assert_eq!(rule.pick([lone(1, 0.5, 0.3, (20, 50)), lone(7, 0.5, 0.3, (20, 50))]), None);
        // A frame with an accepted digit is left to the other rules.
        let accepted = LoneCandidate { verdict: Verdict { class: 4, confidence: 0.9, accepted: true }, ..lone(4, 0.9, 0.0, (30, 50)) };
        assert_eq!(rule.pick([accepted, lone(1, 0.5, 0.3, (20, 50))]), None);
        assert_eq!(rule.pick([]), None);
    }

    #[test]
    fn readings_join_rows_with_newlines() {
        let mut s = String::from("junk");
        assemble_reading([(0, 3), (0, 1), (0, 7), (1, 4), (1, 2)], &mut s);
        assert_eq!(s, "317\n42");
        assemble_reading([], &mut s);
        assert_eq!(s, "");
        assemble_reading([(2, 5)], &mut s);
        assert_eq!(s, "5");
    }

    fn feed(st: &mut Stabiliser, frames: &[&str]) -> Vec<Option<StableChange>> {
        frames.iter().map(|f| st.update(f)).collect()
    }

    #[test]
    fn a_reading_appears_after_k_frames_and_vanishes_after_m() {
        let mut st = Stabiliser::new(3, 3);
        let out = feed(&mut st, &["317", "317", "317", "317"]);
        assert_eq!(out, [None, None, Some(StableChange::Shown("317".into())), None]);
        let out = feed(&mut st, &["", "", ""]);
        assert_eq!(out, [None, None, Some(StableChange::Cleared)]);
        assert_eq!(st.shown(), None);
    }

    #[test]
    fn a_reset_clears_at_once_and_starts_over() {
        let mut st = Stabiliser::new(2, 5);
        feed(&mut st, &["12", "12"]);
        assert_eq!(st.reset(), Some(StableChange::Cleared));
        assert_eq!(st.reset(), None, "nothing left to clear");
        assert_eq!(feed(&mut st, &["12", "12"]), [None, Some(StableChange::Shown("12".into()))], "counts start again");
    }

    #[test]
    fn single_frame_glitches_do_not_flicker() {
        let mut st = Stabiliser::new(3, 3);
        feed(&mut st, &["12", "12", "12"]);
        // A dropout, a misread, and a different glitch: nothing changes.
        let out = feed(&mut st, &["", "12", "72", "12", "1", "", "12"]);
        assert!(out.iter().all(Option::is_none), "{out:?}");
        assert_eq!(st.shown(), Some("12"));
        // Alternating glitches never reach K in a row either.
        let mut st = Stabiliser::new(3, 3);
        let out = feed(&mut st, &["5", "6", "5", "6", "5", "6"]);
        assert!(out.iter().all(Option::is_none));
    }

    #[test]
    fn a_new_reading_replaces_the_old_one() {
        let mut st = Stabiliser::new(2, 5);
        feed(&mut st, &["1", "1"]);
        let out = feed(&mut st, &["2", "2"]);
        assert_eq!(out, [None, Some(StableChange::Shown("2".into()))]);
        // With M < K the old reading goes before the new one is stable.
        let mut st = Stabiliser::new(4, 2);
        feed(&mut st, &["1", "1", "1", "1"]);
        let out = feed(&mut st, &["2", "2", "2", "2"]);
        assert_eq!(out, [None, Some(StableChange::Cleared), None, Some(StableChange::Shown("2".into()))]);
    }

    #[test]
    fn k_of_one_follows_every_frame() {
        let mut st = Stabiliser::new(1, 1);
        assert_eq!(st.update("4"), Some(StableChange::Shown("4".into())));
        assert_eq!(st.update(""), Some(StableChange::Cleared));
        assert_eq!(st.update(""), None);
    }
}
