"""Pooling over time: one vector per sequence from the outputs at its real steps (autograd).

Dimensions: N batch, T time, F features (K*H for a stack of K directions). Batch first: y (N, T, F);
mask (N, T) True at real steps; lengths (N,) real steps per row (right padding). Every row needs at
least one real step. The NumPy engine's hand-written twins are in rnnkit/numpy_engine/pooling.py.

    last:  out[n] = [y[n, len_n - 1, :H], y[n, 0, H:]]     forward direction after the row's last
                                                           step, backward direction after step 0
    mean:  out[n] = sum_t mask[n, t] y[n, t] / len_n
    max:   out[n, f] = max over real t of y[n, t, f]       (the gradient goes to one winning step)

Padded steps are masked before anything reads them, so whatever they hold (even inf or nan) changes
no result and receives no gradient.
"""

from __future__ import annotations

import torch
from torch import Tensor


def last_pool(y: Tensor, lengths: Tensor, directions: int = 1) -> Tensor:
    """Each direction's output after reading the whole row: y (N, T, K*H) -> (N, K*H)."""
    N, _, features = y.shape
    H = features // directions
    last = y[torch.arange(N, device=y.device), lengths - 1]  # (N, K*H)
    if directions == 1:
        return last
    return torch.cat([last[:, :H], y[:, 0, H:]], dim=1)


def mean_pool(y: Tensor, mask: Tensor, lengths: Tensor) -> Tensor:
    """The mean over each row's real steps: y (N, T, F), mask (N, T), lengths (N,) -> (N, F)."""
    weights = mask.to(y.dtype) / lengths[:, None].to(y.dtype)  # (N, T)
    # bmm: one (1, T) x (T, F) product per row; masked_fill keeps non-finite padding out of it.
    return torch.bmm(weights[:, None, :], y.masked_fill(~mask[:, :, None], 0.0))[:, 0]


def max_pool(y: Tensor, mask: Tensor) -> Tensor:
    """The elementwise max over each row's real steps: y (N, T, F), mask (N, T) -> (N, F)."""
    return y.masked_fill(~mask[:, :, None], float("-inf")).max(dim=1).values
