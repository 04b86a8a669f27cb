"""The sequence classifier in the NumPy engine: forward and backward by hand, from the shared pairs.

Dimensions: N batch, T time, V vocabulary size, E embedding width, H hidden size, K directions,
C classes. Time-major inside (arrays (T, N, ...)), like the recurrent stack.

    ids (N, T) -> x = dropout(embed.W[ids^T], embed_dropout)     (T, N, E)
    x, lengths -> stack_forward (rnnkit/numpy_engine/recurrent.py) -> y (T, N, K*H)
    y -> last / mean / max pool (rnnkit/numpy_engine/pooling.py)  -> pooled (N, K*H)
    pooled -> dropout -> scores = . head.W + head.b               (N, C)
    loss = -(1/N) sum_n log softmax(scores_n)[label_n]            (softmax_loss)

Backward runs the same chain in reverse; the embedding's gradient adds up the rows of dx at real
steps only (padded steps get exactly zero gradient anyway: nothing that counts reads them).

Masks are right padding: ``mask[n, t]`` is True for t < len_n, and every row has a real step. Padding
changes no probability, loss or gradient (tests/models/test_classifier_numpy.py shows it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.models.numpy_base import NumpyModel
from rnnkit.numpy_engine import pooling
from rnnkit.numpy_engine.layers import dropout_backward, dropout_forward, scatter_add_rows
from rnnkit.numpy_engine.losses import cross_entropy_sum, log_softmax, softmax_loss
from rnnkit.numpy_engine.recurrent import StackCache, stack_backward, stack_forward


def lengths_from_mask(mask) -> np.ndarray:
    """Real steps per row (N,) of a right-padding mask (N, T); anything else is a ValueError."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be (N, T), got shape {mask.shape}")
    lengths = mask.sum(axis=1)
    if not np.array_equal(mask, np.arange(mask.shape[1])[None, :] < lengths[:, None]):
        raise ValueError("mask must be right padding: True on each row's first len_n steps only")
    if not np.all(lengths > 0):
        raise ValueError("every row needs at least one real step")
    return lengths


@dataclass
class _ForwardCache:
    ids_tm: np.ndarray    # (T, N)
    mask_tm: np.ndarray   # (T, N) bool
    embed_dropout: object  # the dropout of the embedded words
    stack: StackCache
    pool: object          # the pooling's cache
    dropout: object       # the dropout before the head
    top: np.ndarray       # (N, K*H) what the head read


class Classifier(NumpyModel):
    """A sequence classifier: its spec and a flat dict of named parameter arrays."""

    def init_state(self, n: int) -> None:
        """Nothing: each batch is classified on its own."""
        return None

    def forward(self, ids, mask, rng=None):
        """Class scores.

        Inputs: ids (N, T) ints in [0, V); mask (N, T) booleans, right padding; rng a numpy
        Generator for dropout (None: no dropout, as at evaluation).
        Returns: scores (N, C), and a cache for backward.
        """
        p, spec = self.params, self.spec
        lengths = lengths_from_mask(mask)
        ids_tm = np.ascontiguousarray(np.asarray(ids).T)
        mask_tm = np.ascontiguousarray(np.asarray(mask, dtype=bool).T)
        T = ids_tm.shape[0]
        full = bool(np.all(lengths == T))  # then plain reversal, the stack's fastest path
        x, embed_dropout = dropout_forward(p["embed.W"][ids_tm], spec.embed_dropout, rng)  # (T, N, E)
        y, _, stack_cache = stack_forward(x, None, p, spec.recurrent, "rnn.", rng,
                                          lengths=None if full else lengths)
        if spec.pool == "last":
            pooled, pool_cache = pooling.last_pool_forward(y, lengths, spec.directions)
        elif spec.pool == "mean":
            pooled, pool_cache = pooling.mean_pool_forward(y, mask_tm)
        else:
            pooled, pool_cache = pooling.max_pool_forward(y, mask_tm)
        top, dcache = dropout_forward(pooled, spec.dropout, rng)
        scores = top @ p["head.W"]
        scores += p["head.b"]
        return scores, _ForwardCache(ids_tm, mask_tm, embed_dropout, stack_cache, pool_cache, dcache, top)

    def loss(self, ids, mask, labels, state=None, rng=None):
        """Mean cross-entropy over the batch and its gradient on every parameter.

        Inputs: ids, mask (N, T); labels (N,) ints in [0, C); state unused (None); rng for dropout.
        Returns: loss (float), grads (dict like params, same order), None (no state).
        """
        scores, cache = self.forward(ids, mask, rng)
        loss, dscores = softmax_loss(scores, np.asarray(labels))
        return loss, self.backward(dscores, cache), None

    def backward(self, dscores, cache: _ForwardCache) -> dict:
        """Gradients of every parameter given dscores (N, C)."""
        p, spec = self.params, self.spec
        grads = {"head.W": cache.top.T @ dscores, "head.b": dscores.sum(axis=0)}
        dpooled = dropout_backward(dscores @ p["head.W"].T, cache.dropout)
        if spec.pool == "last":
            dy = pooling.last_pool_backward(dpooled, cache.pool)
        elif spec.pool == "mean":
            dy = pooling.mean_pool_backward(dpooled, cache.pool)
        else:
            dy = pooling.max_pool_backward(dpooled, cache.pool)
        dx, _ = stack_backward(dy, cache.stack, p, grads)  # (T, N, E)
        dx = dropout_backward(dx, cache.embed_dropout)
        grads["embed.W"] = scatter_add_rows(cache.ids_tm[cache.mask_tm], dx[cache.mask_tm], spec.vocab_size)
        return {name: grads[name] for name in spec.param_shapes()}

    def evaluate(self, ids, mask, labels, state=None):
        """Summed statistics of a batch, without dropout or gradients.

        Returns: ({"nats": summed cross-entropy, "correct": right argmax predictions, "count": N}, None).
        """
        scores, _ = self.forward(ids, mask)
        labels = np.asarray(labels)
        correct = int(np.sum(scores.argmax(axis=1) == labels))
        return {"nats": cross_entropy_sum(scores, labels), "correct": correct, "count": len(labels)}, None

    def predict_proba(self, ids, mask) -> np.ndarray:
        """Class probabilities (N, C) float64, without dropout."""
        scores, _ = self.forward(ids, mask)
        return np.exp(log_softmax(scores.astype(np.float64)))
