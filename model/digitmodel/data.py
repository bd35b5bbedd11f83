"""Loading MNIST (idx, gzip) and USPS (text, gzip) from ../shared/data, checksum-verified.

Everything here is numpy only, so the loaders and their tests run without torch.
Images come back as uint8 arrays, ink bright on a black background (the MNIST convention).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
USPS_FILES = {"train": "zip.train.gz", "test": "zip.test.gz"}


class DataError(RuntimeError):
    """Missing, corrupt or malformed data; the message names the file."""


def data_dir() -> Path:
    return Path(os.environ.get("DIGITD_DATA_DIR", DEFAULT_DATA_DIR))


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_sums(folder: Path) -> dict[str, str]:
    sums_path = folder / "SHA256SUMS"
    if not sums_path.is_file():
        raise DataError(f"checksum list {sums_path} is missing")
    sums = {}
    for n, line in enumerate(sums_path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DataError(f"{sums_path}:{n}: malformed line {line!r}")
        sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def verified(folder: Path, name: str) -> Path:
    """Path of `folder/name` after checking it against folder/SHA256SUMS."""
    path = folder / name
    if not path.is_file():
        raise DataError(f"data file {path} is missing")
    sums = read_sums(folder)
    if name not in sums:
        raise DataError(f"data file {path} is not listed in {folder / 'SHA256SUMS'}")
    got = sha256_of(path)
    if got != sums[name]:
        raise DataError(f"data file {path} is corrupt: sha256 {got} does not match {sums[name]}")
    return path


def _gunzip(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"data file {path} is not a readable gzip file: {e}") from e


def parse_idx(raw: bytes, path: Path, expect_dims: int) -> np.ndarray:
    if len(raw) < 4:
        raise DataError(f"{path}: too short for an idx header")
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise DataError(f"{path}: not an idx file of unsigned bytes (magic {raw[:4].hex()})")
    if ndim != expect_dims:
        raise DataError(f"{path}: expected {expect_dims} dimensions, found {ndim}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated idx header")
    dims = struct.unpack(">" + "I" * ndim, raw[4:header])
    count = int(np.prod(dims))
    if len(raw) - header != count:
        raise DataError(f"{path}: header says {count} bytes of data, file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def load_mnist(split: str, root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N,28,28], labels uint8 [N]) for split 'train' or 'test'."""
    folder = (root or data_dir()) / "mnist"
    img_name, lbl_name = MNIST_FILES[split]
    img_path, lbl_path = verified(folder, img_name), verified(folder, lbl_name)
    images = parse_idx(_gunzip(img_path), img_path, 3)
    labels = parse_idx(_gunzip(lbl_path), lbl_path, 1)
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{img_path} has {images.shape[0]} images but {lbl_path} has {labels.shape[0]} labels")
    if labels.max(initial=0) > 9:
        raise DataError(f"{lbl_path}: label {labels.max()} out of range 0-9")
    return images, labels


def parse_usps(text: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 257:
            raise DataError(f"{path}:{n}: expected a label and 256 values, found {len(parts)} fields")
        try:
            label = float(parts[0])
            values = np.array([float(v) for v in parts[1:]], dtype=np.float32)
        except ValueError as e:
            raise DataError(f"{path}:{n}: {e}") from e
        if label != int(label) or not 0 <= label <= 9:
            raise DataError(f"{path}:{n}: label {parts[0]} is not a digit")
        labels.append(int(label))
        images.append(values)
    if not images:
        raise DataError(f"{path}: no rows")
    arr = np.stack(images).reshape(-1, 16, 16)
    # [-1, 1] with -1 = background -> 0..255 ink bright.
    grey = np.clip(np.rint((arr + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return grey, np.array(labels, dtype=np.uint8)


def load_usps(split: str, root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N,16,16] ink bright, labels uint8 [N]) for 'train' or 'test'."""
    folder = (root or data_dir()) / "usps"
    path = verified(folder, USPS_FILES[split])
    return parse_usps(_gunzip(path).decode("ascii", errors="replace"), path)


def split_validation(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic (train_idx, val_idx) split of range(n)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = int(round(n * fraction))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


# The model pipeline's seed; its validation splits below are fixed by it.
PIPELINE_SEED = 20261128
MNIST_VAL_FRACTION = 5000 / 60000
USPS_VAL_FRACTION = 0.1


def pipeline_splits(n_mnist: int, n_usps: int, seed: int = PIPELINE_SEED):
    """((mnist_train, mnist_val), (usps_train, usps_val)): the index splits of MNIST train and
    USPS train that the pipeline trains and validates on."""
    return (split_validation(n_mnist, MNIST_VAL_FRACTION, seed),
            split_validation(n_usps, USPS_VAL_FRACTION, seed + 1))
