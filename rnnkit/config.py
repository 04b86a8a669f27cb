"""Typed configuration of training (how a model is trained), and the JSON loader of config dataclasses.

What a model is lives in its spec (rnnkit/models/<kind>/spec.py); what a task reads in its task.
"""

from __future__ import annotations

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
        def positive_int(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")

        for name in ("batch", "seq_len", "eval_every", "eval_chars"):
            positive_int(name)
        if self.steps is not None:
            positive_int("steps")
        if self.minutes is not None and not self.minutes > 0:
            raise UsageError(f"minutes must be > 0, got {self.minutes!r}")
        if not self.lr > 0:
            raise UsageError(f"lr must be > 0, got {self.lr!r}")
        if not self.clip >= 0:
            raise UsageError(f"clip must be >= 0 (0 turns clipping off), got {self.clip!r}")
        if self.clip_mode not in ("norm", "value"):
            raise UsageError(f"clip-mode must be 'norm' or 'value', got {self.clip_mode!r}")
        if self.schedule not in SCHEDULES:
            raise UsageError(f"unknown schedule {self.schedule!r}: choose one of {', '.join(SCHEDULES)}")
        if self.engine not in ENGINES:
            raise UsageError(f"unknown engine {self.engine!r}: choose one of {', '.join(ENGINES)}")
        if self.dtype not in ("float32", "float64"):
            raise UsageError(f"dtype must be float32 or float64, got {self.dtype!r}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 0:
            raise UsageError(f"threads must be 0 (one per core) or a positive integer, got {self.threads!r}")
        if self.warmup < 0:
            raise UsageError(f"warmup must be >= 0, got {self.warmup!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "TrainConfig":
        return dataclass_from_json(cls, data, "training configuration", ignore_unknown=True)
