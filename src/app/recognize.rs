//! `digitd recognize FILE...`: one-shot reading of image files.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use super::cli::RecognizeArgs;
use super::{build_pipeline, exit, AppError, Context};
use crate::pipeline::{ms, FrameResult, Pipeline};
use crate::source::load_grey;

/// One line of `--json` output.
#[derive(Debug, Serialize)]
struct JsonLine<'a> {
    file: &'a str,
    text: &'a str,
    digits: Vec<JsonDigit>,
    ms: f64,
}

#[derive(Debug, Serialize)]
struct JsonDigit {
    digit: u8,
    confidence: f64,
    #[serde(rename = "box")]
    bbox: [u32; 4],
}

pub fn recognize(ctx: &Context, args: &RecognizeArgs) -> Result<ExitCode, AppError> {
    let mut pipeline = build_pipeline(&ctx.config)?;
    let mut stdout = std::io::stdout().lock();
    let mut failed = 0;
    for path in &args.files {
        match read_one(&mut pipeline, path) {
            Ok(result) => {
                let line = if args.json { json_line(path, result) } else { text_line(path, result) };
                writeln!(stdout, "{line}").map_err(|e| AppError::Runtime(format!("cannot write the output: {e}")))?;
            }
            Err(e) => {
                failed += 1;
                // Keep the order of stdout and stderr lines as the files were given.
                let _ = stdout.flush();
                exit::report(&e.to_string());
            }
        }
    }
    let _ = stdout.flush();
    if failed > 0 {
        let e = AppError::InputsFailed { failed, total: args.files.len() };
        if args.files.len() > 1 {
            exit::report(&e.to_string());
        }
        return Ok(e.exit_code());
    }
    Ok(ExitCode::SUCCESS)
}

fn read_one<'p>(pipeline: &'p mut Pipeline, path: &Path) -> Result<&'p FrameResult, AppError> {
    let grey = load_grey(path)?;
    Ok(pipeline.process(grey.view())?)
}

/// `FILE: TEXT`, rows joined by ` / `.
fn text_line(path: &Path, result: &FrameResult) -> String {
    format!("{}: {}", path.display(), result.reading.replace('\n', " / "))
}

fn json_line(path: &Path, result: &FrameResult) -> String {
    let file = path.to_string_lossy();
    let line = JsonLine {
        file: &file,
        text: &result.reading,
        digits: result
            .accepted()
            .map(|d| JsonDigit {
                digit: d.digit,
                confidence: round(d.confidence as f64, 4),
                bbox: [d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h],
            })
            .collect(),
        ms: round(ms(result.timings.total()), 3),
    };
    // Serialising plain structs cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::RecognizedDigit;
    use crate::preprocess::BoundingBox;

    fn result() -> FrameResult {
        let d = |x, digit, accepted| RecognizedDigit {
            bbox: BoundingBox { x, y: 5, w: 10, h: 20 },
            row: 0,
            digit,
            confidence: 0.98766,
            accepted,
        };
        FrameResult { digits: vec![d(1, 3, true), d(20, 10, false), d(40, 7, true)], reading: "37".into(), ..Default::default() }
    }

    #[test]
    fn json_has_exactly_the_documented_shape() {
        let line = json_line(Path::new("a b.png"), &result());
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["digits", "file", "ms", "text"]);
        assert_eq!(v["file"], "a b.png");
        assert_eq!(v["text"], "37");
        assert_eq!(v["digits"].as_array().unwrap().len(), 2, "only accepted digits");
        assert_eq!(v["digits"][0]["digit"], 3);
        assert_eq!(v["digits"][0]["confidence"], 0.9877);
        assert_eq!(v["digits"][1]["box"], serde_json::json!([40, 5, 10, 20]));
        assert!(line.starts_with(r#"{"file":"a b.png","text":"37","digits":"#), "field order: {line}");
    }

    #[test]
    fn text_joins_rows() {
        let mut r = result();
        r.reading = "12\n34".into();
        assert_eq!(text_line(Path::new("x.png"), &r), "x.png: 12 / 34");
    }
}
