//! `digitd` on the NPU path, against the fake `librknnmrt` (rknn-sys/fake) loaded through the
//! real dlopen + FFI path: selftest passes on the golden vectors; a corrupted model, a
//! wrong-shaped model, a failing `rknn_run` and a missing runtime each give a clear error; the
//! fake's protocol report shows no violations and nothing left allocated.
//!
//! Needs the `npu` feature (rknn-sys, which needs libclang to build):
//! `cargo test --features npu --test npu`.
#![cfg(feature = "npu")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_digitd");
const ARTIFACTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/model/artifacts");

/// The fake runtime cargo built for this test run (a dev-dependency cdylib).
fn fake_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    [deps, deps.parent().unwrap()]
        .iter()
        .map(|d| d.join("librknn_fake.so"))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("librknn_fake.so not found near {}", exe.display()))
}

fn read_json(path: &Path) -> Value { serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap() }

fn manifest() -> Value { read_json(&Path::new(ARTIFACTS).join("MANIFEST.json")) }

/// A folder with the fake runtime as `librknnmrt.so` and a script for it.
struct Board {
    dir: tempfile::TempDir,
}

impl Board {
    /// `model_sha`: the model the fake accepts; `extra`: script keys (fail, ...);
    /// `input_dims`: what the fake reports for the input.
    fn new(model_sha: &str, input_dims: [u32; 4], extra: Value) -> Board {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(fake_library(), dir.path().join("librknnmrt.so")).unwrap();
        let model = |sha: &str, golden: PathBuf| {
            let quant = read_json(&golden)["output_quant"].clone();
            json!({
                "sha256": sha,
                "input": {"dims": input_dims, "w_stride": 32},
                "output": {"dims": [1, 11, 1, 1], "zero_point": quant["zero_point"], "scale": quant["scale"]},
                "golden": golden,
            })
        };
        let mut models = vec![model(model_sha, Path::new(ARTIFACTS).join("golden.json"))];
        // The shipped second opinion, if any, is a model of the same board.
        if let Some(second) = manifest()["second_opinion"]["manifest"].as_str() {
            let second = Path::new(ARTIFACTS).join(second);
            let sha = read_json(&second)["rknn"]["sha256"].as_str().unwrap().to_string();
            models.push(model(&sha, second.parent().unwrap().join("golden.json")));
        }
        let mut script = json!({"models": models, "report": dir.path().join("report.json")});
        for (k, v) in extra.as_object().unwrap() {
            script[k] = v.clone();
        }
        std::fs::write(dir.path().join("script.json"), script.to_string()).unwrap();
        Board { dir }
    }

    fn digitd(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .args(["--rknn-runtime", self.dir.path().to_str().unwrap()])
            .env("FAKE_RKNN_SCRIPT", self.dir.path().join("script.json"))
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    fn report(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.path().join("report.json")).expect("the fake wrote a report")).unwrap()
    }

    /// No protocol violations and nothing left allocated when digitd exited.
    fn assert_clean(&self) {
        let r = self.report();
        assert_eq!(r["violations"], json!([]), "{r}");
        assert_eq!(r["live_contexts"], 0, "{r}");
        assert_eq!(r["live_mems"], json!([]), "{r}");
    }
}

fn real_sha() -> String {
    manifest()["rknn"]["sha256"].as_str().unwrap().to_string()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// The one error line, checked for the format every digitd error has.
fn error_line(o: &Output) -> String {
    let (_, err) = text(o);
    assert!(!err.contains("panicked"), "{err}");
    let line = err.lines().find(|l| l.starts_with("digitd: error: ")).unwrap_or_else(|| panic!("no error line in {err:?}"));
    line.to_string()
}

/// A copy of the artifacts with `digits.rknn` replaced by `model`; the manifest's size and
/// SHA-256 are updated when `update_manifest`.
fn artifacts_with_model(dir: &Path, model: &[u8], update_manifest: bool) -> PathBuf {
    let out = dir.join("artifacts");
    std::fs::create_dir_all(&out).unwrap();
    for f in ["digits.onnx", "golden.json"] {
        std::fs::copy(Path::new(ARTIFACTS).join(f), out.join(f)).unwrap();
    }
    std::fs::write(out.join("digits.rknn"), model).unwrap();
    let mut m = manifest();
    m.as_object_mut().unwrap().remove("second_opinion"); // these tests are about the first model
    if update_manifest {
        let sha = digitd::classify::manifest::sha256_hex(model);
        m["rknn"]["sha256"] = json!(sha);
        m["rknn"]["bytes"] = json!(model.len());
    }
    std::fs::write(out.join("MANIFEST.json"), m.to_string()).unwrap();
    out.join("MANIFEST.json")
}

#[test]
fn selftest_passes_on_the_golden_vectors_through_the_fake_runtime() {
    let board = Board::new(&real_sha(), [1, 28, 28, 1], json!({}));
    let o = board.digitd(&["selftest", "--classifier", "npu"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("api 1.6.0 (fake runtime), driver 0.9.2 (fake driver)"), "{out}");
    assert!(out.contains("w_stride 32"), "input attributes shown: {out}");
    assert!(out.contains("Nc1hwc2"), "output layout shown: {out}");
    let total: Vec<&str> = out.lines().find(|l| l.starts_with("all ")).expect("table total").split_whitespace().collect();
    assert_eq!(total[..4], ["all", "72", "72", "0"], "{out}");
    assert!(out.contains("rknn_run: mean"), "{out}");
    assert!(out.contains("NPU time of the last run 321 us"), "{out}");
    assert!(out.contains("selftest: npu ok: 72/72"), "{out}");
    if manifest().get("second_opinion").is_some() {
        assert!(out.contains("selftest: second opinion: npu ok: 72/72"), "{out}");
    }
    board.assert_clean();
}

/// A manifest pairing the model with a second opinion (here a copy of itself in `large/`, with
/// its own golden vectors): selftest runs both on the NPU, and frees both contexts.
#[test]
fn selftest_checks_a_second_opinion_on_the_npu_too() {
    let dir = tempfile::tempdir().unwrap();
    let (copy, large) = (dir.path().join("artifacts"), dir.path().join("artifacts/large"));
    std::fs::create_dir_all(&large).unwrap();
    let mut m = manifest();
    m.as_object_mut().unwrap().remove("second_opinion");
    for to in [&copy, &large] {
        for f in ["digits.onnx", "digits.rknn", "golden.json"] {
            std::fs::copy(Path::new(ARTIFACTS).join(f), to.join(f)).unwrap();
        }
    }
    std::fs::write(large.join("MANIFEST.json"), m.to_string()).unwrap();
    m["second_opinion"] = json!({"manifest": "large/MANIFEST.json", "below": 0.7});
    std::fs::write(copy.join("MANIFEST.json"), m.to_string()).unwrap();
    let board = Board::new(&real_sha(), [1, 28, 28, 1], json!({}));
    let o = board.digitd(&["selftest", "--classifier", "npu", "--model", copy.join("MANIFEST.json").to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("selftest: npu ok: 72/72"), "{out}");
    assert!(out.contains("selftest: second opinion: npu ok: 72/72"), "{out}");
    assert_eq!(out.matches("rknn_run: mean").count(), 2, "{out}");
    board.assert_clean();
}

#[test]
fn a_corrupted_model_is_refused_by_the_manifest_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = std::fs::read(Path::new(ARTIFACTS).join("digits.rknn")).unwrap();
    model[1000] ^= 0x40;
    let manifest = artifacts_with_model(dir.path(), &model, false);
    let board = Board::new(&real_sha(), [1, 28, 28, 1], json!({}));
    let o = board.digitd(&["selftest", "--classifier", "npu", "--model", manifest.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    let line = error_line(&o);
    assert!(line.contains("digits.rknn does not match the manifest: its SHA-256 is"), "{line}");
}

#[test]
fn a_corrupted_model_that_matches_its_manifest_is_refused_by_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = std::fs::read(Path::new(ARTIFACTS).join("digits.rknn")).unwrap();
    model[1000] ^= 0x40;
    let manifest = artifacts_with_model(dir.path(), &model, true);
    let board = Board::new(&real_sha(), [1, 28, 28, 1], json!({}));
    let o = board.digitd(&["selftest", "--classifier", "npu", "--model", manifest.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    let line = error_line(&o);
    assert!(line.contains("is not a valid model: rknn_init failed: invalid or corrupt model"), "{line}");
    board.assert_clean();
}

#[test]
fn a_wrong_shaped_model_is_refused_at_load() {
    let board = Board::new(&real_sha(), [1, 32, 32, 1], json!({}));
    let o = board.digitd(&["selftest", "--classifier", "npu"]);
    assert_eq!(o.status.code(), Some(3));
    let line = error_line(&o);
    assert!(line.contains("has input [1, 32, 32, 1] Nhwc, but preprocessing produces [1, 28, 28, 1]"), "{line}");
    board.assert_clean();
}

#[test]
fn a_failing_rknn_run_fails_the_selftest_with_the_runtime_error() {
    let board = Board::new(&real_sha(), [1, 28, 28, 1], json!({"fail": {"call": "rknn_run", "code": -2, "after": 5}}));
    let o = board.digitd(&["selftest", "--classifier", "npu"]);
    assert_eq!(o.status.code(), Some(3));
    let line = error_line(&o);
    assert!(line.contains("selftest failed on golden vector 5"), "{line}");
    assert!(line.contains("rknn_run failed: timed out (RKNN code -2)"), "{line}");
    board.assert_clean();
}

#[test]
fn a_missing_runtime_lists_the_paths_tried() {
    let board = Board::new(&real_sha(), [1, 28, 28, 1], json!({}));
    std::fs::remove_file(board.dir.path().join("librknnmrt.so")).unwrap();
    let o = board.digitd(&["selftest", "--classifier", "npu"]);
    assert_eq!(o.status.code(), Some(3));
    let line = error_line(&o);
    for needle in ["cannot open the RKNN runtime librknnmrt.so", "/oem/usr/lib/librknnmrt.so (not found)", "/usr/lib/librknnmrt.so"] {
        assert!(line.contains(needle), "{needle:?} in {line}");
    }
}

#[test]
fn without_a_runtime_recognize_falls_back_to_the_cpu_only_when_allowed() {
    let board = Board::new(&real_sha(), [1, 28, 28, 1], json!({}));
    std::fs::remove_file(board.dir.path().join("librknnmrt.so")).unwrap();
    let scene = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample/scene-1.png");
    let o = board.digitd(&["recognize", "--classifier", "npu", scene]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(err.contains("using the CPU classifier instead"), "{err}");
    std::fs::write(board.dir.path().join("strict.toml"), "[classifier]\nkind = \"npu\"\nfallback_to_cpu = false\n").unwrap();
    let o = board.digitd(&["recognize", "--config", "strict.toml", scene]);
    assert_eq!(o.status.code(), Some(3));
    assert!(error_line(&o).contains("cannot open the RKNN runtime"));
}
