//! The `digitd` binary from the outside: help, exit codes, one-line error messages, JSON
//! output, the run loop with signals. Models are tiny hand-built ONNX files (see
//! `classify::testmodel`) so these tests do not depend on the trained artifacts; the last
//! tests use the real ones when they are present.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use digitd::classify::testmodel::{conv_model, manifest_for, Batch};

const BIN: &str = env!("CARGO_BIN_EXE_digitd");
const REAL_MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/model/artifacts/MANIFEST.json");

fn digitd(args: &[&str], cwd: &Path) -> Output {
    Command::new(BIN).args(args).current_dir(cwd).output().expect("digitd runs")
}

fn stdout(o: &Output) -> String { String::from_utf8_lossy(&o.stdout).into_owned() }
fn stderr(o: &Output) -> String { String::from_utf8_lossy(&o.stderr).into_owned() }

/// Exit code, and stderr checked for the one-line error format (never a panic or a Debug dump).
fn code_and_error(o: &Output) -> (i32, String) {
    let err = stderr(o);
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "panic: {err}");
    for line in err.lines().filter(|l| l.contains("error")) {
        assert!(line.starts_with("digitd: error: "), "error line format: {line:?}");
        assert!(!line.contains("{ ") && !line.contains("Os {"), "Debug output in {line:?}");
    }
    (o.status.code().expect("exited normally"), err)
}

/// Bias that makes every input a confident "7" (p = e^5 / (e^5 + 10) ≈ 0.94).
fn seven_bias() -> Vec<f32> { (0..11).map(|c| if c == 7 { 5.0 } else { 0.0 }).collect() }

/// A model folder with `digits.onnx` and `MANIFEST.json`; returns the manifest path.
fn model_dir(dir: &Path, onnx: &[u8], declared_input: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("digits.onnx"), onnx).unwrap();
    let manifest = dir.join("MANIFEST.json");
    std::fs::write(&manifest, manifest_for(onnx, "digits.onnx", declared_input, 0.6)).unwrap();
    manifest
}

fn sevens_model(dir: &Path) -> PathBuf { model_dir(&dir.join("model"), &conv_model(28, Batch::Any, 0.0, &seven_bias()), r#"["N",1,28,28]"#) }

/// A 320x160 page with three ring-shaped "digits" in a row (dark ink on light paper).
fn page_with_rings() -> image::GrayImage {
    let mut img = image::GrayImage::from_pixel(320, 160, image::Luma([210]));
    for k in 0..3 {
        let (x0, y0) = (40 + k * 90, 40);
        for y in y0..y0 + 70 {
            for x in x0..x0 + 40 {
                let edge = x < x0 + 6 || x >= x0 + 34 || y < y0 + 6 || y >= y0 + 64;
                if edge {
                    img.put_pixel(x, y, image::Luma([30]));
                }
            }
        }
    }
    img
}

fn blank_page() -> image::GrayImage { image::GrayImage::from_pixel(320, 160, image::Luma([210])) }

/// A mono Y4M clip: `pages` frames of rings, then `blanks` blank frames.
fn write_clip(path: &Path, pages: usize, blanks: usize) {
    let (rings, blank) = (page_with_rings(), blank_page());
    let mut bytes = b"YUV4MPEG2 W320 H160 F30:1 Cmono\n".to_vec();
    for i in 0..pages + blanks {
        bytes.extend_from_slice(b"FRAME\n");
        bytes.extend_from_slice(if i < pages { rings.as_raw() } else { blank.as_raw() });
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn help_documents_commands_examples_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let o = digitd(&["--help"], dir.path());
    assert_eq!(o.status.code(), Some(0));
    let help = stdout(&o);
    for needle in ["recognize", "selftest", "bench", "Examples:", "Exit codes:", "--config", "--source", "--fps", "SIGHUP", "4  input error"] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    for sub in ["run", "recognize", "selftest", "bench"] {
        let o = digitd(&[sub, "--help"], dir.path());
        assert_eq!(o.status.code(), Some(0), "{sub} --help");
    }
    assert_eq!(digitd(&["--version"], dir.path()).status.code(), Some(0));
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--no-such-flag"][..], &["recognize"], &["run", "--fps", "fast"], &["--loop", "selftest"], &["frobnicate"]] {
        let o = digitd(args, dir.path());
        let (code, err) = code_and_error(&o);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn bad_config_files_name_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("digitd.toml");
    for (text, needles) in [
        ("[source]\nfps = 5\n\n[display]\ncolour = \"red\"\n", &["line 5", "display.colour", "unknown field"][..]),
        ("[policy]\nstable_frames = 0\n", &["line 2", "policy.stable_frames", "1 to 1000"]),
        ("[display]\nsize = \"huge\"\n", &["line 2", "display.size", "240x240"]),
        ("[preprocess]\nwindow_per_mille = 0\n", &["line 2", "preprocess.window_per_mille"]),
        ("[source\n", &["line 1"]),
    ] {
        std::fs::write(&cfg, text).unwrap();
        // Found by the search (./digitd.toml) and given explicitly: the same error.
        for args in [&["selftest"][..], &["--config", cfg.to_str().unwrap(), "selftest"]] {
            let o = digitd(args, dir.path());
            let (code, err) = code_and_error(&o);
            assert_eq!(code, 2, "{text:?}: {err}");
            for n in needles {
                assert!(err.contains(n), "{text:?}: {err:?} lacks {n:?}");
            }
            assert!(err.contains("digitd.toml"), "{err}");
        }
    }
    let o = digitd(&["--config", "/no/such/digitd.toml", "selftest"], dir.path());
    let (code, err) = code_and_error(&o);
    assert_eq!(code, 2);
    assert!(err.contains("/no/such/digitd.toml"), "{err}");
}

#[test]
fn recognize_reads_good_files_and_reports_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = sevens_model(dir.path());
    let rings = dir.path().join("rings.png");
    page_with_rings().save(&rings).unwrap();
    let blank = dir.path().join("blank.pgm");
    blank_page().save(&blank).unwrap();
    let garbage = dir.path().join("garbage.png");
    std::fs::write(&garbage, b"this is not a picture at all").unwrap();

    let o = digitd(&["--model", manifest.to_str().unwrap(), "recognize", "rings.png", "missing.png", "garbage.png", "blank.pgm"], dir.path());
    let (code, err) = code_and_error(&o);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("missing.png") && err.contains("garbage.png"), "{err}");
    assert!(err.contains("2 of 4 inputs"), "{err}");
    assert_eq!(stdout(&o), "rings.png: 777\nblank.pgm: \n");
}

#[test]
fn recognize_json_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = sevens_model(dir.path());
    page_with_rings().save(dir.path().join("rings.jpg")).unwrap();
    blank_page().save(dir.path().join("blank.png")).unwrap();
    let o = digitd(&["recognize", "--json", "--model", manifest.to_str().unwrap(), "rings.jpg", "blank.png"], dir.path());
    let (code, err) = code_and_error(&o);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert_eq!(lines.len(), 2);
    let first = lines[0].as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["digits", "file", "ms", "text"]);
    assert_eq!(first["file"], "rings.jpg");
    assert_eq!(first["text"], "777");
    let digits = first["digits"].as_array().unwrap();
    assert_eq!(digits.len(), 3);
    let mut last_x = -1;
    for d in digits {
        let d = d.as_object().unwrap();
        let mut keys: Vec<&str> = d.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["box", "confidence", "digit"]);
        assert_eq!(d["digit"], 7);
        let p = d["confidence"].as_f64().unwrap();
        assert!((0.9..=1.0).contains(&p), "{p}");
        let b: Vec<i64> = d["box"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        assert_eq!(b.len(), 4);
        assert!(b[0] > last_x && b[2] > 0 && b[3] > 0, "{b:?}");
        last_x = b[0];
    }
    assert!(first["ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(lines[1]["text"], "");
    assert_eq!(lines[1]["digits"], serde_json::json!([]));
}

#[test]
fn model_problems_exit_3_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    page_with_rings().save(dir.path().join("p.png")).unwrap();
    let good = conv_model(28, Batch::Any, 0.0, &seven_bias());
    let run = |manifest: &Path| {
        let o = digitd(&["--model", manifest.to_str().unwrap(), "recognize", "p.png"], dir.path());
        code_and_error(&o)
    };

    // Damaged after the manifest was written: the checksum catches it.
    let m = model_dir(&dir.path().join("damaged"), &good, r#"["N",1,28,28]"#);
    let mut bytes = good.clone();
    bytes[100] ^= 0xff;
    std::fs::write(dir.path().join("damaged/digits.onnx"), &bytes).unwrap();
    let (code, err) = run(&m);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("SHA-256") && err.contains("digits.onnx"), "{err}");

    // Truncated, random bytes: not a model even when the checksum matches.
    let garbage: Vec<u8> = (0..4000u32).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
    for (name, bytes) in [("truncated", &good[..good.len() / 3]), ("random", &garbage[..])] {
        let m = model_dir(&dir.path().join(name), bytes, r#"["N",1,28,28]"#);
        let (code, err) = run(&m);
        assert_eq!(code, 3, "{name}: {err}");
        assert!(err.contains("not a valid model"), "{name}: {err}");
    }

    // A valid ONNX that takes 32x32 inputs; and a manifest that declares them.
    let wide = conv_model(32, Batch::Any, 0.0, &seven_bias());
    let (code, err) = run(&model_dir(&dir.path().join("wide"), &wide, r#"["N",1,28,28]"#));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("has input") && err.contains("32"), "{err}");
    let (code, err) = run(&model_dir(&dir.path().join("wide-declared"), &wide, r#"["N",1,32,32]"#));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("onnx.input.shape"), "{err}");

    // Ten outputs instead of eleven.
    let ten = conv_model(28, Batch::Any, 0.0, &[0.0; 10]);
    let (code, err) = run(&model_dir(&dir.path().join("ten"), &ten, r#"["N",1,28,28]"#));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("output"), "{err}");

    let (code, err) = run(&dir.path().join("nowhere/MANIFEST.json"));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("nowhere/MANIFEST.json"), "{err}");

    // No NPU (not in this build, or no runtime library here): without fallback that is a model
    // error too.
    let cfg = dir.path().join("npu.toml");
    std::fs::write(&cfg, "[classifier]\nkind = \"npu\"\nfallback_to_cpu = false\n").unwrap();
    let m = sevens_model(dir.path());
    let o = digitd(&["--config", cfg.to_str().unwrap(), "--model", m.to_str().unwrap(), "recognize", "p.png"], dir.path());
    let (code, err) = code_and_error(&o);
    assert_eq!(code, 3, "{err}");
    let no_npu = if cfg!(feature = "npu") { "cannot open the RKNN runtime" } else { "the npu classifier is not available in this build" };
    assert!(err.contains(no_npu), "{err}");
}

#[test]
fn selftest_checks_golden_vectors() {
    let dir = tempfile::tempdir().unwrap();
    // logits[c] = bias[c] + 0.002 * c * sum(x / 255): easy to compute as the reference.
    let bias = seven_bias();
    let m = model_dir(&dir.path().join("model"), &conv_model(28, Batch::Any, 0.002, &bias), r#"["N",1,28,28]"#);
    let args = ["--model", m.to_str().unwrap(), "selftest"];

    let (code, err) = code_and_error(&digitd(&args, dir.path()));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("golden.json"), "{err}");

    let vectors: Vec<serde_json::Value> = (0..5u32)
        .map(|k| {
            let input: Vec<u32> = (0..784u32).map(|i| (i * 7 + k * 50) % 256).collect();
            let s: f32 = input.iter().map(|&v| v as f32 / 255.0).sum();
            let logits: Vec<f32> = (0..11).map(|c| bias[c] + 0.002 * c as f32 * s).collect();
            serde_json::json!({"source": format!("t[{k}]"), "label": 7, "input": input, "onnx_logits": logits})
        })
        .collect();
    let golden = |vectors: &[serde_json::Value]| serde_json::json!({"format": "digitd golden vectors v1", "vectors": vectors}).to_string();
    std::fs::write(dir.path().join("model/golden.json"), golden(&vectors)).unwrap();
    let o = digitd(&args, dir.path());
    let (code, err) = code_and_error(&o);
    assert_eq!(code, 0, "{err}");
    assert!(stdout(&o).contains("5/5 match"), "{}", stdout(&o));

    let mut wrong = vectors.clone();
    wrong[2]["onnx_logits"][3] = serde_json::json!(50.0);
    std::fs::write(dir.path().join("model/golden.json"), golden(&wrong)).unwrap();
    let (code, err) = code_and_error(&digitd(&args, dir.path()));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("1 of 5") && err.contains("t[2]"), "{err}");
}

#[test]
fn run_prints_stable_readings_and_writes_screens() {
    let dir = tempfile::tempdir().unwrap();
    let m = sevens_model(dir.path());
    write_clip(&dir.path().join("clip.y4m"), 5, 4);
    let o = digitd(&["--model", m.to_str().unwrap(), "run", "--source", "clip.y4m", "--fps", "0", "--out", "screens"], dir.path());
    let (code, err) = code_and_error(&o);
    assert_eq!(code, 0, "{err}");
    assert_eq!(stdout(&o), "reading: 777\nreading: (none)\n");
    assert!(dir.path().join("screens/latest.png").is_file());
    let png = image::open(dir.path().join("screens/latest.png")).unwrap();
    assert_eq!((png.width(), png.height()), (240, 240));
}

#[test]
fn run_reports_a_truncated_clip_as_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let m = sevens_model(dir.path());
    let clip = dir.path().join("clip.y4m");
    write_clip(&clip, 2, 0);
    let bytes = std::fs::read(&clip).unwrap();
    std::fs::write(&clip, &bytes[..bytes.len() - 1000]).unwrap();
    let o = digitd(&["--model", m.to_str().unwrap(), "--source", "clip.y4m", "--fps", "0", "--display", "none"], dir.path());
    let (code, err) = code_and_error(&o);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("clip.y4m") && err.contains("frame 1"), "{err}");
}

fn spawn(args: &[&str], cwd: &Path) -> Child {
    Command::new(BIN).args(args).current_dir(cwd).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill -{name}");
}

/// Waits at most `limit` for the child to exit; kills it (and fails) otherwise.
fn wait_exit(child: &mut Child, limit: Duration) -> (i32, String, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let (mut out, mut err) = (String::new(), String::new());
            child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            return (status.code().unwrap_or(-1), out, err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("digitd did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_and_sigint_stop_the_loop_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let m = sevens_model(dir.path());
    write_clip(&dir.path().join("clip.y4m"), 3, 3);
    for sig in ["TERM", "INT"] {
        // 2 fps: the loop spends its time in pacing sleeps, which must not delay the exit.
        let mut child = spawn(&["--model", m.to_str().unwrap(), "--source", "clip.y4m", "--loop", "--fps", "2", "--display", "none"], dir.path());
        std::thread::sleep(Duration::from_millis(1500));
        let sent = Instant::now();
        signal(&child, sig);
        let (code, _, err) = wait_exit(&mut child, Duration::from_secs(5));
        assert_eq!(code, 0, "SIG{sig}: {err}");
        assert!(sent.elapsed() < Duration::from_millis(500), "SIG{sig} took {:?}", sent.elapsed());
    }
}

#[test]
fn sighup_reloads_the_config_and_keeps_it_when_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let m = sevens_model(dir.path());
    write_clip(&dir.path().join("clip.y4m"), 3, 3);
    let cfg = dir.path().join("digitd.toml");
    std::fs::write(&cfg, "[policy]\nstable_frames = 2\n").unwrap();
    let mut child = spawn(
        &["--config", "digitd.toml", "--model", m.to_str().unwrap(), "--source", "clip.y4m", "--loop", "--fps", "50", "--display", "none"],
        dir.path(),
    );
    std::thread::sleep(Duration::from_millis(800));
    std::fs::write(&cfg, "[policy]\nstable_frames = 0\n").unwrap();
    signal(&child, "HUP");
    std::thread::sleep(Duration::from_millis(400));
    std::fs::write(&cfg, "[policy]\nstable_frames = 4\n").unwrap();
    signal(&child, "HUP");
    std::thread::sleep(Duration::from_millis(400));
    signal(&child, "TERM");
    let (code, out, err) = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("keeping the old configuration") && err.contains("stable_frames"), "{err}");
    assert!(err.contains("configuration reloaded"), "{err}");
    assert!(out.contains("reading: 777"), "{out}");
}

/// With the trained model present: a damaged copy is refused, and the real one passes its
/// self-test.
#[test]
fn real_artifacts_selftest_and_damage() {
    let real = Path::new(REAL_MANIFEST);
    if !real.is_file() {
        eprintln!("skipped: {REAL_MANIFEST} is not there yet");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = digitd(&["selftest"], dir.path());
    let (code, err) = code_and_error(&o);
    assert_eq!(code, 0, "{err}\n{}", stdout(&o));

    let copy = dir.path().join("artifacts");
    copy_tree(real.parent().unwrap(), &copy);
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(copy.join("MANIFEST.json")).unwrap()).unwrap();
    let onnx = copy.join(manifest["onnx"]["file"].as_str().unwrap());
    let mut bytes = std::fs::read(&onnx).unwrap();
    let len = bytes.len();
    bytes.truncate(len / 2);
    bytes.resize(len, 0);
    std::fs::write(&onnx, &bytes).unwrap();
    let o = digitd(&["--model", copy.join("MANIFEST.json").to_str().unwrap(), "selftest"], dir.path());
    let (code, err) = code_and_error(&o);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("SHA-256"), "{err}");
}

/// `from`'s files and folders (the artifacts and a second opinion's `large/`), copied to `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else {
            std::fs::copy(&p, dest).unwrap();
        }
    }
}

/// The trained student paired with a copy of itself as its second opinion (`large/`, with its
/// own golden vectors): selftest checks both models, each against its own golden file.
#[test]
fn selftest_checks_a_second_opinion_against_its_own_golden_vectors() {
    let real = Path::new(REAL_MANIFEST);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("artifacts");
    let large = copy.join("large");
    std::fs::create_dir_all(&large).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(real).unwrap()).unwrap();
    manifest.as_object_mut().unwrap().remove("second_opinion");
    for file in [manifest["onnx"]["file"].as_str().unwrap(), manifest["rknn"]["file"].as_str().unwrap(), "golden.json"] {
        for to in [&copy, &large] {
            std::fs::copy(real.parent().unwrap().join(file), to.join(file)).unwrap();
        }
    }
    std::fs::write(large.join("MANIFEST.json"), manifest.to_string()).unwrap();
    manifest["second_opinion"] = serde_json::json!({"manifest": "large/MANIFEST.json", "below": 0.9});
    std::fs::write(copy.join("MANIFEST.json"), manifest.to_string()).unwrap();
    let manifest_path = copy.join("MANIFEST.json");
    let args = ["--model", manifest_path.to_str().unwrap(), "selftest"];

    let o = digitd(&args, dir.path());
    let (code, err) = code_and_error(&o);
    assert_eq!(code, 0, "{err}\n{}", stdout(&o));
    let out = stdout(&o);
    for needle in ["selftest: model golden vectors ok", "selftest: second opinion: ", "selftest: second opinion golden vectors ok"] {
        assert!(out.contains(needle), "{needle:?} missing from\n{out}");
    }

    // Golden vectors that the second model does not reproduce fail the selftest, naming them.
    let golden_path = large.join("golden.json");
    let mut golden: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&golden_path).unwrap()).unwrap();
    for v in golden["vectors"].as_array_mut().unwrap() {
        v["onnx_logits"].as_array_mut().unwrap().reverse();
    }
    std::fs::write(&golden_path, golden.to_string()).unwrap();
    let (code, err) = code_and_error(&digitd(&args, dir.path()));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("differ from the ONNX reference") && err.contains("large/golden.json"), "{err}");

    std::fs::remove_file(&golden_path).unwrap();
    let (code, err) = code_and_error(&digitd(&args, dir.path()));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("large/golden.json"), "{err}");
}

/// With the sample clip and the trained model present: `digitd run` prints exactly the
/// readings the clip was generated with, in order, each followed by `(none)` as the page goes.
#[test]
fn sample_clip_gives_its_recorded_readings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (clip, readings) = (root.join("assets/sample/clip.y4m.gz"), root.join("assets/sample/readings.json"));
    // Both are committed: a missing one is a broken checkout, not a reason to skip.
    assert!(clip.is_file() && readings.is_file() && Path::new(REAL_MANIFEST).is_file(), "sample clip or model missing");
    let expected: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(&readings).unwrap()).unwrap();
    let mut want = String::new();
    for r in &expected {
        want += &format!("reading: {}\nreading: (none)\n", r["text"].as_str().unwrap().replace('\n', " / "));
    }
    let dir = tempfile::tempdir().unwrap();
    let o = digitd(&["run", "--fps", "0", "--display", "none"], dir.path());
    let (code, err) = code_and_error(&o);
    assert_eq!(code, 0, "{err}");
    assert_eq!(stdout(&o), want);
}

/// A camera that is not there: the daemon keeps running, says "camera lost" on screen and in
/// the log while it retries, and still stops promptly on SIGTERM.
#[cfg(feature = "camera")]
#[test]
fn a_missing_camera_is_retried_on_screen_and_sigterm_still_stops_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let m = sevens_model(dir.path());
    let mut child = spawn(&["--model", m.to_str().unwrap(), "run", "--camera", "/dev/video-digitd-missing", "--out", "screens"], dir.path());
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "digitd gave up on a missing camera");
    let sent = Instant::now();
    signal(&child, "TERM");
    let (code, _, err) = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(code, 0, "{err}");
    assert!(sent.elapsed() < Duration::from_secs(1), "SIGTERM took {:?}", sent.elapsed());
    assert!(err.contains("camera lost (/dev/video-digitd-missing: open failed: No such file or directory"), "{err}");
    let screen = image::open(dir.path().join("screens/latest.png")).expect("a screen was drawn").to_rgb8();
    assert_eq!(screen.dimensions(), (240, 240));
}

/// A file that is not a camera is a configuration mistake: a clear error, not endless retries.
#[cfg(feature = "camera")]
#[test]
fn a_node_that_is_not_a_camera_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let m = sevens_model(dir.path());
    let out = Command::new(BIN).args(["--model", m.to_str().unwrap(), "run", "--camera", "/dev/null", "--display", "none"]).current_dir(dir.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("camera unusable: /dev/null: not a V4L2 device"), "{err}");
}

#[cfg(not(feature = "camera"))]
#[test]
fn a_build_without_camera_support_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let m = sevens_model(dir.path());
    let out = Command::new(BIN).args(["--model", m.to_str().unwrap(), "run", "--camera", "--display", "none"]).current_dir(dir.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("built without camera support") && err.contains("--features camera"), "{err}");
}
