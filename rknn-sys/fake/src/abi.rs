//! The C structs of the RKNN API subset, written out by hand.
//!
//! Deliberately independent of rknn-sys's bindgen output: if the two ever disagree about a
//! layout, the fake-runtime tests see garbage and fail, which is the point of a test double.

use std::ffi::c_char;

#[cfg(target_arch = "arm")]
pub type Context = u32;
#[cfg(not(target_arch = "arm"))]
pub type Context = u64;

pub const MAX_DIMS: usize = 16;
pub const MAX_NAME_LEN: usize = 256;

// Return codes.
pub const SUCC: i32 = 0;
pub const ERR_FAIL: i32 = -1;
pub const ERR_PARAM_INVALID: i32 = -5;
pub const ERR_MODEL_INVALID: i32 = -6;
pub const ERR_CTX_INVALID: i32 = -7;
pub const ERR_INPUT_INVALID: i32 = -8;
pub const ERR_OUTPUT_INVALID: i32 = -9;

pub const FLAG_COLLECT_PERF: u32 = 0x8;

// Query commands.
pub const QUERY_IN_OUT_NUM: u32 = 0;
pub const QUERY_INPUT_ATTR: u32 = 1;
pub const QUERY_OUTPUT_ATTR: u32 = 2;
pub const QUERY_PERF_RUN: u32 = 4;
pub const QUERY_SDK_VERSION: u32 = 5;
pub const QUERY_NATIVE_INPUT_ATTR: u32 = 8;
pub const QUERY_NATIVE_OUTPUT_ATTR: u32 = 9;
pub const QUERY_NATIVE_NHWC_INPUT_ATTR: u32 = 10;
pub const QUERY_NATIVE_NHWC_OUTPUT_ATTR: u32 = 11;

// Tensor types, formats, quantisation.
pub const TYPE_INT8: u32 = 2;
pub const TYPE_UINT8: u32 = 3;
pub const FMT_NCHW: u32 = 0;
pub const FMT_NHWC: u32 = 1;
pub const FMT_NC1HWC2: u32 = 2;
pub const QNT_AFFINE: u32 = 2;

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct InputOutputNum {
    pub n_input: u32,
    pub n_output: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct TensorAttr {
    pub index: u32,
    pub n_dims: u32,
    pub dims: [u32; MAX_DIMS],
    pub name: [c_char; MAX_NAME_LEN],
    pub n_elems: u32,
    pub size: u32,
    pub fmt: u32,
    pub type_: u32,
    pub qnt_type: u32,
    pub fl: i8,
    pub zp: i32,
    pub scale: f32,
    pub w_stride: u32,
    pub size_with_stride: u32,
    pub pass_through: u8,
    pub h_stride: u32,
}

impl TensorAttr {
    pub fn zeroed() -> Self {
        Self {
            index: 0,
            n_dims: 0,
            dims: [0; MAX_DIMS],
            name: [0; MAX_NAME_LEN],
            n_elems: 0,
            size: 0,
            fmt: 0,
            type_: 0,
            qnt_type: 0,
            fl: 0,
            zp: 0,
            scale: 0.0,
            w_stride: 0,
            size_with_stride: 0,
            pass_through: 0,
            h_stride: 0,
        }
    }

    pub fn set_name(&mut self, name: &str) {
        for (d, &b) in self.name.iter_mut().zip(name.as_bytes().iter().take(MAX_NAME_LEN - 1)) {
            *d = b as c_char;
        }
    }

    pub fn name(&self) -> String {
        let bytes: Vec<u8> = self.name.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    pub fn dims(&self) -> &[u32] {
        &self.dims[..(self.n_dims as usize).min(MAX_DIMS)]
    }
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct PerfRun {
    pub run_duration: i64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SdkVersion {
    pub api_version: [c_char; 256],
    pub drv_version: [c_char; 256],
}

#[repr(C)]
pub struct TensorMem {
    pub virt_addr: *mut std::ffi::c_void,
    pub phys_addr: u64,
    pub fd: i32,
    pub offset: i32,
    pub size: u32,
    pub flags: u32,
    pub priv_data: *mut std::ffi::c_void,
}
