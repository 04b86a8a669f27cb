"""Pooling over time: one vector per sequence from the outputs at its real steps, by hand.

Dimensions: T time, N batch, F features (K*H for a stack of K directions). Time-major, like the
recurrent stack: y (T, N, F); mask (T, N) True at real steps; lengths (N,) real steps per row (right
padding: ``mask[t, n] == (t < lengths[n])``). Every row needs at least one real step.

    last:  out[n] = [y[len_n - 1, n, :H], y[0, n, H:]]       forward direction's state after the
                                                             row's last step, backward's after step 0
    mean:  out[n] = sum_t mask[t, n] y[t, n] / len_n         dy[t, n] = mask[t, n] dout[n] / len_n
    max:   out[n, f] = y[a, n, f], a = argmax_{t real} y[t, n, f]
                                                             dy[a, n, f] = dout[n, f], else 0

Padded steps receive no gradient and never win the max, so what fills them changes nothing. Of tied
maxima the first step wins (``np.argmax``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LastPoolCache:
    lengths: np.ndarray  # (N,)
    shape: tuple         # y's (T, N, F)
    directions: int      # K


def last_pool_forward(y, lengths, directions=1):
    """Each direction's output after it has read the whole row.

    Inputs: y (T, N, K*H); lengths (N,) ints >= 1; directions K (1 or 2: then the second half of
    the features is a backward direction, whose last step is t = 0).
    Returns: out (N, K*H) (a new array), cache.
    """
    lengths = np.asarray(lengths)
    T, N, F = y.shape
    H = F // directions
    out = y[lengths - 1, np.arange(N)]  # (N, K*H), a copy
    if directions == 2:
        out[:, H:] = y[0, :, H:]
    return out, LastPoolCache(lengths, y.shape, directions)


def last_pool_backward(dout, cache: LastPoolCache):
    """Inputs: dout (N, K*H). Returns: dy (T, N, K*H), zero except where the forward read."""
    T, N, F = cache.shape
    H = F // cache.directions
    dy = np.zeros(cache.shape, dtype=dout.dtype)
    dy[cache.lengths - 1, np.arange(N), :H] = dout[:, :H]
    if cache.directions == 2:
        dy[0, :, H:] = dout[:, H:]
    return dy


def _weights(mask, dtype):
    """mask (T, N) as 0/1 of ``dtype``, and the real steps per row (N,), refusing empty rows."""
    m = np.asarray(mask).astype(dtype)
    counts = m.sum(axis=0)
    if not np.all(counts > 0):
        raise ValueError("pooling needs at least one real step in every row")
    return m, counts


@dataclass
class MeanPoolCache:
    scale: np.ndarray  # (T, N, 1): mask[t, n] / len_n


def mean_pool_forward(y, mask):
    """The mean of y over each row's real steps.

    Inputs: y (T, N, F); mask (T, N) booleans or 0/1.
    Returns: out (N, F), cache.
    """
    m, counts = _weights(mask, y.dtype)
    scale = (m / counts)[:, :, None]  # (T, N, 1)
    return (scale * y).sum(axis=0), MeanPoolCache(scale)


def mean_pool_backward(dout, cache: MeanPoolCache):
    """Inputs: dout (N, F). Returns: dy (T, N, F) = mask / len times dout, at every step."""
    return cache.scale * dout[None]


@dataclass
class MaxPoolCache:
    argmax: np.ndarray  # (N, F) the step that won each feature
    shape: tuple        # y's (T, N, F)


def max_pool_forward(y, mask):
    """The elementwise max of y over each row's real steps.

    Inputs: y (T, N, F); mask (T, N) booleans or 0/1.
    Returns: out (N, F), cache.
    """
    _weights(mask, y.dtype)
    masked = np.where(np.asarray(mask, dtype=bool)[:, :, None], y, -np.inf)  # padding never wins
    argmax = masked.argmax(axis=0)  # (N, F)
    out = np.take_along_axis(y, argmax[None], axis=0)[0]
    return out, MaxPoolCache(argmax, y.shape)


def max_pool_backward(dout, cache: MaxPoolCache):
    """Inputs: dout (N, F). Returns: dy (T, N, F), dout at the winning step of each feature, else 0."""
    dy = np.zeros(cache.shape, dtype=dout.dtype)
    np.put_along_axis(dy, cache.argmax[None], dout[None], axis=0)
    return dy
