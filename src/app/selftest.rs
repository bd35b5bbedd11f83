//! `digitd selftest`: the model loads and reproduces the golden vectors (`golden.json` next to
//! the manifest: inputs with the float ONNX logits and the rknn-toolkit2 simulator's INT8
//! outputs, both computed by the model pipeline). A second-opinion model is checked the same
//! way, on its own, against the `golden.json` next to its manifest.
//!
//! - CPU classifier: softmax scores within [`SCORE_TOLERANCE`] of the ONNX reference.
//! - NPU (`--classifier npu`): each dequantised logit within one int8 step (the output's
//!   scale, [`NPU_TOLERANCE_STEPS`]) of the simulator's and the same top class. The simulator
//!   and the NPU run the same integer model, so they should agree exactly; one step allows for
//!   rounding differences in requantisation, while any layout, stride or preprocessing mistake
//!   moves logits by many steps and changes classes.

use std::path::Path;
use std::process::ExitCode;

use serde::Deserialize;

use super::{accept_rule, AppError, Context};
use crate::classify::Manifest;
use crate::classify::{ClassScores, NUM_CLASSES};
use crate::preprocess::{DigitTensor, INPUT_LEN};

/// `format` value of the golden file this firmware reads.
const GOLDEN_FORMAT: &str = "digitd golden vectors v1";
/// Largest allowed difference between our softmax scores and those of the reference logits.
/// tract and PyTorch sum in different orders; 1e-3 is far above that noise and far below
/// any real preprocessing or layout mistake.
const SCORE_TOLERANCE: f32 = 1e-3;
/// Largest allowed NPU-vs-simulator logit difference, in output quantisation steps.
pub const NPU_TOLERANCE_STEPS: f32 = 1.0;

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
    /// The rknn-toolkit2 simulator's dequantised outputs (INT8 model).
    #[serde(default)]
    #[cfg_attr(not(feature = "npu"), allow(dead_code))]
    rknn_logits: Option<Vec<f32>>,
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
    match ctx.config.classifier.kind {
        crate::config::ClassifierKind::Npu => npu_selftest(&ctx.config),
        crate::config::ClassifierKind::Cpu => cpu_selftest(&ctx.config),
    }
}

fn cpu_selftest(cfg: &crate::config::Config) -> Result<ExitCode, AppError> {
    let manifest = Manifest::load(&cfg.manifest_path())?;
    let rule = accept_rule(cfg, &manifest);
    println!(
        "selftest: manifest ok: {} (schema {}, min_confidence {:.3}, max_not_a_digit {:.3})",
        manifest.path.display(),
        manifest.schema_version,
        rule.strict.min_confidence,
        rule.strict.max_not_a_digit
    );
    for (what, model) in models_to_check(&manifest)? {
        cpu_check_model(cfg, what, &model)?;
    }
    println!("selftest: npu: not checked here (on the board: digitd selftest --classifier npu)");
    println!("selftest: ok");
    Ok(ExitCode::SUCCESS)
}

/// The manifest's own model, then its second opinion if it names one: each is checked on its
/// own against its own golden vectors (the pair's averaged scores match neither reference).
fn models_to_check(manifest: &Manifest) -> Result<Vec<(&'static str, Manifest)>, AppError> {
    let mut models = vec![("model", manifest.clone())];
    if let Some((second, below)) = manifest.second_opinion_manifest()? {
        println!("selftest: second opinion: {} re-reads digits under p {below:.2}", second.path.display());
        models.push(("second opinion", second));
    }
    Ok(models)
}

fn cpu_check_model(cfg: &crate::config::Config, what: &str, manifest: &Manifest) -> Result<(), AppError> {
    let mut classifier = crate::classify::load_alone(&cfg.classifier, manifest)?;
    println!(
        "selftest: {what} ok: {} ({} bytes, sha256 {}…), {} classifier",
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
        "selftest: {what} golden vectors ok: {}/{} match the ONNX reference (max score difference {:.2e}); {}/{} labels correct",
        report.matching, report.vectors, report.max_score_diff, report.labels_correct, report.vectors
    );
    Ok(())
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

#[cfg(not(feature = "npu"))]
fn npu_selftest(_cfg: &crate::config::Config) -> Result<ExitCode, AppError> {
    Err(AppError::Model(crate::classify::ClassifyError::Unavailable("npu")))
}

/// One golden vector's NPU result.
#[cfg(any(feature = "npu", test))]
#[derive(Debug, Clone, Copy, Default)]
struct NpuRow {
    label: usize,
    passed: bool,
    steps: f32,
}

#[cfg(feature = "npu")]
fn npu_selftest(cfg: &crate::config::Config) -> Result<ExitCode, AppError> {
    let manifest = Manifest::load(&cfg.manifest_path())?;
    let runtime = crate::classify::npu::open_runtime(cfg.classifier.rknn_runtime.as_deref())?;
    for (what, model) in models_to_check(&manifest)? {
        npu_check_model(&runtime, what, &model)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "npu")]
fn npu_check_model(runtime: &rknn_sys::Runtime, what: &str, manifest: &Manifest) -> Result<(), AppError> {
    let mut npu = crate::classify::npu::NpuClassifier::load(manifest, runtime)?;
    println!("selftest: runtime {} (api {}, driver {})", npu.runtime_path().display(), npu.version().api, npu.version().driver);
    println!(
        "selftest: {what} ok: {} on the NPU; input {:?}; output {:?}",
        manifest.rknn_path().unwrap_or_default().display(),
        npu.input_attr(),
        npu.output_attr()
    );
    let golden_path = manifest.artifact("golden.json");
    let golden = read_golden(&golden_path)?;
    let step = npu.output_step().ok_or_else(|| {
        AppError::ModelCheck(format!("selftest failed: the NPU output is not affine int8: {:?}", npu.output_attr()))
    })?;
    let mut rows = Vec::with_capacity(golden.vectors.len());
    let mut worst: Option<(usize, f32)> = None;
    for (i, v) in golden.vectors.iter().enumerate() {
        let Some(reference) = v.rknn_logits.as_deref().filter(|r| r.len() == NUM_CLASSES) else {
            return Err(AppError::ModelCheck(format!(
                "golden vector {i} in {} has no rknn_logits (rebuild the artifacts with the model pipeline)",
                golden_path.display()
            )));
        };
        let mut digit = DigitTensor::default();
        digit.0.copy_from_slice(&v.input);
        let logits = npu.logits(&digit).map_err(|e| AppError::ModelCheck(format!("selftest failed on golden vector {i} ({}): {e}", v.source)))?;
        let diff = logits.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let steps = if diff.is_nan() { f32::INFINITY } else { diff / step };
        let argmax = |x: &[f32]| x.iter().enumerate().fold((0, f32::MIN), |b, (j, &p)| if p > b.1 { (j, p) } else { b }).0;
        let same_class = argmax(&logits) == argmax(reference);
        let passed = steps <= NPU_TOLERANCE_STEPS + 1e-3 && same_class;
        if !passed {
            println!("selftest: FAIL vector {i} ({}): NPU class {} vs simulator {}, {steps:.1} steps apart", v.source, argmax(&logits), argmax(reference));
        }
        if worst.is_none_or(|w| steps > w.1) {
            worst = Some((i, steps));
        }
        rows.push(NpuRow { label: v.label as usize, passed, steps });
    }
    print!("{}", npu_table(&rows));
    let (times, npu_us) = npu.take_run_times();
    if !times.is_empty() {
        let ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1e3).collect();
        let mean = ms.iter().sum::<f64>() / ms.len() as f64;
        let (min, max) = ms.iter().fold((f64::MAX, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
        let npu_time = npu_us.map_or("not reported".to_string(), |us| format!("{us} us"));
        println!("selftest: rknn_run: mean {mean:.3} ms, min {min:.3} ms, max {max:.3} ms over {} runs; NPU time of the last run {npu_time}", ms.len());
    }
    let failed = rows.iter().filter(|r| !r.passed).count();
    if failed > 0 {
        let (i, steps) = worst.unwrap_or_default();
        return Err(AppError::ModelCheck(format!(
            "selftest failed: {failed} of {} golden vectors differ from the simulator on the NPU (worst: vector {i}, {steps:.1} int8 steps)",
            rows.len()
        )));
    }
    let prefix = if what == "model" { String::new() } else { format!("{what}: ") };
    println!("selftest: {prefix}npu ok: {}/{} golden vectors within {NPU_TOLERANCE_STEPS} int8 step of the simulator", rows.len(), rows.len());
    Ok(())
}

/// The pass/fail table: one line per label, then the total.
#[cfg(any(feature = "npu", test))]
fn npu_table(rows: &[NpuRow]) -> String {
    use std::fmt::Write;
    let mut out = String::from("label  vectors  pass  fail  max diff (int8 steps)\n");
    let mut line = |name: &str, rs: &[&NpuRow]| {
        let pass = rs.iter().filter(|r| r.passed).count();
        let max = rs.iter().map(|r| r.steps).fold(0f32, f32::max);
        let _ = writeln!(out, "{name:<5}  {:>7}  {pass:>4}  {:>4}  {max:>6.2}", rs.len(), rs.len() - pass);
    };
    for label in 0..NUM_CLASSES {
        let rs: Vec<&NpuRow> = rows.iter().filter(|r| r.label == label).collect();
        if !rs.is_empty() {
            let name = if label == crate::classify::NOT_A_DIGIT { "none".to_string() } else { label.to_string() };
            line(&name, &rs);
        }
    }
    let all: Vec<&NpuRow> = rows.iter().collect();
    line("all", &all);
    out
}

#[cfg(test)]
mod npu_table_tests {
    use super::*;

    #[test]
    fn table_counts_per_label_and_total() {
        let rows = [
            NpuRow { label: 1, passed: true, steps: 0.0 },
            NpuRow { label: 1, passed: false, steps: 3.0 },
            NpuRow { label: 10, passed: true, steps: 1.0 },
        ];
        let t = npu_table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["1", "2", "1", "1", "3.00"]);
        assert_eq!(lines[2].split_whitespace().collect::<Vec<_>>(), ["none", "1", "1", "0", "1.00"]);
        assert_eq!(lines[3].split_whitespace().collect::<Vec<_>>(), ["all", "3", "2", "1", "3.00"]);
    }
}
