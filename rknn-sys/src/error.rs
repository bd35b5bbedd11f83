//! The runtime's integer return codes as named errors.

use std::fmt;

/// What went wrong, by the runtime's return code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Fail,
    Timeout,
    DeviceUnavailable,
    MallocFail,
    ParamInvalid,
    ModelInvalid,
    ContextInvalid,
    InputInvalid,
    OutputInvalid,
    DeviceUnmatch,
    IncompatiblePreCompiledModel,
    IncompatibleOptimizationLevel,
    TargetPlatformUnmatch,
    /// A code this crate does not know.
    Unknown(i32),
}

impl ErrorKind {
    pub fn from_code(code: i32) -> Self {
        use ErrorKind::*;
        match code {
            -1 => Fail,
            -2 => Timeout,
            -3 => DeviceUnavailable,
            -4 => MallocFail,
            -5 => ParamInvalid,
            -6 => ModelInvalid,
            -7 => ContextInvalid,
            -8 => InputInvalid,
            -9 => OutputInvalid,
            -10 => DeviceUnmatch,
            -11 => IncompatiblePreCompiledModel,
            -12 => IncompatibleOptimizationLevel,
            -13 => TargetPlatformUnmatch,
            c => Unknown(c),
        }
    }

    fn describe(self) -> &'static str {
        use ErrorKind::*;
        match self {
            Fail => "generic failure",
            Timeout => "timed out",
            DeviceUnavailable => "NPU device unavailable (is the rknpu driver loaded?)",
            MallocFail => "out of memory",
            ParamInvalid => "invalid parameter",
            ModelInvalid => "invalid or corrupt model",
            ContextInvalid => "invalid context",
            InputInvalid => "invalid input",
            OutputInvalid => "invalid output",
            DeviceUnmatch => "model built for another device",
            IncompatiblePreCompiledModel => "pre-compiled model not compatible with this runtime",
            IncompatibleOptimizationLevel => "model optimisation level not compatible with this runtime",
            TargetPlatformUnmatch => "model built for another target platform (rebuild with target_platform=\"rv1106\")",
            Unknown(_) => "unknown error code",
        }
    }
}

/// An error from the safe layer: a failed runtime call, or a result the layer refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The runtime returned a failure code.
    #[error("{call} failed: {} (RKNN code {code})", .kind.describe())]
    Call { call: &'static str, code: i32, kind: ErrorKind },
    /// `rknn_create_mem` returned no memory.
    #[error("rknn_create_mem({size} bytes) returned no memory")]
    NoMemory { size: u32 },
    /// The runtime handed back something inconsistent (e.g. a tensor larger than its buffer).
    #[error("the RKNN runtime returned an inconsistent result: {0}")]
    Inconsistent(String),
    /// The caller asked for something this layer cannot do.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub(crate) fn check(call: &'static str, code: i32) -> Result<(), Error> {
        if code == 0 {
            Ok(())
        } else {
            Err(Error::Call { call, code, kind: ErrorKind::from_code(code) })
        }
    }

    /// The runtime's error kind, if this came from a runtime call.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::Call { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Unknown(c) => write!(f, "unknown error code {c}"),
            k => f.write_str(k.describe()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_names_and_messages_name_the_call() {
        assert_eq!(ErrorKind::from_code(-6), ErrorKind::ModelInvalid);
        assert_eq!(ErrorKind::from_code(-99), ErrorKind::Unknown(-99));
        let e = Error::check("rknn_run", -2).unwrap_err();
        assert_eq!(e.kind(), Some(ErrorKind::Timeout));
        assert_eq!(e.to_string(), "rknn_run failed: timed out (RKNN code -2)");
        assert!(Error::check("rknn_run", 0).is_ok());
    }

    #[test]
    fn codes_agree_with_the_bound_constants() {
        use crate::ffi;
        for (c, k) in [
            (ffi::RKNN_ERR_FAIL, ErrorKind::Fail),
            (ffi::RKNN_ERR_DEVICE_UNAVAILABLE, ErrorKind::DeviceUnavailable),
            (ffi::RKNN_ERR_MODEL_INVALID, ErrorKind::ModelInvalid),
            (ffi::RKNN_ERR_CTX_INVALID, ErrorKind::ContextInvalid),
            (ffi::RKNN_ERR_TARGET_PLATFORM_UNMATCH, ErrorKind::TargetPlatformUnmatch),
        ] {
            assert_eq!(ErrorKind::from_code(c), k);
        }
    }
}
