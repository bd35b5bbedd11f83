//! Classifiers: a batch of normalised digits in, class scores out.
//!
//! Back ends: `cpu` (tract on the ONNX model, feature `cpu`), the NPU (rknn-sys, later).
//! All of them share the model manifest (`model/artifacts/MANIFEST.json`) for the class list
//! and the reject threshold.

#[cfg(feature = "cpu")]
pub mod cpu;
pub mod manifest;
#[cfg(feature = "npu")]
pub mod npu;
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
/// instead and a warning logged; the caller shows it on screen.
pub fn load(cfg: &crate::config::ClassifierConfig, manifest: &Manifest) -> Result<Box<dyn Classifier>, ClassifyError> {
    use crate::config::ClassifierKind;
    match cfg.kind {
        ClassifierKind::Cpu => load_cpu(manifest),
        ClassifierKind::Npu => match load_npu(cfg, manifest) {
            // Fall back only where the CPU classifier is built in; otherwise the NPU's own reason
            // (e.g. which runtime paths were tried) is the useful error.
            Err(e @ (ClassifyError::Unavailable(_) | ClassifyError::RuntimeMissing(_))) if cfg.fallback_to_cpu && cfg!(feature = "cpu") => {
                log::warn!("{e}; using the CPU classifier instead (classifier.fallback_to_cpu)");
                load_cpu(manifest)
            }
            other => other,
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
}
