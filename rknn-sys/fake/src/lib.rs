//! A test double of `librknnmrt.so` for host tests.
//!
//! It exports the same C functions as the RV1106 runtime for the subset digitd uses, checks
//! that they are called in a valid order with valid sizes, can be told to fail any call, and
//! answers `rknn_run` from golden vectors (the rknn-toolkit2 simulator's int8 outputs), written
//! in the native NC1HWC2 layout with junk in the padding channels, behind an input whose rows are
//! padded to `w_stride`. A caller that ignores strides or layouts therefore gets wrong answers.
//!
//! Protocol violations are recorded (see [`rknn_fake_report`]) and also make the call fail.
//! Every dlopen of a different file path is a separate instance with its own state, so tests
//! copy the library to a temporary folder to isolate themselves.

#![allow(clippy::missing_safety_doc)]

mod abi;
mod script;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::path::Path;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use abi::*;
use script::{GoldenTable, Script};

/// Junk written into NC1HWC2 padding channels and never a plausible logit.
const PADDING_JUNK: i8 = 0x7f;

struct ContextState {
    model: usize,
    perf: bool,
    runs: u32,
    input_mem: Option<usize>,
    output_mem: Option<usize>,
    output_format: u32,
}

struct MemRecord {
    ctx: Context,
    mem: Box<TensorMem>,
    _buf: Box<[u8]>,
}

// SAFETY: the raw pointers in `TensorMem` point into `_buf`, owned by the same record; the
// record only moves between threads inside the `STATE` mutex.
unsafe impl Send for MemRecord {}

#[derive(Default)]
struct State {
    loaded: bool,
    script: Option<(Script, Vec<GoldenTable>)>,
    next_ctx: Context,
    contexts: HashMap<Context, ContextState>,
    destroyed: HashSet<Context>,
    mems: HashMap<usize, MemRecord>,
    freed_mems: HashSet<usize>,
    calls: BTreeMap<String, u32>,
    violations: Vec<String>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut guard = STATE.lock().unwrap_or_else(|p| p.into_inner());
    let state = guard.get_or_insert_with(State::default);
    if !state.loaded {
        state.loaded = true;
        if let Some(path) = std::env::var_os("FAKE_RKNN_SCRIPT") {
            match script::load(Path::new(&path)) {
                Ok(s) => state.script = Some(s),
                Err(e) => state.violations.push(format!("FAKE_RKNN_SCRIPT: {e}")),
            }
        }
    }
    let r = f(state);
    state.write_report();
    r
}

impl State {
    /// Counts the call and says whether the script makes it fail now.
    fn injected_failure(&mut self, call: &str) -> Option<i32> {
        let n = self.calls.entry(call.to_string()).or_insert(0);
        *n += 1;
        let (script, _) = self.script.as_ref()?;
        let fail = script.fail.as_ref()?;
        (fail.call == call && *n > fail.after).then_some(fail.code)
    }

    fn violation(&mut self, what: String) -> i32 {
        eprintln!("fake librknnmrt: protocol violation: {what}");
        self.violations.push(what);
        ERR_FAIL
    }

    /// The live context `ctx`, or a recorded violation.
    fn context(&mut self, call: &str, ctx: Context) -> Result<&mut ContextState, i32> {
        if self.contexts.contains_key(&ctx) {
            return Ok(self.contexts.get_mut(&ctx).expect("checked"));
        }
        let what = if self.destroyed.contains(&ctx) {
            format!("{call} on context {ctx} after rknn_destroy")
        } else {
            format!("{call} on context {ctx}, which rknn_init never returned")
        };
        self.violation(what);
        Err(ERR_CTX_INVALID)
    }

    fn spec(&self, model: usize) -> &script::ModelSpec {
        &self.script.as_ref().expect("a context implies a script").0.models[model]
    }

    fn report_json(&self) -> String {
        let live_mems: Vec<String> = self.mems.values().map(|m| format!("{} bytes on context {}", m.mem.size, m.ctx)).collect();
        serde_json::json!({
            "violations": self.violations,
            "live_contexts": self.contexts.len(),
            "live_mems": live_mems,
            "calls": self.calls,
        })
        .to_string()
    }

    fn write_report(&self) {
        if let Some((script, _)) = &self.script {
            if let Some(path) = &script.report {
                let _ = std::fs::write(path, self.report_json());
            }
        }
    }
}

fn native_input_attr(spec: &script::ModelSpec) -> TensorAttr {
    let [n, h, w, c] = spec.input.dims;
    let mut a = TensorAttr::zeroed();
    a.n_dims = 4;
    a.dims[..4].copy_from_slice(&spec.input.dims);
    a.set_name(&spec.input.name);
    a.n_elems = n * h * w * c;
    a.size = a.n_elems;
    a.fmt = FMT_NHWC;
    // The NPU works in int8 internally: 0..255 pixels with mean 0 / std 255 become
    // zero point -128, scale 1/255, as the real runtime reports.
    a.type_ = TYPE_INT8;
    a.qnt_type = QNT_AFFINE;
    a.zp = -128;
    a.scale = 1.0 / 255.0;
    a.w_stride = spec.input.w_stride;
    a.size_with_stride = n * h * spec.input.w_stride.max(w) * c;
    a.h_stride = h;
    a
}

fn output_attr(spec: &script::ModelSpec, native_format: Option<u32>) -> TensorAttr {
    let [n, c, h, w] = spec.output.dims;
    let mut a = TensorAttr::zeroed();
    a.set_name(&spec.output.name);
    a.type_ = TYPE_INT8;
    a.qnt_type = QNT_AFFINE;
    a.zp = spec.output.zero_point;
    a.scale = spec.output.scale;
    a.n_elems = n * c * h * w;
    match native_format {
        None => {
            a.fmt = FMT_NCHW;
            a.n_dims = 4;
            a.dims[..4].copy_from_slice(&spec.output.dims);
            a.size = a.n_elems;
        }
        Some(FMT_NHWC) => {
            a.fmt = FMT_NHWC;
            a.n_dims = 4;
            a.dims[..4].copy_from_slice(&[n, h, w, c]);
            a.size = a.n_elems;
        }
        Some(_) => {
            let c2 = spec.output.c2;
            let c1 = c.div_ceil(c2);
            a.fmt = FMT_NC1HWC2;
            a.n_dims = 5;
            a.dims[..5].copy_from_slice(&[n, c1, h, w, c2]);
            a.size = n * c1 * h * w * c2;
        }
    }
    a.size_with_stride = a.size;
    a.w_stride = a.dims[a.n_dims as usize - 2];
    a
}

#[no_mangle]
pub unsafe extern "C" fn rknn_init(context: *mut Context, model: *mut c_void, size: u32, flag: u32, _extend: *mut c_void) -> c_int {
    with_state(|st| {
        if let Some(code) = st.injected_failure("rknn_init") {
            return code;
        }
        if context.is_null() || model.is_null() {
            return st.violation("rknn_init with a null context or model pointer".into());
        }
        if size == 0 {
            return ERR_PARAM_INVALID;
        }
        // SAFETY: the caller promises `model` points at `size` readable bytes (API contract).
        let bytes = std::slice::from_raw_parts(model as *const u8, size as usize);
        if !bytes.starts_with(b"RKNN") {
            eprintln!("fake librknnmrt: model has no RKNN header");
            return ERR_MODEL_INVALID;
        }
        let digest: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        let Some((script, _)) = &st.script else {
            return st.violation("rknn_init before the fake was configured (FAKE_RKNN_SCRIPT)".into());
        };
        let Some(model) = script.models.iter().position(|m| m.sha256 == digest) else {
            eprintln!("fake librknnmrt: unknown or corrupt model (sha256 {digest})");
            return ERR_MODEL_INVALID;
        };
        st.next_ctx += 1;
        let ctx = st.next_ctx;
        st.contexts.insert(
            ctx,
            ContextState { model, perf: flag & FLAG_COLLECT_PERF != 0, runs: 0, input_mem: None, output_mem: None, output_format: FMT_NC1HWC2 },
        );
        // SAFETY: checked non-null; the caller passes a writable rknn_context.
        *context = ctx;
        SUCC
    })
}

#[no_mangle]
pub unsafe extern "C" fn rknn_query(ctx: Context, cmd: u32, info: *mut c_void, size: u32) -> c_int {
    with_state(|st| {
        if let Some(code) = st.injected_failure("rknn_query") {
            return code;
        }
        let (model, perf, runs) = match st.context("rknn_query", ctx) {
            Ok(c) => (c.model, c.perf, c.runs),
            Err(code) => return code,
        };
        if info.is_null() {
            return st.violation(format!("rknn_query({cmd}) with a null info pointer"));
        }
        let expect = |st: &mut State, want: usize| -> Result<(), i32> {
            if size as usize != want {
                return Err(st.violation(format!("rknn_query({cmd}) with size {size}, the struct has {want} bytes")));
            }
            Ok(())
        };
        let spec = st.spec(model).clone();
        match cmd {
            QUERY_IN_OUT_NUM => {
                if let Err(c) = expect(st, std::mem::size_of::<InputOutputNum>()) {
                    return c;
                }
                // SAFETY: size checked to match the struct; the caller owns the memory.
                *(info as *mut InputOutputNum) = InputOutputNum { n_input: 1, n_output: 1 };
            }
            QUERY_SDK_VERSION => {
                if let Err(c) = expect(st, std::mem::size_of::<SdkVersion>()) {
                    return c;
                }
                let (script, _) = st.script.as_ref().expect("context implies script");
                let mut v = SdkVersion { api_version: [0; 256], drv_version: [0; 256] };
                for (d, &b) in v.api_version.iter_mut().zip(script.api_version.as_bytes().iter().take(255)) {
                    *d = b as c_char;
                }
                for (d, &b) in v.drv_version.iter_mut().zip(script.driver_version.as_bytes().iter().take(255)) {
                    *d = b as c_char;
                }
                // SAFETY: size checked.
                *(info as *mut SdkVersion) = v;
            }
            QUERY_PERF_RUN => {
                if let Err(c) = expect(st, std::mem::size_of::<PerfRun>()) {
                    return c;
                }
                if !perf || runs == 0 {
                    return ERR_PARAM_INVALID;
                }
                let us = st.script.as_ref().expect("script").0.perf_run_us;
                // SAFETY: size checked.
                *(info as *mut PerfRun) = PerfRun { run_duration: us };
            }
            QUERY_INPUT_ATTR | QUERY_OUTPUT_ATTR | QUERY_NATIVE_INPUT_ATTR | QUERY_NATIVE_OUTPUT_ATTR
            | QUERY_NATIVE_NHWC_INPUT_ATTR | QUERY_NATIVE_NHWC_OUTPUT_ATTR => {
                if let Err(c) = expect(st, std::mem::size_of::<TensorAttr>()) {
                    return c;
                }
                // SAFETY: size checked; the caller set `index` before the call.
                let index = (*(info as *const TensorAttr)).index;
                if index != 0 {
                    return st.violation(format!("rknn_query({cmd}) for tensor {index}; the model has 1"));
                }
                let attr = match cmd {
                    QUERY_INPUT_ATTR => {
                        let mut a = native_input_attr(&spec);
                        a.w_stride = 0;
                        a.size_with_stride = a.size;
                        a
                    }
                    QUERY_NATIVE_INPUT_ATTR | QUERY_NATIVE_NHWC_INPUT_ATTR => native_input_attr(&spec),
                    QUERY_OUTPUT_ATTR => output_attr(&spec, None),
                    QUERY_NATIVE_NHWC_OUTPUT_ATTR => output_attr(&spec, Some(FMT_NHWC)),
                    _ => output_attr(&spec, Some(FMT_NC1HWC2)),
                };
                // SAFETY: size checked.
                *(info as *mut TensorAttr) = attr;
            }
            other => return st.violation(format!("rknn_query with command {other}, which digitd does not use")),
        }
        SUCC
    })
}

#[no_mangle]
pub unsafe extern "C" fn rknn_create_mem(ctx: Context, size: u32) -> *mut TensorMem {
    with_state(|st| {
        if st.injected_failure("rknn_create_mem").is_some() {
            return std::ptr::null_mut();
        }
        if st.context("rknn_create_mem", ctx).is_err() {
            return std::ptr::null_mut();
        }
        if size == 0 {
            st.violation("rknn_create_mem of 0 bytes".into());
            return std::ptr::null_mut();
        }
        let mut buf = vec![0xA5u8; size as usize].into_boxed_slice();
        let mut mem = Box::new(TensorMem {
            virt_addr: buf.as_mut_ptr().cast(),
            phys_addr: 0x1000_0000,
            fd: -1,
            offset: 0,
            size,
            flags: 0,
            priv_data: std::ptr::null_mut(),
        });
        let ptr: *mut TensorMem = &mut *mem;
        st.mems.insert(ptr as usize, MemRecord { ctx, mem, _buf: buf });
        st.freed_mems.remove(&(ptr as usize));
        ptr
    })
}

#[no_mangle]
pub unsafe extern "C" fn rknn_set_io_mem(ctx: Context, mem: *mut TensorMem, attr: *mut TensorAttr) -> c_int {
    with_state(|st| {
        if let Some(code) = st.injected_failure("rknn_set_io_mem") {
            return code;
        }
        let model = match st.context("rknn_set_io_mem", ctx) {
            Ok(c) => c.model,
            Err(code) => return code,
        };
        let key = mem as usize;
        let Some(rec) = st.mems.get(&key) else {
            return st.violation("rknn_set_io_mem with memory rknn_create_mem did not return (or already freed)".into());
        };
        if rec.ctx != ctx {
            return st.violation(format!("rknn_set_io_mem with memory of context {} on context {ctx}", rec.ctx));
        }
        let mem_size = rec.mem.size;
        if attr.is_null() {
            return st.violation("rknn_set_io_mem with a null attribute".into());
        }
        // SAFETY: non-null; the caller passes a valid rknn_tensor_attr.
        let attr = *attr;
        let spec = st.spec(model).clone();
        let name = attr.name();
        if name == spec.input.name {
            let native = native_input_attr(&spec);
            if attr.type_ != TYPE_UINT8 || attr.fmt != FMT_NHWC {
                eprintln!("fake librknnmrt: input must be set as UINT8 NHWC for raw pixels");
                return ERR_INPUT_INVALID;
            }
            if attr.dims() != native.dims() || attr.w_stride != native.w_stride || attr.size_with_stride != native.size_with_stride {
                return st.violation(format!(
                    "input attribute changed by the caller: dims {:?} w_stride {} size_with_stride {}",
                    attr.dims(),
                    attr.w_stride,
                    attr.size_with_stride
                ));
            }
            if mem_size != native.size_with_stride {
                return st.violation(format!("input memory of {mem_size} bytes; size_with_stride is {}", native.size_with_stride));
            }
            st.contexts.get_mut(&ctx).expect("live").input_mem = Some(key);
        } else if name == spec.output.name {
            let native = output_attr(&spec, Some(attr.fmt));
            if attr.fmt != FMT_NC1HWC2 && attr.fmt != FMT_NHWC {
                eprintln!("fake librknnmrt: zero-copy outputs must use a native layout");
                return ERR_OUTPUT_INVALID;
            }
            if attr.dims() != native.dims() || attr.type_ != TYPE_INT8 {
                return st.violation(format!("output attribute changed by the caller: dims {:?} type {}", attr.dims(), attr.type_));
            }
            if mem_size != native.size_with_stride {
                return st.violation(format!("output memory of {mem_size} bytes; size_with_stride is {}", native.size_with_stride));
            }
            let c = st.contexts.get_mut(&ctx).expect("live");
            c.output_mem = Some(key);
            c.output_format = attr.fmt;
        } else {
            return st.violation(format!("rknn_set_io_mem for tensor {name:?}, which the model does not have"));
        }
        SUCC
    })
}

#[no_mangle]
pub unsafe extern "C" fn rknn_run(ctx: Context, _extend: *mut c_void) -> c_int {
    with_state(|st| {
        if let Some(code) = st.injected_failure("rknn_run") {
            return code;
        }
        let (model, input, output, fmt) = match st.context("rknn_run", ctx) {
            Ok(c) => (c.model, c.input_mem, c.output_mem, c.output_format),
            Err(code) => return code,
        };
        let (Some(input), Some(output)) = (input, output) else {
            return st.violation("rknn_run before rknn_set_io_mem bound every input and output".into());
        };
        let spec = st.spec(model).clone();
        let native_in = native_input_attr(&spec);
        let [_, h, w, c] = spec.input.dims;
        let pitch = (native_in.w_stride.max(w) * c) as usize;
        let row = (w * c) as usize;
        let pixels: Vec<u8> = {
            let buf = &st.mems[&input].mem;
            // SAFETY: the buffer is ours, `size` bytes, alive while its record is in the map.
            let bytes = std::slice::from_raw_parts(buf.virt_addr as *const u8, buf.size as usize);
            (0..h as usize).flat_map(|y| bytes[y * pitch..y * pitch + row].iter().copied()).collect()
        };
        let table = &st.script.as_ref().expect("script").1[model];
        let Some(q) = table.get(&pixels).cloned() else {
            eprintln!("fake librknnmrt: input is not one of the golden vectors; the fake can only answer those");
            return ERR_INPUT_INVALID;
        };
        let native_out = output_attr(&spec, Some(fmt));
        let out = &st.mems[&output].mem;
        // SAFETY: as above, for the output buffer (size checked in rknn_set_io_mem).
        let dst = std::slice::from_raw_parts_mut(out.virt_addr as *mut i8, out.size as usize);
        dst.fill(PADDING_JUNK);
        let [_, channels, oh, ow] = spec.output.dims;
        for ch in 0..channels as usize {
            for y in 0..oh as usize {
                for x in 0..ow as usize {
                    let logical = (ch * oh as usize + y) * ow as usize + x;
                    let i = if fmt == FMT_NHWC {
                        (y * ow as usize + x) * channels as usize + ch
                    } else {
                        let c2 = native_out.dims[4] as usize;
                        (((ch / c2) * oh as usize + y) * ow as usize + x) * c2 + ch % c2
                    };
                    dst[i] = q.get(logical).copied().unwrap_or(PADDING_JUNK);
                }
            }
        }
        st.contexts.get_mut(&ctx).expect("live").runs += 1;
        SUCC
    })
}

#[no_mangle]
pub unsafe extern "C" fn rknn_destroy_mem(ctx: Context, mem: *mut TensorMem) -> c_int {
    with_state(|st| {
        if let Some(code) = st.injected_failure("rknn_destroy_mem") {
            return code;
        }
        if let Err(code) = st.context("rknn_destroy_mem", ctx) {
            return code;
        }
        let key = mem as usize;
        match st.mems.get(&key) {
            None if st.freed_mems.contains(&key) => st.violation("rknn_destroy_mem twice on the same memory".into()),
            None => st.violation("rknn_destroy_mem on memory rknn_create_mem did not return".into()),
            Some(rec) if rec.ctx != ctx => st.violation(format!("rknn_destroy_mem of context {}'s memory on context {ctx}", rec.ctx)),
            Some(_) => {
                st.mems.remove(&key);
                st.freed_mems.insert(key);
                if let Some(c) = st.contexts.get_mut(&ctx) {
                    if c.input_mem == Some(key) {
                        c.input_mem = None;
                    }
                    if c.output_mem == Some(key) {
                        c.output_mem = None;
                    }
                }
                SUCC
            }
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn rknn_destroy(ctx: Context) -> c_int {
    with_state(|st| {
        if let Some(code) = st.injected_failure("rknn_destroy") {
            return code;
        }
        if let Err(code) = st.context("rknn_destroy", ctx) {
            return code;
        }
        let live = st.mems.values().filter(|m| m.ctx == ctx).count();
        if live > 0 {
            st.violation(format!("rknn_destroy with {live} tensor memories still allocated (free them first)"));
            st.mems.retain(|_, m| m.ctx != ctx);
        }
        st.contexts.remove(&ctx);
        st.destroyed.insert(ctx);
        SUCC
    })
}

/// Loads the script at `path` (a C string) and resets all state. Returns 0, or -1 with the
/// reason on stderr.
#[no_mangle]
pub unsafe extern "C" fn rknn_fake_configure(path: *const c_char) -> c_int {
    if path.is_null() {
        return ERR_PARAM_INVALID;
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let path = CStr::from_ptr(path).to_string_lossy().into_owned();
    let loaded = script::load(Path::new(&path));
    let mut guard = STATE.lock().unwrap_or_else(|p| p.into_inner());
    let mut st = State { loaded: true, ..State::default() };
    let code = match loaded {
        Ok(s) => {
            st.script = Some(s);
            SUCC
        }
        Err(e) => {
            eprintln!("fake librknnmrt: {e}");
            ERR_FAIL
        }
    };
    *guard = Some(st);
    code
}

/// Writes the protocol report (JSON: violations, live contexts and memories, call counts) into
/// `buf` of `len` bytes, NUL-terminated. Returns the report's length without the NUL.
#[no_mangle]
pub unsafe extern "C" fn rknn_fake_report(buf: *mut c_char, len: u32) -> c_int {
    let report = with_state(|st| st.report_json());
    if !buf.is_null() && len > 0 {
        let n = report.len().min(len as usize - 1);
        // SAFETY: the caller passes `len` writable bytes.
        std::ptr::copy_nonoverlapping(report.as_ptr(), buf as *mut u8, n);
        *buf.add(n) = 0;
    }
    report.len() as c_int
}
