//! `/api/status` (JSON) and `/metrics` (Prometheus text format 0.0.4) from the hub, plus the
//! board facts read at request time: memory, CPU temperature.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use serde::Serialize;

use super::hub::{Hub, PipelineStatus, State};

/// Everything `/api/status` returns.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub version: &'static str,
    pub uptime_s: f64,
    #[serde(flatten)]
    pub pipeline: PipelineStatus,
    /// Classification time of the last frame when the NPU does it, ms.
    pub npu_ms: Option<f64>,
    pub frames: u64,
    pub readings_shown: u64,
    pub camera_lost: u64,
    pub stream_clients: usize,
    pub max_clients: usize,
    pub capture_enabled: bool,
    pub captures: u64,
    pub cpu_temp_c: Option<f32>,
    pub resident_bytes: Option<u64>,
}

impl Status {
    pub fn gather(hub: &Hub, max_clients: usize, capture_enabled: bool) -> Status {
        let pipeline = hub.status();
        let c = &hub.counters;
        Status {
            version: env!("CARGO_PKG_VERSION"),
            uptime_s: hub.started.elapsed().as_secs_f64(),
            npu_ms: (pipeline.classifier == "npu" && pipeline.state != State::Starting).then_some(pipeline.latency_ms.classify),
            pipeline,
            frames: c.frames.load(Ordering::Relaxed),
            readings_shown: c.readings_shown.load(Ordering::Relaxed),
            camera_lost: c.camera_lost.load(Ordering::Relaxed),
            stream_clients: hub.clients(),
            max_clients,
            capture_enabled,
            captures: c.captures.load(Ordering::Relaxed),
            cpu_temp_c: cpu_temperature(),
            resident_bytes: resident_bytes(),
        }
    }
}

/// The SoC temperature from the first thermal zone (millidegrees in sysfs), if readable.
pub fn cpu_temperature() -> Option<f32> {
    let text = std::fs::read_to_string("/sys/class/thermal/thermal_zone0/temp").ok()?;
    parse_millidegrees(&text)
}

fn parse_millidegrees(text: &str) -> Option<f32> {
    let milli: i64 = text.trim().parse().ok()?;
    // Anything outside this is a driver reporting "no reading", not a temperature.
    (-60_000..=200_000).contains(&milli).then_some(milli as f32 / 1000.0)
}

/// This process's resident memory (`VmRSS`), bytes.
pub fn resident_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&text)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line["VmRSS:".len()..].trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// The Prometheus exposition text for `s` and the hub's counters.
pub fn metrics(s: &Status, hub: &Hub) -> String {
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, f64)]| {
        let _ = writeln!(out, "# HELP digitd_{name} {help}\n# TYPE digitd_{name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(out, "digitd_{name}{labels} {v}");
        }
    };
    let c = &hub.counters;
    metric("frames_total", "counter", "Frames read and processed.", &[("", s.frames as f64)]);
    metric("frame_rate", "gauge", "Frames per second, smoothed.", &[("", s.pipeline.fps as f64)]);
    let l = &s.pipeline.latency_ms;
    let stages = [
        ("{stage=\"binarize\"}", l.binarize),
        ("{stage=\"polarity\"}", l.polarity),
        ("{stage=\"components\"}", l.components),
        ("{stage=\"filter\"}", l.filter),
        ("{stage=\"grouping\"}", l.grouping),
        ("{stage=\"normalize\"}", l.normalize),
        ("{stage=\"preprocess\"}", l.preprocess),
        ("{stage=\"classify\"}", l.classify),
        ("{stage=\"total\"}", l.total),
    ]
    .map(|(k, ms)| (k, ms / 1000.0));
    metric("stage_seconds", "gauge", "Time per pipeline stage for a recent frame.", &stages);
    if let Some(npu) = s.npu_ms {
        metric("npu_seconds", "gauge", "NPU inference time for a recent frame.", &[("", npu / 1000.0)]);
    }
    let classifier = format!("{{classifier=\"{}\"}}", if s.pipeline.classifier == "npu" { "npu" } else { "cpu" });
    metric("classifier_info", "gauge", "The classifier in use.", &[(&classifier, 1.0)]);
    metric("reading_shown", "gauge", "1 while a stable reading is on screen.", &[("", s.pipeline.reading.is_some() as u8 as f64)]);
    metric("readings_shown_total", "counter", "Stable readings that appeared on screen.", &[("", s.readings_shown as f64)]);
    metric("camera_lost_total", "counter", "Times the camera was lost.", &[("", s.camera_lost as f64)]);
    metric("camera_lost", "gauge", "1 while the camera is lost.", &[("", (s.pipeline.state == State::CameraLost) as u8 as f64)]);
    metric("stream_clients", "gauge", "Live-view streams being served.", &[("", s.stream_clients as f64)]);
    metric("streams_refused_total", "counter", "Live-view streams refused (max_clients reached).", &[("", c.streams_refused.load(Ordering::Relaxed) as f64)]);
    metric("stream_frames_sent_total", "counter", "Live-view frames sent, all clients.", &[("", c.stream_frames_sent.load(Ordering::Relaxed) as f64)]);
    let r = |i: usize| c.responses[i].load(Ordering::Relaxed) as f64;
    metric(
        "http_responses_total",
        "counter",
        "HTTP responses by status class.",
        &[("{code=\"2xx\"}", r(0)), ("{code=\"3xx\"}", r(1)), ("{code=\"4xx\"}", r(2)), ("{code=\"5xx\"}", r(3))],
    );
    metric("captures_total", "counter", "Field captures saved.", &[("", s.captures as f64)]);
    if let Some(t) = s.cpu_temp_c {
        metric("cpu_temperature_celsius", "gauge", "SoC temperature (thermal_zone0).", &[("", t as f64)]);
    }
    if let Some(rss) = s.resident_bytes {
        metric("resident_memory_bytes", "gauge", "Resident memory of digitd.", &[("", rss as f64)]);
    }
    metric("uptime_seconds", "gauge", "Seconds since the web view started.", &[("", s.uptime_s)]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_readings_parse_or_are_absent() {
        assert_eq!(parse_millidegrees("48250\n"), Some(48.25));
        assert_eq!(parse_millidegrees("-1000"), Some(-1.0));
        assert_eq!(parse_millidegrees("garbage"), None);
        assert_eq!(parse_millidegrees("999999999"), None);
        assert_eq!(parse_vm_rss("Name:\tdigitd\nVmRSS:\t   12345 kB\nThreads: 3\n"), Some(12345 * 1024));
        assert_eq!(parse_vm_rss("VmRSS: lots"), None);
        assert_eq!(parse_vm_rss(""), None);
    }

    #[test]
    fn metrics_are_valid_exposition_text() {
        let hub = Hub::new();
        hub.counters.frames.store(42, Ordering::Relaxed);
        hub.count_response(200);
        hub.count_response(404);
        hub.count_response(404);
        let s = Status::gather(&hub, 8, false);
        let text = metrics(&s, &hub);
        assert!(text.contains("digitd_frames_total 42\n"), "{text}");
        assert!(text.contains("digitd_http_responses_total{code=\"4xx\"} 2\n"), "{text}");
        assert!(text.contains("digitd_stage_seconds{stage=\"classify\"} 0\n"), "{text}");
        // Every sample line is `name{labels} value` after its HELP and TYPE lines.
        let mut typed = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut f = rest.split(' ');
                typed.insert(f.next().unwrap().to_string());
                assert!(matches!(f.next(), Some("counter" | "gauge")), "{line}");
            } else if !line.starts_with("# HELP ") {
                let (name_labels, value) = line.rsplit_once(' ').unwrap();
                let name = name_labels.split('{').next().unwrap();
                assert!(typed.contains(name), "{name} has no TYPE line");
                assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{name}");
                value.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
            }
        }
        assert!(!text.contains("npu_seconds"), "no NPU time on the CPU classifier");
    }
}
