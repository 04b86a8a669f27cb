"""The classifier's spec: parameter names, shapes and initialisation, for both engines.

Dimensions: N batch, T time, V vocabulary size, E embedding width, H hidden size, L layers,
K directions (2 when bidirectional), C classes.

    ids (N, T), mask (N, T) -> embed.W[ids] (N, T, E)
        -> L recurrent layers, K directions, dropout between layers (rnnkit/recurrent_spec.py)
        -> y (N, T, K*H) -> pool over each row's real steps -> (N, K*H) -> dropout
        -> scores = pooled head.W + head.b (N, C) -> softmax cross-entropy, the mean over the batch

Pooling (``pool``), over the real steps t < len_n of row n (right padding, ``mask[n, t]`` True):

    last:  [h_fwd at t = len_n - 1, h_rev at t = 0]  each direction's state after reading the row
    mean:  sum_t y[n, t] / len_n
    max:   max_t y[n, t], elementwise

Many-to-one: no state is carried from batch to batch. A :class:`ClassifierSpec` plus a flat dict of
named arrays is the whole model; checkpoints store the spec as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.cells import CELL_NAMES, CELLS
from rnnkit.config import dataclass_from_json
from rnnkit.errors import UsageError
from rnnkit.recurrent_spec import RecurrentSpec

KIND = "classifier"
POOLS = ("last", "mean", "max")
#: embed.W ~ N(0, EMBED_SCALE^2) (see ClassifierSpec.init_params).
EMBED_SCALE = 0.1
#: Bounds that no trainable model reaches, so that a stranger's spec cannot make even the list of
#: parameter shapes expensive (as in the character model's spec).
MAX_VOCAB = 1 << 24
MAX_WIDTH = 1 << 20
MAX_LAYERS = 1024


def _bounded_int(name, value, minimum, maximum):
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise UsageError(f"{name} must be an integer from {minimum} to {maximum:,}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class ClassifierSpec:
    """Shape of a sequence classifier (see the module docstring). Fields are keywords only.

    Attributes:
        cell: a cell of rnnkit/cells.py (``rnn``, ``lstm``, ``gru``, ``lnlstm``, ``mingru``, ``minlstm``).
        vocab_size: V, the number of distinct token ids (padding included); required.
        embed_dim: E, the embedding width.
        hidden: H, the hidden size of every layer and direction.
        layers: L, how many recurrent layers are stacked.
        bidirectional: a second direction reads each row backwards (K = 2).
        pool: how the steps of a row become one vector: ``last``, ``mean`` or ``max``.
        classes: C, the number of labels.
        dropout: the probability of zeroing an activation between layers and before the head.
        embed_dropout: the probability of zeroing an entry of the embedded words, before the
            first layer (a strong regulariser where the data are a few thousand sentences).
    """

    cell: str = "lstm"
    vocab_size: int
    embed_dim: int = 128
    hidden: int = 128
    layers: int = 1
    bidirectional: bool = False
    pool: str = "last"
    classes: int = 2
    dropout: float = 0.0
    embed_dropout: float = 0.0

    kind = KIND

    def __post_init__(self) -> None:
        if self.cell not in CELL_NAMES:
            raise UsageError(f"unknown cell {self.cell!r}: choose one of {', '.join(CELL_NAMES)}")
        for name, minimum, maximum in (("vocab_size", 1, MAX_VOCAB), ("embed_dim", 1, MAX_WIDTH),
                                       ("hidden", 1, MAX_WIDTH), ("layers", 1, MAX_LAYERS),
                                       ("classes", 2, MAX_WIDTH)):
            _bounded_int(name, getattr(self, name), minimum, maximum)
        if not isinstance(self.bidirectional, bool):
            raise UsageError(f"bidirectional must be true or false, got {self.bidirectional!r}")
        if self.pool not in POOLS:
            raise UsageError(f"unknown pool {self.pool!r}: choose one of {', '.join(POOLS)}")
        for name in ("dropout", "embed_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise UsageError(f"{name.replace('_', '-')} must be a number in [0, 1), got {value!r}")

    @property
    def recurrent(self) -> RecurrentSpec:
        return RecurrentSpec(self.cell, self.embed_dim, self.hidden, self.layers, self.dropout,
                             bidirectional=self.bidirectional)

    @property
    def directions(self) -> int:
        """K: 2 when bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def features(self) -> int:
        """K*H, the width of the pooled vector the head reads."""
        return self.directions * self.hidden

    @property
    def gates(self) -> int:
        """G, the number of H-wide gate blocks of the cell's weights."""
        return CELLS[self.cell].gates

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ClassifierSpec":
        if isinstance(data, dict) and "vocab_size" not in data:
            raise UsageError("model configuration: vocab_size is missing")
        return dataclass_from_json(cls, data, "model configuration")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """The name and shape of every parameter, in the shared model format's order:
        ``embed.W (V, E)``, the stack's ``rnn.*`` (and ``rnn_rev.*``, layer by layer),
        ``head.W (K*H, C)``, ``head.b (C,)``."""
        shapes = {"embed.W": (self.vocab_size, self.embed_dim)}
        shapes.update(self.recurrent.param_shapes("rnn."))
        shapes["head.W"] = (self.features, self.classes)
        shapes["head.b"] = (self.classes,)
        return shapes

    def init_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Float64 initial weights, in :meth:`param_shapes` order (the cells' rules in rnnkit/cells.py):

        - embed.W: N(0, 0.1^2), not nn.Embedding's N(0, 1): it reached a lower validation loss and
          a higher accuracy on the mr snippets (LSTM and GRU, Adam). Likely why: an update moves a
          row by an amount that does not grow with the row, so small random starting vectors are
          soon outweighed by what training writes into them, while N(0, 1) keeps rare words noisy;
        - head.W: U(-1/sqrt(K*H), 1/sqrt(K*H)); head.b zero.
        """
        params = {"embed.W": EMBED_SCALE * rng.standard_normal((self.vocab_size, self.embed_dim))}
        params.update(self.recurrent.init_params(rng, "rnn."))
        bound = 1.0 / np.sqrt(self.features)
        params["head.W"] = rng.uniform(-bound, bound, size=(self.features, self.classes))
        params["head.b"] = np.zeros(self.classes)
        return params
