"""A stack of L recurrent layers with dropout (and optionally highway gates) between them.

Dimensions: N batch, T time, D input size of layer 0, H hidden size of every layer, L layers.

    x_0 = x;   h_l = cell_l(x_l, state_l);   x_{l+1} = dropout(y_l)   (y_l = h_l, or the highway mix)

Parameters are named as in the shared model format: layer l's cell is the child module ``"l"``, so a
stack registered as ``rnn`` owns ``rnn.0.Wx``, ``rnn.0.Wh``, ``rnn.0.b``, ...; highway gates are
``rnn.highway.{l}.W`` and ``rnn.highway.{l}.b`` for l >= 1 (layer 0's input is not H wide).

State is a list with one tuple per layer, ``(h,)`` for rnn / gru / mingru / minlstm and ``(h, c)`` for
lstm / lnlstm, each (N, H). Truncated BPTT carries it across chunks through :func:`detach_state`:

    state = model.init_state(N)
    for chunk in stream:                 # chunk (N, k)
        out, state = stack(chunk, state)
        ... backward ...
        state = detach_state(state)      # keep the values, cut the graph at the chunk border

A closed-loop model (the input at t made from the output at t-1) calls ``step`` once a step
instead; a loop of steps computes what ``forward`` computes, and the NumPy engine's twin is
rnnkit/numpy_engine/step.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.torch_engine.cells import Cell, GRUCell, LSTMCell, RNNCell, State
from rnnkit.torch_engine.fused import fused_forward, fusable
from rnnkit.torch_engine.highway import HighwayGate
from rnnkit.torch_engine.lnlstm import LNLSTMCell
from rnnkit.torch_engine.minrnn import MinCell, MinGRUCell, MinLSTMCell

CELL_TYPES: dict[str, type[Cell]] = {
    "rnn": RNNCell,
    "lstm": LSTMCell,
    "gru": GRUCell,
    "lnlstm": LNLSTMCell,
    "mingru": MinGRUCell,
    "minlstm": MinLSTMCell,
}
#: ``auto``: fused kernels where they compute the configuration, else the explicit loop.
PATHS = ("auto", "fused", "explicit")


def detach_state(state: Sequence[State]) -> list[State]:
    """The same state values cut from the autograd graph (truncated BPTT's chunk border)."""
    return [tuple(t.detach() for t in layer) for layer in state]


class Recurrent(nn.Module):
    """L stacked cells of one kind.

    Args:
        cell: a key of ``CELL_TYPES``.
        input_size: D, what layer 0 reads (for one-hot ids, the vocabulary size).
        hidden_size: H.
        layers: L.
        dropout: probability of zeroing an output of every layer but the top one, when training.
        highway: put a highway gate on the input of every layer above the first.
        path: ``auto``, ``fused`` or ``explicit`` (see ``PATHS``); ``fused`` fails for cells that
            PyTorch's kernels do not compute.
        scan: ``parallel`` or ``sequential``, for mingru and minlstm.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        layers: int = 1,
        dropout: float = 0.0,
        highway: bool = False,
        path: str = "auto",
        scan: str = "parallel",
    ) -> None:
        super().__init__()
        if cell not in CELL_TYPES:
            raise ValueError(f"unknown cell {cell!r}: choose one of {', '.join(CELL_TYPES)}")
        if path not in PATHS:
            raise ValueError(f"path must be one of {PATHS}, got {path!r}")
        cls = CELL_TYPES[cell]
        options = {"scan": scan} if issubclass(cls, MinCell) else {}
        for l in range(layers):
            self.add_module(str(l), cls(input_size if l == 0 else hidden_size, hidden_size, **options))
        gates = {str(l): HighwayGate(hidden_size) for l in range(1, layers)}
        self.highway = nn.ModuleDict(gates) if highway else None
        self.kind, self.layers, self.dropout, self.path = cell, layers, dropout, path
        if path == "fused" and not fusable(self.cells):
            raise ValueError(f"PyTorch has no fused kernel for {cell!r} cells")

    @property
    def cells(self) -> list[Cell]:
        """The L cells, bottom first."""
        return [self._modules[str(l)] for l in range(self.layers)]

    @property
    def uses_fused(self) -> bool:
        """Whether forward runs through PyTorch's fused kernels."""
        return self.path != "explicit" and fusable(self.cells)

    def init_state(self, n: int, *, dtype=None, device=None) -> list[State]:
        """Zero state for a batch of n: one tuple of (N, H) tensors per layer."""
        return [cell.init_state(n, dtype=dtype, device=device) for cell in self.cells]

    def forward(self, x: Tensor, state: Sequence[State] | None = None) -> tuple[Tensor, list[State]]:
        """Run the stack over a sequence.

        Inputs:
            x: (N, T, D) floats, or (N, T) integer ids read as one-hot vectors of size D.
            state: the initial state (a tuple per layer), or None for zeros.
        Returns:
            out: (N, T, H), the top layer's output at every step.
            state: the final state, a tuple per layer.
        """
        if state is None:
            state = self.init_state(x.shape[0], device=x.device)
        if len(state) != self.layers:
            raise ValueError(f"state has {len(state)} layers, the stack {self.layers}")
        if self.uses_fused and self.highway is None:
            return fused_forward(self.cells, x, state, self.dropout, self.training)
        final = []
        for l, cell in enumerate(self.cells):
            if l > 0:
                x = F.dropout(x, self.dropout, self.training)
            if self.uses_fused:
                h, s = fused_forward([cell], x, [state[l]], 0.0, self.training)
                s = s[0]
            else:
                h, s = cell(x, state[l])
            x = h if self.highway is None or l == 0 else self.highway[str(l)](x, h)
            final.append(s)
        return x, final

    def step(self, x_t: Tensor, state: Sequence[State] | None = None) -> tuple[Tensor, list[State]]:
        """Advance the stack by one step, through the explicit cells (closed-loop models: the next
        input is made from this output). Dropout between layers as in ``forward``; a loop of steps
        computes what ``forward`` computes over the sequence.

        Inputs:
            x_t: (N, D) floats, or (N,) integer ids read as one-hot vectors of size D.
            state: the state before the step (a tuple per layer), or None for zeros.
        Returns:
            h_top: (N, H), the top layer's output.
            state: the state after the step, a tuple per layer.
        """
        if state is None:
            state = self.init_state(x_t.shape[0], device=x_t.device)
        if len(state) != self.layers:
            raise ValueError(f"state has {len(state)} layers, the stack {self.layers}")
        x, new_state = x_t, []
        for l, cell in enumerate(self.cells):
            if l > 0:
                x = F.dropout(x, self.dropout, self.training)
            s = cell.step(cell.project(x[:, None])[:, 0], state[l])  # a sequence of one step
            x = s[0] if self.highway is None or l == 0 else self.highway[str(l)](x, s[0])
            new_state.append(s)
        return x, new_state
