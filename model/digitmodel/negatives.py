"""Generated "not a digit" samples (class 10), as the firmware would hand them to the model.

Each negative is drawn at camera resolution on a black canvas (ink bright) and then normalised by
the firmware's normalisation, so it arrives exactly like a blob that survived the firmware's blob
filter: ruled-line fragments, specks and stains, shadow edges, stray strokes (short arcs),
hatching, crosses and low-contrast paper texture. Shapes that a person would read as a digit (a single
straight near-vertical stroke is a "1", a closed ring is a "0", a bent corner can be a "7", a random scribble is often a
fair "2" or "4": an experiment with scribbles left 80 % of the test negatives that passed as digits
to them, and cost MNIST accuracy) are deliberately not generated.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .normalize import renormalize

KINDS = ("dash", "dots", "blob", "shadow_edge", "arc", "hatch", "texture", "cross")


def _canvas(rng):
    s = int(rng.integers(40, 160))
    return np.zeros((s, s), np.float32), s


def _line(c, x0, y0, x1, y1, width):
    h, w = c.shape
    n = int(max(abs(x1 - x0), abs(y1 - y0)) * 2) + 2
    xs = np.linspace(x0, x1, n)
    ys = np.linspace(y0, y1, n)
    r = max(0.5, width / 2)
    for x, y in zip(xs, ys):
        xa, xb = int(max(0, x - r)), int(min(w, x + r + 1))
        ya, yb = int(max(0, y - r)), int(min(h, y + r + 1))
        c[ya:yb, xa:xb] = 1.0


def negative(kind: str, rng: np.random.Generator) -> np.ndarray:
    c, s = _canvas(rng)
    width = float(rng.uniform(1.5, s / 10))
    if kind == "dash":  # ruled-line or underline fragment, within 30 degrees of horizontal
        ang = np.deg2rad(rng.uniform(-30, 30))
        L = rng.uniform(0.5, 0.95) * s / 2
        cx, cy = s / 2, s / 2
        _line(c, cx - L * np.cos(ang), cy - L * np.sin(ang), cx + L * np.cos(ang), cy + L * np.sin(ang), width)
    elif kind == "dots":  # specks / dust / pen taps
        for _ in range(int(rng.integers(1, 6))):
            x, y = rng.uniform(0, s, 2)
            r = rng.uniform(1, s / 8)
            yy, xx = np.ogrid[:s, :s]
            c[(xx - x) ** 2 + (yy - y) ** 2 <= r * r] = 1.0
    elif kind == "blob":  # stain, thumb, filled region
        yy, xx = np.ogrid[:s, :s]
        a, b = rng.uniform(s / 6, s / 2, 2)
        c[((xx - s / 2) / a) ** 2 + ((yy - s / 2) / b) ** 2 <= 1] = 1.0
        c = ndimage.gaussian_filter(c, rng.uniform(0, 3))
    elif kind == "shadow_edge":  # a soft half-plane: the edge of a hand or phone shadow
        yy, xx = np.mgrid[:s, :s]
        ang = rng.uniform(0, np.pi)
        d = (xx - s / 2) * np.cos(ang) + (yy - s / 2) * np.sin(ang)
        c = np.clip(0.5 + d / rng.uniform(2, s / 3), 0, 1) * rng.uniform(0.3, 1.0)
    elif kind == "arc":  # open curve of less than half a circle
        r = rng.uniform(s / 4, s / 2.2)
        a0 = rng.uniform(0, 2 * np.pi)
        span = rng.uniform(0.25, 0.6) * np.pi
        ts = np.linspace(a0, a0 + span, 40)
        pts = [(s / 2 + r * np.cos(t), s / 2 + r * np.sin(t)) for t in ts]
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            _line(c, x0, y0, x1, y1, width)
    elif kind == "hatch":  # parallel strokes: shading, crossed-out area
        n = int(rng.integers(3, 7))
        ang = rng.uniform(0, np.pi)
        for i in range(n):
            off = (i - n / 2) * s / (n + 1)
            dx, dy = np.cos(ang), np.sin(ang)
            cx, cy = s / 2 - dy * off, s / 2 + dx * off
            _line(c, cx - dx * s / 3, cy - dy * s / 3, cx + dx * s / 3, cy + dy * s / 3, max(1.5, width * 0.5))
    elif kind == "texture":  # low-contrast paper grain or sensor noise that got through
        c = ndimage.gaussian_filter(rng.random((s, s)).astype(np.float32), rng.uniform(0.5, 3))
        c = np.clip((c - c.mean()) * rng.uniform(3, 12) + 0.3, 0, 1)
    elif kind == "cross":  # an "x" or "+" mark
        if rng.random() < 0.5:
            _line(c, s * 0.2, s * 0.2, s * 0.8, s * 0.8, width)
            _line(c, s * 0.2, s * 0.8, s * 0.8, s * 0.2, width)
        else:
            _line(c, s * 0.5, s * 0.15, s * 0.5, s * 0.85, width)
            _line(c, s * 0.15, s * 0.5, s * 0.85, s * 0.5, width)
    else:
        raise ValueError(kind)
    if rng.random() < 0.5:
        c = ndimage.gaussian_filter(c, rng.uniform(0.3, 1.5))
    img = np.clip(c * 255 + 0.5, 0, 255).astype(np.uint8)
    return renormalize(img, floor=int(rng.integers(0, 40)))


def negatives(n: int, seed: int, progress=None, kinds=KINDS) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, 28, 28), np.uint8)
    it = range(n)
    if progress is not None:
        it = progress(it, desc="negatives", unit="img")
    for i in it:
        out[i] = negative(kinds[i % len(kinds)], rng)
    return out


def kind_of(i: int) -> str:
    return KINDS[i % len(KINDS)]
