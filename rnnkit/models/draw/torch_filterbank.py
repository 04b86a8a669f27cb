"""DRAW's Gaussian read and write attention as torch functions (autograd differentiates them):
the same equations as filterbank.py, batched over N."""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.models.draw.filterbank import EPS, spanning_stride


def window(params: Tensor, A: int, B: int, n: int):
    """(gX, gY, delta, sigma^2, gamma), each (N,), from the linear layer's output params (N, 5)."""
    gx = (A - 1) / 2 * (params[:, 0] + 1)
    gy = (B - 1) / 2 * (params[:, 1] + 1)
    delta = spanning_stride(A, B, n) * torch.exp(params[:, 3])
    return gx, gy, delta, torch.exp(params[:, 2]), torch.exp(params[:, 4])


def filterbank(params: Tensor, A: int, B: int, n: int):
    """F_X (N, n, A), F_Y (N, n, B) and gamma (N,) from params (N, 5)."""
    gx, gy, delta, var, gamma = window(params, A, B, n)
    offsets = torch.arange(n, dtype=params.dtype, device=params.device) - (n - 1) / 2
    mu_x = gx[:, None] + offsets[None, :] * delta[:, None]  # (N, n)
    mu_y = gy[:, None] + offsets[None, :] * delta[:, None]
    var3 = var[:, None, None]
    a = torch.arange(A, dtype=params.dtype, device=params.device)
    b = torch.arange(B, dtype=params.dtype, device=params.device)
    KX = torch.exp(-(a[None, None, :] - mu_x[:, :, None]) ** 2 / (2 * var3))
    KY = torch.exp(-(b[None, None, :] - mu_y[:, :, None]) ** 2 / (2 * var3))
    FX = KX / (KX.sum(dim=2, keepdim=True) + EPS)
    FY = KY / (KY.sum(dim=2, keepdim=True) + EPS)
    return FX, FY, gamma


def read(img: Tensor, FX: Tensor, FY: Tensor, gamma: Tensor) -> Tensor:
    """gamma F_Y img F_X^T: img (N, B, A) -> (N, n, n)."""
    return gamma[:, None, None] * (FY @ img @ FX.transpose(1, 2))


def write(w: Tensor, FX: Tensor, FY: Tensor, gamma: Tensor) -> Tensor:
    """(1 / gamma) F_Y^T w F_X: w (N, n, n) -> (N, B, A)."""
    return (FY.transpose(1, 2) @ w @ FX) / gamma[:, None, None]
