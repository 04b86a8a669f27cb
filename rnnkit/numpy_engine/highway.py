"""Highway gate between stacked recurrent layers (Srivastava et al. 2015): forward and backward.

    t = sigmoid(x W + b)          (..., H) transform gate, read from the layer's input x
    y = x + t * (h - x)           = t * h + (1 - t) * x, h the layer's output for input x

Dimensions: any leading axes (N, or N and T, or T and N), H hidden size; x, h and y are all H wide.
Weights: W (H, H), b (H,); b starts at -1 (rnnkit/recurrent_spec.py), so that at first mostly x is carried.
The same gate as :mod:`rnnkit.torch_engine.highway`.

Backward, with s = x W + b:
    dh = dy * t,   ds = dy * (h - x) * t (1 - t),   dx = dy * (1 - t) + ds W^T
    dW = x^T ds,   db = sum ds      (one product over all rows, whatever the leading axes)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.numpy_engine.lstm import sigmoid


@dataclass
class HighwayCache:
    x: np.ndarray  # (..., H) layer input
    W: np.ndarray  # (H, H)
    t: np.ndarray  # (..., H) transform gate
    d: np.ndarray  # (..., H) h - x


def highway_forward(x, h, W, b):
    """Mix a layer's input and output.

    Inputs: x (..., H) the layer's input, h (..., H) its output, W (H, H), b (H,).
    Returns: y (..., H), and a cache.
    """
    t = sigmoid(x @ W + b)
    d = h - x
    return x + t * d, HighwayCache(x, W, t, d)


def highway_backward(dy, cache: HighwayCache):
    """Backward pass of :func:`highway_forward`.

    Inputs: dy (..., H). Returns: dx (..., H), dh (..., H), dW (H, H), db (H,).
    """
    t = cache.t
    dh = dy * t
    ds = dy * cache.d * t * (1.0 - t)
    dx = dy - dh
    dx += ds @ cache.W.T
    H = t.shape[-1]
    ds2 = ds.reshape(-1, H)
    return dx, dh, cache.x.reshape(-1, H).T @ ds2, ds2.sum(axis=0)
