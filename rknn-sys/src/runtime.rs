//! Finding and opening `librknnmrt.so`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::ffi::RknnApi;

/// File name of the RV1103/RV1106 runtime library.
pub const LIBRARY_NAME: &str = "librknnmrt.so";

/// The opened runtime library. Cheap to clone; contexts keep it alive.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) api: Arc<RknnApi>,
    path: PathBuf,
}

/// The library could not be opened from any candidate path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot open the RKNN runtime {LIBRARY_NAME}; tried: {}", describe(.tried))]
pub struct LoadError {
    /// Each path tried, with why it failed.
    pub tried: Vec<(PathBuf, String)>,
}

fn describe(tried: &[(PathBuf, String)]) -> String {
    if tried.is_empty() {
        return "no paths".to_string();
    }
    tried.iter().map(|(p, why)| format!("{} ({why})", p.display())).collect::<Vec<_>>().join("; ")
}

/// Where to look for the library, in order: the configured path (a file, or a folder holding
/// `librknnmrt.so`), the vendor's `/oem/usr/lib`, `/usr/lib`, then next to the running binary.
pub fn default_search_paths(configured: Option<&Path>) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(p) = configured {
        paths.push(if p.is_dir() { p.join(LIBRARY_NAME) } else { p.to_path_buf() });
    }
    paths.push(PathBuf::from("/oem/usr/lib").join(LIBRARY_NAME));
    paths.push(PathBuf::from("/usr/lib").join(LIBRARY_NAME));
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        paths.push(dir.join(LIBRARY_NAME));
    }
    paths
}

impl Runtime {
    /// Opens the first of `candidates` that exists and exports the whole API subset.
    pub fn locate(candidates: &[PathBuf]) -> Result<Self, LoadError> {
        let mut tried = Vec::new();
        for path in candidates {
            if !path.exists() {
                tried.push((path.clone(), "not found".to_string()));
                continue;
            }
            match Self::open(path) {
                Ok(rt) => return Ok(rt),
                Err(why) => tried.push((path.clone(), why)),
            }
        }
        Err(LoadError { tried })
    }

    /// Opens the library at `path`. Linux `dlopen` searches `LD_LIBRARY_PATH` for a bare file
    /// name, so callers pass absolute paths (the RV1106 loader needs them anyway).
    #[cfg(not(feature = "link"))]
    pub fn open(path: &Path) -> Result<Self, String> {
        // SAFETY: loading a shared library runs its initialisers. The library is the RKNN runtime
        // (or its test double) chosen by the operator's configuration; bindgen's loader then
        // resolves every function of the subset with the C signatures from the header, and
        // `dynamic_link_require_all` makes a missing symbol an error here, not a panic later.
        let api = unsafe { RknnApi::new(path) }.map_err(|e| e.to_string())?;
        Ok(Self { api: Arc::new(api), path: path.to_path_buf() })
    }

    /// With the `link` feature the library was linked at build time; `path` is only recorded.
    #[cfg(feature = "link")]
    pub fn open(path: &Path) -> Result<Self, String> {
        Ok(Self { api: Arc::new(RknnApi), path: path.to_path_buf() })
    }

    /// Where the library was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("path", &self.path).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_library_lists_every_path_tried() {
        let dir = std::env::temp_dir().join("rknn-sys-no-such-dir");
        let paths = default_search_paths(Some(&dir.join("librknnmrt.so")));
        assert_eq!(paths[0], dir.join("librknnmrt.so"));
        assert_eq!(paths[1], PathBuf::from("/oem/usr/lib/librknnmrt.so"));
        assert_eq!(paths[2], PathBuf::from("/usr/lib/librknnmrt.so"));
        let err = Runtime::locate(&paths[..1]).unwrap_err();
        assert_eq!(err.tried.len(), 1);
        let msg = err.to_string();
        assert!(msg.contains("librknnmrt.so (not found)"), "{msg}");
    }

    #[cfg(not(feature = "link"))]
    #[test]
    fn a_file_that_is_not_a_library_is_reported_with_the_loader_reason() {
        let path = std::env::temp_dir().join(format!("rknn-sys-not-a-lib-{}.so", std::process::id()));
        std::fs::write(&path, b"not an ELF file").unwrap();
        let err = Runtime::locate(std::slice::from_ref(&path)).unwrap_err();
        std::fs::remove_file(&path).ok();
        assert_eq!(err.tried.len(), 1);
        assert_ne!(err.tried[0].1, "not found");
    }
}
