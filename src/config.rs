//! The configuration file (TOML): every key optional, every value checked.
//!
//! Values are validated while deserialising (small newtypes with `try_from`), so a bad value
//! is reported by the TOML parser with its position; we turn positions into line numbers and
//! dotted key names. Relative paths inside a file are relative to that file's folder, so a
//! config can ship next to its model; paths given on the command line are relative to the
//! current directory. Absent paths fall back to the defaults below.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::policy::Thresholds;
use crate::preprocess::PreprocessConfig;

/// Files looked at, in order, when no `--config` is given.
pub const SEARCH_PATHS: [&str; 2] = ["digitd.toml", "/etc/digitd.toml"];

/// Sample clip replayed by default on a PC (absolute, from the crate root at build time).
pub const DEFAULT_CLIP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample/clip.y4m.gz");
/// Model manifest used by default (absolute, from the crate root at build time).
pub const DEFAULT_MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/model/artifacts/MANIFEST.json");
/// Where PNG screens go by default (relative to the current directory).
pub const DEFAULT_OUT_DIR: &str = "out";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("config file {path}, line {line}{key}: {message}")]
    Invalid { path: PathBuf, line: usize, key: KeyName, message: String },
    #[error("config file {path}: {message}")]
    Rejected { path: PathBuf, message: String },
    #[error("invalid setting {key}: {message}")]
    Override { key: &'static str, message: String },
}

/// The dotted key an error is about, shown as `, key display.size` (empty when unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyName(pub Option<String>);

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(k) => write!(f, ", key `{k}`"),
            None => Ok(()),
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub source: SourceConfig,
    pub model: ModelConfig,
    pub classifier: ClassifierConfig,
    pub display: DisplayConfig,
    pub policy: PolicyConfig,
    pub log: LogConfig,
    pub preprocess: PreprocessConfig,
    pub web: WebConfig,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    pub kind: SourceKind,
    /// Clip file, folder or single image; default: the bundled sample clip.
    pub path: Option<PathBuf>,
    /// Image files for `kind = "images"` (instead of `path`).
    pub files: Vec<PathBuf>,
    /// Replay rate; default: the clip's own rate; 0: as fast as possible.
    pub fps: Option<Fps>,
    /// Start again at the first frame when the source ends.
    #[serde(rename = "loop")]
    pub looping: bool,
    /// The live camera for `kind = "camera"` (`path` then names the node, e.g. `/dev/video0`).
    pub camera: CameraConfig,
}

/// `[source.camera]`: V4L2 capture settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    /// With no `source.path`, the node whose sysfs name this is (the RV1106 ISP's main path).
    pub name: String,
    pub width: Bounded<16, 8192>,
    pub height: Bounded<16, 8192>,
    /// "auto" (the best format offered), or nv12, nv21, nv12m, nv21m, grey, yuyv.
    pub pixel_format: CameraPixelFormat,
    /// Frames dropped after each (re)open while auto-exposure settles.
    pub settle_frames: Bounded<0, 1000>,
    /// Capture buffers to ask the driver for.
    pub buffers: Bounded<2, 32>,
    /// No frame for this long means the camera is lost (it is then reopened).
    pub frame_timeout_ms: Bounded<100, 60_000>,
    /// Longest wait between attempts to reopen a lost camera.
    pub max_reopen_interval_ms: Bounded<250, 600_000>,
}

impl Default for CameraConfig {
    fn default() -> Self {
        Self {
            name: "rkisp_mainpath".into(),
            width: Bounded(640),
            height: Bounded(480),
            pixel_format: CameraPixelFormat::default(),
            settle_frames: Bounded(30),
            buffers: Bounded(3),
            frame_timeout_ms: Bounded(2000),
            max_reopen_interval_ms: Bounded(5000),
        }
    }
}

/// A configured camera pixel format: "auto" or one digitd reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct CameraPixelFormat(Option<crate::source::camera::format::FourCc>);

impl CameraPixelFormat {
    pub fn get(&self) -> Option<crate::source::camera::format::FourCc> { self.0 }
}

impl TryFrom<String> for CameraPixelFormat {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        if v.eq_ignore_ascii_case("auto") {
            return Ok(CameraPixelFormat(None));
        }
        crate::source::camera::format::parse_fourcc(&v)
            .map(|f| CameraPixelFormat(Some(f)))
            .ok_or_else(|| format!("pixel_format must be auto, nv12, nv21, nv12m, nv21m, grey or yuyv, got {v:?}"))
    }
}

impl From<CameraPixelFormat> for String {
    fn from(p: CameraPixelFormat) -> String { p.0.map_or_else(|| "auto".into(), |f| f.to_string().to_ascii_lowercase()) }
}

/// An integer in `LO..=HI`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Bounded<const LO: u32, const HI: u32>(u32);

impl<const LO: u32, const HI: u32> Bounded<LO, HI> {
    pub fn get(self) -> u32 { self.0 }
}

impl<const LO: u32, const HI: u32> TryFrom<i64> for Bounded<LO, HI> {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        if (LO as i64..=HI as i64).contains(&v) {
            Ok(Bounded(v as u32))
        } else {
            Err(format!("must be between {LO} and {HI}, got {v}"))
        }
    }
}

impl<const LO: u32, const HI: u32> From<Bounded<LO, HI>> for i64 {
    fn from(b: Bounded<LO, HI>) -> i64 { b.0 as i64 }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Decide from the path: a folder, a `.y4m`/`.y4m.gz` clip, or an image.
    #[default]
    Auto,
    Clip,
    Images,
    Folder,
    /// A live V4L2 camera (`[source.camera]`; needs a build with the `camera` feature).
    Camera,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// `MANIFEST.json` of the model artifacts.
    pub manifest: Option<PathBuf>,
    /// Overrides the manifest's `reject.min_confidence`.
    pub min_confidence: Option<Probability>,
    /// Overrides the manifest's `reject.max_not_a_digit`.
    pub max_not_a_digit: Option<Probability>,
    /// The row rule: beside accepted digits of about its height in the same text row, a
    /// candidate needs only this top-digit probability...
    pub row_min_confidence: Probability,
    /// ...and at most this p(not a digit). Set both to the strict values to turn it off.
    pub row_max_not_a_digit: Probability,
    /// The lone-digit rule: on a frame where nothing else is read and exactly one candidate
    /// has a digit on top, that candidate needs only this probability...
    pub lone_min_confidence: Probability,
    /// ...and at most this p(not a digit). Set both to the strict values to turn it off.
    pub lone_max_not_a_digit: Probability,
}

impl ModelConfig {
    /// The row rule's thresholds as configured.
    pub fn row_thresholds(&self) -> Thresholds { Thresholds::new(self.row_min_confidence.get(), self.row_max_not_a_digit.get()) }

    /// The lone-digit rule's thresholds as configured.
    pub fn lone_thresholds(&self) -> Thresholds { Thresholds::new(self.lone_min_confidence.get(), self.lone_max_not_a_digit.get()) }
}

impl Default for ModelConfig {
    fn default() -> Self {
        let (row, lone) = (crate::policy::DEFAULT_ROW_RULE, crate::policy::DEFAULT_LONE_RULE);
        Self {
            manifest: None,
            min_confidence: None,
            max_not_a_digit: None,
            row_min_confidence: Probability(row.0.min_confidence),
            row_max_not_a_digit: Probability(row.0.max_not_a_digit),
            lone_min_confidence: Probability(lone.0.min_confidence),
            lone_max_not_a_digit: Probability(lone.0.max_not_a_digit),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifierConfig {
    pub kind: ClassifierKind,
    /// Use the CPU classifier when the requested one is unavailable.
    pub fallback_to_cpu: bool,
    /// The RKNN runtime (`librknnmrt.so`, or a folder holding it), tried before the standard
    /// places: `/oem/usr/lib`, `/usr/lib`, next to the binary.
    pub rknn_runtime: Option<PathBuf>,
}

impl Default for ClassifierConfig {
    fn default() -> Self { Self { kind: ClassifierKind::Cpu, fallback_to_cpu: true, rknn_runtime: None } }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassifierKind {
    #[default]
    Cpu,
    Npu,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DisplayConfig {
    pub kind: DisplayKind,
    /// Folder for PNG screens; default `out` in the current directory.
    pub out_dir: Option<PathBuf>,
    pub size: PanelSize,
    /// Keep every frame's screen (`frame-000001.png`, ...) instead of only `latest.png`.
    pub every_frame: bool,
    /// Framebuffer device for `kind = "framebuffer"`.
    pub device: PathBuf,
    /// SPI panel for `kind = "panel"`.
    pub panel: crate::display::panel::PanelConfig,
}

impl Default for DisplayConfig {
    fn default() -> Self {
        Self { kind: DisplayKind::Png, out_dir: None, size: PanelSize::default(), every_frame: false, device: PathBuf::from("/dev/fb0"), panel: Default::default() }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DisplayKind {
    #[default]
    Png,
    /// A Linux framebuffer (`device`), e.g. the kernel's fbtft driver for an SPI panel.
    Framebuffer,
    /// An SPI panel driven from user space (`[display.panel]`).
    Panel,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// A reading is shown once seen in this many consecutive frames.
    pub stable_frames: FrameCount,
    /// A shown reading goes after this many frames without it.
    pub vanish_frames: FrameCount,
}

impl Default for PolicyConfig {
    fn default() -> Self { Self { stable_frames: FrameCount(3), vanish_frames: FrameCount(3) } }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub level: LogLevel,
    /// Also append log lines to this file.
    pub file: Option<PathBuf>,
}

/// `[web]`: the technician's web view (live picture, status, metrics, field capture).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Off unless asked for: `digitd run --web` or `enabled = true`.
    pub enabled: bool,
    /// The one address and port it listens on (e.g. the board's USB-gadget address).
    pub listen: std::net::SocketAddr,
    /// When set, every request must carry `Authorization: Bearer <token>` (or `?token=`).
    pub token: Option<WebToken>,
    /// Most live streams served at once; more get 503.
    pub max_clients: Bounded<1, 256>,
    /// Most live-view frames per second (each client gets at most this many).
    pub stream_fps: Bounded<1, 60>,
    /// Width of the live view and snapshots, pixels (never wider than the camera frame).
    pub view_width: Bounded<64, 4096>,
    pub jpeg_quality: Bounded<10, 100>,
    /// Field capture (`POST /api/capture`) saves into this folder; without it the server is
    /// read-only.
    pub capture_dir: Option<PathBuf>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            max_clients: Bounded(8),
            stream_fps: Bounded(10),
            view_width: Bounded(640),
            jpeg_quality: Bounded(80),
            capture_dir: None,
        }
    }
}

/// A bearer token: 8-256 printable ASCII characters without spaces.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebToken(String);

impl WebToken {
    pub fn as_str(&self) -> &str { &self.0 }
}

impl TryFrom<String> for WebToken {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        if !(8..=256).contains(&v.len()) {
            return Err(format!("token must be 8 to 256 characters long, got {}", v.len()));
        }
        if !v.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("token must be printable ASCII without spaces".into());
        }
        Ok(WebToken(v))
    }
}

impl From<WebToken> for String {
    fn from(t: WebToken) -> String { t.0 }
}

/// Never printed: configs get logged at debug level.
impl fmt::Debug for WebToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str("WebToken(..)") }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Off,
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Off => log::LevelFilter::Off,
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

/// Frames per second: finite, 0 (as fast as possible) to 1000.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Fps(f32);

impl Fps {
    pub fn get(self) -> f32 { self.0 }
}

impl TryFrom<f64> for Fps {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        if v.is_finite() && (0.0..=1000.0).contains(&v) {
            Ok(Fps(v as f32))
        } else {
            Err(format!("fps must be between 0 and 1000 (0: as fast as possible), got {v}"))
        }
    }
}

impl From<Fps> for f64 {
    fn from(f: Fps) -> f64 { f.0 as f64 }
}

/// A probability in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Probability(f32);

impl Probability {
    pub fn get(self) -> f32 { self.0 }
}

impl TryFrom<f64> for Probability {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        if (0.0..=1.0).contains(&v) {
            Ok(Probability(v as f32))
        } else {
            Err(format!("must be a probability between 0 and 1, got {v}"))
        }
    }
}

impl From<Probability> for f64 {
    fn from(p: Probability) -> f64 { p.0 as f64 }
}

/// A number of frames, 1 to 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct FrameCount(u32);

impl FrameCount {
    pub fn get(self) -> u32 { self.0 }
}

impl TryFrom<i64> for FrameCount {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        if (1..=1000).contains(&v) {
            Ok(FrameCount(v as u32))
        } else {
            Err(format!("must be a number of frames from 1 to 1000, got {v}"))
        }
    }
}

impl From<FrameCount> for i64 {
    fn from(c: FrameCount) -> i64 { c.0 as i64 }
}

/// Panel size in pixels, written `"240x240"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct PanelSize {
    pub width: u32,
    pub height: u32,
}

impl Default for PanelSize {
    fn default() -> Self { Self { width: 240, height: 240 } }
}

impl std::str::FromStr for PanelSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("size must look like \"240x240\" (width x height, 16 to 4096 each), got {s:?}");
        let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        let width: u32 = w.trim().parse().map_err(|_| bad())?;
        let height: u32 = h.trim().parse().map_err(|_| bad())?;
        if !(16..=4096).contains(&width) || !(16..=4096).contains(&height) {
            return Err(bad());
        }
        Ok(PanelSize { width, height })
    }
}

impl TryFrom<String> for PanelSize {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> { s.parse() }
}

impl From<PanelSize> for String {
    fn from(p: PanelSize) -> String { p.to_string() }
}

impl fmt::Display for PanelSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { write!(f, "{}x{}", self.width, self.height) }
}

impl Config {
    /// Parses `text` (the contents of `path`, which is only used in messages and to resolve
    /// relative paths) and validates it.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| {
            let span = e.span();
            let (line, key) = match &span {
                Some(span) => (line_of(text, span.start), KeyName(key_at(text, span.clone()))),
                None => (0, KeyName(None)),
            };
            let message = e.message().trim().to_string();
            if line == 0 {
                ConfigError::Rejected { path: path.to_path_buf(), message }
            } else {
                ConfigError::Invalid { path: path.to_path_buf(), line, key, message }
            }
        })?;
        if let Err(message) = cfg.preprocess.validate() {
            // The message starts with `preprocess.<field>`: point at that key's line.
            let field = message
                .strip_prefix("preprocess.")
                .and_then(|m| m.split(':').next())
                .map(str::to_string);
            let line = field.as_deref().and_then(|f| line_of_key(text, "preprocess", f));
            return Err(match line {
                Some(line) => ConfigError::Invalid {
                    path: path.to_path_buf(),
                    line,
                    key: KeyName(field.map(|f| format!("preprocess.{f}"))),
                    message,
                },
                None => ConfigError::Rejected { path: path.to_path_buf(), message },
            });
        }
        let base = path.parent().unwrap_or(Path::new(""));
        cfg.rebase_paths(base);
        Ok(cfg)
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.to_path_buf(), source })?;
        Config::parse(&text, path)
    }

    /// The config file to use: `explicit` if given, else the first of [`SEARCH_PATHS`] that
    /// exists, else none (defaults).
    pub fn find(explicit: Option<&Path>) -> Option<PathBuf> {
        if let Some(p) = explicit {
            return Some(p.to_path_buf());
        }
        SEARCH_PATHS.iter().map(PathBuf::from).find(|p| p.is_file())
    }

    /// Loads `path` or returns the defaults when there is none.
    pub fn load_or_default(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            Some(p) => Config::load(p),
            None => Ok(Config::default()),
        }
    }

    /// Makes the relative paths written in the file relative to the file's folder.
    fn rebase_paths(&mut self, base: &Path) {
        let rebase = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        self.source.path.as_mut().map(rebase);
        self.source.files.iter_mut().for_each(rebase);
        self.model.manifest.as_mut().map(rebase);
        self.display.out_dir.as_mut().map(rebase);
        self.log.file.as_mut().map(rebase);
        self.web.capture_dir.as_mut().map(rebase);
    }

    pub fn source_path(&self) -> PathBuf {
        self.source.path.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CLIP))
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.model.manifest.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_MANIFEST))
    }

    pub fn out_dir(&self) -> PathBuf {
        self.display.out_dir.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_DIR))
    }
}

/// 1-based line of byte offset `pos`.
fn line_of(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text.as_bytes()[..pos].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The dotted name of the key whose line contains `span` (`display.size`), from the nearest
/// `[table]` header above it. Best effort: only for plain `key = value` lines.
fn key_at(text: &str, span: Range<usize>) -> Option<String> {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let trimmed = line.trim();
    let key = if let Some(header) = trimmed.strip_prefix('[') {
        // An error on a header line is about the table itself.
        return Some(header.trim_start_matches('[').split(']').next()?.trim().to_string());
    } else {
        trimmed.split('=').next()?.trim().trim_matches('"').to_string()
    };
    if key.is_empty() {
        return None;
    }
    match table_above(text, line_start) {
        Some(table) => Some(format!("{table}.{key}")),
        None => Some(key),
    }
}

/// The `[table]` header in force at byte `pos`.
fn table_above(text: &str, pos: usize) -> Option<String> {
    text[..pos].lines().rev().map(str::trim).find(|l| l.starts_with('[')).map(|l| {
        l.trim_start_matches('[').split(']').next().unwrap_or("").trim().to_string()
    })
}

/// Line of `key = ...` inside `[table]`, if written that way.
fn line_of_key(text: &str, table: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            current = l.trim_start_matches('[').split(']').next().unwrap_or("").trim().to_string();
        } else if current == table && l.split('=').next().map(str::trim) == Some(key) {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> { Config::parse(text, Path::new("/etc/x/digitd.toml")) }

    #[test]
    fn empty_file_gives_defaults() {
        let cfg = parse("").unwrap();
        assert_eq!(cfg, Config::default());
        assert_eq!(cfg.policy.stable_frames.get(), 3);
        assert_eq!(cfg.display.size, PanelSize { width: 240, height: 240 });
        assert!(cfg.classifier.fallback_to_cpu);
        assert_eq!(cfg.manifest_path(), PathBuf::from(DEFAULT_MANIFEST));
    }

    #[test]
    fn every_section_parses() {
        let cfg = parse(
            r#"
[source]
kind = "clip"
path = "clips/a.y4m"
fps = 12.5
loop = true
[model]
manifest = "/models/MANIFEST.json"
min_confidence = 0.8
max_not_a_digit = 0.15
[classifier]
kind = "npu"
fallback_to_cpu = false
[display]
kind = "none"
out_dir = "screens"
size = "320x240"
every_frame = true
[policy]
stable_frames = 5
vanish_frames = 2
[log]
level = "debug"
file = "/var/log/digitd.log"
[preprocess]
max_digits = 8
"#,
        )
        .unwrap();
        assert_eq!(cfg.source.kind, SourceKind::Clip);
        assert_eq!(cfg.source_path(), PathBuf::from("/etc/x/clips/a.y4m"), "relative to the config file");
        assert_eq!(cfg.source.fps.map(Fps::get), Some(12.5));
        assert!(cfg.source.looping);
        assert_eq!(cfg.manifest_path(), PathBuf::from("/models/MANIFEST.json"));
        assert_eq!(cfg.model.min_confidence.map(Probability::get), Some(0.8));
        assert_eq!(cfg.model.max_not_a_digit.map(Probability::get), Some(0.15));
        assert_eq!(cfg.classifier.kind, ClassifierKind::Npu);
        assert_eq!(cfg.display.size, PanelSize { width: 320, height: 240 });
        assert_eq!(cfg.out_dir(), PathBuf::from("/etc/x/screens"));
        assert_eq!(cfg.policy.vanish_frames.get(), 2);
        assert_eq!(cfg.log.level, LogLevel::Debug);
        assert_eq!(cfg.preprocess.max_digits, 8);
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = parse("[source]\nfps = 5\n\n[display]\ncolour = \"red\"\n").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ConfigError::Invalid { line: 5, .. }), "{msg}");
        assert!(msg.contains("colour"), "{msg}");
        assert!(msg.contains("display.colour"), "{msg}");
        let err = parse("[camera]\nx = 1\n").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { line: 1, .. }), "{err}");
        assert!(err.to_string().contains("camera"), "{err}");
    }

    #[test]
    fn invalid_values_name_key_and_line() {
        for (text, line, key) in [
            ("[display]\nsize = \"big\"\n", 2, "display.size"),
            ("[policy]\n\nstable_frames = 0\n", 3, "policy.stable_frames"),
            ("[source]\nfps = -1\n", 2, "source.fps"),
            ("[model]\nmin_confidence = 1.5\n", 2, "model.min_confidence"),
            ("[log]\nlevel = \"loud\"\n", 2, "log.level"),
            ("[source]\nkind = \"webcam\"\n", 2, "source.kind"),
            ("[display]\nevery_frame = \"yes\"\n", 2, "display.every_frame"),
            ("[preprocess]\nmax_digits = 0\n", 2, "preprocess.max_digits"),
            ("[source.camera]\nbuffers = 1\n", 2, "source.camera.buffers"),
            ("[source.camera]\nwidth = 640\npixel_format = \"mjpg\"\n", 3, "source.camera.pixel_format"),
            ("[source.camera]\nfocus = 3\n", 2, "source.camera.focus"),
        ] {
            let err = parse(text).unwrap_err();
            let msg = err.to_string();
            match &err {
                ConfigError::Invalid { line: l, key: KeyName(Some(k)), .. } => {
                    assert_eq!((*l, k.as_str()), (line, key), "{msg}")
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let err = parse("[source]\npath = \n").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { line: 2, .. }), "{err}");
    }

    #[test]
    fn panel_size_parsing() {
        assert_eq!("320x240".parse::<PanelSize>().unwrap(), PanelSize { width: 320, height: 240 });
        for bad in ["", "240", "0x240", "240x", "x240", "99999x1", "axb"] {
            assert!(bad.parse::<PanelSize>().is_err(), "{bad}");
        }
    }

    #[test]
    fn web_settings_are_checked() {
        let p = Path::new("/etc/x/digitd.toml");
        let cfg = Config::parse("[web]\nenabled = true\nlisten = \"172.32.0.93:80\"\ncapture_dir = \"caps\"\n", p).unwrap();
        assert_eq!(cfg.web.listen.to_string(), "172.32.0.93:80");
        assert_eq!(cfg.web.capture_dir, Some(PathBuf::from("/etc/x/caps")), "relative to the config file");
        for (bad, key) in [
            ("listen = \"localhost\"", "web.listen"),
            ("token = \"short\"", "web.token"),
            ("token = \"has a space in it\"", "web.token"),
            ("max_clients = 0", "web.max_clients"),
            ("stream_fps = 61", "web.stream_fps"),
            ("colour = 1", "web"),
        ] {
            let e = Config::parse(&format!("[web]\n{bad}\n"), p).unwrap_err().to_string();
            assert!(e.contains("line 2"), "{bad}: {e}");
            assert!(e.contains(key), "{bad}: {e}");
        }
        // The token never shows in debug output (configs are logged).
        let t = Config::parse("[web]\ntoken = \"s3cret-token\"\n", p).unwrap();
        assert!(!format!("{t:?}").contains("s3cret"));
    }

    #[test]
    fn the_board_example_is_valid_and_complete() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("board/digitd.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        // Its uncommented keys are set to their defaults (the commented ones are examples).
        assert_eq!(Config::parse(&text, &path).unwrap(), Config::default());
        // Every key of the defaults appears in the example (commented or not).
        let defaults = toml::to_string(&Config::default()).unwrap();
        for line in defaults.lines() {
            if let Some((key, _)) = line.split_once(" = ") {
                assert!(text.contains(&format!("{} =", key.trim())), "board/digitd.toml lacks `{key}`");
            }
        }
        for key in ["name", "width", "pixel_format", "settle_frames", "buffers", "frame_timeout_ms", "max_reopen_interval_ms"] {
            assert!(text.contains(&format!("{key} =")), "board/digitd.toml lacks `{key}`");
        }
        for key in ["path", "files", "fps", "manifest", "min_confidence", "max_not_a_digit", "out_dir", "file", "force_polarity", "token", "capture_dir"] {
            assert!(text.contains(&format!("{key} =")), "board/digitd.toml lacks `{key}`");
        }
    }

    /// The example's `[preprocess]` keys are commented out at their defaults (all but
    /// `force_polarity`, whose default is "decide per frame"): uncommented, they must give
    /// exactly the built-in defaults, so the documentation cannot drift from the code.
    #[test]
    fn the_board_example_shows_the_real_preprocess_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("board/digitd.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let section = text.split("\n[preprocess]\n").nth(1).expect("a [preprocess] section");
        let section = section.split("\n[").next().unwrap_or(section);
        let uncommented: Vec<&str> = section
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.split_once(" = ").is_some_and(|(k, _)| k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')))
            .filter(|l| !l.starts_with("force_polarity "))
            .collect();
        assert!(uncommented.len() >= 20, "found only {} documented keys", uncommented.len());
        let documented = Config::parse(&format!("[preprocess]\n{}\n", uncommented.join("\n")), &path).unwrap();
        assert_eq!(documented.preprocess, crate::preprocess::PreprocessConfig::default());
    }
}
