//! `digitd run`: the daemon loop. Frame source → preprocess → classify → policy → display,
//! until the source ends or SIGINT/SIGTERM; SIGHUP reloads the configuration.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use super::{build_pipeline, load_model, open_display, AppError, Context};
use crate::config::Config;
use crate::display::{Display, ScreenState, ShownDigit, Status};
use crate::frame::GreyImage;
use crate::pipeline::{FrameResult, Pipeline};
use crate::policy::{StableChange, Stabiliser};
use crate::source::{self, FrameSource, SourceError};

/// Frames a notice (such as "config reloaded") stays on screen.
const NOTICE_FRAMES: u32 = 30;

/// Signal flags set by the handlers and polled by the loop.
struct Signals {
    stop: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
}

impl Signals {
    fn install() -> Result<Signals, AppError> {
        let stop = Arc::new(AtomicBool::new(false));
        let reload = Arc::new(AtomicBool::new(false));
        let fail = |e: std::io::Error| AppError::Runtime(format!("cannot install signal handlers: {e}"));
        for sig in [SIGINT, SIGTERM] {
            // A second signal while the first is being handled ends the process at once.
            signal_hook::flag::register_conditional_shutdown(sig, 1, stop.clone()).map_err(fail)?;
            signal_hook::flag::register(sig, stop.clone()).map_err(fail)?;
        }
        signal_hook::flag::register(SIGHUP, reload.clone()).map_err(fail)?;
        Ok(Signals { stop, reload })
    }
}

/// Everything the loop owns; rebuilt in parts on reload.
struct Daemon {
    config: Config,
    source: Box<dyn FrameSource>,
    pipeline: Pipeline,
    display: Box<dyn Display>,
    stabiliser: Stabiliser,
    /// Confidence of the shown reading, from the last frame that had it.
    shown_confidence: Option<u8>,
    notice: Option<(String, u32)>,
    fps: FpsMeter,
    scratch: Vec<u8>,
    shown_digits: Vec<ShownDigit>,
    frames: u64,
    /// The technician's web view, when enabled.
    #[cfg_attr(not(feature = "web"), allow(dead_code))]
    web: Option<WebLink>,
}

/// The web server and the pipeline's handle on it (dropping it stops the server).
#[cfg(feature = "web")]
struct WebLink {
    publisher: crate::web::Publisher,
    _server: crate::web::WebServer,
}

#[cfg(not(feature = "web"))]
struct WebLink;

#[cfg(feature = "web")]
fn start_web(cfg: &Config, classifier: &str, source: &str) -> Result<Option<WebLink>, AppError> {
    use crate::web::{Hub, Publisher, WebServer};
    if !cfg.web.enabled {
        return Ok(None);
    }
    // Only for capture sidecars; the pipeline has already loaded and checked the model.
    let model_sha = crate::classify::Manifest::load(&cfg.manifest_path()).map(|m| m.onnx.sha256).unwrap_or_default();
    let hub = std::sync::Arc::new(Hub::new());
    let (server, bound) = WebServer::start(&cfg.web, hub.clone(), &model_sha).map_err(|e| AppError::Runtime(e.to_string()))?;
    let capture = match &cfg.web.capture_dir {
        Some(dir) => format!("capture into {}", dir.display()),
        None => "read-only".into(),
    };
    let token = if cfg.web.token.is_some() { ", token required" } else { "" };
    match bound {
        Ok(addr) => log::info!("web view on http://{addr}/ ({capture}{token})"),
        // The reader is the product; the technician's view waits for its address to appear.
        Err(e) => log::error!("{e}"),
    }
    let publisher = Publisher::new(hub, cfg.web.stream_fps.get(), classifier, source);
    Ok(Some(WebLink { publisher, _server: server }))
}

#[cfg(not(feature = "web"))]
fn start_web(cfg: &Config, _classifier: &str, _source: &str) -> Result<Option<WebLink>, AppError> {
    if cfg.web.enabled {
        return Err(AppError::Usage("this digitd was built without the web view; rebuild with `--features web`".into()));
    }
    Ok(None)
}

pub fn run(mut ctx: Context) -> Result<ExitCode, AppError> {
    let signals = Signals::install()?;
    let cfg = ctx.config.clone();
    let pipeline = build_pipeline(&cfg)?;
    let source = open_source(&cfg, &signals.stop)?;
    let mut display = open_display(&cfg.display, &cfg.out_dir())?;
    log::info!("reading from {}", source.describe());
    if cfg.display.kind == crate::config::DisplayKind::Png {
        log::info!("screens go to {}", cfg.out_dir().join(crate::display::png::LATEST_NAME).display());
    }
    display.show(&ScreenState { status: Status::Starting, ..Default::default() })?;
    let web = start_web(&cfg, pipeline.classifier_name(), &source.describe())?;
    let mut daemon = Daemon {
        stabiliser: Stabiliser::new(cfg.policy.stable_frames.get(), cfg.policy.vanish_frames.get()),
        config: cfg,
        source,
        pipeline,
        display,
        shown_confidence: None,
        notice: None,
        fps: FpsMeter::default(),
        scratch: Vec::new(),
        shown_digits: Vec::new(),
        frames: 0,
        web,
    };
    if daemon.config.classifier.kind == crate::config::ClassifierKind::Npu && daemon.pipeline.classifier_name() == "cpu" {
        daemon.notice = Some(("NPU missing: CPU fallback".into(), u32::MAX));
    }

    loop {
        if signals.stop.load(Ordering::Relaxed) {
            log::info!("stopping on signal after {} frames", daemon.frames);
            break;
        }
        if signals.reload.swap(false, Ordering::Relaxed) {
            reload(&mut ctx, &mut daemon, &signals.stop);
        }
        match daemon.step() {
            Ok(true) => {}
            Ok(false) if signals.stop.load(Ordering::Relaxed) => {} // the check above logs and leaves
            Ok(false) => {
                log::info!("source ended after {} frames", daemon.frames);
                break;
            }
            Err(AppError::Source(SourceError::CameraLost { .. })) => {
                // The source logged why and reopens the camera at the next call (after its
                // backoff); meanwhile the screen says so and no stale reading stays up.
                if daemon.stabiliser.reset().is_some() {
                    print_reading(None);
                }
                daemon.shown_confidence = None;
                #[cfg(feature = "web")]
                if let Some(web) = &mut daemon.web {
                    web.publisher.camera_lost();
                }
                daemon.display.show(&ScreenState { status: Status::CameraLost, ..Default::default() })?;
            }
            Err(e @ AppError::Source(_)) => {
                // Tell the screen before giving up.
                let _ = daemon.display.show(&ScreenState { status: Status::CameraLost, ..Default::default() });
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn open_source(cfg: &Config, stop: &Arc<AtomicBool>) -> Result<Box<dyn FrameSource>, AppError> {
    Ok(source::open(&cfg.source, &cfg.source_path(), Some(stop.clone()))?)
}

impl Daemon {
    /// Processes one frame; false when the source has ended (or a stop signal cut a pacing
    /// wait short and the source has nothing).
    fn step(&mut self) -> Result<bool, AppError> {
        let Some(raw) = self.source.next_frame()? else { return Ok(false) };
        let grey = raw.to_grey(&mut self.scratch).map_err(|e| AppError::Runtime(format!("bad frame from the source: {e}")))?;
        self.pipeline.process(grey)?;
        let result = self.pipeline.last_result();
        self.frames += 1;
        self.fps.tick();

        match self.stabiliser.update(&result.reading) {
            Some(StableChange::Shown(text)) => {
                #[cfg(feature = "web")]
                if let Some(web) = &self.web {
                    web.publisher.reading_shown();
                }
                print_reading(Some(&text));
                log::info!("reading: {}", text.replace('\n', " / "));
            }
            Some(StableChange::Cleared) => {
                print_reading(None);
                log::info!("reading cleared");
            }
            None => {}
        }
        if self.stabiliser.shown().is_some_and(|s| s == result.reading) {
            self.shown_confidence = result.reading_confidence().map(percent);
        }
        #[cfg(feature = "web")]
        if let Some(web) = &mut self.web {
            let ctx = crate::web::FrameContext {
                shown: self.stabiliser.shown(),
                shown_confidence: self.shown_confidence.map(|p| f32::from(p) / 100.0),
                fps_tenths: self.fps.tenths(),
            };
            web.publisher.frame(grey, result, self.pipeline.candidates(), ctx);
        }
        show(
            self.display.as_mut(),
            grey,
            result,
            &self.stabiliser,
            self.shown_confidence,
            &mut self.shown_digits,
            self.fps.tenths(),
            self.notice.as_ref().map(|(n, _)| n.as_str()),
        )?;
        if let Some((_, frames)) = &mut self.notice {
            *frames = frames.saturating_sub(1);
            if *frames == 0 {
                self.notice = None;
            }
        }
        Ok(true)
    }
}

/// Draws one screen for the frame.
#[allow(clippy::too_many_arguments)]
fn show(
    display: &mut dyn Display,
    grey: GreyImage<'_>,
    result: &FrameResult,
    stabiliser: &Stabiliser,
    shown_confidence: Option<u8>,
    shown_digits: &mut Vec<ShownDigit>,
    fps_tenths: u32,
    notice: Option<&str>,
) -> Result<(), AppError> {
    shown_digits.clear();
    shown_digits.extend(
        result.accepted().map(|d| ShownDigit { bbox: d.bbox, digit: d.digit, confidence_pct: percent(d.confidence) }),
    );
    let reading = stabiliser.shown();
    let status = if reading.is_some() || !shown_digits.is_empty() { Status::Reading } else { Status::NoDigits };
    display.show(&ScreenState {
        camera: Some(grey),
        digits: shown_digits,
        reading,
        confidence_pct: reading.and(shown_confidence),
        fps: fps_tenths,
        status,
        notice,
    })?;
    Ok(())
}

/// `reading: 317` on stdout (rows joined by ` / `), `reading: (none)` when it goes.
fn print_reading(reading: Option<&str>) {
    let mut out = std::io::stdout().lock();
    let _ = match reading {
        Some(r) => writeln!(out, "reading: {}", r.replace('\n', " / ")),
        None => writeln!(out, "reading: (none)"),
    };
    let _ = out.flush();
}

fn percent(p: f32) -> u8 { (p.clamp(0.0, 1.0) * 100.0).round() as u8 }

/// SIGHUP: reads the config again and applies what changed. Any failure keeps the old
/// configuration entirely.
fn reload(ctx: &mut Context, daemon: &mut Daemon, stop: &Arc<AtomicBool>) {
    log::info!("SIGHUP: reloading the configuration");
    let new = match ctx.load_config() {
        Ok((cfg, path)) => {
            ctx.config_path = path;
            cfg
        }
        Err(e) => {
            log::error!("config reload failed, keeping the old configuration: {e}");
            daemon.notice = Some(("config invalid: kept old".into(), NOTICE_FRAMES));
            return;
        }
    };
    match apply_config(daemon, &new, stop) {
        Ok(()) => {
            crate::logging::set_level(ctx.log_level(&new));
            if new.log.file != daemon.config.log.file {
                log::warn!("log.file changes take effect at the next start");
            }
            daemon.config = new.clone();
            ctx.config = new;
            daemon.notice = Some(("config reloaded".into(), NOTICE_FRAMES));
            log::info!("configuration reloaded");
        }
        Err(e) => {
            log::error!("config reload failed, keeping the old configuration: {e}");
            daemon.notice = Some(("config reload failed".into(), NOTICE_FRAMES));
        }
    }
}

/// Builds every changed part first, then swaps them in, so a failure changes nothing.
fn apply_config(daemon: &mut Daemon, new: &Config, stop: &Arc<AtomicBool>) -> Result<(), AppError> {
    let old = &daemon.config;
    let model = if new.model != old.model || new.classifier != old.classifier {
        Some(load_model(new)?)
    } else {
        None
    };
    let display = if new.display != old.display { Some(open_display(&new.display, &new.out_dir())?) } else { None };
    let source = if new.source != old.source { Some(open_source(new, stop)?) } else { None };

    if let Some((_, classifier, rule)) = model {
        daemon.pipeline.set_classifier(classifier);
        daemon.pipeline.set_rule(rule);
    }
    if new.web != old.web {
        log::warn!("[web] changes take effect at the next start");
    }
    if let Some(display) = display {
        daemon.display = display;
    }
    if let Some(source) = source {
        log::info!("reading from {}", source.describe());
        #[cfg(feature = "web")]
        if let Some(web) = &mut daemon.web {
            web.publisher.set_source(&source.describe());
        }
        daemon.source = source;
    }
    #[cfg(feature = "web")]
    if let Some(web) = &mut daemon.web {
        web.publisher.set_classifier(daemon.pipeline.classifier_name());
    }
    if new.preprocess != old.preprocess {
        daemon.pipeline.set_preprocess(new.preprocess.clone());
    }
    daemon.stabiliser.set_thresholds(new.policy.stable_frames.get(), new.policy.vanish_frames.get());
    Ok(())
}

/// Frames per second, smoothed over the last few frames.
#[derive(Debug, Default)]
struct FpsMeter {
    last: Option<Instant>,
    /// Exponential moving average of the frame period in seconds.
    period: Option<f64>,
}

impl FpsMeter {
    fn tick(&mut self) {
        let now = Instant::now();
        if let Some(last) = self.last {
            let dt = (now - last).as_secs_f64();
            self.period = Some(match self.period {
                Some(p) => p * 0.9 + dt * 0.1,
                None => dt,
            });
        }
        self.last = Some(now);
    }

    /// In tenths of a frame per second (what the display takes).
    fn tenths(&self) -> u32 {
        match self.period {
            Some(p) if p > 0.0 => ((10.0 / p).round()).min(99_999.0) as u32,
            _ => 0,
        }
    }
}
