//! Loaders for the handwritten digit sets in `shared/data`: MNIST (idx, gzip) and USPS (text,
//! gzip), plus SHA-256 verification against each folder's `SHA256SUMS`.
//!
//! Every error names the file it is about: these run in tests and tools where "invalid data"
//! without a path costs a debugging session.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Where the data lives unless told otherwise (next to the repository, as CI lays it out).
pub const DEFAULT_DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");
/// Environment variable that overrides [`DEFAULT_DATA_DIR`].
pub const DATA_DIR_ENV: &str = "DIGITD_DATA_DIR";

pub const MNIST_TEST_IMAGES: &str = "mnist/t10k-images-idx3-ubyte.gz";
pub const MNIST_TEST_LABELS: &str = "mnist/t10k-labels-idx1-ubyte.gz";
pub const USPS_TEST: &str = "usps/zip.test.gz";
pub const MNIST_TRAIN_IMAGES: &str = "mnist/train-images-idx3-ubyte.gz";
pub const MNIST_TRAIN_LABELS: &str = "mnist/train-labels-idx1-ubyte.gz";
pub const USPS_TRAIN: &str = "usps/zip.train.gz";

const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
/// Side of a USPS digit image (MNIST's are 28).
pub const USPS_SIDE: usize = 16;

#[derive(Debug, Error)]
pub enum DataError {
    #[error("{path}: file not found (set {DATA_DIR_ENV} or pass the data folder)")]
    Missing { path: PathBuf },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: corrupt gzip stream: {source}")]
    Gzip { path: PathBuf, source: io::Error },
    #[error("{path}: wrong magic number {got:#010x}, expected {expected:#010x}")]
    BadMagic { path: PathBuf, expected: u32, got: u32 },
    #[error("{path}: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("{images} has {images_count} images but {labels} has {labels_count} labels")]
    CountMismatch { images: PathBuf, images_count: usize, labels: PathBuf, labels_count: usize },
    #[error("{path}: sha256 {got} does not match {expected} from SHA256SUMS")]
    ChecksumMismatch { path: PathBuf, expected: String, got: String },
}

impl DataError {
    /// A file or folder that could not be opened: missing, or another I/O error.
    fn opening(path: &Path, e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound => DataError::Missing { path: path.to_path_buf() },
            _ => DataError::Io { path: path.to_path_buf(), source: e },
        }
    }
    fn malformed(path: &Path, reason: impl Into<String>) -> Self {
        DataError::Malformed { path: path.to_path_buf(), reason: reason.into() }
    }
}

/// The data folder: `explicit` if given, else `$DIGITD_DATA_DIR`, else [`DEFAULT_DATA_DIR`].
pub fn resolve_data_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_DATA_DIR),
    }
}

/// A set of square grey digit images, ink bright (255) on black (0), with labels 0-9.
#[derive(Clone, Debug)]
pub struct DigitSet {
    side: usize,
    labels: Vec<u8>,
    pixels: Vec<u8>,
}

/// One digit of a [`DigitSet`].
#[derive(Clone, Copy, Debug)]
pub struct DigitRef<'a> {
    pub label: u8,
    /// Width and height of the square image.
    pub side: usize,
    /// `side * side` bytes, row-major, ink bright.
    pub pixels: &'a [u8],
}

impl DigitSet {
    /// Builds a set from parts; `pixels` must hold `labels.len()` images of `side * side` bytes.
    pub fn new(side: usize, labels: Vec<u8>, pixels: Vec<u8>) -> Option<Self> {
        (side > 0 && pixels.len() == labels.len() * side * side && labels.iter().all(|&l| l <= 9))
            .then_some(DigitSet { side, labels, pixels })
    }
    pub fn len(&self) -> usize { self.labels.len() }
    pub fn is_empty(&self) -> bool { self.labels.is_empty() }
    pub fn side(&self) -> usize { self.side }
    pub fn labels(&self) -> &[u8] { &self.labels }
    /// The digits at `indices`, in that order; `None` if an index is out of range.
    pub fn select(&self, indices: &[usize]) -> Option<DigitSet> {
        let n = self.side * self.side;
        let mut labels = Vec::with_capacity(indices.len());
        let mut pixels = Vec::with_capacity(indices.len() * n);
        for &i in indices {
            labels.push(*self.labels.get(i)?);
            pixels.extend_from_slice(&self.pixels[i * n..(i + 1) * n]);
        }
        Some(DigitSet { side: self.side, labels, pixels })
    }
    /// Digit `i`. Panics if `i >= len()`.
    pub fn get(&self, i: usize) -> DigitRef<'_> {
        let n = self.side * self.side;
        DigitRef { label: self.labels[i], side: self.side, pixels: &self.pixels[i * n..(i + 1) * n] }
    }
}

/// The held-out (test) digits scenes are drawn from. Training digits are never used here, so
/// scene accuracy measures generalisation.
#[derive(Clone, Debug)]
pub struct DigitBank {
    pub mnist: DigitSet,
    pub usps: DigitSet,
    /// Indices a person reads for sure (see `ambiguity`), the ones scenes use.
    mnist_readable: Vec<usize>,
    usps_readable: Vec<usize>,
}

impl DigitBank {
    /// Loads MNIST t10k and USPS test from `dir` (see [`resolve_data_dir`]).
    pub fn load_test_sets(dir: &Path) -> Result<Self, DataError> {
        Ok(DigitBank::new(load_mnist_test(dir)?, load_usps_test(dir)?))
    }

    /// A bank over the two test sets, leaving out the digits listed as ambiguous.
    pub fn new(mnist: DigitSet, usps: DigitSet) -> Self {
        let readable = |set: &DigitSet, name: &str| {
            let ambiguous = super::ambiguity::listed_ambiguous(name);
            let clear: Vec<usize> = (0..set.len()).filter(|i| !ambiguous.contains(i)).collect();
            // A set that is not the real one (the list does not apply): use all of it.
            if clear.is_empty() { (0..set.len()).collect() } else { clear }
        };
        let (mnist_readable, usps_readable) = (readable(&mnist, "mnist"), readable(&usps, "usps"));
        DigitBank { mnist, usps, mnist_readable, usps_readable }
    }

    /// A bank over any two sets (e.g. the training sets), using every digit: the ambiguity
    /// list only applies to the test sets.
    pub fn unfiltered(mnist: DigitSet, usps: DigitSet) -> Self {
        let (mnist_readable, usps_readable) = ((0..mnist.len()).collect(), (0..usps.len()).collect());
        DigitBank { mnist, usps, mnist_readable, usps_readable }
    }

    /// Indices of clearly readable digits in MNIST (`usps == false`) or USPS.
    pub fn readable(&self, usps: bool) -> &[usize] {
        if usps { &self.usps_readable } else { &self.mnist_readable }
    }

    pub fn set(&self, usps: bool) -> &DigitSet {
        if usps { &self.usps } else { &self.mnist }
    }
}

pub fn load_mnist_test(dir: &Path) -> Result<DigitSet, DataError> {
    load_mnist(&dir.join(MNIST_TEST_IMAGES), &dir.join(MNIST_TEST_LABELS))
}

pub fn load_usps_test(dir: &Path) -> Result<DigitSet, DataError> {
    load_usps(&dir.join(USPS_TEST))
}

/// MNIST train: for tuning sets (through an index file) and the ambiguity check, never scenes
/// that measure accuracy.
pub fn load_mnist_train(dir: &Path) -> Result<DigitSet, DataError> {
    load_mnist(&dir.join(MNIST_TRAIN_IMAGES), &dir.join(MNIST_TRAIN_LABELS))
}

pub fn load_usps_train(dir: &Path) -> Result<DigitSet, DataError> {
    load_usps(&dir.join(USPS_TRAIN))
}

/// Reads an index file (one digit index per line, blank lines ignored, as written by the model
/// pipeline's `digitmodel.splits`) and checks every index against a set of `set_len` digits.
pub fn read_indices(path: &Path, set_len: usize) -> Result<Vec<usize>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::opening(path, e))?;
    let mut indices = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let index: usize = line
            .trim()
            .parse()
            .map_err(|_| DataError::malformed(path, format!("line {}: {:?} is not a digit index", n + 1, line.trim())))?;
        if index >= set_len {
            return Err(DataError::malformed(path, format!("line {}: index {index} is past the {set_len} digits of its set", n + 1)));
        }
        indices.push(index);
    }
    Ok(indices)
}

/// Reads a whole gzip file, telling a missing file, a read error and a bad stream apart.
fn read_gzip(path: &Path) -> Result<Vec<u8>, DataError> {
    let file = File::open(path).map_err(|e| DataError::opening(path, e))?;
    let mut out = Vec::new();
    GzDecoder::new(BufReader::new(file))
        .read_to_end(&mut out)
        .map_err(|e| DataError::Gzip { path: path.to_path_buf(), source: e })?;
    Ok(out)
}

fn be_u32(bytes: &[u8], at: usize, path: &Path) -> Result<u32, DataError> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| DataError::malformed(path, "truncated idx header"))
}

/// Parses an idx file with the given magic; returns the dimension sizes and the payload.
fn parse_idx<'a>(bytes: &'a [u8], magic: u32, path: &Path) -> Result<(Vec<usize>, &'a [u8]), DataError> {
    let got = be_u32(bytes, 0, path)?;
    if got != magic {
        return Err(DataError::BadMagic { path: path.to_path_buf(), expected: magic, got });
    }
    let ndims = (magic & 0xff) as usize;
    let dims = (0..ndims).map(|d| be_u32(bytes, 4 + 4 * d, path).map(|v| v as usize)).collect::<Result<Vec<_>, _>>()?;
    let payload = &bytes[4 + 4 * ndims..];
    let expected = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match expected {
        Some(n) if n == payload.len() => Ok((dims, payload)),
        Some(n) => Err(DataError::malformed(path, format!("header promises {n} bytes of data, file has {}", payload.len()))),
        None => Err(DataError::malformed(path, "idx dimensions overflow")),
    }
}

/// Loads an MNIST image/label pair (idx3 ubyte images, idx1 ubyte labels, both gzipped).
pub fn load_mnist(images: &Path, labels: &Path) -> Result<DigitSet, DataError> {
    let image_bytes = read_gzip(images)?;
    let (dims, pixels) = parse_idx(&image_bytes, IDX_IMAGES_MAGIC, images)?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows != cols || rows == 0 {
        return Err(DataError::malformed(images, format!("images are {rows}x{cols}, expected square")));
    }
    let label_bytes = read_gzip(labels)?;
    let (label_dims, label_data) = parse_idx(&label_bytes, IDX_LABELS_MAGIC, labels)?;
    if label_dims[0] != count {
        return Err(DataError::CountMismatch {
            images: images.to_path_buf(),
            images_count: count,
            labels: labels.to_path_buf(),
            labels_count: label_dims[0],
        });
    }
    if let Some(pos) = label_data.iter().position(|&l| l > 9) {
        return Err(DataError::malformed(labels, format!("label {} at index {pos} is not a digit", label_data[pos])));
    }
    Ok(DigitSet { side: rows, labels: label_data.to_vec(), pixels: pixels.to_vec() })
}

/// Loads a USPS text file: one digit per line, the label ("9" or "9.0000") then 256 values in
/// [-1, 1] row-major (-1 background, 1 ink). Values are mapped to 0..=255, ink bright.
pub fn load_usps(path: &Path) -> Result<DigitSet, DataError> {
    let text = read_gzip(path)?;
    let mut labels = Vec::new();
    let mut pixels = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.map_err(|e| DataError::malformed(path, format!("line {}: {e}", index + 1)))?;
        let mut fields = line.split_ascii_whitespace();
        let Some(label_field) = fields.next() else { continue };
        let bad = |reason: String| DataError::malformed(path, format!("line {}: {reason}", index + 1));
        let label: f64 = label_field.parse().map_err(|_| bad(format!("label {label_field:?} is not a number")))?;
        if !(0.0..=9.0).contains(&label) || label.fract() != 0.0 {
            return Err(bad(format!("label {label_field:?} is not a digit")));
        }
        let before = pixels.len();
        for field in fields {
            let v: f32 = field.parse().map_err(|_| bad(format!("value {field:?} is not a number")))?;
            if !(-1.0..=1.0).contains(&v) {
                return Err(bad(format!("value {v} outside [-1, 1]")));
            }
            pixels.push(((v + 1.0) * 127.5).round() as u8);
        }
        let values = pixels.len() - before;
        if values != USPS_SIDE * USPS_SIDE {
            return Err(bad(format!("{values} values, expected {}", USPS_SIDE * USPS_SIDE)));
        }
        labels.push(label as u8);
    }
    if labels.is_empty() {
        return Err(DataError::malformed(path, "no digits"));
    }
    Ok(DigitSet { side: USPS_SIDE, labels, pixels })
}

/// Lower-case hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String, DataError> {
    let mut file = File::open(path).map_err(|e| DataError::opening(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| DataError::Io { path: path.to_path_buf(), source: e })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks every file listed in `SHA256SUMS` files under `dir`: `dir/SHA256SUMS` itself if
/// present, and `dir/*/SHA256SUMS` one level down (the layout of `shared/data`). Returns the
/// number of files verified; fails on the first mismatch, naming the file.
pub fn verify_checksums(dir: &Path) -> Result<usize, DataError> {
    let mut sum_files = Vec::new();
    let top = dir.join("SHA256SUMS");
    if top.is_file() {
        sum_files.push(top.clone());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::opening(dir, e))?;
    let mut subdirs: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    subdirs.sort();
    sum_files.extend(subdirs.into_iter().map(|d| d.join("SHA256SUMS")).filter(|p| p.is_file()));
    if sum_files.is_empty() {
        return Err(DataError::Missing { path: top });
    }
    let mut verified = 0;
    for sums in sum_files {
        verified += verify_sums_file(&sums)?;
    }
    Ok(verified)
}

/// Verifies one `sha256sum`-format file (`HEX  NAME` or `HEX *NAME` per line).
fn verify_sums_file(sums: &Path) -> Result<usize, DataError> {
    let text = std::fs::read_to_string(sums).map_err(|e| DataError::Io { path: sums.to_path_buf(), source: e })?;
    let folder = sums.parent().unwrap_or(Path::new("."));
    let mut verified = 0;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (hex, name) = line
            .split_once(char::is_whitespace)
            .map(|(h, n)| (h.to_ascii_lowercase(), n.trim_start().trim_start_matches('*')))
            .filter(|(h, n)| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) && !n.is_empty())
            .ok_or_else(|| DataError::malformed(sums, format!("line {}: not `HEX  NAME`", index + 1)))?;
        let path = folder.join(name);
        let got = sha256_file(&path)?;
        if got != hex {
            return Err(DataError::ChecksumMismatch { path, expected: hex, got });
        }
        verified += 1;
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_dir() -> PathBuf {
        resolve_data_dir(None)
    }

    #[test]
    fn select_keeps_the_listed_digits_in_order_and_refuses_bad_indices() {
        let set = DigitSet::new(2, vec![3, 5, 7], (0..12).collect()).unwrap();
        let picked = set.select(&[2, 0]).unwrap();
        assert_eq!(picked.labels(), &[7, 3]);
        assert_eq!(picked.get(0).pixels, &[8, 9, 10, 11]);
        assert_eq!(picked.get(1).pixels, &[0, 1, 2, 3]);
        assert!(set.select(&[1, 3]).is_none(), "index 3 of 3 digits");
        assert!(set.select(&[]).unwrap().is_empty());
    }

    #[test]
    fn mnist_test_set_loads_with_all_labels() {
        let set = load_mnist_test(&data_dir()).expect("MNIST test set");
        assert_eq!((set.len(), set.side()), (10_000, 28));
        let mut counts = [0usize; 10];
        set.labels().iter().for_each(|&l| counts[l as usize] += 1);
        assert!(counts.iter().all(|&c| c > 800), "label counts {counts:?}");
        // Ink bright on black: the border is background.
        let d = set.get(0);
        assert_eq!(d.label, 7);
        assert_eq!(d.pixels[0], 0);
        assert!(d.pixels.iter().any(|&p| p > 200));
    }

    #[test]
    fn usps_test_set_loads_with_all_labels() {
        let set = load_usps_test(&data_dir()).expect("USPS test set");
        assert_eq!((set.len(), set.side()), (2007, 16));
        let mut counts = [0usize; 10];
        set.labels().iter().for_each(|&l| counts[l as usize] += 1);
        assert!(counts.iter().all(|&c| c > 100), "label counts {counts:?}");
        for i in [0, 1000, 2006] {
            let d = set.get(i);
            let ink = d.pixels.iter().filter(|&&p| p > 128).count();
            assert!(ink > 10 && ink < 200, "digit {i} has {ink} ink pixels: polarity wrong?");
        }
    }

    #[test]
    fn real_data_checksums_match() {
        assert_eq!(verify_checksums(&data_dir()).expect("checksums"), 6);
    }

    #[test]
    fn corrupted_copy_fails_checksum_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let src = data_dir().join("usps");
        let sums = std::fs::read_to_string(src.join("SHA256SUMS")).unwrap();
        let test_line = sums.lines().find(|l| l.ends_with("zip.test.gz")).unwrap();
        std::fs::write(tmp.path().join("SHA256SUMS"), format!("{test_line}\n")).unwrap();
        let mut bytes = std::fs::read(src.join("zip.test.gz")).unwrap();
        assert_eq!(verify_checksums(&src).unwrap(), 2);
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x40;
        let copy = tmp.path().join("zip.test.gz");
        std::fs::write(&copy, &bytes).unwrap();
        let err = verify_checksums(tmp.path()).unwrap_err();
        assert!(matches!(err, DataError::ChecksumMismatch { .. }), "{err}");
        assert!(err.to_string().contains("zip.test.gz"), "{err}");
        // The loader reports the same corruption as a bad gzip stream, also by name.
        let err = load_usps(&copy).unwrap_err();
        assert!(err.to_string().contains("zip.test.gz"), "{err}");
    }

    #[test]
    fn index_files_parse_and_bad_lines_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let path = tmp.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let good = file("good.txt", "3\n 0 \n\n7\n");
        assert_eq!(read_indices(&good, 8).unwrap(), vec![3, 0, 7]);

        let err = read_indices(&good, 7).unwrap_err().to_string();
        assert!(err.contains("good.txt") && err.contains("line 4") && err.contains("index 7"), "{err}");
        let err = read_indices(&file("word.txt", "1\nseven\n"), 10).unwrap_err().to_string();
        assert!(err.contains("word.txt") && err.contains("line 2") && err.contains("seven"), "{err}");
        let err = read_indices(&tmp.path().join("absent.txt"), 10).unwrap_err();
        assert!(matches!(err, DataError::Missing { .. }), "{err}");
    }

    #[test]
    fn bad_files_give_errors_naming_them() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope.gz");
        let err = load_usps(&missing).unwrap_err();
        assert!(matches!(err, DataError::Missing { .. }) && err.to_string().contains("nope.gz"), "{err}");

        let not_gzip = tmp.path().join("plain.gz");
        std::fs::write(&not_gzip, b"this is not gzip").unwrap();
        let err = load_usps(&not_gzip).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }) && err.to_string().contains("plain.gz"), "{err}");

        let gz = |name: &str, bytes: &[u8]| {
            let path = tmp.path().join(name);
            let mut enc = flate2::write::GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::fast());
            io::Write::write_all(&mut enc, bytes).unwrap();
            enc.finish().unwrap();
            path
        };
        // Labels file given where images are expected: wrong magic.
        let labels = gz("labels.gz", &[0, 0, 8, 1, 0, 0, 0, 2, 3, 4]);
        let err = load_mnist(&labels, &labels).unwrap_err();
        assert!(matches!(err, DataError::BadMagic { got: 0x801, .. }) && err.to_string().contains("labels.gz"), "{err}");

        let mut images = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2];
        images.extend([0u8; 12]);
        let images = gz("images.gz", &images);
        let err = load_mnist(&images, &labels).unwrap_err();
        assert!(matches!(err, DataError::CountMismatch { images_count: 3, labels_count: 2, .. }), "{err}");

        let short = gz("usps.gz", b"9.0000 -1 -1 1\n");
        let err = load_usps(&short).unwrap_err();
        assert!(err.to_string().contains("usps.gz") && err.to_string().contains("3 values"), "{err}");
    }
}
