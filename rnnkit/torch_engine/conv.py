"""Convolution, ReLU and 2x2 max-pooling in the torch engine, in the NumPy engine's layout.

Dimensions: N images, H x W pixels, C input channels, F filters, k the kernel size (odd).
Channels last, as rnnkit/numpy_engine/conv.py: x (N, H, W, C), W (k, k, C, F), b (F,). PyTorch's
kernels are channels first, so each call permutes in and out:

    conv2d(x, W, b)  = conv2d_torch(x as (N, C, H, W), W as (F, C, k, k), b, padding k // 2)
                       as (N, H, W, F)                   stride 1, "same" padding
    max_pool2x2(x)   = max over each 2 x 2 window, stride 2   (N, H/2, W/2, C)

Autograd gives the backward; tests/torch_engine/test_conv_parity.py holds these to the NumPy
engine's hand-written pairs in float64.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def conv2d(x: Tensor, W: Tensor, b: Tensor) -> Tensor:
    """x (N, H, W, C), W (k, k, C, F), b (F,) -> (N, H, W, F)."""
    k = W.shape[0]
    out = F.conv2d(x.permute(0, 3, 1, 2), W.permute(3, 2, 0, 1), b, padding=k // 2)
    return out.permute(0, 2, 3, 1)


def max_pool2x2(x: Tensor) -> Tensor:
    """x (N, H, W, C) with H, W even -> (N, H/2, W/2, C), the max of each 2 x 2 window."""
    return F.max_pool2d(x.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
