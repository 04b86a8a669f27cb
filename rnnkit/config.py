"""Typed configuration of a character-level language model.

A :class:`ModelConfig` plus a flat dict of named arrays (see docs/architecture.md) is the whole model:
both engines build the same network from it, and checkpoints store it as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from rnnkit.errors import UsageError

#: Cells both engines compute.
SHARED_CELLS = ("rnn", "lstm", "gru")
#: Cells only the PyTorch engine computes (its explicit path; see docs/torch_engine.md).
TORCH_CELLS = ("lnlstm", "mingru", "minlstm")
CELLS = SHARED_CELLS + TORCH_CELLS

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


#: How many H-wide blocks each cell's weight matrices hold along their second axis.
GATES = {"rnn": 1, "lstm": 4, "gru": 3, "lnlstm": 4, "mingru": 2, "minlstm": 3}


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a character model: ids -> embedding (or one-hot) -> L recurrent layers -> affine.

    Attributes:
        cell: ``rnn``, ``lstm`` or ``gru`` (both engines), or ``lnlstm`` (layer-normalised LSTM),
            ``mingru``, ``minlstm`` (the torch engine only).
        vocab_size: V, the number of distinct tokens.
        hidden: H, the hidden size of every recurrent layer.
        layers: L, how many recurrent layers are stacked.
        embed_dim: E, the embedding width; 0 feeds one-hot vectors (then layer 0's Wx is (V, G*H)).
        dropout: the probability of zeroing an activation between layers (and before the head).
        highway: highway gates between stacked layers (the torch engine only).
    """

    cell: str = "lstm"
    vocab_size: int = 0
    hidden: int = 128
    layers: int = 1
    embed_dim: int = 0
    dropout: float = 0.0
    highway: bool = False

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise UsageError(f"unknown cell {self.cell!r}: choose one of {', '.join(CELLS)}")
        for name in ("vocab_size", "hidden", "layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.embed_dim, int) or self.embed_dim < 0:
            raise UsageError(f"embed_dim must be 0 (one-hot) or a positive integer, got {self.embed_dim!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise UsageError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not isinstance(self.highway, bool):
            raise UsageError(f"highway must be true or false, got {self.highway!r}")

    @property
    def gates(self) -> int:
        """G: 1 for rnn, 4 for lstm and lnlstm, 3 for gru and minlstm, 2 for mingru."""
        return GATES[self.cell]

    @property
    def input_size(self) -> int:
        """D_0, the width of what layer 0 reads: E, or V for one-hot input."""
        return self.embed_dim or self.vocab_size

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ModelConfig":
        return dataclass_from_json(cls, data, "model configuration")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """The name and shape of every parameter, in a fixed order (the shared model format).

        Per layer l, with D the layer's input width: ``Wx (D, G*H)``, then ``Wh (H, G*H)`` (not for
        mingru / minlstm, whose gates read x alone), then the biases: ``b (G*H,)``, or ``bx, bh``
        for gru; lnlstm adds the layer-norm gains and bias ``gx, gh (4H,)``, ``gc, bc (H,)``.
        Highway gates ``rnn.highway.{l}.W (H, H)``, ``.b (H,)`` for l >= 1 follow the layers.
        """
        H, G, V = self.hidden, self.gates, self.vocab_size
        shapes: dict[str, tuple[int, ...]] = {}
        if self.embed_dim:
            shapes["embed.W"] = (V, self.embed_dim)
        for layer in range(self.layers):
            D = self.input_size if layer == 0 else H
            prefix = f"rnn.{layer}."
            shapes[prefix + "Wx"] = (D, G * H)
            if self.cell not in ("mingru", "minlstm"):
                shapes[prefix + "Wh"] = (H, G * H)
            if self.cell == "gru":
                shapes[prefix + "bx"] = (G * H,)
                shapes[prefix + "bh"] = (G * H,)
            else:
                shapes[prefix + "b"] = (G * H,)
            if self.cell == "lnlstm":
                shapes.update({prefix + "gx": (G * H,), prefix + "gh": (G * H,), prefix + "gc": (H,), prefix + "bc": (H,)})
        if self.highway:
            for layer in range(1, self.layers):
                shapes[f"rnn.highway.{layer}.W"] = (H, H)
                shapes[f"rnn.highway.{layer}.b"] = (H,)
        shapes["head.W"] = (H, V)
        shapes["head.b"] = (V,)
        return shapes


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
