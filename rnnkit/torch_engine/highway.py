"""Highway connections between stacked recurrent layers (Srivastava et al. 2015, "Highway Networks").

Dimensions: N batch, T time, H hidden size (a layer's input and output must both be H wide).

A plain stack feeds layer l's output h to layer l+1; a residual stack (ResNet) feeds ``x + h``; a
highway stack sits in between, the way an LSTM's cell sits between overwriting and keeping: a learned
transform gate decides, per unit and per step, how much of the layer's input to carry past it.

    t = sigmoid(x W + b)              (N, T, H), computed from the layer input x
    y = t * h + (1 - t) * x           h = the recurrent layer's output for input x

The recurrence inside the layer is unchanged (its state is h, not y), which is why a fused kernel can
still compute each layer. ``b`` starts at -1 so that at first mostly the input is carried: deep
stacks start close to shallow ones and gradients reach the lower layers.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

CARRY_BIAS = -1.0


class HighwayGate(nn.Module):
    """The transform gate between two layers: W (H, H), b (H,). ``forward(x, h) -> y``, all (N, T, H)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(size)
        self.W = nn.Parameter(torch.empty(size, size).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.full((size,), CARRY_BIAS))

    def forward(self, x: Tensor, h: Tensor) -> Tensor:
        t = torch.sigmoid(x @ self.W + self.b)
        return x + t * (h - x)  # = t * h + (1 - t) * x with one product fewer
