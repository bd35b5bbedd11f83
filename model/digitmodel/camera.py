"""Offline "camera path" variants of training digits.

The firmware never sees an MNIST image: it sees a digit written on paper, photographed at some
size, binarised by an adaptive threshold, cropped with its ink strength and normalised. To close
that gap we push training digits through the same path once, up front: upscale to a random size,
thin or thicken the strokes (pen to marker), threshold into a mask with soft edges, and run the
firmware's own normalisation (`normalize.renormalize`). Numpy/scipy only, seeded.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .normalize import renormalize


def camera_variant(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One camera-path variant of an ink-bright uint8 digit image (any size) -> uint8 28x28."""
    f = img.astype(np.float32) / 255.0
    # Size on the sensor: 1.2x..7x the source (a 28 px MNIST digit -> ~25..200 px tall).
    k = float(rng.uniform(1.2, 7.0))
    big = ndimage.zoom(f, k, order=1)
    # Stroke width: erode for a thin pen, dilate for a marker, in proportion to the size.
    r = int(rng.integers(-1, 3) * max(1.0, k / 2.5))
    if r > 0:
        big = ndimage.grey_dilation(big, size=(r + 1, r + 1))
    elif r < 0:
        big = ndimage.grey_erosion(big, size=(-r + 1, -r + 1))
    # The firmware keeps ink strength only where the adaptive threshold said "ink".
    thr = float(rng.uniform(0.25, 0.6))
    mask = big > thr
    if rng.random() < 0.5:
        ink = np.where(mask, big, 0.0)  # grey strength inside the mask
    else:
        ink = mask.astype(np.float32)  # hard binary (strong contrast, high threshold margin)
    if not mask.any():
        return renormalize(img)
    return renormalize(np.clip(ink * 255.0 + 0.5, 0, 255).astype(np.uint8))


def camera_variants(images: np.ndarray, seed: int, progress=None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((len(images), 28, 28), np.uint8)
    it = range(len(images))
    if progress is not None:
        it = progress(it, desc="camera-path variants", unit="img")
    for i in it:
        out[i] = camera_variant(images[i], rng)
    return out
