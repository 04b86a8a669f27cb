"""What a recurrent cell is, said once: its gates, state, parameters and their initialisation.

Dimensions: D input size, H hidden size, G gate blocks of width H along the weights' second axis.

Every cell of both engines is described by one :class:`CellSpec` in :data:`CELLS`. The model
specs (parameter names and shapes), the checkpoint validation, the CLI's choices and both engines'
initialisation read it; each engine registers its implementation of the same name
(``rnnkit.numpy_engine.cells``, ``rnnkit.torch_engine.recurrent``), and a test checks that both
engines implement every cell here with these parameters. Adding a cell is one spec here and one
implementation per engine.

Initialisation rules (:func:`init_cell_params`), the same in both engines:

- ``uniform``: U(-1/sqrt(H), 1/sqrt(H)), as PyTorch initialises its recurrent layers;
- ``orthogonal``: each H x H gate block of ``Wh`` orthogonal, so the recurrence's gain starts near 1;
- ``zeros`` / ``ones``: constants (biases; layer-norm gains).

All biases start at zero, the forget gate's included (see docs/charlm.md for the measurement that
chose this over a forget bias of 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CellSpec:
    """One cell kind.

    Attributes:
        name: the key users type (``--cell``).
        gates: G, the number of H-wide blocks in ``Wx`` (and ``Wh``).
        gate_names: the blocks in order, e.g. ``("i", "f", "o", "g")``.
        state_names: the state a layer carries, ``("h",)`` or ``("h", "c")``; h comes first.
        params: (suffix, width in units of H or "D", init rule) of every parameter after ``Wx``,
            in the order of the shared model format. Widths: an int k is k*H columns.
        input_bias: the bias added to the input projection ``x Wx`` for all steps at once
            (``b`` or ``bx``), or None when the cell adds its bias itself (lnlstm, after
            normalising).
        summary: one line for ``--help`` and the docs.
    """

    name: str
    gates: int
    gate_names: tuple[str, ...]
    state_names: tuple[str, ...]
    params: tuple[tuple[str, tuple, str], ...]
    input_bias: str | None
    summary: str

    def param_shapes(self, input_size: int, hidden: int) -> dict[str, tuple[int, ...]]:
        """``{suffix: shape}`` of one layer reading D = ``input_size``: ``Wx (D, G*H)`` first."""
        shapes = {"Wx": (input_size, self.gates * hidden)}
        for suffix, widths, _ in self.params:
            shapes[suffix] = tuple(hidden * w for w in widths)
        return shapes

    @property
    def has_recurrent_weight(self) -> bool:
        return any(suffix == "Wh" for suffix, _, _ in self.params)


_LSTM_GATES = ("i", "f", "o", "g")

CELLS: dict[str, CellSpec] = {spec.name: spec for spec in (
    CellSpec("rnn", 1, ("h",), ("h",), (("Wh", (1, 1), "orthogonal"), ("b", (1,), "zeros")), "b",
             "vanilla RNN: h = tanh(x Wx + h Wh + b)"),
    CellSpec("lstm", 4, _LSTM_GATES, ("h", "c"), (("Wh", (1, 4), "orthogonal"), ("b", (4,), "zeros")), "b",
             "LSTM, gates i, f, o, g"),
    CellSpec("gru", 3, ("r", "z", "n"), ("h",),
             (("Wh", (1, 3), "orthogonal"), ("bx", (3,), "zeros"), ("bh", (3,), "zeros")), "bx",
             "GRU, gates r, z, n (PyTorch's formulation)"),
    CellSpec("lnlstm", 4, _LSTM_GATES, ("h", "c"),
             (("Wh", (1, 4), "orthogonal"), ("b", (4,), "zeros"), ("gx", (4,), "ones"), ("gh", (4,), "ones"),
              ("gc", (1,), "ones"), ("bc", (1,), "zeros")), None,
             "layer-normalised LSTM (Ba et al. 2016)"),
    CellSpec("mingru", 2, ("z", "h~"), ("h",), (("b", (2,), "zeros"),), "b",
             "minGRU: gates from x alone, a linear recurrence (Feng et al. 2024)"),
    CellSpec("minlstm", 3, ("f", "i", "h~"), ("h",), (("b", (3,), "zeros"),), "b",
             "minLSTM: gates from x alone, a linear recurrence (Feng et al. 2024)"),
)}
CELL_NAMES = tuple(CELLS)


def cell_spec(name: str) -> CellSpec:
    """The spec of cell ``name``; an unknown name is a ValueError listing the known ones."""
    try:
        return CELLS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown cell {name!r}: choose one of {', '.join(CELLS)}") from None


def init_cell_params(spec: CellSpec, input_size: int, hidden: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Float64 initial values of one layer's parameters, ``{suffix: array}`` (see the module notes)."""
    bound = 1.0 / np.sqrt(hidden)
    values = {"Wx": rng.uniform(-bound, bound, size=(input_size, spec.gates * hidden))}
    for suffix, widths, rule in spec.params:
        shape = tuple(hidden * w for w in widths)
        if rule == "orthogonal":
            values[suffix] = np.concatenate([np.linalg.qr(rng.standard_normal((hidden, hidden)))[0]
                                             for _ in range(spec.gates)], axis=1)
        elif rule == "uniform":
            values[suffix] = rng.uniform(-bound, bound, size=shape)
        else:
            values[suffix] = np.full(shape, 1.0 if rule == "ones" else 0.0)
    return values
