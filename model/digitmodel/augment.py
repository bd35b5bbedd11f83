"""Batched, seeded training augmentation in torch: what a camera looking at paper does to a digit
after the firmware's normalisation. Geometry (rotation, scale, shear, shift), stroke width (thin
pen to marker), focus blur, sensor noise, uneven contrast and a faint background, then the
firmware's peak stretch (its normalisation maps the brightest pixel to 255)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _gaussian_kernels(sigmas: torch.Tensor, size: int = 5) -> torch.Tensor:
    r = torch.arange(size, dtype=torch.float32) - size // 2
    k = torch.exp(-(r[None, :] ** 2) / (2 * sigmas[:, None].clamp_min(1e-3) ** 2))
    k = k / k.sum(1, keepdim=True)
    return k  # [N, size]


def augment(x: torch.Tensor, g: torch.Generator, strength: float = 1.0) -> torch.Tensor:
    """x: float [N,1,28,28] in 0..1, ink bright. Returns an augmented copy."""
    n = x.shape[0]
    if n == 0:
        return x
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=g)  # noqa: E731
    # Geometry.
    ang = u(-12, 12) * strength * math.pi / 180
    scale = 1 + u(-0.12, 0.08) * strength
    shear = u(-0.25, 0.25) * strength
    tx, ty = u(-0.12, 0.12) * strength, u(-0.12, 0.12) * strength  # fraction of half-size
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = cos / scale
    theta[:, 0, 1] = (-sin + shear * cos) / scale
    theta[:, 1, 0] = sin / scale
    theta[:, 1, 1] = (cos + shear * sin) / scale
    theta[:, 0, 2], theta[:, 1, 2] = tx, ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    # Stroke width: dilate (marker) or erode (thin pen) a random third each.
    sel = torch.rand(n, generator=g)
    dil = F.max_pool2d(x, 3, 1, 1)
    ero = -F.max_pool2d(-x, 2, 1, 0)
    ero = F.pad(ero, (0, 1, 0, 1))
    x = torch.where((sel < 0.2 * strength)[:, None, None, None], dil, x)
    x = torch.where(((sel > 1 - 0.15 * strength))[:, None, None, None], torch.maximum(ero, x * 0.6), x)
    # Focus blur (separable gaussian, sigma 0..1.2 on half of the batch).
    sig = u(0.3, 1.2) * (torch.rand(n, generator=g) < 0.5)
    k = _gaussian_kernels(sig)
    xs = x.reshape(1, n, 28, 28)
    xs = F.conv2d(F.pad(xs, (2, 2, 0, 0), mode="replicate"), k[:, None, None, :], groups=n)
    xs = F.conv2d(F.pad(xs, (0, 0, 2, 2), mode="replicate"), k[:, None, :, None], groups=n)
    x = xs.reshape(n, 1, 28, 28)
    # Contrast / gamma, faint background, sensor noise.
    gamma = torch.exp(u(-0.4, 0.4) * strength)[:, None, None, None]
    x = x.clamp(0, 1) ** gamma
    bg = (u(0, 0.12) * (torch.rand(n, generator=g) < 0.3))[:, None, None, None]
    x = x + bg * torch.rand(n, 1, 1, 1, generator=g)
    noise = (u(0, 0.08) * strength)[:, None, None, None]
    x = x + noise * torch.randn(x.shape, generator=g)
    x = x.clamp(0, 1)
    # The firmware stretches the brightest pixel to 255.
    peak = x.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
    x = (x / peak).clamp(0, 1)
    # ...and hands the model whole uint8 levels.
    return torch.round(x * 255) / 255
