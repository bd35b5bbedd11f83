"""Importing field captures (the sidecar format written by src/web/capture.rs)."""
import json

import numpy as np
import pytest
from PIL import Image

from digitmodel import captures


def make_capture(root, name, crops, truth=None, labels=None, size=28):
    folder = root / name
    folder.mkdir(parents=True)
    digits = []
    for i, value in enumerate(crops):
        Image.fromarray(np.full((size, size), value, np.uint8)).save(folder / f"digit-{i}.png")
        digits.append({"crop": f"digit-{i}.png", "box": [0, 0, 1, 1], "row": 0, "digit": 1, "confidence": 0.5,
                       "accepted": True, "label": None if labels is None else labels[i]})
    meta = {"format": captures.FORMAT, "id": name, "truth": truth, "digits": digits}
    (folder / "capture.json").write_text(json.dumps(meta))
    return folder


def test_truth_and_per_digit_labels(tmp_path):
    make_capture(tmp_path, "a", [10, 20, 30], truth="3x\n7")
    make_capture(tmp_path, "b", [40, 50], labels=["5", None])
    x, y, problems = captures.import_captures(tmp_path)
    assert problems == []
    assert y.tolist() == [3, 10, 7, 5]
    assert x.shape == (4, 28, 28) and x[:, 0, 0].tolist() == [10, 20, 30, 40]


def test_bad_captures_are_reported_and_skipped(tmp_path):
    make_capture(tmp_path, "good", [1], truth="4")
    make_capture(tmp_path, "short-truth", [1, 2], truth="4")
    make_capture(tmp_path, "bad-label", [1], labels=["q"])
    make_capture(tmp_path, "wrong-size", [1], truth="4", size=16)
    (tmp_path / "not-json").mkdir()
    (tmp_path / "not-json" / "capture.json").write_text("{")
    x, y, problems = captures.import_captures(tmp_path)
    assert y.tolist() == [4]
    text = "\n".join(problems)
    for what in ("1 characters for 2 candidates", "label 'q'", "expected 28x28", "not-json"):
        assert what in text, text


def test_command_writes_a_field_set_the_pipeline_loads(tmp_path):
    make_capture(tmp_path / "caps", "a", [10, 20], truth="1x")
    out = tmp_path / "field"
    assert captures.main(["import", str(tmp_path / "caps"), "--name", "site1", "--out", str(out)]) == 0
    x, y, digest = captures.load_field(out)
    assert y.tolist() == [1, 10] and x.shape == (2, 28, 28) and len(digest) == 16
    assert captures.load_field(tmp_path / "nothing") [2] == ""
    # Nothing labelled: an error, no file.
    make_capture(tmp_path / "unlabelled", "a", [10])
    assert captures.main(["import", str(tmp_path / "unlabelled"), "--out", str(tmp_path / "f2")]) == 1
    assert not (tmp_path / "f2").exists()
    with pytest.raises(captures.CaptureError, match="no capture folders"):
        captures.import_captures(tmp_path / "field")
