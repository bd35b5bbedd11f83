//! End to end: camera-like pictures of handwritten digits (held-out MNIST/USPS digits on
//! paper and boards, see `digitd::synth::page`) and blank pages, through the real
//! `digitd recognize --json`.
//!
//! Prints the measured rates, what kind of miss each failure is, and every failure (file,
//! expected, got, how the scene was drawn).
//! Set `DIGITD_SCENES_DIR=/some/dir` to keep the pictures for looking at failures; a scene is
//! regenerated exactly from its seed (`text_scene(&bank, seed)` / `blank_page(seed)`).
//!
//! Tuning without touching the test scenes: `DIGITD_SCENES_SEED=5000000` (text scenes from that
//! seed, blank pages from it + 1 000 000) and `DIGITD_SCENES_COUNT=1000` measure other scenes
//! of the same generator; the floors below are then not asserted (they are for the test seeds).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use digitd::synth::cli_run::{read_scenes, SceneRun};
use digitd::synth::{blank_page, resolve_data_dir, text_scene, DigitBank};

const BIN: &str = env!("CARGO_BIN_EXE_digitd");
const TEXT_SCENES: usize = 320;
const BLANK_PAGES: usize = 320;
const TEXT_SEED_BASE: u64 = 1_000_000;
const BLANK_SEED_BASE: u64 = 2_000_000;
/// Files per `digitd` process, and processes at a time.
const BATCH: usize = 40;
const WORKERS: usize = 2;

/// The product's bars (issue "digitd core"): 97 % of text scenes read exactly, at most 0.5 % of
/// blank pages showing a digit. Both are met and both are asserted here: 312/320 = 97.50 % read
/// exactly and 0/320 blank pages showing a digit (2026-12-04: the student of 2026-12-02 with
/// the 16x second opinion of 2026-12-04, 40 epochs, for its unsure digits; the student alone
/// read 308/320, with the 20-epoch second opinion 310/320). The margin is one scene: a change
/// that loses two of these fails this test, and should. On the tuning seeds 7 000 000+ 972/1000
/// = 97.2 % (student alone 969), 5 000 000+ 979/1000 (976); blank pages 0/1000 on 8 000 000+.
/// The firmware's rules then: ink margin 13 % (light ink's capped on dark boards),
/// top-bar merge, faint digits vouched for by the page's strongest or by a digit beside them
/// in their row, digits up to 3.2 times as wide as tall, row neighbours read as their best
/// digit, a lone row measured against the frame's digits, polarity by brightness unless the
/// strokes clearly disagree, detached parts re-read joined, margin lines never setting a
/// row's height, a 1 touching a taller digit joined to it when together they read as another
/// digit, a left-out part re-read with an unsure digit beside it, a rejected part touching a
/// 1 joined to it when together they read as another digit, the one upright digit-like mark
/// of an otherwise empty frame read with looser thresholds, a faint digit kept beside a faint
/// one kept beside an ordinary one, a digit cut free of a stretch of line that ends inside
/// the frame. Other sets, with the second opinion (the student alone in brackets), none of them
/// used to choose it: 2 905/3 000 = 96.8 % (2 905) on the seeds 9, 10 and 11 000 000, which
/// read 96.3 % when first measured; 965/1 000 (964) on the seeds 14 000 000+; 1 946/2 000
/// (1 936) on the seeds 15 and 16 000 000; 9 (7) of those sets' 6 000 blank pages show a
/// digit. On scenes drawn from the model's validation digits instead, ambiguous ones included,
/// 1 454/1 500 (1 450). Chalkboard scenes (frames darker than 100 on average) used to be
/// missed more often than paper, as digits in shadow were lost; with the student alone they
/// are now missed as often: on the six sets of tuning seeds above, 22 of 697 (35 before)
/// against 166 of 5 303.
/// Of the 8 misses here 7 are digits read as others (9→4 twice, 5→3 twice, 8→3, 5→9, 3→5;
/// the model: the student's accuracy on the firmware's crops of validation pages is
/// 99.0 % per digit against 99.5 % on MNIST validation; an average of four differently trained
/// students gets 99.1 %, so most of these are digits the models agree on, and many a person
/// would hesitate over too), and 1 digit is missing: a 1 broken into four dots by ink skips,
/// which the models call "not a digit". (A 0 joined to a tilted ruled line that runs to the
/// frame edge was another; digits are now cut free of such lines. The second opinion fixed
/// four more: a 77 read as 17, a 238 read as 638, a 4 read as 7 and a 1 read as 5.) By data
/// set (printed below): here MNIST 855/861 and USPS 266/267 digits right (student alone
/// 851/861 and 266/267); on the tuning seeds 7 000 000+ and 5 000 000+ MNIST 5 318/5 338
/// (99.63 %) and USPS 1 714/1 737 (98.68 %). A model 16 times the size, trained 60 epochs on
/// a GPU (model/README.md, "Tried and not adopted"), reads 311/320 here on its own but only
/// 216 frames/s on one core; the one shipped as the second opinion is that architecture
/// trained 40 epochs on 2 CPU cores, and runs only for the student's unsure digits.
const PRODUCT_BAR_EXACT_READING: f64 = 0.97;
const MIN_EXACT_READING: f64 = PRODUCT_BAR_EXACT_READING;
const PRODUCT_BAR_BLANK_FALSE_ALARMS: f64 = 0.005;
const MAX_BLANK_FALSE_ALARMS: f64 = PRODUCT_BAR_BLANK_FALSE_ALARMS;

/// Text and blank seed bases and scene count: the test's own, or the tuning run's
/// (`DIGITD_SCENES_SEED`, `DIGITD_SCENES_COUNT`) and whether the floors apply.
fn scene_plan(default_text_seed: u64, default_blank_seed: u64, default_count: usize) -> (u64, u64, usize, bool) {
    let var = |name: &str| std::env::var(name).ok().map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")));
    match (var("DIGITD_SCENES_SEED"), var("DIGITD_SCENES_COUNT")) {
        (None, None) => (default_text_seed, default_blank_seed, default_count, true),
        (seed, count) => {
            let text = seed.unwrap_or(default_text_seed);
            let count = count.map_or(default_count, |c| c as usize);
            eprintln!("tuning run: seeds {text} (text) and {} (blank), {count} of each; floors not asserted", text + 1_000_000);
            (text, text + 1_000_000, count, false)
        }
    }
}

/// Lower end of the digit-height band (pixels) a scene is counted in.
fn height_band(digit_height: f32) -> u32 {
    [120, 60, 30].into_iter().find(|&from| digit_height >= from as f32).unwrap_or(0)
}

/// Whether a reading has the expected shape: as many rows, each as many digits long.
fn same_shape(expected: &str, got: &str) -> bool { expected.lines().map(str::len).eq(got.lines().map(str::len)) }

/// What kind of miss a wrong reading is: the same digits and rows with some read as others
/// (the model), digits missing (not found by preprocessing, or rejected), extra digits, or
/// the right digits split into rows wrongly.
fn miss_kind(expected: &str, got: &str) -> &'static str {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).count();
    let (e, g) = (digits(expected), digits(got));
    if g < e {
        "digits missing"
    } else if g > e {
        "extra digits"
    } else if same_shape(expected, got) {
        "digits read as others"
    } else {
        "rows split wrongly"
    }
}

/// Where the pictures go: kept in `DIGITD_SCENES_DIR/<name>` if set, else a temp folder.
fn picture_dir(name: &str) -> (PathBuf, bool, Option<tempfile::TempDir>) {
    match std::env::var_os("DIGITD_SCENES_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir).join(name);
            std::fs::create_dir_all(&dir).expect("create DIGITD_SCENES_DIR");
            (dir, true, None)
        }
        None => {
            let tmp = tempfile::tempdir().expect("temp dir");
            (tmp.path().to_path_buf(), false, Some(tmp))
        }
    }
}

/// Half the pictures as PNG, half as JPEG (as a phone would save them).
fn file_name(prefix: &str, seed: u64) -> String {
    format!("{prefix}-{seed}.{}", if seed % 2 == 0 { "png" } else { "jpg" })
}

fn report_messages(run: &SceneRun) {
    for m in run.messages.iter().take(5) {
        eprintln!("digitd said: {m}");
    }
}

#[test]
fn text_scenes_are_read_exactly() {
    let bank = DigitBank::load_test_sets(&resolve_data_dir(None)).expect("held-out digit sets");
    let (seed_base, _, count, floors) = scene_plan(TEXT_SEED_BASE, BLANK_SEED_BASE, TEXT_SCENES);
    let (dir, keep, _tmp) = picture_dir("text");
    let run = read_scenes(Path::new(BIN), &dir, count, BATCH, WORKERS, keep, |i| {
        let seed = seed_base + i as u64;
        (text_scene(&bank, seed), file_name("text", seed))
    })
    .expect("run digitd");
    report_messages(&run);

    let total = run.outcomes.len();
    let exact = run.outcomes.iter().filter(|o| o.is_exact()).count();
    let digits: usize = run.outcomes.iter().map(|o| o.expected.chars().filter(char::is_ascii_digit).count()).sum();
    // Digit-level view: positions that match where the reading has the right shape.
    let mut shape_wrong = 0;
    let mut by_count: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    // Right/all digits from MNIST and from USPS, in readings of the right shape.
    let mut by_set = [(0usize, 0usize); 2];
    let mut by_height: BTreeMap<u32, (usize, usize)> = BTreeMap::new();
    for o in &run.outcomes {
        let got = o.got();
        if same_shape(&o.expected, got) {
            let pairs = got.chars().zip(o.expected.chars()).filter(|(_, e)| e.is_ascii_digit());
            for ((g, e), &usps) in pairs.zip(&o.from_usps) {
                let entry = &mut by_set[usps as usize];
                entry.0 += (g == e) as usize;
                entry.1 += 1;
            }
        } else {
            shape_wrong += 1;
        }
        let n = o.expected.chars().filter(char::is_ascii_digit).count();
        for entry in [by_count.entry(n).or_default(), by_height.entry(height_band(o.digit_height)).or_default()] {
            entry.0 += o.is_exact() as usize;
            entry.1 += 1;
        }
    }
    let [mnist, usps] = by_set;
    let digits_right = mnist.0 + usps.0;
    let rate = exact as f64 / total.max(1) as f64;
    eprintln!(
        "text scenes: {exact}/{total} read exactly ({:.2} %; regression floor {:.1} %, product bar {:.0} %)",
        100.0 * rate,
        100.0 * MIN_EXACT_READING,
        100.0 * PRODUCT_BAR_EXACT_READING
    );
    eprintln!(
        "  digits right in readings of the right shape: {digits_right}/{digits}; readings with a wrong number of digits or rows: {shape_wrong}"
    );
    for (n, (ok, all)) in &by_count {
        eprintln!("  {n} digit(s): {ok}/{all}");
    }
    let percent = |(ok, all): (usize, usize)| 100.0 * ok as f64 / all.max(1) as f64;
    eprintln!(
        "  of those digits, MNIST {}/{} ({:.2} %), USPS {}/{} ({:.2} %)",
        mnist.0,
        mnist.1,
        percent(mnist),
        usps.0,
        usps.1,
        percent(usps)
    );
    let bands: Vec<String> = by_height.iter().map(|(from, &(ok, all))| format!("{from}+ px {ok}/{all} ({:.1} %)", percent((ok, all)))).collect();
    eprintln!("  read exactly, by digit height: {}", bands.join(", "));
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for o in run.outcomes.iter().filter(|o| !o.is_exact()) {
        *kinds.entry(miss_kind(&o.expected, o.got())).or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    eprintln!("  misses: {}", kinds.join(", "));
    for o in run.outcomes.iter().filter(|o| !o.is_exact()) {
        eprintln!("  FAIL {}: expected {:?}, got {:?} [{}]", o.file.display(), o.expected, o.got(), o.description);
    }
    assert_eq!(total, count);
    assert!(!floors || rate >= MIN_EXACT_READING, "exact reading {:.2} % < {:.1} %", 100.0 * rate, 100.0 * MIN_EXACT_READING);
}

#[test]
fn blank_pages_show_no_digits() {
    let (_, seed_base, count, floors) = scene_plan(TEXT_SEED_BASE, BLANK_SEED_BASE, BLANK_PAGES);
    let (dir, keep, _tmp) = picture_dir("blank");
    let run = read_scenes(Path::new(BIN), &dir, count, BATCH, WORKERS, keep, |i| {
        let seed = seed_base + i as u64;
        (blank_page(seed), file_name("blank", seed))
    })
    .expect("run digitd");
    report_messages(&run);

    let total = run.outcomes.len();
    let alarms: Vec<_> = run.outcomes.iter().filter(|o| o.shows_digit()).collect();
    let rate = alarms.len() as f64 / total.max(1) as f64;
    eprintln!(
        "blank pages: {}/{total} show a digit ({:.2} %; regression ceiling {:.2} %, product bar {:.1} %)",
        alarms.len(),
        100.0 * rate,
        100.0 * MAX_BLANK_FALSE_ALARMS,
        100.0 * PRODUCT_BAR_BLANK_FALSE_ALARMS
    );
    for o in &alarms {
        let digits = o.reading.as_ref().map(|r| r.digits.iter().map(|d| format!("{}@{:?} p={}", d.digit, d.bbox, d.confidence)).collect::<Vec<_>>());
        eprintln!("  FALSE ALARM {}: got {:?} {:?} [{}]", o.file.display(), o.got(), digits, o.description);
    }
    assert_eq!(total, count);
    assert!(!floors || rate <= MAX_BLANK_FALSE_ALARMS, "{:.2} % of blank pages show digits", 100.0 * rate);
}
