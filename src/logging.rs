//! Log output: the terminal (stderr) and optionally a file, via `simplelog`.
//!
//! The loggers are installed once at `Trace` and the effective level is the global
//! `log::max_level`, so a config reload can change it without reinstalling anything. Only
//! this crate's records are kept: tract is chatty at debug level.

use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use log::LevelFilter;
use simplelog::{ColorChoice, CombinedLogger, ConfigBuilder, SharedLogger, TermLogger, TerminalMode, WriteLogger};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LoggingError {
    #[error("cannot open log file {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("a logger is already installed")]
    AlreadyInstalled,
}

/// Installs the loggers. `file` lines are appended. Call once.
pub fn init(level: LevelFilter, file: Option<&Path>) -> Result<(), LoggingError> {
    let config = ConfigBuilder::new()
        .add_filter_allow_str("digitd")
        .set_time_format_rfc3339()
        .set_time_offset_to_local()
        .unwrap_or_else(|builder| builder)
        .build();
    // Colours only on a terminal: piped logs (journald, files, tests) stay plain text.
    let colour = if std::io::stderr().is_terminal() { ColorChoice::Auto } else { ColorChoice::Never };
    let mut loggers: Vec<Box<dyn SharedLogger>> =
        vec![TermLogger::new(LevelFilter::Trace, config.clone(), TerminalMode::Stderr, colour)];
    if let Some(path) = file {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| LoggingError::File { path: path.to_path_buf(), source })?;
        loggers.push(WriteLogger::new(LevelFilter::Trace, config, f));
    }
    CombinedLogger::init(loggers).map_err(|_| LoggingError::AlreadyInstalled)?;
    set_level(level);
    Ok(())
}

/// Changes the level of every installed logger.
pub fn set_level(level: LevelFilter) {
    log::set_max_level(level);
}

/// The level asked for: `-v` (debug) and `-vv` (trace) win over the config, `-q` lowers it
/// to errors only.
pub fn effective_level(config_level: LevelFilter, verbose: u8, quiet: bool) -> LevelFilter {
    match (quiet, verbose) {
        (true, _) => LevelFilter::Error,
        (false, 0) => config_level,
        (false, 1) => config_level.max(LevelFilter::Debug),
        _ => LevelFilter::Trace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_overrides_the_config() {
        assert_eq!(effective_level(LevelFilter::Info, 0, false), LevelFilter::Info);
        assert_eq!(effective_level(LevelFilter::Info, 1, false), LevelFilter::Debug);
        assert_eq!(effective_level(LevelFilter::Trace, 1, false), LevelFilter::Trace);
        assert_eq!(effective_level(LevelFilter::Warn, 2, false), LevelFilter::Trace);
        assert_eq!(effective_level(LevelFilter::Debug, 0, true), LevelFilter::Error);
    }
}
