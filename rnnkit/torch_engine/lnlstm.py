"""Layer-normalised LSTM (Ba, Kiros and Hinton 2016, "Layer Normalization", section 3.1 / eq. 20-22).

Dimensions: N batch, T time, D input size, H hidden size.

    a   = LN(x_t Wx) * gx + LN(h_{t-1} Wh) * gh + b        (N, 4H), gates i, f, o, g
    i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(LN(c_t) * gc + bc)

``LN(v) = (v - mean(v)) / sqrt(var(v) + eps)`` over the last axis: the whole 4H vector for the two
pre-activations (as in the paper, not gate by gate) and the H cells for c. The paper gives the x and h
normalisations a bias each as well; both add to ``b``, so one bias ``b`` is the same model with fewer
parameters. Parameters: Wx (D, 4H), Wh (H, 4H), b (4H,), gx (4H,), gh (4H,), gc (H,), bc (H,).

Normalising the x part depends on x alone, so it is done for all time steps at once in ``project``.
PyTorch has no fused kernel for this cell: it always runs the explicit loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.torch_engine.cells import Cell, State, input_projection, lstm_gates

EPS = 1e-5


class LNLSTMCell(Cell):
    """Layer-normalised LSTM; state ``(h, c)``, each (N, H). See the module docstring."""

    gates = 4
    state_names = ("h", "c")

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        H = hidden_size
        self.Wx = self._weight(input_size, 4 * H)
        self.Wh = self._weight(H, 4 * H)
        self.b = nn.Parameter(torch.zeros(4 * H))  # zero, as every cell's biases (rnnkit/cells.py)
        self.gx = nn.Parameter(torch.ones(4 * H))
        self.gh = nn.Parameter(torch.ones(4 * H))
        self.gc = nn.Parameter(torch.ones(H))
        self.bc = nn.Parameter(torch.zeros(H))

    def project(self, x: Tensor) -> Tensor:
        """``LN(x Wx) * gx + b``: (N, T, D) or (N, T) ids -> (N, T, 4H)."""
        p = input_projection(x, self.Wx)
        return F.layer_norm(p, p.shape[-1:], self.gx, self.b, EPS)

    def step(self, p: Tensor, state: State) -> State:
        h, c = state
        q = h @ self.Wh  # (N, 4H)
        i, f, o, g = lstm_gates(p + F.layer_norm(q, q.shape[-1:], self.gh, None, EPS))
        c = f * c + i * g
        return o * torch.tanh(F.layer_norm(c, c.shape[-1:], self.gc, self.bc, EPS)), c
