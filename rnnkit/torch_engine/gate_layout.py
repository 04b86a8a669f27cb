"""Our weights in PyTorch's fused-kernel layout: no copy, or one block copy each way.

Our cells keep the shared layout: ``W`` (R, G*H) with R input rows (D for ``Wx``, H for ``Wh``) and
the G gate blocks side by side, LSTM gates in the order i, f, o, g. PyTorch's fused kernels
(``nn.LSTM``'s) take the transpose, (G*H, R), with LSTM gates in the order i, f, g, o:

    fused[k*H + j, r] = W[r, order[k]*H + j]        (k: PyTorch's gate index, j < H, r < R).

Two choices make that cheap on every training step:

- the cells that have a fused kernel store ``W`` transposed in memory (``Cell._weight``): the
  Parameter is the (R, G*H) view of a contiguous (G*H, R) tensor. Its values, names and shape are
  the shared format's; only its strides differ. Then ``W.t()`` is already the kernel's contiguous
  matrix, and a transposing copy (slow: several hundred microseconds for a 256 x 1024 matrix on a
  2-core CPU) is never made, forward or backward. GRU and RNN gates are in PyTorch's order, so their
  weights go to the kernel with no copy at all.
- the LSTM's gate order is fixed by one gather of whole (H*R)-element blocks (``index_select``),
  whose backward is one scatter (``index_add``) into a zeroed gradient, instead of slices and a
  ``cat``, whose backward zero-fills and adds a full-size tensor per slice.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _to_fused(w: Tensor, order: Tensor) -> Tensor:
    """(R, G*H) or (G*H,) in our layout -> (G*H, R) or (G*H,) in PyTorch's, gates as ``order`` says.

    Differentiable: the backward of ``index_select`` scatters the gradient back by the same order
    (in PyTorch's C++ autograd, no Python on the way back)."""
    source = w if w.dim() == 1 else w.t()  # a contiguous (G*H, R) when w is stored transposed
    return source.reshape(order.numel(), -1).index_select(0, order).view(source.shape)


_INDICES: dict[tuple, Tensor] = {}
_ZEROS: dict[tuple, Tensor] = {}


def _gate_order(order: tuple[int, ...], device: torch.device) -> Tensor:
    """``order`` as a long tensor on ``device`` (made once, then reused)."""
    key = (order, device)
    if key not in _INDICES:
        _INDICES[key] = torch.tensor(order, device=device)
    return _INDICES[key]


def _zeros(size: int, like: Tensor) -> Tensor:
    """A constant zero vector (the second bias our cells do not have), made once per size, dtype, device."""
    key = (size, like.dtype, like.device)
    if key not in _ZEROS:
        _ZEROS[key] = torch.zeros(size, dtype=like.dtype, device=like.device)
    return _ZEROS[key]


def fused_weight_list(cells) -> list[Tensor]:
    """``[w_ih, w_hh, b_ih, b_hh]`` of every cell, bottom first: what ``torch._VF.lstm``/``gru``/
    ``rnn_tanh`` take. Each cell names its sources (:meth:`Cell.fused_sources`: our tensors, None for
    a zero bias) and its ``fused_gate_order``."""
    weights = []
    for cell in cells:
        sources = cell.fused_sources()
        order = tuple(cell.fused_gate_order)
        identity = order == tuple(range(len(order)))  # GRU, RNN: biases as they are, matrices transposed views
        index = None if identity else _gate_order(order, sources[0].device)
        for t in sources:
            if t is None:
                weights.append(_zeros(len(order) * cell.hidden_size, sources[0]))
            elif identity:
                weights.append(t if t.dim() == 1 else t.t())
            else:
                weights.append(_to_fused(t, index))
    return weights
