//! `digitd bench`: preprocessing + classification speed on real frames (the sample clip by
//! default), one core, no display. The NPU numbers come with the NPU back end.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::cli::BenchArgs;
use super::{build_pipeline, AppError, Context};
use crate::config::Fps;
use crate::frame::OwnedGrey;
use crate::pipeline::ms;
use crate::preprocess::StageTimings;
use crate::source;

pub fn bench(ctx: &Context, args: &BenchArgs) -> Result<ExitCode, AppError> {
    let mut cfg = ctx.config.clone();
    if let Some(p) = &args.source {
        cfg.source.path = Some(p.clone());
        cfg.source.files.clear();
        cfg.source.kind = crate::config::SourceKind::Auto;
    }
    // Load frames unpaced and without looping: the bench cycles through them itself.
    cfg.source.fps = Fps::try_from(0.0).ok();
    cfg.source.looping = false;
    let frames = load_frames(&cfg, args.frames as usize)?;
    let mut pipeline = build_pipeline(&cfg)?;

    // One untimed pass warms caches and grows every buffer.
    for f in &frames {
        pipeline.process(f.view())?;
    }
    let n = args.iterations as usize;
    let mut pre = Vec::with_capacity(n);
    let mut cls = Vec::with_capacity(n);
    let mut stages = StageTimings::default();
    let mut digits = 0usize;
    let started = Instant::now();
    for f in frames.iter().cycle().take(n) {
        let r = pipeline.process(f.view())?;
        pre.push(r.timings.preprocess);
        cls.push(r.timings.classify);
        digits += r.digits.len();
        add_stages(&mut stages, &r.timings.stages);
    }
    let wall = started.elapsed();

    let (w, h) = (frames[0].width, frames[0].height);
    println!(
        "bench: {} classifier, {} frames of {w}x{h} from {}, {n} iterations, one thread",
        pipeline.classifier_name(),
        frames.len(),
        cfg.source_path().display()
    );
    println!(
        "bench: {:.1} frames/s ({:.3} ms/frame), {:.2} digits/frame",
        n as f64 / wall.as_secs_f64(),
        ms(wall) / n as f64,
        digits as f64 / n as f64
    );
    println!("bench: preprocess {}", summary(&mut pre));
    println!("bench: classify   {}", summary(&mut cls));
    let per = |d: Duration| ms(d) / n as f64;
    println!(
        "bench: preprocess stages (mean ms): binarize {:.3}, polarity {:.3}, components {:.3}, filter {:.3}, grouping {:.3}, normalize {:.3}",
        per(stages.binarize),
        per(stages.polarity),
        per(stages.components),
        per(stages.filter),
        per(stages.grouping),
        per(stages.normalize)
    );
    Ok(ExitCode::SUCCESS)
}

/// Up to `max` frames of the configured source, as owned grey images.
fn load_frames(cfg: &crate::config::Config, max: usize) -> Result<Vec<OwnedGrey>, AppError> {
    let mut src = source::open(&cfg.source, &cfg.source_path(), None)?;
    let mut frames = Vec::new();
    let mut scratch = Vec::new();
    while frames.len() < max {
        let Some(raw) = src.next_frame()? else { break };
        let grey = raw.to_grey(&mut scratch).map_err(|e| AppError::Runtime(format!("bad frame from the source: {e}")))?;
        let mut frame = OwnedGrey::new(0, 0, 0);
        frame.copy_from(grey);
        frames.push(frame);
    }
    if frames.is_empty() {
        return Err(AppError::Runtime(format!("{} has no frames to benchmark", src.describe())));
    }
    Ok(frames)
}

fn add_stages(sum: &mut StageTimings, t: &StageTimings) {
    sum.binarize += t.binarize;
    sum.polarity += t.polarity;
    sum.components += t.components;
    sum.filter += t.filter;
    sum.grouping += t.grouping;
    sum.normalize += t.normalize;
}

/// `mean 1.234 ms, p50 1.200, p95 1.500, max 2.000`.
fn summary(times: &mut [Duration]) -> String {
    times.sort_unstable();
    let n = times.len().max(1);
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / n as f64;
    let pct = |p: usize| times.get((times.len() * p / 100).min(times.len().saturating_sub(1))).map_or(0.0, |d| ms(*d));
    format!("mean {mean:.3} ms, p50 {:.3}, p95 {:.3}, max {:.3}", pct(50), pct(95), times.last().map_or(0.0, |d| ms(*d)))
}
