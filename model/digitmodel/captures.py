"""Field captures (`digitd run --capture-dir DIR`, then "Capture" on the web page or
`POST /api/capture`) into training data.

    python -m digitmodel.captures import DIR [--name NAME] [--rerun]

Each capture folder holds `capture.json` (format `digitd-capture/1`) and one 28x28 PNG per
candidate: exactly the model input digitd computed. Before importing, a person says what each
candidate really is, in the sidecar, either
  - `"truth": "31x7"`: one character per candidate in the order of `digits` (`x` = not a
    digit; spaces and newlines are ignored), or
  - `"label": "3"` (or `"x"`) on single entries of `digits`.
Candidates without a label are left out; captures whose `truth` does not match their candidates
are reported and skipped. The labelled crops go to `field/NAME.npz` (commit it: it is small and
it is how the next model learns from the field); every pipeline run trains on all of
`field/*.npz`, each crop weighted `FIELD_WEIGHT` times. `--rerun` then runs the pipeline.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

MODEL_DIR = Path(__file__).resolve().parents[1]
FIELD_DIR = MODEL_DIR / "field"
FORMAT = "digitd-capture/1"
NOT_A_DIGIT = 10
# Real pictures from the field are few and worth more than generated ones.
FIELD_WEIGHT = 8


class CaptureError(ValueError):
    pass


def _label(value, where: str) -> int | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("x", "none", "10"):
        return NOT_A_DIGIT
    if len(text) == 1 and text.isdigit():
        return int(text)
    raise CaptureError(f"{where}: label {value!r} is not a digit 0-9 or 'x'")


def _read_crop(path: Path) -> np.ndarray:
    from PIL import Image  # only needed here; the pipeline's other tests run on numpy alone

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L") if im.mode != "L" else im, dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise CaptureError(f"{path}: unreadable crop ({e})") from e
    if arr.shape != (28, 28):
        raise CaptureError(f"{path}: crop is {arr.shape[1]}x{arr.shape[0]}, expected 28x28")
    return arr


def read_capture(folder: Path) -> tuple[list[np.ndarray], list[int]]:
    """The labelled crops of one capture folder."""
    sidecar = folder / "capture.json"
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CaptureError(f"{sidecar}: {e}") from e
    if meta.get("format") != FORMAT:
        raise CaptureError(f"{sidecar}: format {meta.get('format')!r}, expected {FORMAT!r}")
    digits = meta.get("digits")
    if not isinstance(digits, list):
        raise CaptureError(f"{sidecar}: no digits list")
    labels = [_label(d.get("label"), f"{sidecar} digit {i}") for i, d in enumerate(digits)]
    truth = meta.get("truth")
    if truth is not None:
        chars = [c for c in str(truth) if not c.isspace()]
        if len(chars) != len(digits):
            raise CaptureError(f"{sidecar}: truth {truth!r} has {len(chars)} characters for {len(digits)} candidates")
        labels = [_label(c, f"{sidecar} truth") for c in chars]
    xs, ys = [], []
    for d, label in zip(digits, labels):
        if label is None:
            continue
        crop = folder / str(d.get("crop", ""))
        if crop.parent != folder:
            raise CaptureError(f"{sidecar}: crop {d.get('crop')!r} is outside the capture")
        xs.append(_read_crop(crop))
        ys.append(label)
    return xs, ys


def import_captures(root: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """All labelled crops under `root` (one folder per capture) and a list of problems."""
    xs, ys, problems = [], [], []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise CaptureError(f"{root}: no capture folders")
    for folder in folders:
        try:
            x, y = read_capture(folder)
        except CaptureError as e:
            problems.append(str(e))
            continue
        xs += x
        ys += y
    x = np.stack(xs) if xs else np.zeros((0, 28, 28), np.uint8)
    return x, np.array(ys, dtype=np.uint8), problems


def field_sets(folder: Path = FIELD_DIR) -> list[Path]:
    return sorted(folder.glob("*.npz")) if folder.is_dir() else []


def load_field(folder: Path = FIELD_DIR) -> tuple[np.ndarray, np.ndarray, str]:
    """Every imported field set: (images, labels, content hash for cache keys; "" if none)."""
    xs, ys, h = [], [], hashlib.sha256()
    for p in field_sets(folder):
        h.update(p.name.encode() + p.read_bytes())
        with np.load(p) as z:
            x, y = z["x"], z["y"]
        if x.dtype != np.uint8 or x.shape[1:] != (28, 28) or len(x) != len(y) or (y > NOT_A_DIGIT).any():
            raise CaptureError(f"{p}: not a field set (x uint8 [N,28,28], y 0-10)")
        xs.append(x)
        ys.append(y.astype(np.int64))
    if not xs:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64), ""
    return np.concatenate(xs), np.concatenate(ys), h.hexdigest()[:16]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m digitmodel.captures", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="import a captures folder with corrected labels")
    imp.add_argument("dir", type=Path)
    imp.add_argument("--name", help="field set name (default: the folder's name)")
    imp.add_argument("--out", type=Path, default=FIELD_DIR)
    imp.add_argument("--rerun", action="store_true", help="run the model pipeline afterwards")
    args = ap.parse_args(argv)
    if not args.dir.is_dir():
        print(f"error: {args.dir}: not a folder", file=sys.stderr)
        return 2
    try:
        x, y, problems = import_captures(args.dir)
    except CaptureError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for p in problems:
        print(f"skipped: {p}", file=sys.stderr)
    if len(y) == 0:
        print("error: no labelled crops (fill in `truth` or `label` in each capture.json first)", file=sys.stderr)
        return 1
    name = args.name or args.dir.resolve().name
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"{name}.npz"
    np.savez_compressed(out, x=x, y=y)
    counts = np.bincount(y, minlength=NOT_A_DIGIT + 1)
    print(f"{out}: {len(y)} crops ({int(counts[:NOT_A_DIGIT].sum())} digits, {int(counts[NOT_A_DIGIT])} not a digit); "
          f"{len(problems)} captures skipped")
    if args.rerun:
        from . import pipeline
        return pipeline.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
