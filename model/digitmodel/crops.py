"""Training crops cut by the firmware itself.

The firmware's generator (`src/synth`) draws camera-like pages with digits from a pool we hand
it, and its preprocessing (`src/preprocess`) cuts and normalises the candidates exactly as
`digitd` does on the board. `examples/export_crops.rs` labels each candidate from the drawn
boxes (a digit, or "not a digit" for stray marks, fragments and specks) and writes them out.
Training on these closes the gap between MNIST-style digits and what the model is really fed.

Needs cargo (the repository is a Rust project); the data never leaves this machine.
"""
from __future__ import annotations

import hashlib
import os
import struct
import subprocess
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
POOL_MAGIC = b"DPOOL1\0\0"
CROPS_MAGIC = b"DCROPS1\0"
# What decides the crops: the generator, the preprocessing and the exporter.
FIRMWARE_SOURCES = ["src/synth", "src/preprocess", "src/frame.rs", "examples/export_crops.rs"]


def firmware_source_hash() -> str:
    """SHA-256 over the firmware sources the crops depend on (for the pipeline's cache key)."""
    h = hashlib.sha256()
    for rel in FIRMWARE_SOURCES:
        p = REPO / rel
        for f in sorted(p.rglob("*") if p.is_dir() else [p]):
            if f.is_file():
                h.update(str(f.relative_to(REPO)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def write_pool(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """A digit pool for `export_crops`: square uint8 images, ink bright, labels 0-9."""
    n, side = images.shape[0], images.shape[1]
    assert images.shape == (n, side, side) and images.dtype == np.uint8 and len(labels) == n
    with open(path, "wb") as f:
        f.write(POOL_MAGIC + struct.pack("<II", n, side))
        f.write(labels.astype(np.uint8).tobytes())
        f.write(images.tobytes())


def read_crops(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N,28,28], labels uint8 [N], 10 = not a digit) from an `export_crops` file."""
    raw = Path(path).read_bytes()
    if raw[:8] != CROPS_MAGIC or len(raw) < 12:
        raise ValueError(f"{path}: not a crops file")
    (n,) = struct.unpack("<I", raw[8:12])
    if len(raw) != 12 + n + n * 784:
        raise ValueError(f"{path}: {len(raw)} bytes, expected {12 + n + n * 784} for {n} crops")
    labels = np.frombuffer(raw, np.uint8, n, 12).copy()
    images = np.frombuffer(raw, np.uint8, n * 784, 12 + n).reshape(n, 28, 28).copy()
    return images, labels


def firmware_crops(work: Path, mnist_x, mnist_y, usps_x, usps_y, text_pages: int, blank_pages: int,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Crops from `text_pages` pages drawn with the given digits and `blank_pages` empty ones."""
    work.mkdir(parents=True, exist_ok=True)
    write_pool(work / "mnist.pool", mnist_x, mnist_y)
    write_pool(work / "usps.pool", usps_x, usps_y)
    out = work / "crops.bin"
    cmd = [str(exporter()), str(work), str(out), str(text_pages), str(blank_pages), str(seed)]
    subprocess.run(cmd, cwd=REPO, check=True)
    return read_crops(out)


_built: Path | None = None


def exporter() -> Path:
    """Builds `export_crops` once per run (no CPU classifier or web view needed) and returns
    the binary, so later edits to the tree cannot change the crops halfway through a run."""
    global _built
    if _built is None:
        subprocess.run(["cargo", "build", "--release", "--locked", "--quiet", "--no-default-features",
                        "--example", "export_crops"], cwd=REPO, check=True)
        target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        _built = target / "release" / "examples" / "export_crops"
    return _built
