"""The shape of a stack of recurrent layers, shared by every model and both engines.

Dimensions: D input size of layer 0, H hidden size, L layers, K directions (1, or 2 when
bidirectional), G the cell's gate blocks.

    layer 0 reads x (D wide); layer l >= 1 reads dropout(y_{l-1}) (K*H wide)
    y_l = h_l, or with highway gates (l >= 1, K = 1): t * h_l + (1 - t) * x_l,  t = sigmoid(x_l W + b)

Parameter names under a prefix (``rnn.`` for the character model), in this order:

    rnn.{l}.Wx (D_l, G*H), then the cell's own (Wh, b, ...)       forward direction
    rnn_rev.{l}.Wx ..., rnn_rev.{l}.Wh ...                          backward direction (K = 2)
    rnn.highway.{l}.W (H, H), rnn.highway.{l}.b (H,)                l >= 1, with highway

(shown for the prefix ``rnn.``; the backward direction's prefix is the prefix's name plus ``_rev``).

Initialisation follows rnnkit/cells.py; highway gates start with W uniform and b = -1, so that at
first mostly the layer's input is carried past it (deep stacks start close to shallow ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.cells import CELLS, cell_spec, init_cell_params

HIGHWAY_CARRY_BIAS = -1.0


@dataclass(frozen=True)
class RecurrentSpec:
    """L stacked layers of one cell kind (see the module docstring)."""

    cell: str
    input_size: int
    hidden: int
    layers: int = 1
    dropout: float = 0.0
    highway: bool = False
    bidirectional: bool = False

    def __post_init__(self) -> None:
        cell_spec(self.cell)  # ValueError for an unknown cell
        if self.highway and self.bidirectional:
            raise ValueError("highway gates need one direction (a layer's input and output must be H wide)")

    @property
    def directions(self) -> int:
        """K: 2 when bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """K*H, the width of the top layer's output at every step."""
        return self.directions * self.hidden

    @property
    def state_width(self) -> int:
        """Arrays per layer and direction in the state: 2 for (h, c) cells, else 1."""
        return len(CELLS[self.cell].state_names)

    def layer_input(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.output_size

    def layer_prefixes(self, prefix: str, layer: int) -> list[str]:
        """The parameter prefix of each direction of ``layer``: ``rnn.0.``, and ``rnn_rev.0.``."""
        return [f"{prefix}{layer}.", f"{prefix[:-1]}_rev.{layer}."][: self.directions]

    def param_shapes(self, prefix: str = "rnn.") -> dict[str, tuple[int, ...]]:
        spec = CELLS[self.cell]
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in range(self.layers):
            for p in self.layer_prefixes(prefix, layer):
                for suffix, shape in spec.param_shapes(self.layer_input(layer), self.hidden).items():
                    shapes[p + suffix] = shape
        if self.highway:
            for layer in range(1, self.layers):
                shapes[f"{prefix}highway.{layer}.W"] = (self.hidden, self.hidden)
                shapes[f"{prefix}highway.{layer}.b"] = (self.hidden,)
        return shapes

    def init_params(self, rng: np.random.Generator, prefix: str = "rnn.") -> dict[str, np.ndarray]:
        """Float64 initial values of every parameter of :meth:`param_shapes`, in that order."""
        spec = CELLS[self.cell]
        values = {}
        for layer in range(self.layers):
            for p in self.layer_prefixes(prefix, layer):
                for suffix, value in init_cell_params(spec, self.layer_input(layer), self.hidden, rng).items():
                    values[p + suffix] = value
        if self.highway:
            bound = 1.0 / np.sqrt(self.hidden)
            for layer in range(1, self.layers):
                values[f"{prefix}highway.{layer}.W"] = rng.uniform(-bound, bound, size=(self.hidden, self.hidden))
                values[f"{prefix}highway.{layer}.b"] = np.full(self.hidden, HIGHWAY_CARRY_BIAS)
        return values
