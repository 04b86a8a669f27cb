"""Attention as modules: dot (Luong) and additive (Bahdanau), with masks; autograd does the backward.

The same functions, parameter names and shapes as ``rnnkit.numpy_engine.attention``:

    weights = softmax(scores) over the unmasked keys (exactly 0 at masked ones)      (N, L)
    context = weights @ values                                                       (N, Dv)
    DotAttention:      scores_l = query W key_l^T     W (Hq, Hk); no W for the plain dot product
    AdditiveAttention: scores_l = v . tanh(query Wq + key_l Wk + b)
                       Wq (Hq, A), Wk (Hk, A), b (A,), v (A,)

Dimensions: N batch, L keys, Hq query size, Hk key size, Dv value size, A attention size, Tq queries
per example when they are all known at once (DotAttention only, as in the NumPy engine).

Masks: mask (N, L) bool or 0/1, True for a real key. A row without one is a ValueError, not NaN;
checking that reads one boolean back from the device per call.

Initialisation: every matrix and v ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in its first
dimension (Hq for W and Wq, Hk for Wk, A for v), as ``nn.Linear``'s bound; b = 0.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def masked_softmax(scores: Tensor, mask: Tensor | None = None) -> Tensor:
    """Softmax over the last axis, restricted to the unmasked positions.

    Inputs: scores (N, ..., L); mask (N, L) bool or 0/1, or None.
    Returns: weights, the shape of scores, exactly 0 where masked. ValueError for an all-False row.
    """
    if mask is None:
        return torch.softmax(scores, dim=-1)
    N, L = scores.shape[0], scores.shape[-1]
    if scores.dim() < 2 or tuple(mask.shape) != (N, L):
        raise ValueError(f"mask must have shape (N, L) = {(N, L)} for scores of shape "
                         f"{tuple(scores.shape)}, got {tuple(mask.shape)}")
    mask = mask.bool()
    empty = ~mask.any(dim=1)
    if bool(empty.any()):
        rows = torch.nonzero(empty).flatten().tolist()
        raise ValueError(f"mask rows {rows} have no unmasked position: softmax is undefined")
    mask = mask.view(N, *([1] * (scores.dim() - 2)), L)
    # masked_fill, not an additive -inf: a masked score that is inf or NaN is ignored as well, and
    # the fill's backward sends exactly 0 to the masked scores.
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


def _uniform(*shape: int) -> nn.Parameter:
    bound = 1.0 / math.sqrt(shape[0])
    return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))


class DotAttention(nn.Module):
    """Luong's multiplicative attention: "general" (scores = query W keys^T) or plain "dot".

    Inputs to forward: query (N, Hq) for one decoder step or (N, Tq, Hq) for Tq queries at once,
    keys (N, L, Hk), values (N, L, Dv), mask (N, L) or None.
    Returns: context (N, Dv) or (N, Tq, Dv), weights (N, L) or (N, Tq, L).
    """

    def __init__(self, query_size: int, key_size: int | None = None, general: bool = True) -> None:
        super().__init__()
        key_size = query_size if key_size is None else key_size
        if not general and key_size != query_size:
            raise ValueError(f"the plain dot product needs query_size == key_size, got {query_size}, {key_size}")
        if general:
            self.W = _uniform(query_size, key_size)
        else:
            self.register_parameter("W", None)

    def forward(self, query: Tensor, keys: Tensor, values: Tensor,
                mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if query.dim() not in (2, 3):
            raise ValueError(f"query must have shape (N, Hq) or (N, Tq, Hq), got {tuple(query.shape)}")
        step = query.dim() == 2
        q = query.unsqueeze(1) if step else query                    # (N, Tq, Hq)
        query_proj = q if self.W is None else q @ self.W              # (N, Tq, Hk)
        weights = masked_softmax(query_proj @ keys.transpose(1, 2), mask)  # (N, Tq, L)
        context = weights @ values                                    # (N, Tq, Dv)
        if step:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights


class AdditiveAttention(nn.Module):
    """Bahdanau's additive attention, scores = v . tanh(query Wq + keys Wk + b).

    ``project_keys(keys)`` gives keys Wk (N, L, A), which does not depend on the decoder step:
    compute it once per sequence and pass it to every step as ``keys_proj`` (autograd sums the
    steps' gradients into it). Without ``keys_proj`` the forward projects the keys itself.

    Inputs to forward: query (N, Hq), keys (N, L, Hk), values (N, L, Dv), mask (N, L) or None,
    keys_proj (N, L, A) or None.
    Returns: context (N, Dv), weights (N, L).
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int) -> None:
        super().__init__()
        self.Wq = _uniform(query_size, attention_size)
        self.Wk = _uniform(key_size, attention_size)
        self.b = nn.Parameter(torch.zeros(attention_size))
        self.v = _uniform(attention_size)

    def project_keys(self, keys: Tensor) -> Tensor:
        """keys (N, L, Hk) -> keys Wk (N, L, A)."""
        return keys @ self.Wk

    def forward(self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor | None = None,
                keys_proj: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if query.dim() != 2:
            raise ValueError(f"query must have shape (N, Hq), got {tuple(query.shape)}")
        if keys_proj is None:
            keys_proj = self.project_keys(keys)
        hidden = torch.tanh(torch.addmm(self.b, query, self.Wq).unsqueeze(1) + keys_proj)  # (N, L, A)
        weights = masked_softmax(hidden @ self.v, mask)                # (N, L)
        context = (weights.unsqueeze(1) @ values).squeeze(1)           # (N, Dv)
        return context, weights
