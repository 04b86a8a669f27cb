"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?").

Dimensions: N batch, T time, D input size, H hidden size.

Both drop the hidden state from the gates, so every gate depends on x_t alone and the recurrence is
linear, ``h_t = a_t * h_{t-1} + b_t``: all steps come out of one parallel scan over time
(:func:`rnnkit.torch_engine.scan.parallel_scan_log`) instead of a loop of T dependent steps.
Candidate states go through the paper's positive ``g`` so that ``b_t > 0`` has a logarithm.

minGRU, Wx (D, 2H) with blocks z, h~ and b (2H,):

    z_t = sigmoid(k_z),  h~_t = g(k_h)         where (k_z, k_h) = x_t Wx + b
    h_t = (1 - z_t) * h_{t-1} + z_t * h~_t      a = 1 - z, b = z * h~

minLSTM, Wx (D, 3H) with blocks f, i, h~ and b (3H,):

    f_t = sigmoid(k_f),  i_t = sigmoid(k_i),  h~_t = g(k_h)
    f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)   (normalised so the scale of h is bounded)
    h_t = f'_t * h_{t-1} + i'_t * h~_t          a = f', b = i' * h~

In log space ``log(1 - z) = -softplus(k_z)``, ``log z = -softplus(-k_z)``, and with
``d = softplus(-k_f) - softplus(-k_i)``: ``log f' = -softplus(d)``, ``log i' = -softplus(-d)``.

``scan="parallel"`` runs the log-space scan; ``scan="sequential"`` the step-by-step loop of
:class:`~rnnkit.torch_engine.cells.Cell` (what sampling does one character at a time). Both compute
the same function. The state is ``(h,)``; there is no Wh.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.torch_engine.cells import Cell, State, input_projection
from rnnkit.torch_engine.scan import g, log_g, parallel_scan_log

SCANS = ("parallel", "sequential")


class MinCell(Cell):
    """A cell whose recurrence is ``h_t = a_t * h_{t-1} + b_t`` with a, b computed from x_t alone.

    Subclasses give the coefficients in linear space (``coefficients``, for the step) and in log space
    (``log_coefficients``, for the scan), both from the projection ``p = x Wx + b``.
    """

    def __init__(self, input_size: int, hidden_size: int, scan: str = "parallel") -> None:
        super().__init__(input_size, hidden_size)
        if scan not in SCANS:
            raise ValueError(f"scan must be one of {SCANS}, got {scan!r}")
        self.scan = scan
        self.Wx = self._weight(input_size, self.gates * hidden_size)
        self.b = nn.Parameter(torch.zeros(self.gates * hidden_size))

    def coefficients(self, p: Tensor) -> tuple[Tensor, Tensor]:
        """``(a, b)``, each (..., H), from ``p (..., G*H)``."""
        raise NotImplementedError

    def log_coefficients(self, p: Tensor) -> tuple[Tensor, Tensor]:
        """``(log a, log b)``, each (..., H), from ``p (..., G*H)``."""
        raise NotImplementedError

    def project(self, x: Tensor) -> Tensor:
        return input_projection(x, self.Wx, self.b)

    def step(self, p: Tensor, state: State) -> State:
        (h,) = state
        a, b = self.coefficients(p)
        return (a * h + b,)

    def forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """(N, T, D) or (N, T) ids and ``(h0,)`` -> out (N, T, H) and ``(h_T,)``."""
        if self.scan == "sequential":
            return super().forward(x, state)
        log_a, log_b = self.log_coefficients(self.project(x))
        out = parallel_scan_log(log_a, log_b, state[0])  # (N, T, H)
        return out, (out[:, -1],)


class MinGRUCell(MinCell):
    """minGRU: ``h_t = (1 - z_t) * h_{t-1} + z_t * g(k_h)``, ``z_t = sigmoid(k_z)``."""

    gates = 2

    def coefficients(self, p: Tensor) -> tuple[Tensor, Tensor]:
        k_z, k_h = p.chunk(2, dim=-1)
        z = torch.sigmoid(k_z)
        return 1 - z, z * g(k_h)

    def log_coefficients(self, p: Tensor) -> tuple[Tensor, Tensor]:
        k_z, k_h = p.chunk(2, dim=-1)
        return -F.softplus(k_z), -F.softplus(-k_z) + log_g(k_h)


class MinLSTMCell(MinCell):
    """minLSTM: ``h_t = f'_t * h_{t-1} + i'_t * g(k_h)`` with normalised forget and input gates."""

    gates = 3

    def coefficients(self, p: Tensor) -> tuple[Tensor, Tensor]:
        k_f, k_i, k_h = p.chunk(3, dim=-1)
        f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
        return f / (f + i), i / (f + i) * g(k_h)

    def log_coefficients(self, p: Tensor) -> tuple[Tensor, Tensor]:
        k_f, k_i, k_h = p.chunk(3, dim=-1)
        d = F.softplus(-k_f) - F.softplus(-k_i)  # log(i / f)
        return -F.softplus(d), -F.softplus(-d) + log_g(k_h)
