//! Every USPS test digit (2007), each alone on a simple simulated page (30-200 px tall, dark
//! ink, mild light gradient and noise), read through the whole pipeline by the real
//! `digitd recognize --json`. USPS is not what the model trains on, so this measures how well
//! the reader carries over to another population of writers and scanners.
//!
//! Set `DIGITD_SCENES_DIR=/some/dir` to keep the pages for looking at failures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use digitd::synth::cli_run::read_scenes;
use digitd::synth::data::load_usps_test;
use digitd::synth::{resolve_data_dir, single_digit_page};

const BIN: &str = env!("CARGO_BIN_EXE_digitd");
const SEED_BASE: u64 = 3_000_000;
const BATCH: usize = 100;
const WORKERS: usize = 2;
/// The product's bar (issue "digitd core"): 97 % of USPS test digits read through the whole
/// pipeline. Met: 97.51 % (1957/2007, the student of 2026-12-02 with the second opinion of
/// 2026-12-04, 40 epochs; the one of 20 epochs read 1956; the student alone 1957, with the
/// lone-digit rule of 2026-12-03, and 97.21 % before that rule). Of the 50 misses 40 are read
/// as something else and 10 read nothing (rejected, several stretched more than twice as wide
/// as tall, which USPS's own size normalisation does, or no candidate at all); the student
/// alone gets 98.26 % of USPS test right, in the INT8 simulator.
const PRODUCT_BAR_ACCURACY: f64 = 0.97;
const MIN_ACCURACY: f64 = PRODUCT_BAR_ACCURACY;

#[test]
fn usps_test_digits_are_read_through_the_pipeline() {
    let usps = load_usps_test(&resolve_data_dir(None)).expect("USPS test set");
    let (dir, keep, _tmp) = match std::env::var_os("DIGITD_SCENES_DIR") {
        Some(d) => {
            let d = PathBuf::from(d).join("usps");
            std::fs::create_dir_all(&d).expect("create DIGITD_SCENES_DIR");
            (d, true, None)
        }
        None => {
            let tmp = tempfile::tempdir().expect("temp dir");
            (tmp.path().to_path_buf(), false, Some(tmp))
        }
    };
    let run = read_scenes(Path::new(BIN), &dir, usps.len(), BATCH, WORKERS, keep, |i| {
        (single_digit_page(usps.get(i), SEED_BASE + i as u64), format!("usps-{i:04}.png"))
    })
    .expect("run digitd");
    for m in run.messages.iter().take(5) {
        eprintln!("digitd said: {m}");
    }

    let total = run.outcomes.len();
    let correct = run.outcomes.iter().filter(|o| o.is_exact()).count();
    let rate = correct as f64 / total.max(1) as f64;
    eprintln!(
        "USPS test digits: {correct}/{total} read exactly ({:.2} %; regression floor {:.0} %, product bar {:.0} %)",
        100.0 * rate,
        100.0 * MIN_ACCURACY,
        100.0 * PRODUCT_BAR_ACCURACY
    );

    // Per class, and the most common confusions (expected -> got).
    let mut per_class = [(0usize, 0usize); 10];
    let mut confusions: BTreeMap<(String, String), usize> = BTreeMap::new();
    for o in &run.outcomes {
        let class = o.expected.parse::<usize>().unwrap_or(0);
        per_class[class].1 += 1;
        if o.is_exact() {
            per_class[class].0 += 1;
        } else {
            *confusions.entry((o.expected.clone(), o.got().to_string())).or_default() += 1;
        }
    }
    let classes: Vec<String> = per_class.iter().enumerate().map(|(c, (ok, all))| format!("{c}: {ok}/{all}")).collect();
    eprintln!("  per class: {}", classes.join(", "));
    let mut common: Vec<_> = confusions.iter().collect();
    common.sort_by(|a, b| b.1.cmp(a.1));
    let common: Vec<String> = common.iter().take(15).map(|((e, g), n)| format!("{e}->{g:?} x{n}")).collect();
    eprintln!("  common confusions: {}", common.join(", "));
    for o in run.outcomes.iter().filter(|o| !o.is_exact()) {
        eprintln!("  FAIL {}: expected {:?}, got {:?} [{}]", o.file.display(), o.expected, o.got(), o.description);
    }
    assert_eq!(total, usps.len());
    assert!(rate >= MIN_ACCURACY, "USPS accuracy {:.2} % < {:.0} %", 100.0 * rate, 100.0 * MIN_ACCURACY);
}
