//! Errors of the commands and the exit code each one maps to.

use std::process::ExitCode;

use thiserror::Error;

use crate::classify::{ClassifyError, ManifestError};
use crate::config::ConfigError;
use crate::display::DisplayError;
use crate::logging::LoggingError;
use crate::pipeline::PipelineError;
use crate::source::SourceError;

/// Exit codes (also in `--help` and the README).
pub mod code {
    pub const OK: u8 = 0;
    pub const RUNTIME: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const MODEL: u8 = 3;
    pub const INPUT: u8 = 4;
}

#[derive(Debug, Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Logging(#[from] LoggingError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Model(#[from] ClassifyError),
    #[error("{0}")]
    ModelCheck(String),
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Some inputs failed (each already reported); the others were processed.
    #[error("{failed} of {total} inputs could not be read")]
    InputsFailed { failed: usize, total: usize },
    #[error(transparent)]
    Display(#[from] DisplayError),
    #[error("{0}")]
    Runtime(String),
}

impl From<ManifestError> for AppError {
    fn from(e: ManifestError) -> Self { AppError::Model(e.into()) }
}

impl From<PipelineError> for AppError {
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::Classify(c) => AppError::Runtime(format!("classification failed: {c}")),
            other => AppError::Runtime(other.to_string()),
        }
    }
}

impl AppError {
    pub fn code(&self) -> u8 {
        match self {
            AppError::Config(_) | AppError::Logging(_) | AppError::Usage(_) => code::USAGE,
            AppError::Model(_) | AppError::ModelCheck(_) => code::MODEL,
            AppError::Source(_) | AppError::InputsFailed { .. } => code::INPUT,
            AppError::Display(_) | AppError::Runtime(_) => code::RUNTIME,
        }
    }

    pub fn exit_code(&self) -> ExitCode { ExitCode::from(self.code()) }
}

/// Prints `digitd: error: ...` on stderr: one line, ending with a full stop.
pub fn report(message: &str) {
    let message = message.trim_end();
    let end = if message.ends_with(['.', '!', '?']) { "" } else { "." };
    eprintln!("digitd: error: {message}{end}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_by_kind() {
        assert_eq!(AppError::Usage("x".into()).code(), 2);
        assert_eq!(AppError::Model(ClassifyError::Unavailable("npu")).code(), 3);
        assert_eq!(AppError::InputsFailed { failed: 1, total: 2 }.code(), 4);
        assert_eq!(AppError::Runtime("x".into()).code(), 1);
    }
}
