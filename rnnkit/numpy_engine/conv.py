"""Convolution, ReLU and 2x2 max-pooling by hand: the layers of the image encoder.

Dimensions: N images, H x W pixels, C input channels, F output channels (filters), k the kernel
size (odd), P = N*H*W output positions. Channels last, (N, H, W, C), so that the grid of features
an encoder ends with is (N, h, w, C) without a transpose, and a convolution is one matrix product:

    xp = x zero-padded by k // 2 on each side of H and W                 (N, H+k-1, W+k-1, C)
    cols[n, i, j] = xp[n, i:i+k, j:j+k, :] flattened (kernel row, kernel column, channel)
                                                                         (P, k*k*C)   im2col
    out = cols @ W.reshape(k*k*C, F) + b                                 (N, H, W, F)

with W (k, k, C, F) (kernel row, kernel column, input channel, filter; torch's conv2d weight is
(F, C, k, k), the torch twin permutes it). Stride 1, "same" padding: the output has the input's
size. Backward:

    dW = cols^T dout (one product), db = sum dout over positions,
    dcols = dout W^T, and dx adds each of the k*k kernel offsets' slice of dcols back into its
    shifted window of dxp (col2im: k*k strided additions, no loop over positions).

The windows are strided views of xp (``sliding_window_view``); only cols is a copy, the one
array a product needs contiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass
class ConvCache:
    cols: np.ndarray       # (P, k*k*C) the patches the product read
    W: np.ndarray          # (k, k, C, F)
    x_shape: tuple         # (N, H, W, C)


def conv2d_forward(x, W, b):
    """A k x k convolution, stride 1, zero "same" padding, channels last.

    Inputs: x (N, H, W, C); W (k, k, C, F) with k odd; b (F,).
    Returns: out (N, H, W, F), and a cache for :func:`conv2d_backward`.
    """
    k, k2, C, F = W.shape
    if k != k2 or k % 2 == 0:
        raise ValueError(f"the kernel must be square and odd, got {k} x {k2}")
    if x.ndim != 4 or x.shape[3] != C:
        raise ValueError(f"x must be (N, H, W, {C}), got {x.shape}")
    N, H, Wd, _ = x.shape
    p = k // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    windows = sliding_window_view(xp, (k, k), axis=(1, 2))        # (N, H, W, C, k, k), a view
    cols = windows.transpose(0, 1, 2, 4, 5, 3).reshape(N * H * Wd, k * k * C)  # the one copy
    out = cols @ W.reshape(k * k * C, F)
    out += b
    return out.reshape(N, H, Wd, F), ConvCache(cols, W, x.shape)


def conv2d_backward(dout, cache: ConvCache, need_dx: bool = True):
    """Backward through :func:`conv2d_forward`.

    Inputs: dout (N, H, W, F); need_dx False skips dx (a first layer's input is the images, whose
    gradient nobody reads: the largest col2im of an encoder is then never computed).
    Returns: dx (N, H, W, C) or None, dW (k, k, C, F), db (F,).
    """
    k, _, C, F = cache.W.shape
    N, H, Wd, _ = cache.x_shape
    p = k // 2
    d2 = dout.reshape(N * H * Wd, F)
    dW = (cache.cols.T @ d2).reshape(cache.W.shape)
    db = d2.sum(axis=0)
    if not need_dx:
        return None, dW, db
    dcols = (d2 @ cache.W.reshape(k * k * C, F).T).reshape(N, H, Wd, k, k, C)
    dxp = np.zeros((N, H + 2 * p, Wd + 2 * p, C), dtype=dout.dtype)
    for i in range(k):          # col2im: each kernel offset's gradient goes back to its window
        for j in range(k):
            dxp[:, i:i + H, j:j + Wd, :] += dcols[:, :, :, i, j, :]
    return dxp[:, p:p + H, p:p + Wd, :], dW, db


def relu_forward(x):
    """max(x, 0) elementwise. Returns out (like x) and the cache (x > 0)."""
    positive = x > 0
    return x * positive, positive


def relu_backward(dout, positive):
    """dout where the input was positive, else 0 (the subgradient 0 at x = 0, as torch takes)."""
    return dout * positive


@dataclass
class PoolCache:
    winners: tuple         # 4 boolean (N, H/2, W/2, C): which window entry (a, b) in row-major order won
    x_shape: tuple         # (N, H, W, C)


#: The four entries of a 2 x 2 window, in row-major order: (row offset, column offset).
_OFFSETS = ((0, 0), (0, 1), (1, 0), (1, 1))


def max_pool2x2_forward(x):
    """2 x 2 max-pooling with stride 2, channels last.

    out[n, i, j, c] = max over a, b in {0, 1} of x[n, 2i + a, 2j + b, c].

    Inputs: x (N, H, W, C) with H and W even.
    Returns: out (N, H/2, W/2, C), and a cache. Ties go to the first entry in row-major order
    within the window, as torch's max_pool2d chooses. The four entries are strided views of x,
    so nothing is copied but the output and the winners' masks.
    """
    N, H, W, C = x.shape
    if H % 2 or W % 2:
        raise ValueError(f"2x2 pooling needs an even height and width, got {H} x {W}")
    views = [x[:, a::2, b::2] for a, b in _OFFSETS]
    out = np.maximum(np.maximum(views[0], views[1]), np.maximum(views[2], views[3]))
    winners, taken = [], np.zeros(out.shape, bool)
    for v in views:
        won = (v == out) & ~taken
        taken |= won
        winners.append(won)
    return out, PoolCache(tuple(winners), x.shape)


def max_pool2x2_backward(dout, cache: PoolCache):
    """Backward through :func:`max_pool2x2_forward`: each window's gradient goes to its winner.

    Inputs: dout (N, H/2, W/2, C). Returns: dx (N, H, W, C).
    """
    dx = np.zeros(cache.x_shape, dtype=dout.dtype)
    for (a, b), won in zip(_OFFSETS, cache.winners):
        dx[:, a::2, b::2] = dout * won
    return dx
