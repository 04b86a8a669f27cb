"""Data parallelism over the rows of a batch: the shard arithmetic, and shards run in this process.

The rows of a batch (streams of the character model, sentences of the classifier) are independent
until the gradients are summed, so the batch is cut into S shards of rows, each shard runs the
model's whole forward and backward pass, and the results are combined:

    loss  = sum_s (B_s / B) * loss_s          (each loss_s is the mean over that shard's rows)
    dW    = sum_s (B_s / B) * dW_s
    (B_s: what the shard's loss is a mean over, ``model.loss_weight(*shard)``: its rows, or its
    real tokens for a loss averaged over the tokens of ragged rows; B: their sum)
    state = the shards' final states, stacked back in row order
    evaluation statistics (summed nats, counts) = sum_s stats_s

The training runtime runs shards 1.. in worker processes (processes.py); :class:`ShardedModel`
runs them one after another in this process: for one shard, and as the fallback where processes
cannot start, where it computes exactly what the processes would (same shards, same dropout
generators). Dropout masks come from one random generator per shard, so a run is reproducible for
a fixed S.
"""

from __future__ import annotations

import os
import numpy as np



def default_workers() -> int:
    """One worker per available core, at most 4 (past that the per-shard batch gets too small)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def shard_bounds(batch: int, shards: int) -> list[tuple[int, int]]:
    """Row ranges [(start, end), ...] cutting ``batch`` rows into at most ``shards`` near-equal parts."""
    shards = max(1, min(shards, batch))
    edges = [batch * s // shards for s in range(shards + 1)]
    return list(zip(edges[:-1], edges[1:]))


def state_rows(state, start, end):
    """Rows [start, end) of every array of a per-layer state (None: a model that carries none)."""
    return None if state is None else [tuple(s[start:end] for s in layer) for layer in state]


def stack_states(states):
    """Per-shard states -> one state, rows in stream order."""
    if states[0] is None:
        return None
    return [tuple(np.concatenate(parts) for parts in zip(*layers)) for layers in zip(*states)]


def batch_rows(batch: tuple, start: int, end: int) -> tuple:
    """Rows [start, end) of every array of a batch."""
    return tuple(a[start:end] for a in batch)


def shard_weights(model, batch: tuple, bounds) -> list[float]:
    """B_s / B of the module docstring for each shard of ``batch``."""
    weigh = getattr(model, "loss_weight", None)
    sizes = [float(weigh(*batch_rows(batch, start, end))) if weigh else float(end - start) for start, end in bounds]
    total = sum(sizes)
    return [size / total for size in sizes] if total > 0 else [1.0 / len(sizes)] * len(sizes)


def combine_losses(weights, results):
    """Weighted sum of per-shard (loss, grads, state) results, as in the module docstring
    (``weights``: :func:`shard_weights`). The first shard's gradient arrays are reused for the sum."""
    loss = sum(w * r[0] for w, r in zip(weights, results))
    grads = {}
    for name, first in results[0][1].items():
        total = first * weights[0]
        for w, r in zip(weights[1:], results[1:]):
            total += w * r[1][name]
        grads[name] = total
    return loss, grads, stack_states([r[2] for r in results])


def sum_stats(results):
    """Per-shard (stats, state) -> (summed stats, stacked state)."""
    stats = {key: sum(r[0][key] for r in results) for key in results[0][0]}
    return stats, stack_states([r[1] for r in results])


class ShardedModel:
    """Runs a model's ``loss`` and ``evaluate`` over row shards of the batch, one shard after
    another in this process."""

    def __init__(self, model, workers: int):
        self.model = model
        self.workers = max(1, int(workers))

    def loss(self, batch: tuple, state, rngs=None):
        """Like the model's ``loss`` over the whole batch. ``rngs``: one dropout generator per shard,
        or None. Returns: (loss, grads, new_state)."""
        rows = batch[0].shape[0]
        bounds = shard_bounds(rows, self.workers)
        results = [self.model.loss(*batch_rows(batch, start, end), state_rows(state, start, end),
                                   None if rngs is None else rngs[k])
                   for k, (start, end) in enumerate(bounds)]
        return results[0] if len(results) == 1 else combine_losses(shard_weights(self.model, batch, bounds), results)

    def evaluate(self, batch: tuple, state):
        """Like the model's ``evaluate``: (summed statistics, new_state)."""
        bounds = shard_bounds(batch[0].shape[0], self.workers)
        return sum_stats([self.model.evaluate(*batch_rows(batch, *b), state_rows(state, *b)) for b in bounds])
