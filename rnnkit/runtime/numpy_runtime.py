"""The NumPy engine behind the training loop, evaluation, prediction and sampling, for any model.

The training loop (rnnkit/training/loop.py) knows nothing about engines or models beyond this
small interface, which the PyTorch engine implements too. A batch is a tuple of batch-first
arrays, whatever the model's ``loss`` takes ((ids, targets) for the character model; (ids, mask,
labels) for the classifier):

    runtime.reset_state(batch)          zero the carried state (models that carry none: None)
    runtime.train_step(batch, lr)       one optimizer step -> (loss, grad norm)
    runtime.evaluate(batch, state)      summed statistics, no gradient -> ({name: value}, state)
    runtime.init_state(batch)           zero state for evaluation or sampling
    runtime.call(method, *args)         a model method for inference (probabilities, one step),
                                        its arrays as float64 NumPy
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

from rnnkit.config import TrainConfig
from rnnkit.errors import UsageError
from rnnkit.models import numpy_model_class
from rnnkit.numpy_engine.optim import clip_grad_norm, clip_grad_value, global_norm, make_optimizer
from rnnkit.runtime.processes import ProcessShardedModel
from rnnkit.runtime.shards import ShardedModel, default_workers
from rnnkit.runtime.base import RuntimeCheckpointing


#: With ``--threads 0`` (automatic), a model smaller than this hidden size, or a batch giving a
#: worker fewer rows than ``MIN_STREAMS_PER_WORKER``, trains in one process: its steps are too
#: short for a second process to pay for the pipe messages and the gradient sum.
MIN_HIDDEN_FOR_WORKERS = 64
MIN_STREAMS_PER_WORKER = 8


def choose_workers(spec, train_config: TrainConfig | None) -> int:
    """How many processes train the batch's shards: ``--threads`` when given; else one per core
    (at most 4) for models and batches large enough to gain from it, else 1. Evaluation-only
    runtimes (sampling, ``rnnkit eval``) use 1."""
    if train_config is None:
        return 1
    if train_config.threads:
        return min(train_config.threads, train_config.batch)
    workers = default_workers()
    if spec.hidden < MIN_HIDDEN_FOR_WORKERS:
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


class NumpyRuntime(RuntimeCheckpointing):
    """A NumPy model (any kind of rnnkit/models), its optimizer, its dropout random generators
    and the carried state.

    The batch's rows are split over worker processes (processes.py; ``--threads``, 0 means
    :func:`choose_workers` decides). Dropout draws from one generator per worker, so a run repeats
    exactly for a fixed count.
    """

    name = "numpy"
    is_main = True

    def __init__(self, spec, train_config: TrainConfig | None = None, params=None, seed=0):
        dtype = np.dtype(train_config.dtype if train_config else "float32")
        model_class = numpy_model_class(spec.kind)
        try:
            if params is None:
                self.model = model_class.create(spec, seed=seed, dtype=dtype)
            else:
                self.model = model_class(spec, {k: np.array(v, dtype=dtype) for k, v in params.items()})
        except ValueError as exc:  # a cell this engine lacks, parameters that do not fit
            raise UsageError(str(exc)) from None
        self.spec = spec
        self.train_config = train_config
        self.optimizer = None
        if train_config is not None:
            try:
                self.optimizer = make_optimizer(train_config.optimizer, train_config.lr)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        workers = choose_workers(spec, train_config)
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

    def train_step(self, batch: tuple, lr: float):
        """Forward, backward (through this chunk only, for models that carry state: truncated
        BPTT), clip, update. Returns (loss, gradient norm before clipping)."""
        cfg = self.train_config
        rows = batch[0].shape[0]
        if self.state is None or self.state[0][0].shape[0] != rows:
            self.reset_state(rows)
        # Dropout, and models whose loss draws noise (DRAW's latents), take the generators.
        rngs = self.rngs if self.spec.dropout or getattr(self.spec, "stochastic", False) else None
        loss, grads, self.state = self.sharded.loss(batch, self.state, rngs)
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

    def evaluate(self, batch: tuple, state):
        """Summed statistics over the batch without dropout or gradients: ({name: value}, state)."""
        return self.sharded.evaluate(batch, state)

    def call(self, method: str, *args):
        """The model's inference method ``method`` on NumPy arguments."""
        return getattr(self.model, method)(*args)

    def step_logits(self, ids, state):
        logits, state = self.model.step(ids, state)
        return logits.astype(np.float64), state

    def params_numpy(self) -> dict:
        return self.model.params

    # -- checkpointing hooks (rnnkit/runtime/base.py) ---------------------------------------

    def _random_json(self) -> dict:
        return {"rngs": [rng.bit_generator.state for rng in self.rngs]}

    def _restore_random(self, js: dict) -> None:
        if "rngs" not in js:
            return
        if len(js["rngs"]) != len(self.rngs):
            raise UsageError(f"the run used {len(js['rngs'])} workers; resume it with --threads {len(js['rngs'])}")
        try:
            for rng, saved_state in zip(self.rngs, js["rngs"]):
                rng.bit_generator.state = saved_state
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"the checkpoint's random generator state is unusable: {exc}") from None

    def _state_from_numpy(self, array):
        return np.array(array, dtype=self.model.dtype)

    def _load_optimizer(self, js: dict, arrays: dict) -> None:
        self.optimizer = make_optimizer(js["name"], js["lr"])
        self.optimizer.load_state_dict(js, arrays)
