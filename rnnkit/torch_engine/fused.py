"""The fast path: run a stack of rnn, lstm or gru cells through PyTorch's fused recurrent kernels.

Dimensions: N batch, T time, D input size, H hidden size, L layers.

``torch._VF.lstm`` / ``gru`` / ``rnn_tanh`` are what ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` call: cuDNN
on NVIDIA GPUs, oneDNN or PyTorch's native kernels on the CPU. They take weights in PyTorch's layout
``(G*H, D)`` with PyTorch's gate order and two biases; :func:`gate_layout.fused_weight_list` builds
those from our parameters on every call, one gather per matrix, which autograd follows back to our
``Wx``, ``Wh``, ``b``. That costs a copy of the weights per call (not per step), and it keeps one set
of parameters in the shared layout.

The multilayer call applies dropout to the outputs of every layer but the last, like our explicit
stack; its masks come from the same RNG but are drawn differently, so the two paths agree exactly in
eval mode or without dropout and agree in distribution otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, _VF

from rnnkit.torch_engine.cells import Cell, State
from rnnkit.torch_engine.gate_layout import fused_weight_list

_KERNELS = {"rnn_tanh": _VF.rnn_tanh, "gru": _VF.gru}


def fusable(cells: Sequence[Cell]) -> bool:
    """True when one fused kernel computes all these cells: a fused mode, the same for every layer."""
    modes = {cell.fused_mode for cell in cells}
    return len(modes) == 1 and None not in modes


def _layers_first(tensors: Sequence[Tensor]) -> Tensor:
    """L tensors (N, H) -> (L, N, H); one layer's is a view, not a copy."""
    return tensors[0].unsqueeze(0) if len(tensors) == 1 else torch.stack(tensors)


# torch.compile cannot trace the fused kernels (pytorch/pytorch#158007: on the CPU the compiled
# backward of mkldnn_rnn_layer crashes), and compiling them would gain nothing: each is one kernel
# already. So --compile runs them as they are and compiles what surrounds them.
@torch.compiler.disable
def fused_forward(
    cells: Sequence[Cell], x: Tensor, state: Sequence[State], dropout: float, training: bool
) -> tuple[Tensor, list[State]]:
    """Run the stacked ``cells`` (bottom first) over the whole sequence with one kernel call.

    Inputs:
        cells: L cells with the same ``fused_mode``; layer l+1's input size is layer l's H.
        x: (N, T, D) floats or (N, T) one-hot ids (expanded to one-hot vectors: the kernel only
            multiplies).
        state: L states, ``(h,)`` or ``(h, c)``, each (N, H).
        dropout, training: dropout between layers, applied when training.
    Returns:
        out: (N, T, H), the top layer's h_t; the final states, one per layer.
    """
    if not fusable(cells):
        raise ValueError("the fused path needs rnn, lstm or gru cells of one kind")
    bottom = cells[0]
    if not x.is_floating_point():
        x = F.one_hot(x, bottom.input_size).to(bottom.Wx.dtype)
    weights = fused_weight_list(cells)
    h0 = _layers_first([s[0] for s in state])  # (L, N, H)
    layers, p = len(cells), dropout if training else 0.0
    # Positional arguments: has_biases, num_layers, dropout, train, bidirectional, batch_first.
    if bottom.fused_mode == "lstm":
        c0 = _layers_first([s[1] for s in state])
        out, h, c = _VF.lstm(x, (h0, c0), weights, True, layers, p, training, False, True)
        return out, [(h[l], c[l]) for l in range(layers)]
    out, h = _KERNELS[bottom.fused_mode](x, h0, weights, True, layers, p, training, False, True)
    return out, [(h[l],) for l in range(layers)]
