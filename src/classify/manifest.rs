//! `MANIFEST.json`: what the model pipeline promises about its artifacts.
//!
//! Only the parts the firmware relies on are read (unknown fields are allowed: the manifest
//! also carries metrics and NPU build settings). The promises are checked here, before any
//! model file is opened, so a mismatched model fails with a message about the manifest.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::{NOT_A_DIGIT, NUM_CLASSES};
use crate::preprocess::INPUT_SIDE;

/// The manifest schema this firmware reads.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("cannot read model manifest {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("model manifest {path} is not valid: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("model file {path} does not match the manifest: {reason}")]
    Mismatch { path: PathBuf, reason: String },
}

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub classes: Vec<String>,
    pub reject: Reject,
    pub onnx: ModelFile,
    /// The INT8 model for the RV1106 NPU, if the pipeline built one.
    #[serde(default)]
    pub rknn: Option<ArtifactFile>,
    /// A larger model that re-reads the digits this one is unsure of, if the pipeline paired
    /// one with it ([`super::second_opinion`]).
    #[serde(default)]
    pub second_opinion: Option<SecondOpinionSpec>,
    /// The folder the manifest is in: artifact paths are relative to it.
    #[serde(skip)]
    pub dir: PathBuf,
    #[serde(skip)]
    pub path: PathBuf,
}

/// Where the second-opinion model's own manifest is, and when to ask it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondOpinionSpec {
    /// Its manifest, relative to this one's folder (e.g. `"large/MANIFEST.json"`).
    pub manifest: String,
    /// Digits whose top probability is below this are re-read by it.
    pub below: f32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Reject {
    /// The top digit's probability must be at least this.
    pub min_confidence: f32,
    /// The probability of "not a digit" must be at most this (absent in older manifests: no limit).
    #[serde(default = "no_limit")]
    pub max_not_a_digit: f32,
}

fn no_limit() -> f32 { 1.0 }

impl Reject {
    /// The reject rule as the accept rule's strict thresholds.
    pub fn thresholds(&self) -> crate::policy::Thresholds { crate::policy::Thresholds::new(self.min_confidence, self.max_not_a_digit) }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelFile {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub input: TensorSpec,
    pub output: TensorSpec,
}

/// A listed artifact: file name next to the manifest, size and SHA-256.
#[derive(Debug, Clone, Deserialize)]
pub struct ArtifactFile {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<Dim>,
    pub dtype: String,
    #[serde(default)]
    pub layout: Option<String>,
}

/// One dimension: a number, or a symbol such as `"N"` (any batch size).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Dim {
    Fixed(u64),
    Symbol(String),
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbol(s) => f.write_str(s),
        }
    }
}

/// `[N, 1, 28, 28]`-style text for messages.
pub fn shape_text(dims: &[Dim]) -> String {
    format!("[{}]", dims.iter().map(Dim::to_string).collect::<Vec<_>>().join(", "))
}

impl Manifest {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io { path: path.to_path_buf(), source })?;
        let mut m: Manifest = serde_json::from_str(&text)
            .map_err(|e| ManifestError::Invalid { path: path.to_path_buf(), reason: e.to_string() })?;
        m.path = path.to_path_buf();
        m.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        m.check()?;
        Ok(m)
    }

    fn invalid(&self, reason: String) -> ManifestError { ManifestError::Invalid { path: self.path.clone(), reason } }

    fn check(&self) -> Result<(), ManifestError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(self.invalid(format!("schema_version is {}, this firmware reads {SCHEMA_VERSION}", self.schema_version)));
        }
        let expected: Vec<String> = (0..10).map(|d| d.to_string()).chain(["not_a_digit".to_string()]).collect();
        if self.classes != expected {
            return Err(self.invalid(format!("classes are {:?}, expected the digits 0-9 then not_a_digit", self.classes)));
        }
        debug_assert_eq!(expected.len(), NUM_CLASSES);
        debug_assert_eq!(expected[NOT_A_DIGIT], "not_a_digit");
        for (key, p) in [("min_confidence", self.reject.min_confidence), ("max_not_a_digit", self.reject.max_not_a_digit)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(self.invalid(format!("reject.{key} is {p}, not a probability")));
            }
        }
        let side = INPUT_SIDE as u64;
        let input = &self.onnx.input;
        if !batch_dim(input.shape.first()) || input.shape[1..] != [Dim::Fixed(1), Dim::Fixed(side), Dim::Fixed(side)] {
            return Err(self.invalid(format!(
                "onnx.input.shape is {}, preprocessing produces [N, 1, {side}, {side}]",
                shape_text(&input.shape)
            )));
        }
        let output = &self.onnx.output;
        if !batch_dim(output.shape.first())
            || output.shape[1..] != [Dim::Fixed(NUM_CLASSES as u64), Dim::Fixed(1), Dim::Fixed(1)]
        {
            return Err(self.invalid(format!("onnx.output.shape is {}, expected [N, {NUM_CLASSES}, 1, 1]", shape_text(&output.shape))));
        }
        for (what, spec) in [("input", input), ("output", output)] {
            if spec.dtype != "float32" {
                return Err(self.invalid(format!("onnx.{what}.dtype is {:?}, expected \"float32\"", spec.dtype)));
            }
            if spec.layout.as_deref().is_some_and(|l| l != "NCHW") {
                return Err(self.invalid(format!("onnx.{what}.layout is {:?}, expected \"NCHW\"", spec.layout)));
            }
        }
        if self.onnx.sha256.len() != 64 || !self.onnx.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.invalid(format!("onnx.sha256 {:?} is not a SHA-256 in hex", self.onnx.sha256)));
        }
        if self.onnx.file.is_empty() || Path::new(&self.onnx.file).is_absolute() {
            return Err(self.invalid(format!("onnx.file {:?} must be a file name next to the manifest", self.onnx.file)));
        }
        if let Some(second) = &self.second_opinion {
            if !(second.below > 0.0 && second.below <= 1.0) {
                return Err(self.invalid(format!("second_opinion.below is {}, not a probability above 0", second.below)));
            }
            if second.manifest.is_empty() || Path::new(&second.manifest).is_absolute() {
                return Err(self.invalid(format!(
                    "second_opinion.manifest {:?} must be a path relative to the manifest's folder",
                    second.manifest
                )));
            }
        }
        Ok(())
    }

    /// The second-opinion model's manifest and the probability under which digits go to it, if
    /// this manifest names one. It must not name another: opinions do not chain.
    pub fn second_opinion_manifest(&self) -> Result<Option<(Manifest, f32)>, ManifestError> {
        let Some(spec) = &self.second_opinion else { return Ok(None) };
        let second = Manifest::load(&self.dir.join(&spec.manifest))?;
        if second.second_opinion.is_some() {
            return Err(self.invalid(format!(
                "its second-opinion model {} names a second opinion of its own; only one is allowed",
                second.path.display()
            )));
        }
        Ok(Some((second, spec.below)))
    }

    /// Where the ONNX model is.
    pub fn onnx_path(&self) -> PathBuf { self.dir.join(&self.onnx.file) }

    /// Whether the model takes any batch size (`N`) rather than exactly one digit.
    pub fn batched(&self) -> bool { matches!(self.onnx.input.shape.first(), Some(Dim::Symbol(_))) }

    /// Reads the ONNX file and checks its size and SHA-256 against the manifest.
    pub fn read_onnx(&self) -> Result<Vec<u8>, ManifestError> {
        read_checked(&self.onnx_path(), self.onnx.bytes, &self.onnx.sha256)
    }

    /// Where the RKNN model is, if the manifest lists one.
    pub fn rknn_path(&self) -> Option<PathBuf> { self.rknn.as_ref().map(|r| self.dir.join(&r.file)) }

    /// Reads the RKNN file and checks its size and SHA-256 against the manifest.
    pub fn read_rknn(&self) -> Result<(PathBuf, Vec<u8>), ManifestError> {
        let Some(rknn) = &self.rknn else {
            return Err(self.invalid("it lists no \"rknn\" model for the NPU".into()));
        };
        if rknn.file.is_empty() || Path::new(&rknn.file).is_absolute() {
            return Err(self.invalid(format!("rknn.file {:?} must be a file name next to the manifest", rknn.file)));
        }
        let path = self.dir.join(&rknn.file);
        let bytes = read_checked(&path, rknn.bytes, &rknn.sha256)?;
        Ok((path, bytes))
    }

    /// A file listed next to the manifest (e.g. `golden.json`).
    pub fn artifact(&self, name: &str) -> PathBuf { self.dir.join(name) }
}

/// Reads `path` and checks it against the manifest's size and SHA-256.
fn read_checked(path: &Path, expected_bytes: u64, expected_sha: &str) -> Result<Vec<u8>, ManifestError> {
    let bytes = std::fs::read(path).map_err(|source| ManifestError::Io { path: path.to_path_buf(), source })?;
    let mismatch = |reason| ManifestError::Mismatch { path: path.to_path_buf(), reason };
    if bytes.len() as u64 != expected_bytes {
        return Err(mismatch(format!("it has {} bytes, the manifest says {expected_bytes}", bytes.len())));
    }
    let digest = sha256_hex(&bytes);
    if !digest.eq_ignore_ascii_case(expected_sha) {
        return Err(mismatch(format!("its SHA-256 is {digest}, the manifest says {expected_sha}")));
    }
    Ok(bytes)
}

fn batch_dim(d: Option<&Dim>) -> bool { matches!(d, Some(Dim::Symbol(_)) | Some(Dim::Fixed(1))) }

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn manifest_json(input_shape: &str, sha: &str, bytes: usize) -> String {
        format!(
            r#"{{"schema_version": 1,
  "classes": ["0","1","2","3","4","5","6","7","8","9","not_a_digit"],
  "reject": {{"min_confidence": 0.6}},
  "metrics": {{"anything": 1}},
  "onnx": {{"file": "digits.onnx", "sha256": "{sha}", "bytes": {bytes},
           "input":  {{"name": "input",  "shape": {input_shape}, "dtype": "float32", "layout": "NCHW", "scale": "0..1"}},
           "output": {{"name": "logits", "shape": ["N",11,1,1],  "dtype": "float32", "layout": "NCHW", "kind": "logits"}}}}}}"#
        )
    }

    fn write(dir: &Path, json: &str) -> PathBuf {
        let p = dir.join("MANIFEST.json");
        std::fs::write(&p, json).unwrap();
        p
    }

    #[test]
    fn reads_a_good_manifest_and_checks_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let onnx = b"not really onnx";
        std::fs::write(dir.path().join("digits.onnx"), onnx).unwrap();
        let p = write(dir.path(), &manifest_json(r#"["N",1,28,28]"#, &sha256_hex(onnx), onnx.len()));
        let m = Manifest::load(&p).unwrap();
        assert!(m.batched());
        assert_eq!(m.reject.min_confidence, 0.6);
        assert_eq!(m.read_onnx().unwrap(), onnx);

        std::fs::write(dir.path().join("digits.onnx"), b"not really onnY").unwrap();
        let err = m.read_onnx().unwrap_err().to_string();
        assert!(err.contains("SHA-256"), "{err}");
        std::fs::write(dir.path().join("digits.onnx"), b"short").unwrap();
        let err = m.read_onnx().unwrap_err().to_string();
        assert!(err.contains("bytes"), "{err}");
    }

    #[test]
    fn wrong_shapes_and_classes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let sha = "0".repeat(64);
        let p = write(dir.path(), &manifest_json(r#"["N",1,32,32]"#, &sha, 1));
        let err = Manifest::load(&p).unwrap_err().to_string();
        assert!(err.contains("[N, 1, 32, 32]"), "{err}");
        let p = write(dir.path(), &manifest_json(r#"[1,1,28,28]"#, &sha, 1));
        assert!(!Manifest::load(&p).unwrap().batched());
        let p = write(dir.path(), &manifest_json(r#"["N",1,28,28]"#, "abc", 1));
        assert!(Manifest::load(&p).unwrap_err().to_string().contains("sha256"));
        let p = write(dir.path(), &manifest_json(r#"["N",1,28,28]"#, &sha, 1).replace("\"not_a_digit\"", "\"other\""));
        assert!(Manifest::load(&p).unwrap_err().to_string().contains("classes"));
        let p = write(dir.path(), "{ not json");
        assert!(matches!(Manifest::load(&p), Err(ManifestError::Invalid { .. })));
        assert!(matches!(Manifest::load(&dir.path().join("missing.json")), Err(ManifestError::Io { .. })));
    }
    /// `manifest_json` with a `second_opinion` section.
    fn with_second_opinion(json: &str, section: &str) -> String {
        json.replacen("\"metrics\"", &format!("\"second_opinion\": {section},\n  \"metrics\""), 1)
    }

    #[test]
    fn a_second_opinion_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let sha = "0".repeat(64);
        let plain = manifest_json(r#"["N",1,28,28]"#, &sha, 1);
        std::fs::create_dir(dir.path().join("large")).unwrap();
        std::fs::write(dir.path().join("large/MANIFEST.json"), &plain).unwrap();

        let p = write(dir.path(), &plain);
        assert!(Manifest::load(&p).unwrap().second_opinion_manifest().unwrap().is_none());

        let p = write(dir.path(), &with_second_opinion(&plain, r#"{"manifest": "large/MANIFEST.json", "below": 0.9}"#));
        let m = Manifest::load(&p).unwrap();
        assert_eq!(m.second_opinion.as_ref().map(|s| s.below), Some(0.9));
        let (second, below) = m.second_opinion_manifest().unwrap().expect("second manifest");
        assert_eq!(second.dir, dir.path().join("large"));
        assert_eq!(below, 0.9);

        for (section, says) in [
            (r#"{"manifest": "large/MANIFEST.json", "below": 1.5}"#, "second_opinion.below"),
            (r#"{"manifest": "large/MANIFEST.json", "below": 0}"#, "second_opinion.below"),
            (r#"{"manifest": "/etc/MANIFEST.json", "below": 0.9}"#, "relative"),
            (r#"{"manifest": "large/MANIFEST.json", "below": 0.9, "after": 1}"#, "unknown field"),
            (r#"{"below": 0.9}"#, "missing field"),
        ] {
            let p = write(dir.path(), &with_second_opinion(&plain, section));
            let err = Manifest::load(&p).unwrap_err().to_string();
            assert!(err.contains(says), "{section}: {err}");
        }

        // A missing second manifest is reported with its path; a chained one is refused.
        let p = write(dir.path(), &with_second_opinion(&plain, r#"{"manifest": "gone/MANIFEST.json", "below": 0.9}"#));
        let err = Manifest::load(&p).unwrap().second_opinion_manifest().unwrap_err().to_string();
        assert!(err.contains("gone/MANIFEST.json"), "{err}");
        let chained = with_second_opinion(&plain, r#"{"manifest": "MANIFEST.json", "below": 0.9}"#);
        std::fs::write(dir.path().join("large/MANIFEST.json"), &chained).unwrap();
        let p = write(dir.path(), &with_second_opinion(&plain, r#"{"manifest": "large/MANIFEST.json", "below": 0.9}"#));
        let err = Manifest::load(&p).unwrap().second_opinion_manifest().unwrap_err().to_string();
        assert!(err.contains("only one is allowed"), "{err}");
    }
}
