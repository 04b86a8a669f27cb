"""The captioner (CS231n style, no attention) as a PyTorch module, in the shared model format.

    images -> ImageEncoder -> features (N, C); h_0 = feat(features), every layer's initial h (c_0 = 0)
    words_in -> embed -> the stack's cells from that state -> y (N, T, H) -> dropout -> head -> scores (N, T, V)
    loss: temporal_softmax_loss(scores, words_out, mask), summed over time, averaged over the batch

With ``attention="soft"`` each step attends over the encoder's grid given the previous top-layer
h (AdditiveAttention ``att``), adds the context's projection (``ctx.W``) to layer 0's input, and the
loss adds the doubly stochastic penalty (rnnkit/models/captioner/spec.py).

A model of feature grids (``spec.grid``) has no ``enc``: the grid (N, h, w, C) is the encoder's
output as given, its mean the global feature.

Autograd gives the backward; tests/models/test_captioner.py holds it to the NumPy engine in float64.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.captioner.spec import CaptionerSpec
from rnnkit.torch_engine.arrays import SharedArrays
from rnnkit.torch_engine.attention import AdditiveAttention
from rnnkit.torch_engine.fused import fusable, fused_forward
from rnnkit.torch_engine.image_encoder import ImageEncoder
from rnnkit.torch_engine.layers import Affine, Embedding
from rnnkit.torch_engine.losses import temporal_softmax_loss
from rnnkit.torch_engine.recurrent import CELL_TYPES


class TorchCaptioner(SharedArrays, nn.Module):
    """A captioner built from a :class:`CaptionerSpec`; parameters in ``spec.param_shapes()`` order."""

    def __init__(self, spec: CaptionerSpec, options=None) -> None:
        super().__init__()
        self.spec = self.config = spec
        cls = CELL_TYPES[spec.cell]
        rec = spec.recurrent
        self.enc = ImageEncoder(spec.encoder) if spec.encoder is not None else None
        self.feat = Affine(spec.global_width, spec.hidden)
        self.embed = Embedding(spec.vocab_size, spec.embed_dim)
        self.rnn = nn.ModuleList([cls(rec.layer_input(l), spec.hidden) for l in range(spec.layers)])
        self.head = Affine(spec.hidden, spec.vocab_size)
        if spec.attention == "soft":
            C = spec.feature_width
            self.att = AdditiveAttention(spec.hidden, C, spec.attention_size)
            self.ctx = nn.Module()
            self.ctx.W = nn.Parameter(torch.zeros(C, spec.param_shapes()["ctx.W"][1]))

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, nn.Parameter]]:
        found = dict(super().named_parameters(prefix, recurse, remove_duplicate))
        if not recurse:
            return iter(found.items())
        dot = prefix + "." if prefix else ""
        return iter([(dot + name, found[dot + name]) for name in self.spec.param_shapes()])

    def init_state(self, n: int) -> None:
        return None

    def scores(self, images, words_in, training: bool | None = None) -> tuple[Tensor, Tensor | None]:
        """Scores (N, T, V) of the next word after each of words_in (N, T), and soft attention's
        weights (N, T, L) (None without attention)."""
        training = self.training if training is None else training
        dtype, device = self.head.W.dtype, self.head.W.device
        images = torch.as_tensor(images, device=device).to(dtype)
        if self.enc is not None:
            features, grid = self.enc(images)
        else:   # feature grids (N, h, w, C): the encoder's output, given
            features, grid = images.mean(dim=(1, 2)), images
        if self.spec.global_feature == "flat":   # the whole grid in place, (N, h*w*C)
            features = grid.reshape(grid.shape[0], -1)
        h0 = self.feat(features)                                                   # (N, H)
        x = self.embed(torch.as_tensor(words_in, device=device))                   # (N, T, E)
        cells = list(self.rnn)
        # every layer starts from h0, the other state entries (an LSTM's c) at zero
        states = [(h0, *cell.init_state(h0.shape[0], dtype=dtype, device=device)[1:]) for cell in cells]
        weights = None
        if self.spec.attention == "soft":
            y, weights = self._attend(grid.reshape(grid.shape[0], -1, grid.shape[-1]), states, x, training)
        elif fusable(cells):  # the whole stack in one PyTorch kernel (rnn, lstm, gru), as nn.LSTM runs
            y = fused_forward(cells, x, states, self.spec.dropout, training)[0]
        else:
            for l, (cell, state) in enumerate(zip(cells, states)):
                if l > 0:
                    x = F.dropout(x, self.spec.dropout, training)
                x = cell(x, state)[0]
            y = x
        return self.head(F.dropout(y, self.spec.dropout, training)), weights

    def _attend(self, a: Tensor, states: list, x: Tensor, training: bool) -> tuple[Tensor, Tensor]:
        """The soft-attention decoder, one step at a time: a (N, L, C), each layer's initial state
        ``states`` (h (N, H) first), x (N, T, E). Returns the top layer's h (N, T, H) and the
        attention weights (N, T, L)."""
        keys_proj = self.att.project_keys(a)                                       # (N, L, A)
        words = self.rnn[0].project(x)                                             # (N, T, G*H)
        states = list(states)
        ys, weights = [], []
        # unbind, not words[:, t]: the backward of T selects would write T gradients the size of
        # all of words; unbind's backward stacks the T step gradients once (as Cell.forward does)
        for words_t in words.unbind(1):
            z, e = self.att(states[-1][0], a, a, keys_proj=keys_proj)
            states[0] = self.rnn[0].step(torch.addmm(words_t, z, self.ctx.W), states[0])
            h = states[0][0]
            for l in range(1, len(self.rnn)):
                h = F.dropout(h, self.spec.dropout, training)
                states[l] = self.rnn[l].step(self.rnn[l].project(h[:, None])[:, 0], states[l])
                h = states[l][0]
            ys.append(h)
            weights.append(e)
        return torch.stack(ys, dim=1), torch.stack(weights, dim=1)

    def loss(self, images, captions, mask, state=None) -> tuple[Tensor, None]:
        """Temporal cross-entropy (summed over time, averaged over the batch), plus the doubly
        stochastic penalty with soft attention."""
        captions = torch.as_tensor(captions, device=self.head.W.device)
        mask = torch.as_tensor(mask, device=self.head.W.device)
        scores, weights = self.scores(images, captions[:, :-1])
        loss = temporal_softmax_loss(scores, captions[:, 1:], mask)
        if weights is not None:
            coverage = (mask.to(weights.dtype)[:, :, None] * weights).sum(dim=1)   # (N, L)
            loss = loss + self.spec.penalty * ((1.0 - coverage) ** 2).sum() / weights.shape[0]
        return loss, None
