"""The non-recurrent layers of a sequence model: embedding, temporal affine, dropout (losses.py: losses).

Dimensions: N batch, T time steps, V vocabulary size, D embedding / input size, M output size.
Every layer is a pair of pure functions, ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache) -> grads``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class EmbeddingCache:
    x: np.ndarray  # (N, T) integer ids
    V: int         # vocabulary size


def word_embedding_forward(x, W):
    """Look up a D-vector for every id: out[n, t] = W[x[n, t]].

    Inputs: x (N, T) integer ids in [0, V), W (V, D).
    Returns: out (N, T, D), cache.
    """
    return W[x], EmbeddingCache(x, W.shape[0])


def word_embedding_backward(dout, cache: EmbeddingCache):
    """dW[v] = sum of dout[n, t] over every (n, t) with x[n, t] == v.

    Inputs: dout (N, T, D). Returns: dW (V, D).
    """
    D = dout.shape[-1]
    return scatter_add_rows(cache.x.reshape(-1), dout.reshape(-1, D), cache.V)


def scatter_add_rows(ids, rows, V):
    """out[v] = sum of rows[k] over every k with ids[k] == v: the gradient of a row lookup.

    Inputs: ids (M,) ints in [0, V), rows (M, D). Returns: out (V, D).

    Sorting the ids and summing each run of equal ids as one contiguous block is much faster than
    ``np.add.at`` (row by row) or ``np.add.reduceat`` (docs/numpy_engine.md), and never builds a
    one-hot (M, V) matrix. The loop runs once per distinct id, at most min(M, V) times.
    """
    order = np.argsort(ids, kind="stable")
    sorted_rows = rows[order]
    present, starts = np.unique(ids[order], return_index=True)
    ends = np.append(starts[1:], len(ids))
    out = np.zeros((V, rows.shape[1]), dtype=rows.dtype)
    for v, start, end in zip(present, starts, ends):
        np.sum(sorted_rows[start:end], axis=0, out=out[v])
    return out


@dataclass
class AffineCache:
    x: np.ndarray  # (N, T, D)
    w: np.ndarray  # (D, M)


def temporal_affine_forward(x, w, b):
    """The same affine map at every time step: out[n, t] = x[n, t] w + b.

    Inputs: x (N, T, D), w (D, M), b (M,).
    Returns: out (N, T, M), cache.
    """
    N, T, D = x.shape
    out = (x.reshape(N * T, D) @ w).reshape(N, T, -1)
    out += b
    return out, AffineCache(x, w)


def temporal_affine_backward(dout, cache: AffineCache):
    """Inputs: dout (N, T, M). Returns: dx (N, T, D), dw (D, M), db (M,)."""
    x, w = cache.x, cache.w
    N, T, D = x.shape
    dout2 = dout.reshape(N * T, -1)
    dx = (dout2 @ w.T).reshape(N, T, D)
    return dx, x.reshape(N * T, D).T @ dout2, dout2.sum(axis=0)


@dataclass
class DropoutCache:
    mask: np.ndarray | None  # scaled keep-mask, None when nothing was dropped


def dropout_forward(x, p, rng):
    """Inverted dropout: zero each entry with probability p and scale the rest by 1 / (1 - p).

    Inputs: x any shape, p in [0, 1), rng a numpy Generator (None or p == 0: identity, as at test
    time). Returns: out (same shape as x), cache.
    """
    if rng is None or p == 0.0:
        return x, DropoutCache(None)
    mask = (rng.random(x.shape, dtype=np.float64 if x.dtype == np.float64 else np.float32) >= p)
    mask = mask.astype(x.dtype) / (1.0 - p)
    return x * mask, DropoutCache(mask)


def dropout_backward(dout, cache: DropoutCache):
    """Gradient through the same mask the forward pass used."""
    return dout if cache.mask is None else dout * cache.mask
