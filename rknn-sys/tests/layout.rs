//! The generated structs must have the vendor header's layout on the target they were built for.
//!
//! bindgen's own layout assertions (compiled into the bindings) prove that Rust agrees with clang
//! about the header that was parsed. This test adds an independent check that the header parsed
//! (our declaration, or the SDK's) agrees with the vendor ABI: sizes and offsets below were worked
//! out by hand from the vendor header's field list under the 32-bit ARM EABI rules (4-byte
//! pointers, 8-byte aligned 64-bit integers, 4-byte enums) and the x86-64/AArch64 LP64 rules. Run it
//! natively and under `qemu-arm` (`.ci/run` does both).

use std::mem::{offset_of, size_of};

use rknn_sys::ffi::*;

const ARM32: bool = cfg!(target_pointer_width = "32");

/// Pick the 32-bit or 64-bit expectation.
fn p(arm32: usize, lp64: usize) -> usize {
    if ARM32 {
        arm32
    } else {
        lp64
    }
}

#[test]
fn context_handle_is_pointer_sized_on_the_vendor_runtimes() {
    assert_eq!(size_of::<rknn_context>(), p(4, 8));
}

#[test]
fn tensor_attr() {
    type T = rknn_tensor_attr;
    assert_eq!(size_of::<T>(), 376);
    let expected = [
        (offset_of!(T, index), 0),
        (offset_of!(T, n_dims), 4),
        (offset_of!(T, dims), 8),
        (offset_of!(T, name), 72),
        (offset_of!(T, n_elems), 328),
        (offset_of!(T, size), 332),
        (offset_of!(T, fmt), 336),
        (offset_of!(T, type_), 340),
        (offset_of!(T, qnt_type), 344),
        (offset_of!(T, fl), 348),
        (offset_of!(T, zp), 352), // three padding bytes after the int8 `fl`
        (offset_of!(T, scale), 356),
        (offset_of!(T, w_stride), 360),
        (offset_of!(T, size_with_stride), 364),
        (offset_of!(T, pass_through), 368),
        (offset_of!(T, h_stride), 372),
    ];
    for (i, (got, want)) in expected.iter().enumerate() {
        assert_eq!(got, want, "field {i} of rknn_tensor_attr");
    }
    assert_eq!(size_of::<rknn_tensor_format>(), 4);
    assert_eq!(size_of::<rknn_tensor_type>(), 4);
}

#[test]
fn tensor_mem() {
    type T = rknn_tensor_mem;
    // The 64-bit phys_addr is 8-byte aligned on ARM EABI too: 4 bytes of padding after the
    // 32-bit virt_addr, and the struct is rounded up to 40.
    assert_eq!(offset_of!(T, virt_addr), 0);
    assert_eq!(offset_of!(T, phys_addr), 8);
    assert_eq!(offset_of!(T, fd), 16);
    assert_eq!(offset_of!(T, offset), 20);
    assert_eq!(offset_of!(T, size), 24);
    assert_eq!(offset_of!(T, flags), 28);
    assert_eq!(offset_of!(T, priv_data), 32);
    assert_eq!(size_of::<T>(), 40);
}

#[test]
fn small_query_structs() {
    assert_eq!(size_of::<rknn_input_output_num>(), 8);
    assert_eq!(offset_of!(rknn_input_output_num, n_output), 4);
    assert_eq!(size_of::<rknn_perf_run>(), 8);
    assert_eq!(size_of::<rknn_sdk_version>(), 512);
    assert_eq!(offset_of!(rknn_sdk_version, drv_version), 256);
    type M = rknn_mem_size;
    assert_eq!(offset_of!(M, total_dma_allocated_size), 8);
    assert_eq!(offset_of!(M, total_sram_size), 16);
    assert_eq!(offset_of!(M, free_sram_size), 20);
    assert_eq!(offset_of!(M, reserved), 24);
    assert_eq!(size_of::<M>(), 64);
}

#[test]
fn extend_structs() {
    type I = rknn_init_extend;
    assert_eq!(offset_of!(I, real_model_offset), p(4, 8));
    assert_eq!(offset_of!(I, real_model_size), p(8, 12));
    assert_eq!(offset_of!(I, model_buffer_fd), p(12, 16));
    assert_eq!(offset_of!(I, model_buffer_flags), p(16, 20));
    assert_eq!(offset_of!(I, reserved), p(20, 24));
    assert_eq!(size_of::<I>(), p(132, 136));
    type R = rknn_run_extend;
    assert_eq!(offset_of!(R, non_block), 8);
    assert_eq!(offset_of!(R, timeout_ms), 12);
    assert_eq!(offset_of!(R, fence_fd), 16);
    assert_eq!(size_of::<R>(), 24);
}

#[test]
fn constants_have_the_vendor_values() {
    assert_eq!(RKNN_QUERY_IN_OUT_NUM, 0);
    assert_eq!(RKNN_QUERY_PERF_RUN, 4);
    assert_eq!(RKNN_QUERY_SDK_VERSION, 5);
    assert_eq!(RKNN_QUERY_NATIVE_INPUT_ATTR, 8);
    assert_eq!(RKNN_QUERY_NATIVE_OUTPUT_ATTR, 9);
    assert_eq!(RKNN_QUERY_NATIVE_NHWC_OUTPUT_ATTR, 11);
    assert_eq!(RKNN_TENSOR_INT8, 2);
    assert_eq!(RKNN_TENSOR_UINT8, 3);
    assert_eq!(RKNN_TENSOR_NHWC, 1);
    assert_eq!(RKNN_TENSOR_NC1HWC2, 2);
    assert_eq!(RKNN_TENSOR_QNT_AFFINE_ASYMMETRIC, 2);
    assert_eq!(RKNN_FLAG_COLLECT_PERF_MASK, 8);
    assert_eq!(RKNN_MAX_DIMS, 16);
    assert_eq!(RKNN_MAX_NAME_LEN, 256);
}
