//! One loaded model on the NPU: `rknn_init` … `rknn_destroy`, with zero-copy tensor memory.

use std::ffi::c_void;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use crate::attr::{AttrQuery, TensorAttr};
use crate::error::Error;
use crate::ffi;
use crate::runtime::Runtime;

/// Options for [`Context::new`].
#[derive(Debug, Clone, Copy, Default)]
pub struct InitOptions {
    /// Ask the runtime to time each run (`RKNN_FLAG_COLLECT_PERF_MASK`); read with
    /// [`Context::last_run_npu_us`].
    pub collect_perf: bool,
}

/// Runtime and driver versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkVersion {
    pub api: String,
    pub driver: String,
}

/// Handle of a tensor buffer bound with [`Context::bind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoId(usize);

/// A buffer from `rknn_create_mem`, bound to one input or output.
struct BoundMem {
    mem: NonNull<ffi::rknn_tensor_mem>,
    /// Bytes the caller may touch: the attribute's `size_with_stride`.
    len: usize,
}

/// A model loaded on the NPU. Dropping it frees the tensor memory (newest first), then the
/// context, which is the order the runtime requires.
pub struct Context {
    runtime: Runtime,
    handle: ffi::rknn_context,
    bound: Vec<BoundMem>,
    collect_perf: bool,
    last_run: Option<Duration>,
    /// The model bytes passed to rknn_init. The runtime copies them unless asked for zero-copy,
    /// but keeping them for the context's life costs one model's size and removes the question.
    _model: Vec<u8>,
}

// SAFETY: the runtime's context and buffers are not tied to the creating thread; every method
// that touches them takes `&mut self` or only reads, so moving the owner between threads is
// sound. `Context` stays `!Sync`.
unsafe impl Send for Context {}

fn c_chars_to_string(chars: &[core::ffi::c_char]) -> String {
    let bytes: Vec<u8> = chars.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Context {
    /// Loads `model` (the bytes of a `.rknn` file) with `rknn_init`.
    pub fn new(runtime: &Runtime, model: &[u8], options: InitOptions) -> Result<Self, Error> {
        let size = u32::try_from(model.len()).map_err(|_| Error::Usage(format!("model of {} bytes is too large", model.len())))?;
        if size == 0 {
            return Err(Error::Usage("the model is empty".into()));
        }
        // rknn_init takes a non-const pointer; give it a private copy, kept as long as the
        // context, so the caller's bytes cannot be written through it.
        let mut copy = model.to_vec();
        let flags = if options.collect_perf { ffi::RKNN_FLAG_COLLECT_PERF_MASK as u32 } else { 0 };
        let mut handle: ffi::rknn_context = 0;
        // SAFETY: `handle` is a valid out-pointer; `copy` is a live buffer of `size` bytes that
        // outlives the context (moved into it below); a null extend pointer is allowed by the API.
        let code = unsafe {
            runtime.api.rknn_init(&mut handle, copy.as_mut_ptr().cast::<c_void>(), size, flags, std::ptr::null_mut())
        };
        Error::check("rknn_init", code)?;
        Ok(Self { runtime: runtime.clone(), handle, bound: Vec::new(), collect_perf: options.collect_perf, last_run: None, _model: copy })
    }

    /// The runtime this context was created with.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// `rknn_query` into a `T` that the runtime fills in for `cmd`.
    fn query<T>(&self, call: &'static str, cmd: ffi::rknn_query_cmd, value: &mut T) -> Result<(), Error> {
        let size = std::mem::size_of::<T>() as u32;
        // SAFETY: `value` is a valid, exclusively borrowed `T` of `size` bytes, and `T` is the
        // struct the API defines for `cmd` (each caller below pairs them as the header does).
        let code = unsafe { self.runtime.api.rknn_query(self.handle, cmd, (value as *mut T).cast::<c_void>(), size) };
        Error::check(call, code)
    }

    /// Number of model inputs and outputs.
    pub fn io_count(&self) -> Result<(u32, u32), Error> {
        let mut num = ffi::rknn_input_output_num::default();
        self.query("rknn_query(IN_OUT_NUM)", ffi::RKNN_QUERY_IN_OUT_NUM, &mut num)?;
        Ok((num.n_input, num.n_output))
    }

    /// Runtime and driver versions.
    pub fn sdk_version(&self) -> Result<SdkVersion, Error> {
        let mut v = ffi::rknn_sdk_version::default();
        self.query("rknn_query(SDK_VERSION)", ffi::RKNN_QUERY_SDK_VERSION, &mut v)?;
        Ok(SdkVersion { api: c_chars_to_string(&v.api_version), driver: c_chars_to_string(&v.drv_version) })
    }

    /// Attributes of input or output `index`.
    pub fn attr(&self, which: AttrQuery, index: u32) -> Result<TensorAttr, Error> {
        let mut raw = TensorAttr::blank(index);
        self.query("rknn_query(tensor attributes)", which.command(), &mut raw)?;
        let attr = TensorAttr::from_raw(raw);
        if attr.index() != index || attr.dims().len() != raw.n_dims as usize {
            return Err(Error::Inconsistent(format!("asked for tensor {index}, got {attr:?}")));
        }
        Ok(attr)
    }

    /// Allocates a buffer of `attr.size_with_stride()` bytes and binds it to the tensor `attr`
    /// describes (`rknn_create_mem` + `rknn_set_io_mem`). For inputs, `attr` says what the caller
    /// will write (see [`TensorAttr::with_type_and_format`]).
    pub fn bind(&mut self, attr: &TensorAttr) -> Result<IoId, Error> {
        let size = attr.size_with_stride().max(attr.size());
        if size == 0 {
            return Err(Error::Inconsistent(format!("tensor has no size: {attr:?}")));
        }
        // SAFETY: plain call on our live context; a null return is handled below.
        let mem = unsafe { self.runtime.api.rknn_create_mem(self.handle, size) };
        let mem = NonNull::new(mem).ok_or(Error::NoMemory { size })?;
        // Record it at once so Drop frees it even if the checks or set_io_mem below fail.
        self.bound.push(BoundMem { mem, len: 0 });
        let id = self.bound.len() - 1;
        // SAFETY: `mem` is non-null and was just returned by rknn_create_mem for this context;
        // the runtime owns the struct until rknn_destroy_mem, which only Drop calls.
        let (virt, mem_size) = unsafe { (mem.as_ref().virt_addr, mem.as_ref().size) };
        if virt.is_null() || mem_size < size {
            return Err(Error::Inconsistent(format!(
                "rknn_create_mem({size}) returned {} bytes at {virt:?}",
                mem_size
            )));
        }
        let mut raw = attr.raw;
        // SAFETY: `mem` is live and bound to this context; `raw` is a valid attribute struct that
        // outlives the call (the runtime copies what it needs).
        let code = unsafe { self.runtime.api.rknn_set_io_mem(self.handle, mem.as_ptr(), &mut raw) };
        Error::check("rknn_set_io_mem", code)?;
        self.bound[id].len = size as usize;
        Ok(IoId(id))
    }

    fn bound_slice(&self, id: IoId) -> Result<(*mut u8, usize), Error> {
        let b = self.bound.get(id.0).filter(|b| b.len > 0).ok_or_else(|| Error::Usage(format!("{id:?} is not bound")))?;
        // SAFETY: the struct is live until Drop; reading its pointer field is sound.
        let virt = unsafe { b.mem.as_ref().virt_addr };
        Ok((virt.cast::<u8>(), b.len))
    }

    /// The bytes of a bound tensor (for outputs, valid after [`Self::run`]).
    pub fn io(&self, id: IoId) -> Result<&[u8], Error> {
        let (ptr, len) = self.bound_slice(id)?;
        // SAFETY: `ptr` is the runtime's mapping of at least `len` bytes (checked in `bind`),
        // alive until Drop; the shared borrow of `self` excludes writers and `rknn_run`.
        Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
    }

    /// The bytes of a bound tensor, writable (inputs, before [`Self::run`]).
    pub fn io_mut(&mut self, id: IoId) -> Result<&mut [u8], Error> {
        let (ptr, len) = self.bound_slice(id)?;
        // SAFETY: as in `io`; the exclusive borrow of `self` makes this the only reference.
        Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
    }

    /// Runs the model once on the bound buffers.
    pub fn run(&mut self) -> Result<(), Error> {
        let start = Instant::now();
        // SAFETY: our live context; a null extend pointer is allowed. The buffers bound to it
        // are not borrowed while `self` is exclusively borrowed here.
        let code = unsafe { self.runtime.api.rknn_run(self.handle, std::ptr::null_mut()) };
        self.last_run = Some(start.elapsed());
        Error::check("rknn_run", code)
    }

    /// Wall-clock time of the last [`Self::run`] call.
    pub fn last_run_wall(&self) -> Option<Duration> {
        self.last_run
    }

    /// NPU time of the last run as the runtime measured it (needs `collect_perf`).
    pub fn last_run_npu_us(&self) -> Result<i64, Error> {
        if !self.collect_perf {
            return Err(Error::Usage("per-run NPU timing needs InitOptions::collect_perf".into()));
        }
        let mut perf = ffi::rknn_perf_run::default();
        self.query("rknn_query(PERF_RUN)", ffi::RKNN_QUERY_PERF_RUN, &mut perf)?;
        Ok(perf.run_duration)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        while let Some(b) = self.bound.pop() {
            // SAFETY: `b.mem` came from rknn_create_mem on this still-live context and is freed
            // exactly once, here, before the context itself.
            let code = unsafe { self.runtime.api.rknn_destroy_mem(self.handle, b.mem.as_ptr()) };
            if code != 0 {
                log::warn!("rknn_destroy_mem failed with RKNN code {code}");
            }
        }
        // SAFETY: the handle came from a successful rknn_init and is destroyed exactly once.
        let code = unsafe { self.runtime.api.rknn_destroy(self.handle) };
        if code != 0 {
            log::warn!("rknn_destroy failed with RKNN code {code}");
        }
    }
}
