//! The safe layer against the fake runtime, through the real dlopen path.
//!
//! Each test copies the fake library to its own folder: a different path is a separate dlopen
//! instance with its own protocol state, so tests can run in parallel.

use std::path::{Path, PathBuf};

use rknn_sys::layout::{read_output_nchw, write_nhwc_u8};
use rknn_sys::{AttrQuery, Context, Error, ErrorKind, InitOptions, Runtime, TensorFormat, TensorType};
use serde_json::{json, Value};

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/artifacts")
}

fn model_bytes() -> Vec<u8> {
    std::fs::read(artifacts().join("digits.rknn")).expect("model/artifacts/digits.rknn")
}

fn manifest() -> Value { serde_json::from_str(&std::fs::read_to_string(artifacts().join("MANIFEST.json")).unwrap()).unwrap() }

fn sha256_hex(bytes: &[u8]) -> String {
    // The manifest records it; read it from there rather than hashing in the test.
    let manifest = manifest();
    let sha = manifest["rknn"]["sha256"].as_str().unwrap().to_string();
    assert_eq!(bytes.len() as u64, manifest["rknn"]["bytes"].as_u64().unwrap());
    sha
}

/// The fake library built by cargo for this test run (a dev-dependency cdylib).
fn fake_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    for dir in [deps, deps.parent().unwrap()] {
        let p = dir.join("librknn_fake.so");
        if p.exists() {
            return p;
        }
    }
    panic!("librknn_fake.so not found next to {}; build it with `cargo build -p rknn-fake`", exe.display());
}

struct Fake {
    dir: tempfile::TempDir,
    lib: PathBuf,
    control: libloading::Library,
}

impl Fake {
    fn new(extra: Value) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("librknnmrt.so");
        std::fs::copy(fake_library(), &lib).unwrap();
        // The output quantisation of the model in use (it changes whenever the model is rebuilt).
        let quant = manifest()["rknn"]["output"]["quant"].clone();
        let mut script = json!({
            "models": [{
                "sha256": sha256_hex(&model_bytes()),
                "input": {"dims": [1, 28, 28, 1], "w_stride": 32},
                "output": {"dims": [1, 11, 1, 1], "zero_point": quant["zero_point"], "scale": quant["scale"]},
                "golden": artifacts().join("golden.json"),
            }]
        });
        if let (Some(s), Some(e)) = (script.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                s.insert(k.clone(), v.clone());
            }
        }
        let script_path = dir.path().join("script.json");
        std::fs::write(&script_path, script.to_string()).unwrap();
        // SAFETY: the fake library has no initialisers beyond Rust's; the symbol has this signature.
        let control = unsafe { libloading::Library::new(&lib) }.unwrap();
        let path = std::ffi::CString::new(script_path.to_str().unwrap()).unwrap();
        unsafe {
            let configure: libloading::Symbol<unsafe extern "C" fn(*const std::ffi::c_char) -> i32> =
                control.get(b"rknn_fake_configure").unwrap();
            assert_eq!(configure(path.as_ptr()), 0);
        }
        Fake { dir, lib, control }
    }

    fn runtime(&self) -> Runtime {
        Runtime::locate(&[self.dir.path().join("missing.so"), self.lib.clone()]).unwrap()
    }

    fn report(&self) -> Value {
        let mut buf = vec![0u8; 1 << 16];
        // SAFETY: symbol signature as exported by the fake; buffer is writable.
        let n = unsafe {
            let report: libloading::Symbol<unsafe extern "C" fn(*mut std::ffi::c_char, u32) -> i32> =
                self.control.get(b"rknn_fake_report").unwrap();
            report(buf.as_mut_ptr().cast(), buf.len() as u32)
        };
        serde_json::from_slice(&buf[..n as usize]).unwrap()
    }

    /// No protocol violations, nothing left allocated.
    fn assert_clean(&self) {
        let r = self.report();
        assert_eq!(r["violations"], json!([]), "{r}");
        assert_eq!(r["live_contexts"], 0, "{r}");
        assert_eq!(r["live_mems"], json!([]), "{r}");
    }
}

struct Golden {
    input: Vec<u8>,
    logits: Vec<f32>,
}

fn golden() -> Vec<Golden> {
    let g: Value = serde_json::from_str(&std::fs::read_to_string(artifacts().join("golden.json")).unwrap()).unwrap();
    g["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Golden {
            input: v["input"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u8).collect(),
            logits: v["rknn_logits"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect(),
        })
        .collect()
}

/// Loads the model and binds its input (uint8 NHWC pixels) and native output.
fn open(rt: &Runtime, output: AttrQuery) -> Result<(Context, rknn_sys::IoId, rknn_sys::IoId, rknn_sys::TensorAttr, rknn_sys::TensorAttr), Error> {
    let mut ctx = Context::new(rt, &model_bytes(), InitOptions { collect_perf: true })?;
    assert_eq!(ctx.io_count()?, (1, 1));
    let input = ctx.attr(AttrQuery::NativeInput, 0)?;
    let input = input.with_type_and_format(TensorType::Uint8, TensorFormat::Nhwc).unwrap();
    let out = ctx.attr(output, 0)?;
    let in_id = ctx.bind(&input)?;
    let out_id = ctx.bind(&out)?;
    Ok((ctx, in_id, out_id, input, out))
}

fn classify(ctx: &mut Context, in_id: rknn_sys::IoId, out_id: rknn_sys::IoId, input: &rknn_sys::TensorAttr, out: &rknn_sys::TensorAttr, pixels: &[u8]) -> Result<Vec<f32>, Error> {
    write_nhwc_u8(ctx.io_mut(in_id)?, pixels, 28, 28, 1, input.w_stride() as usize)?;
    ctx.run()?;
    let mut logits = Vec::new();
    read_output_nchw(out, 11, ctx.io(out_id)?, &mut logits)?;
    Ok(logits)
}

#[test]
fn golden_vectors_through_strided_input_and_nc1hwc2_output() {
    let fake = Fake::new(json!({}));
    let rt = fake.runtime();
    {
        let (mut ctx, in_id, out_id, input, out) = open(&rt, AttrQuery::NativeOutput).unwrap();
        let v = ctx.sdk_version().unwrap();
        assert_eq!(v.api, "1.6.0 (fake runtime)");
        assert_eq!(input.w_stride(), 32);
        assert_eq!(input.size_with_stride(), 28 * 32);
        assert_eq!(out.format(), TensorFormat::Nc1hwc2);
        assert_eq!(out.dims(), [1, 1, 1, 1, 16]);
        for (i, g) in golden().iter().enumerate() {
            let logits = classify(&mut ctx, in_id, out_id, &input, &out, &g.input).unwrap();
            for (a, b) in logits.iter().zip(&g.logits) {
                assert!((a - b).abs() < 1e-4, "vector {i}: {logits:?} vs {:?}", g.logits);
            }
        }
        assert_eq!(ctx.last_run_npu_us().unwrap(), 321);
        assert!(ctx.last_run_wall().is_some());
    }
    fake.assert_clean();
}

#[test]
fn nhwc_native_output_gives_the_same_logits() {
    let fake = Fake::new(json!({}));
    let rt = fake.runtime();
    {
        let (mut ctx, in_id, out_id, input, out) = open(&rt, AttrQuery::NativeNhwcOutput).unwrap();
        assert_eq!(out.format(), TensorFormat::Nhwc);
        let g = &golden()[3];
        let logits = classify(&mut ctx, in_id, out_id, &input, &out, &g.input).unwrap();
        for (a, b) in logits.iter().zip(&g.logits) {
            assert!((a - b).abs() < 1e-4);
        }
    }
    fake.assert_clean();
}

#[test]
fn ignoring_w_stride_is_caught() {
    let fake = Fake::new(json!({}));
    let rt = fake.runtime();
    let (mut ctx, in_id, _, _, _) = open(&rt, AttrQuery::NativeOutput).unwrap();
    let g = &golden()[0];
    // The classic bug: copy the 28-pixel rows back to back into a 32-pixel-pitch buffer.
    ctx.io_mut(in_id).unwrap()[..784].copy_from_slice(&g.input);
    let err = ctx.run().unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::InputInvalid), "{err}");
    drop(ctx);
    fake.assert_clean();
}

#[test]
fn corrupted_and_foreign_models_are_named_errors() {
    let fake = Fake::new(json!({}));
    let rt = fake.runtime();
    let mut bytes = model_bytes();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let err = Context::new(&rt, &bytes, InitOptions::default()).err().unwrap();
    assert_eq!(err.kind(), Some(ErrorKind::ModelInvalid));
    assert!(err.to_string().contains("rknn_init failed: invalid or corrupt model"), "{err}");
    let err = Context::new(&rt, b"\x08\x01ONNX-not-rknn", InitOptions::default()).err().unwrap();
    assert_eq!(err.kind(), Some(ErrorKind::ModelInvalid));
    assert!(matches!(Context::new(&rt, &[], InitOptions::default()), Err(Error::Usage(_))));
    fake.assert_clean();
}

#[test]
fn every_failing_call_is_a_named_error_and_nothing_leaks() {
    let cases = [
        ("rknn_init", 0, -3, Some(ErrorKind::DeviceUnavailable)),
        ("rknn_query", 0, -1, Some(ErrorKind::Fail)),
        ("rknn_query", 2, -5, Some(ErrorKind::ParamInvalid)),
        ("rknn_create_mem", 0, -1, None),
        ("rknn_create_mem", 1, -1, None),
        ("rknn_set_io_mem", 0, -8, Some(ErrorKind::InputInvalid)),
        ("rknn_set_io_mem", 1, -9, Some(ErrorKind::OutputInvalid)),
        ("rknn_run", 0, -2, Some(ErrorKind::Timeout)),
    ];
    for (call, after, code, kind) in cases {
        let fake = Fake::new(json!({"fail": {"call": call, "code": code, "after": after}}));
        let rt = fake.runtime();
        let result = open(&rt, AttrQuery::NativeOutput).and_then(|(mut ctx, i, o, ia, oa)| classify(&mut ctx, i, o, &ia, &oa, &golden()[0].input));
        let err = result.expect_err(call);
        match kind {
            Some(k) => {
                assert_eq!(err.kind(), Some(k), "{call}: {err}");
                assert!(err.to_string().starts_with(call), "{call}: {err}");
            }
            None => assert!(matches!(err, Error::NoMemory { .. }), "{call}: {err}"),
        }
        fake.assert_clean();
    }
}

#[test]
fn destroy_failures_are_logged_not_fatal() {
    let fake = Fake::new(json!({"fail": {"call": "rknn_destroy_mem", "code": -7}}));
    let rt = fake.runtime();
    let (ctx, ..) = open(&rt, AttrQuery::NativeOutput).unwrap();
    drop(ctx);
    let r = fake.report();
    // The fake refused to free the buffers, so it rightly reports them when the context goes.
    assert_eq!(r["live_contexts"], 0);
    assert_eq!(r["calls"]["rknn_destroy"], 1);
}

/// The fake itself must catch protocol mistakes, or the tests above prove nothing.
#[test]
fn the_fake_detects_protocol_violations() {
    use rknn_sys::ffi;
    let fake = Fake::new(json!({}));
    // SAFETY: the fake's symbols have the API's signatures; the pointers passed are valid.
    unsafe {
        let api = ffi::RknnApi::new(&fake.lib).unwrap();
        let mut model = model_bytes();
        let mut ctx: ffi::rknn_context = 0;
        assert_eq!(api.rknn_init(&mut ctx, model.as_mut_ptr().cast(), model.len() as u32, 0, std::ptr::null_mut()), 0);
        // run before binding any memory
        assert_ne!(api.rknn_run(ctx, std::ptr::null_mut()), 0);
        // query with the wrong struct size
        let mut num = ffi::rknn_input_output_num::default();
        assert_ne!(api.rknn_query(ctx, ffi::RKNN_QUERY_IN_OUT_NUM, (&mut num as *mut ffi::rknn_input_output_num).cast(), 4), 0);
        // memory smaller than size_with_stride
        let mut attr = ffi::rknn_tensor_attr::default();
        let size = std::mem::size_of::<ffi::rknn_tensor_attr>() as u32;
        assert_eq!(api.rknn_query(ctx, ffi::RKNN_QUERY_NATIVE_INPUT_ATTR, (&mut attr as *mut ffi::rknn_tensor_attr).cast(), size), 0);
        attr.type_ = ffi::RKNN_TENSOR_UINT8;
        let small = api.rknn_create_mem(ctx, attr.size);
        assert_ne!(api.rknn_set_io_mem(ctx, small, &mut attr), 0);
        // destroy the context with memory still allocated, then use it
        assert_eq!(api.rknn_destroy(ctx), 0);
        assert_ne!(api.rknn_query(ctx, ffi::RKNN_QUERY_IN_OUT_NUM, (&mut num as *mut ffi::rknn_input_output_num).cast(), 8), 0);
    }
    let v = fake.report()["violations"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect::<Vec<_>>();
    let expect = ["rknn_run before rknn_set_io_mem", "with size 4", "input memory of 784 bytes", "still allocated", "after rknn_destroy"];
    assert_eq!(v.len(), expect.len(), "{v:?}");
    for (got, want) in v.iter().zip(expect) {
        assert!(got.contains(want), "{got:?} should mention {want:?}");
    }
}
