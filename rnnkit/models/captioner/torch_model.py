"""The captioner (CS231n style, no attention) as a PyTorch module, in the shared model format.

    images -> ImageEncoder -> features (N, C); h_0 = feat(features), every layer's initial h (c_0 = 0)
    words_in -> embed -> the stack's cells from that state -> y (N, T, H) -> head -> scores (N, T, V)
    loss: temporal_softmax_loss(scores, words_out, mask), summed over time, averaged over the batch

Autograd gives the backward; tests/models/test_captioner.py holds it to the NumPy engine in float64.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.captioner.spec import CaptionerSpec
from rnnkit.torch_engine.arrays import SharedArrays
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
        self.enc = ImageEncoder(spec.encoder)
        self.feat = Affine(spec.encoder.features, spec.hidden)
        self.embed = Embedding(spec.vocab_size, spec.embed_dim)
        self.rnn = nn.ModuleList([cls(rec.layer_input(l), spec.hidden) for l in range(spec.layers)])
        self.head = Affine(spec.hidden, spec.vocab_size)

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, nn.Parameter]]:
        found = dict(super().named_parameters(prefix, recurse, remove_duplicate))
        if not recurse:
            return iter(found.items())
        dot = prefix + "." if prefix else ""
        return iter([(dot + name, found[dot + name]) for name in self.spec.param_shapes()])

    def init_state(self, n: int) -> None:
        return None

    def scores(self, images, words_in, training: bool | None = None) -> Tensor:
        """Scores (N, T, V) of the next word after each of words_in (N, T)."""
        training = self.training if training is None else training
        dtype, device = self.head.W.dtype, self.head.W.device
        images = torch.as_tensor(images, device=device).to(dtype)
        features, _ = self.enc(images)
        h0 = self.feat(features)                                                   # (N, H)
        x = self.embed(torch.as_tensor(words_in, device=device))                   # (N, T, E)
        for l, cell in enumerate(self.rnn):
            if l > 0:
                x = F.dropout(x, self.spec.dropout, training)
            state = cell.init_state(h0.shape[0], dtype=dtype, device=device)
            x = cell(x, (h0, *state[1:]))[0]
        return self.head(x)

    def loss(self, images, captions, mask, state=None) -> tuple[Tensor, None]:
        captions = torch.as_tensor(captions, device=self.head.W.device)
        mask = torch.as_tensor(mask, device=self.head.W.device)
        return temporal_softmax_loss(self.scores(images, captions[:, :-1]), captions[:, 1:], mask), None
