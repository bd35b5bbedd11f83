//! `digitd selftest`: the model loads, and the CPU classifier reproduces the golden vectors
//! (`golden.json` next to the manifest: inputs with the float ONNX logits computed by the
//! model pipeline). The NPU check comes with the NPU back end.

use std::path::Path;
use std::process::ExitCode;

use serde::Deserialize;

use super::{load_model, AppError, Context};
use crate::classify::{ClassScores, NUM_CLASSES};
use crate::preprocess::{DigitTensor, INPUT_LEN};

/// `format` value of the golden file this firmware reads.
const GOLDEN_FORMAT: &str = "digitd golden vectors v1";
/// Largest allowed difference between our softmax scores and those of the reference logits.
/// tract and PyTorch sum in different orders; 1e-3 is far above that noise and far below
/// any real preprocessing or layout mistake.
const SCORE_TOLERANCE: f32 = 1e-3;

#[derive(Debug, Deserialize)]
struct Golden {
    format: String,
    vectors: Vec<GoldenVector>,
}

#[derive(Debug, Deserialize)]
struct GoldenVector {
    #[serde(default)]
    source: String,
    label: u8,
    input: Vec<u8>,
    onnx_logits: Vec<f32>,
}

/// The outcome of comparing the classifier with the golden vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldenReport {
    pub vectors: usize,
    pub matching: usize,
    pub max_score_diff: f32,
    pub labels_correct: usize,
    /// The worst vector: index, source, difference.
    pub worst: Option<(usize, String, f32)>,
}

pub fn selftest(ctx: &Context) -> Result<ExitCode, AppError> {
    let cfg = &ctx.config;
    let (manifest, mut classifier, rule) = load_model(cfg)?;
    println!(
        "selftest: manifest ok: {} (schema {}, min_confidence {:.3})",
        manifest.path.display(),
        manifest.schema_version,
        rule.min_confidence
    );
    println!(
        "selftest: model ok: {} ({} bytes, sha256 {}…), {} classifier",
        manifest.onnx_path().display(),
        manifest.onnx.bytes,
        &manifest.onnx.sha256[..12],
        classifier.name()
    );
    let golden_path = manifest.artifact("golden.json");
    let golden = read_golden(&golden_path)?;
    let report = check_golden(classifier.as_mut(), &golden)?;
    if report.matching != report.vectors {
        let (i, source, diff) = report.worst.unwrap_or_default();
        return Err(AppError::ModelCheck(format!(
            "selftest failed: {} of {} golden vectors in {} differ from the ONNX reference (worst: vector {i} {source}, score difference {diff:.4})",
            report.vectors - report.matching,
            report.vectors,
            golden_path.display()
        )));
    }
    println!(
        "selftest: golden vectors ok: {}/{} match the ONNX reference (max score difference {:.2e}); {}/{} labels correct",
        report.matching, report.vectors, report.max_score_diff, report.labels_correct, report.vectors
    );
    println!("selftest: npu: not in this build (skipped)");
    println!("selftest: ok");
    Ok(ExitCode::SUCCESS)
}

fn read_golden(path: &Path) -> Result<Golden, AppError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AppError::ModelCheck(format!("cannot read the golden vectors {}: {e}", path.display())))?;
    let golden: Golden = serde_json::from_str(&text)
        .map_err(|e| AppError::ModelCheck(format!("golden vectors {} are not valid: {e}", path.display())))?;
    if golden.format != GOLDEN_FORMAT {
        return Err(AppError::ModelCheck(format!(
            "golden vectors {} have format {:?}, this firmware reads {GOLDEN_FORMAT:?}",
            path.display(),
            golden.format
        )));
    }
    for (i, v) in golden.vectors.iter().enumerate() {
        if v.input.len() != INPUT_LEN || v.onnx_logits.len() != NUM_CLASSES {
            return Err(AppError::ModelCheck(format!(
                "golden vector {i} in {} has {} inputs and {} logits, expected {INPUT_LEN} and {NUM_CLASSES}",
                path.display(),
                v.input.len(),
                v.onnx_logits.len()
            )));
        }
    }
    if golden.vectors.is_empty() {
        return Err(AppError::ModelCheck(format!("golden vectors {} are empty", path.display())));
    }
    Ok(golden)
}

fn check_golden(classifier: &mut dyn crate::classify::Classifier, golden: &Golden) -> Result<GoldenReport, AppError> {
    let inputs: Vec<DigitTensor> = golden
        .vectors
        .iter()
        .map(|v| {
            let mut t = DigitTensor::default();
            t.0.copy_from_slice(&v.input);
            t
        })
        .collect();
    let mut scores = Vec::new();
    classifier.classify(&inputs, &mut scores).map_err(|e| AppError::ModelCheck(format!("selftest failed: {e}")))?;
    let mut report = GoldenReport { vectors: inputs.len(), matching: 0, max_score_diff: 0.0, labels_correct: 0, worst: None };
    for (i, (v, ours)) in golden.vectors.iter().zip(&scores).enumerate() {
        let mut logits = [0f32; NUM_CLASSES];
        logits.copy_from_slice(&v.onnx_logits);
        let reference = ClassScores::from_logits(&logits);
        let diff = ours.0.iter().zip(reference.0.iter()).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let diff = if diff.is_nan() { f32::INFINITY } else { diff };
        if diff <= SCORE_TOLERANCE {
            report.matching += 1;
        }
        if report.worst.as_ref().is_none_or(|w| diff > w.2) {
            report.worst = Some((i, v.source.clone(), diff));
        }
        report.max_score_diff = report.max_score_diff.max(diff);
        if ours.best().0 == v.label as usize {
            report.labels_correct += 1;
        }
    }
    Ok(report)
}
