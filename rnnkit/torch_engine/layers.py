"""The non-recurrent layers of the character model, with parameters named as in the shared format.

Dimensions: N batch, T time, V vocabulary size, E embedding width, H hidden size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Embedding(nn.Module):
    """``W[ids]``: ids (N, T) -> (N, T, E), with W (V, E) ~ N(0, 1) like ``nn.Embedding``."""

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.randn(vocab_size, dim))

    def forward(self, ids: Tensor) -> Tensor:
        # F.embedding is W[ids] with a dedicated backward (about twice as fast as indexing's).
        return F.embedding(ids, self.W)


class Affine(nn.Module):
    """``x W + b``: (..., H) -> (..., V), with W (H, V) ~ U(-1/sqrt(H), 1/sqrt(H)) and b = 0."""

    def __init__(self, in_size: int, out_size: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_size)
        self.W = nn.Parameter(torch.empty(in_size, out_size).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.zeros(out_size))

    def forward(self, x: Tensor) -> Tensor:
        # One fused product-and-bias over all (N*T) rows, as nn.Linear does: a batched x @ W
        # followed by a separate add costs a third more on the CPU.
        out = torch.addmm(self.b, x.reshape(-1, x.shape[-1]), self.W)
        return out.reshape(*x.shape[:-1], out.shape[-1])
