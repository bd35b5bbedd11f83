//! Classifiers: a batch of normalised digits in, class scores out.
//!
//! Back ends: `cpu` (tract on the ONNX model, feature `cpu`) and `npu` (the RKNN runtime
//! through rknn-sys, feature `npu`).
//! All of them share the model manifest (`model/artifacts/MANIFEST.json`) for the class list
//! and the reject threshold. A manifest may pair its model with a larger one that re-reads the
//! digits it is unsure of (`second_opinion`), on the same back end.

#[cfg(feature = "cpu")]
pub mod cpu;
pub mod manifest;
#[cfg(feature = "npu")]
pub mod npu;
pub mod second_opinion;
#[doc(hidden)]
pub mod testmodel;

use crate::preprocess::DigitTensor;

pub use manifest::{Manifest, ManifestError};

/// Number of model outputs: digits 0-9 then "not a digit".
pub const NUM_CLASSES: usize = 11;
/// Output index of the "not a digit" class.
pub const NOT_A_DIGIT: usize = 10;

/// Softmax probabilities for one digit, in the manifest's class order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassScores(pub [f32; NUM_CLASSES]);

impl ClassScores {
    /// The most likely class and its probability.
    pub fn best(&self) -> (usize, f32) {
        let mut best = (0, f32::MIN);
        for (i, &p) in self.0.iter().enumerate() {
            if p > best.1 {
                best = (i, p);
            }
        }
        best
    }

    /// The most likely digit (0-9), leaving "not a digit" out, and its probability.
    pub fn best_digit(&self) -> (usize, f32) {
        ClassScores(std::array::from_fn(|i| if i == NOT_A_DIGIT { f32::MIN } else { self.0[i] })).best()
    }

    /// Softmax of raw logits (after the classifier, so floats are fine here).
    pub fn from_logits(logits: &[f32; NUM_CLASSES]) -> Self {
        let max = logits.iter().copied().fold(f32::MIN, f32::max);
        let mut out = [0f32; NUM_CLASSES];
        let mut sum = 0f32;
        for (o, &l) in out.iter_mut().zip(logits) {
            *o = (l - max).exp();
            sum += *o;
        }
        for o in &mut out {
            *o /= sum;
        }
        ClassScores(out)
    }
}

/// A digit classifier. Implementations keep their buffers between calls.
pub trait Classifier {
    /// Short name for logs and the screen ("cpu", "npu").
    fn name(&self) -> &str;
    /// Classify `digits`, replacing the contents of `out` with one entry per digit, in order.
    fn classify(&mut self, digits: &[DigitTensor], out: &mut Vec<ClassScores>) -> Result<(), ClassifyError>;
}

#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("cannot read model file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("model file {path} is not a valid model: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("model {path} has input {found}, but preprocessing produces {expected}")]
    InputMismatch { path: String, found: String, expected: String },
    #[error("model {path} has output {found}, expected {expected}")]
    OutputMismatch { path: String, found: String, expected: String },
    #[error("inference failed: {0}")]
    Inference(String),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("the {0} classifier is not available in this build")]
    Unavailable(&'static str),
    #[error("{0}")]
    RuntimeMissing(String),
}

/// The classifier named by `cfg`. When the NPU cannot be used (not in this build, or its
/// runtime library is missing) and `cfg.fallback_to_cpu` is set, the CPU classifier is used
/// instead and a warning logged; the caller shows it on screen. A manifest's second-opinion
/// model is loaded on the same back end as its first.
pub fn load(cfg: &crate::config::ClassifierConfig, manifest: &Manifest) -> Result<Box<dyn Classifier>, ClassifyError> {
    let (first, on_npu) = load_one(cfg, manifest)?;
    let Some((second_manifest, below)) = manifest.second_opinion_manifest()? else { return Ok(first) };
    let second = if on_npu { load_npu(cfg, &second_manifest)? } else { load_cpu(&second_manifest)? };
    log::info!("second opinion {} for digits under p {below:.2}", second_manifest.path.display());
    Ok(Box::new(second_opinion::SecondOpinion::new(first, second, below)))
}

/// The classifier for `manifest`'s own model, without its second opinion (`digitd selftest`
/// checks each model against its own golden vectors), with the same NPU fallback as [`load`].
pub fn load_alone(cfg: &crate::config::ClassifierConfig, manifest: &Manifest) -> Result<Box<dyn Classifier>, ClassifyError> {
    Ok(load_one(cfg, manifest)?.0)
}

/// The classifier for one manifest, and whether it runs on the NPU.
fn load_one(cfg: &crate::config::ClassifierConfig, manifest: &Manifest) -> Result<(Box<dyn Classifier>, bool), ClassifyError> {
    use crate::config::ClassifierKind;
    match cfg.kind {
        ClassifierKind::Cpu => Ok((load_cpu(manifest)?, false)),
        ClassifierKind::Npu => match load_npu(cfg, manifest) {
            Ok(npu) => Ok((npu, true)),
            // Fall back only where the CPU classifier is built in; otherwise the NPU's own reason
            // (e.g. which runtime paths were tried) is the useful error.
            Err(e @ (ClassifyError::Unavailable(_) | ClassifyError::RuntimeMissing(_))) if cfg.fallback_to_cpu && cfg!(feature = "cpu") => {
                log::warn!("{e}; using the CPU classifier instead (classifier.fallback_to_cpu)");
                Ok((load_cpu(manifest)?, false))
            }
            Err(e) => Err(e),
        },
    }
}

#[cfg(feature = "npu")]
fn load_npu(cfg: &crate::config::ClassifierConfig, manifest: &Manifest) -> Result<Box<dyn Classifier>, ClassifyError> {
    let runtime = npu::open_runtime(cfg.rknn_runtime.as_deref())?;
    Ok(Box::new(npu::NpuClassifier::load(manifest, &runtime)?))
}

#[cfg(not(feature = "npu"))]
fn load_npu(_cfg: &crate::config::ClassifierConfig, _manifest: &Manifest) -> Result<Box<dyn Classifier>, ClassifyError> {
    Err(ClassifyError::Unavailable("npu"))
}

#[cfg(feature = "cpu")]
fn load_cpu(manifest: &Manifest) -> Result<Box<dyn Classifier>, ClassifyError> {
    Ok(Box::new(cpu::CpuClassifier::load(manifest)?))
}

#[cfg(not(feature = "cpu"))]
fn load_cpu(_manifest: &Manifest) -> Result<Box<dyn Classifier>, ClassifyError> {
    Err(ClassifyError::Unavailable("cpu"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_digit_leaves_not_a_digit_out() {
        let mut p = [0.01; NUM_CLASSES];
        p[NOT_A_DIGIT] = 0.6;
        p[1] = 0.3;
        let scores = ClassScores(p);
        assert_eq!(scores.best(), (NOT_A_DIGIT, 0.6));
        assert_eq!(scores.best_digit(), (1, 0.3));
    }
    /// A model of constant scores: `logit` for `class`, 0 for the others.
    #[cfg(feature = "cpu")]
    fn constant_model(dir: &std::path::Path, class: usize, logit: f32, second_opinion: Option<&str>) -> std::path::PathBuf {
        let bias: Vec<f32> = (0..NUM_CLASSES).map(|c| if c == class { logit } else { 0.0 }).collect();
        let onnx = testmodel::conv_model(28, testmodel::Batch::Any, 0.0, &bias);
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("digits.onnx"), &onnx).unwrap();
        let mut json = testmodel::manifest_for(&onnx, "digits.onnx", r#"["N",1,28,28]"#, 0.4);
        if let Some(section) = second_opinion {
            json = json.replacen("\"reject\"", &format!("\"second_opinion\": {section},\n  \"reject\""), 1);
        }
        let path = dir.join("MANIFEST.json");
        std::fs::write(&path, json).unwrap();
        path
    }

    #[cfg(feature = "cpu")]
    #[test]
    fn a_paired_manifest_loads_both_models_and_asks_the_second_about_unsure_digits() {
        let cfg = crate::config::ClassifierConfig::default();
        let dir = tempfile::tempdir().unwrap();
        // The second model is sure of a 3 (p 0.94) whatever it is shown.
        constant_model(&dir.path().join("large"), 3, 5.0, None);
        let pair = r#"{"manifest": "large/MANIFEST.json", "below": 0.5}"#;
        let digit = [DigitTensor::default()];
        let mut out = Vec::new();

        // A first model unsure of a 7 (p 0.21): the average of the two reads 3.
        let unsure = Manifest::load(&constant_model(dir.path(), 7, 1.0, Some(pair))).unwrap();
        let mut c = load(&cfg, &unsure).unwrap();
        assert_eq!(c.name(), "cpu");
        c.classify(&digit, &mut out).unwrap();
        let (class, p) = out[0].best();
        assert_eq!(class, 3);
        assert!((p - 0.508).abs() < 0.002, "{p}");

        // A first model sure of its 7 (p 0.94) keeps it.
        let sure = Manifest::load(&constant_model(dir.path(), 7, 5.0, Some(pair))).unwrap();
        load(&cfg, &sure).unwrap().classify(&digit, &mut out).unwrap();
        assert_eq!(out[0].best().0, 7);

        // A second model that does not load is the error, naming its file.
        std::fs::write(dir.path().join("large/digits.onnx"), b"truncated").unwrap();
        let err = load(&cfg, &sure).err().expect("a corrupt second model is refused").to_string();
        assert!(err.contains("large"), "{err}");
    }
}
