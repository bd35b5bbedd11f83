/*
 * digitd's own declaration of the subset of the RKNN runtime C API that rknn-sys binds.
 *
 * Written for this project from the documented interface (names, types, constant values and
 * field order of the public API). It is NOT Rockchip's rknn_api.h, which is proprietary and
 * must not be copied into this repository. When a technician has the RKNN SDK, build.rs uses
 * the SDK header instead (RKNN_API_H or RKNN_SDK_DIR) and bindgen checks both give the same
 * items for this subset.
 *
 * Parsed with -ffreestanding, so <stdint.h> is clang's own and no target sysroot is needed.
 */
#ifndef DIGITD_RKNN_DECL_H
#define DIGITD_RKNN_DECL_H

#include <stdint.h>

/* rknn_init flags (bit mask). */
#define RKNN_FLAG_COLLECT_PERF_MASK 0x00000008

/* Return codes: 0 is success, every failure is negative. */
#define RKNN_SUCC 0
#define RKNN_ERR_FAIL -1
#define RKNN_ERR_TIMEOUT -2
#define RKNN_ERR_DEVICE_UNAVAILABLE -3
#define RKNN_ERR_MALLOC_FAIL -4
#define RKNN_ERR_PARAM_INVALID -5
#define RKNN_ERR_MODEL_INVALID -6
#define RKNN_ERR_CTX_INVALID -7
#define RKNN_ERR_INPUT_INVALID -8
#define RKNN_ERR_OUTPUT_INVALID -9
#define RKNN_ERR_DEVICE_UNMATCH -10
#define RKNN_ERR_INCOMPATILE_PRE_COMPILE_MODEL -11
#define RKNN_ERR_INCOMPATILE_OPTIMIZATION_LEVEL_VERSION -12
#define RKNN_ERR_TARGET_PLATFORM_UNMATCH -13

/* Array sizes inside the structs below. */
#define RKNN_MAX_DIMS 16
#define RKNN_MAX_NAME_LEN 256

/* The context handle is pointer-sized on the runtimes Rockchip ships: 32 bits on 32-bit ARM
 * (the RV1106), 64 bits elsewhere. Bindings must therefore be generated per target. */
#if defined(__arm__)
typedef uint32_t rknn_context;
#else
typedef uint64_t rknn_context;
#endif

/* What rknn_query fills in; the comment names the struct it expects. */
typedef enum _rknn_query_cmd {
    RKNN_QUERY_IN_OUT_NUM = 0,              /* rknn_input_output_num */
    RKNN_QUERY_INPUT_ATTR = 1,              /* rknn_tensor_attr, model (logical) layout */
    RKNN_QUERY_OUTPUT_ATTR = 2,             /* rknn_tensor_attr */
    RKNN_QUERY_PERF_RUN = 4,                /* rknn_perf_run, needs RKNN_FLAG_COLLECT_PERF_MASK */
    RKNN_QUERY_SDK_VERSION = 5,             /* rknn_sdk_version */
    RKNN_QUERY_MEM_SIZE = 6,                /* rknn_mem_size */
    RKNN_QUERY_NATIVE_INPUT_ATTR = 8,       /* rknn_tensor_attr, the layout the NPU reads */
    RKNN_QUERY_NATIVE_OUTPUT_ATTR = 9,      /* rknn_tensor_attr, usually NC1HWC2 */
    RKNN_QUERY_NATIVE_NHWC_INPUT_ATTR = 10, /* rknn_tensor_attr */
    RKNN_QUERY_NATIVE_NHWC_OUTPUT_ATTR = 11 /* rknn_tensor_attr */
} rknn_query_cmd;

typedef enum _rknn_tensor_type {
    RKNN_TENSOR_FLOAT32 = 0,
    RKNN_TENSOR_FLOAT16 = 1,
    RKNN_TENSOR_INT8 = 2,
    RKNN_TENSOR_UINT8 = 3,
    RKNN_TENSOR_INT16 = 4,
    RKNN_TENSOR_UINT16 = 5,
    RKNN_TENSOR_INT32 = 6,
    RKNN_TENSOR_UINT32 = 7,
    RKNN_TENSOR_INT64 = 8,
    RKNN_TENSOR_BOOL = 9
} rknn_tensor_type;

typedef enum _rknn_tensor_qnt_type {
    RKNN_TENSOR_QNT_NONE = 0,
    RKNN_TENSOR_QNT_DFP = 1,
    RKNN_TENSOR_QNT_AFFINE_ASYMMETRIC = 2
} rknn_tensor_qnt_type;

typedef enum _rknn_tensor_format {
    RKNN_TENSOR_NCHW = 0,
    RKNN_TENSOR_NHWC = 1,
    RKNN_TENSOR_NC1HWC2 = 2,
    RKNN_TENSOR_UNDEFINED = 3
} rknn_tensor_format;

typedef struct _rknn_input_output_num {
    uint32_t n_input;
    uint32_t n_output;
} rknn_input_output_num;

/* One tensor's shape, layout, type and quantisation. Note the int8 `fl` before the int32 `zp`:
 * the compiler pads three bytes there, and the layout tests check every offset. */
typedef struct _rknn_tensor_attr {
    uint32_t index;                  /* set by the caller before the query */
    uint32_t n_dims;
    uint32_t dims[RKNN_MAX_DIMS];
    char name[RKNN_MAX_NAME_LEN];
    uint32_t n_elems;
    uint32_t size;                   /* bytes without row padding */
    rknn_tensor_format fmt;
    rknn_tensor_type type;
    rknn_tensor_qnt_type qnt_type;
    int8_t fl;                       /* fractional length for DFP quantisation */
    int32_t zp;                      /* affine zero point */
    float scale;                     /* affine scale */
    uint32_t w_stride;               /* row pitch in pixels; 0 means "equal to width" */
    uint32_t size_with_stride;       /* bytes including row padding: the buffer size to allocate */
    uint8_t pass_through;
    uint32_t h_stride;
} rknn_tensor_attr;

typedef struct _rknn_perf_run {
    int64_t run_duration;            /* microseconds */
} rknn_perf_run;

typedef struct _rknn_sdk_version {
    char api_version[256];
    char drv_version[256];
} rknn_sdk_version;

typedef struct _rknn_mem_size {
    uint32_t total_weight_size;
    uint32_t total_internal_size;
    uint64_t total_dma_allocated_size;
    uint32_t total_sram_size;
    uint32_t free_sram_size;
    uint32_t reserved[10];
} rknn_mem_size;

/* A buffer the NPU can read or write, allocated by the runtime. */
typedef struct _rknn_tensor_memory {
    void *virt_addr;
    uint64_t phys_addr;
    int32_t fd;
    int32_t offset;
    uint32_t size;
    uint32_t flags;
    void *priv_data;
} rknn_tensor_mem;

/* Extended init arguments; digitd always passes NULL. */
typedef struct _rknn_init_extend {
    rknn_context ctx;
    int32_t real_model_offset;
    uint32_t real_model_size;
    int32_t model_buffer_fd;
    uint32_t model_buffer_flags;
    uint8_t reserved[112];
} rknn_init_extend;

/* Extended run arguments; digitd always passes NULL. */
typedef struct _rknn_run_extend {
    uint64_t frame_id;
    int32_t non_block;
    int32_t timeout_ms;
    int32_t fence_fd;
} rknn_run_extend;

int rknn_init(rknn_context *context, void *model, uint32_t size, uint32_t flag, rknn_init_extend *extend);
int rknn_destroy(rknn_context context);
int rknn_query(rknn_context context, rknn_query_cmd cmd, void *info, uint32_t size);
int rknn_run(rknn_context context, rknn_run_extend *extend);
rknn_tensor_mem *rknn_create_mem(rknn_context ctx, uint32_t size);
int rknn_destroy_mem(rknn_context ctx, rknn_tensor_mem *mem);
int rknn_set_io_mem(rknn_context ctx, rknn_tensor_mem *mem, rknn_tensor_attr *attr);

#endif
