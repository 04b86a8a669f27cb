"""The NumPy engine behind the training loop, evaluation and sampling.

The training loop (rnnkit/training/loop.py) knows nothing about engines beyond this small
interface, which the PyTorch engine implements too:

    runtime.reset_state(batch)          zero the carried state
    runtime.train_step(x, y, lr)        one optimizer step on a (B, T) chunk -> (loss, grad norm)
    runtime.eval_chunk(x, y, state)     summed nats over a chunk, no gradient -> (nats, state)
    runtime.init_state(batch)           zero state for evaluation or sampling
    runtime.step_logits(ids, state)     (N,) ids -> (N, V) float64 logits, state (for sampling)
    runtime.export()                    (json, arrays) for a checkpoint
    runtime.restore(json, arrays)       the inverse, for an exact resume
    runtime.params_numpy()              the parameters in the shared model format
    runtime.is_main                     whether this process writes files and logs (rank 0 of a
                                        distributed torch run; always True here)
    runtime.broadcast(value)            the main process's value of a number every process computes
                                        (the training clock), so all take the same decisions
"""

from __future__ import annotations

import warnings

import numpy as np

from rnnkit.config import TORCH_CELLS, ModelConfig, TrainConfig
from rnnkit.errors import UsageError
from rnnkit.models.charlm.numpy_model import CharLM
from rnnkit.numpy_engine.optim import clip_grad_norm, clip_grad_value, global_norm, make_optimizer
from rnnkit.runtime.shards import ShardedModel, default_workers
from rnnkit.runtime.processes import ProcessShardedModel
from rnnkit.training.checkpoint import state_arrays, state_from_arrays


#: With ``--threads 0`` (automatic), a model smaller than this hidden size, or a batch giving a
#: worker fewer streams than ``MIN_STREAMS_PER_WORKER``, trains in one process: its steps are too
#: short for a second process to pay for the pipe messages and the gradient sum.
MIN_HIDDEN_FOR_WORKERS = 64
MIN_STREAMS_PER_WORKER = 8


def choose_workers(model_config: ModelConfig, train_config: TrainConfig | None) -> int:
    """How many processes train the batch's shards: ``--threads`` when given; else one per core
    (at most 4) for models and batches large enough to gain from it, else 1. Evaluation-only
    runtimes (sampling, ``rnnkit eval``) use 1."""
    if train_config is None:
        return 1
    if train_config.threads:
        return min(train_config.threads, train_config.batch)
    workers = default_workers()
    if model_config.hidden < MIN_HIDDEN_FOR_WORKERS:
        return 1
    return max(1, min(workers, train_config.batch // MIN_STREAMS_PER_WORKER))


def _start_workers(model, workers: int):
    """The model's shards in ``workers`` processes; in this process alone when there is one, or when
    this platform cannot start processes (then with a warning, and the same dropout generators:
    the in-process shards compute the same result)."""
    if workers > 1:
        try:
            return ProcessShardedModel(model, workers)
        except (OSError, RuntimeError) as exc:
            warnings.warn(f"rnnkit: could not start worker processes ({exc}); the {workers} shards of each "
                          f"batch run in this process", RuntimeWarning, stacklevel=3)
    return ShardedModel(model, workers)


class NumpyRuntime:
    """A :class:`CharLM`, its optimizer, its dropout random generators and the carried state.

    The batch's streams are split over worker processes (processes.py; ``--threads``, 0 means
    :func:`choose_workers` decides). Dropout draws from one generator per worker, so a run repeats
    exactly for a fixed count.
    """

    name = "numpy"
    is_main = True

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig | None = None, params=None, seed=0):
        if model_config.cell in TORCH_CELLS:
            raise UsageError(f"cell {model_config.cell!r} runs only on the torch engine: add --engine torch")
        if model_config.highway:
            raise UsageError("highway connections run only on the torch engine: add --engine torch")
        dtype = np.dtype(train_config.dtype if train_config else "float32")
        if params is None:
            self.model = CharLM.create(model_config, seed=seed, dtype=dtype)
        else:
            self.model = CharLM(model_config, {k: np.array(v, dtype=dtype) for k, v in params.items()})
        self.train_config = train_config
        self.optimizer = None
        if train_config is not None:
            try:
                self.optimizer = make_optimizer(train_config.optimizer, train_config.lr)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        workers = choose_workers(model_config, train_config)
        self.sharded = _start_workers(self.model, workers)
        # Dropout masks come from their own generators, seeded apart from the weights' (seed + 1).
        self.rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed + 1).spawn(workers)]
        self.state = None

    def init_state(self, batch: int):
        return self.model.init_state(batch)

    def broadcast(self, value: float) -> float:
        return value

    def reset_state(self, batch: int) -> None:
        self.state = self.model.init_state(batch)

    def train_step(self, x, y, lr: float):
        """Forward, backward through the chunk only (truncated BPTT), clip, update.

        The final state of the chunk becomes the next chunk's initial state; no gradient crosses the
        border because the backward pass stops at the chunk's first step.
        """
        cfg = self.train_config
        if self.state is None or self.state[0][0].shape[0] != x.shape[0]:
            self.reset_state(x.shape[0])
        rngs = self.rngs if self.model.config.dropout else None
        loss, grads, self.state = self.sharded.loss(x, y, self.state, rngs)
        if cfg.clip and cfg.clip_mode == "norm":
            norm = clip_grad_norm(grads, cfg.clip)  # the norm before clipping
        else:
            if cfg.clip:
                clip_grad_value(grads, cfg.clip)
            norm = global_norm(grads)
        self.optimizer.step(self.model.params, grads, lr=lr)
        return loss, norm

    def close(self) -> None:
        """Stop the worker processes, if any (they also stop when the runtime is collected)."""
        close = getattr(self.sharded, "close", None)
        if close is not None:
            close()

    def eval_chunk(self, x, y, state):
        return self.sharded.evaluate(x, y, state)

    def step_logits(self, ids, state):
        logits, state = self.model.step(ids, state)
        return logits.astype(np.float64), state

    def params_numpy(self) -> dict:
        return self.model.params

    def export(self):
        """(json, arrays) with everything an exact resume needs beyond the step counters."""
        arrays = {f"param/{k}": v for k, v in self.model.params.items()}
        js = {"rngs": [rng.bit_generator.state for rng in self.rngs]}
        if self.optimizer is not None:
            opt_js, opt_arrays = self.optimizer.state_dict()
            js["optimizer"] = opt_js
            arrays.update({f"optim/{k}": v for k, v in opt_arrays.items()})
        if self.state is not None:
            arrays.update(state_arrays(self.state))
        return js, arrays

    def restore(self, js: dict, groups: dict) -> None:
        """Restore optimizer state, random generator and carried state saved by :meth:`export`.

        ``groups`` maps ``optim`` and ``state`` to their arrays (names without the prefix).
        """
        if self.optimizer is not None and "optimizer" in js:
            try:
                self.optimizer = make_optimizer(js["optimizer"]["name"], js["optimizer"]["lr"])
                self.optimizer.load_state_dict(js["optimizer"], groups.get("optim", {}))
            except (KeyError, TypeError, ValueError) as exc:
                raise UsageError(f"the checkpoint's optimizer state is unusable: {exc}") from None
        if "rngs" in js:
            if len(js["rngs"]) != len(self.rngs):
                raise UsageError(f"the run used {len(js['rngs'])} workers; resume it with --threads {len(js['rngs'])}")
            for rng, saved_state in zip(self.rngs, js["rngs"]):
                rng.bit_generator.state = saved_state
        saved = groups.get("state", {})
        if saved:
            width = 2 if self.model.config.cell == "lstm" else 1
            dtype = self.model.dtype
            self.state = state_from_arrays(saved, self.model.config.layers, width, lambda a: np.array(a, dtype=dtype))
