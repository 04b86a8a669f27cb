"""Typed configuration of training (how a model is trained), and the JSON loader of config dataclasses.

What a model is lives in its spec (rnnkit/models/<kind>/spec.py); what a task reads in its task.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from rnnkit.errors import UsageError

def dataclass_from_json(cls, data, what: str, ignore_unknown: bool = False):
    """Build the dataclass ``cls`` from a JSON object, as read from a checkpoint or a file.

    ``what`` names the object in messages ("model configuration"). Unknown fields are a
    UsageError, or are dropped with ``ignore_unknown`` (for settings that older or newer versions
    may add); the dataclass's own __post_init__ then validates the values.
    """
    if not isinstance(data, dict):
        raise UsageError(f"{what}: expected a JSON object, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown and not ignore_unknown:
        raise UsageError(f"{what}: unknown fields {', '.join(sorted(unknown))}")
    return cls(**{k: v for k, v in data.items() if k in known})


SCHEDULES = ("auto", "constant", "exp", "cosine", "wsd")
ENGINES = ("numpy", "torch")
#: Bounds of counts (steps, batch, ...) and seeds: far beyond any run, within what every engine takes.
MAX_COUNT = 1 << 40
MAX_SEED = (1 << 63) - 2  # the torch engine seeds dropout with seed + 1 + rank
MAX_THREADS = 256


@dataclass(frozen=True)
class TrainConfig:
    """How a character model is trained (everything but the model's shape).

    The step and time budgets count the whole run, across resumes: ``--resume RUN --steps 2N``
    finishes a run that stopped at step N.
    """

    data: str = "stdlib"
    mode: str = "char"
    val_fraction: float = 0.05
    batch: int = 32
    seq_len: int = 64
    optimizer: str = "adam"
    lr: float = 4e-3
    schedule: str = "auto"
    warmup: int = 20
    lr_decay: float = 0.5
    decay_every: float = 5000.0
    min_lr_ratio: float = 0.05
    clip: float = 5.0
    clip_mode: str = "norm"
    steps: int | None = None
    minutes: float | None = None
    eval_every: int = 200
    eval_chars: int = 200_000
    seed: int = 0
    engine: str = "numpy"
    dtype: str = "float32"
    threads: int = 0

    def __post_init__(self) -> None:
        # Values come from flags (already checked) or from a checkpoint's JSON, which can say
        # anything: every field's type and range is checked, so nothing fails later mid-run.
        def positive_int(name, maximum=MAX_COUNT):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
                raise UsageError(f"{name.replace('_', '-')} must be a positive integer (at most {maximum:,}), "
                                 f"got {value!r}")

        def number(name, low, high=math.inf, low_open=False):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                    or value < low or (low_open and value == low) or value > high):
                rule = f"{'>' if low_open else '>='} {low:g}" + ("" if high == math.inf else f" and <= {high:g}")
                raise UsageError(f"{name.replace('_', '-')} must be a finite number {rule}, got {value!r}")

        def choice(name, choices):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in choices:
                raise UsageError(f"{name.replace('_', '-')} must be one of {', '.join(choices)}, got {value!r}")

        for name in ("batch", "seq_len", "eval_every", "eval_chars"):
            positive_int(name)
        if self.steps is not None:
            positive_int("steps")
        if self.minutes is not None:
            number("minutes", 0.0, low_open=True)
        if not isinstance(self.data, str) or not self.data:
            raise UsageError(f"data must be a corpus name or a file path, got {self.data!r}")
        choice("mode", ("char", "byte"))
        number("val_fraction", 0.0, 0.5)
        if not isinstance(self.optimizer, str) or not self.optimizer:
            raise UsageError(f"optimizer must be the name of one, got {self.optimizer!r}")
        number("lr", 0.0, low_open=True)
        choice("schedule", SCHEDULES)
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or not 0 <= self.warmup <= MAX_COUNT:
            raise UsageError(f"warmup must be an integer >= 0, got {self.warmup!r}")
        number("lr_decay", 0.0, low_open=True)
        number("decay_every", 0.0, low_open=True)
        number("min_lr_ratio", 0.0, 1.0)
        number("clip", 0.0)
        choice("clip_mode", ("norm", "value"))
        choice("engine", ENGINES)
        choice("dtype", ("float32", "float64"))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise UsageError(f"seed must be an integer in [0, {MAX_SEED}], got {self.seed!r}")
        if (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                or not 0 <= self.threads <= MAX_THREADS):
            raise UsageError(f"threads must be 0 (one per core) or a positive integer up to {MAX_THREADS}, "
                             f"got {self.threads!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "TrainConfig":
        return dataclass_from_json(cls, data, "training configuration", ignore_unknown=True)
