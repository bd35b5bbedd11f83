//! Runs `digitd recognize --json` on files and parses its output, for end-to-end tests that
//! judge the real binary on generated scenes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

/// One line of `digitd recognize --json`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct CliReading {
    pub file: String,
    pub text: String,
    pub digits: Vec<CliDigit>,
    pub ms: f64,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct CliDigit {
    pub digit: u8,
    pub confidence: f64,
    #[serde(rename = "box")]
    pub bbox: [u32; 4],
}

/// What one `recognize` process said about its files.
#[derive(Debug, Default)]
pub struct CliBatch {
    /// Readings by the file path as given on the command line.
    pub readings: HashMap<PathBuf, CliReading>,
    /// Its standard error (per-file errors, warnings).
    pub stderr: String,
    /// Lines of standard output that were not a reading.
    pub unparsed: Vec<String>,
}

/// Runs `binary recognize --json FILE...` once for all `files`. A file the binary failed on
/// has no reading (its error is in `stderr`); only failing to start the binary is an `Err`.
pub fn recognize_json(binary: &Path, files: &[PathBuf]) -> Result<CliBatch, String> {
    let output = Command::new(binary)
        .arg("recognize")
        .arg("--json")
        .args(files)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let mut batch = CliBatch { stderr: String::from_utf8_lossy(&output.stderr).into_owned(), ..CliBatch::default() };
    for line in String::from_utf8_lossy(&output.stdout).lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<CliReading>(line) {
            Ok(reading) => {
                batch.readings.insert(PathBuf::from(&reading.file), reading);
            }
            Err(_) => batch.unparsed.push(line.to_string()),
        }
    }
    Ok(batch)
}

/// One generated scene and what the binary read in it.
#[derive(Debug)]
pub struct SceneOutcome {
    pub file: PathBuf,
    pub expected: String,
    pub description: String,
    /// Per expected digit, whether it is a USPS digit; and the scene's digit height in pixels
    /// (see [`crate::synth::Scene`]).
    pub from_usps: Vec<bool>,
    pub digit_height: f32,
    /// `None` when the binary reported an error for the file.
    pub reading: Option<CliReading>,
}

impl SceneOutcome {
    /// The text read, or a marker when there was no reading.
    pub fn got(&self) -> &str {
        self.reading.as_ref().map_or("<error>", |r| r.text.as_str())
    }
    pub fn is_exact(&self) -> bool {
        self.reading.as_ref().is_some_and(|r| r.text == self.expected)
    }
    /// Whether any digit was reported (a false alarm on a blank page).
    pub fn shows_digit(&self) -> bool {
        self.reading.as_ref().is_none_or(|r| !r.digits.is_empty() || !r.text.is_empty())
    }
}

/// Everything a [`read_scenes`] run saw.
#[derive(Debug, Default)]
pub struct SceneRun {
    /// In scene index order.
    pub outcomes: Vec<SceneOutcome>,
    /// Non-empty standard error of the batches, and unparsed output lines.
    pub messages: Vec<String>,
}

/// Generates scenes `0..count` with `make(i)` (a scene and its file name, `.png` or `.jpg`),
/// writes them into `dir`, and reads them with `binary recognize --json`, `batch` files per
/// process and `workers` processes at a time (generation of one batch overlaps reading of
/// another). Files are removed after reading unless `keep_files`.
pub fn read_scenes<F>(binary: &Path, dir: &Path, count: usize, batch: usize, workers: usize, keep_files: bool, make: F) -> Result<SceneRun, String>
where
    F: Fn(usize) -> (super::Scene, String) + Sync,
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    let batch = batch.max(1);
    let next_batch = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, SceneOutcome)>> = Mutex::new(Vec::with_capacity(count));
    let messages = Mutex::new(Vec::new());
    let first_error: Mutex<Option<String>> = Mutex::new(None);
    let work = || loop {
        let start = next_batch.fetch_add(1, Ordering::SeqCst) * batch;
        if start >= count || first_error.lock().map_or(true, |e| e.is_some()) {
            return;
        }
        let mut cases = Vec::new();
        for i in start..(start + batch).min(count) {
            let (scene, name) = make(i);
            let path = dir.join(name);
            if let Err(e) = super::save_grey(&scene.image, &path, 90) {
                *first_error.lock().unwrap() = Some(format!("cannot write {}: {e}", path.display()));
                return;
            }
            cases.push((i, path, scene));
        }
        let files: Vec<PathBuf> = cases.iter().map(|(_, p, _)| p.clone()).collect();
        let mut read = match recognize_json(binary, &files) {
            Ok(read) => read,
            Err(e) => {
                *first_error.lock().unwrap() = Some(e);
                return;
            }
        };
        if let Ok(mut m) = messages.lock() {
            if !read.stderr.trim().is_empty() {
                m.push(read.stderr.trim().to_string());
            }
            m.extend(read.unparsed.iter().map(|l| format!("unparsed output: {l}")));
        }
        let mut done = Vec::with_capacity(cases.len());
        for (i, path, scene) in cases {
            let reading = read.readings.remove(&path);
            if !keep_files {
                let _ = std::fs::remove_file(&path);
            }
            done.push((i, SceneOutcome {
                file: path,
                expected: scene.text,
                description: scene.description,
                from_usps: scene.from_usps,
                digit_height: scene.digit_height,
                reading,
            }));
        }
        results.lock().unwrap().extend(done);
    };
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(work);
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or(None) {
        return Err(e);
    }
    let mut outcomes = results.into_inner().unwrap_or_default();
    outcomes.sort_by_key(|(i, _)| *i);
    Ok(SceneRun { outcomes: outcomes.into_iter().map(|(_, o)| o).collect(), messages: messages.into_inner().unwrap_or_default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_line() {
        let line = r#"{"file":"a.png","text":"12\n3","digits":[{"digit":7,"confidence":0.99,"box":[1,2,3,4]}],"ms":1.5}"#;
        let r: CliReading = serde_json::from_str(line).unwrap();
        assert_eq!(r.text, "12\n3");
        assert_eq!(r.digits[0].bbox, [1, 2, 3, 4]);
    }
}
