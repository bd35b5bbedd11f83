//! Tensor attributes: the runtime's `rknn_tensor_attr` as Rust values.

use std::fmt;

use crate::ffi;

/// Which attribute query to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrQuery {
    /// The model's logical input (as converted, e.g. NHWC uint8).
    Input,
    /// The model's logical output.
    Output,
    /// The input as the NPU reads it from memory (zero-copy layout, with strides).
    NativeInput,
    /// The output as the NPU writes it (usually NC1HWC2).
    NativeOutput,
    /// The output in NHWC, converted by the runtime.
    NativeNhwcOutput,
}

impl AttrQuery {
    pub(crate) fn command(self) -> ffi::rknn_query_cmd {
        match self {
            AttrQuery::Input => ffi::RKNN_QUERY_INPUT_ATTR,
            AttrQuery::Output => ffi::RKNN_QUERY_OUTPUT_ATTR,
            AttrQuery::NativeInput => ffi::RKNN_QUERY_NATIVE_INPUT_ATTR,
            AttrQuery::NativeOutput => ffi::RKNN_QUERY_NATIVE_OUTPUT_ATTR,
            AttrQuery::NativeNhwcOutput => ffi::RKNN_QUERY_NATIVE_NHWC_OUTPUT_ATTR,
        }
    }

    pub fn is_input(self) -> bool {
        matches!(self, AttrQuery::Input | AttrQuery::NativeInput)
    }
}

/// Memory layout of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorFormat {
    Nchw,
    Nhwc,
    /// Channels split in blocks of C2: `[N, C1, H, W, C2]` with `C1 = ceil(C / C2)`.
    Nc1hwc2,
    Undefined,
    Other(u32),
}

impl TensorFormat {
    fn from_raw(v: ffi::rknn_tensor_format) -> Self {
        match v {
            ffi::RKNN_TENSOR_NCHW => TensorFormat::Nchw,
            ffi::RKNN_TENSOR_NHWC => TensorFormat::Nhwc,
            ffi::RKNN_TENSOR_NC1HWC2 => TensorFormat::Nc1hwc2,
            ffi::RKNN_TENSOR_UNDEFINED => TensorFormat::Undefined,
            #[allow(clippy::unnecessary_cast)]
            v => TensorFormat::Other(v as u32),
        }
    }

    pub(crate) fn to_raw(self) -> Option<ffi::rknn_tensor_format> {
        Some(match self {
            TensorFormat::Nchw => ffi::RKNN_TENSOR_NCHW,
            TensorFormat::Nhwc => ffi::RKNN_TENSOR_NHWC,
            TensorFormat::Nc1hwc2 => ffi::RKNN_TENSOR_NC1HWC2,
            TensorFormat::Undefined => ffi::RKNN_TENSOR_UNDEFINED,
            TensorFormat::Other(_) => return None,
        })
    }
}

/// Element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    Float32,
    Float16,
    Int8,
    Uint8,
    Int16,
    Int32,
    Other(u32),
}

impl TensorType {
    fn from_raw(v: ffi::rknn_tensor_type) -> Self {
        match v {
            ffi::RKNN_TENSOR_FLOAT32 => TensorType::Float32,
            ffi::RKNN_TENSOR_FLOAT16 => TensorType::Float16,
            ffi::RKNN_TENSOR_INT8 => TensorType::Int8,
            ffi::RKNN_TENSOR_UINT8 => TensorType::Uint8,
            ffi::RKNN_TENSOR_INT16 => TensorType::Int16,
            ffi::RKNN_TENSOR_INT32 => TensorType::Int32,
            #[allow(clippy::unnecessary_cast)]
            v => TensorType::Other(v as u32),
        }
    }

    pub(crate) fn to_raw(self) -> Option<ffi::rknn_tensor_type> {
        Some(match self {
            TensorType::Float32 => ffi::RKNN_TENSOR_FLOAT32,
            TensorType::Float16 => ffi::RKNN_TENSOR_FLOAT16,
            TensorType::Int8 => ffi::RKNN_TENSOR_INT8,
            TensorType::Uint8 => ffi::RKNN_TENSOR_UINT8,
            TensorType::Int16 => ffi::RKNN_TENSOR_INT16,
            TensorType::Int32 => ffi::RKNN_TENSOR_INT32,
            TensorType::Other(_) => return None,
        })
    }

    /// Bytes per element, where known.
    pub fn size(self) -> Option<usize> {
        match self {
            TensorType::Float32 | TensorType::Int32 => Some(4),
            TensorType::Float16 | TensorType::Int16 => Some(2),
            TensorType::Int8 | TensorType::Uint8 => Some(1),
            TensorType::Other(_) => None,
        }
    }
}

/// How stored values map to real numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quantization {
    None,
    /// Dynamic fixed point: `real = q / 2^fl`.
    Dfp { fl: i8 },
    /// `real = (q - zero_point) * scale`.
    Affine { zero_point: i32, scale: f32 },
    Other(u32),
}

/// One tensor's attributes, as reported by `rknn_query`.
#[derive(Clone)]
pub struct TensorAttr {
    pub(crate) raw: ffi::rknn_tensor_attr,
}

impl TensorAttr {
    pub(crate) fn from_raw(raw: ffi::rknn_tensor_attr) -> Self {
        Self { raw }
    }

    /// A raw attribute for `index` with everything else zero, ready to be queried.
    pub(crate) fn blank(index: u32) -> ffi::rknn_tensor_attr {
        ffi::rknn_tensor_attr { index, ..Default::default() }
    }

    pub fn index(&self) -> u32 {
        self.raw.index
    }

    /// The dimensions, in the order of [`Self::format`].
    pub fn dims(&self) -> &[u32] {
        let n = (self.raw.n_dims as usize).min(self.raw.dims.len());
        &self.raw.dims[..n]
    }

    pub fn name(&self) -> String {
        let bytes: Vec<u8> = self.raw.name.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    pub fn n_elems(&self) -> u32 {
        self.raw.n_elems
    }

    /// Bytes without row padding.
    pub fn size(&self) -> u32 {
        self.raw.size
    }

    /// Bytes including row padding: what the tensor's buffer must hold.
    pub fn size_with_stride(&self) -> u32 {
        self.raw.size_with_stride
    }

    /// Row pitch in elements (0 from older runtimes means "no padding").
    pub fn w_stride(&self) -> u32 {
        self.raw.w_stride
    }

    pub fn h_stride(&self) -> u32 {
        self.raw.h_stride
    }

    pub fn format(&self) -> TensorFormat {
        TensorFormat::from_raw(self.raw.fmt)
    }

    pub fn tensor_type(&self) -> TensorType {
        TensorType::from_raw(self.raw.type_)
    }

    pub fn quantization(&self) -> Quantization {
        match self.raw.qnt_type {
            ffi::RKNN_TENSOR_QNT_NONE => Quantization::None,
            ffi::RKNN_TENSOR_QNT_DFP => Quantization::Dfp { fl: self.raw.fl },
            ffi::RKNN_TENSOR_QNT_AFFINE_ASYMMETRIC => {
                Quantization::Affine { zero_point: self.raw.zp, scale: self.raw.scale }
            }
            #[allow(clippy::unnecessary_cast)]
            v => Quantization::Other(v as u32),
        }
    }

    /// This attribute with a different element type and layout, as passed to `rknn_set_io_mem`
    /// to tell the runtime what the caller writes (e.g. uint8 NHWC pixels).
    pub fn with_type_and_format(&self, ty: TensorType, fmt: TensorFormat) -> Option<Self> {
        let mut raw = self.raw;
        raw.type_ = ty.to_raw()?;
        raw.fmt = fmt.to_raw()?;
        Some(Self { raw })
    }
}

impl fmt::Debug for TensorAttr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} #{} {:?} {:?} {:?} size {} (with stride {}, w_stride {}) {:?}",
            self.name(),
            self.index(),
            self.dims(),
            self.format(),
            self.tensor_type(),
            self.size(),
            self.size_with_stride(),
            self.w_stride(),
            self.quantization()
        )
    }
}

impl TensorAttr {
    /// An attribute built by hand (tests, test doubles, documentation examples): `dims` in the
    /// order of `fmt`, no row padding.
    pub fn new(index: u32, name: &str, dims: &[u32], fmt: TensorFormat, ty: TensorType, quant: Quantization) -> Self {
        let mut raw = Self::blank(index);
        let n = dims.len().min(raw.dims.len());
        raw.n_dims = n as u32;
        raw.dims[..n].copy_from_slice(&dims[..n]);
        for (dst, &b) in raw.name.iter_mut().zip(name.as_bytes().iter().take(ffi::RKNN_MAX_NAME_LEN as usize - 1)) {
            *dst = b as core::ffi::c_char;
        }
        raw.n_elems = dims[..n].iter().product();
        raw.size = raw.n_elems * ty.size().unwrap_or(1) as u32;
        raw.size_with_stride = raw.size;
        raw.fmt = fmt.to_raw().unwrap_or(ffi::RKNN_TENSOR_UNDEFINED);
        raw.type_ = ty.to_raw().unwrap_or(ffi::RKNN_TENSOR_UINT8);
        match quant {
            Quantization::None | Quantization::Other(_) => raw.qnt_type = ffi::RKNN_TENSOR_QNT_NONE,
            Quantization::Dfp { fl } => {
                raw.qnt_type = ffi::RKNN_TENSOR_QNT_DFP;
                raw.fl = fl;
            }
            Quantization::Affine { zero_point, scale } => {
                raw.qnt_type = ffi::RKNN_TENSOR_QNT_AFFINE_ASYMMETRIC;
                raw.zp = zero_point;
                raw.scale = scale;
            }
        }
        Self { raw }
    }

    /// The same NHWC tensor with rows padded to `w_stride` pixels.
    pub fn with_w_stride(mut self, w_stride: u32) -> Self {
        self.raw.w_stride = w_stride;
        if let (TensorFormat::Nhwc, &[n, h, w, c]) = (self.format(), self.dims()) {
            let esize = self.tensor_type().size().unwrap_or(1) as u32;
            self.raw.size_with_stride = n * h * w_stride.max(w) * c * esize;
        }
        self
    }

    /// The raw struct, for test doubles of the runtime.
    pub fn to_raw(&self) -> ffi::rknn_tensor_attr {
        self.raw
    }

    /// Wraps a raw struct (e.g. one received by a test double).
    pub fn from_ffi(raw: ffi::rknn_tensor_attr) -> Self {
        Self { raw }
    }
}
