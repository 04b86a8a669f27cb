"""Choosing the next token from a model's logits: temperature, top-k, greedy. Pure NumPy.

With logits z (V scores for one position), temperature T > 0 and the top-k set K:

    p_i = exp((z_i - max z) / T) / sum_{j in K} exp((z_j - max z) / T)   for i in K, else 0

Subtracting max z first makes the softmax overflow-free for any T, even as T -> 0 where p tends
to one-hot on the argmax. T < 1 sharpens the distribution, T > 1 flattens it. Greedy decoding
takes the argmax and ignores T and the random generator.

Each sampling call draws exactly one uniform number per row from the generator, so a run that
saves and restores the generator's state continues with the same samples.
"""

from __future__ import annotations

import numpy as np


def _as_rows(logits, temperature: float, top_k: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Validate the arguments; return the logits as (N, V) and their row maxima (N, 1)."""
    logits = np.asarray(logits)
    if logits.ndim not in (1, 2) or logits.shape[-1] == 0:
        raise ValueError(f"logits must have shape (V,) or (N, V) with V > 0, got {logits.shape}")
    if not temperature > 0.0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    vocab = logits.shape[-1]
    if top_k is not None and not 1 <= top_k <= vocab:
        raise ValueError(f"top_k must be in [1, {vocab}], got {top_k}")
    rows = np.atleast_2d(logits)
    top = rows.max(axis=1, keepdims=True)
    if not np.all(np.isfinite(top)):
        raise ValueError("every row of logits needs a finite maximum (no NaN or +inf, not all -inf)")
    return rows, top


def softmax(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None) -> np.ndarray:
    """Sampling probabilities from logits, as in the module docstring.

    Inputs:
    - logits: (V,) or (N, V) real scores; -inf marks a forbidden token, each row needs a finite one.
    - temperature: T > 0.
    - top_k: keep only the k largest logits of each row, exactly k of them (which of several
      logits tied at the k-th place survive is unspecified); None keeps all.

    Returns probs, float64, same shape as logits, each row summing to 1.
    """
    rows, top = _as_rows(logits, temperature, top_k)
    z = rows.astype(np.float64)  # (N, V), a copy we may overwrite
    if top_k is not None and top_k < z.shape[1]:
        # argpartition puts the k largest (in some order) in the last k columns.
        keep = np.argpartition(z, z.shape[1] - top_k, axis=1)[:, -top_k:]  # (N, k)
        kept = np.take_along_axis(z, keep, axis=1)
        z.fill(-np.inf)
        np.put_along_axis(z, keep, kept, axis=1)
    z -= top
    z /= temperature
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z.reshape(np.shape(logits))


def sample_from_logits(logits: np.ndarray, rng: np.random.Generator | None,
                       temperature: float = 1.0, top_k: int | None = None,
                       greedy: bool = False) -> np.ndarray | int:
    """Draw one token id per row of logits.

    Inputs:
    - logits: (N, V) or (V,) scores.
    - rng: the generator to draw from (may be None when greedy).
    - temperature: T > 0 (checked even when greedy, so a bad flag fails early).
    - top_k: sample only among the k most likely tokens, 1 <= k <= V; None for all.
    - greedy: take the argmax (the first one on ties) instead of sampling.

    Returns ids: int64 array of shape (N,) for 2-D logits, a Python int for 1-D logits.
    """
    rows, _ = _as_rows(logits, temperature, top_k)  # (N, V)
    if greedy:
        ids = rows.argmax(axis=1).astype(np.int64)
    else:
        if rng is None:
            raise ValueError("sampling needs a random generator (rng=None only with greedy=True)")
        probs = softmax(rows, temperature, top_k)  # (N, V)
        cdf = np.cumsum(probs, axis=1)  # (N, V), nondecreasing
        total = cdf[:, -1]
        # Inverse CDF: the first i with cdf_i > u. Keeping u strictly below the row total makes the
        # chosen token one with p > 0 even when rounding leaves the total just under 1.
        u = np.minimum(rng.random(rows.shape[0]) * total, np.nextafter(total, 0.0))
        ids = np.sum(cdf <= u[:, None], axis=1).astype(np.int64)
    return int(ids[0]) if np.ndim(logits) == 1 else ids
