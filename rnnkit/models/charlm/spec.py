"""The character model's spec: parameter names, shapes and initialisation, for both engines.

Dimensions: V vocabulary size, E embedding width (0: one-hot input), H hidden size, L layers,
G the cell's gate blocks.

    ids (N, T) -> embed.W[ids] (N, T, E), or one-hot (layer 0's Wx is then (V, G*H))
               -> L recurrent layers (rnnkit/recurrent_spec.py) -> dropout -> head: logits (N, T, V)

Many-to-many: every step predicts the next character; the loss is the mean cross-entropy over
all N*T characters (nats per character). A :class:`CharLMSpec` plus a flat dict of named arrays
(see docs/architecture.md) is the whole model; checkpoints store the spec as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.cells import CELL_NAMES, CELLS
from rnnkit.config import dataclass_from_json
from rnnkit.errors import UsageError
from rnnkit.recurrent_spec import RecurrentSpec

KIND = "charlm"
#: Bounds that no trainable model reaches, so that a stranger's spec cannot make even the list of
#: parameter shapes expensive: every Unicode code point, widths and depths far past any machine.
MAX_VOCAB = 0x110000
MAX_WIDTH = 1 << 20
MAX_LAYERS = 1024


@dataclass(frozen=True)
class CharLMSpec:
    """Shape of a character model: ids -> embedding (or one-hot) -> L recurrent layers -> affine.

    Attributes:
        cell: a cell of rnnkit/cells.py (``rnn``, ``lstm``, ``gru``, ``lnlstm``, ``mingru``, ``minlstm``).
        vocab_size: V, the number of distinct tokens.
        hidden: H, the hidden size of every recurrent layer.
        layers: L, how many recurrent layers are stacked.
        embed_dim: E, the embedding width; 0 feeds one-hot vectors (then layer 0's Wx is (V, G*H)).
        dropout: the probability of zeroing an activation between layers (and before the head).
        highway: highway gates between stacked layers.
    """

    cell: str = "lstm"
    vocab_size: int = 1
    hidden: int = 128
    layers: int = 1
    embed_dim: int = 64
    dropout: float = 0.0
    highway: bool = False

    kind = KIND

    def __post_init__(self) -> None:
        if self.cell not in CELL_NAMES:
            raise UsageError(f"unknown cell {self.cell!r}: choose one of {', '.join(CELL_NAMES)}")
        for name, maximum in (("vocab_size", MAX_VOCAB), ("hidden", MAX_WIDTH), ("layers", MAX_LAYERS)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
                raise UsageError(f"{name} must be a positive integer up to {maximum:,}, got {value!r}")
        if (isinstance(self.embed_dim, bool) or not isinstance(self.embed_dim, int)
                or not 0 <= self.embed_dim <= MAX_WIDTH):
            raise UsageError(f"embed_dim must be 0 (one-hot) or a positive integer up to {MAX_WIDTH:,}, "
                             f"got {self.embed_dim!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise UsageError(f"dropout must be a number in [0, 1), got {self.dropout!r}")
        if not isinstance(self.highway, bool):
            raise UsageError(f"highway must be true or false, got {self.highway!r}")

    @property
    def recurrent(self) -> RecurrentSpec:
        return RecurrentSpec(self.cell, self.input_size, self.hidden, self.layers, self.dropout, self.highway)

    @property
    def gates(self) -> int:
        """G, the number of H-wide gate blocks of the cell's weights."""
        return CELLS[self.cell].gates

    @property
    def input_size(self) -> int:
        """D_0, the width of what layer 0 reads: E, or V for one-hot input."""
        return self.embed_dim or self.vocab_size

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "CharLMSpec":
        return dataclass_from_json(cls, data, "model configuration")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """The name and shape of every parameter, in the shared model format's order:
        ``embed.W (V, E)`` (when E > 0), the stack's ``rnn.*``, ``head.W (H, V)``, ``head.b (V,)``."""
        shapes: dict[str, tuple[int, ...]] = {}
        if self.embed_dim:
            shapes["embed.W"] = (self.vocab_size, self.embed_dim)
        shapes.update(self.recurrent.param_shapes("rnn."))
        shapes["head.W"] = (self.hidden, self.vocab_size)
        shapes["head.b"] = (self.vocab_size,)
        return shapes

    def init_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Float64 initial weights (the cells' rules in rnnkit/cells.py, and):

        - embed.W: N(0, 1), as PyTorch's nn.Embedding, so the input reaches the first layer with
          pre-activations of a useful size from the first step;
        - layer 0's Wx under one-hot input: U(-0.5, 0.5), the same size of input signal. With
          U(-1/sqrt(H), 1/sqrt(H)) the input starts several times weaker than the recurrence and
          training spends its first hundreds of steps growing it (docs/charlm.md);
        - head.W: U(-1/sqrt(H), 1/sqrt(H)); head.b zero.
        """
        params = {}
        if self.embed_dim:
            params["embed.W"] = rng.standard_normal((self.vocab_size, self.embed_dim))
        params.update(self.recurrent.init_params(rng, "rnn."))
        if not self.embed_dim:
            params["rnn.0.Wx"] *= 0.5 * np.sqrt(self.hidden)  # U(-1/sqrt(H), 1/sqrt(H)) -> U(-0.5, 0.5)
        bound = 1.0 / np.sqrt(self.hidden)
        params["head.W"] = rng.uniform(-bound, bound, size=(self.hidden, self.vocab_size))
        params["head.b"] = np.zeros(self.vocab_size)
        return params
