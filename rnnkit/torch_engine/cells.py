"""Vanilla RNN, LSTM and GRU cells written from the equations of docs/numpy_engine.md (batch first).

Dimensions: N batch, T time, D input size, H hidden size, G gates (1 rnn, 4 lstm, 3 gru).

Every cell owns ``Wx (D, G*H)`` and ``Wh (H, G*H)`` (the shared model format, not PyTorch's
``(G*H, D)``) and splits its work in two, the way the NumPy engine does:

- ``project(x) -> (N, T, G*H)``: the input half ``x Wx + b`` for all time steps in one product;
- ``step(p_t, state) -> state``: the recurrent half for one step, given ``p_t (N, G*H)``.

``forward`` chains them over time (the explicit path). Cells that PyTorch's fused kernels compute
also say how (``fused_mode``, ``fused_weights``), so :mod:`rnnkit.torch_engine.fused` can run them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnkit.torch_engine.gate_layout import fused_weight_list

State = tuple[Tensor, ...]


def input_projection(x: Tensor, Wx: Tensor, b: Tensor | None = None) -> Tensor:
    """``x Wx + b`` for every time step at once.

    Inputs:
        x: (N, T, D) floats, or (N, T) integer ids standing for one-hot vectors of size D; a one-hot
            vector times Wx is a row of Wx, so ids gather rows instead of multiplying by zeros.
        Wx: (D, G*H).
        b: (G*H,) or None.
    Returns:
        (N, T, G*H).
    """
    p = x @ Wx if x.is_floating_point() else Wx[x]
    return p if b is None else p + b


def lstm_gates(a: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Split LSTM pre-activations ``a (N, 4H)`` in the order i, f, o, g and apply the nonlinearities:
    ``i, f, o = sigmoid(.)``, ``g = tanh(.)``. Each result is (N, H)."""
    H = a.shape[-1] // 4
    i, f, o = torch.sigmoid(a[..., : 3 * H]).chunk(3, dim=-1)
    return i, f, o, torch.tanh(a[..., 3 * H :])


class Cell(nn.Module):
    """One recurrent layer: parameters, one step, and the explicit loop over time.

    Subclasses set ``gates`` (G), ``state_names`` and implement ``project`` and ``step``.
    """

    gates: int = 1
    state_names: tuple[str, ...] = ("h",)
    #: The ``torch._VF`` function computing this cell (``rnn_tanh``, ``lstm``, ``gru``), or None.
    fused_mode: str | None = None
    #: For each gate block of PyTorch's fused layout, the index of our gate block that goes there.
    fused_gate_order: tuple[int, ...] = (0,)

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size

    def _weight(self, rows: int, cols: int) -> nn.Parameter:
        """A (rows, cols) weight, U(-1/sqrt(H), 1/sqrt(H)) (PyTorch's default for recurrent layers).

        Cells with a fused kernel store it transposed (the (rows, cols) view of a contiguous
        (cols, rows) tensor), the kernel's layout: see :mod:`rnnkit.torch_engine.gate_layout`.
        """
        bound = 1.0 / math.sqrt(self.hidden_size)
        if self.fused_mode is not None:
            return nn.Parameter(torch.empty(cols, rows).uniform_(-bound, bound).t())
        return nn.Parameter(torch.empty(rows, cols).uniform_(-bound, bound))

    def init_state(self, n: int, *, dtype=None, device=None) -> State:
        """Zeros: one (N, H) tensor per entry of ``state_names``."""
        dtype = dtype or next(self.parameters()).dtype
        device = device or next(self.parameters()).device
        return tuple(torch.zeros(n, self.hidden_size, dtype=dtype, device=device) for _ in self.state_names)

    def project(self, x: Tensor) -> Tensor:
        """The input half of every step: (N, T, D) floats or (N, T) ids -> (N, T, G*H)."""
        raise NotImplementedError

    def step(self, p: Tensor, state: State) -> State:
        """One step from the projected input ``p (N, G*H)``; the new state's first entry is h (N, H)."""
        raise NotImplementedError

    def forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """Run the sequence step by step.

        Inputs:
            x: (N, T, D) floats or (N, T) one-hot ids.
            state: the initial state, a tuple of (N, H) tensors.
        Returns:
            out: (N, T, H), the hidden state h_t at every step.
            state: the final state.
        """
        p = self.project(x)  # (N, T, G*H)
        hs = []
        # unbind, not p[:, t]: the backward of T selects would write T gradients the size of all
        # of p (O(T^2) memory traffic); unbind's backward stacks the T step gradients once.
        for p_t in p.unbind(1):
            state = self.step(p_t, state)
            hs.append(state[0])
        return torch.stack(hs, dim=1), state

    def fused_sources(self) -> list[Tensor | None]:
        """``[Wx, Wh, b_ih, b_hh]``: our tensors behind PyTorch's four weights (None: a zero bias)."""
        raise NotImplementedError

    def fused_weights(self) -> list[Tensor]:
        """``[w_ih (G*H, D), w_hh (G*H, H), b_ih, b_hh]`` in PyTorch's layout and gate order, built
        from ours by differentiable copies, so gradients flow back to our parameters."""
        return fused_weight_list([self])


class RNNCell(Cell):
    """Vanilla RNN: ``h_t = tanh(x_t Wx + h_{t-1} Wh + b)``; Wx (D, H), Wh (H, H), b (H,)."""

    gates = 1
    fused_mode = "rnn_tanh"

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.Wx = self._weight(input_size, hidden_size)
        self.Wh = self._weight(hidden_size, hidden_size)
        self.b = nn.Parameter(torch.zeros(hidden_size))

    def project(self, x: Tensor) -> Tensor:
        return input_projection(x, self.Wx, self.b)

    def step(self, p: Tensor, state: State) -> State:
        (h,) = state
        return (torch.tanh(torch.addmm(p, h, self.Wh)),)

    def fused_sources(self) -> list[Tensor | None]:
        # PyTorch adds two biases; ours is one, so the second is zero.
        return [self.Wx, self.Wh, self.b, None]


class LSTMCell(Cell):
    """LSTM with gates i, f, o, g along the 4H axis.

    ``a = x_t Wx + h_{t-1} Wh + b``; ``i, f, o = sigmoid(a_i, a_f, a_o)``, ``g = tanh(a_g)``;
    ``c_t = f * c_{t-1} + i * g``; ``h_t = o * tanh(c_t)``. Wx (D, 4H), Wh (H, 4H), b (4H,).
    Biases start at zero, as in the NumPy engine (init_params explains why not a forget bias of 1).
    """

    gates = 4
    state_names = ("h", "c")
    fused_mode = "lstm"
    fused_gate_order = (0, 1, 3, 2)  # PyTorch's i, f, g, o from our i, f, o, g

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        H = hidden_size
        self.Wx = self._weight(input_size, 4 * H)
        self.Wh = self._weight(H, 4 * H)
        self.b = nn.Parameter(torch.zeros(4 * H))

    def project(self, x: Tensor) -> Tensor:
        return input_projection(x, self.Wx, self.b)

    def step(self, p: Tensor, state: State) -> State:
        h, c = state
        i, f, o, g = lstm_gates(torch.addmm(p, h, self.Wh))
        c = f * c + i * g
        return o * torch.tanh(c), c

    def fused_sources(self) -> list[Tensor | None]:
        return [self.Wx, self.Wh, self.b, None]


class GRUCell(Cell):
    """GRU with gates r, z, n along the 3H axis and two biases (PyTorch's formulation).

    ``r, z = sigmoid(x_t Wx + bx + h_{t-1} Wh + bh)`` on their slices;
    ``n = tanh(x_t Wxn + bxn + r * (h_{t-1} Whn + bhn))``; ``h_t = (1 - z) * n + z * h_{t-1}``.
    Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,).
    """

    gates = 3
    fused_mode = "gru"
    fused_gate_order = (0, 1, 2)  # the same r, z, n: only the matrices are transposed

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        H = hidden_size
        self.Wx = self._weight(input_size, 3 * H)
        self.Wh = self._weight(H, 3 * H)
        self.bx = nn.Parameter(torch.zeros(3 * H))
        self.bh = nn.Parameter(torch.zeros(3 * H))

    def project(self, x: Tensor) -> Tensor:
        return input_projection(x, self.Wx, self.bx)

    def step(self, p: Tensor, state: State) -> State:
        (h,) = state
        H = self.hidden_size
        q = torch.addmm(self.bh, h, self.Wh)  # (N, 3H): h Wh + bh, kept apart for the r * (.) term
        r, z = torch.sigmoid(p[:, : 2 * H] + q[:, : 2 * H]).chunk(2, dim=-1)
        n = torch.tanh(p[:, 2 * H :] + r * q[:, 2 * H :])
        return ((1 - z) * n + z * h,)

    def fused_sources(self) -> list[Tensor | None]:
        return [self.Wx, self.Wh, self.bx, self.bh]
