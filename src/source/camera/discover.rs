//! Finding a camera node by its driver-given name (`/sys/class/video4linux/videoN/name`),
//! because the ISP's node number changes between kernels and device trees.

use std::path::{Path, PathBuf};

pub const SYSFS_VIDEO4LINUX: &str = "/sys/class/video4linux";
pub const DEV: &str = "/dev";

/// A video node seen in sysfs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoNode {
    /// `/dev/videoN`.
    pub path: PathBuf,
    /// Its sysfs `name` (e.g. `rkisp_mainpath`, or a webcam's product name).
    pub name: String,
    index: u32,
}

/// Every `videoN` node under `sysfs` (normally [`SYSFS_VIDEO4LINUX`]), by number, with device
/// paths under `dev`. Nodes without a readable name are listed with an empty one.
pub fn video_nodes(sysfs: &Path, dev: &Path) -> std::io::Result<Vec<VideoNode>> {
    let mut nodes = Vec::new();
    for entry in std::fs::read_dir(sysfs)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(node) = file_name.to_str() else { continue };
        let Some(index) = node.strip_prefix("video").and_then(|n| n.parse::<u32>().ok()) else { continue };
        let name = std::fs::read_to_string(entry.path().join("name")).map(|s| s.trim().to_string()).unwrap_or_default();
        nodes.push(VideoNode { path: dev.join(node), name, index });
    }
    nodes.sort_by_key(|n| n.index);
    Ok(nodes)
}

/// The lowest-numbered node called exactly `name`; the error lists what there is.
pub fn find_by_name(sysfs: &Path, dev: &Path, name: &str) -> Result<PathBuf, String> {
    let nodes = video_nodes(sysfs, dev).map_err(|e| format!("cannot list video devices in {}: {e}", sysfs.display()))?;
    if let Some(node) = nodes.iter().find(|n| n.name == name) {
        return Ok(node.path.clone());
    }
    if nodes.is_empty() {
        return Err(format!("no video device is called {name:?}: there are no video devices in {}", sysfs.display()));
    }
    let seen: Vec<String> = nodes.iter().map(|n| format!("{} ({:?})", n.path.display(), n.name)).collect();
    Err(format!("no video device is called {name:?}; found {}", seen.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_sysfs(nodes: &[(&str, Option<&str>)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (node, name) in nodes {
            let d = dir.path().join(node);
            std::fs::create_dir(&d).unwrap();
            if let Some(name) = name {
                std::fs::write(d.join("name"), format!("{name}\n")).unwrap();
            }
        }
        dir
    }

    #[test]
    fn the_isp_main_path_is_found_by_name() {
        let sys = fake_sysfs(&[
            ("video0", Some("rkisp-statistics")),
            ("video11", Some("rkisp_mainpath")),
            ("video12", Some("rkisp_selfpath")),
            ("v4l-subdev2", Some("rkisp_mainpath")),
        ]);
        let path = find_by_name(sys.path(), Path::new("/dev"), "rkisp_mainpath").unwrap();
        assert_eq!(path, PathBuf::from("/dev/video11"));
    }

    #[test]
    fn nodes_are_ordered_by_number_not_by_text() {
        let sys = fake_sysfs(&[("video10", Some("cam")), ("video9", Some("cam")), ("video2", None)]);
        let nodes = video_nodes(sys.path(), Path::new("/dev")).unwrap();
        let paths: Vec<_> = nodes.iter().map(|n| n.path.to_string_lossy().into_owned()).collect();
        assert_eq!(paths, ["/dev/video2", "/dev/video9", "/dev/video10"]);
        assert_eq!(nodes[0].name, "");
        assert_eq!(find_by_name(sys.path(), Path::new("/dev"), "cam").unwrap(), PathBuf::from("/dev/video9"));
    }

    #[test]
    fn a_missing_name_lists_what_exists() {
        let sys = fake_sysfs(&[("video0", Some("USB Camera"))]);
        let e = find_by_name(sys.path(), Path::new("/dev"), "rkisp_mainpath").unwrap_err();
        assert!(e.contains("\"rkisp_mainpath\"") && e.contains("/dev/video0 (\"USB Camera\")"), "{e}");
        let empty = fake_sysfs(&[]);
        assert!(find_by_name(empty.path(), Path::new("/dev"), "x").unwrap_err().contains("no video devices"));
        let e = find_by_name(Path::new("/nonexistent/sysfs"), Path::new("/dev"), "x").unwrap_err();
        assert!(e.contains("cannot list video devices in /nonexistent/sysfs"), "{e}");
    }
}
