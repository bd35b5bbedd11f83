//! The `digitd` program: command-line parsing, configuration, logging and the commands.

pub mod bench;
pub mod cli;
pub mod exit;
pub mod recognize;
pub mod run;
pub mod selftest;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use embedded_graphics::prelude::Size;

use crate::classify::{self, Manifest};
use crate::config::{Config, DisplayConfig, DisplayKind};
use crate::display::{Display, FramebufferDisplay, NullDisplay, PngDisplay, PngOptions};
use crate::logging;
use crate::pipeline::Pipeline;
use crate::policy::{AcceptRule, LoneRule, RowRule, Thresholds};

use cli::{Cli, Command, GlobalArgs, RunArgs};
pub use exit::{code, AppError};

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            exit::report(&e.to_string());
            e.exit_code()
        }
    }
}

/// `--help`/`--version` print normally; usage errors become one `digitd: error:` line.
fn clap_exit(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid arguments");
            let first = first.trim().trim_start_matches("error:").trim();
            exit::report(&format!("{first} (see `digitd --help`)"));
            ExitCode::from(code::USAGE)
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode, AppError> {
    cli.check().map_err(AppError::Usage)?;
    let ctx = Context::start(&cli)?;
    match &cli.command {
        None | Some(Command::Run(_)) => run::run(ctx),
        Some(Command::Recognize(args)) => recognize::recognize(&ctx, args),
        Some(Command::Selftest) => selftest::selftest(&ctx),
        Some(Command::Bench(args)) => bench::bench(&ctx, args),
    }
}

/// What every command starts from: the effective configuration and where it came from.
#[derive(Debug, Clone)]
pub struct Context {
    pub config: Config,
    /// The config file in use, if any.
    pub config_path: Option<PathBuf>,
    /// Whether `--config` named it (then it must exist on reload too).
    explicit_config: bool,
    global: GlobalArgs,
    run: RunArgs,
    /// One-shot commands log only warnings unless asked (`-v`): their output is the point.
    one_shot: bool,
}

impl Context {
    /// Loads the configuration, applies the flags, and installs logging.
    pub fn start(cli: &Cli) -> Result<Context, AppError> {
        let mut ctx = Context {
            config: Config::default(),
            config_path: None,
            explicit_config: cli.global.config.is_some(),
            global: cli.global.clone(),
            run: cli.run_args().clone(),
            one_shot: !matches!(cli.command, None | Some(Command::Run(_))),
        };
        let (config, path) = ctx.load_config()?;
        ctx.config = config;
        ctx.config_path = path;
        logging::init(ctx.log_level(&ctx.config), ctx.config.log.file.as_deref())?;
        match &ctx.config_path {
            Some(p) => log::debug!("config file {}", p.display()),
            None => log::debug!("no config file found; using the defaults"),
        }
        Ok(ctx)
    }

    /// Reads the config file (again) and applies the command-line flags.
    pub fn load_config(&self) -> Result<(Config, Option<PathBuf>), AppError> {
        let path = Config::find(self.global.config.as_deref());
        if let Some(p) = &path {
            if self.explicit_config && !p.exists() {
                return Err(AppError::Usage(format!("config file {} does not exist", p.display())));
            }
        }
        let mut config = Config::load_or_default(path.as_deref())?;
        cli::apply_overrides(&mut config, &self.global, &self.run);
        Ok((config, path))
    }

    /// The log level for `cfg`, after `-v`/`-q`.
    pub fn log_level(&self, cfg: &Config) -> log::LevelFilter {
        let mut level = cfg.log.level.filter();
        if self.one_shot {
            level = level.min(log::LevelFilter::Warn);
        }
        logging::effective_level(level, self.global.verbose, self.global.quiet)
    }
}

/// The manifest and classifier named by `cfg`, and the accept rule (manifest threshold
/// unless the config overrides it).
pub fn load_model(cfg: &Config) -> Result<(Manifest, Box<dyn classify::Classifier>, AcceptRule), AppError> {
    let manifest = Manifest::load(&cfg.manifest_path())?;
    let classifier = classify::load(&cfg.classifier, &manifest)?;
    let rule = accept_rule(cfg, &manifest);
    Ok((manifest, classifier, rule))
}

/// The accept rule for `manifest`: its thresholds unless the config overrides them.
pub fn accept_rule(cfg: &Config, manifest: &Manifest) -> AcceptRule {
    let m = &cfg.model;
    let strict = Thresholds::new(
        m.min_confidence.map_or(manifest.reject.min_confidence, |p| p.get()),
        m.max_not_a_digit.map_or(manifest.reject.max_not_a_digit, |p| p.get()),
    );
    let row = m.row_thresholds().looser_than(strict).map(RowRule);
    let lone = m.lone_thresholds().looser_than(strict).map(LoneRule);
    AcceptRule { strict, row, lone }
}

/// The pipeline for `cfg` (model loaded and checked).
pub fn build_pipeline(cfg: &Config) -> Result<Pipeline, AppError> {
    let (manifest, classifier, rule) = load_model(cfg)?;
    log::info!(
        "model {} ({} classifier, min confidence {:.2}, max not-a-digit {:.2})",
        manifest.onnx_path().display(),
        classifier.name(),
        rule.strict.min_confidence,
        rule.strict.max_not_a_digit
    );
    Ok(Pipeline::new(cfg.preprocess.clone(), classifier, rule))
}

/// The display named by `cfg`.
pub fn open_display(cfg: &DisplayConfig, out_dir: &Path) -> Result<Box<dyn Display>, AppError> {
    let size = Size::new(cfg.size.width, cfg.size.height);
    Ok(match cfg.kind {
        DisplayKind::Png => Box::new(PngDisplay::new(out_dir, PngOptions { size, keep_every_frame: cfg.every_frame })?),
        DisplayKind::Framebuffer => Box::new(FramebufferDisplay::open(&cfg.device)?),
        DisplayKind::Panel => crate::display::panel::open(&cfg.panel)?,
        DisplayKind::None => Box::new(NullDisplay::new(size)),
    })
}
