//! The CPU reference classifier: the ONNX model run by tract.
//!
//! Loading checks, in order: the manifest, the file's size and SHA-256, that it parses as
//! ONNX, that its declared input is `[N|1, 1, 28, 28]` float, and that the analysed output is
//! `[N, 11, 1, 1]`. The input tensor's buffer is reused from run to run.
//!
//! Batching: measured on this model (benches/pipeline.rs, 4 digits, one x86 core), one run
//! per digit on a batch-1 plan takes 0.94 ms for the 4, one run with a symbolic batch 1.30 ms,
//! a fixed batch of 4 1.23 ms, a padded batch of 8 2.78 ms: tract's batch-1 convolutions are
//! faster, so digits are classified one by one unless asked otherwise.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::manifest::Manifest;
use super::{ClassScores, Classifier, ClassifyError, NUM_CLASSES};
use crate::preprocess::{DigitTensor, INPUT_LEN, INPUT_SIDE};

type Plan = Arc<TypedSimplePlan>;

/// How digits are batched into model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batching {
    /// One run per frame with all its digits (symbolic batch dimension).
    Symbolic,
    /// Runs of exactly this many digits, the last one padded with blanks.
    Fixed(usize),
}

/// Classifies digits on the CPU with tract.
pub struct CpuClassifier {
    state: TypedSimpleState,
    batching: Batching,
    model_path: PathBuf,
    /// Input buffer, kept between runs (reallocated only when the batch size changes).
    input: Option<Tensor>,
    /// `v / 255` for every byte: the exact float the model was trained on.
    scale: [f32; 256],
}

impl std::fmt::Debug for CpuClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuClassifier").field("model", &self.model_path).field("batching", &self.batching).finish_non_exhaustive()
    }
}

impl CpuClassifier {
    /// Loads the model described by `manifest`, classifying one digit per run (the fastest
    /// on the CPU, see the module comment).
    pub fn load(manifest: &Manifest) -> Result<Self, ClassifyError> {
        Self::load_with(manifest, Batching::Fixed(1))
    }

    /// Loads with an explicit batching (benchmarks compare them). A model whose manifest
    /// declares a batch of exactly 1 always runs digit by digit.
    pub fn load_with(manifest: &Manifest, batching: Batching) -> Result<Self, ClassifyError> {
        let batching = if manifest.batched() { batching } else { Batching::Fixed(1) };
        let path = manifest.onnx_path();
        let bytes = manifest.read_onnx()?;
        let plan = build_plan(&bytes, &path, batching)?;
        let state = TypedSimpleState::new(&plan).map_err(|e| ClassifyError::Inference(error_text(&e)))?;
        let mut scale = [0f32; 256];
        for (v, s) in scale.iter_mut().enumerate() {
            *s = v as f32 / 255.0;
        }
        Ok(CpuClassifier { state, batching, model_path: path, input: None, scale })
    }

    /// Loads the manifest at `manifest_path`, then the model.
    pub fn from_manifest_path(manifest_path: &Path) -> Result<Self, ClassifyError> {
        Self::load(&Manifest::load(manifest_path)?)
    }

    pub fn batching(&self) -> Batching { self.batching }

    /// One model run over `digits` (at most the fixed batch size, if any), appending scores.
    fn run(&mut self, digits: &[DigitTensor], out: &mut Vec<ClassScores>) -> Result<(), ClassifyError> {
        let batch = match self.batching {
            Batching::Symbolic => digits.len(),
            Batching::Fixed(n) => n,
        };
        let mut input = match self.input.take() {
            Some(t) if t.shape()[0] == batch => t,
            _ => Tensor::zero::<f32>(&[batch, 1, INPUT_SIDE, INPUT_SIDE]).map_err(|e| ClassifyError::Inference(error_text(&e)))?,
        };
        {
            let mut view = input.try_as_plain_ram_mut().map_err(|e| ClassifyError::Inference(error_text(&e)))?;
            let buf = view.as_slice_mut::<f32>().map_err(|e| ClassifyError::Inference(error_text(&e)))?;
            let (used, padding) = buf.split_at_mut(digits.len() * INPUT_LEN);
            for (dst, digit) in used.chunks_exact_mut(INPUT_LEN).zip(digits) {
                for (d, &v) in dst.iter_mut().zip(digit.0.iter()) {
                    *d = self.scale[v as usize];
                }
            }
            padding.fill(0.0);
        }
        let value = TValue::from(input);
        let outputs = self.state.run(tvec!(value.clone())).map_err(|e| ClassifyError::Inference(error_text(&e)))?;
        let logits = outputs[0]
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>())
            .map_err(|e| ClassifyError::Inference(error_text(&e)))?;
        if logits.len() != batch * NUM_CLASSES {
            return Err(ClassifyError::Inference(format!("the model returned {} values for {batch} digits", logits.len())));
        }
        for chunk in logits.chunks_exact(NUM_CLASSES).take(digits.len()) {
            let mut l = [0f32; NUM_CLASSES];
            l.copy_from_slice(chunk);
            out.push(ClassScores::from_logits(&l));
        }
        drop(outputs);
        // The run has let go of its inputs: this takes the buffer back without copying.
        self.input = Some(value.into_tensor());
        Ok(())
    }
}

impl Classifier for CpuClassifier {
    fn name(&self) -> &str { "cpu" }

    fn classify(&mut self, digits: &[DigitTensor], out: &mut Vec<ClassScores>) -> Result<(), ClassifyError> {
        out.clear();
        if digits.is_empty() {
            return Ok(());
        }
        match self.batching {
            Batching::Symbolic => self.run(digits, out),
            Batching::Fixed(n) => {
                for chunk in digits.chunks(n.max(1)) {
                    self.run(chunk, out)?;
                }
                Ok(())
            }
        }
    }
}

/// Parses, checks and optimises the model for `batching`.
fn build_plan(bytes: &[u8], path: &Path, batching: Batching) -> Result<Plan, ClassifyError> {
    let path_text = path.display().to_string();
    let corrupt = |e: &TractError| ClassifyError::Corrupt { path: path_text.clone(), reason: error_text(e) };
    let expected_input = format!("[N, 1, {INPUT_SIDE}, {INPUT_SIDE}] float32");
    let input_mismatch = |found: String| ClassifyError::InputMismatch { path: path_text.clone(), found, expected: expected_input.clone() };

    let mut model = tract_onnx::onnx().model_for_read(&mut &bytes[..]).map_err(|e| corrupt(&e))?;
    if model.inputs.len() != 1 || model.outputs.len() != 1 {
        return Err(ClassifyError::Corrupt {
            path: path_text.clone(),
            reason: format!("it has {} inputs and {} outputs, expected one of each", model.inputs.len(), model.outputs.len()),
        });
    }
    let declared = model.input_fact(0).map_err(|e| corrupt(&e))?.clone();
    check_declared_input(&declared).map_err(input_mismatch)?;

    let batch_dim: TDim = match batching {
        Batching::Symbolic => model.symbols.sym("N").into(),
        Batching::Fixed(n) => (n.max(1) as i64).into(),
    };
    let fact = f32::fact([batch_dim.clone(), 1.into(), (INPUT_SIDE as i64).into(), (INPUT_SIDE as i64).into()]);
    model.set_input_fact(0, fact.into()).map_err(|e| corrupt(&e))?;
    let typed = model.into_typed().map_err(|e| input_mismatch(format!("a shape the network cannot take ({})", error_text(&e))))?;

    let out = typed.output_fact(0).map_err(|e| corrupt(&e))?;
    let expected_out: [TDim; 4] = [batch_dim, (NUM_CLASSES as i64).into(), 1.into(), 1.into()];
    if out.datum_type != f32::datum_type() || out.shape.dims() != expected_out.as_slice() {
        return Err(ClassifyError::OutputMismatch {
            path: path_text.clone(),
            found: format!("{:?} {:?}", out.shape.dims(), out.datum_type),
            expected: format!("[N, {NUM_CLASSES}, 1, 1] float32"),
        });
    }
    typed.into_optimized().and_then(|m| m.into_runnable()).map_err(|e| corrupt(&e))
}

/// The file's own input declaration must fit `[N|1, 1, 28, 28]` float (unknown parts pass:
/// analysis catches them).
fn check_declared_input(fact: &InferenceFact) -> Result<(), String> {
    let shape_text = || {
        let dims: Vec<String> = fact.shape.dims().map(|d| d.concretize().map_or("?".into(), |d| d.to_string())).collect();
        format!("[{}] {}", dims.join(", "), fact.datum_type.concretize().map_or("?".into(), |t| format!("{t:?}").to_lowercase()))
    };
    if let Some(dt) = fact.datum_type.concretize() {
        if dt != f32::datum_type() {
            return Err(shape_text());
        }
    }
    if fact.shape.is_open() {
        return Ok(());
    }
    let dims: Vec<Option<TDim>> = fact.shape.dims().map(|d| d.concretize()).collect();
    if dims.len() != 4 {
        return Err(shape_text());
    }
    let fixed = |d: &Option<TDim>, want: i64| d.as_ref().is_none_or(|d| d.to_i64().map_or(true, |v| v == want));
    let batch_ok = dims[0].as_ref().is_none_or(|d| d.to_i64().map_or(true, |v| v == 1));
    if !batch_ok || !fixed(&dims[1], 1) || !fixed(&dims[2], INPUT_SIDE as i64) || !fixed(&dims[3], INPUT_SIDE as i64) {
        return Err(shape_text());
    }
    Ok(())
}

/// A tract error as one line: its message and, if different, its root cause.
fn error_text(e: &TractError) -> String {
    let top = e.to_string();
    let root = e.root_cause().to_string();
    if root == top { top } else { format!("{top}: {root}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::testmodel::{conv_model, manifest_for, Batch};
    use crate::classify::NOT_A_DIGIT;

    fn setup(onnx: &[u8], declared: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("digits.onnx"), onnx).unwrap();
        let manifest = dir.path().join("MANIFEST.json");
        std::fs::write(&manifest, manifest_for(onnx, "digits.onnx", declared, 0.6)).unwrap();
        (dir, manifest)
    }

    fn bias() -> Vec<f32> { (0..NUM_CLASSES).map(|c| if c == 7 { 2.0 } else { 0.0 }).collect() }

    #[test]
    fn classifies_a_batch_with_the_test_model() {
        // Class 7 has the bias; class c also gains c * 0.01 * (ink sum).
        let onnx = conv_model(28, Batch::Any, 0.01, &bias());
        let (_dir, manifest) = setup(&onnx, r#"["N",1,28,28]"#);
        let m = Manifest::load(&manifest).unwrap();
        let mut c = CpuClassifier::load_with(&m, Batching::Symbolic).unwrap();
        assert_eq!(c.batching(), Batching::Symbolic);
        let blank = DigitTensor::default();
        let mut inked = DigitTensor::default();
        inked.0[..255].fill(255); // sum of inputs: 255 * 1.0
        let mut out = Vec::new();
        for round in 0..3 {
            c.classify(&[blank.clone(), inked.clone(), blank.clone()], &mut out).unwrap();
            assert_eq!(out.len(), 3, "round {round}");
            assert_eq!(out[0].best().0, 7);
            assert_eq!(out[1].best().0, NOT_A_DIGIT, "10 * 0.01 * 255 beats the bias");
            assert_eq!(out[0], out[2]);
            let sum: f32 = out[1].0.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5);
        }
        c.classify(&[], &mut out).unwrap();
        assert!(out.is_empty());
        c.classify(&[inked], &mut out).unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn fixed_batches_pad_and_agree_with_symbolic() {
        let onnx = conv_model(28, Batch::Any, 0.003, &bias());
        let (_dir, manifest) = setup(&onnx, r#"["N",1,28,28]"#);
        let m = Manifest::load(&manifest).unwrap();
        let mut sym = CpuClassifier::load_with(&m, Batching::Symbolic).unwrap();
        let mut fixed = CpuClassifier::load_with(&m, Batching::Fixed(4)).unwrap();
        let mut single = CpuClassifier::load(&m).unwrap();
        assert_eq!(single.batching(), Batching::Fixed(1), "digit by digit by default");
        let digits: Vec<DigitTensor> = (0..7u8).map(|i| DigitTensor([i * 30; INPUT_LEN])).collect();
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        sym.classify(&digits, &mut a).unwrap();
        fixed.classify(&digits, &mut b).unwrap();
        single.classify(&digits, &mut c).unwrap();
        assert_eq!((a.len(), b.len(), c.len()), (7, 7, 7));
        for ((x, y), z) in a.iter().zip(&b).zip(&c) {
            for ((p, q), r) in x.0.iter().zip(y.0.iter()).zip(z.0.iter()) {
                assert!((p - q).abs() < 1e-5 && (p - r).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn a_single_digit_model_is_run_digit_by_digit() {
        let onnx = conv_model(28, Batch::Fixed(1), 0.0, &bias());
        let (_dir, manifest) = setup(&onnx, "[1,1,28,28]");
        let m = Manifest::load(&manifest).unwrap();
        let mut c = CpuClassifier::load_with(&m, Batching::Symbolic).unwrap();
        assert_eq!(c.batching(), Batching::Fixed(1), "a batch-1 model cannot take a symbolic batch");
        let mut out = Vec::new();
        c.classify(&[DigitTensor::default(), DigitTensor::default()], &mut out).unwrap();
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn wrong_input_shape_is_refused() {
        // The manifest is honest about 28x28 but the file takes 32x32.
        let onnx = conv_model(32, Batch::Any, 0.0, &bias());
        let (_dir, manifest) = setup(&onnx, r#"["N",1,28,28]"#);
        let err = CpuClassifier::from_manifest_path(&manifest).unwrap_err();
        assert!(matches!(err, ClassifyError::InputMismatch { .. }), "{err}");
        assert!(err.to_string().contains("32"), "{err}");
    }

    #[test]
    fn wrong_output_shape_is_refused() {
        let onnx = conv_model(28, Batch::Any, 0.0, &[0.0; 10]);
        let (_dir, manifest) = setup(&onnx, r#"["N",1,28,28]"#);
        let err = CpuClassifier::from_manifest_path(&manifest).unwrap_err();
        assert!(matches!(err, ClassifyError::OutputMismatch { .. }), "{err}");
    }

    #[test]
    fn corrupt_and_truncated_files_are_refused() {
        let good = conv_model(28, Batch::Any, 0.0, &bias());
        let garbage: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        for bad in [&good[..good.len() / 2], &garbage[..], &[][..]] {
            let (_dir, manifest) = setup(bad, r#"["N",1,28,28]"#);
            let err = CpuClassifier::from_manifest_path(&manifest).unwrap_err();
            assert!(matches!(err, ClassifyError::Corrupt { .. }), "{err}");
        }
    }
}
