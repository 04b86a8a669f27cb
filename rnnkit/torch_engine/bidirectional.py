"""A stack of recurrent layers over right-padded batches of variable length, in one or two directions.

Dimensions: N batch, T time, D input size of layer 0, H hidden size, L layers, K directions.

    x_0 = x (N, T, D)
    layer l:  fwd_l = cell_l(x_l)                       (N, T, H)   reads each row in order
              rev_l = R(cell_rev_l(R(x_l)))             (N, T, H)   reads each row backwards (K = 2)
              y_l = [fwd_l, rev_l]                      (N, T, K*H)
              x_{l+1} = dropout(y_l)                    between layers, when training

``R`` reverses each row within its length and leaves padding in place (:func:`reverse_index`), the
NumPy stack's rule (rnnkit/numpy_engine/recurrent.py): the backward direction starts at the row's
last real step. A forward direction never reads a later step, so padding cannot reach its outputs at
real steps either. Outputs at padded steps are unspecified; whoever reads ``y`` masks them (the
poolings in rnnkit/torch_engine/pooling.py do), and then padding changes no result or gradient.

Two paths compute the same function:

- fused (rnn, lstm, gru): PyTorch's fused kernels (:func:`rnnkit.torch_engine.fused.fused_forward`)
  on the padded batch, one call for all L layers when K = 1, one single-layer call per layer and
  direction when K = 2 (a bidirectional kernel call would start the backward direction at the
  padding). Packed sequences would skip the padded steps, but on the CPU PyTorch computes packed
  batches with its native step loop instead of oneDNN's kernel, which is slower than computing the
  padding too (measure with a plain ``nn.LSTM`` classifier, packed and padded).
- explicit: each cell's own ``forward`` (its step loop or scan), for every cell.

Parameters are the cells' own: the caller registers them (``rnn.{l}.*``, ``rnn_rev.{l}.*``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.torch_engine.cells import Cell
from rnnkit.torch_engine.fused import fused_forward, fusable


def reverse_index(lengths: Tensor, T: int) -> Tensor:
    """Time indices (N, T) that reverse each row within its length and keep padding in place:
    ``idx[n, t] = lengths[n] - 1 - t`` for t < lengths[n], else t. It is its own inverse."""
    t = torch.arange(T, device=lengths.device)[None, :]
    lengths = lengths[:, None]
    return torch.where(t < lengths, lengths - 1 - t, t)


def reverse_rows(x: Tensor, index: Tensor | None) -> Tensor:
    """x (N, T, F) with each row reversed by ``index`` (:func:`reverse_index`; None: all T long)."""
    if index is None:
        return x.flip(1)
    return x.gather(1, index[:, :, None].expand(-1, -1, x.shape[-1]))


def _run(cells: Sequence[Cell], x: Tensor, dropout: float, training: bool, fused: bool) -> Tensor:
    """One direction of stacked ``cells`` (bottom first) from zero state: x (N, T, D) -> (N, T, H)."""
    state = [cell.init_state(x.shape[0], dtype=x.dtype, device=x.device) for cell in cells]
    if fused:
        return fused_forward(cells, x, state, dropout, training)[0]
    for l, cell in enumerate(cells):
        if l > 0:
            x = F.dropout(x, dropout, training)
        x = cell(x, state[l])[0]
    return x


def ragged_forward(
    directions: Sequence[Sequence[Cell]],
    x: Tensor,
    lengths: Tensor | None,
    dropout: float = 0.0,
    training: bool = False,
    fused: bool = True,
) -> Tensor:
    """Run the stack (see the module docstring) from zero state.

    Inputs:
        directions: the forward direction's L cells, bottom first, and for K = 2 the backward's.
        x: (N, T, D) floats, right-padded.
        lengths: (N,) ints in [1, T], real steps per row; None when every row is T long.
        dropout, training: dropout between layers, applied when training.
        fused: use the fused kernels (the cells must be ``fusable``); else the explicit path.
    Returns:
        y: (N, T, K*H), the top layer's output at every step, unspecified at padded steps.
    """
    cells = [cell for direction in directions for cell in direction]
    if fused and not fusable(cells):
        raise ValueError("the fused path needs rnn, lstm or gru cells of one kind")
    if len(directions) == 1:
        return _run(directions[0], x, dropout, training, fused)
    index = None if lengths is None else reverse_index(lengths, x.shape[1])
    forward, backward = directions
    for l, (cell, cell_rev) in enumerate(zip(forward, backward)):
        if l > 0:
            x = F.dropout(x, dropout, training)
        rev = reverse_rows(_run([cell_rev], reverse_rows(x, index), 0.0, training, fused), index)
        x = torch.cat([_run([cell], x, 0.0, training, fused), rev], dim=2)
    return x
