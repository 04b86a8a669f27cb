"""The glimpse sensor in the torch engine: the twin of rnnkit/numpy_engine/glimpse.py (whose
docstring has the definition: k patches of sides g f^i around a location in [-1, 1]^2, integer
corners floor(c - s/2 + 1/2), zeros outside the image, each reduced to g x g by block means, taken
from a float64 summed-area table made once for all of a forward pass's glimpses).

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


def prepare_retina(images: Tensor, patch: int, scales: int, factor: int = 2):
    """(padded, table, pad): the images zero-padded for the sensor and, with scales > 1, their
    float64 summed-area table (N, P + 1, P + 1), table[n, r, c] = sum of padded[n, :r, :c]."""
    pad = patch * factor ** (scales - 1) // 2 + 1
    padded = F.pad(images.detach(), (pad, pad, pad, pad))
    table = None
    if scales > 1:
        table = F.pad(padded.to(torch.float64).cumsum(1).cumsum(2), (1, 0, 1, 0))
    return padded, table, pad


def glimpse_sensor(images: Tensor, loc: Tensor, patch: int, scales: int, factor: int = 2, retina=None) -> Tensor:
    """images (N, S, S), loc (N, 2) (row, column; clipped to [-1, 1]) -> rho (N, k, g, g); ``retina``:
    :func:`prepare_retina`'s result, made once for the T glimpses of a forward pass."""
    N, S, _ = images.shape
    padded, table, pad = retina or prepare_retina(images, patch, scales, factor)
    loc = loc.detach().clamp(-1.0, 1.0)
    rows = torch.arange(N, device=images.device)[:, None, None]
    out = []
    for i in range(scales):
        block = factor ** i
        corner = patch_corners(loc, S, patch * block) + pad                              # (N, 2)
        if block == 1:
            span = torch.arange(patch, device=images.device)
            r, c = corner[:, 0, None] + span, corner[:, 1, None] + span                   # (N, g)
            out.append(padded[rows, r[:, :, None], c[:, None, :]])
            continue
        edges = torch.arange(patch + 1, device=images.device) * block
        r, c = corner[:, 0, None] + edges, corner[:, 1, None] + edges                     # (N, g + 1)
        sums = table[rows, r[:, :, None], c[:, None, :]]                                  # (N, g + 1, g + 1)
        blocks = sums[:, 1:, 1:] - sums[:, :-1, 1:] - sums[:, 1:, :-1] + sums[:, :-1, :-1]
        out.append((blocks / (block * block)).to(images.dtype))
    return torch.stack(out, dim=1)


def coarse_view(images: Tensor, side: int) -> Tensor:
    """The image reduced to ``side`` x ``side`` by block means, zero-padded at the bottom and right
    to a multiple of ``side`` (DRAM's context input): (N, S, S) -> (N, side, side)."""
    N, S, _ = images.shape
    block = -(-S // side)
    padded = F.pad(images, (0, side * block - S, 0, side * block - S))
    return padded.reshape(N, side, block, side, block).mean(dim=(2, 4))
