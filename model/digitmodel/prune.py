"""Pruning: unstructured magnitude pruning (a sparsity sweep) and structured channel pruning.

Unstructured zeros shrink nothing on the RV1106 NPU (it runs dense int8 convolutions), so the
shipped model can only profit from *channel* pruning, which removes whole filters: fewer MACs and a
smaller file. Both are measured; only channel pruning can reach the shipped model.
"""
from __future__ import annotations

import torch
from torch import nn

from .nets import DigitNet


def conv_weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, nn.Conv2d)]


def magnitude_masks(model: nn.Module, sparsity: float) -> list[torch.Tensor]:
    """Global magnitude pruning over all conv weights: zero the smallest `sparsity` fraction."""
    ws = conv_weights(model)
    flat = torch.cat([w.detach().abs().flatten() for w in ws])
    k = int(sparsity * flat.numel())
    if k == 0:
        return [torch.ones_like(w) for w in ws]
    threshold = flat.kthvalue(k).values
    return [(w.detach().abs() > threshold).float() for w in ws]


def apply_masks(model: nn.Module, masks: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for w, m in zip(conv_weights(model), masks):
            w.mul_(m.to(w.device))


def sparsity_of(model: nn.Module) -> float:
    ws = conv_weights(model)
    zeros = sum(int((w == 0).sum()) for w in ws)
    return zeros / sum(w.numel() for w in ws)


def channel_importance(block: nn.Sequential) -> torch.Tensor:
    """L1 norm of each output filter, scaled by its BatchNorm gain (a filter the BN silences
    matters little however large its weights)."""
    conv, bn = block[0], block[1]
    return conv.weight.detach().abs().sum(dim=(1, 2, 3)) * bn.weight.detach().abs()


def prune_channels(model: DigitNet, keep_ratio: float) -> DigitNet:
    """A new, smaller DigitNet keeping the most important `keep_ratio` of every block's filters."""
    blocks = list(model.features)
    keep = []
    for b in blocks:
        n = b[0].out_channels
        k = max(4, int(round(n * keep_ratio)))
        keep.append(torch.sort(torch.topk(channel_importance(b), k).indices).values)
    small = DigitNet(tuple(len(k) for k in keep), dropout=model.drop.p)
    prev = torch.arange(1)
    with torch.no_grad():
        for b_old, b_new, idx in zip(blocks, small.features, keep):
            b_new[0].weight.copy_(b_old[0].weight[idx][:, prev])
            for attr in ("weight", "bias", "running_mean", "running_var"):
                getattr(b_new[1], attr).copy_(getattr(b_old[1], attr)[idx])
            prev = idx
        small.head.weight.copy_(model.head.weight[:, prev])
        small.head.bias.copy_(model.head.bias)
    return small
