"""MANIFEST.json, REPORT.md and the report's figures."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import export, nets  # noqa: E402


def pct(x: float) -> str:
    return f"{x * 100:.2f} %"


def confusion(pred: np.ndarray, labels: np.ndarray, n: int = 11) -> np.ndarray:
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (labels, pred), 1)
    return m


def plot_confusion(m: np.ndarray, classes, title: str, path: Path) -> None:
    rows = [i for i in range(len(classes)) if m[i].sum() > 0]
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=90)
    ax.imshow(np.log1p(m[rows]), cmap="Blues")
    for r, i in enumerate(rows):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, r, str(m[i, j]), ha="center", va="center", fontsize=6.5, color="black" if i != j else "white")
    ax.set_xticks(range(len(classes)), [c if c != "not_a_digit" else "NaD" for c in classes])
    ax.set_yticks(range(len(rows)), [classes[i] for i in rows])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def plot_curves(histories: dict, path: Path) -> None:
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=90)
    for name, h in histories.items():
        ep = [r["epoch"] for r in h]
        a1.plot(ep, [r["loss"] for r in h], marker="o", label=name)
        if h and "val_acc" in h[0]:
            a2.plot(ep, [r["val_acc"] * 100 for r in h], marker="o", label=name)
    a1.set_title("training loss", fontsize=10)
    a2.set_title("validation accuracy (%)", fontsize=10)
    for a in (a1, a2):
        a.set_xlabel("epoch")
        a.grid(alpha=0.3)
    a2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def write_all(out: Path, S: dict, histories: dict, chosen: dict, D: dict, qparams: dict, threshold: dict,
              P: dict, classes, rknn_cfg: dict, dataset_txt: Path) -> None:
    sim, fl = chosen["sim"], chosen["onnx_out"]
    onnx_path, rknn_path = out / "digits.onnx", out / "digits.rknn"
    shipped = S["results"]["shipped_float"]
    int8 = {k: float((sim[k].argmax(1) == D[f"{k}_y"]).mean()) for k in ("mnist_test", "usps_test")}
    flo = {k: float((fl[k].argmax(1) == D[f"{k}_y"]).mean()) for k in ("mnist_test", "usps_test")}
    per_class = {k: [float((sim[k].argmax(1)[D[f"{k}_y"] == c] == c).mean()) for c in range(10)] for k in ("mnist_test", "usps_test")}
    cm = {k: confusion(sim[k].argmax(1), D[f"{k}_y"]) for k in ("mnist_test", "usps_test")}
    plot_confusion(cm["mnist_test"], classes, f"INT8 (simulator), MNIST test: {pct(int8['mnist_test'])}", out / "confusion_mnist.png")
    plot_confusion(cm["usps_test"], classes, f"INT8 (simulator), USPS test: {pct(int8['usps_test'])}", out / "confusion_usps.png")
    plot_curves(histories, out / "training_curves.png")
    calib_files = sorted((out / "calibration").glob("*.png"))

    metrics = {
        "float_onnx": {"mnist_test": flo["mnist_test"], "usps_test": flo["usps_test"]},
        "int8_simulator": {"mnist_test": int8["mnist_test"], "usps_test": int8["usps_test"],
                           "per_class_mnist_test": per_class["mnist_test"], "per_class_usps_test": per_class["usps_test"]},
        "reject": {"negatives_accepted_int8": S["neg_accept_int8"], "negatives_accepted_float": S["neg_accept_float"],
                   "negatives_test_count": S["negatives_test"],
                   "mnist_test_accepted_int8": S["mnist_accept_int8"], "mnist_test_correct_and_accepted_int8": S["mnist_correct_accept_int8"],
                   "usps_test_accepted_int8": S["usps_accept_int8"]},
    }
    manifest = {
        "schema_version": 1,
        "model": "digitnet",
        "classes": classes,
        "reject": {"min_confidence": threshold["min_confidence"], "max_not_a_digit": threshold["max_not_a_digit"],
                   "not_a_digit_class": 10,
                   "rule": "show a digit only if the top softmax class is a digit (not class 10), its probability >= min_confidence, and the probability of class 10 <= max_not_a_digit"},
        "architecture": {"widths": shipped["widths"], "params": shipped["params"], "macs_per_digit": shipped["macs"],
                         "variant": S["chosen"], "float_source": shipped["name"]},
        "files": [
            {"name": p.name, "sha256": export.sha256_file(p), "bytes": p.stat().st_size}
            for p in (onnx_path, rknn_path, out / "golden.json", out / "dataset.txt")
        ] + [{"name": "calibration/", "count": len(calib_files), "bytes": sum(p.stat().st_size for p in calib_files)}],
        "onnx": {"file": onnx_path.name, "sha256": export.sha256_file(onnx_path), "bytes": onnx_path.stat().st_size, "opset": export.OPSET,
                 "input": {"name": export.INPUT_NAME, "shape": ["N", 1, 28, 28], "dtype": "float32", "layout": "NCHW", "scale": "0..1",
                           "meaning": "normalised digit, uint8 pixel / 255, ink bright on black"},
                 "output": {"name": export.OUTPUT_NAME, "shape": ["N", 11, 1, 1], "dtype": "float32", "layout": "NCHW", "kind": "logits"}},
        "rknn": {"file": rknn_path.name, "sha256": export.sha256_file(rknn_path), "bytes": rknn_path.stat().st_size,
                 "toolkit": "rknn-toolkit2==2.5.0", "target_platform": "rv1106",
                 "config": rknn_cfg,
                 "load_onnx": {"inputs": [export.INPUT_NAME], "input_size_list": [[1, 1, 28, 28]]},
                 "build": {"do_quantization": True, "dataset": "dataset.txt"},
                 "input": {"name": export.INPUT_NAME, "shape": [1, 28, 28, 1], "layout": "NHWC", "dtype": "uint8",
                           "meaning": "raw normalised digit pixels 0..255 (mean 0, std 255 applied on the NPU)"},
                 "output": {"name": export.OUTPUT_NAME, "shape": [1, 11, 1, 1], "dtype": "int8",
                            "layout": "NCHW (4-D on purpose: RV1106 zero-copy bug with 3-D outputs); native layout may be NC1HWC2",
                            "quant": qparams["logits"], "dequantize": "(q - zero_point) * scale -> logits"},
                 "input_quant": qparams["input"]},
        "metrics": metrics,
    }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")

    R = S["results"]
    lines = [
        "# digitd model report",
        "",
        f"Generated by `python -m digitmodel.pipeline --profile {S['profile']}` (see `model/README.md`). All INT8 numbers are",
        "measured on the rknn-toolkit2 2.5.0 simulator in the process that built `digits.rknn`.",
        "",
        "## Shipped model",
        "",
        "| | value |",
        "|---|---|",
        f"| network | 5 conv3x3-BN-ReLU blocks, widths {shipped['widths']}, strides (1, 2, 1, 2, 2), a 4x4 conv classifier (fully connected, 4-D output), 11 outputs (0-9, not a digit) |",
        f"| parameters | {shipped['params']:,} |",
        f"| MACs per digit | {shipped['macs']:,} |",
        f"| variant shipped | `{S['chosen']}` (float source: `{shipped['name']}`) |",
        f"| `digits.onnx` | {onnx_path.stat().st_size:,} bytes, opset {export.OPSET} |",
        f"| `digits.rknn` | {rknn_path.stat().st_size:,} bytes (INT8 w8a8, rv1106) |",
        "",
        "| accuracy | float ONNX | INT8 simulator |",
        "|---|---|---|",
        f"| MNIST test (10 000) | {pct(flo['mnist_test'])} | {pct(int8['mnist_test'])} |",
        f"| USPS test (2 007, firmware normalisation) | {pct(flo['usps_test'])} | {pct(int8['usps_test'])} |",
        "",
        "Per-class INT8 accuracy:",
        "",
        "| class | " + " | ".join(str(c) for c in range(10)) + " |",
        "|---|" + "---|" * 10,
        "| MNIST | " + " | ".join(f"{v * 100:.2f}" for v in per_class["mnist_test"]) + " |",
        "| USPS | " + " | ".join(f"{v * 100:.2f}" for v in per_class["usps_test"]) + " |",
        "",
        "![MNIST confusion](confusion_mnist.png) ![USPS confusion](confusion_usps.png)",
        "",
        "## Not a digit",
        "",
        "Mechanism: an explicit 11th class trained on generated negatives (ruled-line fragments, specks,",
        "stains, shadow edges, short arcs, hatching, crosses, paper texture; each drawn at camera",
        "size and passed through the firmware's normalisation) **and** a reject rule on the softmax:",
        "a digit is shown only if the top class is a digit, p(not a digit) <= `max_not_a_digit` and",
        "the top digit's p >= `min_confidence`. `max_not_a_digit` is chosen on the validation split",
        "(largest value with at most 0.3 % of validation negatives accepted: generated ones and the firmware's own crops of stray marks and fragments); `min_confidence` is a",
        "fixed floor (0.4) that drops digits the model spreads over several classes. p(not a digit)",
        "is the better reject signal than the top probability: distillation and label smoothing",
        "soften the student's probabilities, so a top-probability threshold strict enough for the",
        "negatives (0.80 in the first build) also rejected 5.6 % of MNIST test digits.",
        "",
        "| | value |",
        "|---|---|",
        f"| `max_not_a_digit` | {threshold['max_not_a_digit']:.2f} |",
        f"| `min_confidence` | {threshold['min_confidence']:.2f} |",
        f"| test negatives accepted as digits (INT8, {S['negatives_test']:,} generated, unseen seed) | {pct(S['neg_accept_int8'])} |",
        f"| test negatives accepted (float ONNX) | {pct(S['neg_accept_float'])} |",
        f"| MNIST test digits accepted (INT8) | {pct(S['mnist_accept_int8'])} |",
        f"| MNIST test digits accepted and correct (INT8) | {pct(S['mnist_correct_accept_int8'])} |",
        f"| USPS test digits accepted (INT8) | {pct(S['usps_accept_int8'])} |",
        "",
        "## Students",
        "",
        "| model | params | MACs | val | MNIST test | USPS test |",
        "|---|---|---|---|---|---|",
    ]
    rows = (("teacher", "teacher"), ("student_plain", "student, hard labels"), ("student_kd", "student, distilled (T=4, alpha=0.7)"))
    for k, label in ((k, label) for k, label in rows if k in R):
        r = R[k]
        lines.append(f"| {label} | {r['params']:,} | {r['macs']:,} | {pct(r['val'])} | {pct(r['mnist_test'])} | {pct(r['usps_test'])} |")
    base_label = {"student_kd": "the distilled student", "student_plain": "the student trained on hard labels"}[R["base"]]
    lines += ["", f"Base for pruning, QAT and shipping: {base_label}."]
    if "teacher" in R and "student_kd" not in R:
        lines += [
            "The teacher is trained only to be the student's second opinion (`large/`, see the manifest's",
            "`second_opinion`): no distilled student in this profile; in the last full runs the distilled",
            "student validated below the plain one.",
        ]
    elif "teacher" in R:
        lines += [
            "The better student on validation is the base. Distillation helps only when the teacher knows",
            f"more than the student learns alone; here the teacher costs {R['teacher']['macs'] / R['student_plain']['macs']:.1f}x the student's MACs and",
            "trains fewer epochs, so compare its validation accuracy with the plain student's.",
        ]
    else:
        lines += [
            "No teacher or distilled student in this profile: in the last full runs the distilled student",
            "validated below the plain one, and the two stages took 23 of the 43 minutes.",
        ]
    lines += [
        "",
        "## Pruning",
        "",
        f"Starting from the base ({base_label}). Unstructured: global magnitude pruning of all conv weights,",
        "then fine-tuning with the masks held. The NPU runs dense int8 convolutions, so these zeros buy",
        "nothing on the board (same MACs, same `.rknn` size). Channels: whole filters removed by",
        "BN-scaled L1 importance. Both are fine-tuned by distillation from the unpruned base; channel",
        "pruning gives fewer MACs and a smaller file.",
        "",
        "| kind | setting | params (non-zero) | MACs | val | MNIST test | USPS test |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in S["pruning"]:
        if r["kind"] == "unstructured":
            lines.append(f"| unstructured | {r['sparsity'] * 100:.0f} % zeros | {r['nonzero_params']:,} | {r['macs']:,} (dense) | {pct(r['val'])} | {pct(r['mnist_test'])} | {pct(r['usps_test'])} |")
        else:
            lines.append(f"| channels | keep {r['keep_ratio'] * 100:.0f} %, widths {r['widths']} | {r['params']:,} | {r['macs']:,} | {pct(r['val'])} | {pct(r['mnist_test'])} | {pct(r['usps_test'])} |")
    lines += [
        "",
        "Rule for the shipped float model: the smallest channel-pruned student whose validation accuracy",
        "is within 0.05 points of the unpruned base, else the base itself.",
        "",
        "## Quantization: PTQ vs QAT",
        "",
        "PTQ: rknn-toolkit2 quantizes the float model with the calibration list (`dataset.txt`,",
        f"{len(calib_files)} images, {P['calib_per_class']} per class incl. not-a-digit). QAT: the float model with",
        "BN folded is fine-tuned with int8 fake quantization (per-channel weights, per-tensor",
        "activations, straight-through gradients), then handed to the same quantizer.",
        "The INT8 variant is chosen on validation accuracy alone.",
        "",
        "| variant | algorithm | `.rknn` bytes | float val | INT8 val | float MNIST | INT8 MNIST | float USPS | INT8 USPS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in S["quantization"]:
        lines.append(f"| {r['variant']} | {r['algorithm']} | {r['rknn_bytes']:,} | {pct(r['float_val'])} | {pct(r['int8_val'])} | {pct(r['float_mnist_test'])} | {pct(r['int8_mnist_test'])} | {pct(r['float_usps_test'])} | {pct(r['int8_usps_test'])} |")
    c = S["data_counts"]
    lines += [
        "",
        "## Training",
        "",
        "![training curves](training_curves.png)",
        "",
        f"Data: MNIST train {c['mnist_train']:,} + USPS train {c['usps_train']:,} (USPS through the firmware",
        f"normalisation) + {c['camera_variants']:,} camera-path variants (upscaled, pen/marker stroke width,",
        f"thresholded, renormalised) + {c['negatives_train']:,} generated negatives + crops cut by the firmware's",
        f"own preprocessing from generated pages drawn with the training digits: {c.get('crop_digits_train', 0):,} digits and",
        f"{c.get('crop_negatives_train', 0):,} not-a-digit (stray marks, fragments, specks; each counted 4 times). Validation held out:",
        f"MNIST {c['mnist_val']:,}, USPS {c['usps_val']:,}, negatives {c['negatives_val']:,}, firmware crops",
        f"{c.get('crop_digits_val', 0):,} digits + {c.get('crop_negatives_val', 0):,} not-a-digit (pages drawn with validation digits). USPS test is",
        "evaluation only. Online augmentation: rotation, scale, shear, shift, stroke width, blur, gamma,",
        "background, noise, then the firmware's peak stretch and uint8 rounding.",
        "",
        "Stage times (s, wall clock of this run): " + ", ".join(
            f"{k} {v}" + (" (loaded from cache)" if k in S.get("cached_stages", ()) else "") for k, v in S["timings_s"].items()),
        "",
        "Stages marked as loaded from cache reused `model/cache/` results of an earlier run with the same",
        "settings; their time is that of loading and evaluating, not training."
        + (" How this build's cached stages were produced: [PROVENANCE.md](PROVENANCE.md)." if (out / "PROVENANCE.md").exists() else ""),
        "",
        "## Rerun",
        "",
        "```",
        "cd model && python3 -m venv .venv && .venv/bin/pip install -r requirements.txt",
        "../model/.venv/bin/python -m digitmodel.pipeline --fresh",
        "```",
        "",
        "To rebuild only the `.rknn` from the committed ONNX, use `MANIFEST.json` → `rknn.config`, the",
        "`load_onnx` arguments and `dataset.txt` (paths relative to `model/artifacts/`).",
        "",
    ]
    (out / "REPORT.md").write_text("\n".join(lines))
