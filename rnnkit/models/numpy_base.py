"""What every NumPy-engine model shares: its spec, its parameters, and how it starts.

A model is its spec (rnnkit/models/<kind>/spec.py) and a flat dict of named arrays in the shared
format; ``create`` draws the spec's initial values (the same arrays the torch engine starts from).
"""

from __future__ import annotations

import numpy as np


class NumpyModel:
    """Base of the NumPy models: ``Model(spec, params)`` checks that every parameter is there."""

    def __init__(self, spec, params: dict):
        missing = set(spec.param_shapes()) - set(params)
        if missing:
            raise ValueError(f"parameters missing: {', '.join(sorted(missing))}")
        self.spec = spec
        self.params = params

    @classmethod
    def create(cls, spec, seed: int = 0, dtype=np.float32):
        """A fresh model: the spec's initial values for ``seed``, in ``dtype``."""
        params = spec.init_params(np.random.default_rng(seed))
        return cls(spec, {k: np.ascontiguousarray(v, dtype=dtype) for k, v in params.items()})

    @property
    def config(self):
        return self.spec

    @property
    def dtype(self):
        return self.params["head.W"].dtype

    def loss_weight(self, *batch) -> float:
        """What this batch's loss is a mean over: its rows. A model whose loss is a mean over
        tokens of different rows (ragged targets) returns their number instead. Worker shards are
        weighted by it (rnnkit/runtime/shards.py), so the sharded loss and gradient equal the
        unsharded ones."""
        return float(np.shape(batch[0])[0])

