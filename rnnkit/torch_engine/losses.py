"""The shared losses for the torch engine: the twins of rnnkit/numpy_engine/losses.py.

Dimensions: N batch, T time steps, V vocabulary or classes, M rows of a flattened (M, V) array.

The same rows of scores, the same counted rows and the same normalisation as the NumPy engine:

    loss_row = -log softmax(x_row)[y_row]
    temporal_softmax_loss = (1 / Z) sum_{n, t} mask[n, t] loss_{n, t},   Z = N ("batch") or sum(mask) ("tokens")
    softmax_loss          = (1 / N) sum_n loss_n
    cross_entropy_sum     = sum_m loss_m                                (evaluation)

Each returns a scalar tensor; its gradient comes from autograd (the NumPy twins return it by
hand), and a test holds both engines to the same loss and gradient in float64. The work is one
``F.cross_entropy`` call: PyTorch's fused log-softmax and gather, and under autocast it runs in
float32 whatever the scores' dtype. Masked rows take ``ignore_index`` as their target, so they
cost nothing, get no gradient, and their targets may be anything (a padding id, even out of range).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.numpy_engine.losses import AVERAGES

#: The target F.cross_entropy skips: what a masked step's target becomes.
_IGNORE = -100


def temporal_softmax_loss(x: Tensor, y: Tensor, mask: Tensor | None = None, average: str = "batch") -> Tensor:
    """Softmax cross-entropy at every time step; padded steps (mask 0) do not count.

        loss = -(1 / Z) sum_{n, t} mask[n, t] log softmax(x[n, t])[y[n, t]]

    with Z = N (``average="batch"``, CS231n's normalisation) or Z = sum(mask) (``"tokens"``: nats
    per counted step; at least 1, so an all-padding batch costs 0).

    Inputs: x (N, T, V) scores, y (N, T) integer targets in [0, V) at counted steps, mask (N, T)
    booleans or 0/1 (None: every step counts).
    Returns: the loss, a scalar tensor.
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    N, T, V = x.shape
    x2, y2 = x.reshape(N * T, V), y.reshape(N * T).long()
    if mask is None:
        if average == "tokens":  # the plain mean over all N*T rows: F.cross_entropy's default
            return F.cross_entropy(x2, y2)
        return F.cross_entropy(x2, y2, reduction="sum") / N
    keep = mask.reshape(N * T).bool()
    total = F.cross_entropy(x2, y2.masked_fill(~keep, _IGNORE), reduction="sum", ignore_index=_IGNORE)
    if average == "batch":
        return total / N
    return total / keep.sum().clamp(min=1).to(total.dtype)


def softmax_loss(x: Tensor, y: Tensor) -> Tensor:
    """Classification: mean softmax cross-entropy over a batch, loss = -(1/N) sum_n log p_n[y_n].

    Inputs: x (N, C) scores, y (N,) integer labels in [0, C).
    Returns: the loss, a scalar tensor.
    """
    return F.cross_entropy(x, y.long())


def cross_entropy_sum(x: Tensor, y: Tensor) -> Tensor:
    """Evaluation: the summed cross-entropy in nats of x (M, V) against y (M,), a scalar tensor
    (left on x's device, so that a caller summing many batches synchronises once)."""
    return F.cross_entropy(x, y.long(), reduction="sum")
