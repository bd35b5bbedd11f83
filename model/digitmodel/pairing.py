"""A second opinion for unsure digits: the teacher re-reads what the shipped student is unsure of.

The firmware (`src/classify/second_opinion.rs`) runs the student on every digit and, for a
digit whose top probability is below `below`, averages the student's probabilities with the
teacher's. Here the pipeline picks `below` and the pair's reject rule on validation, writes the
teacher as `large/` with its own manifest, and names it in the main manifest.

numpy only (no torch), so the choice is unit-tested in CI.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# Where the student hands a digit over, tried in this order; on equal validation accuracy the
# lowest wins (fewer digits re-read, less time).
BELOWS = (0.5, 0.7, 0.9)
LARGE_DIR = "large"


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def pair_probs(student_logits: np.ndarray, teacher_logits: np.ndarray, below: float) -> np.ndarray:
    """Probabilities as the firmware computes them for the pair."""
    ps, pt = softmax(student_logits), softmax(teacher_logits)
    unsure = ps.max(1) < below
    p = ps.copy()
    p[unsure] = (ps[unsure] + pt[unsure]) / 2
    return p


def pair_logits(student_logits: np.ndarray, teacher_logits: np.ndarray, below: float) -> np.ndarray:
    """Log-probabilities of the pair: their softmax is the pair's probabilities again, so the
    single-model threshold code applies unchanged."""
    return np.log(np.maximum(pair_probs(student_logits, teacher_logits, below), 1e-12))


def choose_below(student_val: np.ndarray, teacher_val: np.ndarray, val_y: np.ndarray) -> tuple[float, dict]:
    """The `below` with the best validation accuracy (ties: the lowest), and per `below` its
    accuracy and the share of samples handed to the teacher."""
    rows = {}
    for b in BELOWS:
        p = pair_probs(student_val, teacher_val, b)
        rows[b] = {"val": float((p.argmax(1) == val_y).mean()),
                   "handed_over": float((softmax(student_val).max(1) < b).mean())}
    best = max(BELOWS, key=lambda b: (rows[b]["val"], -b))
    return best, rows


def model_manifest(onnx_path: Path, rknn_path: Path, reject: dict, classes, architecture: dict, sha256) -> dict:
    """The schema-1 manifest fields the firmware reads, for a model with the student's I/O."""
    return {
        "schema_version": 1,
        "model": "digitnet",
        "classes": list(classes),
        "reject": {"min_confidence": reject["min_confidence"], "max_not_a_digit": reject["max_not_a_digit"], "not_a_digit_class": 10},
        "architecture": architecture,
        "onnx": {"file": onnx_path.name, "sha256": sha256(onnx_path), "bytes": onnx_path.stat().st_size,
                 "input": {"name": "input", "shape": ["N", 1, 28, 28], "dtype": "float32", "layout": "NCHW", "scale": "0..1"},
                 "output": {"name": "logits", "shape": ["N", 11, 1, 1], "dtype": "float32", "layout": "NCHW", "kind": "logits"}},
        "rknn": {"file": rknn_path.name, "sha256": sha256(rknn_path), "bytes": rknn_path.stat().st_size},
    }


def pair_manifest(manifest: dict, below: float, pair_rule: dict, metrics: dict, large_files: list[dict]) -> dict:
    """`manifest` (the student's) naming the large model as its second opinion: the pair's
    reject rule replaces the student's, which is kept under `reject.student_alone`."""
    out = dict(manifest)
    alone = {k: manifest["reject"][k] for k in ("min_confidence", "max_not_a_digit")}
    out["reject"] = dict(manifest["reject"], min_confidence=pair_rule["min_confidence"],
                         max_not_a_digit=pair_rule["max_not_a_digit"], student_alone=alone)
    out["second_opinion"] = {"manifest": f"{LARGE_DIR}/MANIFEST.json", "below": below}
    out["files"] = list(manifest.get("files", [])) + large_files
    out["metrics"] = dict(manifest.get("metrics", {}), second_opinion=metrics)
    return out


def student_manifest(manifest: dict) -> dict:
    """Undoes `pair_manifest`: the student's own manifest, so that a folder already paired can be
    paired again with another teacher. A manifest naming no second opinion comes back as is."""
    if "second_opinion" not in manifest:
        return manifest
    out = {k: v for k, v in manifest.items() if k != "second_opinion"}
    reject = {k: v for k, v in manifest["reject"].items() if k != "student_alone"}
    out["reject"] = dict(reject, **manifest["reject"]["student_alone"])
    out["files"] = [f for f in manifest.get("files", []) if not f["name"].startswith(f"{LARGE_DIR}/")]
    metrics = {k: v for k, v in manifest.get("metrics", {}).items() if k != "second_opinion"}
    if metrics:
        out["metrics"] = metrics
    else:  # pair_manifest added the key
        out.pop("metrics", None)
    return out


def write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n")
