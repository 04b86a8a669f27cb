"""Convolution, ReLU and 2x2 max-pooling in the torch engine, in the NumPy engine's layout.

Dimensions: N images, H x W pixels, C input channels, F filters, k the kernel size (odd).
Channels last, as rnnkit/numpy_engine/conv.py: x (N, H, W, C), W (k, k, C, F), b (F,). PyTorch's
kernels are channels first, so each call permutes in and out:

    conv2d(x, W, b)  = conv2d_torch(x as (N, C, H, W), W as (F, C, k, k), b, padding k // 2)
                       as (N, H, W, F)                   stride 1, "same" padding
    max_pool2x2(x)   = max over each 2 x 2 window, stride 2   (N, H/2, W/2, C)
    conv_stack(x, layers, pool) = [relu(conv2d(.)) -> max_pool2x2]^L, permuted once in and once out
                                  (computed as max_pool2x2 then relu: the same values, less work)

Autograd gives the backward; tests/torch_engine/test_conv_parity.py holds these to the NumPy
engine's hand-written pairs in float64.
"""

from __future__ import annotations

import torch
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


def conv_stack(x: Tensor, layers: list[tuple[Tensor, Tensor]], pool: bool) -> Tensor:
    """x (N, H, W, C) -> (N, h, w, C_L): ``[relu(conv2d(x, W, b)) -> max_pool2x2 if pool]`` for each
    (W, b) of ``layers``, the same values as chaining :func:`conv2d` and :func:`max_pool2x2`.

    The stack runs channels first from one contiguous copy, as a plain PyTorch model does, instead
    of permuting in and out at every layer: oneDNN's kernels, ReLU and pooling are quicker on
    contiguous NCHW tensors than on permuted views (the captioner's encoder, benchmarks/caption_speed.py).
    """
    y = x.permute(0, 3, 1, 2).contiguous()
    for W, b in layers:
        y = F.conv2d(y, W.permute(3, 2, 0, 1), b, padding=W.shape[0] // 2)
        if pool:
            # ReLU is monotonic, so it commutes with the max: pool(relu(y)) = relu(pool(y)), with the
            # same gradient. Applied after the pool it touches a quarter of the values, forward and
            # back: the captioner's encoder step about 25% quicker (tests/torch_engine/test_conv_parity.py
            # holds the two orders equal, values and gradients).
            y = F.max_pool2d(y, 2)
        y = torch.relu(y)
    return y.permute(0, 2, 3, 1)
