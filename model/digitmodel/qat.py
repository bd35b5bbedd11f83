"""Quantization-aware fine-tuning that mirrors what rknn-toolkit2 does to the model on RV1106.

BatchNorm is folded into the convolutions (the NPU runs conv+bias), weights are fake-quantized to
int8 per output channel (symmetric) and every activation to int8 per tensor (asymmetric, range from
an EMA of the observed min/max), with straight-through gradients. After fine-tuning we export the
folded float weights, which now sit on (or next to) the int8 grid, and let rknn-toolkit2 quantize
them with the same calibration list as the PTQ model. (rknn-toolkit2 can also ingest QDQ ONNX
graphs; we keep one ONNX and one quantizer so the PTQ-vs-QAT comparison isolates the training.)
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from .nets import DigitNet


def fold_bn(model: DigitNet) -> nn.Module:
    """Inference-equivalent model with every conv-BN pair folded into one biased conv."""
    layers = []
    for block in model.features:
        conv, bn = block[0], block[1]
        fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
        std = torch.sqrt(bn.running_var + bn.eps)
        with torch.no_grad():
            fused.weight.copy_(conv.weight * (bn.weight / std)[:, None, None, None])
            fused.bias.copy_(bn.bias - bn.running_mean * bn.weight / std)
        layers += [fused, nn.ReLU()]
    if not isinstance(model.pool, nn.Identity):
        layers.append(copy.deepcopy(model.pool))
    return nn.Sequential(*layers, copy.deepcopy(model.head))


class ActQuant(nn.Module):
    """Per-tensor asymmetric int8 fake quantization with an EMA range observer."""

    def __init__(self, momentum: float = 0.05):
        super().__init__()
        self.momentum = momentum
        self.register_buffer("lo", torch.tensor(0.0))
        self.register_buffer("hi", torch.tensor(0.0))
        self.register_buffer("seen", torch.tensor(0))

    def forward(self, x):
        if self.training:
            lo, hi = x.detach().min(), x.detach().max()
            if int(self.seen) == 0:
                self.lo.copy_(lo), self.hi.copy_(hi)
            else:
                self.lo.lerp_(lo, self.momentum), self.hi.lerp_(hi, self.momentum)
            self.seen += 1
        lo, hi = min(float(self.lo), 0.0), max(float(self.hi), 1e-6)
        scale = (hi - lo) / 255.0
        zp = int(round(-128 - lo / scale))
        return torch.fake_quantize_per_tensor_affine(x, scale, zp, -128, 127)


class QConv(nn.Module):
    """Conv with per-output-channel symmetric int8 fake-quantized weights."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.conv = conv

    def forward(self, x):
        w = self.conv.weight
        scale = (w.detach().abs().amax(dim=(1, 2, 3)) / 127.0).clamp_min(1e-8)
        zp = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
        wq = torch.fake_quantize_per_channel_affine(w, scale, zp, 0, -127, 127)
        return nn.functional.conv2d(x, wq, self.conv.bias, self.conv.stride, self.conv.padding)


def qat_model(folded: nn.Sequential) -> nn.Sequential:
    """Wrap a folded model: quantized convs, activation quantizers after each ReLU and the head."""
    mods = []
    for m in folded:
        if isinstance(m, nn.Conv2d):
            mods.append(QConv(m))
        else:
            mods.append(m)
        if isinstance(m, (nn.ReLU, nn.AdaptiveAvgPool2d)):
            mods.append(ActQuant())
    mods.append(ActQuant())  # the int8 output
    return nn.Sequential(*mods)


def strip_qat(q: nn.Sequential) -> nn.Sequential:
    """The plain float (folded) model inside a QAT wrapper, for ONNX export."""
    mods = []
    for m in q:
        if isinstance(m, QConv):
            mods.append(m.conv)
        elif not isinstance(m, ActQuant):
            mods.append(m)
    return nn.Sequential(*mods)
