//! Command-line interface (clap derive). Flags override the config file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{ClassifierKind, Config, DisplayKind, Fps, Probability, SourceKind};

const LONG_ABOUT: &str = "\
Reads handwritten digits from camera frames and shows the reading.

Frames go through preprocessing (fixed-point: binarise, find digits, normalise to 28x28),
a classifier (CPU/tract on the ONNX model; the NPU on the board later) and a reject rule
(a digit counts only if the model is sure it is a digit); a reading is shown once it has
been stable for a few frames.

With no subcommand, `run` is assumed. On a PC the default source is the bundled sample
clip and screens are written to ./out/latest.png.

Configuration: --config FILE, else ./digitd.toml, else /etc/digitd.toml, else built-in
defaults. See board/digitd.toml for every key. Command-line flags win over the file.

Examples:
  digitd                                   replay the sample clip, print each reading
  digitd run --source clip.y4m.gz --fps 0  replay a clip as fast as possible
  digitd run --source frames/ --loop       replay a folder of images (sorted by name), forever
  digitd run --camera /dev/video0          read a USB webcam (build with --features camera)
  digitd run --loop --web 0.0.0.0:8080     live view for aiming: http://<board>:8080/
  digitd recognize photo.jpg scan.png      read digits in image files
  digitd recognize --json *.png            one JSON object per file
  digitd selftest                          check the model against its golden vectors
  digitd bench --iterations 1000           measure frames per second
  digitd -vv --config board/digitd.toml    run with a config file and trace logging";

const EXIT_CODES: &str = "\
Exit codes:
  0  success (run: the source ended or SIGINT/SIGTERM arrived; a lost camera is retried,
     not an exit)
  1  runtime failure (writing screens or output, inference failing while running)
  2  usage or configuration error (bad flag, bad config file)
  3  model error (manifest, missing/corrupt/mismatched model, golden vectors disagree)
  4  input error (unreadable image, clip or folder)

Signals (run): SIGINT/SIGTERM stop (a second one exits at once, code 1); SIGHUP reloads
the config file (an invalid one is reported and the old settings are kept).";

#[derive(Debug, Parser)]
#[command(
    name = "digitd",
    version,
    about = "Reads handwritten digits from camera frames",
    long_about = LONG_ABOUT,
    after_help = "Exit codes: 0 ok, 1 runtime failure, 2 usage/config error, 3 model error, 4 input error.",
    after_long_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `run`, usable without writing `run`.
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read digits from the frame source until it ends or a signal stops it (the default).
    #[command(long_about = "Read digits from the frame source until it ends or SIGINT/SIGTERM.\n\n\
        Each newly stable reading is printed on stdout as `reading: 317` (rows joined by ` / `),\n\
        and `reading: (none)` when the digits go away. SIGHUP reloads the config file.")]
    Run(RunArgs),
    /// Read the digits in image files (PNG, JPEG, BMP, TIFF, WebP, PGM/PPM) and print them.
    #[command(long_about = "Read the digits in image files (PNG, JPEG, BMP, TIFF, WebP, PGM/PPM) and print them.\n\n\
        Plain output is `FILE: TEXT` per file (rows joined by ` / `). With --json, one object per\n\
        line: {\"file\", \"text\" (rows joined by \\n, \"\" if none), \"digits\": [{\"digit\",\n\
        \"confidence\", \"box\": [x, y, w, h]}], \"ms\" (preprocessing + classification)}.\n\
        Unreadable files are reported on stderr; the others are still read, and the exit code is 4.")]
    Recognize(RecognizeArgs),
    /// Check that the model loads and reproduces its golden vectors (on the NPU with
    /// --classifier npu), then print a pass/fail table.
    #[command(long_about = "Check that the model loads and reproduces its golden vectors.\n\n\
        With the CPU classifier: the ONNX model run by tract must match the float reference logits.\n\
        With --classifier npu (or classifier.kind = \"npu\"): the RKNN model is loaded on the NPU,\n\
        every golden vector is run, and the dequantised outputs must match the rknn-toolkit2\n\
        simulator's within one int8 step with the same top class. Prints the runtime and driver\n\
        versions, a pass/fail table per class and the time per rknn_run. The NPU check never falls\n\
        back to the CPU. Exit code 0 on pass, 3 on failure.")]
    Selftest,
    /// Measure preprocessing + classification speed on the sample clip's frames.
    Bench(BenchArgs),
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Config file (TOML). Default: ./digitd.toml, then /etc/digitd.toml, then built-in defaults.
    #[arg(short, long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Model manifest (MANIFEST.json of the model artifacts).
    #[arg(long, global = true, value_name = "MANIFEST")]
    pub model: Option<PathBuf>,
    /// Reject digits below this probability (overrides the manifest).
    #[arg(long, global = true, value_name = "P", value_parser = parse_probability)]
    pub min_confidence: Option<Probability>,
    /// Reject digits whose "not a digit" probability is above this (overrides the manifest).
    #[arg(long, global = true, value_name = "P", value_parser = parse_probability)]
    pub max_not_a_digit: Option<Probability>,
    /// More log output: -v debug (per-frame timings), -vv trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only log errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also append log lines to this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Classifier back end: cpu (tract on the ONNX model) or npu (RKNN runtime on the board).
    #[arg(long, global = true, value_name = "KIND")]
    pub classifier: Option<ClassifierArg>,
    /// The RKNN runtime library (librknnmrt.so, or its folder), tried before /oem/usr/lib,
    /// /usr/lib and the binary's folder.
    #[arg(long, global = true, value_name = "PATH")]
    pub rknn_runtime: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default, PartialEq)]
pub struct RunArgs {
    /// Frame source: a .y4m/.y4m.gz clip, a folder of images, or image files.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub source: Vec<PathBuf>,
    /// What --source is (default: decided from the path).
    #[arg(long, value_name = "KIND")]
    pub source_kind: Option<SourceKindArg>,
    /// Read a live V4L2 camera: DEVICE (e.g. /dev/video0), or with no value the node named by
    /// source.camera.name (the RV1106 ISP's rkisp_mainpath). Needs a build with `--features camera`.
    #[arg(long, value_name = "DEVICE", num_args = 0..=1, conflicts_with_all = ["source", "source_kind", "looping"])]
    pub camera: Option<Option<PathBuf>>,
    /// Replay rate in frames per second; 0 = as fast as possible (default: the clip's rate).
    #[arg(long, value_name = "FPS", value_parser = parse_fps)]
    pub fps: Option<Fps>,
    /// Start the source again when it ends.
    #[arg(long = "loop")]
    pub looping: bool,
    /// Folder for PNG screens (implies --display png).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where screens go.
    #[arg(long, value_name = "KIND")]
    pub display: Option<DisplayArg>,
    /// Keep every screen as out/frame-NNNNNN.png, not only latest.png.
    #[arg(long)]
    pub every_frame: bool,
    /// Serve the technician's web view (live picture, /api/status, /metrics) on ADDR
    /// (default: web.listen, 127.0.0.1:8080). Needs a build with the `web` feature.
    #[arg(long, value_name = "ADDR", num_args = 0..=1)]
    pub web: Option<Option<std::net::SocketAddr>>,
    /// Allow field capture (POST /api/capture) into DIR (implies --web).
    #[arg(long, value_name = "DIR")]
    pub capture_dir: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct RecognizeArgs {
    /// Image files to read.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// One JSON object per line instead of plain text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// Frames to process in all (cycling through the loaded ones).
    #[arg(long, default_value_t = 300, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub iterations: u32,
    /// Distinct frames loaded from the source into memory.
    #[arg(long, default_value_t = 30, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub frames: u32,
    /// Source of the frames (default: the configured source, the sample clip on a PC).
    #[arg(long, value_name = "PATH")]
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceKindArg {
    Clip,
    Images,
    Folder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DisplayArg {
    Png,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClassifierArg {
    Cpu,
    Npu,
}

fn parse_fps(s: &str) -> Result<Fps, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    Fps::try_from(v)
}

fn parse_probability(s: &str) -> Result<Probability, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    Probability::try_from(v)
}

impl Cli {
    /// Run options written before a subcommand are refused: they belong after `run`, and
    /// other commands do not take them.
    pub fn check(&self) -> Result<(), String> {
        if self.command.is_some() && self.run != RunArgs::default() {
            return Err("run options (--source, --fps, --loop, --out, ...) go after `run`, and only `run` takes them".into());
        }
        Ok(())
    }

    /// The `run` options, wherever they were given.
    pub fn run_args(&self) -> &RunArgs {
        match &self.command {
            Some(Command::Run(args)) => args,
            _ => &self.run,
        }
    }
}

/// Applies the command-line flags on top of a loaded config.
pub fn apply_overrides(cfg: &mut Config, global: &GlobalArgs, run: &RunArgs) {
    if let Some(m) = &global.model {
        cfg.model.manifest = Some(m.clone());
    }
    if let Some(p) = global.min_confidence {
        cfg.model.min_confidence = Some(p);
    }
    if let Some(p) = global.max_not_a_digit {
        cfg.model.max_not_a_digit = Some(p);
    }
    if let Some(f) = &global.log_file {
        cfg.log.file = Some(f.clone());
    }
    match run.source.as_slice() {
        [] => {}
        [one] => {
            cfg.source.path = Some(one.clone());
            cfg.source.files.clear();
            cfg.source.kind = SourceKind::Auto;
        }
        many => {
            cfg.source.files = many.to_vec();
            cfg.source.kind = SourceKind::Images;
        }
    }
    if let Some(k) = run.source_kind {
        cfg.source.kind = match k {
            SourceKindArg::Clip => SourceKind::Clip,
            SourceKindArg::Images => SourceKind::Images,
            SourceKindArg::Folder => SourceKind::Folder,
        };
    }
    if let Some(device) = &run.camera {
        cfg.source.kind = SourceKind::Camera;
        cfg.source.path = device.clone();
        cfg.source.files.clear();
    }
    if let Some(f) = run.fps {
        cfg.source.fps = Some(f);
    }
    if run.looping {
        cfg.source.looping = true;
    }
    if let Some(out) = &run.out {
        cfg.display.out_dir = Some(out.clone());
        cfg.display.kind = DisplayKind::Png;
    }
    if let Some(d) = run.display {
        cfg.display.kind = match d {
            DisplayArg::Png => DisplayKind::Png,
            DisplayArg::None => DisplayKind::None,
        };
    }
    if run.every_frame {
        cfg.display.every_frame = true;
    }
    if let Some(addr) = run.web {
        cfg.web.enabled = true;
        if let Some(addr) = addr {
            cfg.web.listen = addr;
        }
    }
    if let Some(dir) = &run.capture_dir {
        cfg.web.enabled = true;
        cfg.web.capture_dir = Some(dir.clone());
    }
    if let Some(p) = &global.rknn_runtime {
        cfg.classifier.rknn_runtime = Some(p.clone());
    }
    if let Some(c) = global.classifier {
        cfg.classifier.kind = match c {
            ClassifierArg::Cpu => ClassifierKind::Cpu,
            ClassifierArg::Npu => ClassifierKind::Npu,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_is_the_default_and_flags_work_either_way() {
        let cli = Cli::try_parse_from(["digitd", "--source", "a.y4m", "--fps", "0", "-vv"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.run_args().source, [PathBuf::from("a.y4m")]);
        assert_eq!(cli.global.verbose, 2);
        let cli = Cli::try_parse_from(["digitd", "run", "--loop", "--out", "x", "--config", "c.toml"]).unwrap();
        assert!(cli.run_args().looping);
        assert_eq!(cli.global.config, Some(PathBuf::from("c.toml")));
        assert!(Cli::try_parse_from(["digitd", "--fps", "-3"]).is_err());
        assert!(Cli::try_parse_from(["digitd", "recognize"]).is_err(), "needs files");
        assert!(Cli::try_parse_from(["digitd", "--loop", "selftest"]).unwrap().check().is_err(), "run flags do not go with other commands");
        assert!(Cli::try_parse_from(["digitd", "-v", "selftest", "--model", "m"]).unwrap().check().is_ok());
    }

    #[test]
    fn overrides_win_over_the_file() {
        let mut cfg = Config::default();
        let cli = Cli::try_parse_from([
            "digitd", "--model", "m.json", "--min-confidence", "0.9", "run", "--source", "a.png", "b.png", "--fps", "5", "--display",
            "none", "--classifier", "npu",
        ])
        .unwrap();
        apply_overrides(&mut cfg, &cli.global, cli.run_args());
        assert_eq!(cfg.source.kind, SourceKind::Images);
        assert_eq!(cfg.source.files.len(), 2);
        assert_eq!(cfg.source.fps.map(Fps::get), Some(5.0));
        assert_eq!(cfg.display.kind, DisplayKind::None);
        assert_eq!(cfg.classifier.kind, ClassifierKind::Npu);
        assert_eq!(cfg.manifest_path(), PathBuf::from("m.json"));
        assert_eq!(cfg.model.min_confidence.map(Probability::get), Some(0.9));
    }
}
