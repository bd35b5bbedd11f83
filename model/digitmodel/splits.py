"""Writes the pipeline's validation digits as index files, one index per line:
`mnist_val.txt` (into MNIST train) and `usps_val.txt` (into USPS train).

The firmware tunes its reader on pages drawn from these digits (`examples/write_scenes.rs`,
`examples/write_usps_pages.rs`): the model never trained on them and the tests never use them,
so a setting chosen on those pages is chosen on neither training nor test data.

    python -m digitmodel.splits OUT_DIR
"""
from __future__ import annotations

import argparse
from pathlib import Path

from . import data


def write_validation_indices(out: Path, root: Path | None = None) -> tuple[Path, Path]:
    _, mnist_y = data.load_mnist("train", root)
    _, usps_y = data.load_usps("train", root)
    (_, mnist_val), (_, usps_val) = data.pipeline_splits(len(mnist_y), len(usps_y))
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / "mnist_val.txt", out / "usps_val.txt")
    for path, indices in zip(paths, (mnist_val, usps_val)):
        path.write_text("".join(f"{i}\n" for i in indices))
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="folder for mnist_val.txt and usps_val.txt")
    args = ap.parse_args(argv)
    for path in write_validation_indices(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
