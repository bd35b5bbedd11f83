//! The NPU classifier: the INT8 RKNN model on the RV1106 through `librknnmrt` (rknn-sys).
//!
//! Loading: find and open the runtime (configured path, `/oem/usr/lib`, `/usr/lib`, next to the
//! binary), read the `.rknn` file listed in the manifest (size and SHA-256 checked), create the
//! context, and check the tensors against what preprocessing produces: one input of 28x28x1
//! in NHWC (the only zero-copy input layout), one output of 11 classes. Buffers are allocated
//! once (`rknn_create_mem` + `rknn_set_io_mem`) and reused; digits run one at a time, which is
//! how the model was converted (batch 1).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rknn_sys::layout::{read_output_nchw, write_nhwc_u8};
use rknn_sys::{AttrQuery, Context, ErrorKind, InitOptions, IoId, Runtime, SdkVersion, TensorAttr, TensorFormat, TensorType};

use super::manifest::Manifest;
use super::{ClassScores, Classifier, ClassifyError, NUM_CLASSES};
use crate::preprocess::{DigitTensor, INPUT_SIDE};

/// Classifies digits on the NPU.
pub struct NpuClassifier {
    ctx: Context,
    input: IoId,
    output: IoId,
    input_attr: TensorAttr,
    output_attr: TensorAttr,
    version: SdkVersion,
    model_path: PathBuf,
    logits: Vec<f32>,
    /// Wall time of each `rknn_run` since the last [`Self::take_run_times`].
    run_times: Vec<Duration>,
}

impl std::fmt::Debug for NpuClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpuClassifier")
            .field("model", &self.model_path)
            .field("runtime", &self.ctx.runtime().path())
            .field("input", &self.input_attr)
            .field("output", &self.output_attr)
            .finish_non_exhaustive()
    }
}

/// Opens the RKNN runtime from `configured` or the standard places.
pub fn open_runtime(configured: Option<&Path>) -> Result<Runtime, ClassifyError> {
    Runtime::locate(&rknn_sys::default_search_paths(configured)).map_err(|e| ClassifyError::RuntimeMissing(e.to_string()))
}

impl NpuClassifier {
    /// Loads the manifest's RKNN model on the NPU of `runtime`.
    pub fn load(manifest: &Manifest, runtime: &Runtime) -> Result<Self, ClassifyError> {
        let (model_path, bytes) = manifest.read_rknn()?;
        let path = model_path.display().to_string();
        let npu = |step: &str, e: rknn_sys::Error| ClassifyError::Inference(format!("{step} for {path}: {e}"));
        let ctx = Context::new(runtime, &bytes, InitOptions { collect_perf: true }).map_err(|e| match e.kind() {
            Some(ErrorKind::ModelInvalid | ErrorKind::TargetPlatformUnmatch | ErrorKind::DeviceUnmatch) => {
                ClassifyError::Corrupt { path: path.clone(), reason: e.to_string() }
            }
            _ => npu("loading the model on the NPU", e),
        })?;
        let version = ctx.sdk_version().map_err(|e| npu("querying the runtime version", e))?;
        let (n_in, n_out) = ctx.io_count().map_err(|e| npu("querying the model", e))?;
        if (n_in, n_out) != (1, 1) {
            return Err(ClassifyError::InputMismatch {
                path,
                found: format!("{n_in} inputs and {n_out} outputs"),
                expected: "1 input and 1 output".into(),
            });
        }
        let native_in = ctx.attr(AttrQuery::NativeInput, 0).map_err(|e| npu("querying the input", e))?;
        let side = INPUT_SIDE as u32;
        if native_in.format() != TensorFormat::Nhwc || native_in.dims() != [1, side, side, 1] {
            return Err(ClassifyError::InputMismatch {
                path,
                found: format!("{:?} {:?}", native_in.dims(), native_in.format()),
                expected: format!("[1, {side}, {side}, 1] Nhwc (one grey digit)"),
            });
        }
        // We write raw uint8 pixels; the model's mean 0 / std 255 maps them on the NPU.
        let input_attr = native_in
            .with_type_and_format(TensorType::Uint8, TensorFormat::Nhwc)
            .ok_or_else(|| ClassifyError::Inference("cannot describe a uint8 NHWC input".into()))?;
        let logical_out = ctx.attr(AttrQuery::Output, 0).map_err(|e| npu("querying the output", e))?;
        let classes: u32 = logical_out.dims().iter().product();
        if logical_out.dims().len() != 4 || classes != NUM_CLASSES as u32 {
            return Err(ClassifyError::OutputMismatch {
                path,
                found: format!("{:?}", logical_out.dims()),
                expected: format!("[1, {NUM_CLASSES}, 1, 1] (4-D: RV1106 zero-copy breaks on 3-D outputs)"),
            });
        }
        let output_attr = ctx.attr(AttrQuery::NativeOutput, 0).map_err(|e| npu("querying the native output", e))?;
        let mut ctx = ctx;
        let input = ctx.bind(&input_attr).map_err(|e| npu("allocating the input", e))?;
        let output = ctx.bind(&output_attr).map_err(|e| npu("allocating the output", e))?;
        log::info!(
            "NPU: runtime {} (api {}, driver {}); input {:?}; output {:?}",
            runtime.path().display(),
            version.api,
            version.driver,
            input_attr,
            output_attr
        );
        Ok(Self {
            ctx,
            input,
            output,
            input_attr,
            output_attr,
            version,
            model_path,
            logits: Vec::with_capacity(16),
            run_times: Vec::new(),
        })
    }

    /// Runtime and driver versions.
    pub fn version(&self) -> &SdkVersion {
        &self.version
    }

    /// The input as bound: what the NPU reads (with its row stride).
    pub fn input_attr(&self) -> &TensorAttr {
        &self.input_attr
    }

    /// The output as the NPU writes it.
    pub fn output_attr(&self) -> &TensorAttr {
        &self.output_attr
    }

    /// One quantisation step of the output, in logits (its scale), if it is affine int8.
    pub fn output_step(&self) -> Option<f32> {
        match self.output_attr.quantization() {
            rknn_sys::Quantization::Affine { scale, .. } if scale > 0.0 => Some(scale),
            _ => None,
        }
    }

    /// Where the runtime library was opened from.
    pub fn runtime_path(&self) -> &Path {
        self.ctx.runtime().path()
    }

    /// Wall time of every `rknn_run` since the last call, and the runtime's own NPU time of the
    /// latest run (microseconds), when it reports one.
    pub fn take_run_times(&mut self) -> (Vec<Duration>, Option<i64>) {
        (std::mem::take(&mut self.run_times), self.ctx.last_run_npu_us().ok())
    }

    /// Classifies one digit, returning its dequantised logits.
    pub fn logits(&mut self, digit: &DigitTensor) -> Result<[f32; NUM_CLASSES], ClassifyError> {
        let err = |e: rknn_sys::Error| ClassifyError::Inference(format!("NPU: {e}"));
        let stride = self.input_attr.w_stride() as usize;
        let buf = self.ctx.io_mut(self.input).map_err(err)?;
        write_nhwc_u8(buf, &digit.0, INPUT_SIDE, INPUT_SIDE, 1, stride).map_err(err)?;
        self.ctx.run().map_err(err)?;
        if let Some(t) = self.ctx.last_run_wall() {
            if self.run_times.len() < 10_000 {
                self.run_times.push(t);
            }
        }
        let out = self.ctx.io(self.output).map_err(err)?;
        read_output_nchw(&self.output_attr, NUM_CLASSES, out, &mut self.logits).map_err(err)?;
        let mut logits = [0f32; NUM_CLASSES];
        logits.copy_from_slice(&self.logits[..NUM_CLASSES]);
        Ok(logits)
    }
}

impl Classifier for NpuClassifier {
    fn name(&self) -> &str {
        "npu"
    }

    fn classify(&mut self, digits: &[DigitTensor], out: &mut Vec<ClassScores>) -> Result<(), ClassifyError> {
        out.clear();
        for d in digits {
            out.push(ClassScores::from_logits(&self.logits(d)?));
        }
        Ok(())
    }
}
