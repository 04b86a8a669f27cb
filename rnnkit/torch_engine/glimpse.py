"""The glimpse sensor in the torch engine: the twin of rnnkit/numpy_engine/glimpse.py (whose
docstring has the definition: k patches of sides g f^i around a location in [-1, 1]^2, integer
corners floor(c - s/2 + 1/2), zeros outside the image, each reduced to g x g by block means).

Dimensions: N batch, S image side, g patch side, k scales. Like the NumPy sensor it carries no
gradient to the location (the corners are integers): the location is an action trained by
REINFORCE. Everything runs on the images' device; nothing leaves it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def patch_corners(loc: Tensor, size: int, side: int) -> Tensor:
    """Integer top-left corners (N, 2) of ``side`` x ``side`` patches centred on ``loc`` (N, 2)."""
    centre = (loc.detach().to(torch.float64) + 1.0) * (size / 2.0)
    return torch.floor(centre - side / 2.0 + 0.5).long()


def glimpse_sensor(images: Tensor, loc: Tensor, patch: int, scales: int, factor: int = 2) -> Tensor:
    """images (N, S, S), loc (N, 2) (row, column; clipped to [-1, 1]) -> rho (N, k, g, g)."""
    N, S, _ = images.shape
    largest = patch * factor ** (scales - 1)
    pad = largest // 2 + 1
    padded = F.pad(images, (pad, pad, pad, pad))
    loc = loc.detach().clamp(-1.0, 1.0)
    rows = torch.arange(N, device=images.device)[:, None, None]
    out = []
    for i in range(scales):
        block = factor ** i
        side = patch * block
        corner = patch_corners(loc, S, side) + pad                                        # (N, 2)
        span = torch.arange(side, device=images.device)
        r, c = corner[:, 0, None] + span, corner[:, 1, None] + span                       # (N, s)
        window = padded[rows, r[:, :, None], c[:, None, :]]                               # (N, s, s)
        out.append(window.reshape(N, patch, block, patch, block).mean(dim=(2, 4)))
    return torch.stack(out, dim=1)


def coarse_view(images: Tensor, side: int) -> Tensor:
    """The image reduced to ``side`` x ``side`` by block means, zero-padded at the bottom and right
    to a multiple of ``side`` (DRAM's context input): (N, S, S) -> (N, side, side)."""
    N, S, _ = images.shape
    block = -(-S // side)
    padded = F.pad(images, (0, side * block - S, 0, side * block - S))
    return padded.reshape(N, side, block, side, block).mean(dim=(2, 4))
