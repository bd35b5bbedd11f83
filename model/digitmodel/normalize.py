"""The firmware's MNIST normalisation, in integer arithmetic.

Byte-identical to `src/preprocess/normalize.rs` (`Normalizer::normalize`): fit the ink crop into a
20x20 box keeping aspect ratio by exact area averaging, stretch the peak to 255, place the box in
28x28 so its centre of mass lands on index 14 (MNIST's mean centre of mass; rounded, clamped), and
give a hairline stroke a pen's width. USPS test digits are read through
this same function, so the accuracy we report on USPS is the accuracy the firmware path would get.
"""
from __future__ import annotations

import numpy as np

INPUT_SIDE = 28
BOX_SIDE = 20


def fitted_size(w: int, h: int) -> tuple[int, int]:
    if w >= h:
        return BOX_SIDE, max(1, (h * BOX_SIDE + w // 2) // w)
    return max(1, (w * BOX_SIDE + h // 2) // h), BOX_SIDE


def overlap_matrix(n: int, m: int) -> np.ndarray:
    """[m, n] integer weights: overlap of output cell o=[o*n,(o+1)*n) with source s=[s*m,(s+1)*m)."""
    o = np.arange(m)[:, None]
    s = np.arange(n)[None, :]
    lo = np.maximum(o * n, s * m)
    hi = np.minimum((o + 1) * n, (s + 1) * m)
    return np.maximum(hi - lo, 0).astype(np.int64)


def centre_offset(mass: int, moment: int, length: int) -> int:
    off = (29 * mass - 2 * moment) // (2 * mass)  # floor division, like div_euclid for mass > 0
    return int(min(max(off, 0), INPUT_SIDE - length))


def normalize(crop: np.ndarray) -> np.ndarray | None:
    """uint8 [h, w] ink-bright crop -> uint8 [28, 28], or None if empty / no ink."""
    crop = np.asarray(crop)
    if crop.ndim != 2 or crop.shape[0] == 0 or crop.shape[1] == 0:
        return None
    h, w = crop.shape
    ow, oh = fitted_size(w, h)
    wx = overlap_matrix(w, ow)  # [ow, w]
    wy = overlap_matrix(h, oh)  # [oh, h]
    acc = wy @ crop.astype(np.int64) @ wx.T  # [oh, ow], exact integers
    denom = w * h
    boxed = (acc + denom // 2) // denom
    peak = int(boxed.max())
    if peak == 0:
        return None
    boxed = (boxed * 255 + peak // 2) // peak
    grown = thicken_hairline(np.pad(boxed, 1))
    if grown is not None:
        boxed = grown
    oh, ow = boxed.shape
    mass = int(boxed.sum())
    ys, xs = np.mgrid[0:oh, 0:ow]
    dx = centre_offset(mass, int((xs * boxed).sum()), ow)
    dy = centre_offset(mass, int((ys * boxed).sum()), oh)
    out = np.zeros((INPUT_SIDE, INPUT_SIDE), dtype=np.uint8)
    out[dy:dy + oh, dx:dx + ow] = boxed.astype(np.uint8)
    return out


CORE_LEVEL = 128
_SIDES = ((0, -1), (0, 1), (-1, 0), (1, 0))
_DIAGONALS = ((-1, -1), (-1, 1), (1, -1), (1, 1))


def thicken_hairline(padded: np.ndarray) -> np.ndarray | None:
    """The stretched box with a blank border of one pixel -> the box grown by a pixel on each
    side when its stroke is a hairline, else None. A stroke whose core (pixels >= 128) is under
    1.2 px wide on average (2 * area / perimeter) grows softly (3/4 of a 4-neighbour's level, 1/2
    of a diagonal one's): what a thin pen on a big digit becomes next to MNIST's 2-3 px strokes.
    Same integer arithmetic as the firmware's `thicken_hairline`."""
    v = padded.astype(np.int64)
    core = v >= CORE_LEVEL
    h, w = v.shape
    area = int(core.sum())
    around = np.pad(core, 1)
    perimeter = sum(int((core & ~around[1 + dy:h + 1 + dy, 1 + dx:w + 1 + dx]).sum()) for dy, dx in _SIDES)
    if area == 0 or 5 * area >= 3 * perimeter:  # 2 * area / perimeter >= 1.2
        return None
    p = np.pad(v, 1)
    shifted = lambda dy, dx: p[1 + dy:h + 1 + dy, 1 + dx:w + 1 + dx]
    side = np.max([shifted(dy, dx) for dy, dx in _SIDES], axis=0)
    diagonal = np.max([shifted(dy, dx) for dy, dx in _DIAGONALS], axis=0)
    return np.maximum(np.maximum(v, side * 3 // 4), diagonal // 2)


def ink_crop(img: np.ndarray, floor: int = 0) -> np.ndarray | None:
    """Crop an ink-bright image to the bounding box of pixels above `floor` (values <= floor -> 0)."""
    img = np.where(img > floor, img, 0).astype(np.uint8)
    ys, xs = np.nonzero(img)
    if len(ys) == 0:
        return None
    return img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def renormalize(img: np.ndarray, floor: int = 0) -> np.ndarray:
    """Crop + normalise; an image with no ink becomes all zeros."""
    c = ink_crop(img, floor)
    out = normalize(c) if c is not None else None
    return out if out is not None else np.zeros((INPUT_SIDE, INPUT_SIDE), np.uint8)


def _case(name: str, crop: np.ndarray) -> dict:
    out = normalize(crop)
    h, w = crop.shape
    return {"name": name, "w": w, "h": h, "crop": crop.ravel().tolist(), "out": None if out is None else out.ravel().tolist()}


def reference_vectors(seed: int = 7) -> list[dict]:
    """Crops and their normalised outputs, for the firmware's byte-for-byte test."""
    rng = np.random.default_rng(seed)
    cases = []
    sizes = [(1, 1), (1, 37), (41, 1), (2, 3), (7, 5), (20, 20), (28, 28), (33, 90), (90, 33), (64, 64), (13, 77), (77, 13)]
    for i, (h, w) in enumerate(sizes * 3):
        kind = ("noise", "blob", "stroke")[i // len(sizes)]
        if kind == "noise":
            crop = rng.integers(0, 256, (h, w))
        elif kind == "blob":
            yy, xx = np.mgrid[0:h, 0:w]
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            crop = np.clip(255 - ((yy - cy) ** 2 + (xx - cx) ** 2) * 4, 0, 255)
        else:
            crop = np.zeros((h, w))
            crop[:, : max(1, w // 4)] = rng.integers(100, 256)
            crop[-max(1, h // 5):, :] = rng.integers(30, 256)
        crop = crop.astype(np.uint8)
        cases.append(_case(f"{kind}-{h}x{w}", crop))
    # Hairlines: a thin pen's 1, and a thin ring, each on a big crop (both are thickened).
    one = np.zeros((110, 40)); one[:, 19:21] = 200
    yy, xx = np.mgrid[0:90, 0:70]
    ring = np.where(np.abs(np.hypot((yy - 45) / 44, (xx - 35) / 34) - 0.95) < 0.03, 230, 0)
    for name, crop in (("hairline-one-110x40", one), ("hairline-ring-90x70", ring)):
        cases.append(_case(name, crop.astype(np.uint8)))
    cases.append({"name": "empty-0x0", "w": 0, "h": 0, "crop": [], "out": None})
    cases.append({"name": "blank-5x4", "w": 4, "h": 5, "crop": [0] * 20, "out": None})
    return cases


if __name__ == "__main__":
    import json
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "--write-vectors":
        raise SystemExit("usage: python -m digitmodel.normalize --write-vectors PATH")
    with open(sys.argv[2], "w") as f:
        json.dump(reference_vectors(), f, separators=(",", ":"))
        f.write("\n")
