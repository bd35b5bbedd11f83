//! The Rust normaliser must reproduce the model pipeline's normalisation byte for byte
//! (`tests/data/normalize_vectors.json`, written by `python -m digitmodel.normalize
//! --write-vectors`), or the model would be trained on inputs the firmware never makes.

use digitd::preprocess::{Normalizer, INPUT_LEN};

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    w: usize,
    h: usize,
    crop: Vec<u8>,
    out: Option<Vec<u8>>,
}

#[test]
fn rust_normaliser_matches_the_python_reference() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/normalize_vectors.json")).unwrap();
    let cases: Vec<Case> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 30);
    let mut norm = Normalizer::new();
    for case in cases {
        let mut out = [0u8; INPUT_LEN];
        let ok = norm.normalize(&case.crop, case.w, case.h, case.w, &mut out);
        match case.out {
            None => assert!(!ok, "{}: expected no output", case.name),
            Some(expected) => {
                assert!(ok, "{}: expected an output", case.name);
                let diff = out.iter().zip(&expected).filter(|(a, b)| a != b).count();
                assert_eq!(diff, 0, "{}: {diff} of 784 bytes differ", case.name);
            }
        }
    }
}
