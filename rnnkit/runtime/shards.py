"""Data parallelism over streams: the shard arithmetic, and shards run in threads.

The training runtime runs shards in worker processes (processes.py), which do not share Python's
interpreter lock; this module holds what both use (cutting the batch, its states) and
:class:`ShardedModel`, which runs the shards in the calling process: inline for one shard, in
threads for several (correct, but the lock makes threads little faster than one).

The B streams of a batch are independent until the gradients are summed, so the batch is cut into
S shards of rows, each shard runs the model's whole forward and backward pass in its own thread,
and the results are combined:

    loss  = sum_s (B_s / B) * loss_s          (each loss_s is the mean over that shard's characters)
    dW    = sum_s (B_s / B) * dW_s
    state = the shards' final states, stacked back in stream order

NumPy releases the interpreter lock inside its array operations and BLAS calls, so threaded shards
do overlap, but every short call takes the lock to start and to finish, and for small models the
threads mostly wait for each other. Each worker limits BLAS to one thread of its own (blas.py).
With S = 1 everything runs in the calling thread, as plain NumPy would.

Dropout masks come from one random generator per shard, so a run is reproducible for a fixed S.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from rnnkit.runtime.blas import limit_blas_threads_here


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
    """Rows [start, end) of every array of a per-layer state."""
    return [tuple(s[start:end] for s in layer) for layer in state]


def stack_states(states):
    """Per-shard states -> one state, rows in stream order."""
    return [tuple(np.concatenate(parts) for parts in zip(*layers)) for layers in zip(*states)]


class ShardedModel:
    """Runs a CharLM's ``loss`` and ``evaluate`` over row shards of the batch in worker threads."""

    def __init__(self, model, workers: int):
        self.model = model
        self.workers = max(1, int(workers))
        self._pool = None
        if self.workers > 1:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="rnnkit-shard",
                                            initializer=limit_blas_threads_here, initargs=(1,))

    def _map(self, fn, bounds):
        if self._pool is None or len(bounds) == 1:
            return [fn(b) for b in bounds]
        return list(self._pool.map(fn, bounds))

    def loss(self, x, y, state, rngs=None):
        """Like CharLM.loss over the whole batch. ``rngs``: one dropout generator per shard, or None.

        Returns: (loss, grads, new_state).
        """
        bounds = shard_bounds(x.shape[0], self.workers)

        def run(bound):
            start, end = bound
            rng = None if rngs is None else rngs[bounds.index(bound)]
            return self.model.loss(x[start:end], y[start:end], state_rows(state, start, end), rng=rng)

        results = self._map(run, bounds)
        if len(results) == 1:
            return results[0]
        weights = [(end - start) / x.shape[0] for start, end in bounds]
        loss = sum(w * r[0] for w, r in zip(weights, results))
        grads = {}
        for name in results[0][1]:
            total = results[0][1][name] * weights[0]
            for w, r in zip(weights[1:], results[1:]):
                total += w * r[1][name]
            grads[name] = total
        return loss, grads, stack_states([r[2] for r in results])

    def evaluate(self, x, y, state):
        """Like CharLM.evaluate: (summed nats, new_state)."""
        bounds = shard_bounds(x.shape[0], self.workers)
        results = self._map(lambda b: self.model.evaluate(x[b[0]:b[1]], y[b[0]:b[1]], state_rows(state, *b)), bounds)
        return sum(r[0] for r in results), stack_states([r[1] for r in results])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
