"""Losses as hand-written layers: softmax cross-entropy over time steps (with a mask) and over a batch.

Dimensions: N batch, T time steps, V vocabulary or classes, M rows of a flattened (M, V) array.

Both losses are the same computation on rows of scores:

    p = softmax(x_row),  loss_row = -log p[y_row],  dloss_row / dx_row = p - onehot(y_row)

and differ only in which rows count and what the sum is divided by. Every model of both engines
uses these (the torch engine's twins are in rnnkit/torch_engine/losses.py); nothing else writes a
softmax or a cross-entropy.
"""

from __future__ import annotations

import numpy as np

#: How the summed loss is normalised: "batch" divides by N (CS231n's temporal loss: the sum over
#: time, averaged over sequences); "tokens" divides by the number of counted steps (nats per
#: token, what a language model reports).
AVERAGES = ("batch", "tokens")


def log_softmax(x, axis=-1):
    """log softmax(x) along ``axis``, shifted by the max so exp never overflows."""
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def _cross_entropy_rows(x2, y2, weights, scale):
    """sum_k weights[k] * -log softmax(x2[k])[y2[k]] times ``scale``, and its gradient on x2.

    Inputs: x2 (M, V), y2 (M,) ints, weights (M,) or None (all 1), scale a number.
    Returns: loss (float), dx2 (M, V).
    """
    logp = log_softmax(x2)
    rows = np.arange(len(y2))
    picked = logp[rows, y2]
    loss = -float(picked.sum() if weights is None else (weights * picked).sum()) * scale
    dx2 = np.exp(logp, out=logp)  # the softmax probabilities, in logp's memory
    dx2[rows, y2] -= 1.0
    dx2 *= scale if weights is None else (weights * scale)[:, None]
    return loss, dx2


def temporal_softmax_loss(x, y, mask=None, average="batch"):
    """Softmax cross-entropy at every time step; padded steps (mask 0) do not count.

        loss = -(1 / Z) sum_{n, t} mask[n, t] log softmax(x[n, t])[y[n, t]]

    with Z = N (``average="batch"``, CS231n's normalisation) or Z = sum(mask) (``"tokens"``).

    Inputs: x (N, T, V) scores, y (N, T) targets in [0, V), mask (N, T) booleans or 0/1 (None:
    every step counts).
    Returns: loss (a float), dx (N, T, V).
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    N, T, V = x.shape
    weights = None if mask is None else mask.reshape(N * T).astype(x.dtype)
    count = N * T if mask is None else float(weights.sum())
    scale = 1.0 / (N if average == "batch" else max(count, 1.0))
    loss, dx2 = _cross_entropy_rows(x.reshape(N * T, V), y.reshape(N * T), weights, scale)
    return loss, dx2.reshape(N, T, V)


def softmax_loss(x, y):
    """Classification: mean softmax cross-entropy over a batch, loss = -(1/N) sum_n log p_n[y_n].

    Inputs: x (N, C) scores, y (N,) labels in [0, C).
    Returns: loss (a float), dx (N, C).
    """
    return _cross_entropy_rows(x, y, None, 1.0 / x.shape[0])


def cross_entropy_sum(x, y):
    """Evaluation only: the summed cross-entropy in nats of x (M, V) against y (M,), no gradient."""
    logp = log_softmax(x)
    return -float(logp[np.arange(len(y)), y].sum())
