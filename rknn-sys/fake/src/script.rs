//! What the fake runtime pretends to be: its models, their tensors, and which call to fail.
//!
//! A script is JSON, given with `rknn_fake_configure(path)` or the `FAKE_RKNN_SCRIPT`
//! environment variable (read at the first call).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Models the fake accepts, recognised by the sha256 of their bytes.
    pub models: Vec<ModelSpec>,
    /// Make one API call fail.
    #[serde(default)]
    pub fail: Option<Failure>,
    #[serde(default = "default_api_version")]
    pub api_version: String,
    #[serde(default = "default_driver_version")]
    pub driver_version: String,
    /// What `RKNN_QUERY_PERF_RUN` reports, in microseconds.
    #[serde(default = "default_perf_us")]
    pub perf_run_us: i64,
    /// Write a JSON report of the protocol state here after every call.
    #[serde(default)]
    pub report: Option<PathBuf>,
}

fn default_api_version() -> String {
    "1.6.0 (fake runtime)".into()
}
fn default_driver_version() -> String {
    "0.9.2 (fake driver)".into()
}
fn default_perf_us() -> i64 {
    321
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// C function name, e.g. "rknn_run".
    pub call: String,
    /// Code to return (`rknn_create_mem` returns NULL instead).
    #[serde(default = "default_fail_code")]
    pub code: i32,
    /// Let this many calls of `call` succeed first.
    #[serde(default)]
    pub after: u32,
}

fn default_fail_code() -> i32 {
    -1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub sha256: String,
    pub input: InputSpec,
    pub output: OutputSpec,
    /// Golden vectors (`model/artifacts/golden.json` format): input pixels -> int8 outputs.
    pub golden: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    #[serde(default = "default_input_name")]
    pub name: String,
    /// Logical NHWC dims.
    pub dims: [u32; 4],
    /// Row pitch of the native input in pixels (the NPU wants rows aligned).
    pub w_stride: u32,
}

fn default_input_name() -> String {
    "input".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    #[serde(default = "default_output_name")]
    pub name: String,
    /// Logical NCHW dims.
    pub dims: [u32; 4],
    pub zero_point: i32,
    pub scale: f32,
    /// Channel block of the native NC1HWC2 layout.
    #[serde(default = "default_c2")]
    pub c2: u32,
}

fn default_output_name() -> String {
    "logits".into()
}
fn default_c2() -> u32 {
    16
}

#[derive(Debug, Deserialize)]
struct GoldenFile {
    vectors: Vec<GoldenVector>,
}

#[derive(Debug, Deserialize)]
struct GoldenVector {
    input: Vec<u8>,
    rknn_int8: Vec<i8>,
}

/// Golden inputs and the simulator's int8 outputs for them.
pub type GoldenTable = HashMap<Vec<u8>, Vec<i8>>;

pub fn load(path: &Path) -> Result<(Script, Vec<GoldenTable>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut script: Script = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tables = Vec::new();
    for m in &mut script.models {
        if m.golden.is_relative() {
            m.golden = dir.join(&m.golden);
        }
        let text = std::fs::read_to_string(&m.golden).map_err(|e| format!("cannot read {}: {e}", m.golden.display()))?;
        let golden: GoldenFile = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", m.golden.display()))?;
        tables.push(golden.vectors.into_iter().map(|v| (v.input, v.rknn_int8)).collect());
    }
    Ok((script, tables))
}
