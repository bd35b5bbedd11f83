"""Export: ONNX for the CPU path, RKNN (INT8, rv1106) for the NPU, calibration list, quantization
parameters, and the simulator's outputs (evaluation + golden vectors).

rknn-toolkit2's simulator cannot run a model loaded back with `load_rknn`, so every RKNN number is
measured in the process that builds it (`build_and_evaluate_rknn`).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

INPUT_NAME, OUTPUT_NAME = "input", "logits"
OPSET = 13


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def export_onnx(model: torch.nn.Module, path: Path) -> None:
    model = model.eval()
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), str(path),
        input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=OPSET,
        dynamic_axes={INPUT_NAME: {0: "N"}, OUTPUT_NAME: {0: "N"}}, do_constant_folding=True,
    )
    import onnx
    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    # Reproducible bytes: drop the exporter's version stamp.
    m.producer_version = ""
    onnx.save(m, str(path))


def onnx_logits(path: Path, images_u8: np.ndarray, batch: int = 1000) -> np.ndarray:
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    out = []
    for i in range(0, len(images_u8), batch):
        x = images_u8[i:i + batch].astype(np.float32)[:, None] / 255.0
        out.append(sess.run([OUTPUT_NAME], {INPUT_NAME: x})[0].reshape(len(x), -1))
    return np.concatenate(out)


def write_calibration(images_u8: np.ndarray, labels: np.ndarray, folder: Path, per_class: int, seed: int) -> Path:
    """`per_class` images of every class (digits and not-a-digit) as PNGs + dataset.txt (paths
    relative to the folder's parent so the list works from any checkout)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    rng = np.random.default_rng(seed)
    lines = []
    for c in sorted(set(labels.tolist())):
        idx = rng.choice(np.nonzero(labels == c)[0], per_class, replace=False)
        for j, i in enumerate(sorted(idx)):
            p = folder / f"c{c:02d}_{j:03d}.png"
            Image.fromarray(images_u8[i]).save(p, optimize=True)
            lines.append(f"{folder.name}/{p.name}")
    ds = folder.parent / "dataset.txt"
    ds.write_text("\n".join(lines) + "\n")
    return ds


def rknn_config(algorithm: str) -> dict:
    return dict(mean_values=[[0]], std_values=[[255]], target_platform="rv1106",
                quantized_dtype="w8a8", quantized_algorithm=algorithm, quantized_method="channel",
                optimization_level=3)


@contextlib.contextmanager
def _in_dir(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def output_quant_params(onnx_path: Path, dataset: Path, cfg: dict, workdir: Path) -> dict:
    """Scale and zero point of the int8 output, read from rknn-toolkit2's quantization table
    (hybrid_quantization_step1 writes it for the same ONNX, config and calibration list)."""
    from rknn.api import RKNN
    workdir.mkdir(parents=True, exist_ok=True)
    with _in_dir(workdir), contextlib.redirect_stdout(io.StringIO()):
        r = RKNN(verbose=False)
        r.config(**cfg)
        if r.load_onnx(str(onnx_path.resolve()), inputs=[INPUT_NAME], input_size_list=[[1, 1, 28, 28]]) != 0:
            raise RuntimeError("rknn load_onnx failed")
        if r.hybrid_quantization_step1(dataset=str(dataset.resolve()), proposal=False) != 0:
            raise RuntimeError("rknn hybrid_quantization_step1 failed")
        r.release()
    from ruamel.yaml import YAML  # ships with rknn-toolkit2
    cfg_file = workdir / (onnx_path.stem + ".quantization.cfg")
    table = YAML(typ="safe").load(cfg_file.read_text())["quantize_parameters"]
    params = {}
    for name in (INPUT_NAME, OUTPUT_NAME):
        ent = table.get(f"{name}_int8") or table.get(name)
        params[name] = {"dtype": "int8", "scale": float(ent["scale"][0]), "zero_point": int(ent["zero_point"][0])}
    return params


def build_and_evaluate_rknn(onnx_path: Path, rknn_path: Path, dataset: Path, algorithm: str,
                            eval_sets: dict[str, np.ndarray], desc: str) -> dict[str, np.ndarray]:
    """Build the INT8 .rknn, export it, and run every eval set through the simulator.
    Returns simulator (dequantized) logits per eval set."""
    from rknn.api import RKNN
    cfg = rknn_config(algorithm)
    r = RKNN(verbose=False)
    r.config(**cfg)
    with _in_dir(dataset.parent):
        if r.load_onnx(str(onnx_path.resolve()), inputs=[INPUT_NAME], input_size_list=[[1, 1, 28, 28]]) != 0:
            raise RuntimeError(f"rknn load_onnx failed for {onnx_path}")
        if r.build(do_quantization=True, dataset=str(dataset.resolve())) != 0:
            raise RuntimeError(f"rknn build failed for {onnx_path}")
    if r.export_rknn(str(rknn_path)) != 0:
        raise RuntimeError(f"rknn export failed for {rknn_path}")
    if r.init_runtime() != 0:
        raise RuntimeError("rknn simulator init failed")
    out = {}
    for name, imgs in eval_sets.items():
        res = np.empty((len(imgs), 11), np.float32)
        for i in tqdm(range(len(imgs)), desc=f"{desc}: simulator {name}", unit="img", leave=False):
            res[i] = r.inference(inputs=[imgs[i][None, :, :, None]], data_format="nhwc")[0].reshape(-1)
        out[name] = res
    r.release()
    return out


def quantize_output(logits: np.ndarray, q: dict) -> np.ndarray:
    """Raw int8 values behind the simulator's dequantized outputs; checks they are exact."""
    raw = np.rint(logits / q["scale"]) + q["zero_point"]
    back = (raw - q["zero_point"]) * q["scale"]
    err = np.abs(back - logits).max(initial=0.0)
    if err > q["scale"] * 1e-3 or raw.min(initial=0) < -128 or raw.max(initial=0) > 127:
        raise RuntimeError(f"simulator outputs are not on the int8 grid of scale {q['scale']} zp {q['zero_point']} (max error {err})")
    return raw.astype(np.int8)
